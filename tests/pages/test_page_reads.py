"""The pages' reads: the audit export (every row once, in batches, filtered) and the verdict latency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.store import pages
from bot.store.db import CommandAudit, Database, Delivery, Evaluation, WaiverRecord


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


def test_verdict_latency_runs_from_the_first_delivery_a_verdict_answered(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'latency.db'}")
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    t0 = now - timedelta(minutes=90)
    with db.session() as session:
        for guid, at in (("a", 0), ("b", 1), ("c", 40)):
            session.add(Delivery(guid=guid, event="pull_request", action="synchronize", repo="octo/a", pr=1,
                                 installation_id=1, received_at=t0 + timedelta(seconds=at), outcome="queued"))
        session.add(Delivery(guid="d", event="pull_request", action="opened", repo="octo/a", pr=1,
                             installation_id=1, received_at=t0 + timedelta(seconds=2), outcome="ignored"))
        for started, finished in ((2, 5), (10, 11), (41, 44.5)):  # the second answered no delivery
            session.add(Evaluation(repo="octo/a", number=1, head_sha="0" * 40, head_digest="", conclusion="failure",
                                   title="", findings_digest="", trigger="t",
                                   started_at=t0 + timedelta(seconds=started), finished_at=t0 + timedelta(seconds=finished)))
    hours = pages.hourly_verdict_latency(db, now)
    assert hours[:22] == [None] * 22 and hours[23] is None
    assert hours[22] == 5.0  # 5 s from the first delivery; the later verdict took 4.5 s
    db.dispose()
