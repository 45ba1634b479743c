"""RG106 local-date, beyond the rule's own examples (test_examples.py runs those)."""

from __future__ import annotations

from rules import analyze

# -- suppressions, positions, severities ---------------------------------------------------


def test_local_date_is_a_warning_and_does_not_block():
    (finding,) = analyze("from datetime import date\nd = date.today()\n", "t.py").findings
    assert finding.code == "RG106" and str(finding.severity) == "warning"
    assert not finding.blocking
