"""Schema migrations: the revisions build exactly the models' schema, upgrade a database made
before migrations without losing its rows, and survive several processes starting at once."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import create_engine, text

from bot.store import migrate, pull_state
from bot.store.db import (
    Base,
    Database,
    DatabaseUnavailable,
    Delivery,
    EvaluationLease,
    PullState,
    WaiverRecord,
)
from tests.servers import Servers

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(params=["sqlite", "postgres"])
def new_url(request: pytest.FixtureRequest, tmp_path: Path) -> Callable[[], str]:
    """A function giving the URL of a new, empty database on the engine of the test's run."""
    if request.param == "sqlite":
        names = iter(range(1000))
        return lambda: f"sqlite:///{tmp_path / f'state{next(names)}.db'}"
    servers: Servers = request.getfixturevalue("servers")
    return servers.database_url


def test_the_migrations_build_exactly_the_schema_of_the_models(new_url: Callable[[], str]) -> None:
    db = Database(new_url())
    try:
        assert migrate.differences(db.engine, Base.metadata) == []
        with db.engine.connect() as conn:
            assert migrate.current(conn) == migrate.head()
    finally:
        db.dispose()


def test_a_database_made_before_migrations_is_upgraded_with_its_rows(new_url: Callable[[], str]) -> None:
    url = new_url()
    engine = create_engine(url)
    with engine.connect() as conn:
        # The previous schema, as `create_all` made it (the first revision), without Alembic's table.
        command.upgrade(migrate.config(conn), migrate.BASELINE)
        conn.execute(text("DROP TABLE alembic_version"))
        received = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
        conn.execute(
            text("INSERT INTO deliveries (guid, event, action, repo, pr, installation_id, received_at, outcome) "
                 "VALUES ('g-1', 'pull_request', 'opened', 'o/r', 7, 42, :at, 'queued')"),
            {"at": received},
        )
        conn.execute(
            text("INSERT INTO pull_states (repo, number, installation_id, wanted_seq, queued_seq, started_seq, "
                 "done_seq, head_sha, \"trigger\", updated_at) VALUES ('o/r', 7, 42, 3, 3, 3, 2, 'abc', 'push', :at)"),
            {"at": received},
        )
        conn.execute(
            text("INSERT INTO waivers (repo, number, pattern, reason, by, head_sha, fingerprints, created_at) "
                 "VALUES ('o/r', 7, 'RG201', 'reviewed', 'mia', 'abc', '[]', :at)"),
            {"at": received},
        )
        conn.execute(
            text("INSERT INTO evaluation_leases (repo, number, seq, expires_at) VALUES ('o/r', 7, 3, :at)"),
            {"at": received},
        )
        conn.commit()
    engine.dispose()

    db = Database(url)
    try:
        assert migrate.differences(db.engine, Base.metadata) == []
        with db.session() as session:
            delivery = session.get(Delivery, "g-1")
            assert delivery is not None and (delivery.repo, delivery.pr, delivery.outcome) == ("o/r", 7, "queued")
            state = session.get(PullState, ("o/r", 7))
            assert state is not None and (state.wanted_seq, state.done_seq, state.head_sha) == (3, 2, "abc")
            (waiver,) = session.query(WaiverRecord).all()
            assert (waiver.pattern, waiver.reason, waiver.by) == ("RG201", "reviewed", "mia")
            assert session.query(EvaluationLease).count() == 0  # leases of the stopped version
        # The evaluation owed before the upgrade is still owed, and queued again at start.
        (owed,) = pull_state.recover(db, timedelta(seconds=60))
        assert (owed.repo, owed.number, owed.seq) == ("o/r", 7, 3)
    finally:
        db.dispose()


def test_processes_starting_at_once_migrate_once(new_url: Callable[[], str]) -> None:
    url = new_url()
    starts = [
        subprocess.Popen([sys.executable, "-m", "bot.migrate"], cwd=ROOT, env=_env(url), stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    errors = [p.communicate(timeout=120)[1].decode() for p in starts]
    assert [p.returncode for p in starts] == [0, 0, 0, 0], errors
    db = Database(url, migrate=False)
    try:
        assert migrate.differences(db.engine, Base.metadata) == []
    finally:
        db.dispose()


def test_a_failed_migration_stops_the_process_with_one_line(new_url: Callable[[], str]) -> None:
    url = new_url()
    Database(url).dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))  # a revision this code lacks
    engine.dispose()
    done = subprocess.run([sys.executable, "-m", "bot.migrate"], cwd=ROOT, env=_env(url), capture_output=True, timeout=120)
    assert done.returncode == 2
    lines = done.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("reviewgate: ") and "f00d" in lines[0], lines
    with pytest.raises(DatabaseUnavailable, match="f00d"):
        Database(url)


def _env(url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVIEWGATE_")}
    env["REVIEWGATE_DATABASE_URL"] = url
    return env
