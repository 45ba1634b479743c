"""`analyze`: one parse, one traversal for all enabled rules, then positions, suppressions
and the changed-line filter. Pure apart from reading the clock for the time budget.

`fix_source` applies the fixes `analyze` proposes, as `python -m rules --fix` does.
"""

from __future__ import annotations

import ast
import re
import time

import libcst as cst

from rules.catalogue import CATALOGUE
from rules.config import RulesConfig
from rules.engine.edits import (
    apply_edits,
    fix_for,
    fixable,
    overlaps,
    positions,
    remap_lines,
    top_from_imports,
)
from rules.engine.parse import PARSE_STACK_BYTES, decode, parse_module
from rules.engine.walk import OverBudget, walk
from rules.model import Edit, Finding, Report, Severity
from rules.rule import Context
from rules.scope import collect_scopes
from rules.suppress import suppressions

# bench/analyze.py times the phases by wrapping these names of this module (and `ast`):
# `analyze` calls them through it.
_parse = parse_module
_walk = walk
_positions = positions

__all__ = ["PARSE_STACK_BYTES", "analyze", "fix_source"]

_LINE_BREAK = re.compile(r"\r\n|\r|\n")
MAX_PASSES = 10  # like ruff: re-analyse after each round, since fixes may share an import line


def _notice(path: str, code: str, slug: str, line: int, message: str) -> Report:
    line = max(line, 1)
    return Report(
        path,
        (Finding(code, slug, Severity.NOTICE, path, line, 1, line, 1, message),),
    )


def _too_deep(path: str) -> Report:
    return _notice(
        path, "RG002", "not-analyzed", 1,
        "Not analysed: the code is nested too deeply to parse safely.",
    )


def analyze(
    source: str | bytes,
    path: str,
    *,
    changed_lines: set[int] | frozenset[int] | None = None,
    config: RulesConfig | None = None,
) -> Report:
    """Analyse one file. Never raises on bad input: it returns an engine notice instead."""
    config = config or RulesConfig()
    size = len(source.encode("utf-8", "surrogatepass") if isinstance(source, str) else source)
    if size > config.max_bytes:
        return _notice(
            path, "RG002", "not-analyzed", 1,
            f"Not analysed: the file is {size:,} bytes, over the limit of {config.max_bytes:,}.",
        )
    try:
        text = decode(source)
    except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
        return _notice(path, "RG001", "parse-error", 1, f"Could not decode the file: {exc}.")
    start = time.monotonic()
    deadline = start + config.timeout_seconds
    # CPython's own parser first: it is ~10x faster than libcst's and refuses the nesting
    # that would exhaust libcst's stack; a SyntaxError here may still be newer syntax.
    cpython_error: SyntaxError | None = None
    try:
        ast.parse(text)
    except (RecursionError, MemoryError):
        return _too_deep(path)
    except SyntaxError as exc:
        if "too many nested" in str(exc.msg) or "too complex" in str(exc.msg):
            return _too_deep(path)
        cpython_error = exc
    except ValueError as exc:  # null bytes
        return _notice(path, "RG001", "parse-error", 1, f"Could not parse the file: {exc}.")
    try:
        module = _parse(text)
    except cst.ParserSyntaxError as exc:
        if cpython_error is not None and cpython_error.lineno:
            return _notice(
                path, "RG001", "parse-error", cpython_error.lineno,
                f"Could not parse the file: {cpython_error.msg} (line {cpython_error.lineno}).",
            )
        return _notice(path, "RG001", "parse-error", exc.raw_line, f"Could not parse the file: {exc.message} (line {exc.raw_line}).")
    except (RecursionError, MemoryError):
        return _too_deep(path)
    except Exception as exc:  # the parser's own failures are notices, not crashes  # noqa: BLE001
        return _notice(path, "RG001", "parse-error", 1, f"Could not parse the file: {exc}.")
    try:
        scopes = collect_scopes(module, walrus=":=" in text)
        ctx = Context(module, scopes)
        rules = [cls(ctx) for cls in CATALOGUE if config.enabled(cls.code)]
        _walk(ctx, module, rules, deadline)
        for rule in rules:
            rule.finish()
        if not ctx.pending:
            return Report(path)
        positions = _positions(module)
    except RecursionError:
        return _too_deep(path)
    except OverBudget:
        return _notice(
            path, "RG002", "not-analyzed", 1,
            f"Not analysed: over the time limit of {config.timeout_seconds:g} s.",
        )
    # Python's own line breaks only: str.splitlines also splits at \f, \x1c, \u2028...,
    # which would misalign the lines with the parser's line numbers
    lines = _LINE_BREAK.split(text)
    silenced = suppressions(positions, lines)
    findings: list[Finding] = []
    seen: set[tuple[str, int, int]] = set()
    from_imports: dict[str, cst.ImportFrom] | None = None  # built at the first fix
    for item in ctx.pending:
        rule = item.rule
        rng = positions[item.node]
        line = rng.start.line
        key = (rule.code, line, rng.start.column)
        if key in seen:
            continue
        seen.add(key)
        if changed_lines is not None and line not in changed_lines:
            continue
        codes = silenced.get(line, frozenset())
        suppressed = rule.code in codes or any(c in codes for c in rule.ruff_codes)
        if item.fix and from_imports is None:
            from_imports = top_from_imports(module)
        fix = fix_for(module, from_imports or {}, item.fix, positions) if item.fix else None
        findings.append(
            Finding(
                code=rule.code,
                slug=rule.slug,
                severity=config.severity_of(rule.code, item.severity),
                path=path,
                line=line,
                column=rng.start.column + 1,
                end_line=rng.end.line,
                end_column=rng.end.column + 1,
                message=item.message,
                fix=fix,
                suppressed=suppressed,
            )
        )
    findings.sort(key=lambda f: (f.line, f.column, f.code))
    return Report(path, tuple(findings))


def fix_source(
    text: str,
    path: str,
    *,
    config: RulesConfig | None = None,
    unsafe: bool = False,
    codes: set[str] | None = None,
    changed_lines: set[int] | frozenset[int] | None = None,
) -> tuple[str, int]:
    """Apply every applicable fix; returns the new text and how many fixes were applied.

    With `changed_lines`, only findings on those lines are fixed (`--fix --diff`), the lines
    being followed through each round of edits.
    """
    applied = 0
    lines = None if changed_lines is None else set(changed_lines)
    for _ in range(MAX_PASSES):
        report = analyze(text, path, config=config, changed_lines=lines)
        chosen: list[Edit] = []
        for finding in report.findings:
            if not fixable(finding, unsafe) or (codes is not None and finding.code not in codes):
                continue
            assert finding.fix is not None
            if any(overlaps(e, c) for e in finding.fix.edits for c in chosen):
                continue
            chosen.extend(finding.fix.edits)
            applied += 1
        if not chosen:
            break
        text = apply_edits(text, chosen)
        if lines is not None:
            lines = remap_lines(lines, chosen)
    return text, applied
