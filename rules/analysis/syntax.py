"""Questions about nodes and their surroundings that need no knowledge of time or storage."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import libcst as cst

from rules.rule import Context
from rules.scope import NESTED_SCOPES

# Fields that hold only whitespace, punctuation or operators: rules read them from the parent.
_SKIP_FIELDS = {
    "lpar", "rpar", "comma", "semicolon", "colon", "dot", "equal", "star", "leading_lines",
    "lines_after_decorators", "header", "footer", "trailing_whitespace", "operator",
    "lbracket", "rbracket", "lbrace", "rbrace", "newline", "asynchronous", "walrus", "arrow",
    "whitespace_before_colon", "prefix", "start", "end", "quote",
}
_FIELDS: dict[type, tuple[str, ...]] = {}


def child_fields(kind: type) -> tuple[str, ...]:
    """The fields of a node class that may hold child nodes, in source order (cached)."""
    names = _FIELDS.get(kind)
    if names is None:
        names = tuple(
            f.name
            for f in dataclasses.fields(kind)
            if f.name not in _SKIP_FIELDS and not f.name.startswith("whitespace")
        )
        if "decorators" in names:  # decorators come first in the source
            names = ("decorators", *(n for n in names if n != "decorators"))
        _FIELDS[kind] = names
    return names


def child_nodes(node: cst.CSTNode) -> list[cst.CSTNode]:
    """The children a rule may care about, in source order (whitespace and punctuation skipped)."""
    out: list[cst.CSTNode] = []
    for name in child_fields(type(node)):
        value = getattr(node, name)
        if isinstance(value, cst.CSTNode):
            out.append(value)
        elif type(value) is tuple or type(value) is list:
            out.extend(value)
    return out


def iter_nodes(root: cst.CSTNode, *, local: bool = False) -> Iterator[cst.CSTNode]:
    """Every node under `root` (itself included), pre-order, without recursion.

    `local=True` does not enter nested defs, classes and lambdas (their bodies do not run
    where they are written); the nested node itself is yielded.
    """
    stack: list[cst.CSTNode] = [root]
    while stack:
        node = stack.pop()
        yield node
        if local and node is not root and isinstance(node, NESTED_SCOPES):
            continue
        stack.extend(reversed(child_nodes(node)))


# -- calls and literals ----------------------------------------------------------------------

# The methods of a `logging.Logger` (and of loguru and structlog loggers) that write a line.
LOG_METHODS = frozenset(
    {"debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "log"}
)


def callee_name(call: cst.Call) -> str:
    """The name a call is made through, without resolving it: `now` for `dt.datetime.now()`
    and for `now()`; "" when the callee is not a name (`f()()`, `fs[0]()`)."""
    func = call.func
    if type(func) is cst.Attribute:  # exact types: cheaper than isinstance on libcst's ABCs
        return func.attr.value
    return func.value if type(func) is cst.Name else ""


def argument(call: cst.Call, position: int | None, keyword: str | None) -> cst.Arg | None:
    """The argument passed as `keyword=` (found even after `*args`: `f(*parts, tz=x)`), or
    at `position` when no `*args` precede it."""
    index = 0
    positional_known = True
    for arg in call.args:
        if arg.keyword is not None:
            if keyword is not None and arg.keyword.value == keyword:
                return arg
        elif arg.star:
            positional_known = False
        else:
            if positional_known and position is not None and index == position:
                return arg
            index += 1
    return None


def is_none(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def literal_value(node: cst.BaseExpression | None) -> str | bytes | None:
    """The value of a plain string or bytes literal; None for anything else, including a
    literal CPython would reject (`b"é"`), which libcst parses but cannot evaluate."""
    if not isinstance(node, cst.SimpleString):
        return None
    try:
        value = node.evaluated_value
    except (SyntaxError, ValueError, MemoryError):
        return None
    return value if isinstance(value, (str, bytes)) else None


def string_value(node: cst.BaseExpression | None) -> str | None:
    """The value of a plain or implicitly concatenated string literal, else None."""
    if isinstance(node, cst.ConcatenatedString):
        left, right = string_value(node.left), string_value(node.right)
        if left is None or right is None:
            return None
        return left + right
    value = literal_value(node)
    return value if isinstance(value, str) else None


# -- where the current node stands -----------------------------------------------------------


def chained_methods(ctx: Context, node: cst.CSTNode) -> Iterator[tuple[str, cst.Call]]:
    """For `node` being the current node: the methods called directly on its value, in order.

    `<node>.replace(...).astimezone()` yields `("replace", <call>)`, then `("astimezone", <call>)`.
    """
    chain = ctx.ancestors
    current = node
    i = len(chain) - 1
    while i >= 1:
        attr, call = chain[i], chain[i - 1]
        if not (
            isinstance(attr, cst.Attribute)
            and attr.value is current
            and isinstance(call, cst.Call)
            and call.func is attr
        ):
            return
        yield attr.attr.value, call
        current = call
        i -= 2


def is_discarded(ctx: Context) -> bool:
    """The current expression is a statement of its own: its value is thrown away."""
    parent = ctx.parent
    return isinstance(parent, cst.Expr)
