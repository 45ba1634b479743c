"""Owed evaluations: the per-PR sequence counters of `PullState`, and every change to them.

Each pull request has four counters. Every event that asks for an evaluation (a delivery, an
applied command, the reconciler) bumps `wanted_seq`: that bump, committed, is the durable
promise of an evaluation. A job is queued only when none is waiting (`queued_seq <=
started_seq`), and a job takes `wanted_seq` when it starts (`started_seq`), so the events
that arrive while it waits are covered by it and a burst gives one evaluation. A job that
finishes sets `done_seq`; one that fails gives its events back to the retry. After a crash,
`done_seq < wanted_seq` says which evaluations are still owed (`recover`).

One evaluation of a PR runs at a time (an `EvaluationLease`): a job that finds another one
running leaves its events to it, and the running one, when it finishes, hands back a
follow-up job for the events that arrived meanwhile. So an evaluation that gathered its facts
before a hold can never publish its older verdict over the newer one.

A lease names the worker process that holds it (`worker_id()`); that process renews the
heartbeat of all its leases (`heartbeat`), and any worker takes over the evaluations whose
heartbeat is older than the lease time (`take_over`): the queue lost their jobs with the
worker that had taken them.

This module is the only code that reads or writes the counters.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.store.db import Database, EvaluationLease, PullState, utcnow


@dataclass(frozen=True)
class PullRef:
    """A pull request an event concerns, and the head the event named (a hint only)."""

    repo: str
    number: int
    installation_id: int
    head_sha: str | None


@dataclass(frozen=True)
class Owed:
    """An evaluation owed to a pull request: what a queued evaluation job carries."""

    repo: str
    number: int
    installation_id: int
    # The head the latest event named, a hint only: what is evaluated is GitHub's head. It
    # is used when GitHub cannot be asked, to report the failure on a commit.
    head_sha: str | None
    seq: int
    trigger: str


class Batch:
    """The states of the pull requests one batch of deliveries concerns, in one transaction:
    locked when read, bumped in memory per delivery, written at once (a fixed handful of
    statements per batch, whatever its size)."""

    def __init__(self, conn: Connection, refs: Iterable[PullRef]) -> None:
        installations = {(ref.repo, ref.number): ref.installation_id for ref in refs}
        self._states: dict[tuple[str, int], dict[str, Any]] = {}
        if installations:
            self._states = self._locked(conn, set(installations))
        missing = sorted(set(installations) - set(self._states))
        if missing:
            # A PR's first event: its row is created (unless another writer just did) and
            # then locked like the others, so two writers never race to insert it.
            conn.execute(
                _insert_ignoring(conn).values([
                    dict(repo=repo, number=number, installation_id=installations[repo, number],
                         wanted_seq=0, queued_seq=0, started_seq=0, done_seq=0)
                    for repo, number in missing
                ]).on_conflict_do_nothing(index_elements=["repo", "number"])
            )
            self._states |= self._locked(conn, set(missing))

    @staticmethod
    def _locked(conn: Connection, keys: set[tuple[str, int]]) -> dict[tuple[str, int], dict[str, Any]]:
        # FOR UPDATE: on PostgreSQL several writers (threads, web processes) may bump the
        # same PR; locked in one order, so two batches never wait for each other in a cycle.
        rows = conn.execute(
            select(PullState).where(tuple_(PullState.repo, PullState.number).in_(keys))
            .order_by(PullState.repo, PullState.number).with_for_update()
        )
        return {(r.repo, r.number): dict(r._mapping) for r in rows}

    def owe(self, ref: PullRef, trigger: str, now: datetime) -> int | None:
        """Record an event of `ref`'s PR; the seq of a job to queue now, or None when one is waiting."""
        state = self._states[(ref.repo, ref.number)]
        state["wanted_seq"] += 1
        state.update(installation_id=ref.installation_id, head_sha=ref.head_sha, trigger=trigger, updated_at=now)
        if state["queued_seq"] > state["started_seq"]:
            return None  # a queued job has not started yet; it will take this event too
        state["queued_seq"] = state["wanted_seq"]
        return int(state["wanted_seq"])

    def write(self, conn: Connection) -> None:
        changed = [
            {"b_repo": v["repo"], "b_number": v["number"], **{c: v[c] for c in _BUMPED}}
            for v in self._states.values()
        ]
        if changed:
            conn.execute(
                update(PullState)
                .where(PullState.repo == bindparam("b_repo"), PullState.number == bindparam("b_number"))
                .values({c: bindparam(c) for c in _BUMPED}),
                changed,
            )


