"""`POST /webhook`: verify, record, enqueue, acknowledge. Nothing slow happens here.

Order matters: the size limit and the signature are checked on the raw bytes before any
parsing, so an unsigned request costs one HMAC and never reaches the JSON parser, the
database or GitHub. What the delivery asks for is read by `bot.web.events`; it is recorded
(`bot.store`) before it is queued (`Runtime.queue`), and acknowledged only once recorded.

The steps are the same whichever server runs them: `read` (size, signature, headers, JSON,
route) gives an `Answer` or a `Pending` delivery; the delivery log records it; `conclude`
queues what it owes and gives the `Answer`; `done` logs the line and times it. `python app.py`
runs them on its event loop (`bot.web.asgi`); the Flask route below runs them in a request
thread, for WSGI servers (`gunicorn 'app:create_app()'`).
"""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, current_app, request
from sqlalchemy import Connection, delete, insert, select, update

from bot.metrics import DELIVERIES, WEBHOOK_PHASE_SECONDS, WEBHOOK_SECONDS
from bot.runtime import Runtime
from bot.store import pull_state
from bot.store.db import GateJob, InstallationRepo, OrgPolicyRecord, utcnow
from bot.store.deliveries import Incoming, Recorded
from bot.store.pull_state import Owed
from bot.web.events import KNOWN_EVENTS, BadPayload, GateJobRef, Outcome, Routed, route
from bot.web.signature import verify_signature

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__)

# Header values of an unsigned request are anyone's: logged as these characters only.
_UNSAFE = re.compile(r"[^A-Za-z0-9._/-]")


@dataclass
class Seen:
    """One delivery as it is read: what its log line says, and where its time went."""

    # The X-GitHub-Event and X-GitHub-Delivery headers as sent (anyone's: cleaned when logged).
    event: str | None = None
    guid: str | None = None
    action: str | None = None
    repo: str | None = None
    numbers: list[int] = field(default_factory=list)
    outcome: str = "?"
    # Milliseconds per phase (`bot.metrics.WEBHOOK_PHASE_SECONDS`), in the order they ran.
    phases: dict[str, float] = field(default_factory=dict)
    batch: int = 0
    started: float = field(default_factory=time.perf_counter)
    mark: float = field(init=False)

    def __post_init__(self) -> None:
        self.mark = self.started

    def lap(self, phase: str, seconds: float | None = None) -> None:
        """The time since the last lap (or `seconds`) goes to `phase`."""
        now = time.perf_counter()
        spent = now - self.mark if seconds is None else seconds
        self.mark = now
        self.phases[phase] = spent * 1000
        WEBHOOK_PHASE_SECONDS.labels(phase=phase).observe(spent)


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any] | None  # None: no body (204)

    def content(self) -> bytes:
        return b"" if self.body is None else json.dumps(self.body, separators=(",", ":")).encode()


@dataclass
class Pending:
    """A delivery read and verified, to be recorded (`Pending.incoming`) then concluded."""

    incoming: Incoming
    routed: Routed
    # Whether the gate job it records is owed, set by its bookkeeping in the writer's transaction.
    job_owed: list[bool] = field(default_factory=list)


def _clean(value: str | None, limit: int = 64) -> str:
    return _UNSAFE.sub("?", value[:limit]) if value else "-"


def done(seen: Seen, status: int) -> None:
    """One line per delivery: GUID, event.action, repo#numbers, outcome, status, milliseconds."""
    took = time.perf_counter() - seen.started
    WEBHOOK_SECONDS.observe(took)
    event = _clean(seen.event)
    if seen.action:
        event += "." + _clean(seen.action)
    target = _clean(seen.repo, 200) if seen.repo else "-"
    if seen.numbers:
        target += "#" + ",".join(str(n) for n in seen.numbers[:10])
    phases = " ".join(f"{name} {ms:.1f}" for name, ms in seen.phases.items())
    if seen.batch:
        phases += f" (batch of {seen.batch})"
    log.info(
        "delivery %s %s %s %s %d %.1f ms%s", _clean(seen.guid), event, target,
        seen.outcome, status, took * 1000, f" | {phases}" if phases else "",
    )


