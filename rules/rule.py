"""The rule API: the shape every rule has, and what a rule may ask while the traversal runs.

Rules import this module, never the engine: the engine builds a `Context`, hands it to each
rule, walks the tree once, then reads the findings the rules reported into it.
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import libcst as cst

from rules.model import Severity
from rules.scope import Scope


@dataclass(frozen=True)
class Example:
    """An INVALID example: the code, and optionally the whole file after its fix is applied."""

    code: str
    fix: str | None = None
    unsafe: bool = False  # the expected fix is only applied with unsafe fixes enabled
    severity: Severity | None = None  # expected when the rule lowers it for this shape
    # Code run after the module, before and after a safe fix, feeding in naive and aware
    # values: a safe fix must leave it running. Required for every example with a safe fix.
    exercise: str | None = None


@dataclass(frozen=True)
class FixSpec:
    """What a rule proposes; the engine turns it into text edits once positions are known."""

    description: str
    replacements: tuple[tuple[cst.CSTNode, cst.CSTNode], ...]
    safe: bool = True
    imports: tuple[tuple[str, str], ...] = ()  # ("datetime", "timezone") must be importable as written


@dataclass
class PendingFinding:
    """A finding as a rule reports it: positions are resolved afterwards, only if needed."""

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
        self.pending: list[PendingFinding] = []
        self._aliases: dict[str, list[str]] | None = None

    # -- tree ----------------------------------------------------------------------------
    @property
    def parent(self) -> cst.CSTNode | None:
        return self.ancestors[-1] if self.ancestors else None

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

    def called(self, call: cst.Call, attrs: frozenset[str] | tuple[str, ...]) -> str | None:
        """The qualified name of the function `call` calls, looked up only when it can be one
        whose last part is in `attrs`: a bare name always can (`from time import time as t`),
        an attribute only by its name. The cheap test first: this runs for every call.
        """
        func = call.func
        if type(func) is cst.Attribute:  # exact types: cheaper than isinstance on libcst's ABCs
            if func.attr.value not in attrs:
                return None
        elif type(func) is not cst.Name:
            return None
        return self.qualified_name(func)

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

    def names_importing(self, *qualified: str) -> frozenset[str]:
        """Every bare name that some scope of this file binds by importing one of `qualified`.

        A call through any other bare name cannot be one of them, so a rule can skip resolving it.
        """
        wanted = frozenset(qualified)
        return frozenset(
            name
            for scope in self._scopes.values()
            for name, values in scope.bindings.items()
            if not wanted.isdisjoint(values)
        )

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
        self.pending.append(PendingFinding(rule, node, message, fix, severity or rule.severity))


class Rule:
    """One check. Subclasses define `visit_<Node>` / `leave_<Node>` methods taking the node.

    A fresh instance is made for every file, so per-file state may live on `self`.

    The docstring is what a user reads (`/gate explain`, SARIF help): a summary line, then
    "What it flags:", "Why it is risky:" and "How to fix:", a few lines each. `DETAILS`
    holds the precise heuristics (what counts, what is deliberately left alone, how the
    severity is chosen), which the rule catalogue in docs/rules.md adds under each rule.
    """

    code: ClassVar[str]
    slug: ClassVar[str]
    severity: ClassVar[Severity]
    ruff_codes: ClassVar[tuple[str, ...]] = ()  # ruff's codes for the same check (noqa aliases)
    DETAILS: ClassVar[str] = ""  # Markdown
    VALID: ClassVar[Sequence[str]] = ()
    INVALID: ClassVar[Sequence[Example | str]] = ()

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def report(
        self,
        node: cst.CSTNode,
        message: str,
        fix: FixSpec | None = None,
        *,
        severity: Severity | None = None,
    ) -> None:
        """Record a finding on `node`. `severity` lowers (never raises) the rule's own for
        this finding, where the rule can tell that this occurrence is the benign shape."""
        self.ctx.report(self, node, message, fix, severity)

    def finish(self) -> None:
        """Called once after the traversal, for rules that decide on whole-function facts."""

    @classmethod
    def doc(cls) -> str:
        return textwrap.dedent(inspect.getdoc(cls) or "").strip()

    @classmethod
    def summary(cls) -> str:
        return cls.doc().splitlines()[0] if cls.doc() else cls.slug

    @classmethod
    def sections(cls) -> dict[str, str]:
        """The docstring's three parts: "What it flags", "Why it is risky", "How to fix"."""
        out: dict[str, str] = {}
        current = None
        for line in cls.doc().splitlines():
            heading = line.rstrip(":").strip()
            if heading in ("What it flags", "Why it is risky", "How to fix") and line.endswith(":"):
                current = heading
                out[current] = ""
            elif current:
                out[current] += line + "\n"
        return {k: v.strip() for k, v in out.items()}

    @classmethod
    def details(cls) -> str:
        """`DETAILS` without its indentation; "" when the sections say it all."""
        return inspect.cleandoc(cls.DETAILS) if cls.DETAILS.strip() else ""

    @classmethod
    def docs_anchor(cls) -> str:
        return f"{cls.code.lower()}-{cls.slug}"
