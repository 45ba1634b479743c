"""Whoever pushed or committed last cannot approve their own push: a writer who pushes onto
someone else's pull request needs another reviewer, as GitHub's "require approval of the most
recent reviewable push". Over real HTTP: signed deliveries whose `sender` is the pusher,
fakehub listing the PR's commits with their authors and committers."""

from __future__ import annotations

from bot.render import short
from bot.store.db import HeadPush
from tests.bot.harness import Bot
from tests.fakehub.model import FileChange
from tests.gate_e2e.gatehub import REPO, review, run_on

CLEAN = "def total(values):\n    return sum(values)\n"
PUSHED = CLEAN + "\n\ndef mean(values):\n    return total(values) / len(values)\n"
LATER = PUSHED + "\n\ndef first(values):\n    return values[0]\n"


def _setup(bot: Bot, config: str | None = None) -> str:
    hub = bot.hub
    hub.add_repo(REPO, default_branch="main", installation_id=42)
    if config is not None:
        hub.set_file(REPO, "main", ".github/reviewgate.yml", config)
    for login in ("alice", "mallory", "bob"):
        hub.add_collaborator(REPO, login, "write")
    head = hub.add_pull(REPO, 7, author="alice", files=[FileChange("app/stats.py", before=CLEAN, after=CLEAN + "\n")]).head_sha
    assert bot.open_pull(REPO, 7).status_code == 202
    bot.wait()
    return head


def _commit_listings(bot: Bot) -> int:
    """Listings of the PR's commits that count against the rate limit (a 304 does not)."""
    return len([r for r in bot.hub.requests_to("GET", r"/repos/octo/demo/pulls/7/commits$") if r.status != 304])


def _per_head(bot: Bot, heads: int) -> range:
    """Listings expected for this many heads: once per head in each process that evaluates
    (the answers kept for conditional requests are each process's own)."""
    return range(heads, heads * bot.processes + 1)


def test_a_writer_who_pushed_onto_the_pr_cannot_approve_it_alone(bot: Bot) -> None:
    hub = bot.hub
    _setup(bot)
    # Mallory pushes a commit onto Alice's pull request: GitHub's delivery names her as sender.
    pushed = hub.push(REPO, 7, files=[FileChange("app/stats.py", after=PUSHED)], by="mallory")
    assert bot.open_pull(REPO, 7, "synchronize").status_code == 202
    # The same head pushed again (a force-push back to it) is another delivery for it.
    assert bot.open_pull(REPO, 7, "synchronize").status_code == 202
    bot.wait()
    assert run_on(bot, pushed)["conclusion"] == "failure"
    # Listed beside the other reads, once per head (later evaluations of it get a 304).
    assert _commit_listings(bot) in _per_head(bot, 2)

    # She approves her own push: it does not count, and the check says why.
    review(bot, 7, "mallory")
    bot.wait()
    run = run_on(bot, pushed)
    assert run["conclusion"] == "failure", run["output"]["title"]
    assert run["output"]["title"] == f"Blocked: needs 1 peer approval on {short(pushed)}"
    summary = run["output"]["summary"]
    assert "| @mallory | approved | ✗ not counted: @mallory pushed the latest commit |" in summary
    assert "Someone other than @mallory must approve" in summary
    assert _commit_listings(bot) in _per_head(bot, 2)  # not again for a head already listed

    # A reviewer who neither pushed nor committed approves: it passes.
    review(bot, 7, "bob")
    bot.wait()
    run = run_on(bot, pushed)
    assert run["conclusion"] == "success", run["output"]["summary"]
    assert run["output"]["title"] == f"Passed: approved by @bob on {short(pushed)}"


def test_the_author_of_the_head_commit_cannot_approve_it_even_when_someone_else_pushed(bot: Bot) -> None:
    hub = bot.hub
    _setup(bot)
    # Alice pushes a commit that Mallory wrote; Mallory approves it.
    head = hub.push(REPO, 7, files=[FileChange("app/stats.py", after=PUSHED)], by="alice", author="mallory")
    bot.open_pull(REPO, 7, "synchronize")
    bot.wait()
    review(bot, 7, "mallory")
    bot.wait()
    run = run_on(bot, head)
    assert run["conclusion"] == "failure", run["output"]["title"]
    assert f"| @mallory | approved | ✗ not counted: @mallory authored the latest commit `{short(head)}` |" in (
        run["output"]["summary"]
    )


