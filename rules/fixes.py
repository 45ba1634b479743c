"""Applying fixes to source text: what `python -m rules --fix` and the examples tests use."""

from __future__ import annotations

from collections.abc import Iterable

from rules.config import RulesConfig
from rules.engine import analyze
from rules.model import Edit, Finding

MAX_PASSES = 10  # like ruff: re-analyse after each round, since fixes may share an import line


def _offsets(text: str) -> list[int]:
    starts = [0]
    for i, ch in enumerate(text):
        if ch == "\n":
            starts.append(i + 1)
    return starts


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """Apply non-overlapping edits (positions refer to `text`)."""
    starts = _offsets(text)

    def offset(line: int, column: int) -> int:
        if line - 1 >= len(starts):
            return len(text)
        return starts[line - 1] + column - 1

    spans = sorted(
        ((offset(e.line, e.column), offset(e.end_line, e.end_column), e.text) for e in edits),
        reverse=True,
    )
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


def _overlaps(a: Edit, b: Edit) -> bool:
    return not ((a.end_line, a.end_column) <= (b.line, b.column) or (b.end_line, b.end_column) <= (a.line, a.column)) or (
        (a.line, a.column) == (b.line, b.column)
    )


def fixable(finding: Finding, unsafe: bool) -> bool:
    return finding.fix is not None and not finding.suppressed and (finding.fix.safe or unsafe)


def remap_lines(lines: set[int], edits: Iterable[Edit]) -> set[int]:
    """Where `lines` are after `edits` (positions before them) are applied.

    A line after an edit moves by the lines the edit adds or removes; a line an edit touches
    becomes every line of the replacement text.
    """
    edits = list(edits)
    out: set[int] = set()
    for line in lines:
        shift = sum(
            e.text.count("\n") - (e.end_line - e.line)
            for e in edits
            if (e.end_line, e.end_column) <= (line, 1)
        )
        new = line + shift
        out.add(new)
        for e in edits:
            if e.line <= line <= e.end_line and (e.end_line, e.end_column) > (line, 1):
                out.update(range(new, new + e.text.count("\n") + 1))
    return out


def fix_source(
    text: str,
    path: str,
    *,
    config: RulesConfig | None = None,
    unsafe: bool = False,
    codes: set[str] | None = None,
    changed_lines: set[int] | frozenset[int] | None = None,
) -> tuple[str, int]:
    """Apply every applicable fix; returns the new text and how many fixes were applied.

    With `changed_lines`, only findings on those lines are fixed (`--fix --diff`), the lines
    being followed through each round of edits.
    """
    applied = 0
    lines = None if changed_lines is None else set(changed_lines)
    for _ in range(MAX_PASSES):
        report = analyze(text, path, config=config, changed_lines=lines)
        chosen: list[Edit] = []
        for finding in report.findings:
            if not fixable(finding, unsafe) or (codes is not None and finding.code not in codes):
                continue
            assert finding.fix is not None
            if any(_overlaps(e, c) for e in finding.fix.edits for c in chosen):
                continue
            chosen.extend(finding.fix.edits)
            applied += 1
        if not chosen:
            break
        text = apply_edits(text, chosen)
        if lines is not None:
            lines = remap_lines(lines, chosen)
    return text, applied
