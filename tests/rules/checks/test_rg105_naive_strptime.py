"""RG105 naive-strptime, beyond the rule's own examples (test_examples.py runs those)."""

from __future__ import annotations

import pytest

from rules import analyze

# -- the severity of the naive-datetime rules follows the use ------------------------------


IMPORTS = "import logging\nimport time\nfrom datetime import datetime, timedelta, timezone\n"


@pytest.mark.parametrize(
    ("body", "code", "severity"),
    [
        # RG105: the format says what the text holds
        ("def newer(mdtm, mtime):\n    return datetime.strptime(mdtm, '%Y%m%d%H%M%S') > mtime\n",
         "RG105", "error"),
        ("def day(ds, later):\n    return datetime.strptime(ds, '%Y-%m-%d') < later\n", "RG105", "warning"),
        ("def expired(text):\n    return datetime.strptime(text, '%Y-%m-%dT%H:%M:%SZ') < datetime.utcnow()\n",
         "RG105", "warning"),
    ],
)
def test_severity_follows_the_use(body, code, severity):
    findings = [f for f in analyze(IMPORTS + body, "t.py").findings if f.code == code]
    assert findings, body
    assert {str(f.severity) for f in findings} == {severity}, [f.message for f in findings]


# -- suppressions, positions, severities ---------------------------------------------------


def test_finding_is_placed_on_the_call():
    source = (
        "from datetime import datetime\n"
        "value = (\n"
        "    datetime.strptime(\n"
        "        text, '%Y-%m-%d'\n"
        "    )\n"
        "    .date()\n"
        ")\n"
    )
    (finding,) = [f for f in analyze(source, "t.py").findings if f.code == "RG105"]
    assert (finding.line, finding.column, finding.end_line) == (3, 5, 5)
