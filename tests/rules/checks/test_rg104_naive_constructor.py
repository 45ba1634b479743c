"""RG104 naive-constructor, beyond the rule's own examples (test_examples.py runs those)."""

from __future__ import annotations

import pytest

from rules import analyze

# -- the severity of the naive-datetime rules follows the use ------------------------------


IMPORTS = "import logging\nimport time\nfrom datetime import datetime, timedelta, timezone\n"


@pytest.mark.parametrize(
    ("body", "code", "severity"),
    [
        # RG104: a cutoff compared with stored values is the incident; calendar work is not
        ("def recent(rows):\n    cutoff = datetime(2024, 1, 1)\n"
         "    return [r for r in rows if r.created_at > cutoff]\n", "RG104", "error"),
        ("def seed(Event):\n    return Event(created_at=datetime(2024, 1, 1))\n", "RG104", "error"),
        ("def first(value, make_aware, tz):\n    first = datetime(value, 1, 1)\n"
         "    first = make_aware(first, tz)\n    return first\n", "RG104", "warning"),
        ("def month_start(d):\n    return datetime(d.year, d.month, 1)\n", "RG104", "warning"),
        ("EPOCH = datetime(1970, 1, 1)\ndef seconds(v):\n    return (v - EPOCH).total_seconds()\n",
         "RG104", "warning"),
        ("ORDINAL = datetime(1970, 1, 1).toordinal()\n", "RG104", "warning"),
        ("def offset(dt, secs):\n    return dt - datetime(*time.gmtime(secs)[:6])\n", "RG104", "warning"),
        ("class DateTest:\n    data = datetime(2012, 10, 15, 12, 57)\n", "RG104", "warning"),
    ],
)
def test_severity_follows_the_use(body, code, severity):
    findings = [f for f in analyze(IMPORTS + body, "t.py").findings if f.code == code]
    assert findings, body
    assert {str(f.severity) for f in findings} == {severity}, [f.message for f in findings]
