"""RG111 time-unit-mismatch, beyond the rule's own examples (test_examples.py runs those)."""

from __future__ import annotations

import textwrap

import libcst as cst
import pytest

from rules import analyze
from rules.analysis.units import MICROS, MILLIS, NANOS, SECONDS, name_unit, power_of_ten


def lines(code: str) -> list[int]:
    report = analyze(textwrap.dedent(code), "t.py")
    return [f.line for f in report.findings if f.code == "RG111"]


@pytest.mark.parametrize(
    ("name", "unit"),
    [
        ("timeout_ms", MILLIS), ("expiresAtMs", MILLIS), ("TTL_MILLIS", MILLIS), ("ms", MILLIS),
        ("retry_msec", MILLIS), ("delay_s", SECONDS), ("intervalSeconds", SECONDS),
        ("max_secs", SECONDS), ("seconds", SECONDS), ("elapsed_ns", NANOS), ("wait_us", MICROS),
        ("value_second", None),
        # not amounts of time, or too short to tell
        ("s", None), ("us", None), ("requests_per_second", None), ("bytes_per_ms", None),
        ("timestamp", None), ("created_at", None), ("items", None), ("class", None),
    ],
)
def test_the_unit_a_name_announces(name, unit):
    assert name_unit(name) == unit


@pytest.mark.parametrize(
    "imports",
    [
        "import time\nclock = time.time\n",
        "from time import time\nclock = time\n",
        "from time import time as now\nclock = now\n",
        "import time as t\nclock = t.time\n",
    ],
)
def test_the_clock_is_resolved_through_the_imports(imports):
    call = imports.splitlines()[-1].split(" = ")[1]
    code = imports.rsplit("\n", 2)[0] + f"\ndef f(expires_ms):\n    return {call}() > expires_ms\n"
    assert lines(code) == [len(code.splitlines())]


def test_a_local_clock_named_like_the_module_is_not_the_clock():
    code = """\
        import time

        def f(time, expires_ms):
            return time.time() > expires_ms
        """
    assert lines(code) == []


def test_scaling_converts_between_units():
    code = """\
        import time

        def f(expires_ms, created_s, start_ns):
            a = time.time() * 1000 > expires_ms
            b = time.time() * 1e3 - created_s
            c = time.time_ns() // 10**6 < expires_ms
            d = start_ns / 1e9 + created_s
            e = expires_ms * 0.001 - created_s
            f = int(round(time.time() * 1000)) - expires_ms
            return a, b, c, d, e, f
        """
    assert lines(code) == [5]


def test_local_names_carry_the_unit_of_their_only_assignment():
    code = """\
        import time
        from datetime import datetime

        def f(event):
            now = time.time() * 1000
            then = now - 5000
            return datetime.fromtimestamp(then)

        def g(event):
            now = time.time()
            then = now - 5
            return datetime.fromtimestamp(then)
        """
    assert lines(code) == [7]


def test_a_name_assigned_two_units_has_none():
    code = """\
        import time

        def f(raw, timeout_s):
            stamp = raw
            if stamp > 1e12:
                stamp = time.time() * 1000
            return stamp - timeout_s
        """
    assert lines(code) == []


def test_a_chain_of_comparisons_reports_once():
    code = """\
        import time

        def f(start_ms, end_ms):
            return start_ms <= time.time() <= end_ms
        """
    assert lines(code) == [4]


def test_each_mixed_sum_reports_once():
    code = """\
        import time

        def f(a_ms):
            return time.time() + a_ms + 5
        """
    assert lines(code) == [4]


def test_keyword_arguments_named_for_a_unit():
    code = """\
        import time

        def f(client, timeout_s):
            client.call(timeout_ms=timeout_s)
            client.call(timeout_ms=timeout_s * 1000)
            client.call(timeout=timeout_s)
        """
    assert lines(code) == [4]


def test_minutes_and_other_factors_are_not_judged():
    code = """\
        import time

        def f(ttl_min, expires_ms):
            return time.time() + ttl_min * 60 > expires_ms / 1000
        """
    assert lines(code) == []


@pytest.mark.parametrize(
    ("literal", "exponent"),
    [
        ("1000", 3), ("1_000", 3), ("1000.0", 3), ("1e3", 3), ("10**3", 3), ("10 ** 0x6", 6),
        ("1e9", 9), ("0.001", -3), ("1e-6", -6), ("60", None), ("100", None), ("0", None),
        ("10**4", None), ("0x3e8", None), ("1e400", None),
    ],
)
def test_powers_of_ten_that_convert_units(literal, exponent):
    assert power_of_ten(cst.parse_expression(literal)) == exponent
