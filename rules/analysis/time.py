"""Time knowledge several rules share: the datetime API's names, what makes a value aware,
and the names that announce a point in real time."""

from __future__ import annotations

import libcst as cst

from rules.analysis.syntax import (
    argument,
    callee_name,
    chained_methods,
    is_none,
    string_value,
)
from rules.rule import Context

DATETIME = "datetime.datetime"
DATE = "datetime.date"
# Words that name an amount of time in a variable or attribute name (`max_age`, `self.ttl`).
_DURATION_WORDS = frozenset(
    {"delta", "timedelta", "relativedelta", "interval", "timeout", "duration", "period", "ttl",
     "offset", "window", "age", "wait", "margin", "grace", "skew", "tolerance", "leeway",
     "slack", "retention", "lifetime", "backoff", "delay", "span", "step", "increment"}
)


def utc_expression(ctx: Context) -> tuple[cst.BaseExpression, tuple[tuple[str, str], ...]]:
    """`timezone.utc` spelled the way this file imports things, and the imports it needs."""
    tz, imports = ctx.name_for("datetime.timezone")
    return cst.Attribute(tz, cst.Name("utc")), imports


def made_aware(ctx: Context, node: cst.CSTNode) -> bool:
    """The datetime made by `node` (the current node) is turned aware by the calls chained on
    it: `.astimezone(...)`, or `.replace(tzinfo=<not None>)`, possibly among other `.replace()`s.

    A `.replace(**kwargs)` may carry a zone: it counts as aware (precision over recall).
    """
    aware = False
    for method, call in chained_methods(ctx, node):
        if method == "astimezone":
            return True
        if method != "replace":
            break
        if any(arg.star == "**" for arg in call.args):
            return True
        tz = argument(call, 7, "tzinfo")
        if tz is not None:
            aware = not is_none(tz.value)
    return aware


def _words(name: str) -> list[str]:
    return [w for w in name.lower().split("_") if w]


def duration_like(node: cst.BaseExpression) -> bool:
    """`timedelta(...)`, `relativedelta(...)`, a name like `self.timeout` or `max_age`, or
    arithmetic on those: what is added to or subtracted from a datetime to move it."""
    if isinstance(node, cst.Call):
        return callee_name(node).lower() in ("timedelta", "relativedelta")
    if isinstance(node, cst.Name):
        return any(w in _DURATION_WORDS or w.endswith("delta") for w in _words(node.value))
    if isinstance(node, cst.Attribute):
        return any(w in _DURATION_WORDS or w.endswith("delta") for w in _words(node.attr.value))
    if isinstance(node, cst.BinaryOperation):
        return duration_like(node.left) or duration_like(node.right)
    if isinstance(node, cst.UnaryOperation):
        return duration_like(node.expression)
    return False


_START_WORDS = frozenset({"start", "started", "begin", "began", "t0", "tic", "since"})


def start_name(node: cst.BaseExpression) -> bool:
    """`start`, `start_time`, `self._started`: the first reading of an elapsed time, as
    opposed to a stored point in time (`started_at`, `record.created`)."""
    if isinstance(node, cst.Name):
        name = node.value
    elif (
        isinstance(node, cst.Attribute)
        and isinstance(node.value, cst.Name)
        and node.value.value in ("self", "cls")
    ):
        name = node.attr.value
    else:
        return False
    words = _words(name)
    return bool(words) and words[-1] != "at" and not _START_WORDS.isdisjoint(words)


def zone_attaching_call(call: cst.Call) -> bool:
    """A call that gives a naive value a zone, judged by its name: `make_aware`,
    `tz.localize`, `convert_to_utc`, `default_timezone.convert`, `from_current_timezone`..."""
    name = callee_name(call).lower()
    if any(word in name for word in ("aware", "locali", "timezone", "utc")) or "tz" in _words(name):
        return True
    func = call.func
    if name == "convert" and isinstance(func, cst.Attribute):
        receiver = func.value
        if isinstance(receiver, cst.Attribute):
            receiver = receiver.attr
        text = receiver.value.lower() if isinstance(receiver, cst.Name) else ""
        return "timezone" in text or "tz" in _words(text)
    return False


# -- names that announce a point in real time (`created_at`, `row["expires"]`) -------------


def realtime_name(name: str) -> bool:
    """A key or attribute name that announces a point in real time."""
    if name.endswith("At"):  # createdAt, lastSeenAt
        return True
    low = name.lower().lstrip("_")
    return (
        low.endswith("_at")
        or low.startswith(("created", "updated", "modified", "date", "expires"))
        or low in ("timestamp", "ts", "time")
    )


def private_self_attribute(node: cst.Attribute) -> bool:
    return (
        isinstance(node.value, cst.Name)
        and node.value.value in ("self", "cls")
        and node.attr.value.startswith("_")
    )


def storage_name(target: cst.BaseExpression) -> str | None:
    """The real-time name a value is stored under by this target, if any."""
    if isinstance(target, cst.Attribute):
        if not private_self_attribute(target) and realtime_name(target.attr.value):
            return target.attr.value
        return None
    if isinstance(target, cst.Subscript) and len(target.slice) == 1:
        index = target.slice[0].slice
        if isinstance(index, cst.Index):
            key = string_value(index.value)
            if key is not None and realtime_name(key):
                return key
    return None