def _record_installation(conn: Connection, event: str, payload: dict[str, Any], installation_id: int | None) -> None:
    if installation_id is None:
        return
    table = InstallationRepo
    action = payload.get("action")
    if event == "installation" and action == "deleted":
        conn.execute(delete(table).where(table.installation_id == installation_id))
        return
    added = payload.get("repositories_added" if event == "installation_repositories" else "repositories") or []
    removed = payload.get("repositories_removed") or []
    names = [i["full_name"] for i in added if isinstance(i, dict) and isinstance(i.get("full_name"), str)]
    gone = [i["full_name"] for i in removed if isinstance(i, dict) and isinstance(i.get("full_name"), str)]
    if names or gone:
        # Replace rather than upsert: portable across SQLite and PostgreSQL.
        conn.execute(
            delete(table).where(table.installation_id == installation_id, table.repo.in_(names + gone))
        )
    if names:
        conn.execute(insert(table), [{"installation_id": installation_id, "repo": n, "added_at": utcnow()} for n in names])


def _record_job(conn: Connection, ref: GateJobRef, repo: str, installation_id: int) -> bool:
    """Record the job in the delivery's transaction; whether it is owed (to be queued).

    Another delivery of the same comment or group finds the row: a finished job is not
    run again, except when its check is asked to run again (`ref.data` None).
    """
    row = conn.execute(select(GateJob.done).where(GateJob.key == ref.key)).first()
    if ref.data is None:
        if row is None:
            return False  # not a merge group we know: nothing to run again
        conn.execute(update(GateJob).where(GateJob.key == ref.key).values(done=False, outcome=None))
        return True
    if row is not None:
        return not row.done
    conn.execute(
        insert(GateJob).values(
            key=ref.key, kind=ref.kind, repo=repo, number=ref.data.get("number"), installation_id=installation_id,
            payload=json.dumps(ref.data), done=False, created_at=utcnow(),
        )
    )
    return True


def _enqueue_job(rt: Runtime, seen: Seen, event: str, guid: str, ref: GateJobRef, owed: bool) -> Answer:
    if not owed:
        return _reply(seen, 202, event, "recorded: nothing to run")
    try:
        rt.queue.enqueue_gate_job(ref.key)
    except Exception:
        log.exception("could not enqueue delivery %s", guid)
        rt.deliveries.mark(guid, "enqueue-failed")
        return _reply(seen, 503, event, "enqueue-failed")
    seen.lap("enqueue")
    return _reply(seen, 202, event, "queued", job=ref.key)


def _reply(seen: Seen, status: int, event: str, outcome: str, **body: Any) -> Answer:
    seen.outcome = outcome
    DELIVERIES.labels(event=event if event in KNOWN_EVENTS else "other", outcome=outcome.split(":")[0]).inc()
    return Answer(status, {"outcome": outcome, **body})


def too_large(seen: Seen) -> Answer:
    """A body over `REVIEWGATE_MAX_BODY_BYTES`: refused unread (413)."""
    return _reply(seen, 413, "unknown", "too large")


def read(rt: Runtime, body: bytes, signature: str | None, seen: Seen) -> Answer | Pending:
    """The signature, the headers and the payload checked and read (the body within its
    limit already): the answer when there is nothing to record, else the delivery to record."""
    seen.lap("read")
    settings = rt.settings
    secret = settings.webhook_secret.get_secret_value().encode() if settings.webhook_secret else b""
    if secret or not settings.dev_insecure:
        if not verify_signature(secret, body, signature):
            return _reply(seen, 401, "unknown", "bad signature")
    seen.lap("verify")
    event, guid = seen.event or "", seen.guid or ""
    if not event or not guid or len(guid) > 64 or len(event) > 64:
        return _reply(
            seen, 400, "unknown", "missing headers", error="X-GitHub-Event and X-GitHub-Delivery are required"
        )
    try:
        payload = json.loads(body)
        if not isinstance(payload, dict):
            raise BadPayload("the body is not a JSON object")
        routed = route(event, payload)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # JSONDecodeError, BadPayload: ValueErrors; RecursionError: a nesting bomb
        return _reply(seen, 400, event, "bad payload", error=str(exc)[:200])

    seen.lap("parse")
    action = payload.get("action") if isinstance(payload.get("action"), str) else None
    seen.action, seen.repo = action, routed.repo
    seen.numbers = [ref.number for ref in routed.pulls]
    if routed.job is not None and routed.job.data is not None and isinstance(routed.job.data.get("number"), int):
        seen.numbers = [routed.job.data["number"]]
    extra = None
    job_owed: list[bool] = []
    if routed.outcome is Outcome.RECORDED:
        installation_id, policy_owner = routed.installation_id, routed.policy_owner

        def extra(conn: Connection) -> None:
            _record_installation(conn, event, payload, installation_id)
            if policy_owner is not None:
                conn.execute(delete(OrgPolicyRecord).where(OrgPolicyRecord.owner == policy_owner.casefold()))

    elif routed.job is not None and routed.repo is not None and routed.installation_id is not None:
        job_ref, repo_name, inst = routed.job, routed.repo, routed.installation_id

        def extra(conn: Connection) -> None:
            job_owed[:] = [_record_job(conn, job_ref, repo_name, inst)]

    incoming = Incoming(
        guid=guid, event=event, action=action, outcome=str(routed.outcome), trigger=f"{event}.{action}",
        repo=routed.repo, installation_id=routed.installation_id, pulls=routed.pulls,
        pusher=routed.pusher, extra=extra,
    )
    return Pending(incoming, routed, job_owed)


