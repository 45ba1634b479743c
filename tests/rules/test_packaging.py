"""What `pip install .` gives: the command line with libcst, PyYAML and pathspec only, the
bot's dependencies behind the `app` extra; and what the pre-commit hook installs and runs."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

from rules import __version__

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
# The modules the `app` extra's distributions provide (and the bot itself).
APP_MODULES = {
    "flask", "github", "jwt", "huey", "sqlalchemy", "prometheus_client", "uvicorn",
    "httptools", "a2wsgi",
    "pydantic", "pydantic_settings", "dotenv", "cryptography", "werkzeug", "bot",
}


def _names(requirements: list[str]) -> set[str]:
    return {re.split(r"[\[=<>!~ ;]", r, maxsplit=1)[0].lower() for r in requirements}


def test_the_default_install_is_the_light_command_line():
    project = PYPROJECT["project"]
    assert _names(project["dependencies"]) == {"libcst", "pyyaml", "pathspec"}
    assert {"flask", "pygithub", "sqlalchemy", "huey", "uvicorn"} <= _names(project["optional-dependencies"]["app"])
    assert project["scripts"] == {"reviewgate": "rules.cli:main"}


def test_make_install_installs_the_app_extra():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    assert re.search(r"pip install .*-e '\.\[app,dev\]'", makefile)


def test_the_version_is_the_packages():
    project = PYPROJECT["project"]
    assert "version" in project["dynamic"] and "version" not in project
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "rules.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", __version__)


_PROBE = """
import json, sys
from rules.cli import main
status = main(sys.argv[1:])
print(json.dumps({"status": status, "modules": sorted({m.split(".")[0] for m in sys.modules})}), file=sys.stderr)
"""


def test_the_command_line_imports_nothing_of_the_app_extra(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github/reviewgate.yml").write_text("approvals:\n  required: 2\nrules:\n  ignore: [RG106]\n")
    (tmp_path / ".gitignore").write_text("build/\n")
    (tmp_path / "a.py").write_text("from datetime import datetime\nx = datetime.now()\n")
    for argv in (["check", "--format", "sarif"], ["check", "--statistics"], ["rule", "RG101"]):
        proc = subprocess.run(
            [sys.executable, "-c", _PROBE, *argv], cwd=tmp_path, capture_output=True, text=True,
            env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, timeout=120,
        )
        probe = json.loads(proc.stderr.splitlines()[-1])
        assert probe["status"] in (0, 1), proc.stderr
        assert "libcst" in probe["modules"] or argv[0] == "rule"
        assert set(probe["modules"]) & APP_MODULES == set(), argv


def test_the_pre_commit_hook_runs_the_light_command_line_on_changed_lines():
    [hook] = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
    assert hook["id"] == "reviewgate"
    assert hook["language"] == "python" and hook["types"] == ["python"]
    # pre-commit installs the repository with `pip install .`: the default dependencies only
    assert hook["entry"] == "reviewgate check"
    assert hook["args"] == ["--changed-lines"]
