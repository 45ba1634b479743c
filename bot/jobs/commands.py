"""Command jobs: the `/gate` lines of a pull-request comment, applied, then acknowledged.

A command comment is recorded as a `GateJob` row in the delivery's own transaction (see
`bot.web.webhooks`), so an acknowledged delivery is never lost; the queue carries only the
row's key. A command takes effect from the comment's text as it was delivered: editing or
deleting the comment later changes nothing.

Commands on one pull request are applied under its `CommandLock` row, in the order they were
written: the job of a comment applies every earlier comment still owed, then its own, and
marks each job done in the transaction that writes its audit rows and the state it changes,
so no comment is applied twice, whichever worker gets there first. What GitHub must tell
(permissions, the findings a waiver covers) is asked before the lock is taken: a transaction
never waits on GitHub. Reactions and the reply are a job of their own (`ack:<comment id>`),
recorded in that same transaction.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from github import UnknownObjectException
from github.IssueComment import IssueComment
from github.PullRequest import PullRequest
from github.Repository import Repository
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import render
from bot.github import publish
from bot.github.client import MadeOnce
from bot.github.gather import Permissions
from bot.jobs.assess import Assessment, assess
from bot.policy.commands import (
    HELP_TEXT,
    KNOWN,
    OPEN_COMMANDS,
    Command,
    authorize,
    explain,
    parse_commands,
)
from bot.render import short
from bot.runtime import Runtime
from bot.store import pull_state
from bot.store.db import (
    CommandAudit,
    CommandLock,
    GateJob,
    HoldRecord,
    WaiverRecord,
    utcnow,
)

log = logging.getLogger(__name__)

STATE_CHANGING = frozenset({"recheck", "waive", "unwaive", "hold", "unhold"})
# A comment of a thousand `/gate` lines must not become a thousand writes and checks.
MAX_COMMANDS = 10
# `help` and `explain` answer anyone; per user and pull request, once in this interval.
ANSWER_INTERVAL = timedelta(minutes=1)
# Rounds of asking GitHub and then applying under the lock, when what the lock finds
# (a newly recorded comment, a hold placed meanwhile) needs facts not yet asked for.
_GATHER_ROUNDS = 3


def _enqueue_evaluation(rt: Runtime, repo: str, number: int, installation_id: int, seq: int, trigger: str) -> None:
    try:
        rt.queue.enqueue_evaluation(pull_state.Owed(repo, number, installation_id, None, seq, trigger))
    except Exception:
        # Still owed: the next event or start-up queues it.
        pull_state.unqueue(rt.db, [(repo, number)])
        raise


@dataclass(frozen=True)
class _Result:
    command: Command
    outcome: str  # accepted | refused | unknown | throttled | ignored
    reply: str  # what to say in the reply ("" for nothing)


@dataclass(frozen=True)
class _Owed:
    """A command comment recorded and not yet applied."""

    key: str
    comment_id: int
    installation_id: int
    actor: str
    actor_type: str
    commands: tuple[Command, ...]  # at most MAX_COMMANDS + 1: the first one not run
    total: int  # commands in the comment


@dataclass
class _Facts:
    """What GitHub said, asked before taking the lock."""

    head: str
    author: str
    permissions: Permissions
    roles: dict[str, str] = field(default_factory=dict)  # casefolded login -> role
    found: Assessment | None = None

    def role(self, login: str) -> str:
        try:
            return self.roles[login.casefold()]
        except KeyError:
            raise _MissingFacts(logins=(login,)) from None


class _MissingFacts(Exception):
    """The lock found something the facts asked for beforehand do not cover."""

    def __init__(self, logins: Iterable[str] = (), assessment: bool = False) -> None:
        super().__init__("facts missing")
        self.logins, self.assessment = tuple(logins), assessment


@dataclass(frozen=True)
class _Applied:
    outcomes: dict[str, str]  # job key -> outcome
    acknowledgements: list[str]  # ack job keys to queue
    seq: int | None  # the evaluation to queue


def run_commands(rt: Runtime, key: str, repo_name: str, installation_id: int, data: dict[str, Any]) -> str:
    """Apply the comment's commands, after those of earlier comments on the PR still owed."""
    comment_id, number = int(data["comment_id"]), int(data["number"])
    gh = rt.github.client(installation_id)
    repo = gh.get_repo(repo_name)
    pull = repo.get_pull(number)
    try:
        head = pull.head.sha  # reading it fetches the PR
    except UnknownObjectException:
        return "gone"
    facts = _Facts(head=head, author=pull.user.login, permissions=Permissions(repo))
    _ensure_lock_row(rt, repo_name, number)
    logins: set[str] = set()
    assessment = False
    for _ in range(_GATHER_ROUNDS):
        with rt.db.session() as session:
            owed = _owed(session, repo_name, number, comment_id)
            hold = session.get(HoldRecord, (repo_name, number))
            if hold is not None and any(c.name in ("hold", "unhold") for o in owed for c in o.commands[:MAX_COMMANDS]):
                logins.add(hold.by)  # whether the hold's placer outranks whoever lifts or replaces it
        if all(o.key != key for o in owed):
            return "done already"  # applied by the job of a later comment
        _gather(rt, repo_name, number, repo, pull, facts, owed, logins, assessment)
        try:
            with rt.db.session() as session:
                applied = _apply_owed(session, repo_name, number, key, comment_id, facts)
        except _MissingFacts as missing:
            log.info("%s: the commands owed on %s#%s changed meanwhile; asking GitHub again", key, repo_name, number)
            logins.update(missing.logins)
            assessment = assessment or missing.assessment
            continue
        break
    else:
        raise RuntimeError(f"the commands on {repo_name}#{number} kept changing while being applied")
    if applied is None:
        return "done already"
    # Committed: the evaluation and the acknowledgements are owed in the database already.
    if applied.seq is not None:
        _enqueue_evaluation(rt, repo_name, number, installation_id, applied.seq, "issue_comment.command")
    for ack in applied.acknowledgements:
        rt.queue.enqueue_gate_job(ack)
    return applied.outcomes[key]


