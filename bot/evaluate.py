"""One evaluation of one pull request: gather facts, analyse, decide, report.

Jobs are idempotent and coalesced (see `bot.store.pull_state`): a job is queued only when none is
waiting, and takes every event recorded by the time it starts, so a burst of events gives
one evaluation of the latest head. The head evaluated is the one GitHub reports when the
job starts, whatever head the events named: an event may be old (GitHub redelivers past
events on request, and deliveries can arrive out of order), and coalescing keeps only the
head of the latest one to arrive, so trusting it could cost the real head its evaluation.
"""

from __future__ import annotations

import json
import logging
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from github import BadCredentialsException, GithubException, UnknownObjectException
from github.PullRequest import PullRequest
from github.Repository import Repository

import rules
from bot import report
from bot.analysis import Analyzer, is_notice, is_python
from bot.diff import added_lines
from bot.github import gather, suggestions
from bot.github.client import reason_of
from bot.github.publish import CheckRunPublisher, publish_comment
from bot.isolation import OutOfTime
from bot.policy.decide import decide
from bot.policy.facts import (
    APPROVED,
    Facts,
    FindingFact,
    Hold,
    Waiver,
    file_digest,
    fingerprint,
    is_bot,
)
from bot.policy.repo_config import (
    GateConfig,
    has_permission,
)
from bot.policy.verdict import Verdict
from bot.runtime import Runtime
from bot.store import pull_state
from bot.store.db import Evaluation, HeadPush, HoldRecord, WaiverRecord, utcnow
from bot.store.pull_state import Owed

log = logging.getLogger(__name__)

def run(rt: Runtime, queued: Owed, *, last_attempt: bool) -> str:
    """Evaluate; returns the outcome label. Raises to let the queue retry."""
    job = pull_state.take(rt.db, queued)
    if job is None:
        return "superseded"
    repo: Repository | None = None
    publisher: CheckRunPublisher | None = None
    try:
        gh = rt.github.client(job.installation_id)
        repo = gh.get_repo(job.repo)  # lazy: the client is, so this costs no request
        pull = repo.get_pull(job.number)
        try:
            head = pull.head.sha  # reading it fetches the PR
        except UnknownObjectException:
            pull_state.release(rt.db, job, done=True)
            return "gone"
        if pull.state != "open":
            pull_state.release(rt.db, job, done=True)
            return "closed"
        publisher = CheckRunPublisher(rt.db, repo, job.repo, head)
        started = utcnow()
        publisher.start()
        conclusion = _evaluate(rt, job, repo, pull, head, publisher, started)
        pull_state.release(rt.db, job, done=True)
        return conclusion
    except Exception as exc:
        if isinstance(exc, UnknownObjectException) and repo is not None and _vanished(repo, job.number):
            # The PR (or its repository) was deleted while we evaluated: nothing to report on.
            pull_state.release(rt.db, job, done=True)
            return "gone"
        if isinstance(exc, BadCredentialsException):
            # The cached installation token was refused (revoked, or the clocks disagree):
            # the retry starts with a new one.
            rt.github.forget_installation(job.installation_id)
        if last_attempt:
            _give_up(rt, job, repo, publisher, exc)
        else:
            pull_state.release(rt.db, job, done=False)
        raise


def _vanished(repo: Repository, number: int) -> bool:
    """Whether GitHub says the PR is gone; any other answer (or none) is not proof of it."""
    try:
        repo.get_pull(number).head.sha  # noqa: B018  # reading it fetches the PR
    except UnknownObjectException:
        return True
    except Exception:  # GitHub failing here is the original error's business  # noqa: BLE001
        return False
    return False


def _give_up(
    rt: Runtime, job: Owed, repo: Repository | None, publisher: CheckRunPublisher | None, exc: Exception
) -> None:
    reason = reason_of(exc)
    log.error("giving up on %s#%s after the last retry: %s", job.repo, job.number, reason)
    try:
        if publisher is None and job.head_sha is not None and repo is not None:
            publisher = CheckRunPublisher(rt.db, repo, job.repo, job.head_sha)
        if publisher is not None:  # None: no client (no App credentials), nothing to report to
            publisher.fail(reason)
    except Exception:
        # GitHub is unreachable even for this: the run stays pending (or absent), which
        # blocks the merge as a required check until GitHub's Re-run or the next event.
        log.exception("could not mark %s#%s as failed", job.repo, job.number)
    finally:
        pull_state.release(rt.db, job, done=True)


