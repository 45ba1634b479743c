"""Durable recording of webhook deliveries, with group commit.

Each delivery must be on disk (fsync) before GitHub gets its 2xx, and SQLite allows one
writer at a time: one transaction per request would cap acknowledgements at one fsync each,
and 20 concurrent senders would queue behind each other. A single writer thread instead
takes every delivery waiting at that moment and records them in one transaction, so one
fsync acknowledges the whole batch.

What is recorded, per delivery: the GUID (redeliveries are recognised), the event, the
outcome; and for each PR it concerns, a bump of the PR's `wanted_seq`. That bump is the
durable promise of an evaluation: the queue may lose a job in a crash, the database then
still says the evaluation is owed (see `bot.tasks.recover_pending`).
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select, tuple_, update

from bot.db import Database, Delivery, PullState, utcnow

log = logging.getLogger(__name__)

MAX_BATCH = 256


@dataclass(frozen=True)
class PullRef:
    repo: str
    number: int
    installation_id: int
    head_sha: str | None


@dataclass(frozen=True)
class Incoming:
    guid: str
    event: str
    action: str | None
    outcome: str
    trigger: str = ""
    repo: str | None = None
    installation_id: int | None = None
    pulls: tuple[PullRef, ...] = ()
    # Extra bookkeeping to run in the same transaction (installation events).
    extra: Callable[[Connection], None] | None = None


@dataclass(frozen=True)
class Recorded:
    duplicate: bool
    first_outcome: str | None = None
    # Per PR of the delivery: the seq of a job to queue now, or None when one is waiting.
    to_queue: tuple[int | None, ...] = ()


@dataclass
class _Pending:
    incoming: Incoming
    future: Future[Recorded] = field(default_factory=Future)


class DeliveryLog:
    def __init__(self, db: Database) -> None:
        self.db = db
        self._queue: queue.Queue[_Pending] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def record(self, incoming: Incoming, timeout: float = 30.0) -> Recorded:
        """Blocks until the delivery is committed; raises if it could not be."""
        pending = _Pending(incoming)
        self._ensure_writer()
        self._queue.put(pending)
        try:
            return pending.future.result(timeout)
        except TimeoutError:
            if pending.future.cancel():
                raise  # never written: the caller answers 503 and GitHub may redeliver
            # The writer has it in a transaction already: its outcome is the answer.
            return pending.future.result()

    def mark(self, guid: str, outcome: str) -> None:
        with self.db.session() as session:
            row = session.get(Delivery, guid)
            if row is not None:
                row.outcome = outcome

    def unqueue(self, refs: tuple[PullRef, ...]) -> None:
        """The job was not queued after all: let the next event queue one."""
        with self.db.session() as session:
            for ref in refs:
                state = session.get(PullState, (ref.repo, ref.number), with_for_update=True)
                if state is not None:
                    state.queued_seq = state.started_seq

    def _ensure_writer(self) -> None:
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="delivery-writer", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            # A request that stopped waiting has cancelled its delivery; the rest can no
            # longer be cancelled, so whatever happens to them is what their requests answer.
            batch = [p for p in batch if p.future.set_running_or_notify_cancel()]
            if not batch:
                continue
            try:
                results = self._write(batch)
            except Exception:
                # One bad delivery must not fail the others of its batch: write them alone.
                log.exception("recording a batch of %d deliveries failed; retrying one by one", len(batch))
                for pending in batch:
                    try:
                        (result,) = self._write([pending])
                    except Exception as exc:
                        pending.future.set_exception(exc)
                    else:
                        pending.future.set_result(result)
                continue
            for pending, result in zip(batch, results, strict=True):
                pending.future.set_result(result)

    def _write(self, batch: list[_Pending]) -> list[Recorded]:
        # SQLAlchemy Core, a fixed handful of statements per batch: under load the writer
        # competes for the interpreter with every request thread, so its work must be small.
        results: list[Recorded] = []
        now = utcnow()
        with self.db.engine.begin() as conn:
            guids = {p.incoming.guid for p in batch}
            known: dict[str, str] = {
                guid: outcome
                for guid, outcome in conn.execute(
                    select(Delivery.guid, Delivery.outcome).where(Delivery.guid.in_(guids))
                )
            }
            keys = {(ref.repo, ref.number) for p in batch for ref in p.incoming.pulls}
            states: dict[tuple[str, int], dict[str, Any]] = {}
            if keys:
                # FOR UPDATE: on PostgreSQL several web processes may bump the same PR.
                rows = conn.execute(
                    select(PullState)
                    .where(tuple_(PullState.repo, PullState.number).in_(keys))
                    .with_for_update()
                )
                states = {(r.repo, r.number): dict(r._mapping) for r in rows}
            existing = set(states)
            inserts: list[dict[str, Any]] = []
            retried: list[dict[str, Any]] = []
            for pending in batch:
                item = pending.incoming
                seen = known.get(item.guid)
                if seen is not None and seen != "enqueue-failed":
                    # A redelivery: GitHub already had our answer once; do not act twice.
                    results.append(Recorded(duplicate=True, first_outcome=seen))
                    continue
                row = dict(
                    guid=item.guid, event=item.event, action=item.action, repo=item.repo,
                    pr=item.pulls[0].number if item.pulls else None,
                    installation_id=item.installation_id, received_at=now, outcome=item.outcome,
                )
                (inserts if seen is None else retried).append(row)
                known[item.guid] = item.outcome
                if item.extra is not None:
                    item.extra(conn)
                to_queue = tuple(_bump(states, ref, item.trigger, now) for ref in item.pulls)
                results.append(Recorded(duplicate=False, to_queue=to_queue))
            if inserts:
                conn.execute(insert(Delivery), inserts)
            for row in retried:
                conn.execute(update(Delivery).where(Delivery.guid == row["guid"]).values(**row))
            new_states = [v for k, v in states.items() if k not in existing]
            if new_states:
                conn.execute(insert(PullState), new_states)
            changed = [
                {"b_repo": v["repo"], "b_number": v["number"], **{c: v[c] for c in _BUMPED}}
                for k, v in states.items() if k in existing
            ]
            if changed:
                conn.execute(
                    update(PullState)
                    .where(PullState.repo == bindparam("b_repo"), PullState.number == bindparam("b_number"))
                    .values({c: bindparam(c) for c in _BUMPED}),
                    changed,
                )
        return results


_BUMPED = ("wanted_seq", "queued_seq", "installation_id", "head_sha", "trigger", "updated_at")


def _bump(states: dict[tuple[str, int], dict[str, Any]], ref: PullRef, trigger: str, now: datetime) -> int | None:
    state = states.setdefault(
        (ref.repo, ref.number),
        dict(repo=ref.repo, number=ref.number, wanted_seq=0, queued_seq=0, started_seq=0, done_seq=0),
    )
    state["wanted_seq"] += 1
    state.update(installation_id=ref.installation_id, head_sha=ref.head_sha, trigger=trigger, updated_at=now)
    if state["queued_seq"] > state["started_seq"]:
        return None  # a queued job has not started yet; it will take this event too
    state["queued_seq"] = state["wanted_seq"]
    return int(state["wanted_seq"])
