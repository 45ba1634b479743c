"""RG208 rename-without-fsync, beyond the rule's own examples (test_examples.py runs those)."""

from __future__ import annotations

import textwrap

from rules import analyze


def lines(code: str) -> list[int]:
    report = analyze(textwrap.dedent(code), "t.py")
    return [f.line for f in report.findings if f.code == "RG208"]


def test_moves_are_resolved_through_the_imports():
    code = """\
        import os as system
        import shutil
        from shutil import move as mv

        def a(tmp, dst):
            with open(tmp, "w") as fh:
                fh.write("x")
            system.replace(tmp, dst)

        def b(tmp, dst):
            with open(tmp, "w") as fh:
                fh.write("x")
            mv(tmp, dst)

        def c(tmp, dst, os):
            with open(tmp, "w") as fh:
                fh.write("x")
            os.rename(tmp, dst)
        """
    assert lines(code) == [8, 13]


def test_only_a_sync_before_the_move_counts():
    code = """\
        import os

        def after(tmp, dst):
            with open(tmp, "w") as fh:
                fh.write("x")
            os.replace(tmp, dst)
            os.fsync(os.open(".", os.O_RDONLY))

        def before(tmp, dst):
            with open(tmp, "w") as fh:
                fh.write("x")
                fh.flush()
                os.fdatasync(fh.fileno())
            os.replace(tmp, dst)
        """
    assert lines(code) == [6]


def test_a_file_only_read_or_written_elsewhere_is_left_alone():
    code = """\
        import os

        def written(tmp):
            with open(tmp, "w") as fh:
                fh.write("x")

        def moved(tmp, dst):
            os.replace(tmp, dst)

        def read_then_moved(tmp, dst):
            with open(tmp) as fh:
                fh.read()
            os.replace(tmp, dst)

        def written_after(tmp, dst):
            os.replace(tmp, dst)
            with open(tmp, "w") as fh:
                fh.write("x")
        """
    assert lines(code) == []


def test_the_moved_file_is_matched_by_its_expression():
    code = """\
        import os

        class Store:
            def save(self, data):
                with open(self.tmp_path, "wb") as fh:
                    fh.write(data)
                os.replace(self.tmp_path, self.path)

            def other(self, data):
                with open(self.log_path, "ab") as fh:
                    fh.write(data)
                os.replace(self.tmp_path, self.path)
        """
    assert lines(code) == [7]


def test_a_nested_function_is_its_own_unit():
    code = """\
        import os

        def outer(tmp, dst):
            with open(tmp, "w") as fh:
                fh.write("x")

            def later():
                os.replace(tmp, dst)
            return later
        """
    assert lines(code) == []


def test_a_temporary_file_kept_open_by_name():
    code = """\
        import os, tempfile

        def save(path, data):
            fh = tempfile.NamedTemporaryFile("wb", delete=False)
            fh.write(data)
            fh.close()
            os.replace(fh.name, path)

        def save_synced(path, data):
            fh = tempfile.NamedTemporaryFile("wb", delete=False)
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
            fh.close()
            os.replace(fh.name, path)
        """
    assert lines(code) == [7]


def test_a_move_into_a_scratch_directory_is_left_alone():
    code = """\
        import os, shutil, tempfile

        def download(data, name):
            tempdir = tempfile.mkdtemp()
            path = os.path.join(tempdir, "download")
            with open(path, "wb") as fh:
                fh.write(data)
            better = os.path.join(tempdir, name)
            shutil.move(path, better)
            return better

        def publish(data, dst):
            with tempfile.TemporaryDirectory() as scratch:
                path = os.path.join(scratch, "x")
                with open(path, "wb") as fh:
                    fh.write(data)
                os.replace(path, os.path.join(scratch, "y"))
                os.replace(path, dst)
        """
    assert lines(code) == [18]
