"""`analyze`: one parse, one traversal for all enabled rules, then positions, suppressions
and the changed-line filter. Pure apart from reading the clock for the time budget."""

from __future__ import annotations

import ast
import dataclasses
import io
import re
import threading
import time
import tokenize
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import libcst as cst
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from rules.config import RulesConfig
from rules.model import Edit, Finding, Fix, Report, Severity
from rules.rule import FixSpec, Rule
from rules.scope import Scope, collect_scopes
from rules.scope import _bind_params as bind_params
from rules.scope import _bind_target as bind_target
from rules.suppress import suppressions

PARSE_STACK_BYTES = 512 * 1024 * 1024  # libcst's native parser recurses on the C stack
_stack_lock = threading.Lock()
_LINE_BREAK = re.compile(r"\r\n|\r|\n")


class _OverBudget(Exception):
    pass


# Fields that hold only whitespace, punctuation or operators: rules read them from the parent.
_SKIP_FIELDS = {
    "lpar", "rpar", "comma", "semicolon", "colon", "dot", "equal", "star", "leading_lines",
    "lines_after_decorators", "header", "footer", "trailing_whitespace", "operator",
    "lbracket", "rbracket", "lbrace", "rbrace", "newline", "asynchronous", "walrus", "arrow",
    "whitespace_before_colon", "prefix", "start", "end", "quote",
}
_FIELDS: dict[type, tuple[str, ...]] = {}


def _child_fields(kind: type) -> tuple[str, ...]:
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
    for name in _child_fields(type(node)):
        value = getattr(node, name)
        if isinstance(value, cst.CSTNode):
            out.append(value)
        elif type(value) is tuple or type(value) is list:
            out.extend(value)
    return out


@dataclass
class _Pending:
    rule: Rule
    node: cst.CSTNode
    message: str
    fix: FixSpec | None
    severity: Severity


class Context:
    """What a rule may ask while the traversal runs."""

    def __init__(self, module: cst.Module, scopes: dict[cst.CSTNode, Scope]) -> None:
        self.module = module
        self._scopes = scopes
        self.scope: Scope = scopes[module]
        self.ancestors: list[cst.CSTNode] = []  # root first; the current node is not in it
        self.pending: list[_Pending] = []
        self._aliases: dict[str, list[str]] | None = None

    # -- tree ----------------------------------------------------------------------------
    @property
    def parent(self) -> cst.CSTNode | None:
        return self.ancestors[-1] if self.ancestors else None

    def parent_of(self, node: cst.CSTNode) -> cst.CSTNode | None:
        """The parent of `node`, which must be the current node or one of its ancestors."""
        chain = self.ancestors
        for i in range(len(chain) - 1, -1, -1):
            if chain[i] is node:
                return chain[i - 1] if i else None
        return chain[-1] if chain else None

    def enclosing_function(self) -> cst.FunctionDef | cst.Lambda | None:
        for node in reversed(self.ancestors):
            if isinstance(node, (cst.FunctionDef, cst.Lambda)):
                return node
        return None

    # -- names ---------------------------------------------------------------------------
    def qualified_name(self, node: cst.CSTNode) -> str | None:
        """`datetime.datetime.now` for `dt.datetime.now` under `import datetime as dt`, etc.

        None when the leftmost name is not bound to an import (a local, a parameter, a
        rebinding) or the expression is not a dotted name.
        """
        attrs: list[str] = []
        while isinstance(node, cst.Attribute):
            attrs.append(node.attr.value)
            node = node.value
        if not isinstance(node, cst.Name):
            return None
        base = self.scope.resolve(node.value)
        if base is None:
            return None
        if attrs:
            return base + "." + ".".join(reversed(attrs))
        return base

    def _module_aliases(self) -> dict[str, list[str]]:
        """Module -> the top-level names bound only to it (`import datetime as dt`), built
        once per file: fixes ask for every finding."""
        if self._aliases is None:
            self._aliases = {}
            for alias, values in self._scopes[self.module].bindings.items():
                first = values[0]
                if first is not None and all(v == first for v in values):
                    self._aliases.setdefault(first, []).append(alias)
        return self._aliases

    def scope_of(self, node: cst.CSTNode) -> Scope | None:
        return self._scopes.get(node)

    def name_for(self, qualified: str) -> tuple[cst.BaseExpression, tuple[tuple[str, str], ...]]:
        """An expression that denotes `qualified` here, following the file's import style.

        Returns the expression and the imports the fix must add. `datetime.timezone` becomes
        `dt.timezone` under `import datetime as dt`, `timezone` when something is already
        imported `from datetime`, else `timezone` plus a new `from datetime import timezone`.
        """
        module, _, name = qualified.rpartition(".")
        if self.scope.resolve(name) == qualified:
            return cst.Name(name), ()
        for alias in self._module_aliases().get(module, ()):
            if self.scope.resolve(alias) == module:
                return cst.Attribute(cst.Name(alias), cst.Name(name)), ()
        if self.scope.resolve(name) is None or name in self.scope.bindings:
            # the short name means something else here: spell the module out
            return cst.Attribute(cst.Name(module), cst.Name(name)), (("", module),)
        return cst.Name(name), ((module, name),)

    # -- results -------------------------------------------------------------------------
    def report(
        self,
        rule: Rule,
        node: cst.CSTNode,
        message: str,
        fix: FixSpec | None,
        severity: Severity | None = None,
    ) -> None:
        self.pending.append(_Pending(rule, node, message, fix, severity or rule.severity))


