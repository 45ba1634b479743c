"""Vendored third-party code is not the project's to fix: not analysed unless configured.

A vendored dateutil's naive `dtstart` defaults blocked a pull request that only refreshed
the vendored copy. Folders named `_vendored/`, `vendored/`, `_vendor/` and `vendor/` are
left out by default; `paths.vendored` in .github/reviewgate.yml replaces the list (`[]`
analyses them like any other code).
"""

from __future__ import annotations

from tests.bot.harness import Bot
from tests.fakehub.model import FileChange
from tests.gate_e2e.gatehub import REPO, review, run_on

NAIVE = "from datetime import datetime\n\n\ndef stamp(row):\n    row['created_at'] = datetime.now()\n"


def _open(bot: Bot, path: str, config: str | None = None) -> str:
    hub = bot.hub
    hub.add_repo(REPO, default_branch="main", installation_id=42)
    hub.add_collaborator(REPO, "bob", "write")
    if config is not None:
        hub.set_file(REPO, "main", ".github/reviewgate.yml", config)
    head = hub.add_pull(REPO, 7, author="alice", files=[FileChange(path, status="added", after=NAIVE)]).head_sha
    bot.open_pull(REPO, 7)
    bot.wait()
    review(bot, 7, "bob")
    bot.wait()
    return head


def test_vendored_code_is_not_analysed_by_default(bot: Bot) -> None:
    head = _open(bot, "app/_vendored/dateutil/rrule.py")
    run = run_on(bot, head)
    assert run["conclusion"] == "success", run["output"]
    assert run["annotations"] == []
    output = run["output"]
    assert "vendored third-party code" in (output.get("text") or "") + output["summary"], output


def test_the_vendored_folders_are_configurable(bot: Bot) -> None:
    head = _open(bot, "app/_vendored/dateutil/rrule.py", "paths:\n  vendored: []\n")
    run = run_on(bot, head)
    assert run["conclusion"] == "failure"
    assert [a["title"].split()[0] for a in run["annotations"]] == ["RG101"]


def test_a_custom_vendored_folder(bot: Bot) -> None:
    head = _open(bot, "third_party/lib/clock.py", "paths:\n  vendored: ['third_party/']\n")
    run = run_on(bot, head)
    assert run["conclusion"] == "success", run["output"]
