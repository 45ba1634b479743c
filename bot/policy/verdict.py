"""What the gate answers: the conditions, each reviewer's standing, the verdict, and the
verdict's Markdown summary (every user value through `bot.render`). Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot import render
from bot.policy.facts import (
    APPROVED,
    CHANGES_REQUESTED,
    DISMISSED,
    Facts,
    FindingFact,
    Review,
    Waiver,
)
from bot.policy.repo_config import GateConfig

SUCCESS = "success"
FAILURE = "failure"

# Findings listed one by one in the summary; the rest are counted (a check summary is
# limited to 65535 characters and the annotations already carry every finding).
MAX_LISTED_FINDINGS = 30


@dataclass(frozen=True)
class Condition:
    key: str
    met: bool
    text: str  # without the mark; `line` adds it
    unblock: str  # the command or action that meets it ("" when met)

    @property
    def line(self) -> str:
        return f"{'✓' if self.met else '✗'} {self.text}"


@dataclass(frozen=True)
class Verdict:
    conclusion: str  # success | failure
    title: str
    conditions: tuple[Condition, ...]
    summary: str  # Markdown

    @property
    def unmet(self) -> tuple[Condition, ...]:
        return tuple(c for c in self.conditions if not c.met)


@dataclass(frozen=True)
class ReviewerState:
    """A reviewer's latest review that still has an effect, and whether it counts."""

    login: str
    review: Review
    excluded: str  # why this reviewer never counts ("" when eligible)
    fresh: bool  # an approval that covers the latest work
    note: str  # at which commit, and why it is fresh, carried over or stale
    pushed: str = ""  # why this approval does not count: the reviewer pushed or committed after it

    @property
    def approves(self) -> bool:
        return self.review.state == APPROVED and not self.excluded and self.fresh and not self.pushed

    @property
    def blocks(self) -> bool:
        return self.review.state == CHANGES_REQUESTED and not self.excluded


def plural(count: int, word: str, many: str | None = None) -> str:
    return f"{count} {word if count == 1 else (many or word + 's')}"


def people(logins: Sequence[str]) -> str:
    names = [render.login(login) for login in logins]
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " and " + names[-1]


def summary(
    facts: Facts,
    config: GateConfig,
    title: str,
    conditions: Sequence[Condition],
    states: Sequence[ReviewerState],
    unwaived: Sequence[FindingFact],
    covered: Mapping[int, Waiver],
    honoured: Sequence[Waiver],
    notes: Sequence[str],
    head: str,
) -> str:
    mark = "✓" if all(c.met for c in conditions) else "✗"
    out = [f"## {mark} {render.text(title)}", ""]
    for condition in conditions:
        out.append(f"- {condition.line}")
        if not condition.met:
            out.append(f"  - To unblock: {condition.unblock}")
    out.append("")

    if states:
        out += ["### Reviews", "", "| Reviewer | Latest review | Counts |", "| --- | --- | --- |"]
        for s in states:
            state = s.review.state.replace("_", " ").lower()
            if s.excluded:
                counts = f"✗ not counted: {s.excluded}"
            elif s.review.state == DISMISSED:
                counts = "✗ dismissed"
            elif s.review.state == CHANGES_REQUESTED:
                counts = f"✗ blocks until {render.login(s.login)} approves or the review is dismissed ({s.note})"
            elif s.pushed:
                counts = f"✗ not counted: {s.pushed}"
            else:
                counts = f"{'✓' if s.fresh else '✗'} {s.note}"
            out.append(f"| {render.cell(render.login(s.login))} | {state} | {render.cell(counts)} |")
        out.append("")
    else:
        out += [f"No reviews yet on `{head}`.", ""]

    on_error = config.findings.on_error
    if unwaived:
        effect = {
            "block": "they block until fixed or waived",
            "escalate": "they raise the approvals needed (`findings.on_error: escalate`)",
            "warn": "reported only (`findings.on_error: warn`)",
        }[on_error]
        out += [f"### Error findings not waived ({len(unwaived)}): {effect}", ""]
        for finding in unwaived[:MAX_LISTED_FINDINGS]:
            out.append(
                f"- {render.code(f'{finding.path}:{finding.line}')} **{finding.code}** {finding.slug}: "
                f"{render.quoted(finding.message)}"
            )
        if len(unwaived) > MAX_LISTED_FINDINGS:
            out.append(f"- and {len(unwaived) - MAX_LISTED_FINDINGS} more (see the annotations)")
        out.append("")
    warnings = sum(1 for f in facts.findings if f.severity != "error" and not f.suppressed)
    suppressed = sum(1 for f in facts.findings if f.suppressed)
    if warnings or suppressed:
        quiet = []
        if warnings:
            quiet.append(f"{plural(warnings, 'warning or notice', 'warnings or notices')} annotated")
        if suppressed:
            quiet.append(f"{plural(suppressed, 'finding')} suppressed in the source")
        out += [f"Not blocking: {', '.join(quiet)}.", ""]

    if honoured:
        out += ["### Active waivers", ""]
        for waiver in honoured:
            n = sum(1 for w in covered.values() if w is waiver)
            out.append(
                f"- {render.code(waiver.pattern)} by {render.login(waiver.by)}: {render.text(waiver.reason)} "
                f"(covers {plural(n, 'finding')} at `{head}`; {render.code(f'/gate unwaive {waiver.pattern}')} "
                "takes it back)"
            )
        out.append("")

    if facts.not_analyzed:
        out += ["### Not analysed", ""]
        for path, reason in sorted(facts.not_analyzed):
            out.append(f"- {render.code(path)}: {render.quoted(reason)}")
        out.append("")

    if facts.config_sources:
        out += _sources(facts)

    if notes:
        out += ["### Notes", ""]
        out += [f"- {note}" for note in dict.fromkeys(notes)]
        out.append("")
    return "\n".join(out)



def _sources(facts: Facts) -> list[str]:
    """Where each effective setting came from: the organisation's policy, the repository's file
    or the default; a locked setting the repository tried to weaken says so."""
    org = render.code(f"{facts.config_org}:.github/reviewgate.yml")
    origins = {
        "organisation": f"organisation ({org})",
        "repository": "repository (`.github/reviewgate.yml`)",
        "organisation and repository": f"organisation ({org}) and repository",
        "default": "default",
    }
    out = ["### Configuration", "", "| Setting | Value | From |", "| --- | --- | --- |"]
    for source in facts.config_sources:
        origin = origins.get(source.origin, render.text(source.origin))
        if source.line:
            origin += f", line {source.line}"
        if source.locked:
            origin += ", locked by the organisation"
        if source.set_aside:
            origin += f"; the repository's {render.code(source.set_aside)} is weaker and not used"
        out.append(f"| {render.code(source.setting)} | {render.cell(render.code(source.value))} | {render.cell(origin)} |")
    out.append("")
    return out
