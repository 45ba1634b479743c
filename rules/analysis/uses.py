"""How the value of an expression is used: thrown away, kept in a name, read for a part of
it, or examined (tested, compared) somewhere in the function.

The rules about results nobody checks (an HTTP response, a command's exit status) and about
failures a handler records for the caller ask these questions.
"""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from rules.analysis.syntax import child_nodes, iter_nodes
from rules.rule import Context
from rules.scope import target_names


def value_use(ctx: Context, node: cst.BaseExpression) -> tuple[str, cst.CSTNode | None]:
    """How the value of the current expression `node` is used, looking through `await`.

    ("discarded", None): an expression statement of its own. ("assigned", <Name>): the value
    of `x = ...` or `x: T = ...` with one plain-name target (the target is returned).
    ("attribute", <Attribute>): `<node>.attr`. ("other", None): returned, passed, stored...
    """
    chain = ctx.ancestors
    i = len(chain) - 1
    child: cst.CSTNode = node
    if i >= 0 and type(chain[i]) is cst.Await:
        child = chain[i]
        i -= 1
    if i < 0:
        return "other", None
    parent = chain[i]
    if isinstance(parent, cst.Expr):
        return "discarded", None
    if isinstance(parent, cst.Assign) and parent.value is child:
        if len(parent.targets) == 1 and isinstance(parent.targets[0].target, cst.Name):
            return "assigned", parent.targets[0].target
        return "other", None
    if isinstance(parent, cst.AnnAssign) and parent.value is child and isinstance(parent.target, cst.Name):
        return "assigned", parent.target
    if isinstance(parent, cst.Attribute) and parent.value is child:
        return "attribute", parent
    return "other", None


def assigned_from(ctx: Context, attribute: cst.Attribute) -> cst.Name | None:
    """`data` for `attribute`, an ancestor of the current node, in `data = <x>.json()` or
    `data = <x>.text`: the single plain name the attribute (or its call) is assigned to."""
    chain = ctx.ancestors
    i = len(chain) - 1
    while i >= 0 and chain[i] is not attribute:
        i -= 1
    expr: cst.CSTNode = attribute
    call = chain[i - 1] if i >= 1 else None
    if isinstance(call, cst.Call) and call.func is attribute:
        i -= 1
        expr = call
    parent = chain[i - 1] if i >= 1 else None
    if isinstance(parent, cst.Assign) and parent.value is expr and len(parent.targets) == 1:
        target = parent.targets[0].target
        return target if isinstance(target, cst.Name) else None
    return None


def references(root: cst.CSTNode, name: str) -> Iterator[tuple[cst.Name, cst.CSTNode | None]]:
    """Every occurrence of the variable `name` under `root`, with its parent node.

    Attribute names (`x.name`) and keyword names (`f(name=...)`) are not variables and are
    skipped; everything else (reads, bindings, `global name`) is yielded.
    """
    stack: list[tuple[cst.CSTNode, cst.CSTNode | None]] = [(root, None)]
    while stack:
        node, parent = stack.pop()
        if type(node) is cst.Name:
            if node.value == name and not (
                (type(parent) is cst.Attribute and parent.attr is node)
                or (type(parent) is cst.Arg and parent.keyword is node)
            ):
                yield node, parent
            continue
        stack.extend((child, node) for child in reversed(child_nodes(node)))


def reads_only_attributes(
    root: cst.CSTNode, name: str, binding: cst.Name, attributes: frozenset[str]
) -> bool:
    """Every use of `name` under `root`, apart from the `binding` itself, reads one of
    `attributes` (`r.json()`, `r.text`); also true when the name is never used.

    Anything else (returned, passed on, tested, another attribute, rebound...) might check
    the value, so the answer is False: the rules that ask prefer silence to a false alarm.
    """
    for node, parent in references(root, name):
        if node is binding:
            continue
        if not (type(parent) is cst.Attribute and parent.value is node and parent.attr.value in attributes):
            return False
    return True


def in_condition(ctx: Context, node: cst.CSTNode) -> bool:
    """The current `node` is part of a test or a comparison in its statement."""
    child = node
    for ancestor in reversed(ctx.ancestors):
        if isinstance(ancestor, (cst.Comparison, cst.BooleanOperation, cst.IfExp, cst.Assert)):
            return True
        if isinstance(ancestor, cst.UnaryOperation) and isinstance(ancestor.operator, cst.Not):
            return True
        if isinstance(ancestor, (cst.If, cst.While)):
            return ancestor.test is child
        if isinstance(ancestor, (cst.BaseSmallStatement, cst.BaseCompoundStatement)):
            return False
        child = ancestor
    return False


def examined(root: cst.CSTNode, name: str) -> bool:
    """`name`, or a name assigned from it (`data = r.json()`), appears in a test or a
    comparison under `root`: the value is examined there, and may be checked that way
    (an API that reports a failure in its body, a command's output)."""
    names = {name}
    tests: list[cst.CSTNode] = []
    derived: list[tuple[cst.Assign, set[str]]] = []
    for node in iter_nodes(root):
        if isinstance(node, (cst.If, cst.While, cst.IfExp, cst.Assert)):
            tests.append(node.test)
        elif isinstance(node, cst.Comparison):
            tests.append(node)
        elif isinstance(node, cst.Assign):
            derived.append((node, {n for t in node.targets for n in target_names(t.target)}))
    for assign, targets in derived:
        if next(references(assign.value, name), None) is not None:
            names |= targets
    return any(
        isinstance(inner, cst.Name) and inner.value in names
        for test in tests
        for inner in iter_nodes(test)
    )


def names_used_outside(root: cst.CSTNode, excluded: cst.CSTNode, names: set[str]) -> set[str]:
    """Which of `names` are used under `root` outside `excluded`: any occurrence but as the
    plain target of an `=` (`ok = True` before a `try` does not read `ok`)."""
    found: set[str] = set()
    stack: list[cst.CSTNode] = [root]
    while stack:
        node = stack.pop()
        if node is excluded:
            continue
        if isinstance(node, cst.Name) and node.value in names:
            found.add(node.value)
            continue
        if isinstance(node, cst.AssignTarget) and isinstance(node.target, cst.Name):
            continue
        stack.extend(child_nodes(node))
    return found