def _insert_ignoring(conn: Connection) -> Any:
    """`INSERT ... ON CONFLICT DO NOTHING` into pull_states, in the connection's dialect."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(PullState)


_BUMPED = ("wanted_seq", "queued_seq", "installation_id", "head_sha", "trigger", "updated_at")


def owe(session: Session, repo: str, number: int, installation_id: int, trigger: str) -> int | None:
    """Record that the PR must be evaluated again (as a delivery does), at whatever head it has
    when the job runs; the seq to queue, if any. In the caller's transaction."""
    state = session.get(PullState, (repo, number), with_for_update=True)
    if state is None:
        state = PullState(
            repo=repo, number=number, installation_id=installation_id,
            wanted_seq=0, queued_seq=0, started_seq=0, done_seq=0,
        )
        session.add(state)
    state.wanted_seq += 1
    state.head_sha = None
    state.trigger = trigger
    state.installation_id = installation_id
    state.updated_at = utcnow()
    if state.queued_seq > state.started_seq:
        return None  # a waiting job will take this too
    state.queued_seq = state.wanted_seq
    return state.wanted_seq


def unqueue(db: Database, keys: Iterable[tuple[str, int]]) -> None:
    """The job was not queued after all: the evaluation stays owed, and the next event (or
    start-up) queues one."""
    with db.session() as session:
        for key in keys:
            state = session.get(PullState, key, with_for_update=True)
            if state is not None:
                state.queued_seq = state.started_seq


BUSY = "busy"  # another evaluation of the PR is running; it queues the next one
SUPERSEDED = "superseded"  # a job running or done covers every event recorded

_identity: tuple[int, str] | None = None


def worker_id() -> str:
    """This process's name on its leases: host, pid and a random part (a pid is reused)."""
    global _identity
    if _identity is None or _identity[0] != os.getpid():  # a forked child is another worker
        _identity = (os.getpid(), f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}")
    return _identity[1]


def _dead(held: EvaluationLease, now: datetime, stale_after: timedelta) -> bool:
    """Whether the lease's worker is gone: silent for longer than `stale_after`, or a process
    of this machine that no longer exists (a restarted server need not wait out the lease)."""
    if now - _aware(held.heartbeat_at) >= stale_after:
        return True
    host, _, rest = held.worker_id.partition(":")
    pid, _, _ = rest.partition(":")
    if host != socket.gethostname() or not pid.isdigit() or held.worker_id == worker_id():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False


def take(db: Database, queued: Owed, stale_after: timedelta, worker: str | None = None) -> Owed | str:
    """Start: cover every event recorded so far, and hold the PR's lease as `worker` (this
    process by default). A lease whose worker is dead (`stale_after`) is taken over.

    `BUSY` or `SUPERSEDED` instead when this job has nothing to do now."""
    with db.session() as session:
        state = session.get(PullState, (queued.repo, queued.number), with_for_update=True)
        if state is None:  # queued by hand, or by an older version: evaluate as asked
            return queued
        if state.started_seq >= state.wanted_seq:
            return SUPERSEDED
        now = utcnow()
        held = session.get(EvaluationLease, (queued.repo, queued.number), with_for_update=True)
        if held is not None and state.started_seq > state.done_seq and not _dead(held, now, stale_after):
            return BUSY
        state.started_seq = state.wanted_seq
        session.merge(
            EvaluationLease(
                repo=queued.repo, number=queued.number, seq=state.wanted_seq,
                worker_id=worker or worker_id(), heartbeat_at=now,
            )
        )
        return Owed(
            queued.repo, queued.number, state.installation_id, state.head_sha, state.wanted_seq,
            state.trigger or queued.trigger,
        )


def release(db: Database, job: Owed, *, done: bool, worker: str | None = None) -> Owed | None:
    """Finish (done) or give the events back to the retry (not done), and let go of the lease.

    Returns the follow-up job to queue when events arrived while this one ran (the jobs they
    queued found it busy and left them to it)."""
    with db.session() as session:
        state = session.get(PullState, (job.repo, job.number), with_for_update=True)
        held = session.get(EvaluationLease, (job.repo, job.number), with_for_update=True)
        if held is not None and held.seq == job.seq and held.worker_id == (worker or worker_id()):
            session.delete(held)
        if state is None:
            return None
        state.updated_at = utcnow()
        if not done:
            state.started_seq = state.done_seq
            return None
        state.done_seq = max(state.done_seq, job.seq)
        if state.wanted_seq <= state.started_seq:
            return None
        state.queued_seq = state.wanted_seq
        return Owed(
            job.repo, job.number, state.installation_id, state.head_sha, state.wanted_seq,
            state.trigger or job.trigger,
        )


