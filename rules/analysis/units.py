"""Units of plain numbers that hold time: seconds, milliseconds, microseconds, nanoseconds.

A unit is told by the clock that made the number (`time.time()` is in seconds,
`time.time_ns()` in nanoseconds), by the name that holds it (`timeout_ms`, `expiresAtMs`,
`delay_seconds`), and carried through scaling by powers of ten (`time.time() * 1000` is in
milliseconds) and through `+`/`-` with a number of no known unit (`time.time() + 5`).
RG111 asks, to find where two units meet.

A unit is the power of ten of one second: 0 for seconds, -3 for milliseconds.
"""

from __future__ import annotations

import re

import libcst as cst

from rules.analysis.syntax import callee_name, string_value
from rules.rule import Context

SECONDS, MILLIS, MICROS, NANOS = 0, -3, -6, -9
UNIT_NAMES = {SECONDS: "seconds", MILLIS: "milliseconds", MICROS: "microseconds", NANOS: "nanoseconds"}

# The last word of a name, and the unit it announces.
_SUFFIXES = {
    "s": SECONDS, "sec": SECONDS, "secs": SECONDS, "seconds": SECONDS,
    "ms": MILLIS, "msec": MILLIS, "msecs": MILLIS, "millis": MILLIS, "millisecond": MILLIS,
    "milliseconds": MILLIS,
    "us": MICROS, "usec": MICROS, "usecs": MICROS, "micros": MICROS, "microsecond": MICROS,
    "microseconds": MICROS,
    "ns": NANOS, "nsec": NANOS, "nsecs": NANOS, "nanos": NANOS, "nanosecond": NANOS,
    "nanoseconds": NANOS,
}
# A lone word that is too short to be sure of (`s` is a string, `us` a country).
# `second` alone is left out: `value_second` is as often the second of two values.
_LONE_AMBIGUOUS = frozenset({"s", "us"})
# Words that make the name a rate or a count, not an amount of time (`requests_per_second`).
_NOT_AMOUNTS = frozenset({"per", "rate", "hz", "fps", "rps", "qps"})
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+")

CLOCKS = {
    "time.time": SECONDS, "time.monotonic": SECONDS, "time.perf_counter": SECONDS,
    "time.time_ns": NANOS, "time.monotonic_ns": NANOS, "time.perf_counter_ns": NANOS,
}
_CLOCK_NAMES = frozenset(name.rpartition(".")[2] for name in CLOCKS)
# Calls whose value has the unit of their first argument.
_KEEP_UNIT = frozenset({
    "builtins.int", "builtins.float", "builtins.round", "builtins.abs", "math.floor",
    "math.ceil", "math.trunc",
})
# Methods whose result is in seconds whatever they are called on.
_SECONDS_METHODS = frozenset({"timestamp", "total_seconds"})
_POWERS = {1000: 3, 1_000_000: 6, 1_000_000_000: 9}


def name_unit(name: str) -> int | None:
    """The unit a name announces by its last word: `timeout_ms`, `expiresAtMs`, `delay_s`."""
    words = [w.lower() for w in _WORDS.findall(name)]
    if not words:
        return None
    unit = _SUFFIXES.get(words[-1])
    if unit is None:
        return None
    if len(words) == 1 and words[0] in _LONE_AMBIGUOUS:
        return None
    if any(w in _NOT_AMOUNTS for w in words[:-1]):
        return None
    return unit


def slot_unit(node: cst.BaseExpression) -> int | None:
    """The unit a place announces by its name: a variable, an attribute, a string key."""
    if isinstance(node, cst.Name):
        return name_unit(node.value)
    if isinstance(node, cst.Attribute):
        return name_unit(node.attr.value)
    if isinstance(node, cst.Subscript) and len(node.slice) == 1:
        index = node.slice[0].slice
        if isinstance(index, cst.Index):
            key = string_value(index.value)
            return name_unit(key) if key is not None else None
    return None


