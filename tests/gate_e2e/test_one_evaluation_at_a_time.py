"""An older evaluation never publishes over a newer one: one evaluation of a PR at a time.

Without it, an evaluation that gathered its facts before a `/gate hold` (or a dismissal, a
push...) and was slow to publish could land its green check after the newer, red one: the
gate would fail open.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.store.db import HoldRecord
from tests.bot.harness import Bot
from tests.fakehub.model import FileChange
from tests.gate_e2e.gatehub import REPO, comment, review, run_on


def _until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_slow_evaluation_does_not_publish_its_older_verdict_over_a_hold(bot: Bot) -> None:
    hub = bot.hub
    hub.add_repo(REPO, default_branch="main", installation_id=42)
    hub.add_collaborator(REPO, "bob", "write")
    hub.add_collaborator(REPO, "mia", "maintain")
    head = hub.add_pull(REPO, 7, author="alice", files=[FileChange("app/m.py", status="added", after="X = 1\n")]).head_sha
    bot.open_pull(REPO, 7)
    review(bot, 7, "bob")
    bot.wait()
    assert run_on(bot, head)["conclusion"] == "success"

    # The next evaluation decides "success" and is then slow to say so on GitHub.
    hub.fail("PATCH", r"/check-runs/\d+$", None, times=1, delay=3.0)
    review(bot, 7, "bob")  # another approval: an evaluation that will pass
    _until(lambda: any(r.method == "PATCH" and r.status == 0 for r in hub.requests))  # publishing
    comment(bot, 7, "mia", "/gate hold the migration is not deployed")
    bot.wait(timeout=60)
    # Settled by the counters; the slow request may still be on its way: wait for its answer.
    _until(lambda: all(r.status for r in hub.requests))
    bot.wait(timeout=60)
    with bot.runtime.db.session() as session:
        assert session.get(HoldRecord, (REPO, 7)) is not None
    run = run_on(bot, head)
    assert run["conclusion"] == "failure", run["output"]["title"]
    assert run["output"]["title"] == "Blocked: on hold by @mia"
