"""RG110 pytz-tzinfo, beyond the rule's own examples (test_examples.py runs those)."""

from __future__ import annotations

import pytest

from rules import analyze
from rules.engine import fix_source


def lines_of(source: str, code: str) -> list[int]:
    return [f.line for f in analyze(source, "t.py").findings if f.code == code]


# -- where the zone comes from -------------------------------------------------------------


PYTZ = "import pytz\nfrom datetime import datetime\n"


@pytest.mark.parametrize(
    ("body", "flagged"),
    [
        # bound in the function that uses it
        ("def f():\n    tz = pytz.timezone('Europe/Paris')\n    return datetime(1, 2, 3, tzinfo=tz)\n", True),
        # bound at module level, used in a method
        (
            "TZ = pytz.timezone('Europe/Paris')\nclass C:\n"
            "    def m(self, d):\n        return d.replace(tzinfo=TZ)\n",
            True,
        ),
        # a class attribute is not visible as a bare name from a method: that TZ is global
        (
            "TZ = pytz.utc\nclass C:\n    TZ = pytz.timezone('Europe/Paris')\n"
            "    def m(self, d):\n        return d.replace(tzinfo=TZ)\n",
            False,
        ),
        # in the class body itself the class attribute is what the name means
        (
            "class C:\n    TZ = pytz.timezone('Europe/Paris')\n"
            "    EPOCH = datetime(1970, 1, 1, tzinfo=TZ)\n",
            True,
        ),
        # a name bound in another function is another variable
        (
            "def a():\n    tz = pytz.timezone('Europe/Paris')\n"
            "def b(tz):\n    return datetime(1, 2, 3, tzinfo=tz)\n",
            False,
        ),
        # a static zone held in a name
        ("UTC = pytz.timezone('UTC')\nx = datetime(1, 2, 3, tzinfo=UTC)\n", False),
        # a zone assigned under `global` in a function is the module's name
        (
            "def setup():\n    global TZ\n    TZ = pytz.timezone('Asia/Tokyo')\n"
            "def use():\n    return datetime(1, 2, 3, tzinfo=TZ)\n",
            True,
        ),
        ("x = datetime(1, 2, 3, tzinfo=pytz.timezone(settings.TIME_ZONE))\n", True),
        ("x = datetime(1, 2, 3, tzinfo=pytz.FixedOffset(60))\n", False),
    ],
)
def test_pytz_zone_origins(body, flagged):
    assert bool(lines_of(PYTZ + body, "RG110")) is flagged


def test_pytz_fix_keeps_other_arguments_and_parses():
    source = PYTZ + "x = datetime(1, 2, 3, tzinfo=pytz.timezone('Asia/Tokyo'), fold=1)\n"
    fixed, applied = fix_source(source, "t.py", unsafe=True, codes={"RG110"})
    assert applied == 1
    assert fixed.endswith("x = pytz.timezone('Asia/Tokyo').localize(datetime(1, 2, 3, fold=1))\n")
    assert not lines_of(fixed, "RG110")
    safe_only, applied = fix_source(source, "t.py", codes={"RG110"})
    assert (safe_only, applied) == (source, 0)
