"""Commands against the people who can post them: holds belong to whoever placed them, one
comment runs a bounded number of commands, help is not a reply machine, and commands posted at
the same moment on one pull request all take effect, once each."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from bot.store.db import CommandAudit, HoldRecord
from tests.bot.harness import Bot
from tests.fakehub.model import FileChange
from tests.gate_e2e.gatehub import (
    REPO,
    audit,
    comment,
    reactions,
    replies,
    review,
    run_on,
    send_comment,
)

CLEAN = "X = 1\n"
NAIVE = "from datetime import datetime\n\n\ndef stamp():\n    return datetime.now()\n"


def _pull(bot: Bot, after: str = CLEAN) -> str:
    hub = bot.hub
    hub.add_repo(REPO, default_branch="main", installation_id=42)
    hub.add_collaborator(REPO, "alice", "write")  # the author
    hub.add_collaborator(REPO, "bob", "write")
    hub.add_collaborator(REPO, "mia", "maintain")
    hub.add_collaborator(REPO, "max", "maintain")
    hub.add_collaborator(REPO, "ada", "admin")
    hub.add_collaborator(REPO, "rita", "read")
    head = hub.add_pull(REPO, 7, author="alice", files=[FileChange("app/m.py", status="added", after=after)]).head_sha
    bot.open_pull(REPO, 7)
    review(bot, 7, "bob")
    bot.wait()
    return head


def _held_by(bot: Bot) -> str | None:
    with bot.runtime.db.session() as session:
        record = session.get(HoldRecord, (REPO, 7))
        return record.by if record else None


def test_a_hold_is_lifted_only_by_its_placer_or_someone_as_strong_who_is_not_the_author(bot: Bot) -> None:
    head = _pull(bot)
    comment(bot, 7, "mia", "/gate hold waiting for the schema migration")
    bot.wait()
    assert run_on(bot, head)["output"]["title"] == "Blocked: on hold by @mia"

    # The author, though a writer, cannot lift a maintainer's hold...
    by_author, _ = comment(bot, 7, "alice", "/gate unhold")
    bot.wait()
    assert reactions(bot, by_author) == ["confused"]
    assert _held_by(bot) == "mia"
    assert run_on(bot, head)["output"]["title"] == "Blocked: on hold by @mia"
    said = replies(bot, 7)[-1]
    assert "@alice" in said and "author" in said
    assert "@mia or someone with maintain or admin permission who is not the pull request's author" in said

    # ...nor take it over by holding again and then lifting her own hold.
    again, _ = comment(bot, 7, "alice", "/gate hold mine now\n/gate unhold")
    bot.wait()
    assert reactions(bot, again) == ["confused"]
    assert _held_by(bot) == "mia"

    # A writer without the placer's maintain permission cannot either.
    by_writer, _ = comment(bot, 7, "bob", "/gate unhold")
    bot.wait()
    assert reactions(bot, by_writer) == ["confused"]
    assert _held_by(bot) == "mia"
    assert "@bob has write" in replies(bot, 7)[-1]

    # An admin can.
    by_admin, _ = comment(bot, 7, "ada", "/gate unhold")
    bot.wait()
    assert reactions(bot, by_admin) == ["+1"]
    assert _held_by(bot) is None
    assert run_on(bot, head)["conclusion"] == "success"
    assert [(a.actor, a.name, a.outcome) for a in audit(bot)] == [
        ("mia", "hold", "accepted"),
        ("alice", "unhold", "refused"),
        ("alice", "hold", "refused"),
        ("alice", "unhold", "refused"),
        ("bob", "unhold", "refused"),
        ("ada", "unhold", "accepted"),
    ]


def test_an_equal_permission_lifts_a_hold_and_the_placers_permission_is_read_when_lifting(bot: Bot) -> None:
    head = _pull(bot)
    comment(bot, 7, "mia", "/gate hold")
    bot.wait()
    by_peer, _ = comment(bot, 7, "max", "/gate unhold")  # maintain, as mia
    bot.wait()
    assert reactions(bot, by_peer) == ["+1"] and _held_by(bot) is None

    comment(bot, 7, "mia", "/gate hold")
    bot.wait()
    refused, _ = comment(bot, 7, "bob", "/gate unhold")
    bot.wait()
    assert reactions(bot, refused) == ["confused"] and _held_by(bot) == "mia"
    # mia's role drops to write on GitHub: from now on any writer may lift her hold.
    bot.hub.add_collaborator(REPO, "mia", "write")
    lifted, _ = comment(bot, 7, "bob", "/gate unhold")
    bot.wait()
    assert reactions(bot, lifted) == ["+1"] and _held_by(bot) is None
    assert run_on(bot, head)["conclusion"] == "success"


def test_the_author_may_lift_a_hold_they_placed(bot: Bot) -> None:
    head = _pull(bot)
    comment(bot, 7, "alice", "/gate hold let me double-check the config")
    bot.wait()
    assert run_on(bot, head)["output"]["title"] == "Blocked: on hold by @alice"
    lifted, _ = comment(bot, 7, "alice", "/gate unhold")
    bot.wait()
    assert reactions(bot, lifted) == ["+1"]
    assert run_on(bot, head)["conclusion"] == "success"


def test_one_comment_runs_at_most_ten_commands(bot: Bot) -> None:
    head = _pull(bot)
    # Hold, unhold, hold...: the 10th is an unhold; had all 25 run, the last (a hold) would stick.
    lines = ["/gate hold flood" if i % 2 == 0 else "/gate unhold" for i in range(25)]
    flood, _ = comment(bot, 7, "bob", "\n".join(lines))
    bot.wait()
    assert run_on(bot, head)["conclusion"] == "success"
    assert _held_by(bot) is None
    rows = audit(bot)
    assert [(a.position, a.outcome) for a in rows] == [(i, "accepted") for i in range(10)] + [(10, "refused")]
    assert rows[-1].detail == "A comment runs at most 10 commands; this one and the 14 after it were not run."
    assert reactions(bot, flood) == ["+1", "confused"]
    (reply,) = replies(bot, 7)  # accepted holds and unholds say nothing; the rest is one line
    assert reply.count("\n") <= 1 and rows[-1].detail in reply


def test_help_is_answered_at_most_once_a_minute_per_user_and_pull_request(bot: Bot) -> None:
    _pull(bot)
    first, _ = comment(bot, 7, "rita", "/gate help")
    bot.wait()
    second, _ = comment(bot, 7, "rita", "/gate help")
    third, _ = comment(bot, 7, "rita", "/gate explain RG101")
    other, _ = comment(bot, 7, "stranger", "/gate help")
    bot.wait()
    assert reactions(bot, first) == ["+1"]
    assert reactions(bot, second) == ["eyes"] and reactions(bot, third) == ["eyes"]
    assert reactions(bot, other) == ["+1"]  # the limit is per user
    assert len(replies(bot, 7)) == 2
    assert [(a.actor, a.name, a.outcome) for a in audit(bot)] == [
        ("rita", "help", "accepted"), ("rita", "help", "throttled"), ("rita", "explain", "throttled"),
        ("stranger", "help", "accepted"),
    ]


def test_commands_posted_at_the_same_moment_all_take_effect_once(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    head = _pull(bot, NAIVE)
    held = bot.hub.add_comment(REPO, 7, user="mia", body="/gate hold until the release")
    waived = bot.hub.add_comment(REPO, 7, user="max", body="/gate waive RG101 only shown to people")
    # A slow GitHub keeps both jobs in flight at once, whichever worker takes which.
    bot.hub.fail("GET", r"/collaborators/mia/permission$", None, times=2, delay=0.3)
    bot.start()
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def deliver(comment_id: int) -> None:
        barrier.wait()
        statuses.append(send_comment(bot, 7, comment_id, "created").status_code)

    threads = [threading.Thread(target=deliver, args=(c,)) for c in (held, waived)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    delivered = time.monotonic()
    assert statuses == [202, 202]
    title = ""
    while time.monotonic() - delivered < 3:
        title = run_on(bot, head)["output"]["title"]
        if title == "Blocked: on hold by @mia":
            break
        time.sleep(0.05)
    assert title == "Blocked: on hold by @mia"  # held, and the finding waived
    bot.wait()
    with bot.runtime.db.session() as session:
        assert sorted((a.actor, a.name, a.outcome) for a in session.query(CommandAudit)) == [
            ("max", "waive", "accepted"), ("mia", "hold", "accepted"),
        ]
    assert reactions(bot, held) == ["+1"] and reactions(bot, waived) == ["+1"]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "IntegrityError" not in logged and "retries it" not in logged


def test_an_earlier_comment_recorded_while_a_later_one_is_being_applied_goes_first(bot: Bot) -> None:
    head = _pull(bot)
    held = bot.hub.add_comment(REPO, 7, user="mia", body="/gate hold")
    lifted = bot.hub.add_comment(REPO, 7, user="ada", body="/gate unhold")
    # GitHub delivers the later comment first, and is slow to say what ada may do: the hold
    # is recorded in between, and neither its placer's role nor its job was known before.
    bot.hub.fail("GET", r"/collaborators/ada/permission$", None, times=1, delay=0.5)
    bot.stop()
    bot.start(workers=1)  # the earlier comment's own job waits behind the later one's
    assert send_comment(bot, 7, lifted, "created").status_code == 202
    time.sleep(0.2)
    assert send_comment(bot, 7, held, "created").status_code == 202
    bot.wait()
    assert [(a.actor, a.name, a.outcome) for a in audit(bot)] == [("mia", "hold", "accepted"), ("ada", "unhold", "accepted")]
    assert _held_by(bot) is None
    assert run_on(bot, head)["conclusion"] == "success"
    assert reactions(bot, held) == ["+1"] and reactions(bot, lifted) == ["+1"]
