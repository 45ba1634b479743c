"""One pull request at one head, assessed: facts gathered from GitHub and the database, the
changed Python files analysed, the gate's verdict. Reads only; the callers write.

An evaluation publishes the assessment; a `/gate waive` reads the findings it covers from
one; a merge group's check asks one of each pull request in the group.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from github.PullRequest import PullRequest
from github.Repository import Repository

import rules
from bot.analysis import Analyzer, ChangedFile, FileResult, is_notice, is_python
from bot.github import gather, org_policy
from bot.isolation import OutOfTime
from bot.jobs import proposed
from bot.policy.decide import decide
from bot.policy.facts import (
    APPROVED,
    CommitFact,
    Facts,
    FindingFact,
    Hold,
    Review,
    Waiver,
    file_digest,
    fingerprint,
    is_bot,
)
from bot.policy.repo_config import DEFAULT_CONFIG, GateConfig, has_permission
from bot.policy.verdict import Verdict
from bot.runtime import Runtime
from bot.store.db import Evaluation, HeadPush, HoldRecord, ReviewDigest, WaiverRecord
from rules import added_lines
from rules.gate_layers import Source


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
    # Check-run annotations on other files than findings: the pull request's invalid configuration.
    extra_annotations: tuple[dict[str, Any], ...] = ()
    base_ref: str = ""  # the branch the diff was computed against


def assess(
    rt: Runtime, repo_name: str, number: int, repo: Repository, pull: PullRequest, head: str,
    permissions: gather.Permissions | None = None, pool: Executor | None = None,
    *, config: GateConfig | None = None, simulated: Sequence[Review] = (),
) -> Assessment:
    """`pull` has been read (its head is `head`). Reads that do not depend on each other go
    out together on `pool` (one of the job's own when None), and each file's analysis
    starts as soon as its blob arrives.

    `config` replaces the default branch's configuration and `simulated` adds reviews to
    GitHub's: what a dry run or a proposed configuration would make of the pull request."""
    if pool is None:
        with ThreadPoolExecutor(max_workers=pool_size(rt), thread_name_prefix="gather") as own:
            return assess(rt, repo_name, number, repo, pull, head, permissions, own,
                          config=config, simulated=simulated)
    # Gathering and analysis share the budget; what it leaves unanalysed blocks the check.
    deadline = time.monotonic() + rt.settings.evaluation_seconds
    reviews_read = pool.submit(lambda: gather.reviews(pull) + tuple(simulated))
    org_read = pool.submit(org_policy.read, rt.db, repo, repo_name)
    gathered = gather.changes(repo, pull, pool)
    given = config is not None
    if config is not None:
        gathered = replace(gathered, config=config, config_error=None)
    org = org_read.result()
    sources: tuple[Source, ...] = ()
    if org is not None:
        # `read_config` gives DEFAULT_CONFIG itself when the repository has no file.
        own_file = None if gathered.config is DEFAULT_CONFIG else gathered.config
        merged, error, sources = org_policy.apply(org, own_file, gathered.config_error)
        gathered = replace(gathered, config=merged, config_error=error)
    config = gathered.config
    commits_read = None if config.approvals.last_pusher_counts else pool.submit(gather.commits, pull, head)
    github = rt.github
    analyzer = Analyzer(rt.db, config.rules, lambda sha, limit: github.read_blob(repo, sha, limit), rt.isolation)
    changed_lines: dict[str, frozenset[int]] = {}
    not_analyzed: list[tuple[str, str]] = []
    whole_files: list[str] = []
    analyses: list[tuple[ChangedFile, Future[FileResult]]] = []
    for changed in gathered.files:
        if changed.status == "removed" or not is_python(changed.path):
            continue
        if not config.rules.wants_path(changed.path):
            why = (
                "vendored third-party code (`paths.vendored` in the repository's configuration)"
                if config.rules.is_vendored(changed.path)
                else "excluded by `paths` in the repository's configuration"
            )
            not_analyzed.append((changed.path, why))
            continue
        if changed.patch is None:
            lines = None
            whole_files.append(changed.path)
        else:
            lines = added_lines(changed.patch)
            changed_lines[changed.path] = lines
            if not lines:
                continue  # a pure rename or deletions only: no line of the PR's own to check
        analyses.append((changed, pool.submit(analyzer.analyze, changed, lines, deadline)))
    try:
        found = _conclude(rt, repo_name, number, repo, pull, head, gathered, analyses, reviews_read, permissions,
                          pool, not_analyzed, whole_files, changed_lines, commits_read)
    finally:
        for _, analysis in analyses:
            analysis.cancel()  # when a read failed: the files not started yet are not fetched
    changes: dict[str, Any] = {}
    if org is not None and sources:
        changes.update(config_sources=sources, config_org=org.where)
    if config.bots:
        changes["previous_paths"] = tuple(f.previous_path for f in gathered.files if f.previous_path)
    base_ref = pull.base.ref
    seen = _review_digests(rt, repo_name, number)
    if base_ref != gathered.default_branch or any(base != base_ref for _, base in seen.values()):
        changes.update(base_ref=base_ref, default_branch=gathered.default_branch,
                       review_digests={rid: digest for rid, (digest, _) in seen.items()})
    annotations: tuple[dict[str, Any], ...] = ()
    new_file = proposed.changed_config(gathered.files)
    if new_file is not None and not given:  # an assessment under a given configuration judges only
        # The pull request's new configuration file, checked: invalid, it fails the check with
        # an annotation on its line; valid, the summary says what the gate would conclude under it.
        proposal = proposed.read(rt, repo, new_file)
        annotations = proposal.annotations()
        if proposal.config is None:
            changes["proposed_config_error"] = str(proposal.error)
        else:
            would = assess(rt, repo_name, number, repo, pull, head, permissions, pool,
                           config=proposal.config, simulated=simulated).verdict
            changes["proposed_outcome"] = (would.conclusion, would.title)
    if not changes:
        return replace(found, base_ref=base_ref)
    facts = replace(found.facts, **changes)
    return replace(
        found, facts=facts, verdict=decide(facts, found.config), extra_annotations=annotations, base_ref=base_ref
    )


def _conclude(
    rt: Runtime, repo_name: str, number: int, repo: Repository, pull: PullRequest, head: str,
    gathered: gather.Gathered, analyses: list[tuple[ChangedFile, Future[FileResult]]],
    reviews_read: Future[tuple[Review, ...]], permissions: gather.Permissions | None, pool: Executor,
    not_analyzed: list[tuple[str, str]], whole_files: list[str], changed_lines: dict[str, frozenset[int]],
    commits_read: Future[tuple[tuple[CommitFact, ...], bool]] | None,
) -> Assessment:
    config = gathered.config
    findings: list[rules.Finding] = []
    fingerprints: list[str] = []
    facts_findings: list[FindingFact] = []
    sources: dict[tuple[str, int], str] = {}
    out_of_time: list[str] = []
    # Roles are asked while the files are analysed.
    author, author_type = pull.user.login, pull.user.type or "User"
    reviews = reviews_read.result()
    permissions = permissions or gather.Permissions(repo)
    reviewers = sorted(
        {r.user for r in reviews if r.user.casefold() != author.casefold() and not is_bot(r.user, r.user_type)}
    )
    roles = dict(zip(reviewers, pool.map(permissions.of, reviewers), strict=True))
    for changed, analysis in analyses:
        try:
            result = analysis.result()
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
    approvers = sorted({r.user for r in reviews if r.state == APPROVED and r.user in roles})
    teams = gather.team_members(repo, config.teams, approvers) if config.teams and approvers else {}
    waivers, hold, digests = _stored_state(rt, repo_name, number)
    # Who pushed or committed what matters only to an approval that could count. The commits
    # are asked for with the other reads all the same (beside them: no wait): the approval
    # that needs them then finds them unchanged, a 304 that costs no rate limit.
    minimum = config.approvals.min_permission
    judged = not config.approvals.last_pusher_counts and any(has_permission(roles[a], minimum) for a in approvers)
    commits, commits_complete = commits_read.result() if judged and commits_read else ((), True)
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


def pool_size(rt: Runtime) -> int:
    """Threads for one job's reads and analyses: enough to keep every request slot of the
    installation busy while as many files wait for (or sit in) the analysis workers."""
    return rt.settings.github_concurrency + max(2, rt.settings.workers)


def _review_digests(rt: Runtime, repo_name: str, number: int) -> dict[int, tuple[str, str]]:
    """Review id -> (the digest, the base) when an evaluation first saw the review."""
    with rt.db.session() as session:
        rows = session.query(ReviewDigest.review_id, ReviewDigest.digest, ReviewDigest.base_ref).filter_by(
            repo=repo_name, number=number
        )
        return {review_id: (digest, base) for review_id, digest, base in rows}


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
