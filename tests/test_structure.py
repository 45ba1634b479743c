"""The code's shape: which module may import which, and what importing one does.

The import graph is read from the source (every `import`, including those inside functions
and under `TYPE_CHECKING`: a type-only import still ties two modules together), so a cycle
or an upward import fails here before it confuses a reader. Importing a module must not
build anything: settings and the queue are built by the factories that start a process.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from tests.importgraph import cycles

ROOT = Path(__file__).resolve().parents[1]
MAX_LINES = 600
# Imports inside a function, by module, that are allowed: optional dependencies only.
LAZY_IMPORTS_ALLOWED: dict[str, set[str]] = {}


def _modules(*tops: str) -> dict[str, Path]:
    """Dotted name -> file, for app.py and the packages named."""
    found: dict[str, Path] = {}
    for top in tops:
        path = ROOT / top
        if path.suffix == ".py":
            found[path.stem] = path
            continue
        for file in sorted(path.rglob("*.py")):
            parts = list(file.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = file
    return found


def _imported(name: str, file: Path, tree: ast.AST) -> Iterator[tuple[str, ast.stmt]]:
    """Every module name an import statement of `file` may load (`from a import b`: `a` and `a.b`)."""
    package = name if file.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node
        elif isinstance(node, ast.ImportFrom):
            if node.module == "__future__":
                continue
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            yield module, node
            for alias in node.names:
                yield f"{module}.{alias.name}", node


def _graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the modules of `modules` it imports (and the packages those live in)."""
    edges: dict[str, set[str]] = {name: set() for name in modules}
    for name, file in modules.items():
        tree = ast.parse(file.read_text(), str(file))
        for target, _ in _imported(name, file, tree):
            parts = target.split(".")
            for i in range(1, len(parts) + 1):
                prefix = ".".join(parts[:i])
                if prefix in modules and prefix != name:
                    edges[name].add(prefix)
    return edges




def _nested_imports(file: Path) -> list[tuple[int, str]]:
    """(line, module) of the imports that run inside a function or class body."""
    tree = ast.parse(file.read_text(), str(file))
    out = []

    def walk(node: ast.AST, nested: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = nested or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda)
            if nested and isinstance(child, ast.Import):
                out.extend((child.lineno, a.name) for a in child.names)
            elif nested and isinstance(child, ast.ImportFrom):
                out.append((child.lineno, "." * child.level + (child.module or "")))
            walk(child, inner)

    walk(tree, False)
    return out


BOT = _modules("app.py", "bot")


def test_no_import_cycle_among_the_app_and_the_bot() -> None:
    assert cycles(_graph(BOT)) == []


# The layers of bot/__init__.py's docstring: what each group of modules may import (besides
# its own group). Entry points (app.py, bot.worker, bot.migrate) may import anything.
GROUPS = {
    "base": ("bot.settings", "bot.metrics", "bot.isolation", "bot.env_file"),
    "render": ("bot.render", "bot.report"),
    "store": ("bot.store",),
    "policy": ("bot.policy",),
    "analysis": ("bot.analysis",),
    "github": ("bot.github",),
    "runtime": ("bot.runtime",),
    "web": ("bot.web",),
    "jobs": ("bot.jobs",),
    "entry": ("app", "bot.worker", "bot.replay", "bot.migrate", "bot.__main__"),
    "package": ("bot",),
}
MAY_IMPORT = {
    "package": set(),  # a docstring
    "base": set(),
    "render": {"base"},
    "store": set(),
    "policy": {"render"},
    "analysis": {"store", "base"},
    "github": {"store", "render", "policy", "analysis", "base"},
    "runtime": {"store", "github", "base"},
    "web": {"runtime", "store", "policy", "render", "base"},
    "jobs": {"runtime", "github", "policy", "store", "render", "analysis", "base"},
    "entry": set(GROUPS),
}
QUEUE = "bot.jobs.queue"


def _group(module: str) -> str:
    matches = [
        (len(prefix), group) for group, prefixes in GROUPS.items() for prefix in prefixes
        if module == prefix or module.startswith(prefix + ".")
    ]
    assert matches, f"{module} belongs to no layer: add it to GROUPS"
    return max(matches)[1]


def test_no_module_imports_upward() -> None:
    upward = []
    for module, targets in _graph(BOT).items():
        group = _group(module)
        for target in targets:
            allowed = MAY_IMPORT[group] | {group, "package"}  # `from bot import x` loads bot/__init__
            if _group(target) not in allowed or (target == QUEUE and group != "entry"):
                upward.append(f"{module} -> {target}")
    assert sorted(upward) == []


def test_the_cycle_finder_finds_a_cycle_through_a_function_level_import(tmp_path: Path) -> None:
    # The check above must be able to fail: two modules that import each other, one of
    # them only inside a function and the other only for type checking.
    (tmp_path / "a.py").write_text("def f():\n    from b import g\n")
    (tmp_path / "b.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a\n")
    modules = {"a": tmp_path / "a.py", "b": tmp_path / "b.py"}
    assert cycles(_graph(modules)) == [["a", "b"]]


def test_imports_are_at_the_top_of_each_module() -> None:
    lazy = {}
    for name, file in BOT.items():
        found = [(line, module) for line, module in _nested_imports(file) if module not in LAZY_IMPORTS_ALLOWED.get(name, set())]
        if found:
            lazy[name] = found
    assert lazy == {}


def test_no_module_is_longer_than_a_reader_can_hold() -> None:
    long = {name: n for name, file in BOT.items() if (n := len(file.read_text().splitlines())) > MAX_LINES}
    assert long == {}


def test_rules_never_import_the_bot() -> None:
    rules = _modules("rules")
    offending = sorted(
        (name, target)
        for name, file in rules.items()
        for target, _ in _imported(name, file, ast.parse(file.read_text(), str(file)))
        if target == "bot" or target.startswith("bot.")
    )
    assert offending == []


_IMPORT_ALL = """
import importlib, json, os, sys
for name in json.loads(sys.argv[1]):
    importlib.import_module(name)
print(json.dumps(sorted(os.listdir("."))))
"""


def _import_everything(cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("REVIEWGATE_")}
    clean.update(env, PYTHONPATH=str(ROOT), PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run(
        [sys.executable, "-c", _IMPORT_ALL, json.dumps(sorted(BOT))],
        cwd=cwd, env=clean, capture_output=True, text=True, timeout=120,
    )


def test_importing_a_module_creates_no_file(tmp_path: Path) -> None:
    # With the defaults, a queue or settings built at import would create ./var here.
    done = _import_everything(tmp_path)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []
    assert list(tmp_path.iterdir()) == []


def test_importing_a_module_reads_no_setting(tmp_path: Path) -> None:
    # Settings read at import would fail on these values; built by a factory, they are not read.
    done = _import_everything(tmp_path, REVIEWGATE_PORT="not-a-port", REVIEWGATE_JOB_RETRIES="several")
    assert done.returncode == 0, done.stderr
    assert list(tmp_path.iterdir()) == []
