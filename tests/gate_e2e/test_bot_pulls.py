"""Pull requests opened by a bot listed under `bots:` that change only its listed paths pass with
one person's approval, whatever `approvals.required` says, and the pass is in the audit export.
Anything else the bot's pull request touches, or a bot's own approval, gets no such allowance.
Over real HTTP against fakehub."""

from __future__ import annotations

import requests

from bot.render import short
from bot.store.db import BotPassRecord
from tests.bot.harness import Bot
from tests.fakehub.model import FileChange
from tests.gate_e2e.gatehub import REPO, review, run_on
from tests.pages.site import ADMIN_TOKEN

DEPENDABOT = "dependabot[bot]"
CONFIG = (
    "approvals:\n"
    "  required: 2\n"
    "bots:\n"
    "  - login: dependabot[bot]\n"
    "    paths: ['requirements*.txt', '**/poetry.lock']\n"
)



def _open(bot: Bot, number: int, files: list[FileChange], author: str = DEPENDABOT) -> str:
    hub = bot.hub
    if number == 7:
        hub.add_repo(REPO, default_branch="main", installation_id=42)
        hub.set_file(REPO, "main", ".github/reviewgate.yml", CONFIG)
        for login in ("bob", "carol"):
            hub.add_collaborator(REPO, login, "write")
        hub.add_collaborator(REPO, "renovate[bot]", "write")
    kind = "Bot" if author.endswith("[bot]") else "User"
    head = hub.add_pull(REPO, number, author=author, author_type=kind, files=files).head_sha
    assert bot.open_pull(REPO, number).status_code == 202
    bot.wait()
    return head


def _passes(bot: Bot) -> list[BotPassRecord]:
    with bot.runtime.db.session() as session:
        return list(session.query(BotPassRecord).order_by(BotPassRecord.id))


def test_a_listed_bots_lock_file_update_passes_with_one_human_approval_and_is_audited(site: Bot) -> None:
    bot = site
    head = _open(bot, 7, [FileChange("requirements.txt", before="flask==3.0\n", after="flask==3.1\n"),
                          FileChange("api/poetry.lock", before="a\n", after="b\n")])
    assert run_on(bot, head)["conclusion"] == "failure"  # no approval at all yet

    # Another bot's approval never counts.
    review(bot, 7, "renovate[bot]")
    bot.wait()
    assert run_on(bot, head)["conclusion"] == "failure"
    assert _passes(bot) == []

    review(bot, 7, "bob")
    bot.wait()
    run = run_on(bot, head)
    assert run["conclusion"] == "success", run["output"]["summary"]
    assert f"1 peer approval of the latest commit `{short(head)}`" in run["output"]["summary"]
    assert "changing only the paths listed for it under `bots:`" in run["output"]["summary"]
    (recorded,) = _passes(bot)
    assert (recorded.bot, recorded.approvers, recorded.head_sha, recorded.required) == (DEPENDABOT, "bob", head, 2)

    # Evaluated again (a comment review): recorded once per head.
    review(bot, 7, "carol", state="COMMENTED")
    bot.wait()
    assert len(_passes(bot)) == 1

    rows = requests.get(f"{bot.url}/audit.json", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30)
    assert rows.status_code == 200
    (row,) = [r for r in rows.json() if r["kind"] == "bot"]
    assert row["command"] == f"bots: {DEPENDABOT}" and row["actor"] == "bob" and row["number"] == 7


def test_a_bots_change_outside_its_paths_or_a_person_gets_the_full_policy(bot: Bot) -> None:
    head = _open(bot, 7, [FileChange("requirements.txt", before="flask==3.0\n", after="flask==3.1\n"),
                          FileChange("app/setup.py", before="X = 1\n", after="X = 2\n")])
    review(bot, 7, "bob")
    bot.wait()
    run = run_on(bot, head)
    assert run["conclusion"] == "failure"
    assert run["output"]["title"] == f"Blocked: needs 1 more peer approval on {short(head)}"

    # A person's lock-file change is not the bot's.
    human = _open(bot, 8, [FileChange("requirements.txt", before="flask==3.0\n", after="flask==3.1\n")],
                  author="mallory")
    review(bot, 8, "bob")
    bot.wait()
    assert run_on(bot, human)["conclusion"] == "failure"

    # A rename that moves code out to a listed name is a change of the code's path too.
    moved = _open(bot, 9, [FileChange("requirements-dev.txt", status="renamed", previous_path="app/core.py",
                                      before="X = 1\n", after="X = 1\n")])
    review(bot, 9, "bob")
    bot.wait()
    assert run_on(bot, moved)["conclusion"] == "failure"
    assert _passes(bot) == []
