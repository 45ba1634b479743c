"""The sticky comment says what the check says: a waiver or a hold that changes the verdict's
text edits it, a new commit with the same verdict does not."""

from __future__ import annotations

from tests.bot.harness import NO_APPROVALS, Bot
from tests.fakehub.model import FileChange
from tests.gate_e2e.gatehub import REPO, comment, review
from tests.gate_e2e.test_acceptance import AFTER, BEFORE


def _sticky(bot: Bot) -> tuple[str, int]:
    login = bot.hub.shapes.bot_login()
    (found,) = [c for c in bot.hub.comments(REPO, 7) if c["user"]["login"] == login and "reviewgate:sticky" in c["body"]]
    return found["body"], found["id"]


def _comment_edits(bot: Bot) -> int:
    return sum(1 for r in bot.hub.requests if r.method == "PATCH" and "/issues/comments/" in r.path)


def test_a_waiver_of_one_of_two_codes_shows_in_the_sticky_comment(bot: Bot) -> None:
    hub = bot.hub
    hub.add_repo(REPO, default_branch="main", installation_id=42)
    hub.add_collaborator(REPO, "bob", "write")
    hub.add_pull(REPO, 7, author="alice", files=[FileChange("app/models.py", before=BEFORE, after=AFTER)])
    bot.open_pull(REPO, 7)
    review(bot, 7, "bob")
    bot.wait()
    body, first_id = _sticky(bot)
    assert "1 time and 1 storage findings not waived" in body

    comment(bot, 7, "bob", "/gate waive RG201 the caller retries and logs")
    bot.wait()
    body, same_id = _sticky(bot)
    assert same_id == first_id  # edited in place
    assert "1 time finding not waived" in body
    assert "- `RG201` by @bob: the caller retries and logs" in body



def test_a_new_commit_with_the_same_verdict_leaves_the_sticky_comment_alone(bot: Bot) -> None:
    hub = bot.hub
    hub.add_repo(REPO, default_branch="main", installation_id=42)
    hub.set_file(REPO, "main", ".github/reviewgate.yml", NO_APPROVALS)
    hub.add_pull(REPO, 7, author="alice", files=[FileChange("app/models.py", before=BEFORE, after=AFTER)])
    bot.open_pull(REPO, 7)
    bot.wait()
    body, _ = _sticky(bot)
    assert "1 time and 1 storage findings not waived" in body
    edits = _comment_edits(bot)
    hub.push(REPO, 7, files=[FileChange("app/models.py", before=BEFORE, after=AFTER + "\n# a comment\n")])
    bot.open_pull(REPO, 7, "synchronize")
    bot.wait()
    assert _comment_edits(bot) == edits
