"""When a fix that makes a naive datetime aware is safe (rules/analysis/fix_safety.py)."""

from __future__ import annotations

import pytest

from rules import analyze

HEAD = "import logging\nfrom datetime import datetime, timezone\nlog = logging.getLogger()\n"


def safety(body: str) -> list[bool]:
    return [f.fix.safe for f in analyze(HEAD + body, "m.py").findings if f.code == "RG101" and f.fix]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # every read in sight and unchanged by an aware value
        ("def f():\n    t = datetime.now()\n    log.info('at %s', t)\n", [True]),
        ("def f():\n    return datetime.now().strftime('%H:%M')\n", [True]),
        ("def f():\n    return f'{datetime.now():%H:%M}'\n", [True]),
        ("def f():\n    return datetime.now().timestamp()\n", [True]),
        ("def f():\n    row = {}\n    row['at'] = datetime.now()\n    log.info('%s', row['at'])\n", [True]),
        ("def f(deadline):\n    return datetime.now() > datetime.now(timezone.utc)\n", [True]),
        ("def f():\n    t = None\n    t = datetime.now()\n    return t is None\n", [True]),
        # out of sight, or another answer once aware
        ("def f():\n    return datetime.now()\n", [False]),
        ("def f(t):\n    return datetime.now() > t\n", [False]),
        ("def f(save):\n    save(datetime.now())\n", [False]),
        ("def f():\n    return datetime.now().isoformat()\n", [False]),
        ("def f():\n    return str(datetime.now())\n", [False]),
        ("def f():\n    return datetime.now().replace(tzinfo=None)\n", [False]),
        ("def f():\n    return [datetime.now()]\n", [False]),
        ("STARTED = datetime.now()\n", [False]),
        ("def f(row):\n    row['at'] = datetime.now()\n", [False]),
        ("def f():\n    row = {}\n    row['at'] = datetime.now()\n    return row\n", [False]),
        ("class C:\n    def f(self):\n        self.at = datetime.now()\n", [False]),
        # a group is fixed together or not at all: one member returned spoils the others
        ("def f():\n    t = datetime.now()\n    log.info('%s', datetime.now() - t)\n    return t\n", [False, False]),
        ("def f():\n    t = datetime.now()\n    log.info('%s', datetime.now() - t)\n", [True, True]),
        ("class C:\n    def a(self):\n        self._t = datetime.now()\n"
         "    def b(self):\n        return datetime.now() - self._t\n", [True, True]),
        ("class C:\n    def a(self):\n        self._t = datetime.now()\n"
         "    def b(self, other):\n        return self._t < other\n", [False]),
    ],
)
def test_fix_safety(body, expected):
    assert safety(body) == expected
