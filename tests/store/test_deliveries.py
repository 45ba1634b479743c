"""Recording deliveries from several web processes at once, on SQLite and PostgreSQL."""

from __future__ import annotations

import dataclasses
import itertools
import logging
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from bot.store.db import Database, Delivery, HeadPush, PullState
from bot.store.deliveries import DeliveryLog, Incoming
from bot.store.pull_state import PullRef
from tests.servers import Servers

BOUNDED = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure is reproducible in CI
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


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


# --- the one-statement path (PostgreSQL) against the statement path, batch by batch ---------

_PRS = [("o/a", 1), ("o/a", 2), ("o/b", 1)]


@st.composite
def _incoming(draw: st.DrawFn) -> Incoming:
    """A delivery from a small pool of GUIDs (so redeliveries and duplicates within a batch
    happen), concerning zero, one or two PRs of a small pool, pushed or not."""
    pulls = tuple(
        PullRef(repo, number, draw(st.sampled_from([7, 8])), draw(st.sampled_from(["a" * 40, "b" * 40, None])))
        for repo, number in draw(st.lists(st.sampled_from(_PRS), max_size=2))
    )
    pushed = bool(pulls) and pulls[0].head_sha is not None and draw(st.booleans())
    return Incoming(
        guid=f"g{draw(st.integers(0, 11))}", event="pull_request", action=draw(st.sampled_from(["synchronize", None])),
        outcome=draw(st.sampled_from(["queued", "ignored"])), trigger=draw(st.sampled_from(["pull_request.x", "y"])),
        repo=pulls[0].repo if pulls else None, installation_id=7, pulls=pulls,
        pusher=draw(st.sampled_from(["alice", "bob"])) if pushed else None,
    )


# A step: a batch, a job starting on a PR (it takes every event so far), or a delivery whose
# enqueue failed (recorded again when redelivered).
_STEPS = st.lists(
    st.one_of(
        st.tuples(st.just("batch"), st.lists(_incoming(), min_size=1, max_size=6)),
        st.tuples(st.just("start"), st.sampled_from(_PRS)),
        st.tuples(st.just("enqueue-failed"), st.integers(0, 11)),
    ),
    max_size=8,
)


def _rows(db: Database, space: str) -> tuple[list[tuple[object, ...]], ...]:
    with db.engine.connect() as conn:
        deliveries = conn.execute(
            select(Delivery.guid, Delivery.event, Delivery.action, Delivery.repo, Delivery.pr,
                   Delivery.installation_id, Delivery.outcome).where(Delivery.guid.startswith(space))
            .order_by(Delivery.guid)
        ).all()
        states = conn.execute(
            select(PullState.repo, PullState.number, PullState.installation_id, PullState.wanted_seq,
                   PullState.queued_seq, PullState.started_seq, PullState.head_sha, PullState.trigger)
            # The statement path also creates an empty row for a PR that only a redelivery names.
            .where(PullState.repo.startswith(space), PullState.wanted_seq > 0)
            .order_by(PullState.repo, PullState.number)
        ).all()
        pushes = conn.execute(
            select(HeadPush.repo, HeadPush.number, HeadPush.head_sha, HeadPush.pusher, HeadPush.action)
            .where(HeadPush.repo.startswith(space)).order_by(HeadPush.repo, HeadPush.number, HeadPush.head_sha,
                                                             HeadPush.pusher)
        ).all()
    return [tuple(r) for r in deliveries], [tuple(r) for r in states], [tuple(r) for r in pushes]


def _in(space: str, item: Incoming) -> Incoming:
    """The delivery in a namespace of its own (GUIDs and repositories), one per example."""
    pulls = tuple(dataclasses.replace(ref, repo=space + ref.repo) for ref in item.pulls)
    return dataclasses.replace(item, guid=space + item.guid, repo=pulls[0].repo if pulls else None, pulls=pulls)


def test_one_statement_batches_record_what_the_statement_path_records(servers: Servers) -> None:
    """The same steps on two databases, one recording each batch in one statement and the other
    statement by statement: every delivery gets the same answer (duplicate or not, which
    outcome it first had, which job to queue), and the tables end the same."""
    fast_db, reference_db = Database(servers.database_url()), Database(servers.database_url())
    fast, reference = DeliveryLog(fast_db), DeliveryLog(reference_db, one_statement=False)
    examples = itertools.count()

    @BOUNDED
    @given(_STEPS)
    def check(steps: list[tuple[str, Any]]) -> None:
        space = f"x{next(examples)}-"
        for kind, arg in steps:
            for log, db in ((fast, fast_db), (reference, reference_db)):
                if kind == "start":
                    with db.session() as session:
                        state = session.get(PullState, (space + arg[0], arg[1]))
                        if state is not None:
                            state.started_seq = state.wanted_seq
                elif kind == "enqueue-failed":
                    log.mark(f"{space}g{arg}", "enqueue-failed")
            if kind == "batch":
                items = [_in(space, item) for item in arg]
                got, expected = (log.write_batch(items) for log in (fast, reference))
                assert got == expected, (items, got, expected)
        assert _rows(fast_db, space) == _rows(reference_db, space)

    try:
        check()
    finally:
        for log in (fast, reference):
            log.close()
        fast_db.dispose()
        reference_db.dispose()