def _ensure_lock_row(rt: Runtime, repo: str, number: int) -> None:
    try:
        with rt.db.session() as session:
            if session.get(CommandLock, (repo, number)) is None:
                session.add(CommandLock(repo=repo, number=number))
    except IntegrityError:
        pass  # another worker created it at the same moment


def _owed(session: Session, repo: str, number: int, upto: int) -> list[_Owed]:
    """The PR's command comments not yet applied, up to comment `upto`, in the order written
    (comment ids grow with time)."""
    rows = session.query(GateJob).filter(
        GateJob.kind == "commands", GateJob.repo == repo, GateJob.number == number, GateJob.done.is_(False),
    )
    owed = []
    for row in rows:
        data = json.loads(row.payload)
        comment_id = int(data["comment_id"])
        if comment_id <= upto:
            commands = parse_commands(str(data["body"]))
            owed.append(
                _Owed(
                    row.key, comment_id, row.installation_id, str(data["actor"]),
                    str(data.get("actor_type") or "User"), tuple(commands[: MAX_COMMANDS + 1]), len(commands),
                )
            )
    return sorted(owed, key=lambda o: o.comment_id)


def _gather(
    rt: Runtime, repo_name: str, number: int, repo: Repository, pull: PullRequest, facts: _Facts,
    owed: list[_Owed], logins: set[str], assessment: bool,
) -> None:
    """Ask GitHub what applying `owed` needs: the roles of the people involved, and the
    findings on the head if a waiver may be given."""
    wanted = set(logins)
    for job in owed:
        if any(not c.error and c.name not in OPEN_COMMANDS for c in job.commands[:MAX_COMMANDS]):
            wanted.add(job.actor)
    for login in wanted:
        if login.casefold() not in facts.roles:
            facts.roles[login.casefold()] = facts.permissions.of(login)
    for job in owed:
        for command in job.commands[:MAX_COMMANDS]:
            if command.name == "waive" and not command.error:
                role = facts.roles.get(job.actor.casefold())
                assessment = assessment or authorize(command, job.actor, job.actor_type, facts.author, role)[0]
    if assessment and facts.found is None:
        facts.found = assess(rt, repo_name, number, repo, pull, facts.head, facts.permissions)


