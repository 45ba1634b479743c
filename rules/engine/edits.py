"""Fixes as text: a rule's `FixSpec` (node replacements and imports) turned into `Edit`s once
positions are known, and edits applied to source text."""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from rules.model import Edit, Finding, Fix
from rules.rule import FixSpec


def positions(module: cst.Module) -> dict[cst.CSTNode, CodeRange]:
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    return dict(wrapper.resolve(PositionProvider))


# -- FixSpec -> Fix ------------------------------------------------------------------------


def fix_for(
    module: cst.Module,
    from_imports: dict[str, cst.ImportFrom],
    spec: FixSpec,
    positions: dict[cst.CSTNode, CodeRange],
) -> Fix:
    edits = [
        _edit(positions[old], module.code_for_node(new)) for old, new in spec.replacements
    ]
    edits.extend(_import_edits(module, from_imports, spec.imports, positions))
    edits.sort(key=lambda e: (e.line, e.column))
    return Fix(spec.description, spec.safe, tuple(edits))


def _edit(rng: CodeRange, text: str) -> Edit:
    return Edit(rng.start.line, rng.start.column + 1, rng.end.line, rng.end.column + 1, text)


def _import_edits(
    module: cst.Module,
    from_imports: dict[str, cst.ImportFrom],
    imports: Iterable[tuple[str, str]],
    positions: dict[cst.CSTNode, CodeRange],
) -> list[Edit]:
    edits: list[Edit] = []
    for mod, name in imports:
        if not mod:  # `import datetime` so that `datetime.timezone` can be written
            text = f"import {name}\n"
            target = None
        else:
            text = f"from {mod} import {name}\n"
            target = from_imports.get(mod)
        if target is not None and not isinstance(target.names, cst.ImportStar):
            names = list(target.names)
            last = names[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
            names[-1] = last
            names.append(cst.ImportAlias(cst.Name(name)))
            new = target.with_changes(names=names)
            edits.append(_edit(positions[target], module.code_for_node(new)))
            continue
        line = _import_insert_line(module, positions)
        edits.append(Edit(line, 1, line, 1, text))
    return edits


def top_from_imports(module: cst.Module) -> dict[str, cst.ImportFrom]:
    """The first top-level `from M import a, b` of each module M that a fix can extend."""
    found: dict[str, cst.ImportFrom] = {}
    for stmt in module.body:
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if (
                    isinstance(small, cst.ImportFrom)
                    and not small.relative
                    and small.module is not None
                    and not isinstance(small.names, cst.ImportStar)
                    and small.rpar is None
                ):
                    found.setdefault(module.code_for_node(small.module), small)
    return found


def _import_insert_line(module: cst.Module, positions: dict[cst.CSTNode, CodeRange]) -> int:
    """After the last top-level import of the leading import block (or the docstring)."""
    line = 1
    for i, stmt in enumerate(module.body):
        if not isinstance(stmt, cst.SimpleStatementLine):
            break
        small = stmt.body[0]
        is_doc = i == 0 and isinstance(small, cst.Expr) and isinstance(small.value, cst.SimpleString)
        if is_doc or isinstance(small, (cst.Import, cst.ImportFrom)):
            line = positions[stmt].end.line + 1
        else:
            break
    return line


# -- applying edits --------------------------------------------------------------------------


def _offsets(text: str) -> list[int]:
    starts = [0]
    for i, ch in enumerate(text):
        if ch == "\n":
            starts.append(i + 1)
    return starts


def apply_edits(text: str, edits: Iterable[Edit]) -> str:
    """Apply non-overlapping edits (positions refer to `text`)."""
    starts = _offsets(text)

    def offset(line: int, column: int) -> int:
        if line - 1 >= len(starts):
            return len(text)
        return starts[line - 1] + column - 1

    spans = sorted(
        ((offset(e.line, e.column), offset(e.end_line, e.end_column), e.text) for e in edits),
        reverse=True,
    )
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


def overlaps(a: Edit, b: Edit) -> bool:
    return not ((a.end_line, a.end_column) <= (b.line, b.column) or (b.end_line, b.end_column) <= (a.line, a.column)) or (
        (a.line, a.column) == (b.line, b.column)
    )


def fixable(finding: Finding, unsafe: bool) -> bool:
    return finding.fix is not None and not finding.suppressed and (finding.fix.safe or unsafe)


def remap_lines(lines: set[int], edits: Iterable[Edit]) -> set[int]:
    """Where `lines` are after `edits` (positions before them) are applied.

    A line after an edit moves by the lines the edit adds or removes; a line an edit touches
    becomes every line of the replacement text.
    """
    edits = list(edits)
    out: set[int] = set()
    for line in lines:
        shift = sum(
            e.text.count("\n") - (e.end_line - e.line)
            for e in edits
            if (e.end_line, e.end_column) <= (line, 1)
        )
        new = line + shift
        out.add(new)
        for e in edits:
            if e.line <= line <= e.end_line and (e.end_line, e.end_column) > (line, 1):
                out.update(range(new, new + e.text.count("\n") + 1))
    return out