def power_of_ten(node: cst.BaseExpression) -> int | None:
    """3 for `1000`, `1_000`, `1e3`, `10**3`, `1000.0`; -3 for `0.001`, `1e-3`; else None."""
    value: float | None = None
    if isinstance(node, (cst.Integer, cst.Float)):
        try:
            value = float(node.value.replace("_", ""))
        except ValueError:
            return None
    elif (
        isinstance(node, cst.BinaryOperation)
        and isinstance(node.operator, cst.Power)
        and isinstance(node.left, cst.Integer)
        and isinstance(node.right, cst.Integer)
        and node.left.value == "10"
    ):
        try:
            exponent = int(node.right.value.replace("_", ""), 0)
        except ValueError:  # `10**09` is no literal CPython accepts, libcst parses it
            return None
        return exponent if exponent in (3, 6, 9) else None
    if value is None or value <= 0:
        return None
    for amount, exponent in _POWERS.items():
        if value == amount:
            return exponent
        if abs(value * amount - 1) < 1e-9:
            return -exponent
    return None


def _scaled(unit: int | None, exponent: int) -> int | None:
    if unit is None:
        return None
    result = unit + exponent
    return result if result in UNIT_NAMES else None


class Units:
    """The unit of numeric expressions in one file. `names` carries the units of local names
    that a caller settled from their assignments (`now = time.time() * 1000`)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def of(self, node: cst.BaseExpression, names: dict[str, str] | None = None, depth: int = 0) -> int | None:
        if depth > 12:
            return None
        if isinstance(node, cst.Name):
            unit = name_unit(node.value)
            if unit is None and names is not None and node.value in names:
                return int(names[node.value])
            return unit
        if isinstance(node, (cst.Attribute, cst.Subscript)):
            return slot_unit(node)
        if isinstance(node, cst.Call):
            return self._call(node, names, depth)
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
            return self.of(node.expression, names, depth + 1)
        if isinstance(node, cst.IfExp):
            body = self.of(node.body, names, depth + 1)
            return body if body is not None and body == self.of(node.orelse, names, depth + 1) else None
        if isinstance(node, cst.BinaryOperation):
            return self._binary(node, names, depth)
        return None

    def _call(self, node: cst.Call, names: dict[str, str] | None, depth: int) -> int | None:
        func = node.func
        last = callee_name(node)
        if last in _CLOCK_NAMES or isinstance(func, cst.Name):  # `from time import time as now`
            qualified = self.ctx.qualified_name(func)
            if qualified in CLOCKS:
                return CLOCKS[qualified]
        if isinstance(func, cst.Attribute) and last in _SECONDS_METHODS and not node.args:
            return SECONDS if self.ctx.qualified_name(func) is None else None
        if node.args and not node.args[0].star and node.args[0].keyword is None:
            if self.ctx.qualified_name(func) in _KEEP_UNIT:
                return self.of(node.args[0].value, names, depth + 1)
        return name_unit(last) if last else None

    def _binary(self, node: cst.BinaryOperation, names: dict[str, str] | None, depth: int) -> int | None:
        op = node.operator
        if isinstance(op, cst.Multiply):
            for value, factor in ((node.left, node.right), (node.right, node.left)):
                exponent = power_of_ten(factor)
                if exponent is not None:
                    return _scaled(self.of(value, names, depth + 1), -exponent)
            return None
        if isinstance(op, (cst.Divide, cst.FloorDivide)):
            exponent = power_of_ten(node.right)
            if exponent is None:
                return None
            return _scaled(self.of(node.left, names, depth + 1), exponent)
        if isinstance(op, (cst.Add, cst.Subtract)):
            left = self.of(node.left, names, depth + 1)
            right = self.of(node.right, names, depth + 1)
            if left is None:
                return right
            if right is None or right == left:
                return left
            return None
        return None


def mismatch(a: int | None, b: int | None) -> bool:
    """Seconds meet milliseconds: the pair the rule reports (other pairs are too rare to tell
    from a name that is something else, `_us` for "United States", `_ns` for "namespace")."""
    return a is not None and b is not None and {a, b} == {SECONDS, MILLIS}
