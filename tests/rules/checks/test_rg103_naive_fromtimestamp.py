"""RG103 naive-fromtimestamp, beyond the rule's own examples (test_examples.py runs those)."""

from __future__ import annotations

import pytest

from rules import analyze

# -- the severity of the naive-datetime rules follows the use ------------------------------


IMPORTS = "import logging\nimport time\nfrom datetime import datetime, timedelta, timezone\n"


@pytest.mark.parametrize(
    ("body", "code", "severity"),
    [
        # RG103: the same uses
        ("def lastsave(r):\n    return datetime.fromtimestamp(int(r))\n", "RG103", "error"),
        ("def changed(self, p, getmtime):\n    m = datetime.fromtimestamp(getmtime(p))\n"
         "    return m == self.seen[p]\n", "RG103", "warning"),
        ("def took(t0, t1):\n    start = datetime.fromtimestamp(t0)\n    finish = datetime.fromtimestamp(t1)\n"
         "    return finish - start\n", "RG103", "warning"),
    ],
)
def test_severity_follows_the_use(body, code, severity):
    findings = [f for f in analyze(IMPORTS + body, "t.py").findings if f.code == code]
    assert findings, body
    assert {str(f.severity) for f in findings} == {severity}, [f.message for f in findings]
