"""RG107 monotonic-as-wall-clock, beyond the rule's own examples (test_examples.py runs those)."""

from __future__ import annotations

import textwrap

import pytest

from rules import analyze


def findings(code: str, rule: str, **kwargs):
    report = analyze(textwrap.dedent(code), "example.py", **kwargs)
    return [f for f in report.findings if f.code == rule]


def lines(code: str, rule: str) -> list[int]:
    return [f.line for f in findings(code, rule)]


def severities_of(code: str, rule: str) -> list[tuple[int, str]]:
    return [(f.line, f.severity) for f in findings(code, rule)]


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


# -- attributes the class keeps on the monotonic clock -------------------------------------


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
