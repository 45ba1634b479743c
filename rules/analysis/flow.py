"""Local data flow: what the names of a function, class body or module hold, which of them
hold one kind of value, and how a class binds its `self.<attr>` attributes.

The rules that follow values record candidates during the traversal and ask these questions
only for the functions that hold one: a second pass over every function would cost more than
the traversal itself.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

import libcst as cst

from rules.analysis.syntax import child_nodes, iter_nodes
from rules.rule import Context
from rules.scope import COMPREHENSIONS, Scope, param_names, suite_statements, target_names

# -- the local names of a unit (a function, a class body or the module) --------------------


def unit_of(ctx: Context) -> cst.CSTNode:
    """The def, class or module whose own body holds the current node.

    A default value or a decorator belongs to the code around its `def`, which is where
    Python evaluates it; a lambda belongs to the unit it is written in.
    """
    chain = ctx.ancestors
    for i in range(len(chain) - 2, -1, -1):
        node = chain[i]
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)) and chain[i + 1] is node.body:
            return node
    return ctx.module


class LocalFlow:
    """What one unit's own code does with its local names.

    `assigned[name]` lists the values assigned to `name` by plain assignments (`x = v`,
    `x: T = v`, `(x := v)`); any other binding (parameter, loop or `with` target, tuple
    unpacking, augmented assignment, import, `global`/`nonlocal`, lambda parameter,
    comprehension variable) appends None, meaning "not a single known value".
    `loads[name]` lists the Name nodes that read it; `nested` holds the names that a nested
    def, class or lambda mentions (the value may be read later, elsewhere). `nodes` is the
    unit's own code in pre-order, lambdas included, nested defs and classes excluded
    (their decorators and default values included: they run here).
    """

    __slots__ = ("assigned", "loads", "nested", "nodes")

    def __init__(self) -> None:
        self.assigned: dict[str, list[cst.BaseExpression | None]] = {}
        self.loads: dict[str, list[cst.Name]] = {}
        self.nested: set[str] = set()
        self.nodes: list[cst.CSTNode] = []


_OWN, _LAMBDA, _INNER = 0, 1, 2


def local_flow(unit: cst.CSTNode, *, nested_bodies: bool = True) -> LocalFlow:
    """Scan `unit` (a FunctionDef, ClassDef or Module) once; see `LocalFlow`.

    With `nested_bodies=False` the bodies of nested defs and classes are not read at all
    (`nested` then only knows the lambdas): for a module unit that avoids re-reading the file.
    """
    flow = LocalFlow()
    assigned, loads, nested, nodes = flow.assigned, flow.loads, flow.nested, flow.nodes
    stack: list[tuple[cst.CSTNode, int]] = []

    def bind(target: cst.CSTNode, value: cst.BaseExpression | None, mode: int) -> None:
        if isinstance(target, cst.Name):
            if mode == _INNER:
                nested.add(target.value)
            else:
                assigned.setdefault(target.value, []).append(value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                bind(element.value, None, mode)
        elif isinstance(target, cst.StarredElement):
            bind(target.value, None, mode)
        elif isinstance(target, cst.BaseExpression):
            stack.append((target, mode))  # `obj.attr = v`, `d[k] = v`: reads `obj`, `d`, `k`

    def bind_params(params: cst.Parameters, mode: int, inner: int) -> None:
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            bind(param.name, None, inner)
            if param.default is not None:
                stack.append((param.default, mode))
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                bind(star.name, None, inner)

    if isinstance(unit, cst.FunctionDef):
        stack.append((unit.body, _OWN))
        bind_params(unit.params, _INNER, _OWN)
    elif isinstance(unit, cst.ClassDef):
        stack.append((unit.body, _OWN))
    elif isinstance(unit, cst.Module):
        stack.extend((stmt, _OWN) for stmt in reversed(unit.body))
    while stack:
        node, mode = stack.pop()
        if mode != _INNER:
            nodes.append(node)
        if isinstance(node, cst.Name):
            if mode != _INNER:
                loads.setdefault(node.value, []).append(node)
            if mode != _OWN:
                nested.add(node.value)
        elif isinstance(node, (cst.Attribute, cst.Arg)):
            stack.append((node.value, mode))  # not the attribute's or keyword's own name
        elif isinstance(node, cst.Assign):
            for target in reversed(node.targets):
                bind(target.target, node.value, mode)
            stack.append((node.value, mode))
        elif isinstance(node, cst.AnnAssign):
            if node.value is not None:
                bind(node.target, node.value, mode)
                stack.append((node.value, mode))
        elif isinstance(node, cst.NamedExpr):
            bind(node.target, node.value, mode)
            stack.append((node.value, mode))
        elif isinstance(node, cst.AugAssign):
            bind(node.target, None, mode)
            if isinstance(node.target, cst.Name):
                stack.append((node.target, mode))  # `x += v` also reads x
            stack.append((node.value, mode))
        elif isinstance(node, cst.For):
            bind(node.target, None, mode)
            for child in (node.orelse, node.body, node.iter):
                if child is not None:
                    stack.append((child, mode))
        elif isinstance(node, cst.CompFor):
            bind(node.target, None, mode)
            if node.inner_for_in is not None:
                stack.append((node.inner_for_in, mode))
            stack.extend((i, mode) for i in reversed(node.ifs))
            stack.append((node.iter, mode))
        elif isinstance(node, cst.WithItem):
            if node.asname is not None:
                bind(node.asname.name, None, mode)
            stack.append((node.item, mode))
        elif isinstance(node, (cst.ExceptHandler, cst.ExceptStarHandler)):
            if node.name is not None:
                bind(node.name.name, None, mode)
            stack.append((node.body, mode))
            if node.type is not None:
                stack.append((node.type, mode))
        elif isinstance(node, (cst.Import, cst.ImportFrom)):
            if not isinstance(node.names, cst.ImportStar):
                for alias in node.names:
                    bound: cst.BaseExpression = alias.asname.name if alias.asname else alias.name
                    while isinstance(bound, cst.Attribute):  # `import a.b` binds `a`
                        bound = bound.value
                    bind(bound, None, mode)
        elif isinstance(node, (cst.Global, cst.Nonlocal)):
            for item in node.names:
                bind(item.name, None, mode)
        elif isinstance(node, cst.Del):
            bind(node.target, None, mode)
        elif isinstance(node, cst.MatchAs):
            if node.name is not None:
                bind(node.name, None, mode)
            if node.pattern is not None:
                stack.append((node.pattern, mode))
        elif isinstance(node, cst.MatchStar):
            if node.name is not None:
                bind(node.name, None, mode)
        elif isinstance(node, cst.FunctionDef):
            bind(node.name, None, mode)
            if nested_bodies:
                stack.append((node.body, _INNER))
            bind_params(node.params, mode, _INNER)
            stack.extend((d, mode) for d in reversed(node.decorators))
        elif isinstance(node, cst.ClassDef):
            bind(node.name, None, mode)
            if nested_bodies:
                stack.append((node.body, _INNER))
            stack.extend((a, mode) for a in reversed((*node.bases, *node.keywords)))
            stack.extend((d, mode) for d in reversed(node.decorators))
        elif isinstance(node, cst.Lambda):
            inner = _INNER if mode == _INNER else _LAMBDA
            stack.append((node.body, inner))
            bind_params(node.params, mode, inner)
        else:
            stack.extend((child, mode) for child in reversed(child_nodes(node)))
    return flow


# -- one kind of value followed through local names and `+`/`-` -----------------------------
# The rules that tell clocks or datetime conventions apart (RG102, RG107, RG108) classify the
# values a call makes; these two functions carry that kind through the unit's names and
# through arithmetic with an amount of time. What counts as an amount is each rule's own.


def settle_kinds(
    flow: LocalFlow,
    kind_of: Callable[[cst.BaseExpression, dict[str, str]], str | None],
    *,
    names: Collection[str] | None = None,
    rounds: int | None = 4,
) -> dict[str, str]:
    """The kind of each local name all of whose assignments agree on one kind.

    `kind_of(value, settled)` classifies an assigned value given the names settled so far.
    The passes repeat so that `deadline = start + 5` learns from `start = clock()`: at most
    `rounds` of them, or until nothing changes (`rounds=None`, for a `kind_of` under which
    a settled name stays settled). `names` limits the names considered (default: all).
    """
    settled: dict[str, str] = {}
    assigned = flow.assigned if names is None else {
        name: values for name, values in flow.assigned.items() if name in names
    }
    passes = 0
    while rounds is None or passes < rounds:
        passes += 1
        changed = False
        for name, values in assigned.items():
            kinds = {kind_of(v, settled) if v is not None else None for v in values}
            kind = kinds.pop() if len(kinds) == 1 else None
            if kind is None:
                if settled.pop(name, None) is not None:
                    changed = True
            elif settled.get(name) != kind:
                settled[name] = kind
                changed = True
        if not changed:
            break
    return settled


def shifted_kind(
    operator: cst.BaseBinaryOp,
    left: str | None,
    right: str | None,
    *,
    left_amount: bool,
    right_amount: bool,
) -> str | None:
    """The kind of `left <operator> right`, given the kinds of its operands: a point moved by
    an amount keeps the point's kind (`point + amount`, `amount + point`, `point - amount`);
    any other combination has none. `left_amount` / `right_amount` say whether that operand
    is an amount of time, by the caller's own test."""
    if left is not None and right_amount and isinstance(operator, (cst.Add, cst.Subtract)):
        return left
    if right is not None and left_amount and isinstance(operator, cst.Add):
        return right
    return None


