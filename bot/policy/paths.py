"""Globs over changed paths, as the `owners` and `paths` sections read them, matched fast.

With thousands of owners entries and thousands of changed paths, trying every pair took a
minute: each glob is read once, and tried only on the paths that start with its literal prefix.
The reading itself is `rules.glob_match`'s, the one definition the engine's `paths:` uses too;
tests/gate/test_decide.py checks the two agree on generated globs and paths.
"""

from __future__ import annotations

import fnmatch
import functools
import re
import sys
from bisect import bisect_left
from collections.abc import Callable, Iterable
from dataclasses import dataclass


def glob_match(path: str, pattern: str) -> bool:
    """`rules.glob_match`, through the compiled globs."""
    return _glob(pattern).test(_normal_path(path))


def _normal_path(path: str) -> str:
    return path.replace("\\", "/").removeprefix("./")


@dataclass(frozen=True)
class _Glob:
    """A glob, read once. `prefix` is its literal start: every path it matches starts with it
    (reading `**/` as matching nothing only changes text from a wildcard on), and `needle` a
    literal every such path contains. The common shapes need no regular expression: a plain
    path is `exact`, and `dir/`, `dir/**` match every path under the prefix (`rest`)."""

    pattern: str
    prefix: str
    exact: bool = False
    rest: bool = False
    needle: str = ""

    @functools.cached_property
    def match(self) -> Callable[[str], object]:
        # Compiled on first use: most globs of a large configuration match no changed path.
        # As written, or with each `**/` matching nothing (`**/x.py` also matches `x.py`).
        readings = dict.fromkeys((self.pattern, self.pattern.replace("**/", "")))
        return re.compile("|".join(fnmatch.translate(p) for p in readings)).match

    def test(self, path: str) -> bool:
        if self.exact:
            return path == self.prefix
        if self.rest:
            return path.startswith(self.prefix)
        return self.match(path) is not None


@functools.lru_cache(maxsize=8192)
def _glob(pattern: str) -> _Glob:
    pattern = pattern.removeprefix("./").removeprefix("/")
    if pattern.endswith("/"):
        pattern += "**"
    prefix = re.split(r"[*?[]", pattern, maxsplit=1)[0]
    wild = pattern[len(prefix):]
    if not wild:
        return _Glob(pattern, prefix, exact=True)
    if not wild.strip("*"):
        return _Glob(pattern, prefix, rest=True)
    # The literal runs between wildcards are in every match, but for the `/` that follows a
    # `**` (gone in the second reading); `[...]` is a set of characters, not a literal.
    needle = "" if "[" in wild else max((r.removeprefix("/") for r in re.split(r"[*?]", wild)), key=len)
    return _Glob(pattern, prefix, needle=needle)


class PathIndex:
    """The changed paths, sorted, so that a glob is tried only on the paths that start with
    its literal prefix: `app/storage/**` looks at `app/storage/...` and nothing else. With
    thousands of owners entries and thousands of paths, trying every pair took a minute."""

    def __init__(self, paths: Iterable[str]) -> None:
        self._keys = sorted(_normal_path(p) for p in paths)
        self._found: dict[str, range | frozenset[int]] = {}

    def _matching(self, pattern: str) -> range | frozenset[int]:
        found = self._found.get(pattern)
        if found is None:
            glob, keys = _glob(pattern), self._keys
            start, end = self._range(glob.prefix)
            if glob.rest:
                found = range(start, end)
            elif glob.exact:
                found = frozenset(i for i in range(start, end) if keys[i] == glob.prefix)
            else:
                needle = glob.needle
                candidates = [i for i in range(start, end) if needle in keys[i]]
                match = glob.match if candidates else lambda _path: None
                found = frozenset(i for i in candidates if match(keys[i]) is not None)
            self._found[pattern] = found
        return found

    def _range(self, prefix: str) -> tuple[int, int]:
        """Where the paths that start with `prefix` are: those from `prefix` up to the prefix
        with its last character raised by one."""
        keys = self._keys
        start = bisect_left(keys, prefix)
        if not prefix:
            return 0, len(keys)
        if prefix[-1] == chr(sys.maxunicode):
            end = start
            while end < len(keys) and keys[end].startswith(prefix):
                end += 1
            return start, end
        return start, bisect_left(keys, prefix[:-1] + chr(ord(prefix[-1]) + 1), lo=start)

    def count(self, patterns: Iterable[str]) -> int:
        """How many changed paths match at least one of the globs."""
        matched: set[int] = set()
        for pattern in patterns:
            matched.update(self._matching(pattern))
        return len(matched)

