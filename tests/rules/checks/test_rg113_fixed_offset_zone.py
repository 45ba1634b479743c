"""RG113 fixed-offset-zone, beyond the rule's own examples (test_examples.py runs those)."""

from __future__ import annotations

import textwrap
import zoneinfo
from datetime import datetime, timedelta

import pytest

from rules import analyze
from rules.analysis.zones import DST_CITY_WORDS, DST_ZONES
from rules.engine import fix_source


def lines(code: str) -> list[int]:
    report = analyze(textwrap.dedent(code), "t.py")
    return [f.line for f in report.findings if f.code == "RG113"]


def test_the_zone_list_holds_zones_with_summer_time_only():
    available = zoneinfo.available_timezones()
    for name in ("Europe/Paris", "America/New_York", "US/Eastern", "CET", "EST5EDT", "Australia/Sydney"):
        assert name in DST_ZONES
    for name in ("Asia/Tokyo", "UTC", "EST", "America/Phoenix", "Australia/Brisbane", "Asia/Kolkata"):
        assert name not in DST_ZONES
    # every listed zone exists here and still switches
    for name in sorted(DST_ZONES & available):
        zone = zoneinfo.ZoneInfo(name)
        assert datetime(2025, 1, 15, tzinfo=zone).utcoffset() != datetime(2025, 7, 15, tzinfo=zone).utcoffset(), name


def test_city_words_name_zones_with_summer_time():
    assert "phoenix" not in DST_CITY_WORDS and "tokyo" not in DST_CITY_WORDS


@pytest.mark.parametrize(
    ("line", "flagged"),
    [
        ("PARIS_TZ = timezone(timedelta(hours=1))", True),
        ("tz_new_york = timezone(timedelta(hours=-5))", True),
        ("NewYork = timezone(timedelta(hours=-5))", True),
        ("US_PACIFIC = timezone(timedelta(hours=-8))", True),
        ("PACIFIC = timezone(timedelta(hours=12))", False),  # east of UTC: not the American zone
        ("EASTERN = timezone(timedelta(hours=3))", False),  # East Africa Time
        ("TOKYO = timezone(timedelta(hours=9))", False),
        ("zone = timezone(timedelta(hours=1))", False),
        ("zones = {'Europe/Paris': timezone(timedelta(hours=1))}", True),
        ("zones = {'Asia/Tokyo': timezone(timedelta(hours=9))}", False),
        ("zones = {'paris': timezone(timedelta(hours=1))}", True),
    ],
)
def test_names_that_hold_a_fixed_offset(line, flagged):
    code = f"from datetime import timezone, timedelta\n{line}\n"
    assert bool(lines(code)) is flagged


def test_constructors_are_resolved_through_the_imports():
    code = """\
        import datetime as dt
        from datetime import timezone as TZ
        import pytz
        from dateutil import tz

        a = dt.timezone(dt.timedelta(hours=1), "Europe/Berlin")
        b = TZ(dt.timedelta(hours=1), "Europe/Berlin")
        c = tz.tzoffset("Europe/Berlin", 3600)
        BERLIN = pytz.FixedOffset(60)

        def f(timezone):
            return timezone(dt.timedelta(hours=1), "Europe/Berlin")
        """
    assert lines(code) == [6, 7, 8, 9]


def test_astimezone_tzinfo_is_flagged_only_where_it_is_kept():
    code = """\
        from datetime import datetime

        LOCAL = datetime.now().astimezone().tzinfo

        class Settings:
            zone = datetime.now().astimezone().tzinfo

        def now_local():
            zone = datetime.now().astimezone().tzinfo
            return datetime.now(zone)

        UTC_ZONE = datetime.now().astimezone(None).tzinfo
        """
    assert lines(code) == [3, 6]


def test_the_fix_uses_the_files_import_style_and_is_unsafe():
    code = "from datetime import timezone, timedelta\nfrom zoneinfo import ZoneInfo\nX = timezone(timedelta(hours=1), 'CET')\nY = timezone(timedelta(hours=-5), 'America/New_York')\n"
    safe_only, applied = fix_source(code, "t.py", codes={"RG113"})
    assert (safe_only, applied) == (code, 0)
    fixed, applied = fix_source(code, "t.py", unsafe=True, codes={"RG113"})
    # `CET` is no IANA location: only the findings, no fix
    assert applied == 1
    assert fixed.endswith("X = timezone(timedelta(hours=1), 'CET')\nY = ZoneInfo('America/New_York')\n")
    assert lines(fixed) == [3]


def test_the_fixed_module_gives_the_summer_offset():
    code = textwrap.dedent("""\
        from datetime import datetime, timedelta, timezone

        PARIS = timezone(timedelta(hours=1), "Europe/Paris")

        def noon(y, m, d):
            return datetime(y, m, d, 12, tzinfo=PARIS)
        """)
    before: dict = {}
    exec(compile(code, "t.py", "exec"), before)
    assert before["noon"](2025, 7, 1).utcoffset() == timedelta(hours=1)  # wrong in summer
    fixed, applied = fix_source(code, "t.py", unsafe=True, codes={"RG113"})
    assert applied == 1
    after: dict = {}
    exec(compile(fixed, "t.py", "exec"), after)
    assert after["noon"](2025, 7, 1).utcoffset() == timedelta(hours=2)
    assert after["noon"](2025, 1, 1).utcoffset() == timedelta(hours=1)
