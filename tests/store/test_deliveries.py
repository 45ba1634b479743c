"""Recording deliveries from several web processes at once, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.store.db import Database, Delivery, HeadPush, PullState
from bot.store.deliveries import DeliveryLog, Incoming
from bot.store.pull_state import PullRef
from tests.servers import Servers


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    servers: Servers = request.getfixturevalue("servers")
    return servers.database_url()


def _delivery(number: int, pusher: str) -> Incoming:
    return Incoming(
        guid=str(uuid.uuid4()), event="pull_request", action="synchronize", outcome="queued",
        trigger="pull_request.synchronize", repo="o/r", installation_id=42,
        pulls=(PullRef("o/r", number, 42, "a" * 40),), pusher=pusher,
    )


def _at_once(calls: list[Callable[[], object]]) -> list[object]:
    barrier = threading.Barrier(len(calls))
    results: list[object] = [None] * len(calls)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = calls[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return results


def test_two_web_processes_record_a_new_pull_requests_first_events_at_once(
    url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Each process has its own writer: both may find a PR without a row and create it. The
    second waits for the first and then counts its event on the same row; nothing fails and
    is written again one by one."""
    caplog.set_level(logging.WARNING, logger="bot.store.deliveries")
    first, second = Database(url), Database(url)
    logs = [DeliveryLog(first), DeliveryLog(second)]
    try:
        for number in range(1, 21):
            recorded = _at_once([
                lambda log=log, who=who, number=number: log.record(_delivery(number, who))
                for log, who in ((logs[0], "alice"), (logs[1], "bob"), (logs[0], "carol"), (logs[1], "dave"))
            ])
            # Exactly one job is queued for the PR; the other events wait for it.
            seqs = sorted(r.to_queue[0] or 0 for r in recorded)  # type: ignore[attr-defined]
            assert seqs == [0, 0, 0, 1], (number, seqs)
        with first.engine.connect() as conn:
            states = conn.execute(select(PullState.number, PullState.wanted_seq, PullState.queued_seq)).all()
            assert sorted(tuple(row) for row in states) == [(n, 4, 1) for n in range(1, 21)]
            assert conn.execute(select(func.count()).select_from(Delivery)).scalar() == 80
            assert conn.execute(select(func.count()).select_from(HeadPush)).scalar() == 80
    finally:
        for log in logs:
            log.close()
        first.dispose()
        second.dispose()
    assert not [r.getMessage() for r in caplog.records], "a batch failed and was written again one by one"
