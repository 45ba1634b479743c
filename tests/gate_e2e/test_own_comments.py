"""The bot finds its sticky summary and its command replies by a marker only in comments it
wrote itself: anyone can type the marker, and a stranger's copy must neither break the check
nor stand in for the bot's own comment."""

from __future__ import annotations

from bot.report import REPLY_MARKER, STICKY_MARKER
from bot.store.db import StickyComment
from tests.bot.harness import Bot
from tests.fakehub.model import FileChange
from tests.gate_e2e.gatehub import REPO, comment, reactions, replies, run_on

NAIVE = "from datetime import datetime\n\n\ndef stamp():\n    return datetime.now()\n"


def _repo(bot: Bot) -> None:
    bot.hub.add_repo(REPO, default_branch="main", installation_id=42)
    bot.hub.add_collaborator(REPO, "bob", "write")


def _own(bot: Bot) -> list[dict]:
    login = bot.hub.shapes.bot_login()
    return [c for c in bot.hub.comments(REPO, 7) if c["user"]["login"] == login]


def test_a_strangers_sticky_marker_is_not_taken_for_the_bots_comment(bot: Bot) -> None:
    _repo(bot)
    head = bot.hub.add_pull(REPO, 7, author="alice", files=[FileChange("app/m.py", status="added", after=NAIVE)]).head_sha
    forged = f"{STICKY_MARKER}\n✅ **reviewgate**: Passed, nothing to see here"
    planted = bot.hub.add_comment(REPO, 7, user="mallory", body=forged)

    bot.open_pull(REPO, 7)
    bot.wait()

    run = run_on(bot, head)
    assert run["conclusion"] == "failure"
    assert run["output"]["title"].startswith("Blocked:"), run["output"]["title"]
    (theirs,) = [c for c in bot.hub.comments(REPO, 7) if c["id"] == planted]
    assert theirs["body"] == forged and theirs["user"]["login"] == "mallory"
    (sticky,) = _own(bot)
    assert sticky["body"].startswith(STICKY_MARKER) and "Blocked" in sticky["body"]
    assert sticky["performed_via_github_app"]["id"] == bot.hub.app_id
    with bot.runtime.db.session() as session:
        assert session.get(StickyComment, (REPO, 7)).comment_id == sticky["id"]


def test_the_bots_own_sticky_comment_is_found_again_by_its_login(bot: Bot) -> None:
    """A lost database row: the comment the bot posted earlier is edited, not posted twice,
    also when GitHub leaves `performed_via_github_app` out (the bot's login tells)."""
    _repo(bot)
    bot.hub.add_pull(REPO, 7, author="alice", files=[FileChange("app/m.py", status="added", after=NAIVE)])
    earlier = bot.hub.add_comment(
        REPO, 7, user=bot.hub.shapes.bot_login(), user_type="Bot", body=f"{STICKY_MARKER}\nold summary"
    )
    bot.hub.add_comment(REPO, 7, user="mallory", body=f"{STICKY_MARKER}\nmine")

    bot.open_pull(REPO, 7)
    bot.wait()

    (sticky,) = _own(bot)
    assert sticky["id"] == earlier and "Blocked" in sticky["body"]
    assert len(bot.hub.requests_to("GET", r"^/app$")) == 1


def test_a_strangers_reply_marker_does_not_stop_the_bots_reply(bot: Bot) -> None:
    _repo(bot)
    head = bot.hub.add_pull(REPO, 7, author="alice", files=[FileChange("app/m.py", status="added", after="X = 1\n")]).head_sha
    bot.open_pull(REPO, 7)
    bot.wait()
    bot.stop()
    command, _ = comment(bot, 7, "bob", "/gate hold release freeze\n/gate bogus")
    # Posted before the job runs, pretending to be the reply an earlier attempt made.
    planted = bot.hub.add_comment(REPO, 7, user="mallory", body=REPLY_MARKER.format(comment_id=command) + "\nok")
    bot.hub.strict = False  # the injected 502s are not GitHub's documented answers
    # Every try of the first attempt's reply fails (PyGithub retries twice here): the job is
    # retried, and the retry looks for a reply of its own before posting one.
    bot.hub.fail("POST", r"/issues/7/comments$", 502, times=3)
    bot.wait()

    assert reactions(bot, command) == ["+1", "confused"]
    (reply,) = replies(bot, 7)
    assert reply.startswith(REPLY_MARKER.format(comment_id=command))
    assert "is not a command" in reply
    (theirs,) = [c for c in bot.hub.comments(REPO, 7) if c["id"] == planted]
    assert theirs["user"]["login"] == "mallory"
    assert run_on(bot, head)["output"]["title"].startswith("Blocked: on hold by @bob")