def heartbeat(db: Database, worker: str | None = None) -> int:
    """Say that this worker is alive: renew its leases. The number renewed."""
    with db.session() as session:
        renewed = session.execute(
            update(EvaluationLease)
            .where(EvaluationLease.worker_id == (worker or worker_id()))
            .values(heartbeat_at=utcnow())
        )
        return int(getattr(renewed, "rowcount", 0) or 0)


def _owe_again(state: PullState, trigger: str) -> Owed:
    state.started_seq = state.done_seq
    state.queued_seq = state.wanted_seq
    return Owed(state.repo, state.number, state.installation_id, state.head_sha, state.wanted_seq, trigger)


def take_over(db: Database, stale_after: timedelta) -> list[Owed]:
    """The evaluations of dead workers (`_dead`), their leases freed and marked as queued
    again: the caller queues each one."""
    now = utcnow()
    with db.session() as session:
        suspects = [
            (held.repo, held.number) for held in session.query(EvaluationLease) if _dead(held, now, stale_after)
        ]
    owed = []
    for key in suspects:
        # The PR's state first, then its lease, as `take` locks them: no deadlock between them.
        with db.session() as session:
            state = session.get(PullState, key, with_for_update=True)
            held = session.get(EvaluationLease, key, with_for_update=True)
            if held is None or not _dead(held, utcnow(), stale_after):
                continue  # released, or taken over by another worker meanwhile
            session.delete(held)
            if state is not None and state.done_seq < state.wanted_seq:
                owed.append(_owe_again(state, "takeover"))
    return owed


def stranded(db: Database, older_than: timedelta) -> list[Owed]:
    """The evaluations owed for longer than `older_than` with no job running: call it when the
    queue is empty (nothing waiting, nothing scheduled), so their jobs were lost, taken from
    the queue by a worker that died before it took the lease. Marked as queued again: the
    caller queues each one."""
    since = utcnow() - older_than
    with db.session() as session:
        keys = [
            (state.repo, state.number)
            for state in session.query(PullState).filter(
                PullState.done_seq < PullState.wanted_seq, PullState.updated_at < since
            )
        ]
    owed = []
    for key in keys:
        with db.session() as session:
            state = session.get(PullState, key, with_for_update=True)
            if state is None or state.done_seq >= state.wanted_seq or _aware(state.updated_at) >= since:
                continue
            if session.get(EvaluationLease, key) is not None:
                continue  # running (or its worker's death is `take_over`'s business)
            state.updated_at = utcnow()  # not again before another `older_than`
            owed.append(_owe_again(state, "stranded"))
    return owed


def recover(db: Database, stale_after: timedelta) -> list[Owed]:
    """At a worker's start: the evaluations owed and not running in a live worker, marked as
    queued again: the caller queues each one.

    Huey removes a job from the queue when a worker takes it, so a crash mid-evaluation
    loses it; the counters still say which PRs' latest events were not evaluated. A job
    still waiting in the queue is queued twice; the second one finds its events covered.
    """
    with db.session() as session:
        keys = [
            (state.repo, state.number)
            for state in session.query(PullState).filter(PullState.done_seq < PullState.wanted_seq)
        ]
    owed = []
    for key in keys:
        with db.session() as session:
            # Locked before its lease is read: a worker's `take` that holds the state's lock
            # has committed its lease by the time this reads it.
            state = session.get(PullState, key, with_for_update=True)
            if state is None or state.done_seq >= state.wanted_seq:
                continue
            held = session.get(EvaluationLease, key, with_for_update=True)
            if held is not None:
                if not _dead(held, utcnow(), stale_after):
                    continue  # a live worker evaluates it
                session.delete(held)
            owed.append(_owe_again(state, "recovery"))
    return owed


def wanted(db: Database, repo: str, number: int) -> int:
    """The PR's latest seq (1 when it has none yet)."""
    with db.session() as session:
        state = session.get(PullState, (repo, number))
        return state.wanted_seq if state is not None else 1


def owed_recently(db: Database, repo: str, number: int, within: timedelta) -> bool:
    """Whether an evaluation of the PR is owed for an event newer than `within`."""
    with db.session() as session:
        state = session.get(PullState, (repo, number))
        if state is None or state.done_seq >= state.wanted_seq:
            return False
        return utcnow() - _aware(state.updated_at) < within


def owed_evaluations(db: Database) -> tuple[int, float]:
    """(PRs whose latest event is not evaluated yet, seconds since the oldest one's latest event)."""
    with db.session() as session:
        rows = session.query(PullState.updated_at).filter(PullState.done_seq < PullState.wanted_seq).all()
    if not rows:
        return 0, 0.0
    now = utcnow()
    oldest = min(_aware(r) for (r,) in rows)
    return len(rows), max(0.0, (now - oldest).total_seconds())


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; every one stored is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
