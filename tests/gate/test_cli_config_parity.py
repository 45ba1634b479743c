"""The command line refuses exactly the `.github/reviewgate.yml` files the bot refuses, with
the same message: both read it with `rules.gate_config`."""

from __future__ import annotations

import io

import pytest

from bot.policy.repo_config import parse_repo_config
from rules import ConfigError
from rules.cli import main

TEAMS = "owners:\n" + "".join(f"  - paths: [p{i}/]\n    teams: [org/t{i}]\n" for i in range(51))

REFUSED = [
    "approvals:\n  requierd: 2\n",
    "approvals:\n  required: -1\n",
    "approvals:\n  min_permission: superuser\n",
    "owners:\n  - paths: [a/]\n    users: [ann]\n    count: 2\n",
    "owners:\n  - paths: [a/]\n    users: [org/team]\n",
    "findings:\n  on_error: explode\n",
    "comment: loud\n",
    "suggestions: maybe\n",
    "reviewers: [ann]\n",
    TEAMS,
    "rules:\n  severity:\n    RG101: loud\n",
    "a: &a [x]\nb: *a\n",
]


@pytest.mark.parametrize("config", REFUSED)
def test_the_command_line_refuses_what_the_bot_refuses(config, tmp_path, monkeypatch):
    with pytest.raises(ConfigError) as refused:
        parse_repo_config(config)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github/reviewgate.yml").write_text(config)
    (tmp_path / "a.py").write_text("x = 1\n")
    monkeypatch.chdir(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    assert main(["check", "a.py"], stdout=out, stderr=err) == 2
    assert err.getvalue() == f"reviewgate: invalid configuration: {refused.value}\n"
    assert out.getvalue() == ""


def test_a_file_the_bot_accepts_is_accepted(tmp_path, monkeypatch):
    config = (
        "approvals:\n  required: 2\n  min_permission: maintain\nowners:\n  - paths: [db/]\n"
        "    teams: [org/dba]\nfindings:\n  on_error: escalate\ncomment: off\nsuggestions: false\n"
        "rules:\n  ignore: [RG106]\npaths:\n  exclude: [gen/]\n"
    )
    parse_repo_config(config)
    (tmp_path / ".git").mkdir()
    (tmp_path / ".github").mkdir()
    (tmp_path / ".github/reviewgate.yml").write_text(config)
    (tmp_path / "a.py").write_text("x = 1\n")
    monkeypatch.chdir(tmp_path)
    assert main(["check", "a.py"], stdout=io.StringIO(), stderr=io.StringIO()) == 0
