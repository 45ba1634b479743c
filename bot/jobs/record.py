"""What an evaluation leaves for the gate page: the verdict with every condition, the reviewers
as judged, and the findings with their lines; or why the evaluation gave up.

GitHub keeps check-run data for a limited time and shows it only inside the pull request; the
page (`bot.web.pages`) reads this record instead of asking GitHub.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from bot.jobs.assess import Assessment
from bot.policy import bots
from bot.policy.decide import reviewer_states
from bot.policy.facts import APPROVED, DISMISSED
from bot.policy.verdict import SUCCESS
from bot.runtime import Runtime
from bot.store.db import BotPassRecord, GateVerdict, ReviewDigest, utcnow
from bot.store.pull_state import Owed

log = logging.getLogger(__name__)

# Findings kept per pull request; the rest are counted. A page lists what a reviewer reads.
MAX_RECORDED_FINDINGS = 2000


def gate_data(found: Assessment) -> dict[str, Any]:
    """The page's view of an assessment, as JSON-ready values (user text left raw: the page
    escapes it)."""
    facts, verdict = found.facts, found.verdict
    honoured = sorted(
        (w for w in facts.waivers if w.by.casefold() != facts.author.casefold()),
        key=lambda w: (w.created_at, w.pattern, w.by),
    )
    findings = []
    for finding, mark in zip(found.findings, found.fingerprints, strict=True):
        waiver = None
        if str(finding.severity) == "error" and not finding.suppressed:
            waiver = next(
                (w for w in honoured if finding.code.upper().startswith(w.pattern.upper()) and mark in w.fingerprints),
                None,
            )
        findings.append({
            "code": finding.code, "slug": finding.slug, "severity": str(finding.severity),
            "path": finding.path, "line": finding.line, "message": finding.message,
            "source": found.line_sources.get((finding.path, finding.line), ""),
            "suppressed": finding.suppressed, "fingerprint": mark,
            "waived_by": [waiver.pattern, waiver.by] if waiver is not None else None,
        })
    reviewers = []
    for state in reviewer_states(facts, found.config):
        if state.excluded:
            why = state.excluded
        elif state.review.state == DISMISSED:
            why = "dismissed"
        elif state.pushed:
            why = state.pushed
        else:
            why = state.note
        reviewers.append({
            "login": state.login, "state": state.review.state, "commit": state.review.commit_id,
            "approves": state.approves, "blocks": state.blocks, "why": why,
        })
    return {
        "author": facts.author,
        "conditions": [
            {"key": c.key, "met": c.met, "text": c.text, "unblock": c.unblock} for c in verdict.conditions
        ],
        "reviewers": reviewers,
        "findings": findings[:MAX_RECORDED_FINDINGS],
        "findings_total": len(findings),
        "not_analyzed": [list(pair) for pair in found.not_analyzed],
        "config_error": facts.config_error,
    }


def record_verdict(rt: Runtime, job: Owed, found: Assessment) -> None:
    record_bot_pass(rt, job.repo, job.number, found)
    record_review_digests(rt, job.repo, job.number, found)
    _save(rt, job, GateVerdict(
        repo=job.repo, number=job.number, installation_id=job.installation_id, head_sha=found.head,
        conclusion=found.verdict.conclusion, title=found.verdict.title, data=json.dumps(gate_data(found)),
        error=None, trigger=job.trigger, evaluated_at=utcnow(),
    ))


def record_bot_pass(rt: Runtime, repo: str, number: int, found: Assessment) -> None:
    """A bot's pull request that passed with fewer approvals than `approvals.required` because
    `bots:` allows it goes into the audit, once per head. Unlike the page, the audit must not
    miss it: a failed write raises, and the evaluation is retried."""
    facts, config = found.facts, found.config
    rule = bots.allowance(facts, config)
    if rule is None or found.verdict.conclusion != SUCCESS or config.approvals.required <= 1:
        return
    approvers = [s.login for s in reviewer_states(facts, config) if s.approves]
    with rt.db.session() as session:
        seen = session.query(BotPassRecord.id).filter_by(repo=repo, number=number, head_sha=found.head).first()
        if seen is None:
            session.add(BotPassRecord(
                repo=repo, number=number, head_sha=found.head, bot=rule.login, approvers=", ".join(approvers),
                paths=len(facts.changed_paths), required=config.approvals.required,
            ))


def record_review_digests(rt: Runtime, repo: str, number: int, found: Assessment) -> None:
    """The changes each review of the head was first seen with (see `ReviewDigest`)."""
    facts = found.facts
    if not facts.head_digest:
        return
    ids = {r.id for r in facts.reviews if r.id and r.commit_id == found.head and r.state == APPROVED}
    if not ids:
        return
    with rt.db.session() as session:
        known = {
            rid for (rid,) in session.query(ReviewDigest.review_id).filter(
                ReviewDigest.repo == repo, ReviewDigest.number == number, ReviewDigest.review_id.in_(sorted(ids))
            )
        }
        for rid in sorted(ids - known):
            session.add(ReviewDigest(
                repo=repo, number=number, review_id=rid, head_sha=found.head, base_ref=found.base_ref[:255],
                digest=facts.head_digest,
            ))


def record_failure(rt: Runtime, job: Owed, reason: str) -> None:
    """The evaluation gave up after its last retry: the page and /status say why, and offer
    to try again."""
    _save(rt, job, GateVerdict(
        repo=job.repo, number=job.number, installation_id=job.installation_id, head_sha=job.head_sha,
        conclusion="error", title=f"could not evaluate: {reason}", data="{}", error=reason,
        trigger=job.trigger, evaluated_at=utcnow(),
    ))


def _save(rt: Runtime, job: Owed, row: GateVerdict) -> None:
    try:
        _write(rt, job, row)
    except Exception:
        # The page is a view: the check run already says what happened, and the job's own
        # bookkeeping must go on.
        log.exception("could not record the verdict of %s#%s for its page", job.repo, job.number)


def _write(rt: Runtime, job: Owed, row: GateVerdict) -> None:
    with rt.db.session() as session:
        previous = session.get(GateVerdict, (job.repo, job.number))
        if previous is not None and row.conclusion == "error" and previous.error is None:
            # Keep the last verdict's details beside the failure: the page shows both.
            row.data = previous.data
        session.merge(row)
