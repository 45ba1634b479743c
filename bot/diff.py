"""Changed line numbers from the `patch` GitHub gives for each file of a pull request."""

from __future__ import annotations

import re

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


def added_lines(patch: str) -> frozenset[int]:
    """Line numbers, in the new file, of the lines the patch adds or changes.

    Context lines and removed lines are not the PR's work, so findings there are not reported.
    """
    lines: set[int] = set()
    new_line = 0
    in_hunk = False
    for raw in patch.splitlines():
        match = _HUNK.match(raw)
        if match:
            new_line = int(match.group(1))
            in_hunk = True
            continue
        if not in_hunk or raw.startswith("\\"):  # "\ No newline at end of file"
            continue
        if raw.startswith("+"):
            lines.add(new_line)
            new_line += 1
        elif raw.startswith("-"):
            continue
        else:
            new_line += 1
    return frozenset(lines)
