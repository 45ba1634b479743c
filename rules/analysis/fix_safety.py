"""When a fix that makes a naive datetime aware is safe: no value it makes aware can meet a
naive one, and no reader of it gets another answer.

A naive and an aware datetime cannot be compared or subtracted (`TypeError`), and
`==` between them is always False. So a rewrite of `datetime.now()` to
`datetime.now(timezone.utc)` is safe only where every read of the value is known, and each
read either works the same with an aware value or meets another value that becomes aware in
the same run. Followed: chained methods, `+`/`-` a duration, and the binding it is assigned
to: a local name (its reads in the function), a private module-level name (its reads in
the module), a private `self.<attr>` (its reads in the class), and a literal key of a local
dict (its reads in the function). Anything else (returned, passed to a call other than a
log line or `print`, stored under a public name other modules or classes may read, put in
a container) is out of sight, so the fix is unsafe.

Reads that work the same: calendar fields and `.strftime()` (the fields are then UTC's, the
fix's purpose), `.astimezone()` and `.replace(tzinfo=<zone>)` (aware either way), a log or `print` argument, an f-string field with
a format spec, a test against None, and `.timestamp()` for a server-local reading (a naive
value's timestamp takes it for local time, which it is, so the number does not change).
For a naive UTC value (`utcnow()`) `.timestamp()` changes: the fix corrects the number, but
the reader then gets another one, so it is unsafe. `.isoformat()`, `str()` and a bare
f-string field gain a `+00:00` that a parser of the text may not expect, and
`.replace(tzinfo=None)` would hand on naive UTC fields where local ones were: unsafe.

The other value of a comparison or subtraction must become aware in the same run: a call the
same rule rewrites (whose own reads are safe in turn: the values form one group, fixed all
together or not at all), a name or attribute only ever bound to such calls, or a value that
is aware already.
"""

from __future__ import annotations

import dataclasses

import libcst as cst

from rules.analysis.syntax import (
    LOG_METHODS,
    argument,
    callee_name,
    child_nodes,
    is_none,
    string_value,
)
from rules.analysis.time import duration_like
from rules.rule import Context, PendingFinding

_DISPLAY = LOG_METHODS | {"print", "pprint", "echo", "secho"}
_SAME_METHODS = frozenset(
    {"strftime", "date", "time", "weekday", "isoweekday", "isocalendar", "toordinal", "ctime"}
)
_FIELDS = frozenset(
    {"year", "month", "day", "hour", "minute", "second", "microsecond", "fold"}
)


def _is_self_attr(node: cst.CSTNode) -> str | None:
    if isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name) and node.value.value == "self":
        return node.attr.value
    return None


