"""Schema migrations (Alembic, in `bot/store/migrations/versions/`), run under a lock.

Every process that opens the database (`python app.py`, each gunicorn worker, each `python -m
bot.worker`, `python -m bot.migrate`) upgrades it to the newest revision first. Several may
start at once, so the upgrade runs under a lock: a PostgreSQL advisory lock held by the
migrating connection, or on SQLite an exclusive file lock beside the database file. The
others wait, then find nothing left to do.

A database made before migrations existed (by `create_all`) has the tables of the first
revision and no `alembic_version`: it is stamped at that revision, then upgraded.

A new table or column is one new file in `versions/` (`python -m bot.migrate revision -m
"what"` writes it from the difference between the models and the newest revision).
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, MetaData, inspect, text

MIGRATIONS = Path(__file__).with_name("migrations")
BASELINE = "0001"  # the schema as `create_all` made it before migrations
log = logging.getLogger(__name__)
# pg_advisory_lock's key: any constant shared by every process of this application.
_ADVISORY_KEY = 0x7265766965776761  # "reviewga"


class MigrationError(RuntimeError):
    """The database could not be brought to the schema this code needs."""


def config(connection: Connection | None = None, metadata: MetaData | None = None) -> Config:
    """Alembic's configuration; `metadata` (the models') is what `revision` compares with."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    cfg.attributes["metadata"] = metadata
    return cfg


def head() -> str:
    """The newest revision in `versions/`."""
    revision = ScriptDirectory.from_config(config()).get_current_head()
    assert revision is not None
    return revision


def current(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _ADVISORY_KEY})
            conn.commit()
            try:
                yield conn
            finally:
                conn.rollback()
                conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _ADVISORY_KEY})
                conn.commit()
        return
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        with engine.connect() as conn:  # no other process can share it
            yield conn
        return
    fd = os.open(f"{database}.migrate-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        with engine.connect() as conn:
            yield conn
    finally:
        os.close(fd)  # releases the lock


def upgrade(engine: Engine) -> None:
    """Bring the database to the newest revision; raises `MigrationError` saying why not."""
    # Alembic says "Context impl ..." at every start; what changed is said below, once.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        with _locked(engine) as conn:
            before = current(conn)
            if before is None and inspect(conn).has_table("deliveries"):
                command.stamp(config(conn), BASELINE)
                conn.commit()
                before = BASELINE
            command.upgrade(config(conn), "head")
            conn.commit()
            after = current(conn)
            if after != before:
                log.info("database schema migrated from revision %s to %s", before or "(empty)", after)
    except Exception as exc:
        raise MigrationError(f"migrating the database failed: {type(exc).__name__}: {_first_line(exc)}") from exc


def differences(engine: Engine, metadata: MetaData) -> list[Any]:
    """What differs between the database's schema and the models' (empty when they agree)."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else ""
