"""Which convention a datetime value follows: naive UTC (`utcnow()`), naive local (`now()`,
`fromtimestamp(x)`), or aware, and the shapes that tell another convention apart (a zone
visibly not UTC, a column declared `DateTime(timezone=True)`).

RG102 asks, to find where a naive UTC value is read as local time or meets a value of
another convention.
"""

from __future__ import annotations

import libcst as cst

from rules.analysis.flow import shifted_kind
from rules.analysis.syntax import (
    argument,
    callee_name,
    child_nodes,
    is_none,
    iter_nodes,
    string_value,
)
from rules.analysis.time import DATETIME
from rules.rule import Context

NAIVE_UTC, NAIVE_LOCAL, AWARE = "naive UTC", "naive local", "aware"
NAIVE_UTC_CALLS = frozenset({f"{DATETIME}.utcnow", f"{DATETIME}.utcfromtimestamp"})
_NOW, _TODAY, _FROMTIMESTAMP = f"{DATETIME}.now", f"{DATETIME}.today", f"{DATETIME}.fromtimestamp"
_AWARE_CALLS = frozenset(
    {"django.utils.timezone.now", "django.utils.timezone.make_aware",
     "django.utils.timezone.localtime"}
)
# Method and function names worth resolving during the traversal (cheap syntactic filter).
_RESOLVED = frozenset(
    {"utcnow", "utcfromtimestamp", "now", "today", "fromtimestamp", "mktime", "make_aware",
     "localtime"}
)
# The keywords of a column or field that take its default value.
COLUMN_DEFAULTS = frozenset({"default", "onupdate", "insert_default", "default_factory"})