class FixSafety:
    """One per rule and file. `timestamp_same`: `.timestamp()` of the value gives the same
    number once it is aware (true of a server-local reading, not of naive UTC fields)."""

    def __init__(self, ctx: Context, *, timestamp_same: bool) -> None:
        self.ctx = ctx
        self.fixable: set[cst.CSTNode] = set()  # the calls the rule rewrites
        self._tracked: list[tuple[cst.CSTNode, PendingFinding]] = []
        self.timestamp_same = timestamp_same
        self._parents: dict[cst.CSTNode, cst.CSTNode] | None = None
        self._memo: dict[cst.CSTNode, bool] = {}

    # -- the tree ------------------------------------------------------------------------
    @property
    def parents(self) -> dict[cst.CSTNode, cst.CSTNode]:
        if self._parents is None:
            parents: dict[cst.CSTNode, cst.CSTNode] = {}
            stack: list[cst.CSTNode] = [self.ctx.module]
            while stack:
                node = stack.pop()
                for child in child_nodes(node):
                    parents[child] = node
                    stack.append(child)
            self._parents = parents
        return self._parents

    def _enclosing(self, node: cst.CSTNode, kinds: tuple[type, ...]) -> cst.CSTNode | None:
        current = self.parents.get(node)
        while current is not None and not isinstance(current, kinds):
            current = self.parents.get(current)
        return current

    # -- the question --------------------------------------------------------------------
    def safe(self, call: cst.CSTNode) -> bool:
        """Every read of the value made at `call` works the same once it is aware."""
        known = self._memo.get(call)
        if known is not None:
            return known
        self._memo[call] = True  # the group is judged as a whole: assume, then check
        verdict = self._uses_ok(call, 0)
        self._memo[call] = verdict
        if not verdict:
            # a group member judged safe while assuming this one was is no longer known safe
            self._memo = {k: v for k, v in self._memo.items() if not v or k is call}
        return verdict

    def _uses_ok(self, node: cst.CSTNode, depth: int) -> bool:
        if depth > 6:
            return False
        parents = self.parents
        child = node
        while True:
            parent = parents.get(child)
            if parent is None:
                return False
            if isinstance(parent, cst.Attribute) and parent.value is child:
                call = parents.get(parent)
                method = parent.attr.value
                if not (isinstance(call, cst.Call) and call.func is parent):
                    return method in _FIELDS
                if method in _SAME_METHODS:
                    return True
                if method == "timestamp":
                    return self.timestamp_same
                if method == "astimezone":
                    return True
                if method == "replace":
                    if any(a.star for a in call.args):
                        return False
                    tz = argument(call, 7, "tzinfo")
                    if tz is not None:
                        # aware either way; made naive again, its fields would change meaning
                        return not is_none(tz.value)
                    child = call
                    continue
                return False
            if isinstance(parent, cst.BinaryOperation):
                other = parent.right if parent.left is child else parent.left
                if isinstance(parent.operator, cst.Add) and duration_like(other):
                    child = parent
                    continue
                if isinstance(parent.operator, cst.Subtract):
                    if parent.left is child and duration_like(other):
                        child = parent
                        continue
                    return self._becomes_aware(other, depth)  # a timedelta from here on
                return False
            if isinstance(parent, (cst.Comparison, cst.ComparisonTarget)):
                comparison = parent if isinstance(parent, cst.Comparison) else parents.get(parent)
                if not isinstance(comparison, cst.Comparison):
                    return False
                operands = [comparison.left, *(t.comparator for t in comparison.comparisons)]
                for operand in operands:
                    if operand is child or is_none(operand):
                        continue  # `x is None`, `x == None`: the same answer either way
                    if not self._becomes_aware(operand, depth):
                        return False
                return True
            if isinstance(parent, (cst.BooleanOperation, cst.IfExp)):
                if isinstance(parent, cst.IfExp) and parent.test is child:
                    return True
                child = parent
                continue
            if isinstance(parent, cst.FormattedStringExpression):
                return parent.format_spec is not None or self._displayed(parents.get(parent))
            if isinstance(parent, cst.Arg):
                call = parents.get(parent)
                return isinstance(call, cst.Call) and parent.value is child and callee_name(call) in _DISPLAY
            if isinstance(parent, cst.Expr):
                return True
            if isinstance(parent, (cst.Assign, cst.AnnAssign)) and parent.value is child:
                targets = (
                    [t.target for t in parent.targets] if isinstance(parent, cst.Assign) else [parent.target]
                )
                return all(self._reads_ok(t, depth) for t in targets)
            return False

    def _displayed(self, fstring: cst.CSTNode | None) -> bool:
        """An f-string passed straight to a log call or `print`: the text is only shown."""
        arg = self.parents.get(fstring) if fstring is not None else None
        call = self.parents.get(arg) if arg is not None else None
        return isinstance(arg, cst.Arg) and isinstance(call, cst.Call) and callee_name(call) in _DISPLAY

    # -- the bindings a value is kept in --------------------------------------------------
    def _reads_ok(self, target: cst.BaseExpression, depth: int) -> bool:
        reads = self._reads(target)
        return reads is not None and all(self._uses_ok(read, depth + 1) for read in reads)

    def _reads(self, target: cst.BaseExpression) -> list[cst.CSTNode] | None:
        """Every read of the binding `target` stores to; None when some may be out of sight."""
        if isinstance(target, cst.Name):
            name = target.value
            unit = self._enclosing(target, (cst.FunctionDef, cst.Lambda))
            if unit is None:
                if not name.startswith("_"):
                    return None  # another module may import it
                unit = self.ctx.module
            return [n for n in self._names(unit, name) if self._is_load(n)]
        attr = _is_self_attr(target)
        if attr is not None:
            klass = self._enclosing(target, (cst.ClassDef,))
            if klass is None or not attr.startswith("_") or attr.startswith("__"):
                return None  # other objects may read a public attribute
            return [
                n for n in self._self_attrs(klass, attr)
                if not self._is_store(n)
            ]
        if isinstance(target, cst.Subscript):
            key = self._key(target)
            owner = target.value
            function = self._enclosing(target, (cst.FunctionDef,))
            if key is None or not isinstance(owner, cst.Name) or function is None:
                return None
            if not self._local_dict(function, owner.value):
                return None
            reads: list[cst.CSTNode] = []
            for use in self._names(function, owner.value):
                if not self._is_load(use):
                    continue
                sub = self.parents.get(use)
                if not (isinstance(sub, cst.Subscript) and sub.value is use):
                    return None  # the dict itself escapes
                other = self._key(sub)
                if other is None:
                    return None
                if other == key and not self._is_store(sub):
                    reads.append(sub)
            return reads
        return None

    def _key(self, node: cst.Subscript) -> str | None:
        if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
            return None
        return string_value(node.slice[0].slice.value)

    def _local_dict(self, function: cst.CSTNode, name: str) -> bool:
        """`name` is bound in `function` only by `name = {...}` or `name = dict(...)`."""
        bound = False
        for node in self._walk(function):
            if isinstance(node, cst.Param) and node.name.value == name:
                return False
            if isinstance(node, cst.Assign) and any(
                isinstance(t.target, cst.Name) and t.target.value == name for t in node.targets
            ):
                value = node.value
                if not (isinstance(value, cst.Dict) or (
                    isinstance(value, cst.Call) and isinstance(value.func, cst.Name) and value.func.value == "dict"
                )):
                    return False
                bound = True
        return bound

    def _walk(self, root: cst.CSTNode) -> list[cst.CSTNode]:
        out: list[cst.CSTNode] = []
        stack = [root]
        while stack:
            node = stack.pop()
            out.append(node)
            stack.extend(child_nodes(node))
        return out

    def _names(self, root: cst.CSTNode, name: str) -> list[cst.Name]:
        return [n for n in self._walk(root) if isinstance(n, cst.Name) and n.value == name]

    def _self_attrs(self, klass: cst.CSTNode, attr: str) -> list[cst.Attribute]:
        return [n for n in self._walk(klass) if isinstance(n, cst.Attribute) and _is_self_attr(n) == attr]

    def _is_load(self, name: cst.Name) -> bool:
        parent = self.parents.get(name)
        if isinstance(parent, cst.Attribute) and parent.attr is name:
            return False
        if isinstance(parent, cst.Arg) and parent.keyword is name:
            return False
        if isinstance(parent, (cst.Param, cst.FunctionDef, cst.ClassDef, cst.ImportAlias, cst.AsName)):
            return False
        return not self._is_store(name)

    def _is_store(self, node: cst.CSTNode) -> bool:
        parent = self.parents.get(node)
        if isinstance(parent, cst.AssignTarget):
            return True
        return isinstance(parent, (cst.AnnAssign, cst.AugAssign, cst.For, cst.CompFor, cst.NamedExpr)) and (
            getattr(parent, "target", None) is node
        )

    # -- the other side of a comparison or subtraction ------------------------------------
    def _becomes_aware(self, node: cst.BaseExpression, depth: int) -> bool:
        """`node` is aware after this run: a call the rule rewrites (and may: its reads are
        safe too), a value aware already, a binding only ever given those, or one of them
        moved by a duration."""
        if depth > 6:
            return False
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Add, cst.Subtract)):
            if duration_like(node.right):
                return self._becomes_aware(node.left, depth + 1)
            return isinstance(node.operator, cst.Add) and duration_like(node.left) and self._becomes_aware(
                node.right, depth + 1
            )
        if isinstance(node, cst.Call):
            if node in self.fixable:
                return self.safe(node)
            return self._aware_already(node)
        if isinstance(node, cst.Name):
            unit = self._binding_unit(node)
            values = self._bound_values(unit, node.value, lambda n, v=node.value: isinstance(n, cst.Name) and n.value == v)
            return values is not None and all(self._becomes_aware(v, depth + 1) for v in values)
        attr = _is_self_attr(node)
        if attr is not None:
            klass = self._enclosing(node, (cst.ClassDef,))
            if klass is None:
                return False
            values = self._bound_values(klass, attr, lambda n, a=attr: _is_self_attr(n) == a)
            return values is not None and all(self._becomes_aware(v, depth + 1) for v in values)
        return False

    def _binding_unit(self, name: cst.Name) -> cst.CSTNode:
        """The innermost function around `name` that binds it, else the module."""
        unit = self._enclosing(name, (cst.FunctionDef, cst.Lambda))
        while unit is not None:
            for node in self._walk(unit):
                if isinstance(node, cst.Name) and node.value == name.value and not self._is_load(node):
                    if not (isinstance(self.parents.get(node), cst.Attribute)
                            or isinstance(self.parents.get(node), cst.Arg)):
                        return unit
            unit = self._enclosing(unit, (cst.FunctionDef, cst.Lambda))
        return self.ctx.module

    def _bound_values(self, root: cst.CSTNode, name: str, matches: object) -> list[cst.BaseExpression] | None:
        """The values `root` assigns to the binding (None assignments left out); None when it
        is bound any other way (a parameter, a loop, an augmented assignment)."""
        test = matches  # a callable: does this target denote the binding?
        assert callable(test)
        values: list[cst.BaseExpression] = []
        for node in self._walk(root):
            if isinstance(node, cst.Param) and node.name.value == name and isinstance(root, cst.FunctionDef):
                return None
            if isinstance(node, cst.Assign):
                if any(test(t.target) for t in node.targets):
                    if not is_none(node.value):
                        values.append(node.value)
            elif isinstance(node, cst.AnnAssign) and test(node.target):
                if node.value is None:
                    continue
                if not is_none(node.value):
                    values.append(node.value)
            elif isinstance(node, (cst.AugAssign, cst.For, cst.CompFor, cst.NamedExpr, cst.AsName)):
                target = getattr(node, "target", None) if not isinstance(node, cst.AsName) else node.name
                if target is not None and any(test(n) for n in self._walk(target)):
                    return None
        return values or None

    def _aware_already(self, call: cst.Call) -> bool:
        name = self.ctx.qualified_name(call.func)
        if name in ("datetime.datetime.now", "datetime.datetime.fromtimestamp"):
            tz = argument(call, 0 if name.endswith("now") else 1, "tz")
            return tz is not None and not is_none(tz.value)
        return False

    # -- the rules' side -------------------------------------------------------------------
    def track(self, node: cst.CSTNode, pending: PendingFinding) -> None:
        """`pending` carries the fix that rewrites `node`; its safety is settled by `settle`
        once the whole file is known (the other members of its group may come later)."""
        self.fixable.add(node)
        self._tracked.append((node, pending))

    def settle(self) -> None:
        for node, pending in self._tracked:
            if pending.fix is not None:
                pending.fix = dataclasses.replace(pending.fix, safe=self.safe(node))
