"""In-code suppressions: `# reviewgate: ignore[RG101]` and `# noqa: RG101` (or ruff's code).

A comment suppresses findings on its own line, or, when it stands alone on a line, on the
line below. A bare `# noqa` suppresses nothing: silencing the gate must name what it silences.
"""

from __future__ import annotations

import re

import libcst as cst
from libcst.metadata import CodeRange

_IGNORE = re.compile(r"reviewgate:\s*ignore\[([A-Za-z0-9_,\s]+)\]")
_NOQA = re.compile(r"noqa\s*:\s*([A-Za-z]+[0-9]+(?:[\s,]+[A-Za-z]+[0-9]+)*)", re.IGNORECASE)


def codes_in(comment: str) -> frozenset[str]:
    found: set[str] = set()
    for pattern in (_IGNORE, _NOQA):
        for match in pattern.finditer(comment):
            found.update(c.upper() for c in re.split(r"[\s,]+", match.group(1)) if c)
    return frozenset(found)


def suppressions(positions: dict[cst.CSTNode, CodeRange], lines: list[str]) -> dict[int, frozenset[str]]:
    """Line number -> codes suppressed on it, from the real comments of the file."""
    out: dict[int, frozenset[str]] = {}
    for node, rng in positions.items():
        if type(node) is not cst.Comment:
            continue
        codes = codes_in(node.value)
        if not codes:
            continue
        line = rng.start.line
        targets = [line]
        text = lines[line - 1] if line - 1 < len(lines) else ""
        if not text[: rng.start.column].strip():
            targets.append(line + 1)  # a comment alone on its line covers the next line
        for target in targets:
            out[target] = out.get(target, frozenset()) | codes
    return out
