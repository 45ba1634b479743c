"""docs/operations.md's settings table names every setting of the model, and nothing else, with
the model's defaults where the table gives a value."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from bot.settings import Settings

DOC = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
NAME = re.compile(r"`(REVIEWGATE_[A-Z0-9_]+)`")
VALUE = re.compile(r"^`([^`]*)`")


def _rows() -> list[tuple[list[str], list[str]]]:
    """(names, default cells) of each row of the table under "## Settings"."""
    section = DOC.read_text().split("\n## Settings\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if line.startswith("| `REVIEWGATE_"):
            cells = [c.strip() for c in line.strip("|").split(" | ")]
            rows.append((NAME.findall(cells[0]), [d.strip() for d in cells[1].split(" / ")]))
    return rows


def _same(documented: str, default: Any) -> bool:
    if isinstance(default, bool):
        return documented == ("1" if default else "0")
    if isinstance(default, int | float):
        return float(documented) == float(default)
    if isinstance(default, Path):
        return Path(documented) == default
    return documented == str(default)


def test_the_settings_table_names_every_setting_and_nothing_else() -> None:
    documented = [name for names, _ in _rows() for name in names]
    model = {f"REVIEWGATE_{field.upper()}" for field in Settings.model_fields}
    assert len(documented) == len(set(documented)), "a setting has two rows"
    assert sorted(set(documented) - model) == [], "documented, but no setting"
    assert sorted(model - set(documented)) == [], "settings missing from docs/operations.md"


def test_the_settings_table_gives_the_models_defaults() -> None:
    wrong = []
    checked = 0
    for names, defaults in _rows():
        if len(defaults) != len(names):
            defaults = defaults[:1] * len(names) if len(defaults) == 1 else []
        for name, cell in zip(names, defaults, strict=False):
            match = VALUE.match(cell)
            if match is None:
                continue  # said in words ("none", "25 MiB")
            default = Settings.model_fields[name.removeprefix("REVIEWGATE_").lower()].default
            checked += 1
            if not _same(match.group(1), default):
                wrong.append(f"{name}: documented {match.group(1)!r}, default {default!r}")
    assert wrong == []
    assert checked >= 25
