"""RG107-RG109: values followed through a function, name resolution, positions and fixes."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from rules import analyze
from rules.engine import fix_source
from rules.analysis.flow import local_flow


def findings(code: str, rule: str, **kwargs):
    report = analyze(textwrap.dedent(code), "example.py", **kwargs)
    return [f for f in report.findings if f.code == rule]


def lines(code: str, rule: str) -> list[int]:
    return [f.line for f in findings(code, rule)]


def severities_of(code: str, rule: str) -> list[tuple[int, str]]:
    return [(f.line, f.severity) for f in findings(code, rule)]


def fixed(code: str, rule: str, *, unsafe: bool = False) -> str:
    text, _ = fix_source(textwrap.dedent(code), "example.py", codes={rule}, unsafe=unsafe)
    cst.parse_module(text)
    return text


# -- RG107 monotonic-as-wall-clock -------------------------------------------------------------


@pytest.mark.parametrize(
    "imports, call",
    [
        ("import time", "time.monotonic()"),
        ("import time as t", "t.perf_counter()"),
        ("from time import monotonic as mono", "mono()"),
        ("from time import process_time_ns", "process_time_ns()"),
        ("import time", "time.thread_time()"),
    ],
)
def test_monotonic_sources_are_resolved_through_imports(imports, call):
    code = f"{imports}\ndef save(rec):\n    rec['created_at'] = {call}\n"
    assert lines(code, "RG107") == [3]


def test_import_inside_the_function_counts():
    code = """\
    def save(rec):
        from time import monotonic
        rec.updated_at = monotonic()
    """
    assert lines(code, "RG107") == [3]


@pytest.mark.parametrize(
    "code",
    [
        "import time\ndef save(rec, time):\n    rec['created_at'] = time.monotonic()\n",
        "from time import monotonic\ndef save(rec, monotonic):\n    rec['created_at'] = monotonic()\n",
        "from time import monotonic\ndef save(rec):\n    monotonic = other\n    rec['ts'] = monotonic()\n",
        "import time\nclass time:\n    pass\ndef save(rec):\n    rec['ts'] = time.monotonic()\n",
    ],
)
def test_shadowed_names_are_not_the_clock(code):
    assert findings(code, "RG107") == []


def test_value_is_followed_through_a_chain_of_local_names():
    code = """\
    import time
    def renew(rec, ttl):
        start = time.monotonic()
        deadline = start + ttl
        rec['expires_at'] = deadline
    """
    [finding] = findings(code, "RG107")
    assert (finding.line, finding.column) == (5, 25)  # the stored value
    assert "expires_at" in finding.message


def test_duration_between_monotonic_readings_is_not_a_point_in_time():
    code = """\
    import time
    def run(rec):
        t0 = time.perf_counter()
        work()
        took = time.perf_counter() - t0
        rec['time'] = took
        rec['timestamp'] = time.time()
    """
    assert findings(code, "RG107") == []


def test_combination_with_a_wall_clock_local_is_flagged_at_the_expression():
    code = """\
    import time
    def age():
        start = time.monotonic()
        now = time.time()
        return now - start
    """
    [finding] = findings(code, "RG107")
    assert (finding.line, finding.column) == (5, 12)
    assert "monotonic()" in finding.message


def test_lambda_parameter_shadows_the_local_name():
    code = """\
    import time
    def f(rows):
        start = time.monotonic()
        rows.sort(key=lambda start: {'ts': start})
        return time.monotonic() - start
    """
    assert findings(code, "RG107") == []


def test_nested_function_is_its_own_unit_and_reported_once():
    code = """\
    import time
    def outer():
        start = time.monotonic()
        def inner(rec):
            rec['created_at'] = time.monotonic()
        return inner, time.monotonic() - start
    """
    assert lines(code, "RG107") == [5]


def test_a_name_closed_over_from_the_outer_function_is_not_followed():
    code = """\
    import time
    def outer():
        start = time.monotonic()
        def inner(rec):
            rec['created_at'] = start
        return inner
    """
    assert findings(code, "RG107") == []


def test_module_and_class_level_code_is_checked():
    code = """\
    import time
    STARTED = time.monotonic()
    DEFAULTS = {'created_at': STARTED}
    class Clock:
        zero = time.monotonic()
        stamp = {'date': zero}
    """
    assert lines(code, "RG107") == [3, 6]


def test_private_attribute_of_self_is_exempt_but_a_public_one_is_not():
    code = """\
    import time
    class Entry:
        def __init__(self):
            self._created_at = time.monotonic()
            self.created_at = time.monotonic()
        def fresh(self):
            return time.monotonic() - self._created_at < 5
    """
    assert lines(code, "RG107") == [5]


def test_monotonic_reading_given_to_epoch_readers():
    code = """\
    import time
    from datetime import datetime, timezone
    def show():
        t = time.monotonic()
        a = datetime.fromtimestamp(t, timezone.utc)
        b = time.localtime(t + 60)
        c = time.gmtime(time.monotonic())
        return a, b, c
    """
    assert lines(code, "RG107") == [5, 6, 7]


def test_deep_arithmetic_does_not_crash():
    terms = " + ".join(["1"] * 600)
    code = f"import time\ndef f(rec):\n    t = time.monotonic() + {terms}\n    rec['ts'] = t\n"
    report = analyze(code, "example.py")
    assert not [f for f in report.findings if f.code.startswith("RG0")]


def test_changed_lines_and_suppression():
    code = (
        "import time\ndef f(rec):\n"
        "    rec['ts'] = time.monotonic()  # noqa: RG107\n"
        "    rec['created_at'] = time.monotonic()\n"
    )
    report = analyze(code, "example.py")
    states = [(f.line, f.suppressed) for f in report.findings if f.code == "RG107"]
    assert states == [(3, True), (4, False)]
    assert findings(code, "RG107", changed_lines={3}) == findings(code, "RG107")[:1]


# -- RG108 wall-clock-duration -----------------------------------------------------------------


def test_finding_is_on_the_first_measurement_and_fixes_every_reading():
    code = """\
    import time
    def poll(timeout):
        start = time.time()
        while time.time() - start < timeout:
            step()
        log(time.time() - start)
    """
    [finding] = findings(code, "RG108")
    assert finding.line == 4 and finding.severity == "warning"
    assert finding.fix is not None and finding.fix.safe
    assert fixed(code, "RG108") == textwrap.dedent(code).replace("time.time()", "time.monotonic()")


def test_two_independent_measurements_give_two_findings():
    code = """\
    import time
    def f():
        a = time.time()
        step()
        first = time.time() - a
        b = time.time()
        step()
        return first, time.time() - b
    """
    assert lines(code, "RG108") == [5, 8]
    assert "time.time()" not in fixed(code, "RG108")


def test_measurement_sharing_a_reading_that_escapes_is_left_alone():
    code = """\
    import time
    def f(rec):
        start = time.time()
        now = time.time()
        rec['seen'] = now
        return now - start
    """
    assert findings(code, "RG108") == []


def test_mixing_seconds_and_nanoseconds_is_not_rewritten():
    code = "import time\ndef f():\n    s = time.time()\n    return time.time_ns() - s\n"
    assert findings(code, "RG108") == []


def test_fix_spells_the_clock_from_inside_the_function():
    code = """\
    def f():
        from time import time
        start = time()
        return time() - start
    """
    assert fixed(code, "RG108") == textwrap.dedent(
        """\
        from time import monotonic
        def f():
            from time import time
            start = monotonic()
            return monotonic() - start
        """
    )


def test_aliased_function_import_is_extended():
    code = "from time import time as now\ndef f():\n    t = now()\n    return now() - t\n"
    assert fixed(code, "RG108") == (
        "from time import time as now, monotonic\ndef f():\n    t = monotonic()\n"
        "    return monotonic() - t\n"
    )


def test_deadline_compared_in_a_chain_and_with_shift():
    code = """\
    import time
    def f(n):
        deadline = time.time() + n
        while 0 < deadline - time.time():
            pass
        return time.time() > deadline - 1
    """
    assert lines(code, "RG108") == [4]
    assert "time.time()" not in fixed(code, "RG108")


# -- RG109 frozen-now --------------------------------------------------------------------------


def test_default_argument_is_flagged_at_the_call():
    code = """\
    import datetime as dt
    def log(msg,
            at=dt.datetime.now(dt.timezone.utc)):
        print(at, msg)
    """
    [finding] = findings(code, "RG109")
    assert (finding.line, finding.column) == (3, 12)
    assert finding.fix is None
    assert "def log" in finding.message


def test_runtime_reads_in_bodies_are_not_flagged():
    code = """\
    import time
    class Job:
        started = None
        def start(self, clock=time.monotonic):
            self.started = clock()
            return [time.time() for _ in range(2)]
    """
    assert findings(code, "RG109") == []


def test_sqlalchemy_column_fix_keeps_other_arguments():
    code = """\
    from datetime import datetime, timezone
    from sqlalchemy import Column, DateTime
    class Row(Base):
        at = Column(DateTime, nullable=False, default=datetime.now(timezone.utc))
    """
    [finding] = findings(code, "RG109")
    assert finding.fix is not None and not finding.fix.safe
    assert fixed(code, "RG109") == textwrap.dedent(code)  # unsafe: not applied by default
    assert "default=lambda: datetime.now(timezone.utc))" in fixed(code, "RG109", unsafe=True)


def test_field_with_a_factory_already_gets_no_fix():
    code = """\
    import dataclasses, time
    @dataclasses.dataclass
    class Event:
        at: float = dataclasses.field(default=time.time(), default_factory=time.time)
    """
    [finding] = findings(code, "RG109")
    assert finding.fix is None


def test_module_variable_in_the_value_blocks_the_fix():
    code = """\
    import dataclasses
    from datetime import datetime
    TZ = None
    @dataclasses.dataclass
    class Event:
        at: datetime = datetime.now(TZ)
    """
    [finding] = findings(code, "RG109")
    assert finding.fix is None


def test_frozen_value_in_a_field_outside_a_class():
    code = """\
    import time
    import sqlalchemy as sa
    def make_table(meta):
        return sa.Table('t', meta, sa.Column('at', sa.Float, onupdate=time.time()))
    """
    assert lines(code, "RG109") == [4]


# -- the shared scan ---------------------------------------------------------------------------


def test_local_flow_records_bindings_reads_and_nested_uses():
    module = cst.parse_module(
        textwrap.dedent(
            """\
            def f(p):
                a = 1
                b: int = a
                for c in p:
                    a += c
                (d := 2)
                g = lambda q: a + q
                def inner():
                    return b
                return d
            """
        )
    )
    func = module.body[0]
    assert isinstance(func, cst.FunctionDef)
    flow = local_flow(func)
    kinds = {name: [v is not None for v in values] for name, values in flow.assigned.items()}
    assert kinds == {
        "p": [False], "a": [True, False], "b": [True], "c": [False], "d": [True],
        "g": [True], "q": [False], "inner": [False],
    }
    assert {"a", "q", "b"} <= flow.nested and "d" not in flow.nested
    assert len(flow.loads["a"]) == 3  # `b: int = a`, `a += c`, the lambda
    assert not any(isinstance(n, cst.Return) and n.value is not None and
                   isinstance(n.value, cst.Name) and n.value.value == "b" for n in flow.nodes)
    shallow = local_flow(func, nested_bodies=False)
    assert "b" not in shallow.nested and {"a", "q"} <= shallow.nested


def test_offset_between_the_clocks_is_the_sanctioned_conversion():
    code = """\
    import time
    from datetime import datetime, timezone
    def wall_time_of(t0):
        start = time.monotonic()
        offset = datetime.now(timezone.utc).timestamp() - time.monotonic()
        return datetime.fromtimestamp(offset + start, timezone.utc)
    """
    assert findings(code, "RG107") == []


def test_class_attribute_holding_a_field_call_is_not_wrapped_again():
    code = """\
    import time
    from dataclasses import dataclass, field
    @dataclass
    class Event:
        at: float = field(metadata={'loaded': time.time()})
    """
    [finding] = findings(code, "RG109")
    assert finding.fix is None


def test_a_deadline_shifted_by_a_local_duration_is_recognised():
    code = """\
    import time
    def wait():
        timeout = 30
        deadline = time.time() + timeout
        while time.time() < deadline:
            step()
    """
    assert lines(code, "RG108") == [5]


def test_a_shift_that_itself_reads_the_clock_is_not_followed():
    code = """\
    import time
    def wait(row):
        left = row.expires - time.time()
        deadline = time.time() + left
        while time.time() < deadline:
            step()
    """
    assert findings(code, "RG108") == []


# -- RG107: attributes the class keeps on the monotonic clock ----------------------------------


def test_attribute_assigned_and_read_only_as_monotonic_is_not_a_wall_clock_time():
    code = """\
    import time
    class Bucket:
        timestamp = None
        def __init__(self):
            self.timestamp = time.monotonic()
        def refill(self, step):
            now = time.monotonic()
            delta = now - self.timestamp
            self.timestamp = now
            self.timestamp += step
            return delta
    """
    assert findings(code, "RG107") == []


def test_conditional_deadline_attribute_is_monotonic():
    code = """\
    import time
    class Connection:
        def connect(self, max_age):
            self.close_at = None if max_age is None else time.monotonic() + max_age
        def unusable(self):
            return self.close_at is not None and time.monotonic() >= self.close_at
    """
    assert findings(code, "RG107") == []


def test_monotonic_attribute_handed_on_as_real_time_is_flagged_in_any_method():
    code = """\
    import time
    class Lease:
        def __init__(self, ttl):
            self.expires_at = time.monotonic() + ttl
        def valid(self):
            return time.monotonic() < self.expires_at
        def row(self, rec):
            rec['expires_at'] = self.expires_at
            until = self.expires_at
            return time.time() > until
    """
    assert lines(code, "RG107") == [8, 10]


@pytest.mark.parametrize(
    "other",
    [
        "self.created_at = row['created']",  # another kind of value
        "self.created_at, self.n = row",  # unpacked: unknown
        "self.created_at *= 2",
    ],
)
def test_attribute_with_another_assignment_stays_a_real_time_name(other):
    code = f"""\
    import time
    class Entry:
        def __init__(self):
            self.created_at = time.monotonic()
        def load(self, row):
            {other}
        def age(self):
            return time.monotonic() - self.created_at
    """
    assert 4 in lines(code, "RG107")


def test_attribute_never_read_against_the_clock_in_the_class_stays_flagged():
    code = """\
    import time
    class Entry:
        def __init__(self):
            self.updated_at = time.monotonic()
        def touch(self):
            self.updated_at = time.monotonic()
    """
    assert lines(code, "RG107") == [4, 6]


def test_attributes_of_two_clocks_are_not_one_monotonic_attribute():
    code = """\
    import time
    class Entry:
        def a(self):
            self.ts = time.monotonic()
        def b(self):
            self.ts = time.perf_counter()
            return time.perf_counter() - self.ts
    """
    # no single clock: `ts` stays a real-time name, so the subtraction mixes clocks too
    assert severities_of(code, "RG107") == [(4, "error"), (6, "warning"), (7, "error")]


def test_profiling_clock_under_a_generic_trace_key_is_a_warning():
    code = """\
    import time
    def event(name):
        return {'name': name, 'ph': 'i', 'ts': time.perf_counter_ns() / 1000}
    def sample(rec):
        rec['time'] = time.process_time()
        rec['ts'] = time.monotonic()
        rec['timestamp'] = time.perf_counter()
    """
    assert severities_of(code, "RG107") == [(3, "warning"), (5, "warning"), (6, "error"), (7, "error")]


# -- RG109: class attributes the class reassigns -------------------------------------------------


def test_class_attribute_reassigned_through_self_or_cls_is_an_initial_value():
    code = """\
    import time
    from datetime import datetime, timezone
    class Notify:
        reset_at = datetime.now(timezone.utc)
        last = time.time()
        def fetch(self, headers):
            self.reset_at = datetime.fromtimestamp(int(headers['reset']), timezone.utc)
        @classmethod
        def mark(cls):
            cls.last = time.time()
    """
    assert findings(code, "RG109") == []


def test_reassignment_of_a_model_field_or_of_another_class_does_not_count():
    code = """\
    import time
    from dataclasses import dataclass
    from pydantic import BaseModel
    @dataclass
    class Seen:
        at: float = time.time()
        def touch(self):
            self.at = time.time()
    class Event(BaseModel):
        at: float = time.time()
        def touch(self):
            self.at = time.time()
    class Frozen:
        loaded = time.time()
    class Other:
        def touch(self):
            self.loaded = time.time()
    """
    assert lines(code, "RG109") == [6, 10, 14]


# -- RG102: error where the naive UTC value is read as local time, warning elsewhere -------------


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
        "return stamp",
        "return stamp.strftime('%Y-%m-%dT%H:%M:%SZ')",
        "return stamp.isoformat()",
        "return stamp.replace(tzinfo=timezone.utc)",
        "return stamp.replace(tzinfo=None).timetuple()",
        "return calendar.timegm(stamp.timetuple())",
        "return stamp - datetime(1970, 1, 1)",
        "return stamp > x.expires",
        "return stamp - datetime.utcfromtimestamp(0)",
        "return '%d-%02d' % (stamp.year, stamp.month)",
        "return {'expire_at': stamp + timedelta(days=1)}",
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
    assert severities(code) == [(3, "error"), (5, "error"), (6, "error"), (7, "warning")]
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
    assert severities(code) == [(3, "error"), (4, "error"), (5, "warning")]


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
    assert [(f.line, f.severity) for f in found] == [(2, "warning"), (4, "error"), (5, "warning")]
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