class Conventions:
    """The convention of the datetime values of one file, from the calls it resolves during
    the traversal (`record`), through `+`/`-` a duration and the local names a rule settles."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.calls: dict[cst.Call, str] = {}  # call -> qualified name, for the calls that tell

    def record(self, node: cst.Call) -> str | None:
        """Resolve `node` when its callee may tell a convention (or is `time.mktime`);
        returns its qualified name."""
        if callee_name(node) not in _RESOLVED:
            return None
        qualified = self.ctx.qualified_name(node.func)
        if qualified is None:
            return None
        self.calls[node] = qualified
        return qualified

    def of(self, node: cst.BaseExpression, names: dict[str, str], depth: int = 0) -> str | None:
        """`NAIVE_UTC`, `NAIVE_LOCAL`, `AWARE`, or None when the convention cannot be told;
        `names` gives the convention of the local names settled so far."""
        if depth > 20:
            return None
        if isinstance(node, cst.Name):
            return names.get(node.value)
        if isinstance(node, cst.Call):
            called = self.calls.get(node)
            if called is not None:
                if called in NAIVE_UTC_CALLS:
                    return NAIVE_UTC
                if called in (_NOW, _FROMTIMESTAMP):
                    tz = argument(node, 0 if called == _NOW else 1, "tz")
                    return NAIVE_LOCAL if tz is None or is_none(tz.value) else AWARE
                if called == _TODAY:
                    return NAIVE_LOCAL
                return AWARE if called in _AWARE_CALLS else None
            func = node.func
            if isinstance(func, cst.Name):
                return AWARE if func.value == "make_aware" else None
            if not isinstance(func, cst.Attribute):
                return None
            method = func.attr.value
            if method in ("make_aware", "localize", "astimezone"):
                return AWARE
            if method == "replace" and not any(a.star for a in node.args):
                tz = argument(node, 7, "tzinfo")
                if tz is None:
                    return self.of(func.value, names, depth + 1)
                return None if is_none(tz.value) else AWARE
            return None
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Add, cst.Subtract)):
            left = self.of(node.left, names, depth + 1)
            right = self.of(node.right, names, depth + 1)
            # a value of no known convention next to a point is a duration
            return shifted_kind(
                node.operator, left, right, left_amount=left is None, right_amount=right is None
            )
        return None

    def mixed(self, values: list[cst.BaseExpression], names: dict[str, str]) -> bool:
        """Some of `values` is naive local or aware."""
        return any(self.of(v, names) in (NAIVE_LOCAL, AWARE) for v in values)

    def stored_with_others(self, wanted: set[str]) -> dict[str, str]:
        """For the real-time names naive UTC values are stored under: which ones this file
        also compares with, subtracts from, or assigns, an aware or local value."""
        found: dict[str, str] = {}
        for node in iter_nodes(self.ctx.module):
            if isinstance(node, cst.Comparison):
                operands = [node.left, *(c.comparator for c in node.comparisons)]
                self._mixed_operands(operands, wanted, found, "compares with")
            elif isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Subtract):
                self._mixed_operands([node.left, node.right], wanted, found, "subtracts from")
            elif isinstance(node, (cst.Assign, cst.AnnAssign)) and node.value is not None:
                targets = (
                    [t.target for t in node.targets] if isinstance(node, cst.Assign)
                    else [node.target]
                )
                for target in targets:
                    self._mixed_store(slot_name(target), node.value, wanted, found)
            elif isinstance(node, cst.Arg) and node.keyword is not None:
                self._mixed_store(node.keyword.value, node.value, wanted, found)
            elif isinstance(node, cst.DictElement):
                self._mixed_store(string_value(node.key), node.value, wanted, found)
        return found

    def _mixed_operands(
        self, operands: list[cst.BaseExpression], wanted: set[str], found: dict[str, str], verb: str
    ) -> None:
        slots = [n for n in map(slot_name, operands) if n in wanted]
        if slots:
            kinds = [self.of(o, {}) for o in operands]
            mixed = next((k for k in kinds if k in (NAIVE_LOCAL, AWARE)), None)
            if mixed is not None:
                for slot in slots:
                    assert slot is not None
                    found.setdefault(slot, f"{verb} {mixed} values")

    def _mixed_store(
        self, name: str | None, value: cst.BaseExpression, wanted: set[str], found: dict[str, str]
    ) -> None:
        if name in wanted:
            kind = self.of(value, {})
            if kind in (NAIVE_LOCAL, AWARE):
                assert name is not None
                found.setdefault(name, f"also gives {kind} values")


def other_zone(node: cst.BaseExpression) -> bool:
    """The zone is visibly not UTC: a named zone (`ZoneInfo("Europe/Paris")`,
    `pytz.timezone(name)`, `gettz(...)`) other than UTC, or the server's own
    (`tzlocal()`, `get_localzone()`). A variable or an offset object is not judged."""
    if not isinstance(node, cst.Call):
        return False
    last = callee_name(node)
    if last in ("tzlocal", "get_localzone"):
        return True
    if last not in ("ZoneInfo", "timezone", "gettz") or not node.args:
        return False
    text = string_value(node.args[0].value)
    return text is not None and text.upper() not in ("UTC", "GMT", "ETC/UTC", "Z", "UCT")


def aware_column_type(node: cst.BaseExpression) -> bool:
    """`DateTime(timezone=True)` (SQLAlchemy, any spelling)."""
    if not isinstance(node, cst.Call):
        return False
    if callee_name(node) not in ("DateTime", "TIMESTAMP"):
        return False
    tz = argument(node, 0, "timezone")
    return tz is not None and isinstance(tz.value, cst.Name) and tz.value.value == "True"


def slot_name(node: cst.BaseExpression) -> str | None:
    """`created_at` for `x.created_at` and `x["created_at"]`."""
    if isinstance(node, cst.Attribute):
        return node.attr.value
    if isinstance(node, cst.Subscript) and len(node.slice) == 1:
        index = node.slice[0].slice
        if isinstance(index, cst.Index):
            return string_value(index.value)
    return None


# Calls that store or send a value as it is (a database, a cache, a queue, a peer).
SENDING_CALLS = frozenset(
    {"execute", "executemany", "insert", "insert_one", "insert_many", "save", "put", "put_item",
     "set", "setex", "hset", "hmset", "zadd", "writerow", "writerows", "send", "publish",
     "enqueue", "apply_async", "bulk_create"}
)


def same_instant(candidate: cst.Call, other: cst.BaseExpression) -> bool:
    """`datetime.now() - datetime.utcnow()`, `fromtimestamp(t) - utcfromtimestamp(t)`: two
    readings of one instant, subtracted to learn the server's UTC offset on purpose."""
    if not isinstance(other, cst.Call) or len(other.args) != len(candidate.args):
        return False
    return all(a.value.deep_equals(b.value) for a, b in zip(other.args, candidate.args, strict=True))


def unit_parents(unit: cst.CSTNode) -> dict[cst.CSTNode, cst.CSTNode]:
    """Parent of every node of the unit's own code (nested def and class bodies excluded)."""
    parents: dict[cst.CSTNode, cst.CSTNode] = {}
    start = unit.body if isinstance(unit, (cst.FunctionDef, cst.ClassDef)) else unit
    stack: list[cst.CSTNode] = [start]
    while stack:
        node = stack.pop()
        for child in child_nodes(node):
            parents[child] = node
            if not (isinstance(node, (cst.FunctionDef, cst.ClassDef)) and child is node.body):
                stack.append(child)
    return parents


def assigned_name(call: cst.Call, parents: dict[cst.CSTNode, cst.CSTNode]) -> str | None:
    statement = parents.get(call)
    if isinstance(statement, cst.Assign) and statement.value is call and len(statement.targets) == 1:
        target = statement.targets[0].target
        return target.value if isinstance(target, cst.Name) else None
    if isinstance(statement, cst.AnnAssign) and statement.value is call:
        return statement.target.value if isinstance(statement.target, cst.Name) else None
    return None
