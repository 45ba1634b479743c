"""/metrics exposes what an operator alerts on; /readyz fails when the database or queue is gone."""

from __future__ import annotations

import requests

from bot.jobs.reconcile import reconcile
from tests.bot.harness import Bot
from tests.fakehub.model import FileChange
from tests.reliability.conftest import NAIVE, OLD, REPO
from tests.reliability.helpers import metrics


def test_metrics_after_a_run(bot: Bot) -> None:
    head = bot.hub.add_pull(REPO, number=7, author="alice", files=[FileChange("app/clock.py", before=OLD, after=NAIVE)]).head_sha
    bot.open_pull(REPO, 7)
    bot.post("pull_request", b"{", secret="wrong")
    bot.wait(60)
    reconcile(bot.runtime)
    assert bot.latest_run(REPO, head)["status"] == "completed"

    found = metrics(bot.url)
    names = {name for name, _ in found}
    for name in (
        "reviewgate_deliveries_total", "reviewgate_jobs_total", "reviewgate_evaluation_seconds_bucket",
        "reviewgate_evaluation_seconds_count", "reviewgate_github_requests_total", "reviewgate_queue_depth",
        "reviewgate_queue_scheduled", "reviewgate_owed_evaluations", "reviewgate_oldest_owed_seconds",
        "reviewgate_github_rate_limit_remaining", "reviewgate_reconcile_runs_total",
    ):
        assert name in names, name
    labels = {(name, lab) for name, lab in found}
    assert ("reviewgate_deliveries_total", (("event", "pull_request"), ("outcome", "queued"))) in labels
    assert ("reviewgate_deliveries_total", (("event", "other"), ("outcome", "bad signature"))) in labels
    assert found[("reviewgate_owed_evaluations", ())] == 0
    assert found[("reviewgate_oldest_owed_seconds", ())] == 0
    remaining = [v for (name, lab), v in found.items() if name == "reviewgate_github_rate_limit_remaining"]
    assert remaining and all(0 < v <= 5000 for v in remaining)


def test_owed_evaluations_and_their_age_show_a_stopped_consumer(bot: Bot) -> None:
    bot.hub.add_pull(REPO, number=7, author="alice", files=[FileChange("app/clock.py", before=OLD, after=NAIVE)])
    bot.open_pull(REPO, 7)  # no consumer runs: the job waits
    found = metrics(bot.url)
    assert found[("reviewgate_owed_evaluations", ())] == 1
    assert found[("reviewgate_queue_depth", ())] == 1
    assert found[("reviewgate_oldest_owed_seconds", ())] >= 0


def test_readyz_fails_when_the_database_is_unreachable(bot: Bot) -> None:
    assert requests.get(f"{bot.url}/readyz", timeout=10).status_code == 200
    db_file = bot.settings.sqlite_path
    bot.runtime.db.dispose()
    moved = db_file.with_suffix(".moved")
    db_file.rename(moved)
    db_file.mkdir()  # a directory where the database file was: no connection can open it
    try:
        response = requests.get(f"{bot.url}/readyz", timeout=10)
        assert response.status_code == 503
        assert "database" in response.json()["problems"]
    finally:
        db_file.rmdir()
        moved.rename(db_file)
        bot.runtime.db.dispose()
    assert requests.get(f"{bot.url}/readyz", timeout=10).status_code == 200
