"""The bot's state: deliveries, per-PR job bookkeeping, evaluations, check runs, the sticky
comment and the findings cache. SQLite (WAL, synchronous=FULL) by default, PostgreSQL by URL.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    Engine,
    Float,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from bot.store import migrate as schema


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class Delivery(Base):
    """One webhook delivery, keyed by GitHub's `X-GitHub-Delivery` GUID (redeliveries reuse it)."""

    __tablename__ = "deliveries"
    guid: Mapped[str] = mapped_column(String(64), primary_key=True)
    event: Mapped[str] = mapped_column(String(64))
    action: Mapped[str | None] = mapped_column(String(64))
    repo: Mapped[str | None] = mapped_column(String(200))
    pr: Mapped[int | None] = mapped_column(Integer)
    installation_id: Mapped[int | None] = mapped_column(BigInteger)
    # Indexed: /status and the reconciler ask for the deliveries of the last hours.
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    outcome: Mapped[str] = mapped_column(String(64))


class PullState(Base):
    """Coalescing and the durable record of owed evaluations, per pull request.

    Its counters are read and written by `bot.store.pull_state` only, which says how.
    """

    __tablename__ = "pull_states"
    repo: Mapped[str] = mapped_column(String(200), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    installation_id: Mapped[int] = mapped_column(BigInteger)
    wanted_seq: Mapped[int] = mapped_column(Integer, default=0)
    queued_seq: Mapped[int] = mapped_column(Integer, default=0)
    started_seq: Mapped[int] = mapped_column(Integer, default=0)
    done_seq: Mapped[int] = mapped_column(Integer, default=0)
    head_sha: Mapped[str | None] = mapped_column(String(64))  # of the latest event
    trigger: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Evaluation(Base):
    __tablename__ = "evaluations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repo: Mapped[str] = mapped_column(String(200), index=True)
    number: Mapped[int] = mapped_column(Integer)
    head_sha: Mapped[str] = mapped_column(String(64))
    # Digest of the PR's (path, patch) set at head_sha: lets the gate carry approvals
    # across a rebase that leaves the PR's own change identical.
    head_digest: Mapped[str] = mapped_column(String(64))
    conclusion: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(Text)
    findings_digest: Mapped[str] = mapped_column(String(64))
    trigger: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CheckRunRecord(Base):
    """The newest `reviewgate` run we made on a commit, and what its annotations were."""

    __tablename__ = "check_runs"
    repo: Mapped[str] = mapped_column(String(200), primary_key=True)
    head_sha: Mapped[str] = mapped_column(String(64), primary_key=True)
    check_run_id: Mapped[int] = mapped_column(BigInteger)
    # None until the run was completed; then the digest of the annotations it holds.
    annotations_digest: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StickyComment(Base):
    __tablename__ = "sticky_comments"
    repo: Mapped[str] = mapped_column(String(200), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    comment_id: Mapped[int] = mapped_column(BigInteger)
    state_digest: Mapped[str] = mapped_column(String(64))


class CachedReport(Base):
    """Whole-file analysis of one blob; the changed-line filter is applied on reading."""

    __tablename__ = "findings_cache"
    blob_sha: Mapped[str] = mapped_column(String(64), primary_key=True)
    rules_version: Mapped[str] = mapped_column(String(80), primary_key=True)
    config_digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class InstallationRepo(Base):
    """Which repositories each installation covers (kept from installation events)."""

    __tablename__ = "installation_repos"
    installation_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    repo: Mapped[str] = mapped_column(String(200), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class GateJob(Base):
    """A command comment or a merge group to handle, recorded with its delivery.

    Written in the delivery's transaction, so an acknowledged delivery is never lost: a job
    that the queue dropped in a crash is found here (`done` false) and queued again.
    """

    __tablename__ = "gate_jobs"
    key: Mapped[str] = mapped_column(String(300), primary_key=True)  # "comment:<id>", "merge_group:<repo>@<sha>"
    kind: Mapped[str] = mapped_column(String(32))  # commands | merge_group
    repo: Mapped[str] = mapped_column(String(200))
    number: Mapped[int | None] = mapped_column(Integer)  # the pull request of a command
    installation_id: Mapped[int] = mapped_column(BigInteger)
    payload: Mapped[str] = mapped_column(Text)  # JSON: what the event said when it happened
    done: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WaiverRecord(Base):
    """`/gate waive`: the findings of a code (or prefix) present on a head, accepted by a reviewer."""

    __tablename__ = "waivers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repo: Mapped[str] = mapped_column(String(200), index=True)
    number: Mapped[int] = mapped_column(Integer)
    pattern: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(100))
    head_sha: Mapped[str] = mapped_column(String(64))
    fingerprints: Mapped[str] = mapped_column(Text)  # JSON list
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_by: Mapped[str | None] = mapped_column(String(100))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class EvaluationLease(Base):
    """The evaluation of a pull request that is running now: which worker runs it, and when
    that worker last said it is alive.

    One evaluation of a PR at a time: an older one that gathered its facts before a hold or
    a dismissal must never publish its verdict after a newer one. The worker's process
    renews `heartbeat_at` of all its leases every few seconds; a lease whose heartbeat is
    older than `REVIEWGATE_LEASE_SECONDS` belongs to a worker that died (SIGKILL, a lost
    machine), and another worker takes the evaluation over (`bot.store.pull_state`).
    """

    __tablename__ = "evaluation_leases"
    repo: Mapped[str] = mapped_column(String(200), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    worker_id: Mapped[str] = mapped_column(String(200), index=True)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class HeadPush(Base):
    """Who brought a head commit onto a pull request: the `sender` of the `pull_request`
    delivery (`synchronize` for a push, `opened` / `reopened` for the first head).

    A head pushed again by someone else (a force-push back to it) gets a row per pusher, and
    none of them may approve it (unless `approvals.last_pusher_counts`).
    """

    __tablename__ = "head_pushes"
    repo: Mapped[str] = mapped_column(String(200), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    head_sha: Mapped[str] = mapped_column(String(64), primary_key=True)
    pusher: Mapped[str] = mapped_column(String(100), primary_key=True)
    action: Mapped[str] = mapped_column(String(32))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class HoldRecord(Base):
    """`/gate hold` on a pull request, until `/gate unhold` deletes it."""

    __tablename__ = "holds"
    repo: Mapped[str] = mapped_column(String(200), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    by: Mapped[str] = mapped_column(String(100))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CommandLock(Base):
    """One row per pull request that got commands; its row lock serialises them.

    A worker applies a pull request's pending command comments, in the order they were
    written, in one transaction that first locks this row (`SELECT ... FOR UPDATE` on
    PostgreSQL; on SQLite every transaction is `BEGIN IMMEDIATE`, which holds the write
    lock), and marks each comment's job done in that same transaction: two workers never
    apply the same comment, and a later comment never overtakes an earlier recorded one.
    """

    __tablename__ = "command_locks"
    repo: Mapped[str] = mapped_column(String(200), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CommandAudit(Base):
    """Every `/gate` command run: who, what, why, where, and whether it was accepted."""

    __tablename__ = "command_audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    comment_id: Mapped[int] = mapped_column(BigInteger)
    position: Mapped[int] = mapped_column(Integer)  # the command's place in its comment
    repo: Mapped[str] = mapped_column(String(200), index=True)
    number: Mapped[int] = mapped_column(Integer)
    actor: Mapped[str] = mapped_column(String(100))
    command: Mapped[str] = mapped_column(Text)  # the line as written
    name: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    head_sha: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16))  # accepted | refused | unknown | throttled
    detail: Mapped[str] = mapped_column(Text, default="")  # why refused, or what it did
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (UniqueConstraint("comment_id", "position"),)


class PostedSuggestion(Base):
    """A fix already offered as a ```suggestion, so it is never offered twice."""

    __tablename__ = "posted_suggestions"
    repo: Mapped[str] = mapped_column(String(200), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # fingerprint + replacement
    review_id: Mapped[int | None] = mapped_column(BigInteger)
    posted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MergeGroupRecord(Base):
    """The pull requests of a merge group, so the group queued behind it can include them."""

    __tablename__ = "merge_groups"
    repo: Mapped[str] = mapped_column(String(200), primary_key=True)
    head_sha: Mapped[str] = mapped_column(String(64), primary_key=True)
    pulls: Mapped[str] = mapped_column(Text)  # JSON list of numbers, queue order
    conclusion: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WriteBudget(Base):
    """Each installation's token bucket for writes to GitHub (`bot.github.traffic`), shared by
    every process so that together they keep to GitHub's pace for content-creating requests."""

    __tablename__ = "github_write_budgets"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    updated: Mapped[float] = mapped_column(Float)  # epoch seconds: compared across machines


class GateVerdict(Base):
    """A pull request's latest verdict as its gate page shows it: conditions, reviewers and
    findings with their lines (JSON written by `bot.jobs.record`), or why the evaluation
    failed. One row per pull request, replaced by each evaluation."""

    __tablename__ = "gate_verdicts"
    repo: Mapped[str] = mapped_column(String(200), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    installation_id: Mapped[int] = mapped_column(BigInteger)
    head_sha: Mapped[str | None] = mapped_column(String(64))
    conclusion: Mapped[str] = mapped_column(String(32))  # success | failure | error (gave up)
    title: Mapped[str] = mapped_column(Text)
    data: Mapped[str] = mapped_column(Text)  # JSON
    error: Mapped[str | None] = mapped_column(Text)  # why an evaluation gave up
    trigger: Mapped[str] = mapped_column(String(64), default="")
    evaluated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebSession(Base):
    """A signed-in user of the pages: the cookie carries the id, the database its digest and
    the user's GitHub token (never sent to the browser)."""

    __tablename__ = "web_sessions"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    login: Mapped[str] = mapped_column(String(100))
    token: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class OrgPolicyRecord(Base):
    """An account's policy file (`.github/reviewgate.yml` in its `.github` repository), as last
    read: kept until a push to that repository's default branch deletes it, or it is an hour
    old (a lost push delivery must not keep an old policy for long)."""

    __tablename__ = "org_policies"
    # Casefolded. An account has one installation of the App, so this is per installation too.
    owner: Mapped[str] = mapped_column(String(100), primary_key=True)
    text: Mapped[str | None] = mapped_column(Text)  # None: the account has no such file
    read_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class BotPassRecord(Base):
    """A pull request opened by a bot listed under `bots:` that passed with fewer approvals than
    `approvals.required`, as the entry allows: the audit's record of it, like a waiver's."""

    __tablename__ = "bot_passes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    repo: Mapped[str] = mapped_column(String(200), index=True)
    number: Mapped[int] = mapped_column(Integer)
    head_sha: Mapped[str] = mapped_column(String(64))
    bot: Mapped[str] = mapped_column(String(100))
    approvers: Mapped[str] = mapped_column(Text)  # comma-separated logins
    paths: Mapped[int] = mapped_column(Integer)  # files changed
    required: Mapped[int] = mapped_column(Integer)  # `approvals.required` for other pull requests
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (UniqueConstraint("repo", "number", "head_sha"),)


class ReviewRequestRecord(Base):
    """The reviews Reviewgate asked for on one head (`reviewers.request`): at most once per head."""

    __tablename__ = "review_requests"
    repo: Mapped[str] = mapped_column(String(200), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    head_sha: Mapped[str] = mapped_column(String(64), primary_key=True)
    users: Mapped[str] = mapped_column(Text, default="")  # comma-separated logins
    teams: Mapped[str] = mapped_column(Text, default="")  # comma-separated org/slug
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReviewDigest(Base):
    """The digest of a pull request's changes when an evaluation first saw a review of its head:
    after a retarget (a stacked pull request whose lower one merged), an approval counts only
    if the changes against the new base are the ones it approved."""

    __tablename__ = "review_digests"
    repo: Mapped[str] = mapped_column(String(200), primary_key=True)
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    review_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    head_sha: Mapped[str] = mapped_column(String(64))
    base_ref: Mapped[str] = mapped_column(String(255), default="")
    digest: Mapped[str] = mapped_column(String(64))
    seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class StatusMark(Base):
    """The latest time something periodic happened (the reconciler's pass), for /status."""

    __tablename__ = "status_marks"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    detail: Mapped[str] = mapped_column(Text, default="")


class SetupState(Base):
    """A `state` handed out by /setup for GitHub's App manifest flow: only its digest (with the
    browser's cookie), so the table never holds a usable state. Deleted when used."""

    __tablename__ = "setup_states"
    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def _sqlite_pragmas(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event issue BEGIN IMMEDIATE: a deferred transaction that
        # reads and then writes cannot wait for the lock, it fails with "database is locked".
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class DatabaseUnavailable(RuntimeError):
    """The database cannot be used: a wrong URL, a server that cannot be reached, or a failed
    migration. The message is one line for the operator (no password)."""


class Database:
    def __init__(self, url: str, *, migrate: bool = True) -> None:
        """Connects, and with `migrate` brings the schema to the newest revision (under a
        lock, `bot.store.migrate`); raises `DatabaseUnavailable` saying why it cannot."""
        if url.startswith(("postgresql://", "postgres://")):
            # SQLAlchemy's default PostgreSQL driver is psycopg2; the one installed is psycopg 3.
            url = "postgresql+psycopg://" + url.split("://", 1)[1]
        self.url = url
        try:
            if url.startswith("sqlite"):
                self.engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
                _sqlite_pragmas(self.engine)
            else:
                self.engine = create_engine(url, pool_pre_ping=True)
        except Exception as exc:  # a malformed URL or a driver that is not installed
            raise DatabaseUnavailable(f"REVIEWGATE_DATABASE_URL is not usable: {_one_line(exc)}") from None
        shown = self.engine.url.render_as_string(hide_password=True)
        try:
            self.ping()
        except Exception as exc:
            raise DatabaseUnavailable(f"cannot reach the database {shown}: {_one_line(exc)}") from None
        if migrate:
            try:
                schema.upgrade(self.engine)
            except schema.MigrationError as exc:
                raise DatabaseUnavailable(f"{shown}: {exc}") from None
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self._sessions.begin() as session:
            yield session

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    @contextmanager
    def held(self, name: str) -> Iterator[bool]:
        """Whether this process holds the lock `name` for the block, without waiting for it.

        On PostgreSQL a session-level advisory lock, on its own connection: released when the
        block ends, or by the server when the process dies. On SQLite an exclusive `flock` on
        a file of its own beside the database (several `python -m bot.worker` processes may
        share a data directory), released likewise; an in-memory database has one process.
        """
        if self.engine.dialect.name != "postgresql":
            with _file_held(self.engine.url.database, name) as got:
                yield got
            return
        key = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)
        with self.engine.connect() as conn:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar())
            conn.commit()
            try:
                yield got
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
                    conn.commit()

    def nobody_holds(self, name: str) -> bool:
        """Whether no process holds the lock `name` (`held`) at this moment."""
        with self.held(name) as free:
            return free

    def dispose(self) -> None:
        self.engine.dispose()


@contextmanager
def _file_held(database: str | None, name: str) -> Iterator[bool]:
    if not database or database == ":memory:":
        yield True
        return
    folder = Path(f"{database}.locks")
    folder.mkdir(mode=0o700, exist_ok=True)
    path = folder / (hashlib.sha256(name.encode()).hexdigest()[:32] + ".lock")
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            yield False
            return
        try:
            if os.stat(path).st_ino == os.fstat(fd).st_ino:
                break
        except FileNotFoundError:
            pass
        # Its holder removed the file as it let go: this lock is on a file nobody else opens.
        os.close(fd)
    try:
        yield True
    finally:
        # Removed while held, so the lock files do not pile up (one per job ever run); whoever
        # opened the old file meanwhile finds that it is gone and opens the new one (above).
        os.unlink(path)
        os.close(fd)


def _one_line(exc: BaseException) -> str:
    """The exception's first line: drivers' messages run on with hints and SQL."""
    lines = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")
