"""One evaluation of one pull request: gather facts, analyse, decide, report.

Jobs are idempotent and coalesced (see `PullState`): a job is queued only when none is
waiting, and takes every event recorded by the time it starts, so a burst of events gives
one evaluation of the latest head. A job whose head sha is no longer the PR's head does
nothing: the event for the new head brings its own job.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import requests
from github import BadCredentialsException, GithubException, UnknownObjectException
from github.PullRequest import PullRequest
from github.Repository import Repository
from urllib3.exceptions import MaxRetryError

import rules
from bot import report
from bot.analysis import Analyzer, ChangedFile, decode_blob, is_python
from bot.db import Evaluation, PullState, utcnow
from bot.diff import added_lines
from bot.gate import Facts, FindingFact, file_digest, fingerprint
from bot.publish import CheckRunPublisher, publish_comment
from bot.repo_config import DEFAULT_CONFIG, GateConfig, parse_repo_config
from bot.runtime import Runtime
from bot.verdict import decide

log = logging.getLogger(__name__)

MAX_FILES = 3000  # GitHub lists at most this many files of a pull request


@dataclass(frozen=True)
class Job:
    repo: str
    number: int
    installation_id: int
    head_sha: str | None  # the head the event was about; None = whatever the head is now
    seq: int
    trigger: str


@dataclass(frozen=True)
class Gathered:
    files: tuple[ChangedFile, ...]
    total_files: int
    config: GateConfig
    config_error: str | None
    default_branch: str


def _take(rt: Runtime, job: Job) -> Job | None:
    """Start: cover every event recorded so far. None when a newer job already did."""
    with rt.db.session() as session:
        state = session.get(PullState, (job.repo, job.number), with_for_update=True)
        if state is None:  # queued by hand, or by an older version: evaluate as asked
            return job
        if state.started_seq >= state.wanted_seq:
            return None  # a job running or done covers every event recorded
        state.started_seq = state.wanted_seq
        return Job(
            job.repo, job.number, state.installation_id, state.head_sha, state.wanted_seq,
            state.trigger or job.trigger,
        )


def _release(rt: Runtime, job: Job, done: bool) -> None:
    """Finish (done) or give the events back to the retry or the next job (not done)."""
    with rt.db.session() as session:
        state = session.get(PullState, (job.repo, job.number), with_for_update=True)
        if state is None:
            return
        if done:
            state.done_seq = max(state.done_seq, job.seq)
        else:
            state.started_seq = state.done_seq
        state.updated_at = utcnow()


def reason_of(exc: BaseException) -> str:
    """A one-line reason for the check run; never the request headers or tokens."""
    if isinstance(exc, GithubException):
        message = exc.data.get("message") if isinstance(exc.data, dict) else None
        return f"GitHub answered {exc.status}" + (f" ({message})" if message else "")
    if isinstance(exc, requests.RequestException):
        inner = exc.args[0] if exc.args else None
        if isinstance(inner, MaxRetryError):
            # The URL's path only: the host may be an internal GitHub Enterprise name.
            path = urlsplit(inner.url or "").path
            return f"GitHub kept failing on {path} ({getattr(inner.reason, 'args', [inner.reason])[0]})"
        return f"could not reach GitHub ({type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}"[:300]


def run(rt: Runtime, queued: Job, *, last_attempt: bool) -> str:
    """Evaluate; returns the outcome label. Raises to let the queue retry."""
    job = _take(rt, queued)
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
            _release(rt, job, done=True)
            return "gone"
        if job.head_sha and head != job.head_sha:
            # The PR moved on since the latest event we have; the push's own event follows.
            _release(rt, job, done=True)
            return "stale"
        if pull.state != "open":
            _release(rt, job, done=True)
            return "closed"
        publisher = CheckRunPublisher(rt.db, repo, job.repo, head)
        started = utcnow()
        publisher.start()
        conclusion = _evaluate(rt, job, repo, pull, head, publisher, started)
        _release(rt, job, done=True)
        return conclusion
    except Exception as exc:
        if isinstance(exc, BadCredentialsException):
            # The cached installation token was refused (revoked, or the clocks disagree):
            # the retry starts with a new one.
            rt.github.forget_installation(job.installation_id)
        if last_attempt:
            _give_up(rt, job, repo, publisher, exc)
        else:
            _release(rt, job, done=False)
        raise


def _give_up(
    rt: Runtime, job: Job, repo: Repository | None, publisher: CheckRunPublisher | None, exc: Exception
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
        _release(rt, job, done=True)


def _gather(repo: Repository, pull: PullRequest) -> Gathered:
    default_branch = pull.base.repo.default_branch
    config_error = None
    config = DEFAULT_CONFIG
    try:
        content = repo.get_contents(rules.CONFIG_PATH, ref=default_branch)
        if isinstance(content, list):  # a directory with the file's name
            raise rules.ConfigError(rules.CONFIG_PATH, None, "is a directory, not a file")
        config = parse_repo_config(content.decoded_content.decode("utf-8", "replace"))
    except UnknownObjectException:
        config = DEFAULT_CONFIG
    except rules.ConfigError as exc:
        config_error = str(exc)
    files: list[ChangedFile] = []
    for f in pull.get_files():
        files.append(ChangedFile(f.filename, f.status, f.sha, f.patch, f.previous_filename))
        if len(files) >= MAX_FILES:
            break
    return Gathered(tuple(files), pull.changed_files, config, config_error, default_branch)


def _evaluate(
    rt: Runtime,
    job: Job,
    repo: Repository,
    pull: PullRequest,
    head: str,
    publisher: CheckRunPublisher,
    started: datetime,
) -> str:
    gathered = _gather(repo, pull)
    config = gathered.config
    analyzer = Analyzer(
        rt.db, config.rules, lambda sha: decode_blob(*_blob(repo, sha))
    )
    findings: list[rules.Finding] = []
    facts_findings: list[FindingFact] = []
    not_analyzed: list[tuple[str, str]] = []
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
            if not lines:
                continue  # a pure rename or deletions only: no line of the PR's own to check
        result = analyzer.analyze(changed, lines)
        seen: Counter[tuple[str, str]] = Counter()
        for finding in result.findings:
            findings.append(finding)
            source = result.line_sources.get(finding.line, "")
            normalised = " ".join(source.split())
            occurrence = seen[(finding.code, normalised)]
            seen[(finding.code, normalised)] += 1
            facts_findings.append(
                FindingFact(
                    code=finding.code,
                    slug=finding.slug,
                    severity=str(finding.severity),
                    path=finding.path,
                    line=finding.line,
                    message=finding.message,
                    fingerprint=fingerprint(finding.code, finding.path, source, occurrence),
                    suppressed=finding.suppressed,
                )
            )
            if finding.code.startswith("RG0"):
                not_analyzed.append((finding.path, finding.message))
    notes = []
    if gathered.total_files > len(gathered.files):
        notes.append(
            f"The pull request changes {gathered.total_files:,} files; GitHub lists only the first "
            f"{len(gathered.files):,}, so the rest were not analysed."
        )
    config_changed = any(
        f.path == rules.CONFIG_PATH or f.previous_path == rules.CONFIG_PATH for f in gathered.files
    )
    if config_changed:
        notes.append(
            f"This pull request changes `{rules.CONFIG_PATH}`; it was evaluated with the version on "
            f"`{gathered.default_branch}`, as a pull request cannot change its own gate."
        )
    head_digest = file_digest(
        (f.path, f.patch if f.patch is not None else f"blob:{f.blob_sha}") for f in gathered.files
    )
    with rt.db.session() as session:
        earlier = session.query(Evaluation.head_sha, Evaluation.head_digest).filter_by(
            repo=job.repo, number=job.number
        )
        digests = {sha: digest for sha, digest in earlier}
    facts = Facts(
        repo=job.repo,
        number=job.number,
        head_sha=head,
        author=pull.user.login,
        author_type=pull.user.type or "User",
        changed_paths=tuple(f.path for f in gathered.files),
        findings=tuple(facts_findings),
        digests=digests,
        head_digest=head_digest,
        config_error=gathered.config_error,
        config_changed_by_pr=config_changed,
        not_analyzed=tuple(not_analyzed),
    )
    verdict = decide(facts, config)
    outcome = report.Outcome(
        head_sha=head,
        conclusion=verdict.conclusion,
        title=verdict.title,
        verdict_summary=verdict.summary,
        findings=tuple(findings),
        not_analyzed=tuple(not_analyzed),
        whole_files=tuple(whole_files),
        notes=tuple(notes),
    )
    annotations = report.annotations_for(findings)
    publisher.complete(
        verdict.conclusion, verdict.title, report.summary(outcome, rt.settings.rules_docs_url), annotations
    )
    if config.comment == "sticky":
        publish_comment(
            rt.db, repo, job.repo, job.number, outcome,
            [f.fingerprint for f in facts_findings], rt.settings.rules_docs_url,
        )
    with rt.db.session() as session:
        session.add(
            Evaluation(
                repo=job.repo,
                number=job.number,
                head_sha=head,
                head_digest=head_digest,
                conclusion=verdict.conclusion,
                title=verdict.title,
                findings_digest=report.digest(annotations),
                trigger=job.trigger,
                started_at=started,
            )
        )
    return verdict.conclusion


def _blob(repo: Repository, sha: str) -> tuple[str, str]:
    blob = repo.get_git_blob(sha)
    return blob.content, blob.encoding
