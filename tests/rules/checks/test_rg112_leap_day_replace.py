"""RG112 leap-day-replace, beyond the rule's own examples (test_examples.py runs those)."""

from __future__ import annotations

import datetime
import textwrap

import pytest

from rules import analyze


def lines(code: str) -> list[int]:
    report = analyze(textwrap.dedent(code), "t.py")
    return [f.line for f in report.findings if f.code == "RG112"]


def test_the_flagged_shape_really_raises_on_february_29():
    with pytest.raises(ValueError, match="day is out of range"):
        datetime.date(2024, 2, 29).replace(year=2025)
    with pytest.raises(ValueError, match="day is out of range"):
        d = datetime.date(2024, 2, 29)
        datetime.date(d.year + 1, d.month, d.day)
    # and the shapes left alone do not
    assert datetime.date(2024, 2, 29).replace(year=2028) == datetime.date(2028, 2, 29)
    assert datetime.date(2024, 2, 29).replace(year=2025, day=1) == datetime.date(2025, 2, 1)


@pytest.mark.parametrize(
    ("year", "flagged"),
    [
        ("y", True),
        ("d.year + 1", True),
        ("d.year - 1", True),
        ("2023", True),
        ("1900", True),  # a century that is not a leap year
        ("2000", False),
        ("2024", False),
        ("d.year", False),
        ("d.year + 4", False),
        ("d.year - 8", False),
        ("other.year + 4", True),  # another date's year says nothing of this one
    ],
)
def test_which_new_years_are_safe(year, flagged):
    code = f"def f(d, y, other):\n    return d.replace(year={year})\n"
    assert bool(lines(code)) is flagged


def test_the_constructor_is_resolved_through_the_imports():
    code = """\
        import datetime as dt
        from datetime import date as D

        def f(d, y):
            a = dt.date(y, d.month, d.day)
            b = D(y, d.month, d.day)
            c = dt.datetime(y, d.month, d.day, 12)
            return a, b, c

        def g(date, d, y):
            return date(y, d.month, d.day)
        """
    assert lines(code) == [5, 6, 7]


def test_month_and_day_of_different_dates_are_not_a_copy():
    code = """\
        from datetime import date

        def f(a, b, y):
            return date(y, a.month, b.day)
        """
    assert lines(code) == []


def test_a_try_around_the_call_counts_only_in_its_body_and_function():
    code = """\
        def f(d, y):
            try:
                return d.replace(year=y)
            except (KeyError, ValueError):
                return None

        def g(d, y):
            try:
                def inner():
                    return d.replace(year=y)
            except ValueError:
                pass
            return inner

        def h(d, y):
            try:
                x = 1
            except ValueError:
                pass
            else:
                return d.replace(year=y)
        """
    assert lines(code) == [10, 21]


def test_a_receiver_built_on_a_safe_day_is_known_through_one_assignment():
    code = """\
        from datetime import date

        def f(y, d):
            start = date(2020, 3, 1)
            a = start.replace(year=y)
            first = d.replace(day=1)
            b = first.replace(year=y)
            end = d.replace(day=31)
            c = end.replace(year=y)
            return a, b, c
        """
    assert lines(code) == [9]


def test_str_and_bytes_replace_are_not_dates():
    code = """\
        def f(text, data):
            return text.replace("year", "yr"), data.replace(b"year", b"yr", 1)
        """
    assert lines(code) == []


def test_a_block_that_expects_the_value_error_handles_it():
    code = """\
        import contextlib
        import pytest

        def test_leap(d):
            with pytest.raises(ValueError):
                d.replace(year=2025)
            with contextlib.suppress(ValueError, KeyError):
                d.replace(year=2025)
            with pytest.raises(KeyError):
                d.replace(year=2025)
        """
    assert lines(code) == [10]


def test_today_is_an_error_and_a_date_of_unknown_origin_a_warning():
    code = """\
        import datetime as dt
        from django.utils import timezone as tz

        def f(d, y):
            a = d.replace(year=y)
            b = dt.date.today().replace(year=y)
            now = tz.now()
            c = now.replace(year=y)
            later = now
            later = d
            e = later.replace(year=y)
            return dt.date(y, now.month, now.day), a, b, c, e
        """
    report = analyze(textwrap.dedent(code), "t.py")
    found = [(f.line, f.severity.value) for f in report.findings if f.code == "RG112"]
    assert found == [(5, "warning"), (6, "error"), (8, "error"), (11, "warning"), (12, "error")]