def test_a_reviewer_who_commits_after_approving_does_not_count(bot: Bot) -> None:
    hub = bot.hub
    # Without dismiss_stale an approval of any commit counts: only the commits after it tell.
    first = _setup(bot, "approvals:\n  dismiss_stale: false\n")
    review(bot, 7, "mallory", commit_id=first)
    bot.wait()
    assert run_on(bot, first)["conclusion"] == "success"

    # Mallory's commit after her approval, pushed by Alice through the web editor.
    mine = hub.push(REPO, 7, files=[FileChange("app/stats.py", after=PUSHED)], by="alice", author="mallory",
                    committer="web-flow")
    head = hub.push(REPO, 7, files=[FileChange("app/stats.py", after=LATER)], by="alice")
    bot.open_pull(REPO, 7, "synchronize")
    bot.wait()
    run = run_on(bot, head)
    assert run["conclusion"] == "failure", run["output"]["title"]
    assert f"| @mallory | approved | ✗ not counted: @mallory authored commit `{short(mine)}` after approving |" in (
        run["output"]["summary"]
    )


def test_a_pr_with_more_commits_than_github_lists_fails_closed(bot: Bot) -> None:
    hub = bot.hub
    _setup(bot)
    for i in range(250):  # 251 commits: GitHub lists 250, the rest could be anyone's
        head = hub.push(REPO, 7, files=[FileChange("app/stats.py", after=f"{CLEAN}\nLIMIT = {i}\n")])
    bot.open_pull(REPO, 7, "synchronize")
    bot.wait()
    review(bot, 7, "bob")
    bot.wait()
    run = run_on(bot, head)
    assert run["conclusion"] == "failure", run["output"]["title"]
    summary = run["output"]["summary"]
    assert "cannot be shown that @bob authored or committed none after approving" in summary
    assert "squash or split this one" in summary
    # Only the first head's (one commit); over 250, listing them could not clear anyone.
    assert _commit_listings(bot) in _per_head(bot, 1)


def test_a_repository_may_let_the_last_pusher_approve(bot: Bot) -> None:
    hub = bot.hub
    _setup(bot, "approvals:\n  last_pusher_counts: true\n")
    pushed = hub.push(REPO, 7, files=[FileChange("app/stats.py", after=PUSHED)], by="mallory")
    bot.open_pull(REPO, 7, "synchronize")
    bot.wait()
    review(bot, 7, "mallory")
    bot.wait()
    run = run_on(bot, pushed)
    assert run["conclusion"] == "success", run["output"]["summary"]
    assert run["output"]["title"] == f"Passed: approved by @mallory on {short(pushed)}"
    # Nothing to judge: the commits are not listed.
    assert not bot.hub.requests_to("GET", r"/repos/octo/demo/pulls/7/commits$")


def test_who_brought_each_head_is_recorded_from_the_events_that_push(bot: Bot) -> None:
    hub = bot.hub
    first = _setup(bot)  # opened by alice
    second = hub.push(REPO, 7, files=[FileChange("app/stats.py", after=PUSHED)], by="mallory")
    guid = "5e1f0000-0000-4000-8000-000000000001"
    assert bot.open_pull(REPO, 7, "synchronize", guid=guid).status_code == 202
    assert bot.open_pull(REPO, 7, "synchronize", guid=guid).json()["outcome"] == "duplicate"
    assert bot.open_pull(REPO, 7, "reopened", sender="bob").status_code == 202
    assert bot.open_pull(REPO, 7, "ready_for_review", sender="carol").status_code == 202
    bot.wait()
    with bot.runtime.db.session() as session:
        rows = sorted((r.head_sha, r.pusher, r.action) for r in session.query(HeadPush).filter_by(repo=REPO, number=7))
    assert rows == sorted([(first, "alice", "opened"), (second, "mallory", "synchronize"), (second, "bob", "reopened")])
