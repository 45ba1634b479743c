"""RG111 time-unit-mismatch, beyond the rule's own examples (test_examples.py runs those)."""

from __future__ import annotations

import textwrap

import pytest

from rules import analyze


def lines(code: str) -> list[int]:
    report = analyze(textwrap.dedent(code), "t.py")
    return [f.line for f in report.findings if f.code == "RG111"]


@pytest.mark.parametrize(
    ("imports", "call"),
    [
        ("import time", "time.time()"),
        ("from time import time", "time()"),
        ("from time import time as now", "now()"),
        ("import time as t", "t.time()"),
        ("from time import monotonic_ns as mono", "mono() // 1_000_000 / 1000"),
    ],
)
def test_the_clock_is_resolved_through_the_imports(imports, call):
    code = f"{imports}\ndef f(expires_ms):\n    return {call} > expires_ms\n"
    assert lines(code) == [3]


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



def test_positional_arguments_meet_the_parameters_of_this_files_functions():
    code = """\
        def wait(timeout_s, poll_ms=100):
            pass

        def wait_twice(timeout_s):
            pass

        def wait_twice(timeout_ms):
            pass

        class Client:
            def sleep(self, delay_s):
                pass

            @staticmethod
            def pause(delay_s):
                pass

            @classmethod
            def later(cls, delay_s):
                pass

            def run(self, budget_ms, step_s):
                wait(budget_ms)
                wait(step_s, step_s)
                wait(*budget_ms)
                wait_twice(budget_ms)
                self.sleep(budget_ms)
                self.pause(budget_ms)
                self.later(budget_ms)
                Client.sleep(self, budget_ms)

        def shadowed(wait, budget_ms):
            wait(budget_ms)
        """
    assert lines(code) == [23, 24, 27, 28, 29]
