"""The command line's text for people: findings with a source snippet and a caret, counts
per rule (`--statistics`), and a rule's documentation (`reviewgate rule RG101`).

Everything here comes from the checked files (paths, source lines, names in messages), so
control characters are shown escaped: a file cannot move the cursor or recolour the terminal
of whoever checks it. Lines are wrapped to `WIDTH` characters (a word longer than that, such
as a very long path, stays whole).
"""

from __future__ import annotations

import re
import textwrap
from collections import Counter
from dataclasses import dataclass
from typing import Any

from rules.catalogue import CATALOGUE, rule_for
from rules.docs import ENGINE_NOTICES, anchor_url, area, help_markdown
from rules.model import Finding, Severity

WIDTH = 100
_CONTEXT = 20  # characters kept left of the caret when a long source line is cut
# C0 and C1 controls, and the bidirectional overrides and isolates that reorder what is shown
_UNPRINTABLE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def printable(text: str) -> str:
    return _UNPRINTABLE.sub(lambda m: repr(m.group())[1:-1], text).replace("\t", " ")


@dataclass(frozen=True)
class Style:
    """ANSI colours, or none (not a terminal, or NO_COLOR set)."""

    colour: bool

    def _sgr(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.colour and text else text

    def bold(self, text: str) -> str:
        return self._sgr("1", text)

    def dim(self, text: str) -> str:
        return self._sgr("2", text)

    def gutter(self, text: str) -> str:
        return self._sgr("1;34", text)

    def severity(self, severity: Severity, text: str) -> str:
        code = {Severity.ERROR: "1;31", Severity.WARNING: "1;33"}.get(severity, "1;36")
        return self._sgr(code, text)


def _wrap(text: str, first: int, indent: str) -> list[str]:
    """`text` wrapped to WIDTH, the first line `first` characters shorter (its prefix)."""
    wrapper = textwrap.TextWrapper(
        width=WIDTH, initial_indent="x" * first, subsequent_indent=indent,
        break_long_words=False, break_on_hyphens=False,
    )
    lines = wrapper.wrap(text) or ["x" * first]
    lines[0] = lines[0][first:]
    return lines


def _window(line: str, start: int, end: int, room: int) -> tuple[str, int, int]:
    """The part of a source line that fits in `room`, around the flagged columns [start, end),
    an ellipsis where it is cut; the columns shifted to match."""
    if len(line) <= room:
        return line, start, end
    left = max(0, min(start - _CONTEXT, len(line) - room))
    cut_left, cut_right = left > 0, left + room < len(line)
    body = line[left + cut_left : left + room - cut_right]
    shown = ("…" if cut_left else "") + body + ("…" if cut_right else "")
    return shown, start - left, min(end - left, room)


def finding_text(finding: Finding, source: list[str] | None, style: Style) -> str:
    """One finding: `path:line:col: CODE [severity] message`, wrapped; the flagged line with
    a caret under the flagged columns; the fix, if any; the rule's documentation URL."""
    location = printable(f"{finding.path}:{finding.line}:{finding.column}:")
    label = f"{finding.code} [{finding.severity.value}]"
    message = printable(finding.message) + (" (suppressed)" if finding.suppressed else "")
    head = f"{location} {label} "
    wrapped = _wrap(message, len(head), "    ")
    out = [style.bold(location) + " " + style.severity(finding.severity, label) + " " + wrapped[0]]
    out += wrapped[1:]
    if source is not None and 1 <= finding.line <= len(source):
        out += _snippet(finding, source[finding.line - 1], style)
    if finding.fix is not None:
        how = "--fix" if finding.fix.safe else "--fix --unsafe-fixes"
        out.append(f"  = fix ({how}): " + printable(finding.fix.description))
    out.append("  = docs: " + style.dim(_docs_url(finding.code)))
    return "\n".join(out)


def _snippet(finding: Finding, raw: str, style: Style) -> list[str]:
    number = str(finding.line)
    pad = " " * len(number)
    line = printable(raw.rstrip("\r\n"))
    # columns are characters of the raw line; an escaped control widens what comes after it
    prefix = printable(raw[: max(0, finding.column - 1)])
    start = len(prefix)
    if finding.end_line == finding.line and finding.end_column > finding.column:
        end = len(printable(raw[: finding.end_column - 1]))
    else:
        end = len(line)
    end = max(end, start + 1)
    room = WIDTH - len(number) - 3
    shown, start, end = _window(line, start, end, room)
    caret = " " * start + "^" * max(1, end - start)
    return [
        style.gutter(f"{pad} |"),
        style.gutter(f"{number} |") + " " + shown,
        style.gutter(f"{pad} |") + " " + style.severity(finding.severity, caret),
        style.gutter(f"{pad} |"),
    ]


def _docs_url(code: str) -> str:
    rule = rule_for(code)
    if rule is not None:
        return anchor_url(rule.docs_anchor())
    for notice in ENGINE_NOTICES:
        if notice.code == code:
            return anchor_url(notice.docs_anchor())
    return anchor_url("")


# -- --statistics ----------------------------------------------------------------------------


def statistics(findings: list[Finding]) -> list[dict[str, Any]]:
    """Unsuppressed findings counted per code, most frequent first (ruff's `--statistics`)."""
    active = [f for f in findings if not f.suppressed]
    counts = Counter(f.code for f in active)
    out = []
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        of_code = [f for f in active if f.code == code]
        fixable = sum(f.fix is not None and f.fix.safe for f in of_code)
        out.append(
            {"code": code, "name": of_code[0].slug, "count": count,
             "fixable": fixable == count, "fixable_count": fixable}
        )
    return out


def statistics_text(rows: list[dict[str, Any]]) -> str:
    """`count  code  [*] name` per code; `[*]` all fixable with --fix, `[-]` some."""
    if not rows:
        return ""
    width = max(len(str(r["count"])) for r in rows)
    lines = []
    for row in rows:
        mark = "[*]" if row["fixable"] else "[-]" if row["fixable_count"] else "[ ]"
        lines.append(f"{row['count']:>{width}}\t{row['code']}\t{mark} {row['name']}")
    return "\n".join(lines) + "\n"


# -- reviewgate rule -------------------------------------------------------------------------


def rule_text(code: str) -> str | None:
    """A rule's (or an engine notice's) documentation as Markdown, or None if no such code."""
    rule = rule_for(code)
    if rule is not None:
        ruff = f" Also silenced by ruff's `{'`, `'.join(rule.ruff_codes)}`." if rule.ruff_codes else ""
        parts = [
            f"# {rule.code} {rule.slug}",
            rule.summary(),
            f"Severity: `{rule.severity.value}`. Area: {area(rule.code)}.{ruff}",
            help_markdown(rule),
        ]
        if rule.details():
            parts += [f"## {rule.code} in detail", rule.details()]
        parts.append(anchor_url(rule.docs_anchor()))
        return "\n\n".join(parts) + "\n"
    for notice in ENGINE_NOTICES:
        if notice.code == code.upper():
            return "\n\n".join(
                [f"# {notice.code} {notice.slug}", notice.summary, notice.text,
                 anchor_url(notice.docs_anchor())]
            ) + "\n"
    return None


def all_codes() -> list[str]:
    return [r.code for r in CATALOGUE] + [n.code for n in ENGINE_NOTICES]
