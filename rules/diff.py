"""Line numbers as git and GitHub count them: changed lines from a file's patch (a pull
request's `patch`, or one file's part of `git diff`), and the way from the engine's line
numbers to git's.

git ends a line at "\\n" only. `str.splitlines` also ends one at "\\r", "\\f", "\\v",
"\\x1c"-"\\x1e", "\\x85", "\\u2028" and "\\u2029", and Python's parser at a lone "\\r": either
would number lines differently from the diff a reviewer reads, and a finding could fall off
the changed lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
# Where Python's tokenizer ends a line (bytes: "\r" and "\n" are these bytes in every
# encoding a source file may declare)
_PYTHON_BREAK = re.compile(rb"\r\n|\r|\n")


def git_lines(text: str) -> list[str]:
    """`text` cut into lines where git cuts it, without the "\\n" or "\\r\\n" that ends each."""
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def added_lines(patch: str) -> frozenset[int]:
    """Line numbers, in the new file, of the lines the patch adds or changes.

    Context lines and removed lines are not the PR's work, so findings there are not reported.
    """
    lines: set[int] = set()
    new_line = 0
    in_hunk = False
    for raw in git_lines(patch):
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


@dataclass(frozen=True)
class LineMap:
    """From the engine's lines (Python's: a lone "\\r" ends one) to git's lines of one file."""

    git: tuple[int, ...]  # git line of each engine line (index: engine line - 1)
    offset: tuple[int, ...]  # characters before the engine line on its git line
    shared: frozenset[int]  # git lines that hold more than one engine line

    @classmethod
    def of(cls, content: bytes) -> LineMap | None:
        """The map for a file's bytes, or None when both count alike (no lone "\\r")."""
        if content.count(b"\r") == content.count(b"\r\n"):
            return None
        git, offset, shared = [1], [0], set()
        line_start = 0  # offset of the current git line in `content`
        for match in _PYTHON_BREAK.finditer(content):
            end = match.end()
            if match.group() == b"\r":
                shared.add(git[-1])
                git.append(git[-1])
                offset.append(len(content[line_start:end].decode("utf-8", "replace")))
            else:
                git.append(git[-1] + 1)
                offset.append(0)
                line_start = end
        return cls(tuple(git), tuple(offset), frozenset(shared))

    def line(self, engine_line: int) -> int:
        """The git line of an engine line (one past the end stays past the end)."""
        if engine_line < 1:
            return engine_line
        if engine_line > len(self.git):
            return self.git[-1] + (engine_line - len(self.git))
        return self.git[engine_line - 1]

    def column(self, engine_line: int, column: int) -> int:
        """The 1-based column on the git line of a 1-based column on an engine line."""
        if 1 <= engine_line <= len(self.offset):
            return column + self.offset[engine_line - 1]
        return column

    def whole(self, engine_line: int) -> bool:
        """Is the engine line the whole of its git line? Only then can a suggestion replace it."""
        return self.line(engine_line) not in self.shared