def _decode(source: str | bytes) -> str:
    if isinstance(source, str):
        return source
    encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
    text = source.decode(encoding)
    return text[1:] if text.startswith("\ufeff") else text


def _parse(text: str) -> cst.Module:
    """libcst's native parser, on a thread with a large stack so deep code cannot crash it."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["module"] = cst.parse_module(text)
        except BaseException as exc:  # handed back to the caller's thread  # noqa: BLE001
            result["error"] = exc

    with _stack_lock:
        previous = threading.stack_size(PARSE_STACK_BYTES)
        try:
            worker = threading.Thread(target=run, name="reviewgate-parse")
            worker.start()
        finally:
            threading.stack_size(previous)
    worker.join()
    if "error" in result:
        raise result["error"]
    module: cst.Module = result["module"]
    return module


def _notice(path: str, code: str, slug: str, line: int, message: str) -> Report:
    line = max(line, 1)
    return Report(
        path,
        (Finding(code, slug, Severity.NOTICE, path, line, 1, line, 1, message),),
    )


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


def _walk(ctx: Context, module: cst.Module, rules: list[Rule], deadline: float) -> None:
    """Pre-order traversal without recursion and without rebuilding nodes (as libcst's
    visitors do), calling only the handlers registered for each node type."""
    enter, leave = _dispatch(rules)
    ancestors = ctx.ancestors
    scope_stack: list[Scope] = []
    stack: list[Any] = [module]
    count = 0
    child_fields = _child_fields
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
            raise _OverBudget
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
        for name in reversed(child_fields(kind)):
            value = getattr(node, name)
            if isinstance(value, cst.CSTNode):
                stack.append(value)
            elif type(value) is tuple or type(value) is list:
                stack.extend(reversed(value))


_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)
_SCOPE_KINDS = frozenset((cst.FunctionDef, cst.ClassDef, cst.Lambda, *_COMPREHENSIONS))


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
            scoped = _child_fields(type(node))
    for name in reversed(_child_fields(type(node))):
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


def _positions(module: cst.Module) -> dict[cst.CSTNode, CodeRange]:
    wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
    return dict(wrapper.resolve(PositionProvider))


def _edits(
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


def _top_from_imports(module: cst.Module) -> dict[str, cst.ImportFrom]:
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


def analyze(
    source: str | bytes,
    path: str,
    *,
    changed_lines: set[int] | frozenset[int] | None = None,
    config: RulesConfig | None = None,
) -> Report:
    """Analyse one file. Never raises on bad input: it returns an engine notice instead."""
    from rules.catalogue import CATALOGUE

    config = config or RulesConfig()
    size = len(source.encode("utf-8", "surrogatepass") if isinstance(source, str) else source)
    if size > config.max_bytes:
        return _notice(
            path, "RG002", "not-analyzed", 1,
            f"Not analysed: the file is {size:,} bytes, over the limit of {config.max_bytes:,}.",
        )
    try:
        text = _decode(source)
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
        scopes = collect_scopes(module)
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
    except _OverBudget:
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
            from_imports = _top_from_imports(module)
        fix = _edits(module, from_imports or {}, item.fix, positions) if item.fix else None
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


def _too_deep(path: str) -> Report:
    return _notice(
        path, "RG002", "not-analyzed", 1,
        "Not analysed: the code is nested too deeply to parse safely.",
    )