def _head_pushers(rt: Runtime, repo_name: str, number: int, head: str) -> tuple[str, ...]:
    with rt.db.session() as session:
        rows = session.query(HeadPush.pusher).filter_by(repo=repo_name, number=number, head_sha=head)
        return tuple(sorted(pusher for (pusher,) in rows))


def _stored_state(rt: Runtime, repo_name: str, number: int) -> tuple[tuple[Waiver, ...], Hold | None, dict[str, str]]:
    with rt.db.session() as session:
        waivers = tuple(
            Waiver(
                pattern=w.pattern,
                reason=w.reason,
                by=w.by,
                fingerprints=frozenset(json.loads(w.fingerprints)),
                created_at=w.created_at.isoformat(),
            )
            for w in session.query(WaiverRecord)
            .filter_by(repo=repo_name, number=number, revoked_at=None)
            .order_by(WaiverRecord.id)
        )
        record = session.get(HoldRecord, (repo_name, number))
        hold = Hold(record.by, record.created_at.isoformat(), record.reason) if record else None
        earlier = session.query(Evaluation.head_sha, Evaluation.head_digest).filter_by(repo=repo_name, number=number)
        digests = {sha: digest for sha, digest in earlier}
    return waivers, hold, digests


@dataclass(frozen=True)
class Assessment:
    """One pull request at one head: every fact gathered and the gate's verdict. No writes."""

    head: str
    config: GateConfig
    facts: Facts
    verdict: Verdict
    findings: tuple[rules.Finding, ...]
    fingerprints: tuple[str, ...]  # of `findings`, in the same order
    line_sources: Mapping[tuple[str, int], str]  # (path, line) -> text, for suggestions
    changed_lines: Mapping[str, frozenset[int]]  # lines a review comment may be put on
    not_analyzed: tuple[tuple[str, str], ...]
    whole_files: tuple[str, ...]
    notes: tuple[str, ...]
    head_digest: str


def assess(
    rt: Runtime, repo_name: str, number: int, repo: Repository, pull: PullRequest, head: str,
    permissions: gather.Permissions | None = None,
) -> Assessment:
    # Gathering and analysis share the budget; what it leaves unanalysed blocks the check.
    deadline = time.monotonic() + rt.settings.evaluation_seconds
    gathered = gather.changes(repo, pull)
    config = gathered.config
    github = rt.github
    analyzer = Analyzer(rt.db, config.rules, lambda sha, limit: github.read_blob(repo, sha, limit), rt.isolation)
    findings: list[rules.Finding] = []
    fingerprints: list[str] = []
    facts_findings: list[FindingFact] = []
    sources: dict[tuple[str, int], str] = {}
    changed_lines: dict[str, frozenset[int]] = {}
    not_analyzed: list[tuple[str, str]] = []
    out_of_time: list[str] = []
    whole_files: list[str] = []
    for changed in gathered.files:
        if changed.status == "removed" or not is_python(changed.path):
            continue
        if not config.rules.wants_path(changed.path):
            not_analyzed.append((changed.path, "excluded by `paths` in the repository's configuration"))
            continue
        if changed.patch is None:
            lines = None
            whole_files.append(changed.path)
        else:
            lines = added_lines(changed.patch)
            changed_lines[changed.path] = lines
            if not lines:
                continue  # a pure rename or deletions only: no line of the PR's own to check
        try:
            result = analyzer.analyze(changed, lines, deadline)
        except OutOfTime:
            out_of_time.append(changed.path)
            not_analyzed.append((
                changed.path,
                f"Not analysed: the evaluation's time budget of {rt.settings.evaluation_seconds:g} s ran out.",
            ))
            continue
        seen: Counter[tuple[str, str]] = Counter()
        for finding in result.findings:
            source = result.line_sources.get(finding.line, "")
            sources[(finding.path, finding.line)] = source
            normalised = " ".join(source.split())
            occurrence = seen[(finding.code, normalised)]
            seen[(finding.code, normalised)] += 1
            mark = fingerprint(finding.code, finding.path, source, occurrence)
            findings.append(finding)
            fingerprints.append(mark)
            facts_findings.append(
                FindingFact(
                    code=finding.code,
                    slug=finding.slug,
                    severity=str(finding.severity),
                    path=finding.path,
                    line=finding.line,
                    message=finding.message,
                    fingerprint=mark,
                    suppressed=finding.suppressed,
                )
            )
            if is_notice(finding):
                not_analyzed.append((finding.path, finding.message))
    notes: list[str] = []
    config_changed = any(
        f.path == rules.CONFIG_PATH or f.previous_path == rules.CONFIG_PATH for f in gathered.files
    )
    # Every listed file with what GitHub says of it (the files API gives no file modes), and the
    # count of files listed or not: renaming another file, or moving a rename's source, is a
    # different change.
    head_digest = file_digest(
        (
            (f.status, f.path, f.previous_path or "", f"patch:{f.patch}" if f.patch is not None else f"blob:{f.blob_sha}")
            for f in gathered.files
        ),
        files_total=gathered.total_files,
    )
    author, author_type = pull.user.login, pull.user.type or "User"
    reviews = gather.reviews(pull)
    permissions = permissions or gather.Permissions(repo)
    reviewers = sorted(
        {r.user for r in reviews if r.user.casefold() != author.casefold() and not is_bot(r.user, r.user_type)}
    )
    roles = {login: permissions.of(login) for login in reviewers}
    approvers = sorted({r.user for r in reviews if r.state == APPROVED and r.user in roles})
    teams = gather.team_members(repo, config.teams, approvers) if config.teams and approvers else {}
    waivers, hold, digests = _stored_state(rt, repo_name, number)
    # Who pushed or committed what matters only to an approval that could count: without one,
    # the commits are not listed (no extra request).
    minimum = config.approvals.min_permission
    judged = not config.approvals.last_pusher_counts and any(has_permission(roles[a], minimum) for a in approvers)
    commits, commits_complete = gather.commits(pull, head) if judged else ((), True)
    facts = Facts(
        repo=repo_name,
        number=number,
        head_sha=head,
        author=author,
        author_type=author_type,
        reviews=reviews,
        permissions=roles,
        team_members=teams,
        changed_paths=tuple(f.path for f in gathered.files),
        findings=tuple(facts_findings),
        waivers=waivers,
        hold=hold,
        digests=digests,
        head_digest=head_digest,
        config_error=gathered.config_error,
        config_changed_by_pr=config_changed,
        not_analyzed=tuple(not_analyzed),
        head_pushers=_head_pushers(rt, repo_name, number, head),
        commits=commits,
        commits_complete=commits_complete,
        files_listed=len(gathered.files),
        files_total=gathered.total_files,
        out_of_time=tuple(out_of_time),
    )
    verdict = decide(facts, config)
    return Assessment(
        head=head,
        config=config,
        facts=facts,
        verdict=verdict,
        findings=tuple(findings),
        fingerprints=tuple(fingerprints),
        line_sources=sources,
        changed_lines=changed_lines,
        not_analyzed=tuple(not_analyzed),
        whole_files=tuple(whole_files),
        notes=tuple(notes),
        head_digest=head_digest,
    )


