"""Which names are bound to which imported module, per scope, with shadowing.

libcst's `QualifiedNameProvider` answers the same question for every name in the file and
costs about nine times the parse. The rules only ask about a few call sites, so this module
collects the bindings of each scope in one pass over the *statements* (expressions bind
almost nothing) and resolves a name only when a rule asks.

Relative imports bind a qualified name with its leading dots (`from . import tasks` binds
`tasks` to `.tasks`, `from .jobs import run` binds `run` to `.jobs.run`): an import of this
project, never one of a library. A star import of a standard-library module binds the names
that module exports (`from datetime import *`); of any other module, nothing is known.
Walrus targets (`(x := ...)`) and `match` captures shadow like assignments; the
expression-level search for walrus targets runs only in a file that has `:=` at all.
Comprehension variables are not modelled (they live in a scope of their own).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from functools import cache

import libcst as cst

# A binding is the qualified name it imports (`datetime.datetime`), or None for any other
# binding (assignment, parameter, def, class...), which shadows an import of the same name.
Binding = str | None
# Expressions with a scope of their own, and the definitions whose body runs elsewhere (later,
# or once per call) than where it is written.
COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)
NESTED_SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)


@dataclass(eq=False)
class Scope:
    kind: str  # "module" | "class" | "function"
    parent: Scope | None
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    globals: set[str] = field(default_factory=set)
    nonlocals: set[str] = field(default_factory=set)

    def bind(self, name: str, value: Binding) -> None:
        # `global x` then `x = ...` in a function rebinds the module's `x`
        scope = _module(self) if name in self.globals else self
        scope.bindings.setdefault(name, []).append(value)

    def lookup(self, name: str) -> Scope | None:
        """The scope whose binding `name` denotes when read from here (None: a builtin).

        Follows Python's rules: a name bound anywhere in a function is local to all of it;
        class bodies are not visible from their methods; `global` names live in the module.
        """
        scope: Scope | None = self
        first = True
        while scope is not None:
            if name in scope.globals:
                scope = _module(scope)
            if scope.kind == "class" and not first:
                scope = scope.parent
                continue
            if name in scope.bindings and name not in scope.nonlocals:
                return scope
            first = False
            scope = scope.parent
        return None

    def resolve(self, name: str) -> str | None:
        """Qualified name of `name` seen from this scope, or None when it is not (only) an import."""
        scope = self.lookup(name)
        if scope is None:
            return f"builtins.{name}"
        values = scope.bindings[name]
        if len(set(values)) == 1:
            return values[0]
        return None  # rebound, or imported from two places: not knowable statically


def _module(scope: Scope) -> Scope:
    while scope.parent is not None:
        scope = scope.parent
    return scope


def target_names(target: cst.BaseExpression) -> list[str]:
    """The plain names an assignment or loop target binds (`a, (b, *c)` -> a, b, c)."""
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for element in target.elements for n in target_names(element.value)]
    if isinstance(target, cst.StarredElement):
        return target_names(target.value)
    return []


def bind_target(scope: Scope, target: cst.BaseExpression) -> None:
    if type(target) is cst.Name:  # the common case, without building a list
        scope.bind(target.value, None)
        return
    for name in target_names(target):
        scope.bind(name, None)


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


def param_names(params: cst.Parameters) -> list[str]:
    """Every name a parameter list binds, `*args` and `**kwargs` included."""
    names = [p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)]
    names += [p.name.value for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]
    return names


def bind_params(scope: Scope, params: cst.Parameters) -> None:
    for name in param_names(params):
        scope.bind(name, None)


# Standard-library modules whose star imports are resolved: their exported names are read
# from the module itself (its `__all__`, else its public names).
_STAR_MODULES = frozenset({
    "datetime", "time", "calendar", "os", "os.path", "shutil", "subprocess", "socket", "ssl",
    "json", "pickle", "tempfile", "logging", "asyncio", "concurrent.futures", "threading",
    "sqlite3", "io", "pathlib", "zoneinfo", "functools", "warnings",
})


@cache
def star_exports(module: str) -> tuple[str, ...]:
    """The names `from <module> import *` binds, for the standard-library modules above."""
    if module not in _STAR_MODULES:
        return ()
    try:
        imported = importlib.import_module(module)
    except ImportError:  # not on this platform
        return ()
    names = getattr(imported, "__all__", None)
    if names is None:
        names = [n for n in vars(imported) if not n.startswith("_")]
    return tuple(n for n in names if isinstance(n, str))


def _relative(stmt: cst.ImportFrom) -> str:
    dots = "." * len(stmt.relative)
    return dots + (_dotted(stmt.module) if stmt.module is not None else "")


def _bind_small(scope: Scope, stmt: cst.BaseSmallStatement) -> None:
    if isinstance(stmt, cst.Import):
        for alias in stmt.names:
            full = _dotted(alias.name)
            if alias.asname is not None:
                if isinstance(alias.asname.name, cst.Name):
                    scope.bind(alias.asname.name.value, full)
            else:
                top = full.split(".", 1)[0]
                scope.bind(top, top)
    elif isinstance(stmt, cst.ImportFrom):
        if isinstance(stmt.names, cst.ImportStar):
            if not stmt.relative and stmt.module is not None:
                module = _dotted(stmt.module)
                for exported in star_exports(module):
                    scope.bind(exported, f"{module}.{exported}")
            return
        if stmt.relative:
            base = _relative(stmt)
            for alias in stmt.names:
                name = alias.asname.name if alias.asname else alias.name
                if isinstance(name, cst.Name):
                    joined = base if base.endswith(".") else base + "."
                    scope.bind(name.value, joined + _dotted(alias.name))
            return
        if stmt.module is None:
            return
        module = _dotted(stmt.module)
        for alias in stmt.names:
            imported = _dotted(alias.name)
            name = alias.asname.name if alias.asname else alias.name
            if isinstance(name, cst.Name):
                scope.bind(name.value, f"{module}.{imported}")
    elif isinstance(stmt, cst.Assign):
        for target in stmt.targets:
            bind_target(scope, target.target)
    elif isinstance(stmt, (cst.AnnAssign, cst.AugAssign)):
        bind_target(scope, stmt.target)
    elif isinstance(stmt, cst.Global):
        scope.globals.update(n.name.value for n in stmt.names)
    elif isinstance(stmt, cst.Nonlocal):
        scope.nonlocals.update(n.name.value for n in stmt.names)
    elif isinstance(stmt, cst.Del):
        bind_target(scope, stmt.target)


def _walrus_targets(node: cst.CSTNode) -> list[str]:
    """The names `(x := ...)` binds in the statement `node` (its own expressions: not those
    of nested blocks, defs, classes or lambdas)."""
    found: list[str] = []
    stack: list[cst.CSTNode] = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.NamedExpr) and isinstance(current.target, cst.Name):
            found.append(current.target.value)
        for child in current.children:
            if isinstance(child, (cst.BaseSuite, *NESTED_SCOPES)):
                continue
            stack.append(child)
    return found


def _pattern_names(pattern: cst.MatchPattern) -> list[str]:
    """The names a `case` pattern captures (`case Point(x=px)`, `case [first, *rest]`)."""
    found: list[str] = []
    stack: list[cst.CSTNode] = [pattern]
    while stack:
        node = stack.pop()
        if isinstance(node, (cst.MatchAs, cst.MatchStar)) and node.name is not None:
            found.append(node.name.value)
        elif isinstance(node, cst.MatchMapping) and node.rest is not None:
            found.append(node.rest.value)
        if isinstance(node, cst.MatchValue):
            continue  # `case Color.RED`: a value, not a capture
        stack.extend(node.children)
    return found


def collect_scopes(module: cst.Module, *, walrus: bool = True) -> dict[cst.CSTNode, Scope]:
    """Map the module and every def, lambda and class node to its scope.

    Iterative over statements; expressions are entered only for lambdas in the few places
    a rule may ask from (defaults and bodies are resolved from the enclosing scope otherwise),
    and, with `walrus` (the caller's word that the text has `:=`), for walrus targets.
    """
    root = Scope("module", None)
    scopes: dict[cst.CSTNode, Scope] = {module: root}
    stack: list[tuple[Scope, cst.CSTNode]] = [(root, s) for s in reversed(module.body)]
    while stack:
        scope, node = stack.pop()
        if walrus and not isinstance(node, (cst.FunctionDef, cst.ClassDef)):
            for name in _walrus_targets(node):
                scope.bind(name, None)
        if isinstance(node, cst.SimpleStatementLine):
            for small in node.body:
                _bind_small(scope, small)
            continue
        if isinstance(node, cst.FunctionDef):
            scope.bind(node.name.value, None)
            inner = Scope("function", scope)
            bind_params(inner, node.params)
            scopes[node] = inner
            stack.extend((inner, s) for s in reversed(suite_statements(node.body)))
            continue
        if isinstance(node, cst.ClassDef):
            scope.bind(node.name.value, None)
            inner = Scope("class", scope)
            scopes[node] = inner
            stack.extend((inner, s) for s in reversed(suite_statements(node.body)))
            continue
        if isinstance(node, cst.BaseSmallStatement):  # from a one-line suite: `if x: y = 1`
            _bind_small(scope, node)
            continue
        if isinstance(node, (cst.For,)):
            bind_target(scope, node.target)
        elif isinstance(node, cst.With):
            for item in node.items:
                if item.asname is not None:
                    bind_target(scope, item.asname.name)
        elif isinstance(node, (cst.ExceptHandler, cst.ExceptStarHandler)):
            if node.name is not None:
                bind_target(scope, node.name.name)
        elif isinstance(node, cst.MatchCase):
            for name in _pattern_names(node.pattern):
                scope.bind(name, None)
        # Compound statements: descend into every block they hold, in source order. Handlers,
        # `case`s and `elif`s are entered as nodes of their own.
        children: list[cst.CSTNode] = []
        for attr in ("body", "handlers", "orelse", "finalbody", "cases"):
            value = getattr(node, attr, None)
            if value is None:
                continue
            if isinstance(value, (list, tuple)):
                children.extend(value)
            elif isinstance(value, cst.BaseSuite):
                children.extend(suite_statements(value))
            elif isinstance(value, cst.If):
                children.append(value)
            elif isinstance(value, (cst.Else, cst.Finally)):
                children.extend(suite_statements(value.body))
        stack.extend((scope, c) for c in reversed(children))
    return scopes


def suite_statements(suite: cst.BaseSuite) -> list[cst.CSTNode]:
    """The statements of a block, simple statements of a one-line suite included."""
    if isinstance(suite, (cst.SimpleStatementSuite, cst.IndentedBlock)):
        return list(suite.body)
    return []
