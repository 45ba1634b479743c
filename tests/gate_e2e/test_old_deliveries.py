"""An old `pull_request` delivery (GitHub's redelivery of an earlier event, with a new GUID,
or an event that arrives after a newer one) never decides what is evaluated: the job reads
the PR's head from GitHub and evaluates that, so the newer commit gets its check run and the
older commit's run is left as it was."""

from __future__ import annotations

from typing import Any

from bot.render import short
from bot.store.db import Evaluation
from tests.bot.harness import NO_APPROVALS, Bot
from tests.fakehub.model import FileChange
from tests.gate_e2e.gatehub import REPO, run_on

CLEAN = "X = 1\n"
NAIVE = "from datetime import datetime\n\nX = 1\nSTAMP = datetime.now()\n"


def _open(bot: Bot) -> str:
    hub = bot.hub
    hub.add_repo(REPO, default_branch="main", installation_id=42)
    hub.set_file(REPO, "main", ".github/reviewgate.yml", NO_APPROVALS)
    return hub.add_pull(REPO, 7, author="alice", files=[FileChange("a.py", status="added", after=CLEAN)]).head_sha


def _runs(bot: Bot, sha: str) -> list[dict[str, Any]]:
    """The commit's runs as the App wrote them (GitHub derives `pull_requests` from the heads)."""
    runs = [r for r in bot.hub.check_runs(REPO, sha) if r["name"] == "reviewgate"]
    return [{k: v for k, v in r.items() if k != "pull_requests"} for r in runs]


def _evaluated_heads(bot: Bot) -> list[str]:
    with bot.runtime.db.session() as session:
        return [e.head_sha for e in session.query(Evaluation).order_by(Evaluation.id)]


def _sticky(bot: Bot) -> str:
    login = bot.hub.shapes.bot_login()
    (body,) = [c["body"] for c in bot.hub.comments(REPO, 7) if c["user"]["login"] == login]
    return body


def test_a_redelivered_old_synchronize_while_the_new_head_waits_does_not_cost_it_its_run(bot: Bot) -> None:
    a = _open(bot)
    old_event = bot.pull_request_payload(REPO, 7, "synchronize")  # names head A
    bot.open_pull(REPO, 7)
    bot.wait()
    a_runs = _runs(bot, a)
    assert [r["conclusion"] for r in a_runs] == ["success"]

    bot.stop()  # the worker is busy elsewhere: B's job waits in the queue
    b = bot.hub.push(REPO, 7, files=[FileChange("a.py", after=NAIVE)])
    assert bot.open_pull(REPO, 7, "synchronize").status_code == 202
    # GitHub redelivers A's old event (a new GUID) before B's job starts.
    assert bot.post("pull_request", old_event).json()["outcome"] == "queued"
    bot.wait()

    run = run_on(bot, b)
    assert run["status"] == "completed"
    assert run["conclusion"] == "failure"
    assert run["output"]["title"].startswith("Blocked: 1 time finding not waived")
    assert _runs(bot, a) == a_runs  # untouched
    assert _evaluated_heads(bot) == [a, b]
    assert f"`{short(b)}`" in _sticky(bot)


def test_a_redelivered_old_synchronize_after_the_new_head_was_evaluated_changes_nothing(bot: Bot) -> None:
    a = _open(bot)
    old_event = bot.pull_request_payload(REPO, 7, "synchronize")
    bot.open_pull(REPO, 7)
    bot.wait()
    b = bot.hub.push(REPO, 7, files=[FileChange("a.py", after=NAIVE)])
    bot.open_pull(REPO, 7, "synchronize")
    bot.wait()
    a_runs, b_run = _runs(bot, a), run_on(bot, b)
    assert b_run["conclusion"] == "failure"

    assert bot.post("pull_request", old_event).json()["outcome"] == "queued"
    bot.wait()

    assert _runs(bot, a) == a_runs
    assert [r["id"] for r in _runs(bot, b)] == [b_run["id"]]
    after = run_on(bot, b)
    assert (after["status"], after["conclusion"], after["output"]["title"]) == (
        "completed", "failure", b_run["output"]["title"]
    )
    assert a not in _evaluated_heads(bot)[1:]  # A was evaluated once, when it was the head
    assert f"`{short(b)}`" in _sticky(bot)


def test_the_newer_head_is_evaluated_when_its_delivery_arrives_before_the_older_one(bot: Bot) -> None:
    a = _open(bot)
    opened = bot.pull_request_payload(REPO, 7, "opened")  # names head A; delayed in transit
    b = bot.hub.push(REPO, 7, files=[FileChange("a.py", after=NAIVE)])
    assert bot.open_pull(REPO, 7, "synchronize").status_code == 202  # B's arrives first
    assert bot.post("pull_request", opened).json()["outcome"] == "queued"
    bot.wait()

    run = run_on(bot, b)
    assert (run["status"], run["conclusion"]) == ("completed", "failure")
    assert _runs(bot, a) == []  # A was never the head when anything was evaluated
    assert _evaluated_heads(bot) == [b]
