"""One walk over a function, class or module for the naive-datetime verdicts
(rules/analysis/naive_uses.py): parents, variable uses and bindings, and the uses and
assignments of `self.<attr>`."""

from __future__ import annotations

import libcst as cst

from rules.analysis.syntax import child_nodes
from rules.scope import NESTED_SCOPES, target_names

_NOT_USES = (
    cst.Param, cst.AssignTarget, cst.FunctionDef, cst.ClassDef, cst.ImportAlias, cst.NameItem,
    cst.AsName,
)


def self_attribute_name(node: cst.CSTNode) -> str | None:
    if (
        isinstance(node, cst.Attribute)
        and isinstance(node.value, cst.Name)
        and node.value.value in ("self", "cls")
    ):
        return node.attr.value
    return None


class UnitIndex:
    """One walk over a function, class or module: parents, variable uses and bindings, and
    the uses and assignments of `self.<attr>`."""

    def __init__(self, root: cst.CSTNode) -> None:
        self.parent: dict[cst.CSTNode, cst.CSTNode] = {}
        self.names: dict[str, list[cst.Name]] = {}
        self.values: dict[str, list[cst.BaseExpression | None]] = {}  # None: bound otherwise
        self.attrs: dict[str, list[cst.Attribute]] = {}
        self.attr_values: dict[str, list[cst.BaseExpression]] = {}
        stack: list[tuple[cst.CSTNode, cst.CSTNode | None]] = [(root, None)]
        while stack:
            node, parent = stack.pop()
            if parent is not None:
                self.parent[node] = parent
            if isinstance(node, cst.Name):
                if not (
                    isinstance(parent, _NOT_USES)
                    or (isinstance(parent, cst.Attribute) and parent.attr is node)
                    or (isinstance(parent, cst.Arg) and parent.keyword is node)
                ):
                    self.names.setdefault(node.value, []).append(node)
                continue
            if isinstance(node, cst.Attribute):
                attr = self_attribute_name(node)
                if attr is not None:
                    self.attrs.setdefault(attr, []).append(node)
            elif isinstance(node, cst.Assign):
                for target in node.targets:
                    self._bind(target.target, node.value)
            elif isinstance(node, (cst.AnnAssign, cst.NamedExpr)):
                self._bind(node.target, node.value)
            elif isinstance(node, (cst.AugAssign, cst.For, cst.CompFor)):
                self._bind(node.target, None)
            elif isinstance(node, cst.Param):
                self.values.setdefault(node.name.value, []).append(None)
            elif isinstance(node, cst.AsName) and isinstance(node.name, cst.Name):
                self._bind(node.name, None)
            stack.extend((child, node) for child in reversed(child_nodes(node)))

    def _bind(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        if isinstance(target, cst.Name):
            self.values.setdefault(target.value, []).append(value)
            return
        attr = self_attribute_name(target)
        if attr is not None:
            if value is not None:
                self.attr_values.setdefault(attr, []).append(value)
            return
        for name in target_names(target):
            self.values.setdefault(name, []).append(None)


def owner_of(node: cst.CSTNode, parents: dict[cst.CSTNode, cst.CSTNode]) -> cst.CSTNode | None:
    """The function, lambda or class whose body holds `node` (None: the module)."""
    current = parents.get(node)
    while current is not None and not isinstance(current, NESTED_SCOPES):
        current = parents.get(current)
    return current
