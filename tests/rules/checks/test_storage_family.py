"""The storage rules together: one `except` clause is reported by one rule."""

from __future__ import annotations

import textwrap

from rules import analyze

OURS = {"RG201", "RG204", "RG207"}


def found(source: str) -> list[tuple[str, int]]:
    report = analyze(textwrap.dedent(source), "example.py")
    return [(f.code, f.line) for f in report.findings if f.code in OURS]


def test_a_handler_is_reported_once_by_one_rule():
    src = """\
        def f(db, rec):
            try:
                db.commit()
            except Exception:
                print("failed")
                open("spool.txt", "a").write(rec)
    """
    assert found(src) == [("RG207", 4), ("RG204", 6)]
