"""The analyzer's cache and bounds, on a real SQLite database, with blobs from a dict."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import rules
from bot.analysis import Analyzer, BlobTooLarge, ChangedFile
from bot.isolation import OutOfTime
from bot.store.db import Database

NAIVE = b"from datetime import datetime\nX = datetime.now()\n"


class Blobs:
    """Blobs by sha, refusing (as the GitHub reader does) those over the limit unread."""

    def __init__(self, blobs: dict[str, bytes], sizes: dict[str, int | None] | None = None) -> None:
        self.blobs = blobs
        self.sizes = sizes or {}
        self.asked: list[str] = []

    def __call__(self, sha: str, limit: int) -> bytes:
        self.asked.append(sha)
        if sha in self.sizes:
            raise BlobTooLarge(self.sizes[sha])
        data = self.blobs[sha]
        if len(data) > limit:
            raise BlobTooLarge(len(data))
        return data


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'cache.db'}")
    yield database
    database.dispose()


def _file(sha: str, path: str = "app/x.py") -> ChangedFile:
    return ChangedFile(path, "added", sha, None)


def test_a_blob_over_the_limit_gets_a_notice_that_is_cached(db: Database) -> None:
    blobs = Blobs({}, sizes={"big": 5_000_000, "unsaid": None})
    analyzer = Analyzer(db, rules.RulesConfig(), blobs)
    (notice,) = analyzer.analyze(_file("big"), None).findings
    assert (notice.code, str(notice.severity)) == ("RG002", "notice")
    assert notice.message == "Not analysed: the file is 5,000,000 bytes, over the limit of 1,048,576 bytes."
    (unsaid,) = analyzer.analyze(_file("unsaid", "gen/y.py"), None).findings
    assert unsaid.message == "Not analysed: the file is over the limit of 1,048,576 bytes."
    # Cached by blob: the same bytes at another path are not asked for again.
    again = Analyzer(db, rules.RulesConfig(), blobs).analyze(_file("big", "moved.py"), None)
    assert [(f.code, f.path) for f in again.findings] == [("RG002", "moved.py")]
    assert blobs.asked == ["big", "unsaid"]


def test_the_size_limit_is_part_of_the_cache_key(db: Database) -> None:
    blobs = Blobs({"b": NAIVE})
    small = Analyzer(db, rules.RulesConfig(max_bytes=10), blobs).analyze(_file("b"), None)
    assert [f.code for f in small.findings] == ["RG002"]
    larger = Analyzer(db, rules.RulesConfig(), blobs).analyze(_file("b"), None)
    assert [f.code for f in larger.findings] == ["RG101"]


def test_past_the_deadline_only_cached_files_are_served(db: Database) -> None:
    blobs = Blobs({"a": NAIVE, "b": b"Y = 1\n"})
    analyzer = Analyzer(db, rules.RulesConfig(), blobs)
    analyzer.analyze(_file("a"), None)
    past = time.monotonic() - 1
    assert [f.code for f in analyzer.analyze(_file("a"), None, deadline=past).findings] == ["RG101"]
    with pytest.raises(OutOfTime):
        analyzer.analyze(_file("b"), None, deadline=past)
    assert blobs.asked == ["a"]