def conclude(rt: Runtime, pending: Pending, recorded: Recorded | BaseException, seen: Seen) -> Answer:
    """The answer once the delivery log is done with the delivery (`recorded`, or why it
    could not record it): what it owes queued."""
    event, guid, routed = pending.incoming.event, pending.incoming.guid, pending.routed
    if isinstance(recorded, BaseException):
        # Not recorded means not acknowledged: GitHub lists the delivery as failed, and
        # redelivering it retries.
        log.error("could not record delivery %s", guid, exc_info=recorded)
        return _reply(seen, 503, event, "not recorded")
    # The request's share of recording is waking up once the writer is done.
    recording = time.perf_counter() - seen.mark
    seen.lap("wait", recorded.waited)
    seen.lap("write", recorded.wrote)
    seen.lap("resume", max(0.0, recording - recorded.waited - recorded.wrote))
    seen.batch = recorded.batch
    if recorded.duplicate:
        return _reply(seen, 202, event, "duplicate", first_outcome=recorded.first_outcome)
    if routed.outcome is Outcome.PONG:
        return _reply(seen, 200, event, "pong", msg="pong")
    if routed.job is not None:
        return _enqueue_job(rt, seen, event, guid, routed.job, bool(pending.job_owed and pending.job_owed[0]))
    if not routed.pulls:
        if routed.outcome is Outcome.RECORDED:
            return _reply(seen, 202, event, str(routed.outcome))
        DELIVERIES.labels(event=event if event in KNOWN_EVENTS else "other", outcome="ignored").inc()
        seen.outcome = "ignored"
        return Answer(204, None)
    action = pending.incoming.action
    try:
        for ref, seq in zip(routed.pulls, recorded.to_queue, strict=True):
            if seq is not None:
                rt.queue.enqueue_evaluation(
                    Owed(ref.repo, ref.number, ref.installation_id, ref.head_sha, seq, f"{event}.{action}")
                )
    except Exception:
        log.exception("could not enqueue delivery %s", guid)
        rt.deliveries.mark(guid, "enqueue-failed")
        pull_state.unqueue(rt.db, [(ref.repo, ref.number) for ref in routed.pulls])
        return _reply(seen, 503, event, "enqueue-failed")
    seen.lap("enqueue")
    return _reply(seen, 202, event, "queued", pulls=[r.number for r in routed.pulls])


@bp.post("/webhook")
def webhook() -> Response:
    seen = Seen(event=request.headers.get("X-GitHub-Event"), guid=request.headers.get("X-GitHub-Delivery"))
    try:
        answer = _receive(current_app.extensions["reviewgate"], seen)
    except Exception as exc:  # logged here, raised on: Flask answers it (413, or 500)
        seen.outcome = "raised"
        done(seen, getattr(exc, "code", None) or 500)
        raise
    done(seen, answer.status)
    return Response(answer.content(), answer.status, mimetype=None if answer.body is None else "application/json")


def _receive(rt: Runtime, seen: Seen) -> Answer:
    if request.content_length is not None and request.content_length > rt.settings.max_body_bytes:
        return too_large(seen)
    body = request.get_data(cache=False)  # Flask's MAX_CONTENT_LENGTH bounds a chunked body
    first = read(rt, body, request.headers.get("X-Hub-Signature-256"), seen)
    if isinstance(first, Answer):
        return first
    try:
        recorded: Recorded | BaseException = rt.deliveries.record(first.incoming)
    except Exception as exc:
        recorded = exc
    return conclude(rt, first, recorded, seen)
