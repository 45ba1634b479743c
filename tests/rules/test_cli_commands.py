"""`reviewgate` with ruff's manners: `check`/`rule`, --statistics, --exit-zero, `-` with
--stdin-filename, .gitignore, [tool.reviewgate], the gate's keys validated as the bot does,
snippets and colour, --diff (what --fix would change), --since/--changed-lines, progress."""

from __future__ import annotations

import io
import json
import os
import pty
import re
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rules import CATALOGUE, __version__
from rules.cli import main
from rules.diff import added_lines
from rules.docs import ENGINE_NOTICES
from rules.gitdiff import base_revision, changes
from rules.text import WIDTH
from tests.rules.test_cli import BAD, CLEAN, NAIVE, ROOT, write
from tests.rules.test_cli import run as run_cli

RG101_URL = "https://github.com/reviewgate/reviewgate/blob/main/docs/rules.md#rg101-naive-now"


def run(*argv: str, stdin: bytes = b"", tty: bool = False) -> tuple[int, str, str]:
    if not tty and not stdin:
        return run_cli(*argv)
    out, err = (_Tty() if tty else io.StringIO()), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err, stdin=io.BytesIO(stdin))
    return code, out.getvalue(), err.getvalue()


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def project(tmp_path, monkeypatch):
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("NO_COLOR", raising=False)
    return tmp_path


