"""The one traversal: every enabled rule's `visit_`/`leave_` handlers, with the scope and the
ancestors of the current node kept up to date in the rules' `Context`."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import libcst as cst

from rules.analysis.syntax import child_fields
from rules.rule import Context, Rule
from rules.scope import COMPREHENSIONS, Scope, bind_params, bind_target


class OverBudget(Exception):
    """The traversal ran past its deadline."""


_HANDLERS: dict[type, tuple[tuple[str, type, bool], ...]] = {}


def _handler_names(rule_class: type) -> tuple[tuple[str, type, bool], ...]:
    """(method name, node class, is_leave) for every visit_/leave_ method, cached per class."""
    names = _HANDLERS.get(rule_class)
    if names is None:
        found = []
        for attr in dir(rule_class):
            for prefix, is_leave in (("visit_", False), ("leave_", True)):
                if attr.startswith(prefix):
                    kind = getattr(cst, attr[len(prefix):], None)
                    if isinstance(kind, type) and issubclass(kind, cst.CSTNode):
                        found.append((attr, kind, is_leave))
        names = _HANDLERS[rule_class] = tuple(found)
    return names


Handlers = dict[type, list[Callable[[Any], Any]]]


def _dispatch(rules: Iterable[Rule]) -> tuple[Handlers, Handlers]:
    """Node class -> bound handlers. Rules name concrete node classes (`Call`, `Try`), not
    base classes, so a lookup by `type(node)` is exact."""
    enter: Handlers = {}
    leave: Handlers = {}
    for rule in rules:
        for attr, kind, is_leave in _handler_names(type(rule)):
            (leave if is_leave else enter).setdefault(kind, []).append(getattr(rule, attr))
    return enter, leave


_LEAVE = object()
_POP_SCOPE = object()


def walk(ctx: Context, module: cst.Module, rules: list[Rule], deadline: float) -> None:
    """Pre-order traversal without recursion and without rebuilding nodes (as libcst's
    visitors do), calling only the handlers registered for each node type."""
    enter, leave = _dispatch(rules)
    ancestors = ctx.ancestors
    scope_stack: list[Scope] = []
    stack: list[Any] = [module]
    count = 0
    fields = child_fields
    while stack:
        item = stack.pop()
        if item is _LEAVE:
            node = ancestors.pop()
            handlers = leave.get(type(node))
            if handlers:
                for handler in handlers:
                    handler(node)
            continue
        if item is _POP_SCOPE:
            ctx.scope = scope_stack.pop()
            continue
        if type(item) is tuple:  # (scope, node): the body of a def or class
            scope_stack.append(ctx.scope)
            ctx.scope = item[0]
            stack.append(_POP_SCOPE)
            item = item[1]
            if item is None:
                continue
        node = item
        count += 1
        if not count & 4095 and time.monotonic() > deadline:
            raise OverBudget
        kind = type(node)
        handlers = enter.get(kind)
        if handlers:
            for handler in handlers:
                handler(node)
        stack.append(_LEAVE)
        ancestors.append(node)
        if kind in _SCOPE_KINDS:
            _push_scoped(ctx, node, stack)
            continue
        for name in reversed(fields(kind)):
            value = getattr(node, name)
            if isinstance(value, cst.CSTNode):
                stack.append(value)
            elif type(value) is tuple or type(value) is list:
                stack.extend(reversed(value))


_SCOPE_KINDS = frozenset((cst.FunctionDef, cst.ClassDef, cst.Lambda, *COMPREHENSIONS))


def _push_scoped(ctx: Context, node: cst.CSTNode, stack: list[Any]) -> None:
    """Children of a node that opens a scope: its body is resolved in that scope.

    Defs and classes have their scope from the pre-pass. Lambdas and comprehensions are
    expressions, which the pre-pass does not enter, so their (small) scope is made here:
    `lambda datetime: datetime.now()` and `[datetime.now() for datetime in xs]` do not
    name the module. A comprehension's first iterable really belongs to the enclosing
    scope; resolving it in the inner one can only make a name unknown, never wrong.
    """
    scoped: tuple[str, ...] = ("body",)
    if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
        inner = ctx.scope_of(node)
    else:
        inner = Scope("function", ctx.scope)
        if isinstance(node, cst.Lambda):
            bind_params(inner, node.params)
        else:
            comp: cst.CompFor | None = node.for_in  # type: ignore[attr-defined]
            while comp is not None:
                bind_target(inner, comp.target)
                comp = comp.inner_for_in
            scoped = child_fields(type(node))
    for name in reversed(child_fields(type(node))):
        value = getattr(node, name)
        if inner is not None and name in scoped:
            if type(value) is tuple or type(value) is list:
                stack.extend((inner, v) for v in reversed(value))
            else:
                stack.append((inner, value))
        elif isinstance(value, cst.CSTNode):
            stack.append(value)
        elif type(value) is tuple or type(value) is list:
            stack.extend(reversed(value))
