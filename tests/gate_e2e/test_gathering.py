"""What one evaluation asks GitHub for: every page of reviews, each permission once."""

from __future__ import annotations

from tests.bot.harness import Bot
from tests.fakehub.model import FileChange
from tests.gate_e2e.gatehub import REPO, run_on, send_review


def test_reviews_are_read_on_every_page_and_permissions_once_per_evaluation(bot: Bot) -> None:
    hub = bot.hub
    hub.add_repo(REPO, default_branch="main", installation_id=42)
    hub.add_collaborator(REPO, "bob", "write")
    head = hub.add_pull(REPO, 7, author="alice", files=[FileChange("a.py", status="added", after="X = 1\n")]).head_sha
    for i in range(120):
        hub.add_review(REPO, 7, user="bob", state="COMMENTED", body=f"note {i}")
    approval = hub.add_review(REPO, 7, user="bob", state="APPROVED")  # on the second page
    hub.clear_log()
    send_review(bot, 7, approval, "submitted")
    bot.wait()
    assert run_on(bot, head)["conclusion"] == "success"
    pages = [r.query.get("page") for r in hub.requests_to("GET", r"/pulls/7/reviews$")]
    assert len(pages) == 2
    assert len(hub.requests_to("GET", r"/collaborators/bob/permission$")) == 1


def test_an_approval_carries_over_a_commit_that_leaves_the_change_identical(bot: Bot) -> None:
    from tests.gate_e2e.gatehub import review

    hub = bot.hub
    hub.add_repo(REPO, default_branch="main", installation_id=42)
    hub.add_collaborator(REPO, "bob", "write")
    first = hub.add_pull(REPO, 7, author="alice", files=[FileChange("a.py", status="added", after="X = 1\n")]).head_sha
    review(bot, 7, "bob")
    bot.wait()
    assert run_on(bot, first)["conclusion"] == "success"

    # A new head whose diff against the base is the same (as after a rebase): still approved.
    same = hub.push(REPO, 7, files=[])
    bot.open_pull(REPO, 7, "synchronize")
    bot.wait()
    run = run_on(bot, same)
    assert run["conclusion"] == "success"
    assert "carried over: the PR's changes at" in run["output"]["summary"]

    # A head that changes the diff: the approval is stale.
    changed = hub.push(REPO, 7, files=[FileChange("a.py", after="X = 2\n")])
    bot.open_pull(REPO, 7, "synchronize")
    bot.wait()
    assert run_on(bot, changed)["conclusion"] == "failure"
