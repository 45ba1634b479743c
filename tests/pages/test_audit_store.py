"""The audit export's reads: every row once, in batches, filtered by repository and time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.store import pages
from bot.store.db import CommandAudit, Database, WaiverRecord


def test_a_long_audit_is_read_in_batches_every_row_once(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'audit.db'}")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with db.session() as session:
        for i in range(1234):
            session.add(WaiverRecord(repo="octo/a" if i % 2 else "octo/b", number=1, pattern="RG1", reason=f"r{i}",
                                     by="bob", head_sha="0" * 40, fingerprints="[]",
                                     created_at=start + timedelta(hours=i)))
        for i in range(3):
            session.add(CommandAudit(comment_id=i, position=0, repo="octo/a", number=1, actor="bob",
                                     command="/gate recheck", name="recheck", head_sha="0" * 40,
                                     outcome="accepted", created_at=start + timedelta(days=i)))
    everything = list(pages.audit_rows(db, None, None, None, None))
    assert len(everything) == 1237
    assert [r["reason"] for r in everything[:1234]] == [f"r{i}" for i in range(1234)]
    one = list(pages.audit_rows(db, None, "octo/a", None, None))
    assert len(one) == 617 + 3 and {r["repo"] for r in one} == {"octo/a"}
    allowed_none = list(pages.audit_rows(db, set(), None, None, None))
    assert allowed_none == []
    window = list(pages.audit_rows(db, {"octo/a", "octo/b"}, None, start + timedelta(days=1), start + timedelta(days=2)))
    assert len(window) == 24 + 1
    db.dispose()
