"""Questions several rules ask about a node: its arguments, its surroundings, its data flow."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from rules.engine import Context, _child_fields

DATETIME = "datetime.datetime"
DATE = "datetime.date"


def iter_nodes(root: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every node under `root` (itself included), pre-order, without recursion."""
    stack: list[cst.CSTNode] = [root]
    while stack:
        node = stack.pop()
        yield node
        for name in reversed(_child_fields(type(node))):
            value = getattr(node, name)
            if isinstance(value, cst.CSTNode):
                stack.append(value)
            elif type(value) is tuple or type(value) is list:
                stack.extend(reversed(value))


def argument(call: cst.Call, position: int | None, keyword: str | None) -> cst.Arg | None:
    """The argument passed at `position` (if no `*args` precede it) or as `keyword=`."""
    index = 0
    for arg in call.args:
        if arg.keyword is not None:
            if keyword is not None and arg.keyword.value == keyword:
                return arg
            continue
        if arg.star:
            return None if position is not None and index <= position else None
        if position is not None and index == position:
            return arg
        index += 1
    return None


def has_star_args(call: cst.Call) -> bool:
    return any(arg.star for arg in call.args)


def is_none(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def chained_call(ctx: Context, node: cst.CSTNode) -> tuple[str, cst.Call] | None:
    """For `node` being the current node: `("astimezone", <call>)` when the source reads
    `<node>.astimezone(...)`."""
    chain = ctx.ancestors
    if len(chain) < 2:
        return None
    attr, call = chain[-1], chain[-2]
    if (
        isinstance(attr, cst.Attribute)
        and attr.value is node
        and isinstance(call, cst.Call)
        and call.func is attr
    ):
        return attr.attr.value, call
    return None


def is_discarded(ctx: Context) -> bool:
    """The current expression is a statement of its own: its value is thrown away."""
    parent = ctx.parent
    return isinstance(parent, cst.Expr)


def string_value(node: cst.BaseExpression | None) -> str | None:
    """The value of a plain or implicitly concatenated string literal, else None."""
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    if isinstance(node, cst.ConcatenatedString):
        left, right = string_value(node.left), string_value(node.right)
        if left is None or right is None:
            return None
        return left + right
    return None


def utc_expression(ctx: Context) -> tuple[cst.BaseExpression, tuple[tuple[str, str], ...]]:
    """`timezone.utc` spelled the way this file imports things, and the imports it needs."""
    tz, imports = ctx.name_for("datetime.timezone")
    return cst.Attribute(tz, cst.Name("utc")), imports
