"""Every rule, in code order. The registry the engine, the CLI, the docs and the bot share."""

from __future__ import annotations

from rules.checks.naive_now import NaiveNow
from rules.rule import Rule

CATALOGUE: tuple[type[Rule], ...] = tuple(
    sorted(
        [
            NaiveNow,
        ],
        key=lambda r: r.code,
    )
)
BY_CODE: dict[str, type[Rule]] = {r.code: r for r in CATALOGUE}


def rule_for(code: str) -> type[Rule] | None:
    return BY_CODE.get(code.upper())
