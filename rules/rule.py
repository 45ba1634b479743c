"""The shape every rule has, and what a rule may ask of the engine while it runs."""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import libcst as cst

from rules.model import Severity

if TYPE_CHECKING:
    from rules.engine import Context


@dataclass(frozen=True)
class Example:
    """An INVALID example: the code, and optionally the whole file after its fix is applied."""

    code: str
    fix: str | None = None
    unsafe: bool = False  # the expected fix is only applied with unsafe fixes enabled
    severity: Severity | None = None  # expected when the rule lowers it for this shape


@dataclass(frozen=True)
class FixSpec:
    """What a rule proposes; the engine turns it into text edits once positions are known."""

    description: str
    replacements: tuple[tuple[cst.CSTNode, cst.CSTNode], ...]
    safe: bool = True
    imports: tuple[tuple[str, str], ...] = ()  # ("datetime", "timezone") must be importable as written


class Rule:
    """One check. Subclasses define `visit_<Node>` / `leave_<Node>` methods taking the node.

    A fresh instance is made for every file, so per-file state may live on `self`.
    """

    code: ClassVar[str]
    slug: ClassVar[str]
    severity: ClassVar[Severity]
    ruff_codes: ClassVar[tuple[str, ...]] = ()  # ruff's codes for the same check (noqa aliases)
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
    def docs_anchor(cls) -> str:
        return f"{cls.code.lower()}-{cls.slug}"
