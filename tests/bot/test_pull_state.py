"""The per-PR counters and the evaluation lease, on a real SQLite database."""

from __future__ import annotations

import socket
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest

from bot.store import pull_state
from bot.store.db import Database, EvaluationLease, PullState
from bot.store.pull_state import BUSY, SUPERSEDED, Owed

LEASE = timedelta(minutes=3)
OTHER = "elsewhere:1:ab"  # a worker on another machine


@pytest.fixture
def db(tmp_path: Path) -> Database:
    database = Database(f"sqlite:///{tmp_path / 'state.db'}")
    yield database
    database.dispose()


def _event(db: Database) -> int | None:
    with db.session() as session:
        return pull_state.owe(session, "o/r", 7, 42, "test")


def _owed(seq: int) -> Owed:
    return Owed("o/r", 7, 42, None, seq, "test")


def test_a_second_evaluation_waits_for_the_running_one_which_hands_it_the_events(db: Database) -> None:
    first = pull_state.take(db, _owed(_event(db) or 0), LEASE)
    assert isinstance(first, Owed) and first.seq == 1
    queued = _event(db)  # arrives while the first one runs: a job is queued for it
    assert queued == 2
    assert pull_state.take(db, _owed(queued), LEASE) == BUSY
    assert _event(db) is None  # that job is still owed, so no other one is queued
    follow_up = pull_state.release(db, first, done=True)
    assert follow_up is not None and follow_up.seq == 3
    second = pull_state.take(db, follow_up, LEASE)
    assert isinstance(second, Owed) and second.seq == 3
    assert pull_state.release(db, second, done=True) is None
    with db.session() as session:
        state = session.get(PullState, ("o/r", 7))
        assert state is not None and state.done_seq == state.wanted_seq == 3


def test_a_job_whose_events_are_covered_is_superseded(db: Database) -> None:
    first = pull_state.take(db, _owed(_event(db) or 0), LEASE)
    assert isinstance(first, Owed)
    assert pull_state.take(db, _owed(1), LEASE) == SUPERSEDED


def test_a_failed_evaluation_gives_its_events_and_the_lease_back(db: Database) -> None:
    first = pull_state.take(db, _owed(_event(db) or 0), LEASE)
    assert isinstance(first, Owed)
    assert pull_state.release(db, first, done=False) is None
    retry = pull_state.take(db, _owed(1), LEASE)
    assert isinstance(retry, Owed) and retry.seq == 1


def test_a_lease_whose_worker_stopped_its_heartbeat_is_taken_over(db: Database) -> None:
    dead = pull_state.take(db, _owed(_event(db) or 0), LEASE, worker=OTHER)
    assert isinstance(dead, Owed)
    queued = _event(db)
    assert queued is not None
    assert pull_state.take(db, _owed(queued), LEASE) == BUSY  # its heartbeat is fresh
    taken = pull_state.take(db, _owed(queued), timedelta(0))  # ... and now too old
    assert isinstance(taken, Owed) and taken.seq == 2
    # The dead one's late release neither frees the new lease nor asks for more work.
    assert pull_state.release(db, dead, done=True, worker=OTHER) is None
    assert pull_state.take(db, _owed(2), LEASE) == SUPERSEDED
    with db.session() as session:
        (lease,) = session.query(EvaluationLease).all()
        assert lease.worker_id == pull_state.worker_id()


def test_the_heartbeat_keeps_a_lease_and_a_silent_worker_is_taken_over(db: Database) -> None:
    running = pull_state.take(db, _owed(_event(db) or 0), LEASE, worker=OTHER)
    assert isinstance(running, Owed)
    with db.session() as session:
        session.get(EvaluationLease, ("o/r", 7)).heartbeat_at -= timedelta(seconds=50)
    assert pull_state.heartbeat(db, worker=OTHER) == 1
    assert pull_state.take_over(db, timedelta(seconds=30)) == []  # renewed just now
    with db.session() as session:
        session.get(EvaluationLease, ("o/r", 7)).heartbeat_at -= timedelta(seconds=50)
    (owed,) = pull_state.take_over(db, timedelta(seconds=30))
    assert (owed.seq, owed.trigger) == (1, "takeover")
    assert pull_state.take_over(db, timedelta(seconds=30)) == []  # taken over once
    again = pull_state.take(db, owed, LEASE)
    assert isinstance(again, Owed) and again.seq == 1


def test_a_lease_of_a_process_of_this_machine_that_exited_is_dead_at_once(db: Database) -> None:
    worker = f"{socket.gethostname()}:{_exited_pid()}:00"
    running = pull_state.take(db, _owed(_event(db) or 0), LEASE, worker=worker)
    assert isinstance(running, Owed)
    (owed,) = pull_state.take_over(db, LEASE)
    assert owed.seq == 1


def test_recovery_at_start_leaves_the_evaluations_of_live_workers_alone(db: Database) -> None:
    running = pull_state.take(db, _owed(_event(db) or 0), LEASE, worker=OTHER)
    assert isinstance(running, Owed)
    with db.session() as session:
        pull_state.owe(session, "o/r", 8, 42, "test")
    (owed,) = pull_state.recover(db, LEASE)  # 7 is being evaluated elsewhere; 8 was lost
    assert (owed.number, owed.seq) == (8, 1)
    assert pull_state.take(db, _owed(_event(db) or 2), LEASE) == BUSY
    owed_now = pull_state.recover(db, timedelta(0))  # once its worker is silent, 7 is owed too
    assert sorted(o.number for o in owed_now) == [7, 8]
    again = pull_state.take(db, owed_now[0] if owed_now[0].number == 7 else owed_now[1], LEASE)
    assert isinstance(again, Owed) and again.seq == 2


def _exited_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_an_evaluation_whose_job_was_lost_before_it_started_is_stranded(db: Database) -> None:
    queued = _event(db)
    assert queued == 1
    assert pull_state.stranded(db, LEASE) == []  # recent: its job may still be on its way
    (owed,) = pull_state.stranded(db, timedelta(0))
    assert (owed.seq, owed.trigger) == (1, "stranded")
    running = pull_state.take(db, owed, LEASE)
    assert isinstance(running, Owed)
    assert pull_state.stranded(db, timedelta(0)) == []  # running now