# -- names all of whose bindings give one kind of value ------------------------------------


class KnownBindings:
    """Names all of whose bindings in their scope gave a value of one recognised kind.

    A rule records the bindings it recognises (`s = requests.Session()` as "http-client").
    The scope pre-pass counts every binding of every name (assignments, parameters, loop
    variables, imports...), so a name has a kind only when the rule recognised exactly that
    many: any other binding anywhere in the scope makes the name's value unknown.
    """

    OTHER = "other"

    def __init__(self) -> None:
        self._kinds: dict[tuple[Scope, str], list[str]] = {}

    def record(self, scope: Scope, name: str, kind: str) -> None:
        if name in scope.globals:  # the pre-pass counts it as a module binding
            while scope.parent is not None:
                scope = scope.parent
        elif name in scope.nonlocals:
            # counted in this scope, yet it rebinds the outer name: make that one unknown
            owner = scope.parent.lookup(name) if scope.parent is not None else None
            if owner is not None:
                self._kinds.setdefault((owner, name), []).append(self.OTHER)
            return
        self._kinds.setdefault((scope, name), []).append(kind)

    def kind(self, scope: Scope, name: str) -> str | None:
        owner = scope.lookup(name)
        if owner is None:
            return None
        kinds = self._kinds.get((owner, name))
        if not kinds or len(kinds) != len(owner.bindings[name]):
            return None
        first = kinds[0]
        return first if first != self.OTHER and all(k == first for k in kinds) else None


