"""Units of plain numbers that hold time: what a name announces, which factors convert."""

from __future__ import annotations

import libcst as cst
import pytest

from rules.analysis.units import MICROS, MILLIS, NANOS, SECONDS, name_unit, power_of_ten


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
    ("literal", "exponent"),
    [
        ("1000", 3), ("1_000", 3), ("1000.0", 3), ("1e3", 3), ("10**3", 3), ("10 ** 0x6", 6),
        ("1e9", 9), ("0.001", -3), ("1e-6", -6), ("60", None), ("100", None), ("0", None),
        ("10**4", None), ("0x3e8", None), ("1e400", None),
    ],
)
def test_powers_of_ten_that_convert_units(literal, exponent):
    assert power_of_ten(cst.parse_expression(literal)) == exponent
