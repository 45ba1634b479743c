"""A pull request that changes `.github/reviewgate.yml` gets the new file checked before it merges:
an invalid one fails the check with an annotation on its line, a valid one is evaluated and the
summary says what the gate would conclude under it, while the pull request is still judged by
the default branch's file. Over real HTTP against fakehub."""

from __future__ import annotations

from bot.render import short
from tests.bot.harness import Bot
from tests.fakehub.model import FileChange
from tests.gate_e2e.gatehub import REPO, review, run_on

CONFIG = ".github/reviewgate.yml"
ON_MAIN = "approvals:\n  required: 1\n"
CLEAN = "def total(values):\n    return sum(values)\n"


def _open(bot: Bot, new_config: str) -> str:
    hub = bot.hub
    hub.add_repo(REPO, default_branch="main", installation_id=42)
    hub.set_file(REPO, "main", CONFIG, ON_MAIN)
    for login in ("alice", "bob"):
        hub.add_collaborator(REPO, login, "write")
    head = hub.add_pull(REPO, 7, author="alice", files=[
        FileChange(CONFIG, before=ON_MAIN, after=new_config),
        FileChange("app/stats.py", before=CLEAN, after=CLEAN + "\n"),
    ]).head_sha
    assert bot.open_pull(REPO, 7).status_code == 202
    bot.wait()
    return head


def test_an_invalid_new_configuration_fails_the_check_on_its_line(bot: Bot) -> None:
    head = _open(bot, "approvals:\n  required: 1\nfindings:\n  on_error: shrug\n")
    review(bot, 7, "bob")  # approved by a peer: only the new file stands in the way
    bot.wait()
    run = run_on(bot, head)
    assert run["conclusion"] == "failure"
    assert run["output"]["title"] == "Blocked: the changed `.github/reviewgate.yml` is invalid"
    summary = run["output"]["summary"]
    assert f"✓ 1 peer approval of the latest commit `{short(head)}`" in summary
    assert "✗ The changed `.github/reviewgate.yml` is invalid" in summary
    assert "findings.on_error" in summary
    (annotation,) = [a for a in run["annotations"] if a["path"] == CONFIG]
    assert annotation["start_line"] == annotation["end_line"] == 4
    assert annotation["annotation_level"] == "failure"
    assert "`findings.on_error` must be one of block, escalate, warn" in annotation["message"]

    # Fixed in the pull request: the check passes (judged by the default branch's file).
    fixed = bot.hub.push(REPO, 7, files=[FileChange(CONFIG, after="findings:\n  on_error: warn\n")])
    assert bot.open_pull(REPO, 7, "synchronize").status_code == 202
    review(bot, 7, "bob")
    bot.wait()
    run = run_on(bot, fixed)
    assert run["conclusion"] == "success", run["output"]["summary"]
    assert not [a for a in run["annotations"] if a["path"] == CONFIG]


def test_a_valid_new_configuration_says_what_it_would_conclude_and_the_old_one_judges(bot: Bot) -> None:
    head = _open(bot, "approvals:\n  required: 2\n")
    review(bot, 7, "bob")
    bot.wait()
    run = run_on(bot, head)
    # Judged by the default branch's file: one approval is enough.
    assert run["conclusion"] == "success", run["output"]["summary"]
    summary = run["output"]["summary"]
    assert (
        "With this policy, this pull request would be: **failure**: Blocked: needs 1 more peer approval on "
        f"{short(head)}"
    ) in summary
    assert "It is evaluated with the version on the default branch" in summary