def _apply_owed(session: Session, repo: str, number: int, key: str, upto: int, facts: _Facts) -> _Applied | None:
    """Under the PR's lock: apply every owed comment up to `upto` and mark each job done,
    in this one transaction. None if the job `key` was applied meanwhile."""
    lock = session.get(CommandLock, (repo, number), with_for_update=True)
    if lock is None:
        lock = CommandLock(repo=repo, number=number)
        session.add(lock)
    owed = _owed(session, repo, number, upto)
    if all(o.key != key for o in owed):
        return None
    outcomes: dict[str, str] = {}
    acknowledgements = []
    changed = False
    for job in owed:
        applied = _apply_comment(session, repo, number, job, facts)
        changed = changed or any(o == "accepted" and n in STATE_CHANGING for n, o in applied)
        outcome = ", ".join(f"{n or '?'}:{o}" for n, o in applied) or "no commands"
        row = session.get(GateJob, job.key)
        assert row is not None
        row.done, row.outcome, row.finished_at = True, outcome[:200], utcnow()
        outcomes[job.key] = outcome
        ack = f"ack:{job.comment_id}"
        if session.get(GateJob, ack) is None:
            session.add(
                GateJob(
                    key=ack, kind="acknowledge", repo=repo, number=number, installation_id=job.installation_id,
                    payload=json.dumps({"comment_id": job.comment_id, "number": number}), done=False,
                    created_at=utcnow(),
                )
            )
        acknowledgements.append(ack)
    seq = None
    if changed:
        # Whatever the head is when the job runs: the command was about the PR, not a commit.
        seq = pull_state.owe(session, repo, number, owed[-1].installation_id, "issue_comment.command")
    lock.applied_at = utcnow()
    return _Applied(outcomes, acknowledgements, seq)


def _apply_comment(session: Session, repo: str, number: int, job: _Owed, facts: _Facts) -> list[tuple[str, str]]:
    """Apply one comment's commands, each with its audit row; (name, outcome) of each."""
    # Positions audited by an earlier version of this job, which applied commands one by one.
    done = {p for (p,) in session.query(CommandAudit.position).filter_by(comment_id=job.comment_id)}
    out = []
    for position, command in enumerate(job.commands):
        if position in done:
            continue
        if position < MAX_COMMANDS:
            outcome, detail = _run_one(session, repo, number, job, command, facts)
        else:
            # Recorded once for the whole rest, however long the comment.
            outcome, detail = "refused", _too_many(job)
        if outcome == "ignored":
            out.append((command.name, outcome))
            continue
        session.add(
            CommandAudit(
                comment_id=job.comment_id, position=position, repo=repo, number=number, actor=job.actor,
                command=command.raw[:2000], name=(command.name or "")[:32], reason=command.reason,
                head_sha=facts.head, outcome=outcome, detail=detail, created_at=utcnow(),
            )
        )
        session.flush()  # the next command sees this one's hold or waiver
        out.append((command.name, outcome))
    return out


def _too_many(job: _Owed) -> str:
    rest = job.total - MAX_COMMANDS
    tail = "this one was not run" if rest == 1 else f"this one and the {rest - 1} after it were not run"
    return f"A comment runs at most {MAX_COMMANDS} commands; {tail}."


def _run_one(session: Session, repo: str, number: int, job: _Owed, command: Command, facts: _Facts) -> tuple[str, str]:
    needs_permission = not command.error and command.name not in OPEN_COMMANDS
    permission = facts.role(job.actor) if needs_permission else None
    hold = None
    if command.name in ("hold", "unhold") and not command.error:
        record = session.get(HoldRecord, (repo, number))
        if record is not None and record.by.casefold() != job.actor.casefold():
            hold = (record.by, facts.role(record.by))  # their role now, not when they held
    ok, why = authorize(command, job.actor, job.actor_type, facts.author, permission, hold=hold)
    if not ok:
        return ("ignored", "") if not why else ("unknown" if command.name not in KNOWN else "refused", why)
    if command.name in OPEN_COMMANDS and _answered_recently(session, repo, number, job):
        return "throttled", f"{render.login(job.actor)} was answered on this pull request less than a minute ago"
    if command.name == "waive" and facts.found is None:
        raise _MissingFacts(assessment=True)
    return _apply(session, command, repo, number, job.actor, facts.head, facts.found)


def _answered_recently(session: Session, repo: str, number: int, job: _Owed) -> bool:
    """Did `help` or `explain` in another comment of the same user here get an answer lately?"""
    since = utcnow() - ANSWER_INTERVAL
    return session.query(CommandAudit.id).filter(
        CommandAudit.repo == repo, CommandAudit.number == number, CommandAudit.actor == job.actor,
        CommandAudit.name.in_(sorted(OPEN_COMMANDS)), CommandAudit.outcome == "accepted",
        CommandAudit.comment_id != job.comment_id, CommandAudit.created_at > since,
    ).first() is not None


