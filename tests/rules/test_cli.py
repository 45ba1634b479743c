"""`reviewgate check` (`python -m rules`): files, formats, exit codes, configuration, --fix,
--since and --changed-lines."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import jsonschema
import libcst as cst
import pytest

from rules import CATALOGUE, analyze
from rules.cli import main, parse_diff
from rules.docs import DOCS_PATH, ENGINE_NOTICES, render

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((Path(__file__).parent / "sarif-2.1.0.json").read_text(encoding="utf-8"))

NAIVE = "from datetime import datetime\n"
BAD = NAIVE + "_x = datetime.now()\n"  # private and unread: the fix is safe
CLEAN = "from datetime import datetime, timezone\nx = datetime.now(timezone.utc)\n"


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def project(tmp_path, monkeypatch):
    """An empty project directory as the working directory (its own root: it has .git)."""
    (tmp_path / ".git").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# -- exit codes and the text format ------------------------------------------------------------


def test_clean_file_exits_0(project):
    write(project / "ok.py", CLEAN)
    code, out, _ = run("ok.py")
    assert code == 0
    assert out == "1 file checked: no findings.\n"


def test_error_finding_exits_1_and_prints_the_text_line(project):
    write(project / "bad.py", BAD)
    code, out, _ = run("bad.py", "--format", "concise")
    assert code == 1
    first, summary = out.splitlines()
    assert re.fullmatch(r"bad\.py:2:6: RG101 \[error\] .*timezone\.utc.*", first), first
    assert summary == "1 file checked: 1 error; 1 fixable with --fix."


@pytest.mark.parametrize(
    "argv",
    [
        ["--format", "xml"],
        ["--select", "E501"],
        ["--ignore", "RG1x"],
        ["--no-such-option"],
        ["missing.py"],
        ["--config", "nope.yml"],
    ],
)
def test_usage_errors_exit_2(project, argv, capsys):
    write(project / "ok.py", CLEAN)
    code, out, err = run(*argv)
    assert code == 2
    assert out == ""
    assert err or capsys.readouterr().err  # argparse writes its own message


def test_warnings_and_suppressed_errors_exit_0(project):
    write(project / "a.py", NAIVE + "x = datetime.now()  # reviewgate: ignore[RG101]\n")
    assert run("a.py")[0] == 0
    write(project / ".github/reviewgate.yml", "rules:\n  severity:\n    RG101: warning\n")
    write(project / "b.py", BAD)
    code, out, _ = run("b.py")
    assert code == 0 and "RG101 [warning]" in out


def test_engine_notices_are_shown_but_do_not_fail(project):
    write(project / "syntax.py", "def f(:\n")
    write(project / "latin.py", b"x = '\xe9'\n")
    write(project / "cookie.py", b"# coding: latin-1\nx = '\xe9'\n")
    code, out, _ = run(".")
    assert code == 0
    assert "latin.py:1:1: RG001 [notice] Could not decode" in out
    assert re.search(r"syntax\.py:1:1: RG001 \[notice\] .*line 1", out)
    assert "cookie.py" not in out
    assert "3 files checked: 2 notices." in out


def test_oversized_and_deeply_nested_files_are_notices(project):
    write(project / "big.py", "x = 1\n" * (5 * 1024 * 1024 // 6 + 1))
    write(project / "deep.py", "x = " + "(" * 3000 + "1" + ")" * 3000 + "\n")
    code, out, _ = run("--format", "json")
    assert code == 0
    found = {(f["path"], f["code"]) for f in json.loads(out)["findings"]}
    assert found == {("big.py", "RG002"), ("deep.py", "RG002")}


def test_suppressed_findings_are_listed_on_request(project):
    write(project / "a.py", NAIVE + "x = datetime.now()  # noqa: DTZ005\ny = datetime.now()  # noqa\n")
    code, out, _ = run("a.py")
    assert code == 1
    assert "a.py:2:" not in out and "a.py:3:5: RG101" in out
    assert "1 suppressed (--show-suppressed lists them)" in out
    code, out, _ = run("a.py", "--show-suppressed")
    assert "a.py:2:5: RG101 [error]" in out and "(suppressed)" in out


def test_select_and_ignore(project):
    write(project / "a.py", BAD)
    assert run("a.py", "--ignore", "RG101")[0] == 0
    assert run("a.py", "--ignore", "rg1")[0] == 0
    assert run("a.py", "--select", "RG2")[0] == 0
    assert run("a.py", "--select", "RG2,RG10")[0] == 1
    assert run("a.py", "--select", "RG1", "--ignore", "RG101")[0] == 0


# -- files --------------------------------------------------------------------------------------


def test_directories_are_walked_skipping_tool_directories(project):
    for name in (".venv/lib/x.py", ".git/hooks/x.py", "env/pkg.py", "__pycache__/x.py", "notes.txt"):
        write(project / name, BAD)
    write(project / "env/pyvenv.cfg", "home = /usr\n")
    write(project / "src/pkg/mod.py", BAD)
    write(project / "src/top.py", CLEAN)
    code, out, _ = run("--format", "concise")
    assert code == 1
    assert [line.split(":")[0] for line in out.splitlines()[:-1]] == ["src/pkg/mod.py"]
    assert out.splitlines()[-1].startswith("2 files checked")


def test_files_named_explicitly_are_read_whatever_their_name(project):
    write(project / ".venv/x.py", BAD)
    write(project / "script", BAD)
    code, out, _ = run(".venv/x.py", "script", "script", "--format", "concise")
    assert code == 1
    assert [line.split(":")[0] for line in out.splitlines()[:-1]] == [".venv/x.py", "script"]


def test_config_excludes_are_honoured_and_named_files_are_not_skipped_silently(project):
    write(project / ".github/reviewgate.yml", "paths:\n  exclude:\n    - gen/**\n    - '**/*_pb2.py'\n")
    write(project / "gen/deep/a.py", BAD)
    write(project / "src/x_pb2.py", BAD)
    write(project / "src/ok.py", CLEAN)
    code, out, err = run()
    assert (code, out) == (0, "1 file checked: no findings.\n")
    code, out, err = run("gen/deep/a.py")
    assert code == 0
    assert "skipped gen/deep/a.py" in err and "excluded" in err


def test_config_is_found_at_the_repository_root_from_a_subdirectory(project, monkeypatch):
    write(project / ".github/reviewgate.yml", "rules:\n  ignore: [RG101]\n")
    write(project / "sub/a.py", BAD)
    monkeypatch.chdir(project / "sub")
    assert run("a.py")[0] == 0


def test_unreadable_file_exits_2(project):
    write(project / "src/ok.py", CLEAN)
    (project / "src/gone.py").symlink_to(project / "nowhere.py")
    code, out, err = run()
    assert code == 2
    assert "cannot read src/gone.py" in err and "1 file checked" in out


# -- configuration ------------------------------------------------------------------------------


def test_invalid_config_exits_2_naming_file_line_and_problem(project):
    write(project / ".github/reviewgate.yml", "rules:\n  select: [RG1]\n  severity:\n    RG101: loud\n")
    write(project / "a.py", CLEAN)
    code, out, err = run("a.py")
    assert code == 2 and out == ""
    assert ".github/reviewgate.yml:4:" in err and "RG101" in err and "loud" in err


def test_invalid_yaml_exits_2_with_the_line(project):
    write(project / "custom.yml", "rules:\n  select: [RG1\n")
    write(project / "a.py", CLEAN)
    code, _, err = run("--config", "custom.yml", "a.py")
    assert code == 2 and "custom.yml:" in err and "invalid YAML" in err


def test_config_option_selects_another_file(project):
    write(project / "custom.yml", "rules:\n  ignore: [RG101]\n")
    write(project / "a.py", BAD)
    assert run("a.py")[0] == 1
    assert run("--config", "custom.yml", "a.py")[0] == 0


# -- formats ------------------------------------------------------------------------------------


@pytest.fixture
def mixed(project):
    write(project / "a.py", NAIVE + "_x = datetime.now()\ny = datetime.now()  # noqa: RG101\n")
    write(project / "b.py", "def f(:\n")
    write(project / "c.py", CLEAN)
    return project


def test_json_format(mixed):
    code, out, _ = run("--format", "json")
    assert code == 1
    data = json.loads(out)
    assert data["counts"] == {
        "files": 3, "findings": 3, "error": 1, "warning": 0, "notice": 1, "suppressed": 1,
        "fixable": 1, "unsafe_fixable": 0, "fixed": 0,
    }
    assert data["blocking"] is True
    by_line = {(f["path"], f["line"]): f for f in data["findings"]}
    first = by_line["a.py", 2]
    assert set(first) == {
        "code", "slug", "severity", "path", "line", "column", "end_line", "end_column",
        "message", "fix", "suppressed",
    }
    assert (first["code"], first["severity"], first["suppressed"]) == ("RG101", "error", False)
    assert first["fix"]["safe"] is True and first["fix"]["edits"]
    assert by_line["a.py", 3]["suppressed"] is True
    assert by_line["b.py", 1]["severity"] == "notice"
    # the same fields as the engine returns
    engine = analyze((mixed / "a.py").read_text(), "a.py").findings[0].to_dict()
    assert first == json.loads(json.dumps(engine))


def _validate_sarif(document: dict) -> None:
    validator_class = jsonschema.validators.validator_for(SCHEMA)
    validator_class.check_schema(SCHEMA)
    validator = validator_class(SCHEMA, format_checker=validator_class.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def test_sarif_format_is_valid_and_complete(mixed):
    code, out, _ = run("--format", "sarif")
    assert code == 1
    document = json.loads(out)
    _validate_sarif(document)
    [run_] = document["runs"]
    rules = run_["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert ids == [r.code for r in CATALOGUE] + [n.code for n in ENGINE_NOTICES]
    anchors = set(re.findall(r"^#+ (RG\d+ [a-z0-9-]+)$", render(), re.MULTILINE))
    for descriptor in rules:
        assert descriptor["name"] and descriptor["shortDescription"]["text"]
        assert descriptor["fullDescription"]["text"] and descriptor["help"]["text"]
        assert descriptor["defaultConfiguration"]["level"] in {"error", "warning", "note"}
        url = urlparse(descriptor["helpUri"])
        assert url.scheme == "https" and url.path.endswith("/docs/rules.md")
        assert url.fragment.replace("-", " ", 1).upper() in {a.upper() for a in anchors}
    rg101 = rules[ids.index("RG101")]
    assert "What it flags" in rg101["help"]["markdown"] and "How to fix" in rg101["help"]["text"]
    results = {(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                r["locations"][0]["physicalLocation"]["region"]["startLine"]): r
               for r in run_["results"]}
    active = results["a.py", 2]
    assert active["ruleId"] == "RG101" and active["level"] == "error"
    assert ids[active["ruleIndex"]] == "RG101"
    region = active["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 2, "startColumn": 6, "endLine": 2, "endColumn": 20}
    assert "suppressions" not in active and active["fixes"]
    assert results["a.py", 3]["suppressions"] == [{"kind": "inSource"}]
    assert results["b.py", 1]["level"] == "note"


def test_sarif_fingerprints_survive_edits_elsewhere_in_the_file(project):
    path = write(project / "a.py", NAIVE + "x = datetime.now()\nx = datetime.now()\n")

    def fingerprints() -> list[str]:
        results = json.loads(run("--format", "sarif", "--select", "RG101")[1])["runs"][0]["results"]
        return [r["partialFingerprints"]["reviewgate/v1"] for r in results]

    before = fingerprints()
    assert len(before) == len(set(before)) == 2  # identical lines still differ
    path.write_text(NAIVE + "\n\nimport os\n" + "x  =  datetime.now()\nx = datetime.now()\n")
    assert fingerprints() == before


def test_sarif_schema_rejects_a_broken_document(mixed):
    # the validation above is only worth something if the schema can fail
    document = json.loads(run("--format", "sarif")[1])
    document["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(AssertionError):
        _validate_sarif(document)


def test_sarif_with_no_findings_is_valid(project):
    write(project / "ok.py", CLEAN)
    code, out, _ = run("--format", "sarif")
    assert code == 0
    document = json.loads(out)
    _validate_sarif(document)
    assert document["runs"][0]["results"] == []


def test_github_format(mixed):
    code, out, _ = run("--format", "github")
    assert code == 1
    lines = out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(
        "::error file=a.py,line=2,col=6,endLine=2,endColumn=20,title=RG101 naive-now::"
    )
    assert lines[1].startswith("::notice file=b.py,line=1,title=RG001 parse-error::")
    code, out, _ = run("--format", "github", "--show-suppressed")
    assert "::notice file=a.py,line=3,col=5,endLine=3,endColumn=19,title=RG101 naive-now (suppressed)::" in out


def test_github_format_escapes_properties_and_data(project):
    write(project / "we,ird:name.py", b"x = '\xe9'\n")
    _, out, _ = run("--format", "github", "we,ird:name.py")
    [line] = out.splitlines()
    assert line.startswith("::notice file=we%2Cird%3Aname.py,line=1,title=RG001 parse-error::")
    assert "\n" not in line


def test_paths_in_machine_formats_are_relative_to_the_repository_root(project, monkeypatch):
    write(project / "pkg/a.py", BAD)
    monkeypatch.chdir(project / "pkg")
    _, out, _ = run("--format", "github", "a.py")
    assert out.startswith("::error file=pkg/a.py,")
    _, out, _ = run("--format", "sarif", "a.py")
    result = json.loads(out)["runs"][0]["results"][0]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "pkg/a.py"
    _, out, _ = run("a.py")
    assert out.startswith("a.py:2:6:")


# -- --fix ----------------------------------------------------------------------------------------


def test_fix_round_trip(project):
    path = write(project / "a.py", NAIVE + "_x = datetime.now()\n_y = datetime.today()\n")
    code, out, _ = run("--fix", "a.py")
    assert code == 0
    assert "2 fixes applied" in out
    fixed = path.read_text()
    cst.parse_module(fixed)
    assert "timezone" in fixed
    assert not [f for f in analyze(fixed, "a.py").findings if f.code == "RG101"]
    assert run("a.py")[0] == 0


def test_fix_applies_unsafe_fixes_only_when_asked(project):
    source = NAIVE + "def f(t):\n    now = datetime.now()\n    return now > t\n"
    path = write(project / "a.py", source)
    code, out, _ = run("--fix", "a.py")
    assert code == 1 and path.read_text() == source
    assert "1 with --unsafe-fixes" in out
    code, out, _ = run("--fix", "--unsafe-fixes", "a.py")
    assert code == 0 and "timezone.utc" in path.read_text()


def test_fix_keeps_the_file_encoding(project):
    source = "# -*- coding: latin-1 -*-\nfrom datetime import datetime\n_x = datetime.now()  # '\xe9'\n"
    path = write(project / "a.py", source.encode("latin-1"))
    assert run("--fix", "a.py")[0] == 0
    data = path.read_bytes()
    assert b"'\xe9'" in data and b"timezone.utc" in data


def test_fix_keeps_windows_line_endings(project):
    source = '"""Doc."""\r\nimport os\r\n\r\ndef f():\r\n    from datetime import datetime\r\n    print(datetime.now())\r\n'
    path = write(project / "a.py", source.encode())
    assert run("--fix", "a.py")[0] == 0
    data = path.read_bytes()
    assert b"from datetime import timezone\r\n" in data and b"timezone.utc" in data
    assert data.count(b"\n") == data.count(b"\r\n") == source.count("\n") + 1


def test_fix_leaves_unparsable_files_alone(project):
    path = write(project / "a.py", "def f(:\n")
    assert run("--fix", "a.py")[0] == 0
    assert path.read_text() == "def f(:\n"


# -- --since and --changed-lines -----------------------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path, monkeypatch):
    for key in list(os.environ):
        if key.startswith("GIT_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    monkeypatch.setenv("GIT_AUTHOR_NAME", "Test")
    monkeypatch.setenv("GIT_AUTHOR_EMAIL", "test@example.com")
    monkeypatch.setenv("GIT_COMMITTER_NAME", "Test")
    monkeypatch.setenv("GIT_COMMITTER_EMAIL", "test@example.com")
    monkeypatch.chdir(tmp_path)

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], check=True, capture_output=True, text=True).stdout

    git("init", "-q", "-b", "main")
    write(tmp_path / "old.py", NAIVE + "_a = datetime.now()\n\n\nb = 1\n")
    write(tmp_path / "same.py", BAD)
    write(tmp_path / "moved.py", BAD)
    git("add", ".")
    git("commit", "-q", "-m", "base")
    return Repo(tmp_path, git)


@dataclass
class Repo:
    root: Path
    git: Callable[..., str]

    def __truediv__(self, name: str) -> Path:
        return self.root / name


def test_changed_lines_reports_only_changed_lines_and_new_files_whole(repo):
    write(repo / "old.py", NAIVE + "_a = datetime.now()\n\n_c = datetime.now()\nb = 1\n")
    write(repo / "new.py", BAD)  # untracked
    write(repo / "staged.py", NAIVE + "\n\nz = datetime.now()\n")
    repo.git("add", "staged.py")
    repo.git("mv", "moved.py", "renamed.py")
    code, out, _ = run("--since", "HEAD", "--changed-lines", "--format", "concise")
    assert code == 1
    reported = sorted(line.split(": ")[0] for line in out.splitlines()[:-1])
    assert reported == ["new.py:2:6", "old.py:4:6", "staged.py:4:5"]
    assert run("--since", "HEAD", "--changed-lines", "same.py", "renamed.py")[0] == 0
    assert run("same.py")[0] == 1


def test_changed_lines_from_a_subdirectory(repo, monkeypatch):
    write(repo / "pkg/mod.py", NAIVE + "a = 1\n")
    repo.git("add", ".")
    repo.git("commit", "-q", "-m", "pkg")
    write(repo / "pkg/mod.py", NAIVE + "a = 1\nb = datetime.now()\n")
    monkeypatch.chdir(repo / "pkg")
    code, out, _ = run("--changed-lines", "--format", "github")
    assert code == 1
    assert out.startswith("::error file=pkg/mod.py,line=3,")
    assert run("--changed-lines", "../same.py")[0] == 0


def test_since_an_unknown_revision_exits_2(repo):
    code, _, err = run("--since", "no-such-rev", "--changed-lines")
    assert code == 2 and "--since no-such-rev: not a commit" in err


def test_changed_lines_with_fix_fixes_only_changed_lines(repo):
    write(repo / "old.py", NAIVE + "_a = datetime.now()\n\n_c = datetime.now()\nb = 1\n")
    code, _, _ = run("--changed-lines", "--fix", "old.py")
    assert code == 0
    text = (repo / "old.py").read_text()
    assert "_a = datetime.now()\n" in text and "_c = datetime.now(timezone.utc)\n" in text


def test_parse_diff_hunks():
    diff = (
        "diff --git a/x.py b/x.py\nindex 1..2 100644\n--- a/x.py\n+++ b/x.py\n"
        "@@ -3 +3 @@ def f():\n-a\n+b\n"
        "@@ -10,0 +11,2 @@\n++++ added line that looks like a header\n+x\n"
        "@@ -20,3 +22,0 @@\n-gone\n-gone\n-gone\n"
        "diff --git a/gone.py b/gone.py\ndeleted file mode 100644\n--- a/gone.py\n+++ /dev/null\n"
        "@@ -1 +0,0 @@\n-x\n"
        'diff --git "a/sp ace\\tb.py" "b/sp ace\\tb.py"\nnew file mode 100644\n--- /dev/null\n'
        '+++ "b/sp ace\\tb.py"\n@@ -0,0 +1,3 @@\n+1\n+2\n+3\n'
    )
    assert parse_diff(diff) == {"x.py": {3, 11, 12}, "sp ace\tb.py": {1, 2, 3}}


def test_parse_diff_cuts_lines_where_git_does():
    # A form feed or U+2028 in an added line is no line break for git: the "hunk header"
    # after it is text, and must not move the changed lines.
    diff = (
        "diff --git a/x.py b/x.py\nindex 1..2 100644\n--- a/x.py\n+++ b/x.py\n"
        "@@ -1,0 +2,2 @@\n+# x\f@@ -1,1 +900,1 @@\n+y = 1\u2028@@ -1 +700 @@\n"
    )
    assert parse_diff(diff) == {"x.py": {2, 3}}


# -- the real command, docs and the pre-commit hook -------------------------------------------


def test_python_dash_m_rules_passes_on_the_project_itself():
    proc = subprocess.run(
        [sys.executable, "-m", "rules", "app.py", "rules", "bot"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no findings" in proc.stdout or " 0 error" not in proc.stdout


def test_python_dash_m_rules_help_and_usage_error():
    proc = subprocess.run([sys.executable, "-m", "rules", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0 and "check" in proc.stdout and "rule" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "rules", "check", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0 and "--since REV" in proc.stdout and "exit status" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "rules", "--format"], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 2 and "usage:" in proc.stderr


def test_docs_are_up_to_date():
    current = (ROOT / DOCS_PATH).read_text(encoding="utf-8")
    assert current == render(), (
        f"{DOCS_PATH} is out of date: run `python -m rules --generate-docs {DOCS_PATH}`"
    )


def test_docs_have_one_anchor_per_rule():
    text = render()
    for rule in CATALOGUE:
        assert f"## {rule.code} {rule.slug}\n" in text
        assert f"](#{rule.docs_anchor()})" in text
        for section in ("What it flags", "Why it is risky", "How to fix"):
            assert rule.sections()[section] in text


def test_generate_docs_writes_the_file(project):
    assert run("--generate-docs", "out.md") == (0, "", "")
    assert (project / "out.md").read_text(encoding="utf-8") == render()


def test_readme_catalogue_is_up_to_date():
    from rules.docs import readme_with_catalogue

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    assert readme == readme_with_catalogue(readme), "README.md's rule table is out of date: run `python -m rules.docs`"


def test_vendored_folders_are_skipped_unless_configured(project):
    write(project / "src/pkg/_vendored/dateutil/rrule.py", BAD)
    write(project / "lib/vendor/x.py", BAD)
    write(project / "ok.py", CLEAN)
    assert run()[0] == 0
    code, _, err = run("lib/vendor/x.py")
    assert code == 0 and "skipped lib/vendor/x.py" in err
    write(project / ".github/reviewgate.yml", "paths:\n  vendored: []\n")
    code, out, _ = run()
    assert code == 1 and "rrule.py" in out and "vendor/x.py" in out
