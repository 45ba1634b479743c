"""Which files the command line checks, and with which configuration.

A directory is walked for `*.py` files, skipping tool directories, virtualenvs, what
`.gitignore` files ignore (as git reads them: every `.gitignore` from the repository root
down, plus `.git/info/exclude`) and the configuration's `paths.exclude`. A file named
explicitly is checked whatever its name or place; only `paths.include/exclude` can skip it.

The configuration is `.github/reviewgate.yml` at the repository root or, instead,
`[tool.reviewgate]` in `pyproject.toml`; either is validated by the gate's own parser.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

import pathspec

from rules.config import (
    CONFIG_PATH,
    MAX_ENTRIES,
    MAX_NESTING,
    MAX_VALUE_CHARS,
    ConfigError,
    Document,
    RulesConfig,
    load_document,
)
from rules.gate_config import gate_config_from_document

# Never descended into when walking a directory (a file named explicitly is still read).
SKIP_DIRS = frozenset(
    {".git", ".hg", ".svn", ".venv", ".tox", ".nox", "__pycache__", ".mypy_cache",
     ".ruff_cache", ".pytest_cache", "node_modules"}
)
PYPROJECT = "pyproject.toml"
PYPROJECT_TABLE = "tool.reviewgate"
# pyproject.toml holds other tools' settings too: a larger file than ours, still bounded.
MAX_PYPROJECT_BYTES = 1024 * 1024


class UsageError(Exception):
    """A problem with the command line or the environment: exit status 2."""


@dataclass(frozen=True)
class Target:
    display: str  # the path as shown in the output and passed to the engine
    path: Path  # absolute, resolved

    def uri(self, root: Path) -> str:
        """Repository-relative (what code scanning and annotations expect), else absolute."""
        try:
            return quote(self.path.relative_to(root).as_posix())
        except ValueError:
            return self.path.as_uri()

    def relative(self, root: Path) -> str:
        try:
            return self.path.relative_to(root).as_posix()
        except ValueError:
            return self.display


def find_root(start: Path) -> Path:
    """The git work tree containing `start` (a `.git` directory or file), else `start`."""
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return start


def shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)


# -- configuration ---------------------------------------------------------------------------


def load_config(option: str | None, root: Path) -> RulesConfig:
    """The engine's part of the configuration, after validating the whole file as the bot does."""
    if option is not None:
        path = Path(option)
        if not path.is_file():
            raise UsageError(f"configuration file not found: {option}")
        doc = _pyproject(path, option) if path.name.endswith(".toml") else _yaml(path, option)
        if doc is None:
            raise ConfigError(option, None, f"no [{PYPROJECT_TABLE}] table")
    else:
        yaml_path, toml_path = root / CONFIG_PATH, root / PYPROJECT
        from_toml = _pyproject(toml_path, shown(toml_path)) if toml_path.is_file() else None
        if yaml_path.is_file():
            if from_toml is not None:
                raise ConfigError(
                    shown(toml_path), None,
                    f"[{PYPROJECT_TABLE}] and {CONFIG_PATH} both configure reviewgate: keep one",
                )
            doc = _yaml(yaml_path, shown(yaml_path))
        elif from_toml is not None:
            doc = from_toml
        else:
            return RulesConfig()
    return gate_config_from_document(doc).rules


def _read(path: Path, name: str) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(name, None, f"cannot read the file: {exc}") from None


def _yaml(path: Path, name: str) -> Document:
    return load_document(_read(path, name), name)


def _pyproject(path: Path, name: str) -> Document | None:
    """The `[tool.reviewgate]` table as a document (TOML gives no line numbers), or None."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ConfigError(name, None, f"cannot read the file: {exc}") from None
    if size > MAX_PYPROJECT_BYTES:
        raise ConfigError(name, None, f"the file is {size:,} bytes; the limit is {MAX_PYPROJECT_BYTES:,}")
    try:
        data = tomllib.loads(_read(path, name))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(name, None, f"invalid TOML: {exc}") from None
    table: Any = data.get("tool", {}).get("reviewgate")
    if table is None:
        return None
    where = f"{name} [{PYPROJECT_TABLE}]"
    if not isinstance(table, dict):
        raise ConfigError(where, None, f"`{PYPROJECT_TABLE}` must be a table of sections")
    problem = _out_of_bounds(table, 0)
    if problem:
        raise ConfigError(where, None, problem)
    return Document(where, table, {})


def _out_of_bounds(value: Any, depth: int) -> str | None:
    """The YAML file's bounds, applied to the TOML table."""
    if depth > MAX_NESTING:
        return f"nested more than {MAX_NESTING} levels deep"
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        return f"a value longer than {MAX_VALUE_CHARS} characters"
    if isinstance(value, dict | list):
        if len(value) > MAX_ENTRIES:
            return f"a list or table with more than {MAX_ENTRIES} entries"
        items = [*value.keys(), *value.values()] if isinstance(value, dict) else value
        for item in items:
            problem = _out_of_bounds(item, depth + 1)
            if problem:
                return problem
    return None


