"""What the check run and the sticky comment say: Markdown and annotations, no I/O."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import rules
from bot import render

CHECK_NAME = "reviewgate"
STICKY_MARKER = "<!-- reviewgate:sticky -->"
# Starts the one reply to a command comment; counts only in a comment of the App's own.
REPLY_MARKER = "<!-- reviewgate:reply:{comment_id} -->"
ANNOTATIONS_PER_REQUEST = 50  # GitHub rejects more in one create/update
_LEVELS = {"error": "failure", "warning": "warning"}
# The button on the check run; GitHub sends `check_run.requested_action` with the identifier.
RECHECK_IDENTIFIER = "recheck"
RECHECK_ACTION = {
    "label": "Re-check",
    "description": "Evaluate the gate again now",
    "identifier": RECHECK_IDENTIFIER,
}


@dataclass(frozen=True)
class Outcome:
    """Everything an evaluation decided, in the form the reporters need."""

    head_sha: str
    conclusion: str
    title: str
    verdict_summary: str
    findings: tuple[rules.Finding, ...]  # on changed lines, suppressed ones included
    not_analyzed: tuple[tuple[str, str], ...]
    whole_files: tuple[str, ...]
    notes: tuple[str, ...] = ()


def gate_page_url(public_url: str, repo: str, number: int) -> str:
    """The pull request's gate page (`bot.web.pages`): the check run's "Details" link."""
    return f"{public_url.rstrip('/')}/{repo}/pull/{number}"


def _hint(finding: rules.Finding) -> str:
    if finding.fix is not None:
        return f"Fix: {finding.fix.description}"
    rule = rules.rule_for(finding.code)
    how = rule.sections().get("How to fix", "") if rule is not None else ""
    return f"Fix: {how.split(chr(10) + chr(10))[0]}" if how else ""


def annotations_for(findings: Iterable[rules.Finding]) -> list[dict[str, Any]]:
    """Unsuppressed findings as check-run annotations, on the finding's first line only:
    that is the line the PR changed, and a multi-line span would mark unchanged lines too."""
    out = []
    for f in findings:
        if f.suppressed:
            continue
        hint = _hint(f)
        item: dict[str, Any] = {
            "path": f.path,
            "start_line": f.line,
            "end_line": f.line,
            "annotation_level": _LEVELS.get(str(f.severity), "notice"),
            # Plain text on GitHub's side: bounded, not escaped.
            "title": render.plain(f"{f.code} {f.slug}", render.ANNOTATION_TITLE_LIMIT),
            "message": render.bounded(f"{f.message}\n\n{hint}" if hint else f.message, render.ANNOTATION_MESSAGE_LIMIT),
        }
        if f.end_line == f.line and f.end_column > f.column:
            item["start_column"] = f.column
            item["end_column"] = f.end_column
        out.append(item)
    return out


def batches(items: Sequence[dict[str, Any]], size: int = ANNOTATIONS_PER_REQUEST) -> list[list[dict[str, Any]]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def rule_link(code: str, slug: str, docs_url: str) -> str:
    rule = rules.rule_for(code)
    anchor = rule.docs_anchor() if rule is not None else f"{code.lower()}-{slug}"
    return f"[{code} {slug}]({docs_url}#{anchor})"


def _findings_table(findings: Sequence[rules.Finding], docs_url: str) -> list[str]:
    counts = Counter((f.code, f.slug, str(f.severity)) for f in findings)
    lines = ["| Rule | Severity | Count |", "| --- | --- | ---: |"]
    for (code, slug, severity), n in sorted(counts.items()):
        lines.append(f"| {rule_link(code, slug, docs_url)} | {severity} | {n} |")
    return lines


def summary(outcome: Outcome, docs_url: str) -> str:
    active = [f for f in outcome.findings if not f.suppressed]
    suppressed = [f for f in outcome.findings if f.suppressed]
    parts = [outcome.verdict_summary, ""]
    parts.append("### Findings on changed lines")
    if active:
        parts += _findings_table(active, docs_url)
    else:
        parts.append("None.")
    if suppressed:
        parts += ["", "### Suppressed in code", "Silenced by a comment on the line; listed so reviewers can judge them.", ""]
        parts += [
            f"- {render.code(f'{f.path}:{f.line}')} {rule_link(f.code, f.slug, docs_url)}: {render.quoted(f.message)}"
            for f in suppressed
        ]
    if outcome.not_analyzed:
        parts += ["", "### Files not analysed", ""]
        parts += [f"- {render.code(path)}: {render.quoted(reason)}" for path, reason in outcome.not_analyzed]
    if outcome.whole_files:
        parts += ["", "### Analysed whole", "GitHub sent no diff for these files, so every line counts as changed.", ""]
        parts += [f"- {render.code(path)}" for path in outcome.whole_files]
    if outcome.notes:
        parts += ["", "### Notes", ""] + [f"- {note}" for note in outcome.notes]
    return render.bounded("\n".join(parts), render.SUMMARY_LIMIT)


def comment_state(outcome: Outcome, fingerprints: Iterable[str]) -> str:
    """What the sticky comment shows: the verdict's text (waivers, holds, reviews, what
    unblocks it) and the set of findings. Not the sha: a new commit with the same verdict
    leaves the comment alone, one request fewer per push."""
    sha = render.short(outcome.head_sha)
    return digest(
        {
            "conclusion": outcome.conclusion,
            "findings": sorted(fingerprints),
            "title": outcome.title.replace(sha, ""),
            "summary": outcome.verdict_summary.replace(sha, ""),
        }
    )


def comment_body(outcome: Outcome, docs_url: str) -> str:
    icon = "✅" if outcome.conclusion == "success" else "❌"
    active = [f for f in outcome.findings if not f.suppressed]
    parts = [STICKY_MARKER, f"{icon} **{CHECK_NAME}**: {render.text(outcome.title)}", "", outcome.verdict_summary]
    if active:
        parts += ["", *_findings_table(active, docs_url)]
    parts += ["", "_Details and annotations are on the `reviewgate` check run. This comment is updated in place._"]
    return render.bounded("\n".join(parts), render.COMMENT_LIMIT)


def merge_group_summary(title: str, lines: list[tuple[int, str, str, str]], why: str) -> str:
    """A merge group's check run summary: each pull request's gate (number, head, conclusion,
    title), or `why` the group's pull requests are unknown."""
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
            out.append(f"| #{number} | `{render.short(head)}` | {sign} {render.cell(render.text(verdict_title))} |")
        out.append("")
    return "\n".join(out)
