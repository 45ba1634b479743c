"""The per-PR counters and the evaluation lease, on a real SQLite database."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.store import pull_state
from bot.store.db import Database, PullState
from bot.store.pull_state import BUSY, SUPERSEDED, Owed

LEASE = timedelta(minutes=3)


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


def test_an_expired_lease_is_taken_over(db: Database) -> None:
    dead = pull_state.take(db, _owed(_event(db) or 0), timedelta(seconds=-1))  # its process died
    assert isinstance(dead, Owed)
    queued = _event(db)
    assert queued is not None
    taken = pull_state.take(db, _owed(queued), LEASE)
    assert isinstance(taken, Owed) and taken.seq == 2
    # The dead one's late release neither frees the new lease nor asks for more work.
    assert pull_state.release(db, dead, done=True) is None
    assert pull_state.take(db, _owed(2), LEASE) == SUPERSEDED


def test_recovery_frees_the_leases_of_the_stopped_process(db: Database) -> None:
    running = pull_state.take(db, _owed(_event(db) or 0), LEASE)
    assert isinstance(running, Owed)
    (owed,) = pull_state.recover(db)
    assert owed.seq == 1
    again = pull_state.take(db, owed, LEASE)
    assert isinstance(again, Owed) and again.seq == 1
