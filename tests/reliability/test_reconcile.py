"""Missed webhooks: the reconciler evaluates PRs that have no completed check run and asks
GitHub to redeliver the deliveries that failed."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from bot.jobs.reconcile import due, reconcile
from bot.settings import Settings
from bot.store.db import Delivery
from tests.bot.harness import Bot
from tests.fakehub.model import FileChange
from tests.reliability.conftest import NAIVE, OLD, REPO
from tests.reliability.helpers import wait_for


def test_drill_a_pr_whose_webhook_never_arrived_gets_its_check_run_after_one_pass(bot: Bot) -> None:
    done = bot.hub.add_pull(REPO, number=6, author="alice", files=[FileChange("app/a.py", before=OLD, after=OLD + "X = 1\n")])
    bot.open_pull(REPO, 6)
    bot.wait(60)
    # PR 7's `opened` delivery never reached us.
    missed = bot.hub.add_pull(REPO, number=7, author="alice", files=[FileChange("app/clock.py", before=OLD, after=NAIVE)])
    assert bot.hub.check_runs(REPO, missed.head_sha) == []
    bot.hub.clear_log()
    runs_before = bot.metric("reviewgate_reconcile_runs_total", outcome="ok")

    result = reconcile(bot.runtime)
    bot.wait(60)

    assert result.evaluations == [(REPO, 7)]
    run = bot.latest_run(REPO, missed.head_sha)
    assert (run["status"], run["conclusion"]) == ("completed", "failure")
    assert [a["title"].split()[0] for a in run["annotations"]] == ["RG101"]
    assert len(bot.hub.check_runs(REPO, done.head_sha)) == 1  # PR 6 had its run: left alone
    assert bot.metric("reviewgate_reconcile_runs_total", outcome="ok") == runs_before + 1
    assert bot.metric("reviewgate_reconcile_repairs_total", kind="evaluation") >= 1
    # A second pass finds nothing to repair.
    assert reconcile(bot.runtime).evaluations == []


def test_failed_deliveries_of_the_last_hours_are_redelivered_once(bot: Bot) -> None:
    bot.hub.webhook_url = f"{bot.url}/webhook"
    pr = bot.hub.add_pull(REPO, number=8, author="alice", files=[FileChange("app/clock.py", before=OLD, after=NAIVE)])
    payload = bot.pull_request_payload(REPO, 8, "opened")
    failed = bot.hub.add_delivery("pull_request", payload, status_code=502)
    recovered = bot.hub.add_delivery("pull_request", payload, status_code=502, guid="0000-recovered")
    bot.hub.add_delivery("pull_request", payload, status_code=200, guid="0000-recovered")
    old = bot.hub.add_delivery("pull_request", payload, status_code=502, delivered_at=time.time() - 7 * 3600)
    bot.start()

    result = reconcile(bot.runtime)

    # (a connection error may make the client repeat the request: harmless, the GUID is the same)
    assert set(bot.hub.redelivery_requests) == {failed}
    assert recovered not in bot.hub.redelivery_requests and old not in bot.hub.redelivery_requests
    guid = next(d["guid"] for d in bot.hub.deliveries() if d["id"] == failed)
    assert result.redelivered == [guid]

    def recorded() -> bool:
        with bot.runtime.db.session() as session:
            return session.get(Delivery, guid) is not None

    wait_for(recorded, what="the redelivered webhook")
    bot.wait(60)
    assert bot.latest_run(REPO, pr.head_sha)["conclusion"] == "failure"
    # Recorded now: a later pass does not ask again, even though GitHub lists the failure.
    asked = len(bot.hub.redelivery_requests)
    assert reconcile(bot.runtime).redelivered == []
    assert len(bot.hub.redelivery_requests) == asked


def test_the_periodic_task_runs_a_pass_once_the_process_has_been_up_one_interval(bot: Bot) -> None:
    missed = bot.hub.add_pull(REPO, number=9, author="alice", files=[FileChange("app/clock.py", before=OLD, after=NAIVE)])
    reconcile_periodically = bot.queue.reconcile_periodically
    reconcile_periodically.call_local()  # just started: recovery at start-up covers this
    assert not bot.hub.requests
    bot.runtime.started -= bot.runtime.settings.reconcile_seconds
    reconcile_periodically.call_local()
    bot.wait(60)
    assert bot.latest_run(REPO, missed.head_sha)["conclusion"] == "failure"


def test_the_pass_is_a_huey_periodic_task_on_the_configured_interval(bot: Bot) -> None:
    huey, reconcile_periodically = bot.queue.huey, bot.queue.reconcile_periodically
    assert reconcile_periodically.task_class in huey._registry._periodic_tasks
    every_ten = Settings(reconcile_seconds=600)
    ticks = [due(every_ten, datetime(2026, 1, 1, 12, minute, tzinfo=UTC)) for minute in range(60)]
    assert [m for m, t in enumerate(ticks) if t] == [0, 10, 20, 30, 40, 50]
    every_minute = Settings(reconcile_seconds=30)
    assert all(due(every_minute, datetime(2026, 1, 1, 12, m, tzinfo=UTC)) for m in range(60))
    assert Settings().reconcile_seconds == 600
