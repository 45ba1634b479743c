"""An older evaluation never publishes over a newer one: one evaluation of a PR at a time.

Without it, an evaluation that gathered its facts before a `/gate hold` (or a dismissal, a
push...) and was slow to publish could land its green check after the newer, red one: the
gate would fail open.
"""

from __future__ import annotations

import threading
import time

from bot.store.db import HoldRecord
from tests.bot.harness import Bot
from tests.fakehub.model import FileChange
from tests.gate_e2e.gatehub import REPO, comment, review, run_on


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
    time.sleep(0.5)  # it has gathered its facts and is publishing
    held = threading.Event()

    def hold() -> None:
        comment(bot, 7, "mia", "/gate hold the migration is not deployed")
        held.set()

    threading.Thread(target=hold).start()
    assert held.wait(10)
    bot.wait(timeout=60)
    # Settled by the counters; the slow request may still be on its way: wait for its answer.
    deadline = time.monotonic() + 10
    while any(r.status == 0 for r in hub.requests) and time.monotonic() < deadline:
        time.sleep(0.05)
    bot.wait(timeout=60)
    with bot.runtime.db.session() as session:
        assert session.get(HoldRecord, (REPO, 7)) is not None
    run = run_on(bot, head)
    assert run["conclusion"] == "failure", run["output"]["title"]
    assert run["output"]["title"] == "Blocked: on hold by @mia"
