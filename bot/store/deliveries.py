"""Durable recording of webhook deliveries, with group commit.

Each delivery must be on disk (fsync) before GitHub gets its 2xx, and SQLite allows one
writer at a time: one transaction per request would cap acknowledgements at one fsync each,
and 20 concurrent senders would queue behind each other. A single writer thread instead
takes every delivery waiting at that moment and records them in one transaction, so one
fsync acknowledges the whole batch. On PostgreSQL that transaction is a single statement
(`bot.store.deliveries_pg`): each statement there is a round trip, and under load every round
trip also waits for the interpreter lock.

What is recorded, per delivery: the GUID (redeliveries are recognised), the event, the
outcome; and for each PR it concerns, an owed evaluation (`bot.store.pull_state`): the
queue may lose a job in a crash, the database then still says the evaluation is owed.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, delete, insert, select, tuple_, update

from bot.store import deliveries_pg, pull_state
from bot.store.db import Database, Delivery, HeadPush, utcnow
from bot.store.pull_state import PullRef

log = logging.getLogger(__name__)

MAX_BATCH = 256
# How long a request waits for its delivery to be committed before it answers 503.
RECORD_TIMEOUT = 30.0


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
    # Who brought the head of `pulls[0]` (`HeadPush`): the sender of a push-like delivery.
    pusher: str | None = None
    # Extra bookkeeping to run in the same transaction (installation events).
    extra: Callable[[Connection], None] | None = None


@dataclass(frozen=True)
class Recorded:
    duplicate: bool
    first_outcome: str | None = None
    # Per PR of the delivery: the seq of a job to queue now, or None when one is waiting.
    to_queue: tuple[int | None, ...] = ()
    # Where the time went: waiting for the writer, then its batch's transaction (of `batch`).
    waited: float = 0.0
    wrote: float = 0.0
    batch: int = 0


@dataclass
class _Pending:
    incoming: Incoming
    future: Future[Recorded] = field(default_factory=Future)
    # perf_counter(), against which the wait for the writer is measured.
    queued: float = field(default_factory=time.perf_counter)


class _Writer:
    """The writer thread's connection, kept from batch to batch: one taken from the pool
    costs a round trip each time (its liveness check). After a failure the connection goes
    back to the pool, which checks it before it is used again.

    On PostgreSQL it is in autocommit, for the one-statement batches (`deliveries_pg`); a
    batch that needs a transaction takes a connection from the pool."""

    def __init__(self, db: Database, one_statement: bool) -> None:
        self.db = db
        self.one_statement = one_statement
        self.connection: Connection | None = None
        self.lock = threading.Lock()
        self.closed = False

    @contextmanager
    def held(self) -> Iterator[Connection]:
        with self.lock:
            if self.closed:
                raise RuntimeError("the delivery log is closed")
            if self.connection is None:
                self.connection = self.db.engine.connect()
                if self.one_statement:
                    self.connection.execution_options(isolation_level="AUTOCOMMIT")
            try:
                yield self.connection
            except BaseException:
                self.connection.close()
                self.connection = None
                raise

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        if self.one_statement:
            if self.closed:
                raise RuntimeError("the delivery log is closed")
            with self.db.engine.begin() as conn:
                yield conn
            return
        with self.held() as conn, conn.begin():
            yield conn

    def close(self) -> None:
        with self.lock:
            self.closed = True
            if self.connection is not None:
                self.connection.close()
                self.connection = None


class DeliveryLog:
    def __init__(self, db: Database, *, one_statement: bool | None = None) -> None:
        """`one_statement`: record batches in one statement (`deliveries_pg`); by default on
        PostgreSQL, where a statement is a round trip."""
        self.db = db
        self._queue: queue.Queue[_Pending] = queue.Queue()
        self._thread: threading.Thread | None = None
        if one_statement is None:
            one_statement = db.engine.dialect.name == "postgresql"
        self._writer = _Writer(db, one_statement)
        self._lock = threading.Lock()

    def record(self, incoming: Incoming, timeout: float = RECORD_TIMEOUT) -> Recorded:
        """Blocks until the delivery is committed; raises if it could not be."""
        future = self.submit(incoming)
        try:
            return future.result(timeout)
        except TimeoutError:
            if future.cancel():
                raise  # never written: the caller answers 503 and GitHub may redeliver
            # The writer has it in a transaction already: its outcome is the answer.
            return future.result()

    def submit(self, incoming: Incoming) -> Future[Recorded]:
        """The delivery handed to the writer; its future is done once it is committed (or
        could not be). Cancelling it before the writer takes it keeps it from being written."""
        pending = _Pending(incoming)
        self._ensure_writer()
        self._queue.put(pending)
        return pending.future

    def mark(self, guid: str, outcome: str) -> None:
        with self.db.session() as session:
            row = session.get(Delivery, guid)
            if row is not None:
                row.outcome = outcome

    def close(self) -> None:
        """Gives the writer's connection back (after the batch under way, if any)."""
        self._writer.close()

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
            picked = time.perf_counter()
            try:
                results = self.write_batch([p.incoming for p in batch])
            except Exception:
                # One bad delivery must not fail the others of its batch: write them alone.
                log.exception("recording a batch of %d deliveries failed; retrying one by one", len(batch))
                for pending in batch:
                    try:
                        (result,) = self.write_batch([pending.incoming])
                    except Exception as exc:
                        pending.future.set_exception(exc)
                    else:
                        pending.future.set_result(result)
                continue
            wrote = time.perf_counter() - picked
            for pending, result in zip(batch, results, strict=True):
                pending.future.set_result(
                    dataclasses.replace(result, waited=picked - pending.queued, wrote=wrote, batch=len(batch))
                )

    def write_batch(self, batch: list[Incoming]) -> list[Recorded]:
        """Records `batch` in one transaction, as the writer thread does; a result per delivery."""
        if self._writer.one_statement and not any(item.extra for item in batch):
            items = [_item(item) for item in batch]
            with self._writer.held() as conn:
                return [
                    Recorded(duplicate=r.duplicate, first_outcome=r.first_outcome, to_queue=r.to_queue)
                    for r in deliveries_pg.record(conn, items, utcnow())
                ]
        # SQLAlchemy Core, a fixed handful of statements per batch: under load the writer
        # competes for the interpreter with every request thread, so its work must be small.
        results: list[Recorded] = []
        now = utcnow()
        with self._writer.transaction() as conn:
            guids = {item.guid for item in batch}
            known: dict[str, str] = {
                guid: outcome
                for guid, outcome in conn.execute(
                    select(Delivery.guid, Delivery.outcome).where(Delivery.guid.in_(guids))
                )
            }
            owing = pull_state.Batch(conn, [ref for item in batch for ref in item.pulls])
            inserts: list[dict[str, Any]] = []
            retried: list[dict[str, Any]] = []
            pushes: dict[tuple[str, int, str, str], dict[str, Any]] = {}
            for item in batch:
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
                if (pusher := _pusher(item)) is not None:
                    ref = item.pulls[0]
                    key = (ref.repo, ref.number, str(ref.head_sha), pusher)
                    pushes[key] = dict(zip(("repo", "number", "head_sha", "pusher"), key, strict=True)) | {
                        "action": (item.action or "")[:32], "received_at": now,
                    }
                to_queue = tuple(owing.owe(ref, item.trigger, now) for ref in item.pulls)
                results.append(Recorded(duplicate=False, to_queue=to_queue))
            if inserts:
                conn.execute(insert(Delivery), inserts)
            for row in retried:
                conn.execute(update(Delivery).where(Delivery.guid == row["guid"]).values(**row))
            owing.write(conn)
            if pushes:
                # A delivery retried after a failed enqueue records its push again: replace
                # rather than insert (portable, unlike upserts).
                columns = tuple_(HeadPush.repo, HeadPush.number, HeadPush.head_sha, HeadPush.pusher)
                conn.execute(delete(HeadPush).where(columns.in_(list(pushes))))
                conn.execute(insert(HeadPush), list(pushes.values()))
        return results


def _item(incoming: Incoming) -> deliveries_pg.Item:
    return deliveries_pg.Item(
        incoming.guid, incoming.event, incoming.action, incoming.outcome, incoming.trigger, incoming.repo,
        incoming.installation_id, incoming.pulls, _pusher(incoming),
    )


def _pusher(incoming: Incoming) -> str | None:
    """Who brought the head of the delivery's first PR, when that is recorded: a push-like
    delivery whose head sha fits its column."""
    head = incoming.pulls[0].head_sha if incoming.pulls else None
    return incoming.pusher if head is not None and len(head) <= 64 else None

