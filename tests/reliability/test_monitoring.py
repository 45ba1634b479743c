"""/metrics exposes what an operator alerts on; /readyz fails when the database or queue is gone."""

from __future__ import annotations

import requests
from sqlalchemy import create_engine, make_url, text

from bot.jobs.reconcile import reconcile
from tests.bot.harness import SCALE_OUT, Bot
from tests.fakehub.model import FileChange
from tests.reliability.conftest import NAIVE, OLD, REPO
from tests.reliability.helpers import metrics, parse_metrics


def test_metrics_after_a_run(bot: Bot) -> None:
    head = bot.hub.add_pull(REPO, number=7, author="alice", files=[FileChange("app/clock.py", before=OLD, after=NAIVE)]).head_sha
    bot.open_pull(REPO, 7)
    bot.post("pull_request", b"{", secret="wrong")
    bot.wait(60)
    reconcile(bot.runtime)
    assert bot.latest_run(REPO, head)["status"] == "completed"

    # The app's own, and each worker's (on PostgreSQL + Redis the jobs run in those).
    web, *workers = [parse_metrics(text) for text in bot.metrics_texts()]
    found = web | {key: value for worker in workers for key, value in worker.items() if key not in web}
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
    remaining = [v for each in (web, *workers) for (name, _), v in each.items()
                 if name == "reviewgate_github_rate_limit_remaining"]
    assert remaining and all(0 < v <= 5000 for v in remaining)


def test_owed_evaluations_and_their_age_show_a_stopped_consumer(bot: Bot) -> None:
    bot.hub.add_pull(REPO, number=7, author="alice", files=[FileChange("app/clock.py", before=OLD, after=NAIVE)])
    bot.open_pull(REPO, 7)  # no consumer runs: the job waits
    found = metrics(bot.url)
    assert found[("reviewgate_owed_evaluations", ())] == 1
    assert found[("reviewgate_queue_depth", ())] == 1
    assert found[("reviewgate_oldest_owed_seconds", ())] >= 0


def test_readyz_fails_when_the_database_is_unreachable(bot: Bot, backend: str) -> None:
    assert requests.get(f"{bot.url}/readyz", timeout=10).status_code == 200
    if backend == SCALE_OUT:
        _postgres_refuses_connections(bot)
        return
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


def _postgres_refuses_connections(bot: Bot) -> None:
    """The app's database stops taking connections (its own are ended), then takes them again."""
    url = make_url(str(bot.settings.database_url))
    name = url.database
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false'))
            conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                         {"name": name})
        try:
            response = requests.get(f"{bot.url}/readyz", timeout=10)
            assert response.status_code == 503
            assert "database" in response.json()["problems"]
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true'))
    finally:
        admin.dispose()
    assert requests.get(f"{bot.url}/readyz", timeout=10).status_code == 200
