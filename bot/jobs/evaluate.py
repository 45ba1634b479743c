"""The evaluation job: take the owed evaluation, assess the pull request, publish, release.

Jobs are idempotent and coalesced (see `bot.store.pull_state`): a job is queued only when none is
waiting, and takes every event recorded by the time it starts, so a burst of events gives
one evaluation of the latest head. The head evaluated is the one GitHub reports when the
job starts, whatever head the events named: an event may be old (GitHub redelivers past
events on request, and deliveries can arrive out of order), and coalescing keeps only the
head of the latest one to arrive, so trusting it could cost the real head its evaluation.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from github import BadCredentialsException, GithubException, UnknownObjectException
from github.PullRequest import PullRequest
from github.Repository import Repository

from bot import report
from bot.github import suggestions
from bot.github.client import reason_of
from bot.github.publish import CheckRunPublisher, publish_comment
from bot.jobs import record, review_requests
from bot.jobs.assess import assess, pool_size
from bot.runtime import Runtime
from bot.store import pull_state
from bot.store.db import Evaluation, utcnow
from bot.store.pull_state import Owed

log = logging.getLogger(__name__)


def run(rt: Runtime, queued: Owed, *, last_attempt: bool) -> str:
    """Evaluate; returns the outcome label. Raises to let the queue retry."""
    job = pull_state.take(rt.db, queued, timedelta(seconds=rt.settings.lease_seconds))
    if isinstance(job, str):
        return job  # busy: the running evaluation queues the next one; or superseded
    repo: Repository | None = None
    publisher: CheckRunPublisher | None = None
    try:
        gh = rt.github.client(job.installation_id)
        repo = gh.get_repo(job.repo)  # lazy: the client is, so this costs no request
        pull = repo.get_pull(job.number)
        try:
            head = pull.head.sha  # reading it fetches the PR
        except UnknownObjectException:
            _finish(rt, job)
            return "gone"
        if pull.state != "open":
            _finish(rt, job)
            return "closed"
        publisher = _publisher(rt, job, repo, head)
        wait = rt.github.rate_limit_wait(job.installation_id, rt.settings.github_rate_limit_reserve)
        if wait is not None:
            return _wait_for_rate_limit(rt, job, publisher, wait)
        started = utcnow()
        with ThreadPoolExecutor(max_workers=pool_size(rt), thread_name_prefix="evaluate") as pool:
            # The run shows "in progress" while the files are read, not after.
            shown = pool.submit(publisher.start)
            conclusion = _evaluate(rt, job, repo, pull, head, publisher, started, pool, shown)
        _finish(rt, job)
        return conclusion
    except Exception as exc:
        if isinstance(exc, UnknownObjectException) and repo is not None and _vanished(repo, job.number):
            # The PR (or its repository) was deleted while we evaluated: nothing to report on.
            _finish(rt, job)
            return "gone"
        if isinstance(exc, BadCredentialsException):
            # The cached installation token was refused (revoked, or the clocks disagree):
            # the retry starts with a new one, and so does the report of a last attempt.
            rt.github.forget_installation(job.installation_id)
            if last_attempt:
                repo = rt.github.client(job.installation_id).get_repo(job.repo)
                if publisher is not None:
                    publisher = _publisher(rt, job, repo, publisher.head_sha)
        if last_attempt:
            _give_up(rt, job, repo, publisher, exc)
        else:
            pull_state.release(rt.db, job, done=False)
        raise


def _wait_for_rate_limit(rt: Runtime, job: Owed, publisher: CheckRunPublisher, wait: float) -> str:
    """Too little of the installation's budget is left for an evaluation: it waits in the queue
    until GitHub's reset, and a head without a verdict yet says so (never a pass, never a
    failure). A verdict already given on this head stands until the new one."""
    until = datetime.now(UTC) + timedelta(seconds=wait)
    publisher.waiting(
        f"waiting for GitHub's rate limit until {until:%H:%M} UTC",
        f"GitHub's hourly request budget of this installation is nearly spent; the evaluation of "
        f"commit `{publisher.head_sha[:7]}` resumes when GitHub resets it, at {until:%H:%M:%S} UTC.",
    )
    pull_state.release(rt.db, job, done=False)
    rt.queue.enqueue_evaluation(job, delay=wait + 1)
    log.warning("%s#%s waits %.0f s for GitHub's rate limit", job.repo, job.number, wait)
    return "rate_limited"


def _finish(rt: Runtime, job: Owed) -> None:
    """Release the PR; events that arrived while this evaluation ran get the next one."""
    follow_up = pull_state.release(rt.db, job, done=True)
    if follow_up is not None:
        try:
            rt.queue.enqueue_evaluation(follow_up)
        except Exception:
            # This evaluation's verdict stands; the next one stays owed in the database, and
            # the next event, the reconciler or start-up recovery queues it.
            log.exception("could not queue the next evaluation of %s#%s", job.repo, job.number)
            pull_state.unqueue(rt.db, [(job.repo, job.number)])


def _publisher(rt: Runtime, job: Owed, repo: Repository, head: str) -> CheckRunPublisher:
    """The check run of `head`, whose GitHub "Details" link is the PR's gate page."""
    return CheckRunPublisher(
        rt.db, repo, job.repo, head, report.gate_page_url(rt.settings.public_url, job.repo, job.number),
        made_once=rt.github.made_once, app_id=rt.settings.app_id,
    )


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
    record.record_failure(rt, job, reason)
    try:
        head = job.head_sha
        if publisher is None and head is None and repo is not None:
            # It failed before the head was read (the job evaluates the head GitHub shows).
            head = repo.get_pull(job.number).head.sha
        if publisher is None and head is not None and repo is not None:
            publisher = _publisher(rt, job, repo, head)
        if publisher is not None:  # None: no client (no App credentials), nothing to report to
            publisher.fail(reason)
    except Exception:
        # GitHub is unreachable even for this: the run stays pending (or absent), which
        # blocks the merge as a required check until GitHub's Re-run or the next event.
        log.exception("could not mark %s#%s as failed", job.repo, job.number)
    finally:
        _finish(rt, job)


def _evaluate(
    rt: Runtime,
    job: Owed,
    repo: Repository,
    pull: PullRequest,
    head: str,
    publisher: CheckRunPublisher,
    started: datetime,
    pool: ThreadPoolExecutor,
    shown: Future[None],
) -> str:
    found = assess(rt, job.repo, job.number, repo, pull, head, pool=pool)
    found = review_requests.ask(rt, job.repo, job.number, pull, found)
    shown.result()  # the run to complete is the one just created
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
    )
    annotations = report.annotations_for(found.findings) + list(found.extra_annotations)
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
            wrote=rt.github.wrote, made_once=rt.github.made_once,
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
    record.record_verdict(rt, job, found)
    # One suggestion review per head, with its first evaluation: a re-evaluation after a review
    # or a command writes only what changed (the check run, the comment).
    # (`digests` holds the heads evaluated before this evaluation was recorded.)
    if found.config.suggestions and not found.facts.config_error and head not in found.facts.digests:
        try:
            offered = suggestions.collect(found.findings, found.fingerprints, found.changed_lines, found.line_sources)
            suggestions.publish(
                rt.db, repo, job.repo, job.number, head, offered, made_once=rt.github.made_once
            )
        except GithubException as exc:
            # Advice, not the verdict: the check is already right, and failing the job here
            # would turn it red. The next head's evaluation offers them again (none was recorded).
            log.error("could not post suggestions on %s#%s: %s", job.repo, job.number, reason_of(exc))
    return verdict.conclusion