class TracksBindings:
    """Mixin for rules that ask what a plain name holds: it records, in `self.known`, the
    bindings whose kind `value_kind` / `annotation_kind` / `unpacked_kinds` recognise
    (assignments, `with ... as name`, annotated parameters). A rule overriding one of these
    handlers calls the mixin's too.
    """

    ctx: Context
    known: KnownBindings

    def value_kind(self, value: cst.BaseExpression) -> str | None:
        return None

    def annotation_kind(self, annotation: cst.BaseExpression) -> str | None:
        return None

    def unpacked_kinds(self, target: cst.BaseExpression, value: cst.BaseExpression) -> list[tuple[str, str]]:
        """(name, kind) for the names a tuple target binds from `value` (`conn, addr = s.accept()`)."""
        return []

    def _bind(self, target: cst.BaseExpression, value: cst.BaseExpression, kind: str | None) -> None:
        if isinstance(target, cst.Name):
            if kind is not None:
                self.known.record(self.ctx.scope, target.value, kind)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for name, inner in self.unpacked_kinds(target, value):
                self.known.record(self.ctx.scope, name, inner)

    def visit_Assign(self, node: cst.Assign) -> None:
        kind = self.value_kind(node.value)
        for target in node.targets:
            self._bind(target.target, node.value, kind)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        kind = self.annotation_kind(node.annotation.annotation)
        if kind is None and node.value is not None:
            kind = self.value_kind(node.value)
        if kind is not None and isinstance(node.target, cst.Name):
            self.known.record(self.ctx.scope, node.target.value, kind)

    def visit_With(self, node: cst.With) -> None:
        for item in node.items:
            if item.asname is not None:
                self._bind(item.asname.name, item.item, self.with_kind(item.item, node))

    def with_kind(self, value: cst.BaseExpression, node: cst.With) -> str | None:
        return self.value_kind(value)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        # the scope pre-pass does not count walrus bindings: make the name unknown
        if isinstance(node.target, cst.Name):
            self.known.record(self.ctx.scope, node.target.value, KnownBindings.OTHER)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        scope = self.ctx.scope_of(node)
        if scope is None:
            return
        params = node.params
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            if param.annotation is not None:
                kind = self.annotation_kind(param.annotation.annotation)
                if kind is not None:
                    self.known.record(scope, param.name.value, kind)


