"""Questions about nodes and their surroundings that need no knowledge of time or storage."""

from __future__ import annotations

import dataclasses

import libcst as cst

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
