"""Where a naive datetime made at a call ends up: the verdict behind the severity of the
naive-datetime rules (RG101, RG103-RG105).

Every occurrence stays reported (ruff's DTZ rules flag them all); this tells the uses where
the missing zone changes an answer (error) from those where it cannot (warning).
"""

from __future__ import annotations

import libcst as cst

from rules.analysis.naive_index import UnitIndex, owner_of, self_attribute_name
from rules.analysis.syntax import (
    LOG_METHODS,
    argument,
    callee_name,
    is_none,
    iter_nodes,
    string_value,
)
from rules.analysis.time import (
    DATETIME,
    duration_like,
    realtime_name,
    start_name,
    zone_attaching_call,
)
from rules.rule import Context

_FORMAT_METHODS = frozenset({"strftime", "isoformat", "ctime", "__str__", "__format__"})
_CALENDAR_METHODS = frozenset(
    {"date", "time", "weekday", "isoweekday", "isocalendar", "toordinal", "timetuple"}
)
_DISPLAY_CALLS = LOG_METHODS | {"print", "pprint", "echo", "secho"}
_TEXT_CALLS = frozenset({"str", "repr", "format"})
_COLLECTING_CALLS = frozenset({"append", "appendleft", "add", "insert", "extend"})
_TEST_ASSERTIONS = frozenset({"eq_", "ne_", "is_", "assert_equal", "assert_not_equal"})
# Calls that store or send what they are given (a database, a cache, a queue, a peer).
_STORING_CALLS = frozenset(
    {"execute", "executemany", "insert", "insert_one", "insert_many", "update", "update_one",
     "update_many", "replace_one", "save", "put", "put_item", "set", "setex", "hset", "hmset",
     "zadd", "write", "writerow", "writerows", "send", "sendall", "post", "patch", "create",
     "bulk_create", "index", "values", "dump", "publish", "enqueue", "apply_async"}
)
_NEUTRAL_CALLS = frozenset({"isinstance", "type", "id", "hash", "len", "bool", "max", "min"})
_EQUALITY = (cst.Equal, cst.NotEqual, cst.Is, cst.IsNot, cst.In, cst.NotIn)
# The datetime module's naive makers, and where each takes its zone (position, keyword).
_NAIVE_MAKERS: dict[str, tuple[int, str] | None] = {
    DATETIME: (7, "tzinfo"),
    f"{DATETIME}.now": (0, "tz"),
    f"{DATETIME}.today": None,
    f"{DATETIME}.fromtimestamp": (1, "tz"),
    f"{DATETIME}.strptime": None,
    f"{DATETIME}.combine": (2, "tzinfo"),
}
_NAIVE_FOLLOW_DEPTH = 3


class NaiveUse:
    """The verdict on one naive value: `risky` when it is stored, sent, returned or compared
    where the missing zone changes the answer; `why` says where, for the message."""

    __slots__ = ("risky", "why", "zone")

    def __init__(self, risky: bool, why: str, zone: bool = False) -> None:
        self.risky = risky
        self.why = why
        self.zone = zone  # a zone is attached to it further on

    def __repr__(self) -> str:
        return f"NaiveUse(risky={self.risky}, why={self.why!r}, zone={self.zone})"


def _risky(why: str) -> NaiveUse:
    return NaiveUse(True, why)


def _benign(why: str) -> NaiveUse:
    return NaiveUse(False, why)