def shadowed_here(ctx: Context, name: str) -> bool:
    """`name` is bound by a lambda parameter or a comprehension variable around the current
    node: bindings the statement-level scope pre-pass does not see."""
    for node in reversed(ctx.ancestors):
        if isinstance(node, cst.FunctionDef):
            return False
        if isinstance(node, cst.Lambda):
            if name in param_names(node.params):
                return True
        elif isinstance(node, COMPREHENSIONS):
            comp: cst.CompFor | None = node.for_in
            while comp is not None:
                if name in target_names(comp.target):
                    return True
                comp = comp.inner_for_in
    return False

# -- attributes of `self` ------------------------------------------------------------------


def self_attribute(ctx: Context, expr: cst.BaseExpression) -> tuple[cst.ClassDef, str] | None:
    """`(class, name)` when `expr`, under the current node, is `self.name` in a method of
    `class` (or in code nested in the method): `self` being the method's first parameter,
    whatever it is called. None for anything else, and when a nested def or lambda rebinds
    that name. Rules use it to ask how the class binds the attribute
    (`self._pool = ThreadPoolExecutor()` in `__init__`) instead of guessing from its name."""
    if not isinstance(expr, cst.Attribute) or not isinstance(expr.value, cst.Name):
        return None
    owner = expr.value.value
    chain = ctx.ancestors
    for i in range(len(chain) - 1, -1, -1):
        node = chain[i]
        if isinstance(node, cst.ClassDef):
            return None
        if not isinstance(node, (cst.FunctionDef, cst.Lambda)):
            continue
        params = node.params
        positional = [*params.posonly_params, *params.params]
        is_method = (
            isinstance(node, cst.FunctionDef)
            and i >= 2
            and isinstance(chain[i - 1], cst.IndentedBlock)
            and isinstance(chain[i - 2], cst.ClassDef)
        )
        if is_method:
            assert isinstance(node, cst.FunctionDef)
            static = any(
                isinstance(d.decorator, cst.Name) and d.decorator.value == "staticmethod"
                for d in node.decorators
            )
            if not static and positional and positional[0].name.value == owner:
                klass = chain[i - 2]
                assert isinstance(klass, cst.ClassDef)
                return klass, expr.attr.value
            return None
        if owner in param_names(params):
            return None
    return None


def attribute_bindings(
    klass: cst.ClassDef, name: str
) -> list[tuple[cst.BaseExpression | None, cst.BaseExpression | None]]:
    """How `klass` binds its attribute `name`: `(value, annotation)` for every
    `self.<name> = value` / `self.<name>: T = value` in its methods (code nested in them
    included) and every `<name> = value` / `<name>: T` in its body. Any other binding
    (`self.a, self.b = ...`, `+=`, `with ... as self.<name>`, a loop target) gives
    `(None, None)`: a value that is not known. Meant for a rule's `finish`, only for the
    classes where it saw a candidate (it walks the class)."""
    found: list[tuple[cst.BaseExpression | None, cst.BaseExpression | None]] = []
    for statement in suite_statements(klass.body):
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign):
                    for target in small.targets:
                        if isinstance(target.target, cst.Name) and target.target.value == name:
                            found.append((small.value, None))
                elif isinstance(small, cst.AnnAssign):
                    if isinstance(small.target, cst.Name) and small.target.value == name:
                        found.append((small.value, small.annotation.annotation))
        if not isinstance(statement, cst.FunctionDef):
            continue
        params = [*statement.params.posonly_params, *statement.params.params]
        if not params:
            continue
        owner = params[0].name.value
        for node in iter_nodes(statement.body):
            if isinstance(node, cst.Assign):
                for target in node.targets:
                    if _is_attribute_of(target.target, owner, name):
                        found.append((node.value, None))
                    elif any(_is_attribute_of(n, owner, name) for n in iter_nodes(target.target)):
                        found.append((None, None))
            elif isinstance(node, cst.AnnAssign) and _is_attribute_of(node.target, owner, name):
                found.append((node.value, node.annotation.annotation))
            elif isinstance(node, (cst.AugAssign, cst.For, cst.CompFor)):
                if any(_is_attribute_of(n, owner, name) for n in iter_nodes(node.target)):
                    found.append((None, None))
            elif isinstance(node, cst.AsName) and _is_attribute_of(node.name, owner, name):
                found.append((None, None))
    return found


def _is_attribute_of(node: cst.CSTNode, owner: str, name: str) -> bool:
    return (
        isinstance(node, cst.Attribute)
        and node.attr.value == name
        and isinstance(node.value, cst.Name)
        and node.value.value == owner
    )
