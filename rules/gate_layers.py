"""An organisation's `.github/reviewgate.yml` and a repository's, combined into one policy.

The organisation's file (in its `.github` repository) applies to every repository without a
file of its own. A repository's file stands alone unless it says `extends: org`; then every
setting it leaves out comes from the organisation's file. Either way, the settings the
organisation lists under `locked:` can only be made stricter: a weaker value (fewer approvals,
`findings.on_error: warn` under `block`) is set aside for the organisation's, and the summary
says so. Owner rules of a locked `owners` are kept, the repository's are added to them.

Pure, like `rules.gate_config`: both files are parsed (and their errors reported with their
own lines) before they are combined, and combining them cannot fail.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from rules.gate_config import DEFAULT_CONFIG, ON_ERROR, PERMISSIONS, SETTINGS, GateConfig

DEFAULT = "default"
ORGANISATION = "organisation"
REPOSITORY = "repository"
BOTH = "organisation and repository"  # a locked `owners` with rules of the repository's added


@dataclass(frozen=True)
class Source:
    """Where one effective setting came from."""

    setting: str
    value: str
    origin: str  # DEFAULT | ORGANISATION | REPOSITORY | BOTH
    line: int = 0  # in the origin's file; 0 for a default
    locked: bool = False
    set_aside: str = ""  # the repository's weaker value of a locked setting, not used


def _sub(section: str, name: str) -> tuple[Callable[[GateConfig], Any], Callable[[GateConfig, Any], GateConfig]]:
    def get(config: GateConfig) -> Any:
        return getattr(getattr(config, section), name)

    def put(config: GateConfig, value: Any) -> GateConfig:
        inner = dataclasses.replace(getattr(config, section), **{name: value})
        return dataclasses.replace(config, **{section: inner})

    return get, put


def _top(name: str) -> tuple[Callable[[GateConfig], Any], Callable[[GateConfig, Any], GateConfig]]:
    return (lambda config: getattr(config, name)), (lambda config, value: dataclasses.replace(config, **{name: value}))


_RULES_FIELDS = ("select", "ignore", "severity", "max_bytes", "timeout_seconds")
_PATHS_FIELDS = ("include", "exclude")


def _fields(names: tuple[str, ...]) -> tuple[Callable[[GateConfig], Any], Callable[[GateConfig, Any], GateConfig]]:
    def get(config: GateConfig) -> Any:
        return tuple((n, getattr(config.rules, n)) for n in names)

    def put(config: GateConfig, value: Any) -> GateConfig:
        return dataclasses.replace(config, rules=dataclasses.replace(config.rules, **dict(value)))

    return get, put


_ACCESS = {
    "approvals.required": _sub("approvals", "required"),
    "approvals.dismiss_stale": _sub("approvals", "dismiss_stale"),
    "approvals.min_permission": _sub("approvals", "min_permission"),
    "approvals.last_pusher_counts": _sub("approvals", "last_pusher_counts"),
    "owners": _top("owners"),
    "findings.on_error": _sub("findings", "on_error"),
    "findings.escalate_by": _sub("findings", "escalate_by"),
    "findings.risk_owners": _sub("findings", "risk_owners"),
    "rules": _fields(_RULES_FIELDS),
    "paths": _fields(_PATHS_FIELDS),
    "comment": _top("comment"),
    "suggestions": _top("suggestions"),
    "bots": _top("bots"),
    "reviewers.request": _sub("reviewers", "request"),
}
assert set(_ACCESS) == set(SETTINGS)

# How strict a value is, for the locked settings that have an order; the others must be equal.
_STRICTNESS: dict[str, Callable[[Any], int]] = {
    "approvals.required": int,
    "approvals.dismiss_stale": int,
    "approvals.min_permission": PERMISSIONS.index,
    "approvals.last_pusher_counts": lambda value: int(not value),
    "findings.on_error": lambda value: len(ON_ERROR) - 1 - ON_ERROR.index(value),  # block > escalate > warn
    "findings.escalate_by": int,
}


def show(setting: str, value: Any) -> str:
    """A setting's value as the summary shows it (the caller escapes it)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if setting == "owners":
        return f"{len(value)} rule{'' if len(value) == 1 else 's'}"
    if setting == "bots":
        return ", ".join(rule.login for rule in value) or "none"
    if setting in ("rules", "paths"):
        parts = []
        for name, item in value:
            if isinstance(item, dict) and item:
                parts.append(f"{name}: " + ", ".join(f"{k}={v.value if v else 'off'}" for k, v in sorted(item.items())))
            elif isinstance(item, tuple) and item:
                parts.append(f"{name}: {', '.join(item)}")
            elif isinstance(item, (int, float)) and not isinstance(item, bool):
                default = dict(_fields(_RULES_FIELDS)[0](DEFAULT_CONFIG)).get(name)
                if item != default:
                    parts.append(f"{name}: {item:g}")
        return "; ".join(parts) or "defaults"
    if isinstance(value, tuple):
        return ", ".join(value) or "none"
    return str(value)


def combine(org: GateConfig | None, repo: GateConfig | None) -> tuple[GateConfig, tuple[Source, ...]]:
    """The effective configuration and where each setting came from. `org`: the organisation's
    file (None: none); `repo`: the repository's (None: none)."""
    org_lines = dict(org.explicit) if org is not None else {}
    repo_lines = dict(repo.explicit) if repo is not None else {}
    inherit = org is not None and (repo is None or repo.extends == "org")
    locked = set(org.locked) if org is not None else set()
    result = DEFAULT_CONFIG
    sources = []
    for setting in SETTINGS:
        get, put = _ACCESS[setting]
        if setting in repo_lines and repo is not None:
            value, origin, line = get(repo), REPOSITORY, repo_lines[setting]
        elif inherit and setting in org_lines and org is not None:
            value, origin, line = get(org), ORGANISATION, org_lines[setting]
        else:
            value, origin, line = get(DEFAULT_CONFIG), DEFAULT, 0
        set_aside = ""
        if setting in locked and org is not None and origin != ORGANISATION:
            floor = get(org)
            floor_origin, floor_line = (ORGANISATION, org_lines[setting]) if setting in org_lines else (DEFAULT, 0)
            if setting == "owners":
                # The organisation's owner rules always apply; the repository may add its own.
                added = tuple(rule for rule in value if rule not in floor) if origin == REPOSITORY else ()
                if not added:
                    origin, line = floor_origin, floor_line
                elif floor:
                    origin = BOTH
                value = floor + added
            elif not _at_least(setting, value, floor):
                set_aside = show(setting, value)
                value, origin, line = floor, floor_origin, floor_line
        result = put(result, value)
        sources.append(Source(setting, show(setting, value), origin, line, setting in locked, set_aside))
    return result, tuple(sources)


def _at_least(setting: str, value: Any, floor: Any) -> bool:
    strictness = _STRICTNESS.get(setting)
    if strictness is None:
        return bool(value == floor)
    return strictness(value) >= strictness(floor)


__all__ = ["BOTH", "DEFAULT", "ORGANISATION", "REPOSITORY", "Source", "combine", "show"]
