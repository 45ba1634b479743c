"""`.github/reviewgate.yml`: the gate's configuration, as the bot reads it.

The file is read from the repository's default branch only, so a pull request cannot loosen
its own gate. A missing file means the defaults; an invalid one raises `rules.ConfigError`
naming the file, the line and the problem, and the check fails with it: an unreadable policy
is never replaced by a guess.

The schema and its validation live in `rules.gate_config`, pure and free of the bot's
dependencies, so that the command line refuses exactly what the bot refuses.
"""

from __future__ import annotations

from rules import CONFIG_PATH, ConfigError
from rules.gate_config import (
    COMMENT_MODES,
    DEFAULT_CONFIG,
    MAX_NAMES,
    MAX_OWNER_PATHS,
    MAX_OWNERS,
    MAX_TEAMS,
    ON_ERROR,
    PERMISSIONS,
    ApprovalsConfig,
    BotRule,
    FindingsConfig,
    GateConfig,
    OwnersRule,
    parse_gate_config,
)


def permission_rank(permission: str | None) -> int:
    """Unknown or missing permissions rank as `none`: eligibility is never guessed upward."""
    try:
        return PERMISSIONS.index((permission or "none").lower())
    except ValueError:
        return 0


def has_permission(permission: str | None, minimum: str) -> bool:
    return permission_rank(permission) >= permission_rank(minimum)


def parse_repo_config(text: str | None, filename: str = CONFIG_PATH) -> GateConfig:
    """The gate configuration in `text`; `None` (no file on the default branch) gives defaults.

    Raises `rules.ConfigError` for invalid YAML, an unknown key or a value of the wrong type.
    """
    return parse_gate_config(text, filename)


__all__ = [
    "COMMENT_MODES", "DEFAULT_CONFIG", "ON_ERROR", "PERMISSIONS", "ApprovalsConfig", "BotRule", "ConfigError",
    "MAX_NAMES", "MAX_OWNER_PATHS", "MAX_OWNERS", "MAX_TEAMS",
    "FindingsConfig", "GateConfig", "OwnersRule", "has_permission", "parse_repo_config",
    "permission_rank",
]
