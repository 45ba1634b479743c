"""Every rule, in code order: the registry the engine, the CLI, the docs and the bot share.

A rule is registered by being a `Rule` subclass in a module of `rules/checks/` (any family
folder); the modules are imported in name order, so the catalogue is the same on every run.
"""

from __future__ import annotations

import importlib
import pkgutil

import rules.checks
from rules.rule import Rule


def _discover() -> tuple[type[Rule], ...]:
    found: dict[str, type[Rule]] = {}
    package = rules.checks
    modules = pkgutil.walk_packages(package.__path__, package.__name__ + ".")
    for info in sorted(modules, key=lambda m: m.name):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Rule) and value.__module__ == module.__name__:
                if value.code in found:
                    raise RuntimeError(f"two rules claim {value.code}: {found[value.code]} and {value}")
                found[value.code] = value
    return tuple(found[code] for code in sorted(found))


CATALOGUE: tuple[type[Rule], ...] = _discover()
BY_CODE: dict[str, type[Rule]] = {r.code: r for r in CATALOGUE}


def rule_for(code: str) -> type[Rule] | None:
    return BY_CODE.get(code.upper())
