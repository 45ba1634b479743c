"""Changed lines from GitHub's per-file `patch`, and findings numbered as git numbers lines."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rules
from bot.analysis import Analyzer, ChangedFile, to_git_lines
from bot.store.db import CachedReport, Database
from rules import LineMap, added_lines, git_lines

CASES = [
    ("@@ -0,0 +1,3 @@\n+a\n+b\n+c", {1, 2, 3}),
    ("@@ -1,3 +1,4 @@\n a\n-b\n+B\n+C\n c", {2, 3}),
    ("@@ -10,2 +10,2 @@ def f():\n x\n-y\n+z\n\\ No newline at end of file", {11}),
    ("@@ -1,2 +1,1 @@\n a\n-b", set()),
    ("@@ -1 +1 @@\n-a\n+b\n@@ -20,3 +20,4 @@\n p\n q\n+r\n s", {1, 22}),
    ("", set()),
    # Only "\n" ends a line of a patch: the rest stays inside the line that holds it.
    ("@@ -0,0 +1,2 @@\n+# x\f@@ -1,1 +900,1 @@\n+now()", {1, 2}),
    ("@@ -0,0 +1,2 @@\n+# x\u2028@@ -1,1 +900,1 @@\n+now()", {1, 2}),
    ("@@ -0,0 +1,2 @@\n+a = 1\r now()\n+b", {1, 2}),
    ("@@ -1,2 +1,2 @@\r\n-a\r\n+b\r\n c\r\n", {1}),
]


@pytest.mark.parametrize(("patch", "expected"), CASES)
def test_added_lines(patch: str, expected: set[int]) -> None:
    assert added_lines(patch) == expected


def test_git_lines_cut_at_newlines_only() -> None:
    assert git_lines("a\f\vb\r\nc\rd\x1c\x85\u2028e\n\nf") == ["a\f\vb", "c\rd\x1c\x85\u2028e", "", "f"]
    assert git_lines("") == [] and git_lines("x\n") == ["x"]


BOUNDED = settings(
    max_examples=25,
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure is reproducible in CI
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

# Characters some line splitter treats as a line break, and patch syntax to hide behind them.
ODD = ["\r", "\f", "\v", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
_piece = st.sampled_from(["a", " ", "+", "-", "\\", "@@ -1,1 +900,1 @@", *ODD])
_line = st.tuples(st.lists(_piece, max_size=5).map("".join), st.sampled_from(["\n", "\r\n"]))


@st.composite
def _file_pair(draw: st.DrawFn) -> tuple[str, str]:
    old = draw(st.lists(_line, max_size=10))
    # The new file reuses lines of the old one, so that diffs have context and removals.
    new = draw(st.lists(st.one_of(st.sampled_from(old), _line) if old else _line, max_size=12))

    def text(lines: list[tuple[str, str]]) -> str:
        out = "".join(body + end for body, end in lines)
        return out[: -len(lines[-1][1])] if lines and draw(st.booleans()) else out  # no last newline

    return text(old), text(new)


def _git(repo: Path, *args: str) -> bytes:
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    config = ["-c", "core.autocrlf=false", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    return subprocess.run(["git", *config, *args], cwd=repo, env=env, check=True, capture_output=True).stdout


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("git")
    _git(path, "init", "-q")
    return path


def _commit(repo: Path, text: str) -> str:
    (repo / "f.py").write_bytes(text.encode("utf-8"))
    _git(repo, "add", "f.py")
    _git(repo, "commit", "-q", "--allow-empty", "-m", "c")
    return _git(repo, "rev-parse", "HEAD").decode().strip()


@BOUNDED
@given(_file_pair())
def test_changed_lines_of_a_git_patch_are_the_lines_git_blames_on_the_commit(repo: Path, pair: tuple[str, str]) -> None:
    old, new = pair
    _commit(repo, old)
    head = _commit(repo, new)
    diff = _git(repo, "diff", "--text", "--no-color", "--no-ext-diff", "HEAD~1", "HEAD", "--", "f.py").decode("utf-8")
    # GitHub's `patch`: the hunks, without the file header, without the last newline.
    patch = diff[diff.index("@@") :].rstrip("\n") if "@@" in diff else ""
    # Independently of the patch: the lines that `git blame` gives to the new commit.
    blame = _git(repo, "blame", "--porcelain", "HEAD", "--", "f.py").decode("utf-8")
    blamed = {
        int(m.group(2))
        for m in re.finditer(r"^([0-9a-f]{40}) \d+ (\d+)", blame, re.MULTILINE)
        if m.group(1) == head
    }
    assert added_lines(patch) == blamed


# Pieces of one git line of Python: the code on it, possibly several of Python's own lines
# joined by a lone "\r". `NOW` marks where the naive now() starts.
NOW = "t = datetime.now()"
_junk = st.lists(st.sampled_from(["a", " ", "@@ -1 +9 @@", *[c for c in ODD if c != "\r"]]), max_size=4).map("".join)
_segment = st.one_of(
    st.just(NOW),
    st.just("x = 1"),
    st.just(""),
    _junk.map(lambda j: "# c" + j),
    _junk.map(lambda j: f"s = {j!r}"),
    st.just("\fy = 2"),
)
_py_line = st.tuples(st.lists(_segment, min_size=1, max_size=3), st.sampled_from(["\n", "\r\n"]))


@settings(max_examples=60, deadline=None, derandomize=True)
@given(st.lists(_py_line, min_size=1, max_size=8))
def test_findings_are_numbered_as_git_numbers_lines(lines: list[tuple[list[str], str]]) -> None:
    text = "from datetime import datetime\n"
    expected = set()
    for segments, end in lines:
        line, column = text.count("\n") + 1, 1
        for segment in segments:
            if segment == NOW:
                expected.add((line, column + len("t = ")))
            column += len(segment) + 1
        text += "\r".join(segments) + end
    content = text.encode("utf-8")
    report = to_git_lines(rules.analyze(content, "f.py"), content)
    assert {(f.line, f.column) for f in report.findings if f.code == "RG101"} == expected
    assert all(f.code != "RG001" for f in report.findings), report
    for f in report.findings:
        if f.fix is not None:  # a fix is only kept where its line is a whole git line
            assert all("\r" not in git_lines(text)[e.line - 1] for e in f.fix.edits)


def test_a_line_map_only_when_python_and_git_count_differently() -> None:
    assert LineMap.of(b"a\nb\r\nc") is None
    lines = LineMap.of("a\r\u00e9\rb\nc\r\n".encode())
    assert lines is not None
    assert [lines.line(n) for n in (1, 2, 3, 4, 5)] == [1, 1, 1, 2, 3]
    assert [lines.column(n, 1) for n in (1, 2, 3, 4)] == [1, 3, 5, 1]  # characters, not bytes
    assert (lines.whole(1), lines.whole(4)) == (False, True)


def test_reports_cached_with_python_line_numbers_are_analysed_again(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'cache.db'}")
    content = b"from datetime import datetime\nx = 1\rt = datetime.now()\n"
    config = rules.RulesConfig()
    analyzer = Analyzer(db, config, lambda sha, limit: content)
    stale = rules.analyze(content, "f.py")
    assert [f.line for f in stale.findings] == [3]
    with db.session() as session:
        session.add(
            CachedReport(
                blob_sha="b1", rules_version=rules.RULES_VERSION, config_digest=config.digest(),
                data=json.dumps({"report": stale.to_dict(), "lines": {"3": "t = datetime.now()"}}),
            )
        )
    changed = ChangedFile("f.py", "added", "b1", "@@ -0,0 +1,2 @@\n+from datetime import datetime\n+x = 1\rt = datetime.now()")
    result = analyzer.analyze(changed, added_lines(changed.patch or ""))
    assert [f.line for f in result.findings] == [2]
    assert result.line_sources == {2: "x = 1\rt = datetime.now()"}
    # Cached again with git's numbers, and read from the cache the next time.
    analyzer.fetch_blob = lambda sha, limit: pytest.fail("fetched again")
    assert [f.line for f in analyzer.analyze(changed, frozenset({2})).findings] == [2]
    db.dispose()