class NaiveUses:
    """Judges how the naive datetime made at the current call is used (one per rule and file).

    Followed: chained methods, `+`/`-` with durations, formatting, the arguments of a call,
    and a local name or `self.<attr>` the value is stored in (their uses in the function or
    the class, a few assignments deep). An index is built once per function or class that
    holds a finding, and only then.

    Risky (error): compared with or subtracted from something that is not another naive
    value (an attribute like `record.created_at`, a parameter); stored under a key,
    attribute or keyword named like a point in time, or under any literal key of another
    object (`row["at"] = ...`); passed to a call right where it is made, or later to one
    that stores or sends (`execute`, `save`, `hset`...); returned (when `returned`); read with
    `.timestamp()` (when `timestamp`); labelled with `.replace(tzinfo=<zone>)` (when `local`:
    a server-local reading keeps its local fields); kept in a module-level name the module never reads or
    a local name never read (the use is out of sight).
    Benign (warning): formatted, printed or logged; only its calendar fields read; compared
    with or subtracted from values of the same naive kind, possibly moved by a duration (a
    duration or an in-memory deadline); tested for equality; given a zone afterwards; thrown
    away; held in `self.<attr>` or a local name all of whose uses are benign; a fixed
    reference date or a calendar value kept in a module-level name; anything in test code
    (a `test*` function, a `Test*`/`*Test(s)` class).
    """

    def __init__(self, ctx: Context, *, returned: bool, timestamp: bool, local: bool) -> None:
        self.ctx = ctx
        self.returned = returned
        self.timestamp = timestamp
        self.local = local  # the value is a server-local reading: `.replace(tzinfo=)` mislabels it
        self._indexes: dict[cst.CSTNode, UnitIndex] = {}
        self._memo: dict[tuple[cst.CSTNode, str, bool, bool, bool, bool], NaiveUse] = {}
        self._class: cst.ClassDef | None = None
        self._calendar = False
        self._reference = False

    def _index(self, root: cst.CSTNode) -> UnitIndex:
        index = self._indexes.get(root)
        if index is None:
            index = self._indexes[root] = UnitIndex(root)
        return index

    def classify(self, node: cst.CSTNode, *, calendar: bool = False, reference: bool = False) -> NaiveUse:
        """`node` is the current node. `calendar`: the value is calendar arithmetic (a date
        widened to a datetime, a date-only format): comparisons, arithmetic, calls and
        returns are benign, only storage under a point-in-time name is not. `reference`: a
        fixed date, benign when subtracted from another value (an epoch)."""
        chain = self.ctx.ancestors
        parents = {chain[i]: chain[i - 1] for i in range(1, len(chain))}
        if chain:
            parents[node] = chain[-1]
        self._class = None
        unit: cst.CSTNode = self.ctx.module
        for ancestor in reversed(chain):
            if isinstance(ancestor, cst.FunctionDef) and unit is self.ctx.module:
                unit = ancestor
            elif isinstance(ancestor, cst.ClassDef):
                self._class = ancestor
                break
        self._calendar, self._reference = calendar, reference
        for ancestor in chain:
            if (isinstance(ancestor, cst.FunctionDef) and ancestor.name.value.startswith("test")) or (
                isinstance(ancestor, cst.ClassDef)
                and (ancestor.name.value.startswith("Test") or ancestor.name.value.endswith(("Test", "Tests")))
            ):
                return _benign("in test code, where no production instant depends on it")
        use = self._climb(node, parents, unit, 0, formatted=False, container=False)
        return use if use is not None else _benign("not used")

    # -- one use ----------------------------------------------------------------------------

    def _climb(
        self,
        node: cst.CSTNode,
        parents: dict[cst.CSTNode, cst.CSTNode],
        unit: cst.CSTNode,
        depth: int,
        *,
        formatted: bool,
        container: bool,
    ) -> NaiveUse | None:
        """The verdict on the value of `node` from where it stands; None: `node` is a
        binding of a name, not a use."""
        child: cst.CSTNode = node
        while True:
            parent = parents.get(child)
            if parent is None:
                return _benign("not used")
            if isinstance(parent, cst.Attribute) and parent.value is child:
                call = parents.get(parent)
                if not (isinstance(call, cst.Call) and call.func is parent):
                    return _benign("read only for its fields")
                method = parent.attr.value
                if formatted or container:
                    if method in _COLLECTING_CALLS:
                        return _benign("kept in a collection")
                    child = call
                    continue
                if method == "replace":
                    tz = argument(call, 7, "tzinfo")
                    if tz is not None and not is_none(tz.value) and self.local:
                        return _risky("labelled with a zone by `.replace(tzinfo=...)`, which keeps "
                                      "the server-local fields: a wrong instant")
                    if any(a.star == "**" for a in call.args) or (tz is not None and not is_none(tz.value)):
                        after = parents.get(call)
                        again = parents.get(after) if isinstance(after, cst.Attribute) else None
                        if not (
                            isinstance(after, cst.Attribute)
                            and after.attr.value == "replace"
                            and isinstance(again, cst.Call)
                            and is_none((argument(again, 7, "tzinfo") or cst.Arg(cst.Name("x"))).value)
                        ):
                            return NaiveUse(False, "given a zone afterwards", zone=True)
                    child = call
                    continue
                if method == "astimezone":
                    return NaiveUse(False, "converted with `.astimezone()`", zone=True)
                if method in _FORMAT_METHODS:
                    formatted, child = True, call
                    continue
                if method == "timestamp" and self.timestamp:
                    return _risky("read with `.timestamp()`, which takes it for server-local time")
                if method in _CALENDAR_METHODS:
                    return _benign("read only for its calendar fields")
                return _benign(f"used only through `.{method}()`")
            if isinstance(parent, cst.BinaryOperation):
                if formatted or container:
                    child = parent
                    continue
                if isinstance(parent.operator, cst.Modulo) and parent.right is child:
                    formatted, child = True, parent
                    continue
                if isinstance(parent.operator, cst.Add):
                    child = parent
                    continue
                if not isinstance(parent.operator, cst.Subtract):
                    return _benign("used in arithmetic")
                left = parent.left is child
                other = parent.right if left else parent.left
                if left and duration_like(other):
                    child = parent
                    continue
                if self._same_kind(other, unit):
                    return _benign("only subtracted from another naive reading (a duration)")
                if left and start_name(other):
                    return _benign(
                        f"an elapsed time since `{self._code(other)}` (a duration: RG108's concern)"
                    )
                if not left and self._reference:
                    return _benign("a fixed reference date subtracted to count from it")
                if self._calendar:
                    return _benign("calendar arithmetic")
                return _risky(f"in a subtraction with `{self._code(other)}`")
            if isinstance(parent, (cst.Comparison, cst.ComparisonTarget)):
                if formatted or container:
                    return _benign("compared as text")
                comparison = parent if isinstance(parent, cst.Comparison) else parents.get(parent)
                if not isinstance(comparison, cst.Comparison):
                    return _benign("compared")
                if all(isinstance(t.operator, _EQUALITY) for t in comparison.comparisons):
                    return _benign("only tested for equality")
                operands = [comparison.left, *(t.comparator for t in comparison.comparisons)]
                foreign = [o for o in operands if o is not child and not self._same_kind(o, unit)]
                if not foreign:
                    return _benign("only compared with another naive reading (a deadline)")
                if self._calendar:
                    return _benign("calendar arithmetic")
                return _risky(f"compared with `{self._code(foreign[0])}`")
            if isinstance(parent, (cst.FormattedStringExpression, cst.FormattedString)):
                formatted, child = True, parent
                continue
            if isinstance(parent, cst.IfExp) and parent.test is not child and any(
                isinstance(n, cst.Attribute) and n.attr.value == "tzinfo" for n in iter_nodes(parent.test)
            ):
                return _benign("chosen by a test on `tzinfo`: naive only where the other value is")
            if isinstance(parent, cst.BooleanOperation) or (
                isinstance(parent, cst.IfExp) and parent.test is not child
            ):
                child = parent
                continue
            if isinstance(parent, (cst.Element, cst.StarredElement, cst.Tuple, cst.List, cst.Set, cst.Dict)):
                container, child = True, parent
                continue
            if isinstance(parent, cst.DictElement):
                key = string_value(parent.key) if parent.value is child else None
                if key is not None and realtime_name(key):
                    return _risky(f"stored under the key '{key}'")
                container, child = True, parent
                continue
            if isinstance(parent, cst.Arg):
                call = parents.get(parent)
                if not isinstance(call, cst.Call) or parent.value is not child:
                    return _benign("used as an argument")
                verdict = self._argument(call, parent, formatted, container, depth)
                if verdict is not None:
                    return verdict
                formatted, child = True, call  # `str(x)`, `"{}".format(x)`: text from here on
                continue
            if isinstance(parent, cst.Expr):
                return _benign("formatted and thrown away" if formatted else "thrown away (a probe)")
            if isinstance(parent, (cst.Return, cst.Yield)) or (
                isinstance(parent, cst.Lambda) and parent.body is child
            ):
                return self._returned(parent, parents, unit, formatted or container)
            if isinstance(parent, (cst.Assign, cst.AnnAssign)) and parent.value is child:
                targets = (
                    [t.target for t in parent.targets] if isinstance(parent, cst.Assign) else [parent.target]
                )
                in_class = self._class is not None and owner_of(parent, parents) is self._class
                verdicts = [
                    self._target(t, unit, depth, in_class, formatted=formatted, container=container)
                    for t in targets
                ]
                return next((v for v in verdicts if v.risky), verdicts[0])
            if isinstance(parent, (cst.AssignTarget, cst.Del)) or (
                isinstance(parent, (cst.AugAssign, cst.For, cst.CompFor)) and parent.target is child
            ):
                return None
            if isinstance(parent, cst.AugAssign):
                return _benign("accumulated into another value")
            return _benign("formatted into text" if formatted else "used where its zone does not matter")

    def _argument(
        self, call: cst.Call, arg: cst.Arg, formatted: bool, container: bool, depth: int
    ) -> NaiveUse | None:
        """The verdict on a value passed as `arg`; None: the call makes text of it."""
        name = callee_name(call)
        if name in _DISPLAY_CALLS:
            return _benign("only shown in a message or a log line")
        if name in _TEXT_CALLS and not container:
            return None
        keyword = arg.keyword.value if arg.keyword is not None else None
        if keyword is not None and realtime_name(keyword):
            return _risky(f"passed as `{keyword}=`")
        if keyword is None:
            previous = None
            for candidate in call.args:
                if candidate is arg:
                    break
                previous = candidate
            key = string_value(previous.value) if previous is not None and previous.keyword is None else None
            if key is not None and realtime_name(key):
                return _risky(f"sent as the field '{key}'")
        if formatted:
            return _benign("formatted into text")
        if zone_attaching_call(call):
            return NaiveUse(False, f"given a zone by `{name}()`", zone=True)
        if name == "combine" and call.args and call.args[0] is arg:
            return _benign("used only for its calendar date")
        if name in _TEST_ASSERTIONS or name.startswith("assert"):
            return _benign("compared in a test assertion")
        if name in _NEUTRAL_CALLS or name in _COLLECTING_CALLS:
            return _benign("kept or inspected in memory")
        if self._calendar:
            return _benign("calendar arithmetic")
        if depth and name not in _STORING_CALLS:
            # handed on from a name or attribute: most such calls compute with it in memory
            return _benign(f"handed to `{name or 'a call'}()`")
        return _risky(f"passed to `{name or 'a call'}()`")

    def _returned(
        self, node: cst.CSTNode, parents: dict[cst.CSTNode, cst.CSTNode], unit: cst.CSTNode, text: bool
    ) -> NaiveUse:
        if text:
            return _benign("returned as text or in a container")
        if not self.returned:
            return _benign("returned to the caller, whose use decides")
        if self._calendar:
            return _benign("returned as calendar arithmetic")
        function: cst.CSTNode | None = node
        while function is not None and not isinstance(function, (cst.FunctionDef, cst.Lambda)):
            function = parents.get(function)
        branch = _benign("the explicit local-time branch of a function that returns aware values")
        if isinstance(function, cst.FunctionDef):
            for inner in iter_nodes(function.body, local=True):
                if isinstance(inner, cst.Return) and inner is not node and self._aware(inner.value):
                    return branch
        value = node.value if isinstance(node, cst.Return) else None
        if isinstance(value, cst.IfExp) and (self._aware(value.body) or self._aware(value.orelse)):
            return branch  # `return utcnow() if self.utc else datetime.now()`
        if isinstance(value, cst.Name) and any(
            self._aware(v) for v in self._index(unit).values.get(value.value, ())
        ):
            return branch  # the returned name holds an aware value on another path
        return _risky("returned to callers as if it were an instant")

    def _aware(self, value: cst.BaseExpression | None) -> bool:
        if not isinstance(value, cst.Call):
            return False
        if isinstance(value.func, cst.Attribute) and value.func.attr.value == "astimezone":
            return True
        if zone_attaching_call(value):
            return True
        func = value.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value == "now"
            and isinstance(func.value, cst.Name)
            and func.value.value == "timezone"
        ):
            return True  # django.utils.timezone.now(): aware under USE_TZ
        tz = argument(value, 0, "tz") if callee_name(value) == "now" else argument(value, None, "tzinfo")
        return tz is not None and not is_none(tz.value)

    # -- where it is stored -------------------------------------------------------------------

    def _target(
        self,
        target: cst.BaseExpression,
        unit: cst.CSTNode,
        depth: int,
        in_class: bool,
        *,
        formatted: bool,
        container: bool,
    ) -> NaiveUse:
        if isinstance(target, cst.Subscript):
            index = target.slice[0].slice if len(target.slice) == 1 else None
            key = string_value(index.value) if isinstance(index, cst.Index) else None
            owner = target.value
            if key is not None and not (isinstance(owner, cst.Name) and owner.value == "self"):
                return _risky(f"stored as the field '{key}' of `{self._code(owner)}`")
            return _benign("kept in a mapping or list")
        if isinstance(target, cst.Attribute):
            attr = self_attribute_name(target)
            if attr is None:
                if realtime_name(target.attr.value):
                    return _risky(f"stored as `{self._code(target)}`")
                return _benign(f"kept in `{self._code(target)}`")
            return self._follow_attribute(attr, depth, formatted=formatted, container=container)
        if isinstance(target, cst.Name):
            if in_class:
                return self._follow_attribute(target.value, depth, formatted=formatted, container=container)
            return self._follow_name(target.value, unit, depth, formatted=formatted, container=container)
        return _benign("unpacked")

    def _follow_name(self, name: str, unit: cst.CSTNode, depth: int, *, formatted: bool, container: bool) -> NaiveUse:
        if depth >= _NAIVE_FOLLOW_DEPTH:
            return _benign(f"stored in `{name}`")
        key = (unit, name, formatted, container, self._calendar, self._reference)
        known = self._memo.get(key)
        if known is not None:
            return known
        self._memo[key] = _benign(f"stored in `{name}`")  # a name assigned from itself
        index = self._index(unit)
        seen = [
            use
            for occurrence in index.names.get(name, ())
            if (use := self._climb(occurrence, index.parent, unit, depth + 1,
                                   formatted=formatted, container=container)) is not None
        ]
        if not seen and (self._calendar or self._reference):
            verdict = _benign(f"kept in `{name}` as a calendar value or a fixed reference date")
        elif not seen:
            verdict = _risky(
                f"kept in the module-level `{name}`, which other modules may read"
                if unit is self.ctx.module
                else f"stored in `{name}`, whose use the rule cannot see"
            )
        else:
            verdict = self._combine(seen, f"`{name}`")
        self._memo[key] = verdict
        return verdict

    def _follow_attribute(self, attr: str, depth: int, *, formatted: bool, container: bool) -> NaiveUse:
        klass = self._class
        if klass is None or depth >= _NAIVE_FOLLOW_DEPTH:
            return _benign(f"kept in `self.{attr}`")
        key = (klass, attr, formatted, container, self._calendar, self._reference)
        known = self._memo.get(key)
        if known is not None:
            return known
        self._memo[key] = _benign(f"kept in `self.{attr}`")
        index = self._index(klass)
        seen: list[NaiveUse] = []
        for occurrence in index.attrs.get(attr, ()):
            function = owner_of(occurrence, index.parent)
            use = self._climb(occurrence, index.parent, function or klass, depth + 1,
                              formatted=formatted, container=container)
            if use is not None:
                seen.append(use)
        if not seen:
            if realtime_name(attr) and not attr.startswith("_"):
                verdict = _risky(f"stored as `self.{attr}`")
            else:
                verdict = _benign(f"kept in `self.{attr}`")
        else:
            verdict = self._combine(seen, f"`self.{attr}`")
        self._memo[key] = verdict
        return verdict

    @staticmethod
    def _combine(seen: list[NaiveUse], holder: str) -> NaiveUse:
        if any(u.zone for u in seen):
            return NaiveUse(False, f"stored in {holder}, which is given a zone afterwards", zone=True)
        for use in seen:
            if use.risky:
                return _risky(f"stored in {holder}, which is {use.why}")
        if len(seen) == 1:
            return _benign(f"stored in {holder}, which is {seen[0].why}")
        return _benign(f"stored in {holder}, used only where its zone does not matter")

    # -- what it is compared with ------------------------------------------------------------

    def _same_kind(self, node: cst.BaseExpression, unit: cst.CSTNode, depth: int = 0) -> bool:
        """`node` is a naive datetime too: made by one of the datetime module's naive makers
        (not `utcnow()`, whose fields are UTC), `x.replace(tzinfo=None)`, a local name only
        ever bound to those, or a `self.<attr>` the class assigns from one; possibly moved by
        a duration."""
        if depth > 4:
            return False
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Add, cst.Subtract)):
            if duration_like(node.right):
                return self._same_kind(node.left, unit, depth + 1)
            return isinstance(node.operator, cst.Add) and (
                self._same_kind(node.left, unit, depth + 1) or self._same_kind(node.right, unit, depth + 1)
            )
        if isinstance(node, cst.BooleanOperation):
            return self._same_kind(node.left, unit, depth + 1) or self._same_kind(node.right, unit, depth + 1)
        if isinstance(node, cst.Call):
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value == "replace":
                tz = argument(node, 7, "tzinfo")
                if tz is not None:
                    return is_none(tz.value)
                return self._same_kind(func.value, unit, depth + 1)
            qualified = self.ctx.qualified_name(func)
            if qualified not in _NAIVE_MAKERS or any(a.star == "**" for a in node.args):
                return False
            where = _NAIVE_MAKERS[qualified]
            if where is None:
                return True
            tz = argument(node, *where)
            # `now(last.tzinfo)`: whatever zone (or none) the other value has
            return tz is None or is_none(tz.value) or (
                isinstance(tz.value, cst.Attribute) and tz.value.attr.value == "tzinfo"
            )
        if isinstance(node, cst.Name):
            values = self._index(unit).values.get(node.value)
            if values is None and unit is not self.ctx.module:
                values = self._index(self.ctx.module).values.get(node.value)  # a global
            return bool(values) and all(
                v is not None and (is_none(v) or self._same_kind(v, unit, depth + 1)) for v in values or ()
            )
        attr = self_attribute_name(node)
        if attr is not None and self._class is not None:
            assigned = self._index(self._class).attr_values.get(attr, [])
            return any(self._same_kind(v, self._class, depth + 1) for v in assigned)
        return False

    def _code(self, node: cst.CSTNode) -> str:
        text = " ".join(self.ctx.module.code_for_node(node).split())
        return text if len(text) <= 40 else text[:37] + "..."
