"""RG204 unclosed-write-handle, beyond the rule's own examples (test_examples.py runs those)."""

from __future__ import annotations

import textwrap

import pytest

from rules import analyze

OURS = {"RG201", "RG204", "RG207"}


def found(source: str) -> list[tuple[str, int]]:
    report = analyze(textwrap.dedent(source), "example.py")
    return [(f.code, f.line) for f in report.findings if f.code in OURS]


def test_unclosed_handle_is_reported_on_the_open_call():
    src = """\
        def export(path, rows):
            out = (
                open(path, "w", encoding="utf-8")
            )
            for row in rows:
                out.write(row)
    """
    assert found(src) == [("RG204", 3)]


@pytest.mark.parametrize(
    ("body", "flagged"),
    [
        ("open(p, 'w').write(data)", True),
        ("open(p, mode='ab').write(data)", True),
        ("open(p, 'r+').write(data)", True),
        ("open(p).read()", False),
        ("open(p, 'rb').read()", False),
        ("print(data, file=open(p, 'a'))", True),
        ("sink(open(p, 'w'))", False),
        ("fh = open(p, 'w')\n    fh.write(data)", True),
        ("fh = open(p, 'w')\n    fh.write(data)\n    fh.close()", False),
        ("fh = open(p, 'w')\n    with fh:\n        fh.write(data)", False),
        ("fh = open(p, 'w')\n    try:\n        fh.write(data)\n    finally:\n        fh.close()", False),
        ("fh = open(p, 'w')\n    self.out = fh", False),
        ("fh = open(p, 'w')\n    keep.append(fh)", False),
        ("fh = open(p, 'w')\n    other = fh\n    other.write(data)", False),
        ("fh = open(p, 'w')\n    yield fh", False),
        ("fh = open(p, 'w')\n    def later():\n        fh.close()\n    keep.append(later)", False),
        ("fh = open(p, 'w')\n    json.dump(data, fh)", True),
        ("fh = open(p, 'w')\n    if fh is not None:\n        fh.write(data)", True),
        ("fh = open(p, 'w')\n    fh.write(data)\n    if not fh.closed:\n        fh.close()", False),
    ],
)
def test_handle_fates(body, flagged):
    src = f"import json\ndef f(self, p, data, sink, keep):\n    {body}\n"
    assert bool(found(src)) is flagged, src


def test_io_open_and_path_open_resolve_through_imports():
    src = """\
        from io import open as io_open
        from pathlib import Path
        import os

        def f(p, data):
            io_open(p, "w").write(data)
            Path(p).open(mode="a").write(data)
            os.open(p, os.O_WRONLY)
    """
    assert found(src) == [("RG204", 6), ("RG204", 7)]


def test_a_local_function_named_open_is_not_the_builtin():
    src = "def open(p, mode):\n    return p\n\ndef f(p):\n    open(p, 'w').write('x')\n"
    assert found(src) == []


def test_global_handle_used_by_functions_is_long_lived():
    src = """\
        LOG = open("app.log", "a")

        def log(msg):
            LOG.write(msg)
    """
    assert found(src) == []