def _apply(
    session: Session, command: Command, repo: str, number: int, actor: str, head: str, found: Assessment | None
) -> tuple[str, str]:
    """Apply an authorised command; (outcome, detail). Runs in the audit row's transaction."""
    name = command.name
    if name in ("help", "explain", "recheck"):
        return "accepted", ""
    if name == "waive":
        assert found is not None
        pattern = command.code
        marks = sorted(
            {
                f.fingerprint
                for f in found.facts.findings
                if f.code.upper().startswith(pattern) and not f.suppressed
            }
        )
        if not marks:
            return "refused", (
                f"There is no {render.code(pattern)} finding on the changed lines at `{short(head)}`, so there is "
                "nothing to waive. A waiver covers the findings present when it is given."
            )
        session.add(
            WaiverRecord(
                repo=repo, number=number, pattern=pattern, reason=command.reason, by=actor,
                head_sha=head, fingerprints=json.dumps(marks), created_at=utcnow(),
            )
        )
        return "accepted", f"waived {len(marks)} finding(s) of {render.code(pattern)} at `{short(head)}`"
    if name == "unwaive":
        active = (
            session.query(WaiverRecord)
            .filter_by(repo=repo, number=number, pattern=command.code, revoked_at=None)
            .all()
        )
        if not active:
            return "refused", f"There is no active waiver of {render.code(command.code)} on this pull request."
        now = utcnow()
        for waiver in active:
            waiver.revoked_by, waiver.revoked_at = actor, now
        return "accepted", f"took back {len(active)} waiver(s) of {render.code(command.code)}"
    if name == "hold":
        session.merge(HoldRecord(repo=repo, number=number, by=actor, reason=command.reason, created_at=utcnow()))
        return "accepted", ""
    if name == "unhold":
        record = session.get(HoldRecord, (repo, number))
        if record is not None:
            session.delete(record)
        return "accepted", ""
    return "unknown", f"{render.code(f'/gate {name}')} is not a command. See `/gate help`."


def acknowledge(rt: Runtime, key: str, repo_name: str, installation_id: int, data: dict[str, Any]) -> str:
    """React to an applied command comment and reply once, as its audit rows say."""
    comment_id, number = int(data["comment_id"]), int(data["number"])
    with rt.db.session() as session:
        job = session.get(GateJob, f"comment:{comment_id}")
        body = str(json.loads(job.payload).get("body") or "") if job is not None else ""
        rows = {a.position: (a.outcome, a.detail) for a in session.query(CommandAudit).filter_by(comment_id=comment_id)}
    results = []
    for position, command in enumerate(parse_commands(body)[: MAX_COMMANDS + 1]):
        outcome, detail = rows.get(position, ("ignored", ""))
        results.append(_Result(command, outcome, _reply_for(command, outcome, detail, rt)))
    retried = bool(data.get("replying"))
    if not retried and any(r.reply for r in results if r.outcome != "ignored"):
        # Noted before replying: a later attempt first looks for the reply this one may post.
        with rt.db.session() as session:
            row = session.get(GateJob, key)
            if row is not None:
                row.payload = json.dumps({**data, "replying": True})
    repo = rt.github.client(installation_id).get_repo(repo_name)
    _acknowledge(repo, number, comment_id, results, retried, rt.github.wrote, rt.github.made_once)
    return ", ".join(f"{r.command.name or '?'}:{r.outcome}" for r in results) or "nothing to acknowledge"


def _reply_for(command: Command, outcome: str, detail: str, rt: Runtime) -> str:
    if outcome in ("refused", "unknown"):
        return f"{render.code(command.raw)}: {detail}" if detail else ""
    if outcome == "accepted" and command.name == "help":
        return HELP_TEXT
    if outcome == "accepted" and command.name == "explain":
        return explain(command.code, rt.settings.rules_docs_url)
    return ""


def _acknowledge(
    repo: Repository, number: int, comment_id: int, results: list[_Result], retried: bool,
    wrote: Callable[[IssueComment], bool], made_once: MadeOnce,
) -> None:
    shown = [r for r in results if r.outcome != "ignored"]
    if not shown:
        return
    kinds = []
    if any(r.outcome == "accepted" for r in shown):
        kinds.append("+1")
    if any(r.outcome in ("refused", "unknown") for r in shown):
        kinds.append("confused")
    if any(r.outcome == "throttled" for r in shown):
        kinds.append("eyes")  # seen; answered a moment ago, so not again
    replies = [r.reply for r in shown if r.reply]
    publish.acknowledge(
        repo, number, comment_id, kinds, replies, retried=retried, wrote=wrote, made_once=made_once
    )
