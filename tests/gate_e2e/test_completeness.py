"""A pull request is judged on all of its files or not at all: past GitHub's listing cap the
check fails closed, and an approval carries over only a commit whose change is the same in
every file, its status and its former name included."""

from __future__ import annotations

from tests.bot.harness import Bot
from tests.fakehub.model import FileChange
from tests.gate_e2e.gatehub import REPO, review, run_on

OWNERS = "owners:\n  - paths: ['zz/']\n    users: [olga]\n"


def test_a_pull_request_past_githubs_listing_cap_fails_closed_even_when_approved(bot: Bot) -> None:
    hub = bot.hub
    hub.add_repo(REPO, default_branch="main", installation_id=42)
    hub.add_collaborator(REPO, "bob", "write")
    hub.add_collaborator(REPO, "olga", "write")
    # The owners rule covers a path GitHub lists last (after the cap): it must not be missed
    # by passing the PR without it.
    hub.set_file(REPO, "main", ".github/reviewgate.yml", OWNERS)
    files = [FileChange(f"data/f{i:04}.txt", status="added", after=f"{i}\n") for i in range(3000)]
    files.append(FileChange("zz/late.py", status="added", after="from datetime import datetime\nX = datetime.now()\n"))
    head = hub.add_pull(REPO, 7, author="alice", files=files).head_sha
    review(bot, 7, "bob")
    bot.wait(120)
    run = run_on(bot, head)
    assert run["conclusion"] == "failure"
    assert run["output"]["title"] == (
        "Blocked: too large to evaluate: 3,000 files listed of 3,001; split the pull request"
    )
    assert "split the pull request" in run["output"]["summary"]


def test_an_approval_does_not_carry_over_a_commit_that_renames_another_file(bot: Bot) -> None:
    hub = bot.hub
    hub.add_repo(REPO, default_branch="main", installation_id=42)
    hub.add_collaborator(REPO, "bob", "write")
    same = "VALUE = 1\n"
    hub.set_file(REPO, "main", "keep/a.py", same)
    hub.set_file(REPO, "main", "keep/b.py", same)
    # Commit A moves a.py; bob approves it.
    first = hub.add_pull(REPO, 7, author="alice", files=[
        FileChange("moved.py", status="renamed", previous_path="keep/a.py"),
    ]).head_sha
    review(bot, 7, "bob")
    bot.wait()
    assert run_on(bot, first)["conclusion"] == "success"

    # Commit B puts a.py back and moves b.py instead: the same bytes at the same new path,
    # but the PR now deletes another file.
    second = hub.push(REPO, 7, files=[
        FileChange("keep/a.py", status="renamed", previous_path="moved.py"),
        FileChange("moved.py", status="renamed", previous_path="keep/b.py"),
    ])
    (listed,) = hub.pull_files(REPO, 7)
    assert (listed["filename"], listed["previous_filename"]) == ("moved.py", "keep/b.py")
    bot.open_pull(REPO, 7, "synchronize")
    bot.wait()
    run = run_on(bot, second)
    assert run["conclusion"] == "failure"
    assert "stale: the PR's changes differ" in run["output"]["summary"]
