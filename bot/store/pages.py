"""What the pages read: a pull request's recorded verdict, waivers and command audit; the
operator's numbers; the audit export, streamed; and the signed-in users' sessions."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from bot.store.db import (
    BotPassRecord,
    CommandAudit,
    Database,
    Delivery,
    Evaluation,
    GateJob,
    GateVerdict,
    InstallationRepo,
    PullState,
    StatusMark,
    WaiverRecord,
    WebSession,
    utcnow,
)


def aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; every one stored is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# -- a pull request ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PullRecord:
    verdict: GateVerdict | None
    data: dict[str, Any]
    waivers: list[WaiverRecord]
    commands: list[CommandAudit]
    owed: bool


def pull_record(db: Database, repo: str, number: int) -> PullRecord | None:
    """None when the bot knows nothing of this pull request."""
    with db.session() as session:
        verdict = session.get(GateVerdict, (repo, number))
        state = session.get(PullState, (repo, number))
        waivers = list(
            session.scalars(
                select(WaiverRecord).filter_by(repo=repo, number=number).order_by(WaiverRecord.id)
            )
        )
        commands = list(
            session.scalars(
                select(CommandAudit)
                .filter_by(repo=repo, number=number)
                .order_by(CommandAudit.created_at, CommandAudit.comment_id, CommandAudit.position)
            )
        )
    if verdict is None and state is None and not commands:
        return None
    data = json.loads(verdict.data) if verdict is not None and verdict.data else {}
    owed = state is not None and state.done_seq < state.wanted_seq
    return PullRecord(verdict, data, waivers, commands, owed)


def installation_of(db: Database, repo: str) -> int | None:
    with db.session() as session:
        found = session.scalars(select(InstallationRepo.installation_id).filter_by(repo=repo)).first()
        if found is None:
            found = session.scalars(select(PullState.installation_id).filter_by(repo=repo)).first()
        return found


# -- the operator's numbers ------------------------------------------------------------------------


@dataclass(frozen=True)
class Trouble:
    """A pull request whose evaluation is owed or failed."""

    repo: str
    number: int
    what: str  # owed | failed
    since: datetime
    detail: str


def deliveries_by_outcome(db: Database, since: datetime) -> list[tuple[str, int]]:
    with db.session() as session:
        rows = session.execute(
            select(Delivery.outcome, func.count())
            .where(Delivery.received_at >= since)
            .group_by(Delivery.outcome)
            .order_by(func.count().desc())
        ).all()
    return [(str(outcome), int(n)) for outcome, n in rows]


def hourly_deliveries(db: Database, now: datetime, hours: int = 24) -> list[int]:
    """Deliveries per hour, oldest hour first, the last one ending now."""
    start = now - timedelta(hours=hours)
    counts = [0] * hours
    with db.session() as session:
        for (at,) in session.execute(select(Delivery.received_at).where(Delivery.received_at >= start)):
            index = int((aware(at) - start).total_seconds() // 3600)
            counts[min(max(index, 0), hours - 1)] += 1
    return counts


def hourly_verdict_latency(db: Database, now: datetime, hours: int = 24) -> list[float | None]:
    """The slowest verdict of each hour, from the first delivery it answered (received after
    the PR's previous evaluation started) to its evaluation's end; None for an hour without one."""
    start = now - timedelta(hours=hours)
    worst: list[float | None] = [None] * hours
    with db.session() as session:
        evaluations = session.execute(
            select(Evaluation.repo, Evaluation.number, Evaluation.started_at, Evaluation.finished_at)
            .where(Evaluation.finished_at >= start - timedelta(hours=1))
            .order_by(Evaluation.finished_at)
        ).all()
        deliveries = session.execute(
            select(Delivery.repo, Delivery.pr, Delivery.received_at)
            .where(Delivery.received_at >= start - timedelta(hours=2), Delivery.outcome == "queued",
                   Delivery.pr.is_not(None))
            .order_by(Delivery.received_at)
        ).all()
    waiting: dict[tuple[str, int], list[datetime]] = {}
    for repo, pr, received in deliveries:
        if repo is not None and pr is not None:
            waiting.setdefault((repo, pr), []).append(aware(received))
    taken: dict[tuple[str, int], int] = {}  # how many of a PR's deliveries earlier verdicts answered
    for repo, number, started, finished in evaluations:
        key = (repo, number)
        times = waiting.get(key, [])
        first = taken.get(key, 0)
        answered = first
        while answered < len(times) and times[answered] <= aware(started):
            answered += 1
        taken[key] = answered
        if answered == first or aware(finished) < start:
            continue  # no delivery of its own (a recheck by hand, the reconciler) or before the window
        index = min(max(int((aware(finished) - start).total_seconds() // 3600), 0), hours - 1)
        seconds = max(0.0, (aware(finished) - times[first]).total_seconds())
        worst[index] = max(worst[index] or 0.0, seconds)
    return worst


def troubles(db: Database, repos: set[str] | None, limit: int = 200) -> list[Trouble]:
    """Owed evaluations and evaluations that gave up, of `repos` (None: all), oldest first."""
    out: list[Trouble] = []
    with db.session() as session:
        owed = session.scalars(select(PullState).where(PullState.done_seq < PullState.wanted_seq))
        for state in owed:
            if repos is None or state.repo in repos:
                out.append(Trouble(state.repo, state.number, "owed", aware(state.updated_at), state.trigger or ""))
        failed = session.scalars(select(GateVerdict).where(GateVerdict.conclusion == "error"))
        for row in failed:
            if repos is None or row.repo in repos:
                out.append(Trouble(row.repo, row.number, "failed", aware(row.evaluated_at), row.error or ""))
    out.sort(key=lambda t: t.since)
    return out[:limit]


def failed_job_count(db: Database, since: datetime) -> int:
    with db.session() as session:
        return int(session.scalar(
            select(func.count()).select_from(GateJob)
            .where(GateJob.outcome.like("failed%"), GateJob.created_at >= since)
        ) or 0)


def mark(db: Database, name: str, detail: str) -> None:
    with db.session() as session:
        session.merge(StatusMark(name=name, at=utcnow(), detail=detail[:500]))


def marks(db: Database) -> dict[str, tuple[datetime, str]]:
    with db.session() as session:
        return {m.name: (aware(m.at), m.detail) for m in session.scalars(select(StatusMark))}


def repos_of_accounts(db: Database, accounts: set[str]) -> set[str]:
    """Every repository the bot knows of whose owner is one of `accounts` (casefolded)."""
    names: set[str] = set()
    with db.session() as session:
        for table in (InstallationRepo.repo, PullState.repo, WaiverRecord.repo, CommandAudit.repo):
            names.update(r for (r,) in session.execute(select(table).distinct()))
    return {n for n in names if n.split("/", 1)[0].casefold() in accounts}


def accounts(db: Database) -> set[str]:
    """The accounts (owners) of every repository the bot has seen."""
    with db.session() as session:
        names = {r for (r,) in session.execute(select(InstallationRepo.repo).distinct())}
        names |= {r for (r,) in session.execute(select(PullState.repo).distinct())}
    return {n.split("/", 1)[0] for n in names}


# -- the audit export ---------------------------------------------------------------------------------

AUDIT_FIELDS = (
    "kind", "at", "repo", "number", "actor", "command", "outcome", "reason", "detail", "head_sha", "revoked_by",
    "revoked_at",
)
_BATCH = 500


def audit_rows(
    db: Database, repos: set[str] | None, repo: str | None, since: datetime | None, until: datetime | None
) -> Iterator[dict[str, Any]]:
    """Waivers, then commands, each in id order, read in batches so a year of audit is never
    in memory at once. `repos` limits what the caller may see (None: everything)."""

    def wanted(model: Any) -> list[Any]:
        clauses = []
        if repo is not None:
            clauses.append(model.repo == repo)
        elif repos is not None:
            clauses.append(model.repo.in_(sorted(repos)) if repos else model.repo.is_(None))
        if since is not None:
            clauses.append(model.created_at >= since)
        if until is not None:
            clauses.append(model.created_at < until)
        return clauses

    sources: list[tuple[Any, Callable[[Any], dict[str, Any]]]] = [
        (WaiverRecord, _waiver_row), (CommandAudit, _command_row), (BotPassRecord, _bot_pass_row)
    ]
    for model, shape in sources:
        after = 0
        while True:
            with db.session() as session:
                batch = list(
                    session.scalars(
                        select(model).where(model.id > after, *wanted(model)).order_by(model.id).limit(_BATCH)
                    )
                )
            for row in batch:
                yield shape(row)
            if len(batch) < _BATCH:
                break
            after = batch[-1].id


def _iso(moment: datetime | None) -> str:
    return aware(moment).isoformat() if moment is not None else ""


def _waiver_row(w: WaiverRecord) -> dict[str, Any]:
    return {
        "kind": "waiver", "at": _iso(w.created_at), "repo": w.repo, "number": w.number, "actor": w.by,
        "command": f"/gate waive {w.pattern}", "outcome": "revoked" if w.revoked_at else "active",
        "reason": w.reason, "detail": f"{len(json.loads(w.fingerprints))} findings", "head_sha": w.head_sha,
        "revoked_by": w.revoked_by or "", "revoked_at": _iso(w.revoked_at),
    }


def _bot_pass_row(b: BotPassRecord) -> dict[str, Any]:
    return {
        "kind": "bot", "at": _iso(b.created_at), "repo": b.repo, "number": b.number, "actor": b.approvers,
        "command": f"bots: {b.bot}", "outcome": "passed",
        "reason": f"opened by {b.bot}, changing only paths listed for it",
        "detail": f"{b.paths} files; 1 approval instead of {b.required}", "head_sha": b.head_sha,
        "revoked_by": "", "revoked_at": "",
    }


def _command_row(c: CommandAudit) -> dict[str, Any]:
    return {
        "kind": "command", "at": _iso(c.created_at), "repo": c.repo, "number": c.number, "actor": c.actor,
        "command": c.command, "outcome": c.outcome, "reason": c.reason, "detail": c.detail,
        "head_sha": c.head_sha, "revoked_by": "", "revoked_at": "",
    }


# -- sessions -------------------------------------------------------------------------------------


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def open_session(db: Database, session_id: str, login: str, token: str, lifetime: timedelta) -> None:
    now = utcnow()
    with db.session() as session:
        session.query(WebSession).filter(WebSession.expires_at < now).delete()
        session.add(WebSession(digest=_digest(session_id), login=login, token=token, created_at=now,
                               expires_at=now + lifetime))


def find_session(db: Database, session_id: str) -> tuple[str, str] | None:
    """(login, GitHub token) of a live session."""
    with db.session() as session:
        row = session.get(WebSession, _digest(session_id))
        if row is None or aware(row.expires_at) <= utcnow():
            return None
        return row.login, row.token


def close_session(db: Database, session_id: str) -> None:
    with db.session() as session:
        session.query(WebSession).filter_by(digest=_digest(session_id)).delete()

