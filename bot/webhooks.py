"""`POST /webhook`: verify, record, enqueue, acknowledge. Nothing slow happens here.

Order matters: the size limit and the signature are checked on the raw bytes before any
parsing, so an unsigned request costs one HMAC and never reaches the JSON parser, the
database or GitHub.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from sqlalchemy import Connection, delete, insert, select, update

from bot.metrics import DELIVERIES
from bot.policy.commands import parse_commands
from bot.policy.facts import is_bot
from bot.report import CHECK_NAME, RECHECK_IDENTIFIER
from bot.runtime import Runtime
from bot.store import pull_state
from bot.store.db import GateJob, HeadPush, InstallationRepo, utcnow
from bot.store.deliveries import Incoming
from bot.store.pull_state import Owed, PullRef

log = logging.getLogger(__name__)

bp = Blueprint("webhooks", __name__)

PR_ACTIONS = {"opened", "synchronize", "reopened", "ready_for_review", "edited"}
# Actions that bring a head commit onto the pull request; their sender pushed it.
PUSH_ACTIONS = {"opened", "synchronize", "reopened"}
REVIEW_ACTIONS = {"submitted", "edited", "dismissed"}
MAX_LOGIN = 100  # GitHub logins are at most 39 characters; bots add "[bot]"
KNOWN_EVENTS = {
    "ping", "pull_request", "check_run", "check_suite", "installation", "installation_repositories",
    "pull_request_review", "issue_comment", "merge_group", "push",
}


class BadPayload(ValueError):
    """Signed, but not the shape GitHub sends for this event."""


@dataclass(frozen=True)
class GateJobRef:
    key: str
    kind: str  # commands | merge_group
    data: dict[str, Any] | None  # None: run the recorded job again (a re-run of its check)


@dataclass(frozen=True)
class Routed:
    outcome: str  # queued | ignored | recorded | pong
    pulls: tuple[PullRef, ...] = ()
    repo: str | None = None
    installation_id: int | None = None
    job: GateJobRef | None = None
    pusher: str | None = None  # who brought the head of `pulls[0]` (pull_request PUSH_ACTIONS)


def verify_signature(secret: bytes, body: bytes, header: str | None) -> bool:
    if not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.encode())


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _required(data: Any, kind: type, *path: str) -> Any:
    value = _get(data, *path)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise BadPayload(f"`{'.'.join(path)}` is missing or not a {kind.__name__}")
    return value


def comment_job(payload: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The command job a comment asks for, or None: not on a pull request, by a bot, or
    holding no `/gate` line. Pure, so the webhook can decide before acknowledging."""
    issue = payload.get("issue") or {}
    comment = payload.get("comment") or {}
    user = comment.get("user") or {}
    if not isinstance(issue, dict) or not issue.get("pull_request"):
        return None  # a plain issue: the gate has nothing to say there
    login, kind = user.get("login"), user.get("type") or "User"
    if not isinstance(login, str) or is_bot(login, kind):
        return None  # bots, ours included, are never answered
    body = comment.get("body")
    if not isinstance(body, str) or not parse_commands(body):
        return None
    comment_id, number = comment.get("id"), issue.get("number")
    if not isinstance(comment_id, int) or not isinstance(number, int):
        return None
    return f"comment:{comment_id}", {
        "comment_id": comment_id,
        "number": number,
        "actor": login,
        "actor_type": kind,
        "body": body,
        "created_at": comment.get("created_at") or "",
    }