# -- files -----------------------------------------------------------------------------------


class GitIgnore:
    """The `.gitignore` files that apply below `root`, read once each, as git reads them:
    a deeper file's patterns override a shallower one's, `!` re-includes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.specs: dict[Path, pathspec.GitIgnoreSpec | None] = {}
        exclude = root / ".git" / "info" / "exclude"
        self.info = self._spec(exclude) if exclude.is_file() else None

    @staticmethod
    def _spec(file: Path) -> pathspec.GitIgnoreSpec | None:
        try:
            lines = file.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
        except OSError:
            return None
        return pathspec.GitIgnoreSpec.from_lines(lines)

    def _at(self, directory: Path) -> pathspec.GitIgnoreSpec | None:
        if directory not in self.specs:
            file = directory / ".gitignore"
            self.specs[directory] = self._spec(file) if file.is_file() else None
        return self.specs[directory]

    def ignored(self, path: Path, is_dir: bool) -> bool:
        try:
            rel = path.relative_to(self.root)
        except ValueError:
            return False  # outside the repository: no .gitignore of ours applies
        verdict: bool | None = None
        candidates = [(self.root, self.info)] + [
            (self.root.joinpath(*rel.parts[:i]), None) for i in range(len(rel.parts))
        ]
        for base, spec in candidates:
            spec = spec or self._at(base)
            if spec is None:
                continue
            sub = path.relative_to(base).as_posix() + ("/" if is_dir else "")
            include = spec.check_file(sub).include
            if include is not None:
                verdict = include
        return bool(verdict)


def discover(
    paths: Iterable[str], root: Path, config: RulesConfig, err: TextIO, gitignore: bool = True
) -> list[Target]:
    found: dict[Path, Target] = {}
    ignore = GitIgnore(root) if gitignore else None
    for given in paths:
        start = Path(given)
        if start.is_dir():
            if ignore is not None and ignore.ignored(start.resolve(), True):
                # as for git, everything below an ignored directory is ignored: say so
                err.write(f"reviewgate: skipped {given}: ignored by .gitignore (--no-respect-gitignore)\n")
                continue
            for target in _walk(start, root, config, ignore):
                found.setdefault(target.path, target)
        elif start.is_file():
            target = Target(os.path.normpath(given), start.resolve())
            if not config.wants_path(target.relative(root)):
                err.write(
                    f"reviewgate: skipped {target.display}: excluded by the paths section of "
                    f"the configuration\n"
                )
                continue
            found.setdefault(target.path, target)
        else:
            raise UsageError(f"no such file or directory: {given}")
    return list(found.values())


def _walk(start: Path, root: Path, config: RulesConfig, ignore: GitIgnore | None) -> Iterator[Target]:
    excluded_dirs = RulesConfig(exclude=config.exclude, vendored=config.vendored)
    for directory, dirnames, filenames in os.walk(start):
        here = Path(directory)
        kept = []
        for name in sorted(dirnames):
            sub = here / name
            if name in SKIP_DIRS or (sub / "pyvenv.cfg").exists():
                continue  # a virtualenv under any name
            resolved = sub.resolve()
            rel = Target(str(sub), resolved).relative(root)
            if not excluded_dirs.wants_path(rel + "/"):
                continue
            if ignore is not None and ignore.ignored(resolved, True):
                continue
            kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            if not name.endswith(".py"):
                continue
            path = here / name
            target = Target(os.path.normpath(path), path.resolve())
            if ignore is not None and ignore.ignored(target.path, False):
                continue
            if config.wants_path(target.relative(root)):
                yield target
