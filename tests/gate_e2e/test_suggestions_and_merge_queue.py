"""Suggested fixes posted once, and the `reviewgate` check on merge-queue groups."""

from __future__ import annotations

from bot.store.db import MergeGroupRecord, PostedSuggestion
from tests.bot.harness import Bot
from tests.fakehub.model import FileChange
from tests.gate_e2e.gatehub import REPO, comment, merge_group, review, run_on

FIXABLE = (
    "import datetime\nfrom datetime import datetime as DT, timezone\n\n\n"
    "def first():\n    print(datetime.datetime.now())\n\n\n"
    "def second():\n    print(DT.now())\n"
)
# A fix that needs an import elsewhere is not offered: applied alone it would break the file.
NEEDS_IMPORT = "from datetime import datetime\n\n\ndef third():\n    print(datetime.now())\n"
# An unsafe fix is not offered: the attribute is public, and made aware here it would meet
# naive readings elsewhere (`datetime.now() - self.lock_acquisition_time` raises TypeError).
UNSAFE = (
    "from datetime import datetime, timezone\n\n\nclass Lock:\n    def acquire(self):\n"
    "        self.lock_acquisition_time = datetime.now()\n\n    def held_for(self):\n"
    "        return datetime.now() - self.lock_acquisition_time\n"
)


def _repo(bot: Bot) -> None:
    bot.hub.add_repo(REPO, default_branch="main", installation_id=42)
    bot.hub.add_collaborator(REPO, "bob", "write")


def test_safe_fixes_on_changed_lines_are_suggested_once(bot: Bot) -> None:
    _repo(bot)
    head = bot.hub.add_pull(REPO, 7, author="alice", files=[
        FileChange("app/clock.py", status="added", after=FIXABLE),
        FileChange("app/other.py", status="added", after=NEEDS_IMPORT),
        FileChange("app/lock.py", status="added", after=UNSAFE),
    ]).head_sha
    bot.open_pull(REPO, 7)
    bot.wait()
    (posted,) = bot.hub.reviews_posted(REPO, 7)
    assert posted["state"] == "COMMENTED" and posted["commit_id"] == head
    bodies = {(c["path"], c["line"]): c["body"] for c in posted["comments"]}
    assert set(bodies) == {("app/clock.py", 6), ("app/clock.py", 10)}
    assert "```suggestion\n    print(datetime.datetime.now(timezone.utc))\n```" in bodies[("app/clock.py", 6)]
    assert "```suggestion\n    print(DT.now(timezone.utc))\n```" in bodies[("app/clock.py", 10)]
    assert bodies[("app/clock.py", 6)].startswith("**RG101**")

    # Evaluating again, and a new commit that keeps those lines, post nothing new.
    comment(bot, 7, "bob", "/gate recheck")
    bot.wait()
    bot.hub.push(REPO, 7, files=[FileChange("README.md", status="added", after="hi\n")])
    bot.open_pull(REPO, 7, "synchronize")
    bot.wait()
    assert len(bot.hub.reviews_posted(REPO, 7)) == 1

    # A new fixable line gets one new review with only the new suggestion.
    bot.hub.push(REPO, 7, files=[FileChange("app/clock.py", after=FIXABLE + "\n\ndef third():\n    print(DT.now())\n")])
    bot.open_pull(REPO, 7, "synchronize")
    bot.wait()
    reviews = bot.hub.reviews_posted(REPO, 7)
    assert len(reviews) == 2
    assert [(c["path"], c["line"]) for c in reviews[1]["comments"]] == [("app/clock.py", 14)]
    with bot.runtime.db.session() as session:
        assert session.query(PostedSuggestion).count() == 3


def test_suggestions_can_be_turned_off(bot: Bot) -> None:
    _repo(bot)
    bot.hub.set_file(REPO, "main", ".github/reviewgate.yml", "suggestions: false\n")
    bot.hub.add_pull(REPO, 7, author="alice", files=[FileChange("app/clock.py", status="added", after=FIXABLE)])
    bot.open_pull(REPO, 7)
    bot.wait()
    assert bot.hub.reviews_posted(REPO, 7) == []


def _queue_branch(bot: Bot, number: int, built_on: str) -> str:
    """A merge-queue branch commit on fakehub (the group's head)."""
    return bot.hub.set_file(REPO, f"gh-readonly-queue/main/pr-{number}-{built_on}", "queued.txt", f"{number}\n")


def test_a_merge_group_passes_only_if_every_pull_request_in_it_passes_its_gate(bot: Bot) -> None:
    _repo(bot)
    for number in (7, 8, 9):
        bot.hub.add_pull(REPO, number, author="alice", files=[FileChange(f"app/m{number}.py", status="added", after="X = 1\n")])
    review(bot, 7, "bob")
    review(bot, 8, "bob")  # 9 has no approval
    bot.wait()
    tip = bot.hub.repo(REPO).branches["main"]

    # First in the queue: built on the base branch's tip, holds #7 only.
    first = _queue_branch(bot, 7, tip)
    response = merge_group(bot, first, f"refs/heads/gh-readonly-queue/main/pr-7-{tip}", tip)
    assert response.status_code == 202
    bot.wait()
    run = run_on(bot, first)
    assert run["conclusion"] == "success", run["output"]
    assert run["output"]["title"] == "Passed: 1 pull request pass their gates"

    # Queued behind it: holds #7 and #8, both pass at their own heads.
    second = _queue_branch(bot, 8, first)
    merge_group(bot, second, f"refs/heads/gh-readonly-queue/main/pr-8-{first}", first)
    bot.wait()
    run = run_on(bot, second)
    assert run["conclusion"] == "success"
    assert "| #7 |" in run["output"]["summary"] and "| #8 |" in run["output"]["summary"]

    # #9 is not approved: its group fails and says which pull request blocks it.
    third = _queue_branch(bot, 9, second)
    merge_group(bot, third, f"refs/heads/gh-readonly-queue/main/pr-9-{second}", second)
    bot.wait()
    run = run_on(bot, third)
    assert run["conclusion"] == "failure"
    assert run["output"]["title"] == "Blocked: #9 does not pass its gate"
    assert "✗ Blocked: needs 1 peer approval" in run["output"]["summary"]
    with bot.runtime.db.session() as session:
        groups = {r.head_sha: (r.pulls, r.conclusion) for r in session.query(MergeGroupRecord)}
    assert groups[third] == ("[7, 8, 9]", "failure")

    # Once #9 is approved, GitHub's Re-run (or the Re-check button) on the group's check passes.
    review(bot, 9, "bob")
    bot.wait()
    from tests.gate_e2e.gatehub import press_recheck

    assert press_recheck(bot, run, []).status_code == 202
    bot.wait()
    assert run_on(bot, third)["conclusion"] == "success"


def test_a_merge_group_on_an_unknown_base_fails_closed(bot: Bot) -> None:
    _repo(bot)
    bot.hub.add_pull(REPO, 7, author="alice", files=[FileChange("app/m.py", status="added", after="X = 1\n")])
    unknown = "e" * 40
    head = _queue_branch(bot, 7, unknown)
    merge_group(bot, head, f"refs/heads/gh-readonly-queue/main/pr-7-{unknown}", unknown)
    bot.wait()
    run = run_on(bot, head)
    assert run["conclusion"] == "failure"
    assert "pull requests ahead of #7 in the queue are unknown" in run["output"]["title"]
