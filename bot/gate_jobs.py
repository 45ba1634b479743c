"""Queued work other than evaluations: `/gate` commands and merge-group checks.

Both are recorded as a `GateJob` row in the delivery's own transaction, so an acknowledged
delivery is never lost; the queue carries only the row's key. A command takes effect from
the comment's text as it was delivered: editing or deleting the comment later changes
nothing. Each command's outcome is written to the audit table together with the state it
changes, in one transaction, so a retried job never applies a command twice.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from github import UnknownObjectException
from github.IssueComment import IssueComment
from github.PullRequest import PullRequest
from github.Repository import Repository
from sqlalchemy import Connection, insert, select
from sqlalchemy.orm import Session

from bot import render, report
from bot.commands import KNOWN, Command, authorize, explain, parse_commands
from bot.db import (
    CommandAudit,
    GateJob,
    HoldRecord,
    MergeGroupRecord,
    PullState,
    WaiverRecord,
    utcnow,
)
from bot.evaluate import Assessment, Permissions, assess
from bot.gate import is_bot, short
from bot.publish import CheckRunPublisher
from bot.runtime import Runtime

log = logging.getLogger(__name__)

REPLY_MARKER = "<!-- reviewgate:reply:{comment_id} -->"
STATE_CHANGING = frozenset({"recheck", "waive", "unwaive", "hold", "unhold"})
# gh-readonly-queue/<base branch>/pr-<number>-<sha of the commit the group was built on>
_QUEUE_REF = re.compile(r"^(?:refs/heads/)?gh-readonly-queue/(?P<base>.+)/pr-(?P<number>\d+)-(?P<sha>[0-9a-f]{40})$")


# -- recording (in the delivery's transaction) ---------------------------------------------------
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


def recorder(key: str, kind: str, repo: str, installation_id: int, data: dict[str, Any]) -> Callable[[Connection], bool]:
    """Insert the job row unless it exists (a new delivery of the same comment or group)."""

    def record(conn: Connection) -> bool:
        if conn.execute(select(GateJob.key).where(GateJob.key == key)).first() is not None:
            return False
        conn.execute(
            insert(GateJob).values(
                key=key, kind=kind, repo=repo, number=data.get("number"), installation_id=installation_id,
                payload=json.dumps(data), done=False, created_at=utcnow(),
            )
        )
        return True

    return record


# -- running -------------------------------------------------------------------------------------
def run(rt: Runtime, key: str, *, last_attempt: bool) -> str:
    with rt.db.session() as session:
        row = session.get(GateJob, key)
        if row is None or row.done:
            return "done already"
        kind, repo_name, installation_id, number = row.kind, row.repo, row.installation_id, row.number
        data = json.loads(row.payload)
        earlier = []
        if kind == "commands":
            # Commands on one PR take effect in the order they were written (a hold then an
            # unhold must not end held), whichever worker picks which job first. Comment ids
            # grow with time. The audit row of each command makes running one twice harmless.
            pending = session.query(GateJob).filter(
                GateJob.kind == "commands", GateJob.repo == repo_name, GateJob.number == number,
                GateJob.done.is_(False), GateJob.key != key,
            )
            earlier = sorted(
                (json.loads(j.payload)["comment_id"], j.key, j.installation_id, json.loads(j.payload))
                for j in pending
            )
            earlier = [e for e in earlier if e[0] < data["comment_id"]]
    try:
        for _, earlier_key, earlier_installation, earlier_data in earlier:
            _finish(rt, earlier_key, run_commands(rt, repo_name, earlier_installation, earlier_data))
        if kind == "commands":
            outcome = run_commands(rt, repo_name, installation_id, data)
        elif kind == "merge_group":
            outcome = check_merge_group(rt, repo_name, installation_id, data)
        else:
            outcome = f"unknown kind {kind}"
    except Exception as exc:
        if not last_attempt:
            raise
        outcome = f"failed: {type(exc).__name__}"
        _finish(rt, key, outcome)
        raise
    _finish(rt, key, outcome)
    return outcome


def _finish(rt: Runtime, key: str, outcome: str) -> None:
    with rt.db.session() as session:
        row = session.get(GateJob, key)
        if row is not None:
            row.done, row.outcome, row.finished_at = True, outcome[:200], utcnow()


def owe_evaluation(session: Session, repo: str, number: int, installation_id: int, trigger: str) -> int | None:
    """Record that the PR must be evaluated again (as a delivery does); the seq to queue, if any."""
    state = session.get(PullState, (repo, number), with_for_update=True)
    if state is None:
        state = PullState(
            repo=repo, number=number, installation_id=installation_id,
            wanted_seq=0, queued_seq=0, started_seq=0, done_seq=0,
        )
        session.add(state)
    state.wanted_seq += 1
    # Whatever the head is when the job runs: the command was about the PR, not a commit.
    state.head_sha = None
    state.trigger = trigger
    state.installation_id = installation_id
    state.updated_at = utcnow()
    if state.queued_seq > state.started_seq:
        return None  # a waiting job will take this too
    state.queued_seq = state.wanted_seq
    return state.wanted_seq


def _queue_evaluation(rt: Runtime, repo: str, number: int, installation_id: int, trigger: str) -> None:
    from bot.tasks import enqueue

    with rt.db.session() as session:
        seq = owe_evaluation(session, repo, number, installation_id, trigger)
    if seq is not None:
        try:
            enqueue(repo, number, installation_id, None, seq, trigger)
        except Exception:
            with rt.db.session() as session:
                state = session.get(PullState, (repo, number), with_for_update=True)
                if state is not None:
                    state.queued_seq = state.started_seq
            raise


@dataclass(frozen=True)
class _Result:
    command: Command
    outcome: str  # accepted | refused | unknown | ignored
    reply: str  # what to say in the reply ("" for nothing)


def run_commands(rt: Runtime, repo_name: str, installation_id: int, data: dict[str, Any]) -> str:
    comment_id, number = int(data["comment_id"]), int(data["number"])
    actor, actor_type = str(data["actor"]), str(data.get("actor_type") or "User")
    commands = parse_commands(str(data["body"]))
    gh = rt.github.client(installation_id)
    repo = gh.get_repo(repo_name)
    pull = repo.get_pull(number)
    try:
        head = pull.head.sha  # reading it fetches the PR
    except UnknownObjectException:
        return "gone"
    author = pull.user.login
    permissions = Permissions(repo)
    with rt.db.session() as session:
        done = {
            a.position: a
            for a in session.query(CommandAudit).filter_by(comment_id=comment_id)
        }
    retried = bool(done)
    results: list[_Result] = []
    found: Assessment | None = None
    for position, command in enumerate(commands):
        if position in done:  # applied by an earlier attempt of this job
            row = done[position]
            results.append(_Result(command, row.outcome, _reply_for(command, row.outcome, row.detail, rt)))
            continue
        needs_permission = not command.error and command.name not in ("help", "explain")
        permission = permissions.of(actor) if needs_permission else None
        ok, why = authorize(command, actor, actor_type, author, permission)
        if not ok and not why:
            results.append(_Result(command, "ignored", ""))
            continue
        outcome, detail = ("accepted", "") if ok else ("unknown" if command.name not in KNOWN else "refused", why)
        if ok and command.name == "waive" and found is None:
            found = assess(rt, repo_name, number, repo, pull, head, permissions)
        with rt.db.session() as session:
            if ok:
                outcome, detail = _apply(session, command, repo_name, number, actor, head, found)
            session.add(
                CommandAudit(
                    comment_id=comment_id, position=position, repo=repo_name, number=number, actor=actor,
                    command=command.raw[:2000], name=(command.name or "")[:32], reason=command.reason,
                    head_sha=head, outcome=outcome, detail=detail, created_at=utcnow(),
                )
            )
        results.append(_Result(command, outcome, _reply_for(command, outcome, detail, rt)))
    # The state change is committed: owe the evaluation before anything else can fail.
    if any(r.outcome == "accepted" and r.command.name in STATE_CHANGING for r in results):
        _queue_evaluation(rt, repo_name, number, installation_id, "issue_comment.command")
    _acknowledge(repo, repo_name, number, comment_id, results, retried, rt.github.wrote)
    return ", ".join(f"{r.command.name or '?'}:{r.outcome}" for r in results) or "no commands"


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


def _reply_for(command: Command, outcome: str, detail: str, rt: Runtime) -> str:
    if outcome in ("refused", "unknown"):
        return f"{render.code(command.raw)}: {detail}" if detail else ""
    if outcome == "accepted" and command.name == "help":
        from bot.commands import HELP_TEXT

        return HELP_TEXT
    if outcome == "accepted" and command.name == "explain":
        return explain(command.code, rt.settings.rules_docs_url)
    return ""


def _post(repo: Repository, path: str, body: dict[str, Any]) -> Any:
    _, data = repo.requester.requestJsonAndCheck("POST", f"{repo.url}{path}", input=body)
    return data


def _acknowledge(
    repo: Repository, repo_name: str, number: int, comment_id: int, results: list[_Result], retried: bool,
    wrote: Callable[[IssueComment], bool],
) -> None:
    """React (GitHub keeps one reaction per kind, so reacting again is harmless) and reply once."""
    shown = [r for r in results if r.outcome != "ignored"]
    if not shown:
        return
    kinds = []
    if any(r.outcome == "accepted" for r in shown):
        kinds.append("+1")
    if any(r.outcome in ("refused", "unknown") for r in shown):
        kinds.append("confused")
    for content in kinds:
        _post(repo, f"/issues/comments/{comment_id}/reactions", {"content": content})
    parts = [r.reply for r in shown if r.reply]
    if not parts:
        return
    marker = REPLY_MARKER.format(comment_id=comment_id)
    if retried:
        # An earlier attempt may have replied before it failed. Only a reply of the App's own
        # counts: anyone can type the marker.
        issue = repo.get_issue(number)
        if any(c.body and c.body.startswith(marker) and wrote(c) for c in issue.get_comments()):
            return
    body = "\n\n---\n\n".join([marker + "\n" + parts[0], *parts[1:]])
    _post(repo, f"/issues/{number}/comments", {"body": render.bounded(body, render.COMMENT_LIMIT)})


# -- merge groups ------------------------------------------------------------------------------
def group_pulls(
    rt: Runtime, repo: Repository, repo_name: str, data: dict[str, Any]
) -> tuple[list[int] | None, str]:
    """The pull requests a merge group holds, in queue order, or None and why not.

    GitHub names the group's branch after the pull request it adds
    (`gh-readonly-queue/main/pr-7-<sha>`), and builds it on `base_sha`: the base branch's
    tip for the first group in the queue, else the head of the group ahead of it, whose
    pull requests were recorded when that group was checked.
    """
    match = _QUEUE_REF.match(str(data.get("head_ref") or ""))
    if match is None:
        # Plain text: it becomes the check run's title.
        return None, f"the merge group's branch `{render.plain(data.get('head_ref'))}` is not a merge-queue branch"
    number = int(match.group("number"))
    base_sha = str(data.get("base_sha") or match.group("sha"))
    with rt.db.session() as session:
        ahead = session.get(MergeGroupRecord, (repo_name, base_sha))
        if ahead is not None:
            return [*json.loads(ahead.pulls), number], ""
    base_ref = str(data.get("base_ref") or match.group("base")).removeprefix("refs/heads/")
    # Asked directly: a lazy PyGithub commit would answer with the ref it was given.
    _, commit = repo.requester.requestJsonAndCheck("GET", f"{repo.url}/commits/{quote(base_ref)}")
    tip = commit.get("sha") if isinstance(commit, dict) else None
    if tip == base_sha:
        return [number], ""
    return None, (
        f"the merge group is built on `{short(base_sha)}`, which is neither the tip of `{render.plain(base_ref)}` nor "
        "a merge group Reviewgate has checked, so the pull requests ahead of "
        f"#{number} in the queue are unknown"
    )


def check_merge_group(rt: Runtime, repo_name: str, installation_id: int, data: dict[str, Any]) -> str:
    """Report `reviewgate` on the group's head: success only if every PR in it passes its
    gate at its own head (not at the group's merge commit, which nobody reviewed)."""
    head_sha = str(data["head_sha"])
    gh = rt.github.client(installation_id)
    repo = gh.get_repo(repo_name)
    publisher = CheckRunPublisher(rt.db, repo, repo_name, head_sha)
    publisher.start()
    numbers, why = group_pulls(rt, repo, repo_name, data)
    if numbers is None:
        title = f"Blocked: {why}"
        publisher.complete("failure", title, _group_summary(title, [], why), [], [report.RECHECK_ACTION])
        return "failure"
    with rt.db.session() as session:
        session.merge(MergeGroupRecord(repo=repo_name, head_sha=head_sha, pulls=json.dumps(numbers), created_at=utcnow()))
    lines: list[tuple[int, str, str, str]] = []  # number, head, conclusion, title
    for number in numbers:
        pull: PullRequest = repo.get_pull(number)
        head = pull.head.sha
        verdict = assess(rt, repo_name, number, repo, pull, head).verdict
        lines.append((number, head, verdict.conclusion, verdict.title))
    failed = [n for n, _, conclusion, _ in lines if conclusion != "success"]
    conclusion = "failure" if failed else "success"
    if failed:
        title = "Blocked: " + ", ".join(f"#{n}" for n in failed) + " does not pass its gate"
        if len(failed) > 1:
            title = title.replace("does not pass its gate", "do not pass their gates")
    else:
        title = f"Passed: {len(lines)} pull request{'s' if len(lines) != 1 else ''} pass their gates"
    summary = _group_summary(title, lines, "")
    publisher.complete(conclusion, title, summary, [], [report.RECHECK_ACTION])
    with rt.db.session() as session:
        record = session.get(MergeGroupRecord, (repo_name, head_sha))
        if record is not None:
            record.conclusion = conclusion
    return conclusion


def _group_summary(title: str, lines: list[tuple[int, str, str, str]], why: str) -> str:
    mark = "✓" if title.startswith("Passed") else "✗"
    out = [f"## {mark} {render.text(title)}", ""]
    if why:
        out += [
            "The gate cannot tell which pull requests this merge group holds, so it fails closed. "
            "Removing the pull request from the queue and adding it again builds a new group.",
            "",
        ]
    if lines:
        out += [
            "Each pull request in the merge group is judged by its own gate at its own head commit.",
            "",
            "| Pull request | Head | Gate |",
            "| --- | --- | --- |",
        ]
        for number, head, conclusion, verdict_title in lines:
            sign = "✓" if conclusion == "success" else "✗"
            out.append(f"| #{number} | `{short(head)}` | {sign} {render.cell(render.text(verdict_title))} |")
        out.append("")
    return "\n".join(out)
