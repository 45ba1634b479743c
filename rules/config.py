"""The `rules:` and `paths:` sections of `.github/reviewgate.yml`, validated with line numbers.

The bot reads the same file for its own sections; `load_document` is shared so that every
error, whoever finds it, names the file, the line and the problem.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

from rules.model import Severity

CONFIG_PATH = ".github/reviewgate.yml"
# Bounds on the file itself, whichever section a value is in (the bot's sections have
# tighter ones): a configuration is a page of settings, and reading it must cost nothing.
MAX_CONFIG_BYTES = 64 * 1024
MAX_NESTING = 20
MAX_ENTRIES = 500  # of one list or mapping
MAX_VALUE_CHARS = 500  # of one key or value: a glob, a login, a rule code
DEFAULT_MAX_BYTES = 1024 * 1024
# Third-party code copied into a project: its findings are its authors' to fix, not the
# project's (a vendored dateutil's naive `dtstart` defaults). `paths.vendored` replaces it.
DEFAULT_VENDORED = ("**/_vendored/", "**/vendored/", "**/_vendor/", "**/vendor/")
DEFAULT_TIMEOUT_SECONDS = 10.0
# Sections the rest of the product owns; the rules only check that they are mappings or lists.
OTHER_SECTIONS = {"approvals", "owners", "findings", "comment", "suggestions", "bots", "reviewers", "extends", "locked"}


class ConfigError(ValueError):
    def __init__(self, filename: str, line: int | None, problem: str) -> None:
        self.filename, self.line, self.problem = filename, line, problem
        where = f"{filename}:{line}" if line else filename
        super().__init__(f"{where}: {problem}")


@dataclass(frozen=True)
class Document:
    """A parsed YAML mapping and the line of every key path in it."""

    filename: str
    data: dict[str, Any]
    lines: dict[tuple[Any, ...], int]

    def line(self, *path: Any) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        # a document without positions (TOML's table) names no line rather than a wrong one
        return self.lines.get((), 1) if self.lines else None

    def error(self, path: tuple[Any, ...], problem: str) -> ConfigError:
        return ConfigError(self.filename, self.line(*path), problem)


def _lines(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            sub = (*path, key.value)
            _lines(value, sub, out)
            out[sub] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _lines(item, (*path, i), out)


class _Refused(yaml.YAMLError):
    def __init__(self, mark: Any, problem: str) -> None:
        super().__init__(problem)
        self.mark, self.problem = mark, problem


class _BoundedLoader(yaml.SafeLoader):
    """PyYAML's safe loader without anchors and aliases, within the bounds above.

    An alias is a pointer, so a few bytes can name millions of values: nine aliases of a
    nine-item list, seven levels deep, are 322 bytes that build 4.8 million strings (and
    the line map would walk every copy). No setting needs one, so any is refused.
    """

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise _Refused(event.start_mark, "anchors and aliases are not allowed")
        if isinstance(event, yaml.ScalarEvent) and len(event.value) > MAX_VALUE_CHARS:
            raise _Refused(event.start_mark, f"a value longer than {MAX_VALUE_CHARS} characters")
        if isinstance(parent, yaml.SequenceNode) and index >= MAX_ENTRIES:
            raise _Refused(event.start_mark, f"a list with more than {MAX_ENTRIES} entries")
        if isinstance(parent, yaml.MappingNode) and index is None and len(parent.value) >= MAX_ENTRIES:
            raise _Refused(event.start_mark, f"a mapping with more than {MAX_ENTRIES} keys")
        if self.depth >= MAX_NESTING:
            raise _Refused(event.start_mark, f"nested more than {MAX_NESTING} levels deep")
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1


def _parse(text: str) -> tuple[Any, yaml.Node | None]:
    """The data and the node tree of one YAML document, parsed once, within the bounds."""
    loader = _BoundedLoader(text)
    try:
        node = loader.get_single_node()
        return (loader.construct_document(node) if node is not None else None), node
    finally:
        loader.dispose()


def check_size(size: int, filename: str = CONFIG_PATH) -> None:
    """Refuse a configuration file over the limit, before it is read or parsed."""
    if size > MAX_CONFIG_BYTES:
        raise ConfigError(filename, None, f"the file is {size:,} bytes; the limit is {MAX_CONFIG_BYTES:,}")


def load_document(text: str, filename: str = CONFIG_PATH) -> Document:
    """Parse YAML text; an empty file is an empty mapping."""
    check_size(len(text.encode("utf-8", "replace")), filename)
    try:
        data, node = _parse(text)
    except _Refused as exc:
        raise ConfigError(filename, exc.mark.line + 1, exc.problem) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(filename, mark.line + 1 if mark else None, f"invalid YAML: {problem}") from None
    if data is None:
        return Document(filename, {}, {})
    if not isinstance(data, dict):
        raise ConfigError(filename, 1, "the file must be a mapping of sections")
    lines: dict[tuple[Any, ...], int] = {}
    if node is not None:
        _lines(node, (), lines)
    return Document(filename, data, lines)


def _code_list(doc: Document, path: tuple[str, ...], value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise doc.error(path, f"`{'.'.join(path)}` must be a list of rule codes or prefixes")
    for i, code in enumerate(value):
        if not code.upper().startswith("RG"):
            raise doc.error((*path, i), f"`{code}` is not a rule code or prefix (RG...)")
    return tuple(v.upper() for v in value)


def _glob_list(doc: Document, path: tuple[str, ...], value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise doc.error(path, f"`{'.'.join(path)}` must be a list of glob patterns")
    return tuple(value)


def _matches(code: str, patterns: Iterable[str]) -> bool:
    return any(code.startswith(p) for p in patterns)


def glob_match(path: str, pattern: str) -> bool:
    """Whether a repository path matches a glob of the configuration (`paths:` and `owners:`).

    The one reading of globs, for the engine and the gate alike: paths and patterns are
    relative to the repository root (a leading `./` or `/` anchors nothing more), `\\` in a
    path is `/`, fnmatch's `*` crosses `/`, `dir/` means everything under `dir`, and `**/`
    also matches no folder at all, as in .gitignore-like tools.
    """
    path = path.replace("\\", "/").removeprefix("./")
    pattern = pattern.removeprefix("./").removeprefix("/")
    if pattern.endswith("/"):
        pattern += "**"
    return fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path, pattern.replace("**/", ""))


@dataclass(frozen=True)
class RulesConfig:
    select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severity: Mapping[str, Severity] = field(default_factory=dict)
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    vendored: tuple[str, ...] = DEFAULT_VENDORED
    max_bytes: int = DEFAULT_MAX_BYTES
    timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS

    def enabled(self, code: str) -> bool:
        """`select` empty means all rules; `ignore` wins over `select`; `severity: off` disables."""
        if self.select and not _matches(code, self.select):
            return False
        return not _matches(code, self.ignore) and code not in self.disabled

    @property
    def disabled(self) -> frozenset[str]:
        return frozenset(c for c, s in self.severity.items() if s is None)

    def severity_of(self, code: str, default: Severity) -> Severity:
        return self.severity.get(code) or default

    def wants_path(self, path: str) -> bool:
        if self.include and not any(glob_match(path, p) for p in self.include):
            return False
        return not any(glob_match(path, p) for p in self.exclude) and not self.is_vendored(path)

    def is_vendored(self, path: str) -> bool:
        return any(glob_match(path, p) for p in self.vendored)

    def with_overrides(
        self, select: Iterable[str] = (), ignore: Iterable[str] = ()
    ) -> RulesConfig:
        return RulesConfig(
            select=tuple(select) or self.select,
            ignore=self.ignore + tuple(ignore),
            severity=self.severity,
            include=self.include,
            exclude=self.exclude,
            vendored=self.vendored,
            max_bytes=self.max_bytes,
            timeout_seconds=self.timeout_seconds,
        )

    def digest(self) -> str:
        """Stable identity of everything that changes the engine's output (a cache key part)."""
        blob = json.dumps(
            {
                "select": self.select,
                "ignore": self.ignore,
                "severity": {k: (v.value if v else None) for k, v in sorted(self.severity.items())},
                "max_bytes": self.max_bytes,
                "timeout": self.timeout_seconds,
            },
            sort_keys=True,
        )
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    @classmethod
    def from_document(cls, doc: Document) -> RulesConfig:
        unknown = set(doc.data) - OTHER_SECTIONS - {"rules", "paths"}
        for key in sorted(unknown, key=str):
            raise doc.error((key,), f"unknown section `{key}`")
        rules = doc.data.get("rules") or {}
        if not isinstance(rules, dict):
            raise doc.error(("rules",), "`rules` must be a mapping")
        for key in rules:
            if key not in {"select", "ignore", "severity", "max_bytes", "timeout_seconds"}:
                raise doc.error(("rules", key), f"unknown key `rules.{key}`")
        severity: dict[str, Severity | None] = {}
        sev = rules.get("severity") or {}
        if not isinstance(sev, dict):
            raise doc.error(("rules", "severity"), "`rules.severity` must map codes to error|warning|off")
        for code, level in sev.items():
            if not isinstance(code, str) or not code.upper().startswith("RG"):
                raise doc.error(("rules", "severity", code), f"`{code}` is not a rule code")
            if level is False or level == "off":
                severity[code.upper()] = None
            elif level in ("error", "warning"):
                severity[code.upper()] = Severity(level)
            else:
                raise doc.error(
                    ("rules", "severity", code), f"severity of {code} must be error, warning or off, not {level!r}"
                )
        max_bytes = rules.get("max_bytes", DEFAULT_MAX_BYTES)
        if not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes <= 0:
            raise doc.error(("rules", "max_bytes"), "`rules.max_bytes` must be a positive integer")
        timeout = rules.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout <= 0:
            raise doc.error(("rules", "timeout_seconds"), "`rules.timeout_seconds` must be a positive number")
        paths = doc.data.get("paths") or {}
        if not isinstance(paths, dict):
            raise doc.error(("paths",), "`paths` must be a mapping with `include`, `exclude`, `vendored`")
        for key in paths:
            if key not in {"include", "exclude", "vendored"}:
                raise doc.error(("paths", key), f"unknown key `paths.{key}`")
        vendored = paths.get("vendored")
        return cls(
            select=_code_list(doc, ("rules", "select"), rules.get("select")),
            ignore=_code_list(doc, ("rules", "ignore"), rules.get("ignore")),
            severity=severity,  # type: ignore[arg-type]
            include=_glob_list(doc, ("paths", "include"), paths.get("include")),
            exclude=_glob_list(doc, ("paths", "exclude"), paths.get("exclude")),
            vendored=DEFAULT_VENDORED if vendored is None else _glob_list(doc, ("paths", "vendored"), vendored),
            max_bytes=max_bytes,
            timeout_seconds=float(timeout),
        )

    @classmethod
    def from_text(cls, text: str, filename: str = CONFIG_PATH) -> RulesConfig:
        return cls.from_document(load_document(text, filename))
