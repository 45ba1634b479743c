"""Does a function hand its failure on itself? For RG205: a dropped task or future whose
work reports its own errors loses nothing (only, for a task, the reference)."""

from __future__ import annotations

import libcst as cst

from rules.analysis.syntax import LOG_METHODS, iter_nodes
from rules.rule import Context
from rules.scope import suite_statements, target_names

_FUTURE_FACTORIES = {"asyncio.Future", "asyncio.futures.Future"}
_CATCH_ALL = {"builtins.Exception", "builtins.BaseException"}
# Calls in an `except` block that only tell a human (a log line, a print): not a report
# the program acts on.
_LOG_METHODS = LOG_METHODS | {"print_exc", "print_exception"}


def single_value(function: cst.FunctionDef, name: str) -> cst.BaseExpression | None:
    """The value of `name = <value>` when that is the only binding of `name` in `function`'s
    own code (a parameter or any other binding makes it unknown)."""
    params = function.params
    if any(
        p.name.value == name
        for p in (*params.posonly_params, *params.params, *params.kwonly_params)
    ):
        return None
    value: cst.BaseExpression | None = None
    for node in iter_nodes(function.body, local=True):
        if isinstance(node, cst.Assign):
            for target in node.targets:
                if isinstance(target.target, cst.Name) and target.target.value == name:
                    if value is not None or len(node.targets) != 1:
                        return None
                    value = node.value
        elif isinstance(node, (cst.AugAssign, cst.AnnAssign, cst.NamedExpr, cst.For, cst.CompFor, cst.AsName)):
            bound = node.name if isinstance(node, cst.AsName) else node.target
            if name in target_names(bound):
                return None
        elif isinstance(node, (cst.Global, cst.Nonlocal)):
            if any(n.name.value == name for n in node.names):
                return None
    return value


def awaited_future(ctx: Context, function: cst.FunctionDef, name: str) -> bool:
    """`name` is a future made in `function` (`loop.create_future()`, `asyncio.Future()`)
    that `function` awaits (`await name`, `await asyncio.wait_for(name, t)`)."""
    value = single_value(function, name)
    if not isinstance(value, cst.Call):
        return False
    func = value.func
    if not (
        (isinstance(func, cst.Attribute) and func.attr.value == "create_future")
        or ctx.qualified_name(func) in _FUTURE_FACTORIES
    ):
        return False
    for node in iter_nodes(function.body, local=True):
        if isinstance(node, cst.Await):
            inner = node.expression
            if isinstance(inner, cst.Name) and inner.value == name:
                return True
            if isinstance(inner, cst.Call) and any(
                isinstance(a.value, cst.Name) and a.value.value == name for a in inner.args
            ):
                return True
    return False


def catches_and_reports(ctx: Context, function: cst.FunctionDef, *, logging_reports: bool = False) -> bool:
    """`function`'s body is one `try` (after a docstring and plain assignments without
    calls) with a catch-all handler that does not re-raise and calls something other than
    a log or print function (with `logging_reports`, a log call counts too): the coroutine
    or function hands its failure on itself."""
    statements = suite_statements(function.body)
    if not statements:
        return False
    *before, last = statements
    for statement in before:
        if logging_reports and isinstance(statement, (cst.With, cst.If)):
            # `with self._lock: self._pending[key] = time.time()`: book-keeping before the
            # work, which the function does not expect to fail
            if any(isinstance(n, cst.Raise) for n in iter_nodes(statement)):
                return False
            continue
        if not isinstance(statement, cst.SimpleStatementLine):
            return False
        for small in statement.body:
            if isinstance(small, cst.Expr) and isinstance(small.value, (cst.SimpleString, cst.ConcatenatedString)):
                continue  # the docstring
            if not isinstance(small, (cst.Assign, cst.AnnAssign)):
                return False
            if not logging_reports and any(isinstance(n, (cst.Call, cst.Await)) for n in iter_nodes(small)):
                return False
    if not isinstance(last, cst.Try):
        return False
    return any(_reporting_handler(ctx, handler, logging_reports) for handler in last.handlers)


def _reporting_handler(ctx: Context, handler: cst.ExceptHandler, logging_reports: bool = False) -> bool:
    kind = handler.type
    if kind is not None:
        classes = [e.value for e in kind.elements] if isinstance(kind, cst.Tuple) else [kind]
        if not any(ctx.qualified_name(c) in _CATCH_ALL for c in classes):
            return False
    reports = False
    for node in iter_nodes(handler.body, local=True):
        if isinstance(node, cst.Raise):
            return False  # the failure goes on into the dropped task
        if isinstance(node, cst.Expr) and isinstance(node.value, cst.Call) and (
            logging_reports or not _is_log_call(ctx, node.value)
        ):
            reports = True
        if logging_reports and isinstance(node, cst.AssignTarget) and isinstance(
            node.target, (cst.Attribute, cst.Subscript)
        ):
            reports = True  # `self._errors[key] = str(e)`: a status others read
    return reports


def _is_log_call(ctx: Context, call: cst.Call) -> bool:
    func = call.func
    if isinstance(func, cst.Attribute):
        return func.attr.value in _LOG_METHODS
    return isinstance(func, cst.Name) and ctx.qualified_name(func) == "builtins.print"
