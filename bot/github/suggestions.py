"""Safe fixes of findings on changed lines, offered once as GitHub ```suggestion blocks.

Only a fix whose edits all lie on the finding's own line is offered: a suggestion replaces
whole lines of the diff, and a fix that also adds an import elsewhere would leave the file
broken if applied alone. The line's text comes from the analysis cache, so offering a
suggestion never fetches a blob again.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from github.Repository import Repository

import rules
from bot import render
from bot.github.client import MadeOnce
from bot.store.db import Database, PostedSuggestion

log = logging.getLogger(__name__)

# Per head (one review, with the head's first evaluation): a review with hundreds of comments is
# noise, and GitHub slows on it; `reviewgate check --fix` applies the rest locally.
MAX_PER_REVIEW = 50
_REVIEW_MARK = "<!-- reviewgate:suggestions:{token} -->"


@dataclass(frozen=True)
class Suggestion:
    key: str  # the finding's fingerprint and the replacement: the same fix is never offered twice
    path: str
    line: int
    code: str
    slug: str
    description: str
    replacement: str


def apply_edits(source: str, line: int, edits: Sequence[rules.Edit]) -> str | None:
    """`source` (the text of `line`) with `edits` applied, or None when an edit leaves the line."""
    text = source
    # Right to left, so earlier columns stay valid.
    for edit in sorted(edits, key=lambda e: e.column, reverse=True):
        if edit.line != line or edit.end_line != line:
            return None
        start, end = edit.column - 1, edit.end_column - 1
        if not 0 <= start <= end <= len(text):
            return None
        text = text[:start] + edit.text + text[end:]
    return text


def collect(
    findings: Sequence[rules.Finding],
    fingerprints: Sequence[str],
    changed_lines: Mapping[str, frozenset[int]],
    line_sources: Mapping[tuple[str, int], str],
) -> list[Suggestion]:
    """The safe fixes among `findings` (each with its fingerprint) that a review comment can
    offer: on a line of the diff (`changed_lines`), whose text (`line_sources`) is known."""
    out = []
    for finding, mark in zip(findings, fingerprints, strict=True):
        fix = finding.fix
        if fix is None or not fix.safe or finding.suppressed or not fix.edits:
            continue
        if finding.line not in changed_lines.get(finding.path, frozenset()):
            continue  # a review comment can only sit on a line of the diff
        source = line_sources.get((finding.path, finding.line))
        if source is None:
            continue
        replacement = apply_edits(source, finding.line, fix.edits)
        if replacement is None or replacement == source or "```" in replacement:
            continue
        key = hashlib.sha256(f"{mark}\0{replacement}".encode()).hexdigest()
        out.append(
            Suggestion(key, finding.path, finding.line, finding.code, finding.slug, fix.description, replacement)
        )
    return out


def _body(s: Suggestion) -> str:
    return f"**{s.code}** `{s.slug}`: {render.quoted(s.description)}\n\n```suggestion\n{s.replacement}\n```"


def publish(
    db: Database, repo: Repository, repo_name: str, number: int, head: str, found: Iterable[Suggestion], *,
    made_once: MadeOnce,
) -> int:
    """Post the suggestions not offered before as one review; returns how many were posted.

    The review's body carries a random mark, by which it is found again when the answer to
    posting it was lost (`made_once`)."""
    with db.session() as session:
        posted = {
            key for (key,) in session.query(PostedSuggestion.key).filter_by(repo=repo_name, number=number)
        }
    fresh: dict[str, Suggestion] = {}
    for s in found:
        if s.key not in posted and s.key not in fresh:
            fresh[s.key] = s
    batch = list(fresh.values())[:MAX_PER_REVIEW]
    if not batch:
        return 0
    mark = _REVIEW_MARK.format(token=secrets.token_hex(16))
    review = {
        "commit_id": head,
        "event": "COMMENT",
        "body": (
            f"{mark}\nReviewgate has {len(batch)} suggested fix{'es' if len(batch) != 1 else ''} for findings "
            "on the changed lines. Each is offered once."
        ),
        "comments": [{"path": s.path, "line": s.line, "side": "RIGHT", "body": _body(s)} for s in batch],
    }

    def post() -> int | None:
        _, data = repo.requester.requestJsonAndCheck("POST", f"{repo.url}/pulls/{number}/reviews", input=review)
        return data.get("id") if isinstance(data, dict) else None

    def posted_already() -> int | None:
        return next((r.id for r in repo.get_pull(number).get_reviews() if (r.body or "").startswith(mark)), None)

    review_id = made_once(post, posted_already, f"the review of suggestions on {repo_name}#{number}")
    with db.session() as session:
        for s in batch:
            session.merge(PostedSuggestion(repo=repo_name, number=number, key=s.key, review_id=review_id))
    log.info("posted %d suggestions on %s#%s", len(batch), repo_name, number)
    return len(batch)
