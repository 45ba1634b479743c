"""The shape of rules/: its import graph, read from the source (imports inside functions and
under `if TYPE_CHECKING:` included), has no cycle and no import of bot/; no module is too
long to read; rules sit in their family folder, named for their code, with short docs."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from rules import CATALOGUE
from tests.importgraph import cycles

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "rules"
MAX_LINES = 600
MAX_SECTION_WORDS = 70  # a few lines: the details go to DETAILS
# Imports allowed inside a function: optional dependencies, imported only where used.
OPTIONAL_DEPENDENCIES: frozenset[str] = frozenset()


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    if not node.level:
        return node.module or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(name: str, path: Path) -> list[tuple[str, ast.stmt]]:
    """(imported module, import statement) for every import in the file, at any depth."""
    out: list[tuple[str, ast.stmt]] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out += [(alias.name, node) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(name, path.name == "__init__.py", node)
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                out.append((sub if sub in MODULES else target, node))  # `from rules import checks`
    return out


def _graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        graph[name] = {target for target, _ in _imports(name, path) if target in MODULES and target != name}
    return graph




def test_the_graph_is_read_from_every_module():
    graph = _graph()
    assert {"rules", "rules.engine", "rules.rule", "rules.catalogue", "rules.analysis.flow"} <= set(graph)
    assert "rules.rule" in graph["rules.engine"]  # guard: edges are found


def test_no_import_cycle_among_the_modules_of_rules():
    assert cycles(_graph()) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_rules_and_analysis_never_import_the_engine():
    graph = _graph()
    for name, targets in graph.items():
        if name.startswith(("rules.checks", "rules.analysis")) or name in ("rules.rule", "rules.scope"):
            assert not {t for t in targets if t.startswith(("rules.engine", "rules.catalogue"))}, name


def test_rules_never_imports_bot():
    for name, path in MODULES.items():
        for target, node in _imports(name, path):
            assert target.split(".")[0] != "bot", f"{path.relative_to(ROOT)}:{node.lineno} imports {target}"


def test_imports_are_at_module_level():
    for path in MODULES.values():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        top = set()
        for node in tree.body:  # module level, and under a module-level `if`/`try`
            top.add(node)
            if isinstance(node, (ast.If, ast.Try)):
                top.update(ast.walk(node))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)) and node not in top:
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else [node.module or ""]
                assert all(n.split(".")[0] in OPTIONAL_DEPENDENCIES for n in names), (
                    f"{path.relative_to(ROOT)}:{node.lineno}: import inside a function or class"
                )


@pytest.mark.parametrize("path", list(MODULES.values()), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_too_long(path):
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines: split it by question"


@pytest.mark.parametrize("rule", CATALOGUE, ids=lambda r: r.code)
def test_a_rule_lives_in_its_family_folder_named_for_its_code(rule):
    family = {"1": "time", "2": "storage"}[rule.code[2]]
    module = f"rules.checks.{family}.{rule.code.lower()}_{rule.slug.replace('-', '_')}"
    assert rule.__module__ == module


@pytest.mark.parametrize("rule", CATALOGUE, ids=lambda r: r.code)
def test_rule_docs_are_short_and_the_details_apart(rule):
    for heading, text in rule.sections().items():
        words = len(text.split())
        assert words <= MAX_SECTION_WORDS, f"{rule.code} '{heading}' has {words} words: move details to DETAILS"
    assert not re.search(r"^(What it flags|Why it is risky|How to fix):$", rule.details(), re.MULTILINE)
