"""RG102 utc-naive, beyond the rule's own examples (test_examples.py runs those)."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from rules import analyze
from rules.engine import fix_source


def lines_of(source: str, code: str) -> list[int]:
    return [f.line for f in analyze(source, "t.py").findings if f.code == code]


# -- fixes ---------------------------------------------------------------------------------


def test_fix_spells_timezone_out_when_the_short_name_is_taken():
    source = "import datetime\ntimezone = 'Europe/Paris'\nx = datetime.datetime.utcnow()\n"
    fixed, _ = fix_source(source, "t.py", unsafe=True, codes={"RG102"})
    assert "x = datetime.datetime.now(datetime.timezone.utc)\n" in fixed
    assert not lines_of(fixed, "RG102")


def test_fix_is_unsafe_when_the_value_is_compared_or_returned():
    source = (
        "from datetime import datetime\n"
        "def a(t):\n    now = datetime.utcnow()\n    return now < t\n"
        "def b():\n    now = datetime.utcnow()\n    return now\n"
        "def c(t):\n    return datetime.utcnow() - t\n"
    )
    fixes = {f.line: f.fix for f in analyze(source, "t.py").findings if f.code == "RG102"}
    assert fixes[3] is not None and not fixes[3].safe
    assert fixes[6] is not None and not fixes[6].safe  # returned: the callers are out of sight
    assert fixes[9] is not None and not fixes[9].safe


# -- suppressions, positions, severities ---------------------------------------------------


def test_changed_lines_keep_only_findings_on_them():
    source = "from datetime import datetime\na = datetime.utcnow()\nb = datetime.utcnow()\n"
    report = analyze(source, "t.py", changed_lines={3})
    assert [f.line for f in report.findings if f.code == "RG102"] == [3]


def findings(code: str, rule: str, **kwargs):
    report = analyze(textwrap.dedent(code), "example.py", **kwargs)
    return [f for f in report.findings if f.code == rule]


def severities_of(code: str, rule: str) -> list[tuple[int, str]]:
    return [(f.line, f.severity) for f in findings(code, rule)]


def fixed(code: str, rule: str, *, unsafe: bool = False) -> str:
    text, _ = fix_source(textwrap.dedent(code), "example.py", codes={rule}, unsafe=unsafe)
    cst.parse_module(text)
    return text


# -- error where the naive UTC value is read as local time, warning elsewhere --------------


def severities(code: str) -> list[tuple[int, str]]:
    return severities_of(code, "RG102")


@pytest.mark.parametrize(
    "use",
    [
        "return stamp.timestamp()",
        "return stamp.astimezone()",
        "return time.mktime(stamp.timetuple())",
        "return datetime.now() - stamp",
        "return stamp < datetime.today()",
        "return stamp > datetime.fromtimestamp(0)",
        "return datetime.now(timezone.utc) >= stamp",
        "return stamp - timezone_aware(x).astimezone(timezone.utc)",
        "return (stamp + timedelta(hours=1)).timestamp()",
        "later = stamp - timedelta(seconds=5)\n    return later.timestamp()",
        "return sorted(xs, key=lambda x: (stamp.timestamp(), x))",
        "return stamp.replace(tzinfo=ZoneInfo('Europe/Paris'))",
        "return stamp.replace(tzinfo=tzlocal())",
        "return int(stamp.strftime('%s'))",
        "return pytz.timezone('Europe/Paris').localize(stamp)",
        # returned, stored or sent: the reader sees no zone
        "return stamp",
        "return {'expire_at': stamp + timedelta(days=1)}",
        "x.execute('UPDATE t SET at = %s', (stamp,))",
        "x.updated_at = stamp",
    ],
)
def test_naive_utc_read_as_local_or_mixed_is_an_error(use):
    code = (
        "import time\nfrom datetime import datetime, timedelta, timezone\n"
        f"def f(x, xs):\n    stamp = datetime.utcnow()\n    {use}\n"
    )
    assert severities(code) == [(4, "error")]


@pytest.mark.parametrize(
    "use",
    [
        "return stamp.strftime('%Y-%m-%dT%H:%M:%SZ')",
        "return stamp.isoformat()",
        "return stamp.replace(tzinfo=timezone.utc)",
        "return stamp.replace(tzinfo=None).timetuple()",
        "return calendar.timegm(stamp.timetuple())",
        "return stamp - datetime(1970, 1, 1)",
        "return stamp > x.expires",
        "return stamp - datetime.utcfromtimestamp(0)",
        "return '%d-%02d' % (stamp.year, stamp.month)",
        "return str(stamp)",
        "return stamp.replace(tzinfo=zone)",
        "return stamp.replace(tzinfo=timezone(timedelta(0)))",
        "return pytz.utc.localize(stamp)",
        "return stamp.strftime('%Y %%s')",
    ],
)
def test_consistent_naive_utc_use_is_a_warning(use):
    code = (
        "import calendar\nfrom datetime import datetime, timedelta, timezone\n"
        f"def f(x, zone):\n    stamp = datetime.utcnow()\n    {use}\n"
    )
    assert {s for _, s in severities(code)} == {"warning"}
    assert 4 in dict(severities(code))


def test_a_name_with_assignments_of_several_conventions_is_not_followed():
    code = """\
    import datetime
    def formatdate(timeval, localtime=False, usegmt=False):
        if localtime or usegmt:
            dt = datetime.datetime.fromtimestamp(timeval, datetime.timezone.utc)
        else:
            dt = datetime.datetime.utcfromtimestamp(timeval)
        if localtime:
            dt = dt.astimezone()
        return format_datetime(dt, usegmt)
    """
    assert severities(code) == [(6, "warning")]


def test_store_under_a_real_time_name_is_an_error_when_the_file_mixes_conventions_there():
    code = """\
    from datetime import datetime, timedelta, timezone
    def issue(session):
        session.add(Token(created_at=datetime.utcnow()))
        row = {}
        row['seen_at'] = datetime.utcnow()
        job.started_at = datetime.utcnow()
        other.updated_at = datetime.utcnow()
    def checks(token, row, job):
        if datetime.now(timezone.utc) - token.created_at > timedelta(hours=1):
            return row['seen_at'] < datetime.now()
        job.started_at = datetime.now(timezone.utc)
    """
    assert severities(code) == [(3, "error"), (5, "error"), (6, "error"), (7, "error")]
    messages = [f.message for f in findings(code, "RG102")]
    assert "`created_at`" in messages[0] and "subtracts from aware values" in messages[0]
    assert "also gives aware values" in messages[2]


def test_store_next_to_a_value_of_another_convention_is_an_error():
    code = """\
    from datetime import datetime, timezone
    def record(name):
        a = Event(name=name, created_at=datetime.utcnow(), at=datetime.now(timezone.utc))
        b = {'created_at': datetime.utcnow(), 'updated_at': datetime.now()}
        c = {'created_at': datetime.utcnow(), 'name': name}
        return a, b, c
    """
    assert severities(code) == [(3, "error"), (4, "error"), (5, "error")]


def test_method_passed_uncalled_to_an_aware_column_is_an_error():
    code = """\
    from datetime import datetime
    import sqlalchemy as sa
    class Row(Base):
        a = sa.Column(sa.DateTime(timezone=True), default=datetime.utcnow)
        b = sa.Column(sa.DateTime, default=datetime.utcnow, onupdate=datetime.utcnow)
        c = sa.Column(sa.DateTime(timezone=True), onupdate=datetime.utcnow())
    """
    assert severities(code) == [(4, "error"), (5, "warning"), (5, "warning"), (6, "error")]


def test_every_occurrence_is_reported_once_and_keeps_its_fix():
    code = """\
    from datetime import datetime
    NOW = datetime.utcnow()
    def f(ts):
        a = datetime.utcfromtimestamp(ts)
        b = datetime.utcnow()
        return a.timestamp(), b
    """
    found = findings(code, "RG102")
    assert [(f.line, f.severity) for f in found] == [(2, "warning"), (4, "error"), (5, "error")]  # b is returned
    assert all(f.fix is not None for f in found)
    assert "datetime.utcnow()" not in fixed(code, "RG102", unsafe=True)


def test_names_in_nested_functions_and_lambdas_are_their_own_units():
    code = """\
    from datetime import datetime
    def outer():
        stamp = datetime.utcnow()
        def inner(stamp):
            return stamp.timestamp()
        return inner, lambda stamp: stamp.timestamp()
    """
    assert severities(code) == [(3, "warning")]


def test_local_offset_from_two_readings_of_one_instant_is_a_warning():
    code = """\
    import datetime as dt
    def offsets(ts):
        now = dt.datetime.now() - dt.datetime.utcnow()
        then = dt.datetime.fromtimestamp(ts) - dt.datetime.utcfromtimestamp(ts)
        age = dt.datetime.now() - dt.datetime.utcfromtimestamp(ts)
        return now, then, age
    """
    assert severities(code) == [(3, "warning"), (4, "warning"), (5, "error")]