@pytest.fixture
def git(tmp_path, monkeypatch):
    """A git repository with one commit, as the working directory; returns a git runner."""
    for key in list(os.environ):
        if key.startswith("GIT_"):
            monkeypatch.delenv(key)
    for key, value in {
        "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1", "GIT_AUTHOR_NAME": "T",
        "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "T", "GIT_COMMITTER_EMAIL": "t@example.com",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout

    git("init", "-q", "-b", "main")
    return git


# -- commands --------------------------------------------------------------------------------


def test_rule_prints_the_rules_documentation(project):
    code, out, _ = run("rule", "RG201")
    assert code == 0
    assert out.startswith("# RG201 swallowed-write-error\n")
    for section in ("What it flags", "Why it is risky", "How to fix"):
        assert f"**{section}**" in out
    assert out.rstrip().endswith("#rg201-swallowed-write-error")
    assert run("rule", "rg101")[1].startswith("# RG101 naive-now")
    assert run("rule", "RG001")[1].startswith("# RG001 parse-error")


def test_rule_all_and_unknown_codes(project):
    code, out, _ = run("rule", "--all")
    assert code == 0
    assert re.findall(r"^# (RG\d+) ", out, re.MULTILINE) == [r.code for r in CATALOGUE] + [
        n.code for n in ENGINE_NOTICES
    ]
    code, out, err = run("rule", "RG999")
    assert code == 2 and out == "" and "no rule `RG999`" in err
    assert run("rule")[0] == 2


def test_check_is_the_default_command(project):
    write(project / "a.py", BAD)
    assert run("check", "a.py") == run("a.py")
    assert run("check", "a.py")[0] == 1


def test_version_is_the_package_version():
    proc = subprocess.run([sys.executable, "-m", "rules", "--version"], cwd=ROOT, capture_output=True, text=True)
    assert proc.stdout.strip() == f"reviewgate {__version__}"


def test_statistics_count_findings_per_rule(project):
    # Private names: a safe fix needs every reader of the value in sight.
    write(project / "a.py", NAIVE + "_x = datetime.now()\n_y = datetime.now()\n_z = datetime.now()  # noqa: RG101\n")
    write(project / "b.py", "def f(:\n")
    code, out, _ = run("check", "--statistics")
    assert code == 1
    assert out.splitlines() == ["2\tRG101\t[*] naive-now", "1\tRG001\t[ ] parse-error"]
    code, out, _ = run("check", "--statistics", "--format", "json")
    assert json.loads(out) == [
        {"code": "RG101", "name": "naive-now", "count": 2, "fixable": True, "fixable_count": 2},
        {"code": "RG001", "name": "parse-error", "count": 1, "fixable": False, "fixable_count": 0},
    ]
    assert run("check", "--statistics", "--format", "sarif")[0] == 2


def test_exit_zero_reports_but_passes(project):
    write(project / "a.py", BAD)
    code, out, _ = run("check", "--exit-zero", "--format", "concise")
    assert code == 0 and "RG101 [error]" in out
    (project / "gone.py").symlink_to(project / "nowhere.py")
    assert run("check", "--exit-zero")[0] == 2  # an unreadable file is still an error


def test_stdin_is_checked_under_its_stdin_filename(project):
    code, out, _ = run("check", "-", "--stdin-filename", "pkg/mod.py", "--format", "concise", stdin=BAD.encode())
    assert code == 1
    assert out.startswith("pkg/mod.py:2:6: RG101 [error]")
    assert run("check", "-", stdin=CLEAN.encode())[0] == 0
    assert run("check", "-", "a.py", stdin=BAD.encode())[0] == 2
    assert run("check", "--stdin-filename", "x.py", stdin=BAD.encode())[0] == 2


def test_stdin_with_fix_writes_the_fixed_source_and_reports_on_stderr(project):
    code, out, err = run("check", "-", "--fix", "--stdin-filename", "m.py", stdin=BAD.encode())
    assert code == 0
    assert out == "from datetime import datetime, timezone\n_x = datetime.now(timezone.utc)\n"
    assert "1 fix applied" in err


# -- files: .gitignore --------------------------------------------------------------------------


def test_gitignore_is_respected_unless_turned_off(project):
    write(project / ".gitignore", "build/\n*_gen.py\n!keep_gen.py\n")
    write(project / "src/.gitignore", "local.py\n")
    write(project / ".git/info/exclude", "scratch.py\n")
    for name in ("build/a.py", "src/x_gen.py", "src/keep_gen.py", "src/local.py", "src/ok.py",
                 "scratch.py", "local.py"):
        write(project / name, BAD)
    code, out, _ = run("check", "--format", "concise")
    files = sorted({line.split(":")[0] for line in out.splitlines()[:-1]})
    assert files == ["local.py", "src/keep_gen.py", "src/ok.py"]
    code, out, _ = run("check", "--format", "concise", "--no-respect-gitignore")
    assert len({line.split(":")[0] for line in out.splitlines()[:-1]}) == 7
    # a file named explicitly is checked, as ruff does; an ignored directory is skipped, said
    assert run("check", "src/local.py")[0] == 1
    code, out, err = run("check", "build")
    assert code == 0 and "skipped build: ignored by .gitignore" in err


# -- configuration -----------------------------------------------------------------------------


def test_the_gates_keys_are_validated_as_the_bot_validates_them(project):
    write(project / "a.py", CLEAN)
    write(project / ".github/reviewgate.yml", "approvals:\n  requierd: 2\n")
    code, out, err = run("check", "a.py")
    assert code == 2 and out == ""
    assert ".github/reviewgate.yml:2: unknown key `approvals.requierd`" in err
    write(project / ".github/reviewgate.yml", "owners:\n  - paths: [a/]\n    users: [ann]\n    count: 2\n")
    code, _, err = run("check", "a.py")
    assert code == 2 and "`owners.count` is 2 but only 1 users are listed" in err


def test_pyproject_tool_reviewgate_is_read(project):
    write(project / "a.py", BAD)
    write(project / "pyproject.toml", "[project]\nname = 'x'\n\n[tool.reviewgate.rules]\nignore = ['RG101']\n")
    assert run("check", "a.py")[0] == 0
    write(project / "pyproject.toml", "[tool.reviewgate.approvals]\nrequierd = 2\n")
    code, _, err = run("check", "a.py")
    assert code == 2 and "pyproject.toml [tool.reviewgate]: unknown key `approvals.requierd`" in err
    write(project / "pyproject.toml", "[tool.reviewgate.rules]\nignore = ['RG101']\n")
    write(project / ".github/reviewgate.yml", "rules:\n  ignore: [RG101]\n")
    code, _, err = run("check", "a.py")
    assert code == 2 and "both configure reviewgate" in err
    assert run("check", "a.py", "--config", "pyproject.toml")[0] == 0


def test_pyproject_without_the_table_and_broken_toml(project):
    write(project / "a.py", BAD)
    write(project / "pyproject.toml", "[project]\nname = 'x'\n")
    assert run("check", "a.py")[0] == 1
    write(project / "pyproject.toml", "[project\n")
    code, _, err = run("check", "a.py")
    assert code == 2 and "invalid TOML" in err
    write(project / "pyproject.toml", "[tool.reviewgate.paths]\nexclude = ['" + "x" * 600 + "']\n")
    code, _, err = run("check", "a.py")
    assert code == 2 and "longer than 500 characters" in err


# -- text output ---------------------------------------------------------------------------------


def test_text_shows_the_line_with_a_caret_the_fix_and_the_url(project):
    write(project / "a.py", BAD)
    code, out, _ = run("check", "a.py")
    assert code == 1
    lines = out.splitlines()
    assert lines[0].startswith("a.py:2:6: RG101 [error] ")
    snippet = lines.index("2 | _x = datetime.now()")
    assert lines[snippet + 1] == "  |      ^^^^^^^^^^^^^^"
    assert "  = fix (--fix): Use an aware UTC now" in lines
    assert f"  = docs: {RG101_URL}" in lines
    assert all(len(line) <= WIDTH for line in lines)
    assert "\x1b[" not in out


def test_colour_only_on_a_terminal_without_no_color(project, monkeypatch):
    write(project / "a.py", BAD)
    _, out, _ = run("check", "a.py", tty=True)
    assert "\x1b[1;31mRG101 [error]\x1b[0m" in out
    monkeypatch.setenv("NO_COLOR", "1")
    _, out, _ = run("check", "a.py", tty=True)
    assert "\x1b[" not in out


def test_control_characters_from_the_file_are_escaped(project):
    write(project / "a.py", NAIVE + "x = datetime.now()  # \x1b[2J\u202e\n")
    for fmt in ("text", "concise"):
        _, out, _ = run("check", "a.py", "--format", fmt)
        assert "\x1b" not in out and "\u202e" not in out
    assert "\\x1b[2J\\u202e" in run("check", "a.py")[1]


def test_a_long_line_is_cut_around_the_caret(project):
    write(project / "a.py", NAIVE + "x = [" + "1, " * 60 + "datetime.now()" + ", 2" * 60 + "]\n")
    _, out, _ = run("check", "a.py")
    lines = out.splitlines()
    assert all(len(line) <= WIDTH for line in lines)
    source = next(line for line in lines if line.startswith("2 | "))
    caret = lines[lines.index(source) + 1]
    assert source.startswith("2 | …") and source.endswith("…")
    start = caret.index("^")
    assert source[start:start + 14] == "datetime.now()" and caret.count("^") == 14


# -- --diff: what --fix would change -------------------------------------------------------------


def test_diff_prints_the_fix_and_writes_nothing(git):
    path = write(Path("a.py"), BAD)
    write(Path("ok.py"), CLEAN)
    code, out, err = run("check", "--diff")
    assert code == 1
    assert out.startswith("--- a/a.py\n+++ b/a.py\n")
    assert err == "reviewgate: --fix would apply 1 fix to 1 file\n"
    assert path.read_text() == BAD
    subprocess.run(["git", "apply"], input=out, text=True, check=True)
    applied = path.read_text()
    path.write_text(BAD)
    assert run("check", "--fix", "a.py")[0] == 0
    assert path.read_text() == applied
    assert run("check", "--diff", "ok.py") == (0, "", "reviewgate: no fix to apply\n")


def test_the_old_diff_revision_is_named_in_the_error(git):
    code, _, err = run("--diff", "origin/main")
    assert code == 2 and "--since REV" in err


# -- --since and --changed-lines ---------------------------------------------------------------


def test_changed_lines_default_to_uncommitted_changes_and_since_to_whole_files(git):
    write(Path("a.py"), NAIVE + "a = datetime.now()\nb = 1\n")
    write(Path("same.py"), BAD)
    git("add", ".")
    git("commit", "-qm", "base")
    write(Path("a.py"), NAIVE + "a = datetime.now()\nb = datetime.now()\n")
    code, out, _ = run("check", "--changed-lines", "--format", "concise")
    assert [line.split(": ")[0] for line in out.splitlines()[:-1]] == ["a.py:3:5"]
    code, out, _ = run("check", "--since", "HEAD", "--format", "concise")
    assert [line.split(": ")[0] for line in out.splitlines()[:-1]] == ["a.py:2:5", "a.py:3:5"]


def test_changed_lines_before_the_first_commit_judge_every_file(git):
    write(Path("a.py"), BAD)
    git("add", "a.py")
    write(Path("b.py"), BAD)
    code, out, _ = run("check", "--changed-lines", "--format", "concise")
    assert code == 1 and out.endswith("2 files checked: 2 errors; 2 fixable with --fix.\n")


def test_since_compares_with_the_merge_base_as_a_pull_request_does(git):
    write(Path("a.py"), NAIVE + "a = 1\nb = 1\nc = 1\n")
    git("add", ".")
    git("commit", "-qm", "base")
    git("checkout", "-qb", "feature")
    write(Path("a.py"), NAIVE + "a = datetime.now()\nb = 1\nc = 1\n")
    git("commit", "-qam", "feature")
    git("checkout", "-q", "main")
    write(Path("a.py"), NAIVE + "a = 1\nb = 1\nc = datetime.now()\n")
    git("commit", "-qam", "main moves on")
    git("checkout", "-q", "feature")
    # against main itself, line 4 would count as changed (it differs from main's); a pull
    # request from feature into main changes line 2 only
    code, out, _ = run("check", "--since", "main", "--changed-lines", "--format", "concise")
    assert [line.split(": ")[0] for line in out.splitlines()[:-1]] == ["a.py:2:5"]


def test_changed_lines_are_the_lines_the_pull_request_patch_adds(git):
    before = "".join(f"v{i} = {i}\n" for i in range(40))
    write(Path("m.py"), before)
    git("add", ".")
    git("commit", "-qm", "base")
    after = before.replace("v3 = 3\n", "v3 = 33\nnew = 1\n").replace("v20 = 20\n", "").replace("v39", "w39")
    write(Path("m.py"), after)
    patch = git("diff", "HEAD", "--", "m.py")  # as GitHub's `patch`: default context
    expected = added_lines(patch)
    found = changes(base_revision(None), ["m.py"]).lines[(Path.cwd() / "m.py").resolve()]
    assert found == set(expected) == {4, 5, 40}


# -- progress ------------------------------------------------------------------------------------

_PROGRESS = """
import sys
import rules.progress
rules.progress.DELAY = float(sys.argv[1])
from rules.cli import main
raise SystemExit(main(sys.argv[2:]))
"""


def _on_a_terminal(tmp_path: Path, delay: float, *argv: str) -> tuple[int, bytes, str]:
    """Runs the command with stderr on a pseudo-terminal; returns its status, what the
    terminal showed and stdout."""
    leader, follower = pty.openpty()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _PROGRESS, str(delay), *argv],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=follower, env=env,
    )
    os.close(follower)
    shown = b""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.5)
        if ready:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            shown += chunk
        elif proc.poll() is not None:
            break
    os.close(leader)
    stdout = proc.communicate(timeout=60)[0].decode()
    return proc.returncode, shown, stdout


def _package(root: Path, files: int) -> None:
    (root / ".git").mkdir()
    for i in range(files):
        write(root / f"pkg/m{i:03}.py", CLEAN)


def test_progress_shows_on_a_terminal_once_a_run_is_long(tmp_path):
    _package(tmp_path, 20)
    code, shown, stdout = _on_a_terminal(tmp_path, 0.0, "check", "pkg")
    assert code == 0 and stdout == "20 files checked: no findings.\n"
    assert b"checking [" in shown and b"20/20 files 100%" in shown
    assert shown.endswith(b"\r\x1b[K")  # erased: what follows starts on a clean line


def test_no_progress_on_a_short_run_or_off_a_terminal(tmp_path):
    _package(tmp_path, 20)
    code, shown, _ = _on_a_terminal(tmp_path, 2.0, "check", "pkg")
    assert code == 0 and b"checking" not in shown
    proc = subprocess.run(
        [sys.executable, "-c", _PROGRESS, "0", "check", "pkg"],
        cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.returncode == 0 and proc.stderr == ""
