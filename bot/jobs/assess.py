"""One pull request at one head, assessed: facts gathered from GitHub and the database, the
changed Python files analysed, the gate's verdict. Reads only; the callers write.

An evaluation publishes the assessment; a `/gate waive` reads the findings it covers from
one; a merge group's check asks one of each pull request in the group.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass

from github.PullRequest import PullRequest
from github.Repository import Repository

import rules
from bot.analysis import Analyzer, is_notice, is_python
from bot.github import gather
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
from bot.policy.repo_config import GateConfig, has_permission
from bot.policy.verdict import Verdict
from bot.runtime import Runtime
from bot.store.db import Evaluation, HeadPush, HoldRecord, WaiverRecord
from rules import added_lines


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
