"""RG108 wall-clock-duration, beyond the rule's own examples (test_examples.py runs those)."""

from __future__ import annotations

import textwrap

import libcst as cst

from rules import analyze
from rules.engine import fix_source


def findings(code: str, rule: str, **kwargs):
    report = analyze(textwrap.dedent(code), "example.py", **kwargs)
    return [f for f in report.findings if f.code == rule]


def lines(code: str, rule: str) -> list[int]:
    return [f.line for f in findings(code, rule)]


def fixed(code: str, rule: str, *, unsafe: bool = False) -> str:
    text, _ = fix_source(textwrap.dedent(code), "example.py", codes={rule}, unsafe=unsafe)
    cst.parse_module(text)
    return text


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