def _evaluate(
    rt: Runtime,
    job: Owed,
    repo: Repository,
    pull: PullRequest,
    head: str,
    publisher: CheckRunPublisher,
    started: datetime,
) -> str:
    found = assess(rt, job.repo, job.number, repo, pull, head)
    verdict = found.verdict
    outcome = report.Outcome(
        head_sha=head,
        conclusion=verdict.conclusion,
        title=verdict.title,
        verdict_summary=verdict.summary,
        findings=found.findings,
        not_analyzed=found.not_analyzed,
        whole_files=found.whole_files,
        notes=found.notes,
        unmet=tuple(c.key for c in verdict.unmet),
    )
    annotations = report.annotations_for(found.findings)
    publisher.complete(
        verdict.conclusion,
        verdict.title,
        report.summary(outcome, rt.settings.rules_docs_url),
        annotations,
        actions=[report.RECHECK_ACTION],
    )
    if found.config.comment == "sticky":
        publish_comment(
            rt.db, repo, job.repo, job.number, outcome, found.fingerprints, rt.settings.rules_docs_url,
            wrote=rt.github.wrote,
        )
    with rt.db.session() as session:
        session.add(
            Evaluation(
                repo=job.repo,
                number=job.number,
                head_sha=head,
                head_digest=found.head_digest,
                conclusion=verdict.conclusion,
                title=verdict.title,
                findings_digest=report.digest(annotations),
                trigger=job.trigger,
                started_at=started,
            )
        )
    if found.config.suggestions and not found.facts.config_error:
        try:
            offered = suggestions.collect(found.findings, found.fingerprints, found.changed_lines, found.line_sources)
            suggestions.publish(rt.db, repo, job.repo, job.number, head, offered)
        except GithubException as exc:
            # Advice, not the verdict: the check is already right, and failing the job here
            # would turn it red. The next evaluation offers them again (none was recorded).
            log.error("could not post suggestions on %s#%s: %s", job.repo, job.number, reason_of(exc))
    return verdict.conclusion