def merge_group_job(payload: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The merge-group job a `merge_group.checks_requested` event asks for, or None if malformed."""
    group = payload.get("merge_group") or {}
    head_sha, head_ref = group.get("head_sha"), group.get("head_ref")
    repo = (payload.get("repository") or {}).get("full_name")
    if not all(isinstance(v, str) and v for v in (head_sha, head_ref, repo)):
        return None
    return f"merge_group:{repo}@{head_sha}", {
        "head_sha": head_sha,
        "head_ref": head_ref,
        "base_sha": group.get("base_sha") or "",
        "base_ref": group.get("base_ref") or "",
    }


def route(event: str, payload: dict[str, Any]) -> Routed:
    action = payload.get("action")
    repo = _get(payload, "repository", "full_name")
    repo = repo if isinstance(repo, str) else None
    installation = _get(payload, "installation", "id")
    installation_id = installation if isinstance(installation, int) and not isinstance(installation, bool) else None

    if event == "ping":
        return Routed("pong", repo=repo)
    if event in ("installation", "installation_repositories"):
        return Routed("recorded", repo=repo, installation_id=installation_id)

    pulls: list[tuple[int, str | None]] = []
    job: GateJobRef | None = None
    pusher: str | None = None
    if event == "pull_request" and action in PR_ACTIONS:
        if action == "edited" and "base" not in (payload.get("changes") or {}):
            return Routed("ignored", repo=repo)
        pulls.append(
            (_required(payload, int, "pull_request", "number"), _required(payload, str, "pull_request", "head", "sha"))
        )
        sender = _get(payload, "sender", "login")
        if action in PUSH_ACTIONS and isinstance(sender, str) and 0 < len(sender) <= MAX_LOGIN:
            pusher = sender
    elif event == "pull_request_review" and action in REVIEW_ACTIONS:
        pulls.append(
            (_required(payload, int, "pull_request", "number"), _required(payload, str, "pull_request", "head", "sha"))
        )
    elif event in ("check_run", "check_suite") and (
        action == "rerequested" or (event == "check_run" and action == "requested_action")
    ):
        subject = _required(payload, dict, event)
        if event == "check_run" and subject.get("name") != CHECK_NAME:
            return Routed("ignored", repo=repo)
        if action == "requested_action" and _get(payload, "requested_action", "identifier") != RECHECK_IDENTIFIER:
            return Routed("ignored", repo=repo)
        head = _required(subject, str, "head_sha")
        for pr in subject.get("pull_requests") or []:
            pulls.append((_required(pr, int, "number"), head))
        if not pulls and repo is not None and installation_id is not None:
            # No pull request on the commit: it may be a merge group's; re-run its check.
            job = GateJobRef(f"merge_group:{repo}@{head}", "merge_group", None)
            return Routed("queued", repo=repo, installation_id=installation_id, job=job)
    elif event == "issue_comment" and action == "created":
        found = comment_job(payload)
        if found is None:
            return Routed("ignored", repo=repo)
        job = GateJobRef(found[0], "commands", found[1])
    elif event == "merge_group" and action == "checks_requested":
        found = merge_group_job(payload)
        if found is None:
            raise BadPayload("`merge_group.head_sha`, `merge_group.head_ref` or `repository` is missing")
        job = GateJobRef(found[0], "merge_group", found[1])
    else:
        return Routed("ignored", repo=repo)

    if repo is None:
        raise BadPayload("`repository.full_name` is missing")
    if installation_id is None:
        # Not sent by an installation of the app (e.g. a repository webhook): nothing to act for.
        return Routed("ignored: no installation", repo=repo)
    if job is not None:
        return Routed("queued", repo=repo, installation_id=installation_id, job=job)
    if not pulls:
        return Routed("ignored: no pull request", repo=repo, installation_id=installation_id)
    refs = tuple(PullRef(repo, number, installation_id, head) for number, head in pulls)
    return Routed("queued", pulls=refs, repo=repo, installation_id=installation_id, pusher=pusher)


def _record_push(conn: Connection, ref: PullRef, pusher: str, action: str | None) -> None:
    """Remember who brought this head (see `HeadPush`); a delivery retried after a failed
    enqueue records it again, so replace rather than insert (portable, unlike upserts)."""
    if ref.head_sha is None or len(ref.head_sha) > 64:
        return
    key = (HeadPush.repo == ref.repo, HeadPush.number == ref.number, HeadPush.head_sha == ref.head_sha,
           HeadPush.pusher == pusher)
    conn.execute(delete(HeadPush).where(*key))
    conn.execute(
        insert(HeadPush),
        [{"repo": ref.repo, "number": ref.number, "head_sha": ref.head_sha, "pusher": pusher,
          "action": (action or "")[:32], "received_at": utcnow()}],
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


def _enqueue_job(rt: Runtime, event: str, guid: str, ref: GateJobRef, owed: bool) -> Response:
    if not owed:
        return _reply(202, event, "recorded: nothing to run")
    try:
        rt.queue.enqueue_gate_job(ref.key)
    except Exception:
        log.exception("could not enqueue delivery %s", guid)
        rt.deliveries.mark(guid, "enqueue-failed")
        return _reply(503, event, "enqueue-failed")
    return _reply(202, event, "queued", job=ref.key)


def _reply(status: int, event: str, outcome: str, **body: Any) -> Response:
    DELIVERIES.labels(event=event if event in KNOWN_EVENTS else "other", outcome=outcome.split(":")[0]).inc()
    response = jsonify(outcome=outcome, **body)
    response.status_code = status
    return response


@bp.post("/webhook")
def webhook() -> Response:
    rt: Runtime = current_app.extensions["reviewgate"]
    settings = rt.settings
    if request.content_length is not None and request.content_length > settings.max_body_bytes:
        return _reply(413, "unknown", "too large")
    body = request.get_data(cache=False)  # Flask's MAX_CONTENT_LENGTH bounds a chunked body
    secret = settings.webhook_secret.get_secret_value().encode() if settings.webhook_secret else b""
    if secret or not settings.dev_insecure:
        if not verify_signature(secret, body, request.headers.get("X-Hub-Signature-256")):
            return _reply(401, "unknown", "bad signature")
    event = request.headers.get("X-GitHub-Event", "")
    guid = request.headers.get("X-GitHub-Delivery", "")
    if not event or not guid or len(guid) > 64 or len(event) > 64:
        return _reply(400, "unknown", "missing headers", error="X-GitHub-Event and X-GitHub-Delivery are required")
    try:
        payload = json.loads(body)
        if not isinstance(payload, dict):
            raise BadPayload("the body is not a JSON object")
        routed = route(event, payload)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # JSONDecodeError, BadPayload: ValueErrors; RecursionError: a nesting bomb
        return _reply(400, event, "bad payload", error=str(exc)[:200])

    action = payload.get("action") if isinstance(payload.get("action"), str) else None
    extra = None
    job_owed: list[bool] = []
    if routed.outcome == "recorded":
        installation_id = routed.installation_id

        def extra(conn: Connection) -> None:
            _record_installation(conn, event, payload, installation_id)

    elif routed.job is not None and routed.repo is not None and routed.installation_id is not None:
        job_ref, repo_name, inst = routed.job, routed.repo, routed.installation_id

        def extra(conn: Connection) -> None:
            job_owed[:] = [_record_job(conn, job_ref, repo_name, inst)]

    elif routed.pusher is not None and routed.pulls:
        push_ref, pusher = routed.pulls[0], routed.pusher

        def extra(conn: Connection) -> None:
            _record_push(conn, push_ref, pusher, action)

    try:
        recorded = rt.deliveries.record(
            Incoming(
                guid=guid, event=event, action=action, outcome=routed.outcome, trigger=f"{event}.{action}",
                repo=routed.repo, installation_id=routed.installation_id, pulls=routed.pulls, extra=extra,
            )
        )
    except Exception:
        # Not recorded means not acknowledged: GitHub lists the delivery as failed, and
        # redelivering it retries.
        log.exception("could not record delivery %s", guid)
        return _reply(503, event, "not recorded")
    if recorded.duplicate:
        return _reply(202, event, "duplicate", first_outcome=recorded.first_outcome)
    if routed.outcome == "pong":
        return _reply(200, event, "pong", msg="pong")
    if routed.job is not None:
        return _enqueue_job(rt, event, guid, routed.job, bool(job_owed and job_owed[0]))
    if not routed.pulls:
        if routed.outcome == "recorded":
            return _reply(202, event, routed.outcome)
        DELIVERIES.labels(event=event if event in KNOWN_EVENTS else "other", outcome="ignored").inc()
        return Response(status=204)
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
        return _reply(503, event, "enqueue-failed")
    return _reply(202, event, "queued", pulls=[r.number for r in routed.pulls])
