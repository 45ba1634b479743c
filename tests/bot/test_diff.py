"""Changed lines from GitHub's per-file `patch`."""

from __future__ import annotations

import pytest

from bot.diff import added_lines

CASES = [
    ("@@ -0,0 +1,3 @@\n+a\n+b\n+c", {1, 2, 3}),
    ("@@ -1,3 +1,4 @@\n a\n-b\n+B\n+C\n c", {2, 3}),
    ("@@ -10,2 +10,2 @@ def f():\n x\n-y\n+z\n\\ No newline at end of file", {11}),
    ("@@ -1,2 +1,1 @@\n a\n-b", set()),
    ("@@ -1 +1 @@\n-a\n+b\n@@ -20,3 +20,4 @@\n p\n q\n+r\n s", {1, 22}),
    ("", set()),
]


@pytest.mark.parametrize(("patch", "expected"), CASES)
def test_added_lines(patch: str, expected: set[int]) -> None:
    assert added_lines(patch) == expected
