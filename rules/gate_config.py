"""The whole schema of `.github/reviewgate.yml`, validated with line numbers.

Pure: text in, a `GateConfig` or a `ConfigError` naming the file, the line and the problem
out. The bot reads the file from the repository's default branch; the command line reads the
same file (or `[tool.reviewgate]` in pyproject.toml) with this same parser, so a key that the
bot refuses is refused locally too. The `rules:` and `paths:` sections belong to the analysis
engine and are parsed by `RulesConfig.from_document` from the same document.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rules.config import CONFIG_PATH, Document, RulesConfig, load_document

# GitHub's repository roles, weakest first. The collaborator permission endpoint answers with
# one of these (`none` for people without access).
PERMISSIONS = ("none", "read", "triage", "write", "maintain", "admin")
ON_ERROR = ("block", "escalate", "warn")
COMMENT_MODES = ("sticky", "off")

# Bounds on what a configuration may ask of each evaluation; the file as a whole is bounded
# by `rules.config` (64 KiB, no aliases, values of at most 500 characters).
MAX_OWNERS = 200  # `owners` entries: each is matched against every changed path
MAX_OWNER_PATHS = 50  # globs of one `owners` entry
MAX_NAMES = 50  # users or teams of one `owners` entry; `findings.risk_owners`
MAX_TEAMS = 50  # distinct teams in the file: each costs a membership look-up per approver

_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\[bot\])?$")
_TEAM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9_.-]+$")


@dataclass(frozen=True)
class OwnersRule:
    """Changes to any of `paths` need `count` approvals from `users` or members of `teams`."""

    paths: tuple[str, ...]
    users: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()  # "org/team"
    count: int = 1


@dataclass(frozen=True)
class BotRule:
    """Pull requests opened by the bot `login` that change only `paths` need one human approval,
    whatever `approvals.required` says; owners, findings and holds still apply."""

    login: str  # an App's account: "dependabot[bot]"
    paths: tuple[str, ...]


@dataclass(frozen=True)
class ApprovalsConfig:
    required: int = 1
    dismiss_stale: bool = True
    min_permission: str = "write"
    # Whether an approval counts from someone who pushed the head or committed after approving.
    last_pusher_counts: bool = False


@dataclass(frozen=True)
class FindingsConfig:
    on_error: str = "block"
    escalate_by: int = 1
    risk_owners: tuple[str, ...] = ()  # logins and/or "org/team"


@dataclass(frozen=True)
class ReviewersConfig:
    # Ask for the reviews that `owners` rules and escalation need, when nobody eligible was asked.
    request: bool = False


@dataclass(frozen=True)
class GateConfig:
    approvals: ApprovalsConfig = field(default_factory=ApprovalsConfig)
    owners: tuple[OwnersRule, ...] = ()
    findings: FindingsConfig = field(default_factory=FindingsConfig)
    rules: RulesConfig = field(default_factory=RulesConfig)  # also holds paths.include/exclude
    comment: str = "sticky"
    suggestions: bool = True
    bots: tuple[BotRule, ...] = ()
    reviewers: ReviewersConfig = field(default_factory=ReviewersConfig)
    # `extends: org`: settings the file leaves out come from the organisation's file.
    extends: str | None = None
    # In the organisation's file: settings a repository's file may only make stricter.
    locked: tuple[str, ...] = ()
    # The settings (of SETTINGS) this file sets itself, and the line of each.
    explicit: tuple[tuple[str, int], ...] = ()

    @property
    def teams(self) -> tuple[str, ...]:
        """Every `org/team` whose membership `decide` needs, for the caller to look up."""
        found = {t for rule in self.owners for t in rule.teams}
        found.update(o for o in self.findings.risk_owners if "/" in o)
        return tuple(sorted(found))


DEFAULT_CONFIG = GateConfig()

_SECTIONS = (
    "approvals", "owners", "findings", "rules", "paths", "comment", "suggestions", "bots", "reviewers", "extends",
    "locked",
)
MAX_BOTS = 20

# The settings one file may set, each taken whole from one file when two are combined
# (`rules` and `paths` are whole sections).
SETTINGS = (
    "approvals.required", "approvals.dismiss_stale", "approvals.min_permission", "approvals.last_pusher_counts",
    "owners", "findings.on_error", "findings.escalate_by", "findings.risk_owners", "rules", "paths", "comment",
    "suggestions", "bots", "reviewers.request",
)
EXTENDS = ("org",)


def parse_gate_config(text: str | None, filename: str = CONFIG_PATH) -> GateConfig:
    """The gate configuration in `text`; `None` (no file) gives the defaults.

    Raises `rules.ConfigError` for invalid YAML, an unknown key or a value of the wrong type.
    """
    if text is None:
        return DEFAULT_CONFIG
    return gate_config_from_document(load_document(text, filename))


def gate_config_from_document(doc: Document) -> GateConfig:
    # Report the first problem in file order, whichever section it is in.
    for key in sorted(doc.data, key=lambda k: doc.line(k) or 0):
        if key not in _SECTIONS:
            raise doc.error((key,), f"unknown section `{key}` (known: {', '.join(_SECTIONS)})")
    approvals = _approvals(doc)
    owners = _owners(doc)
    findings = _findings(doc)
    _check_teams(doc, owners, findings)
    comment = _comment(doc)
    suggestions = doc.data.get("suggestions", True)
    if not isinstance(suggestions, bool):
        raise doc.error(("suggestions",), "`suggestions` must be true or false")
    extends = doc.data.get("extends")
    if extends is not None and extends not in EXTENDS:
        raise doc.error(("extends",), f"`extends` must be one of {', '.join(EXTENDS)}, not {extends!r}")
    return GateConfig(
        approvals=approvals,
        owners=owners,
        findings=findings,
        rules=RulesConfig.from_document(doc),
        comment=comment,
        suggestions=suggestions,
        bots=_bots(doc),
        reviewers=_reviewers(doc),
        extends=extends,
        locked=_locked(doc),
        explicit=_explicit(doc),
    )


def _reviewers(doc: Document) -> ReviewersConfig:
    section = _section(doc, "reviewers", ("request",))
    request = section.get("request", False)
    if not isinstance(request, bool):
        raise doc.error(("reviewers", "request"), "`reviewers.request` must be true or false")
    return ReviewersConfig(request=request)


def _bots(doc: Document) -> tuple[BotRule, ...]:
    value = doc.data.get("bots")
    if value is None:
        return ()
    if not isinstance(value, list):
        raise doc.error(("bots",), "`bots` must be a list of {login, paths} entries")
    if len(value) > MAX_BOTS:
        raise doc.error(("bots", MAX_BOTS), f"`bots` has more than {MAX_BOTS} entries")
    out = []
    for i, entry in enumerate(value):
        where = ("bots", i)
        if not isinstance(entry, dict):
            raise doc.error(where, "each `bots` entry must be a mapping with login and paths")
        for key in entry:
            if key not in ("login", "paths"):
                raise doc.error((*where, key), f"unknown key `bots.{key}` (known: login, paths)")
        login = entry.get("login")
        # Only an App's account ends in `[bot]`: no person can take a listed name.
        if not isinstance(login, str) or not login.endswith("[bot]") or not _LOGIN.match(login):
            raise doc.error((*where, "login"), "`bots.login` must be a bot's login, such as `dependabot[bot]`")
        paths = entry.get("paths")
        if isinstance(paths, str):
            paths = [paths]
        if not isinstance(paths, list) or not paths or not all(isinstance(p, str) and p for p in paths):
            raise doc.error((*where, "paths"), "`bots.paths` must be a non-empty list of glob patterns")
        if len(paths) > MAX_OWNER_PATHS:
            raise doc.error((*where, "paths", MAX_OWNER_PATHS), f"`bots.paths` has more than {MAX_OWNER_PATHS} entries")
        out.append(BotRule(login=login, paths=tuple(paths)))
    return tuple(out)


def _locked(doc: Document) -> tuple[str, ...]:
    value = doc.data.get("locked")
    if value is None:
        return ()
    if not isinstance(value, list):
        raise doc.error(("locked",), f"`locked` must be a list of settings ({', '.join(SETTINGS)})")
    for i, item in enumerate(value):
        if item not in SETTINGS:
            raise doc.error(("locked", i), f"`{item}` cannot be locked (known: {', '.join(SETTINGS)})")
    return tuple(dict.fromkeys(value))


def _explicit(doc: Document) -> tuple[tuple[str, int], ...]:
    out = []
    for key in SETTINGS:
        path = tuple(key.split("."))
        if len(path) == 2:
            section = doc.data.get(path[0])
            present = isinstance(section, dict) and path[1] in section
        else:
            present = key in doc.data
        if present:
            out.append((key, doc.line(*path) or 0))
    return tuple(out)


def _section(doc: Document, name: str, keys: tuple[str, ...]) -> dict[str, Any]:
    value = doc.data.get(name)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise doc.error((name,), f"`{name}` must be a mapping with keys {', '.join(keys)}")
    for key in value:
        if key not in keys:
            raise doc.error((name, key), f"unknown key `{name}.{key}` (known: {', '.join(keys)})")
    return value


def _int(doc: Document, path: tuple[Any, ...], value: Any, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise doc.error(path, f"`{'.'.join(map(str, path))}` must be an integer >= {minimum}, not {value!r}")
    return value


def _choice(doc: Document, path: tuple[str, ...], value: Any, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value.lower() not in choices:
        raise doc.error(path, f"`{'.'.join(path)}` must be one of {', '.join(choices)}, not {value!r}")
    return value.lower()


def _names(
    doc: Document, path: tuple[Any, ...], value: Any, check: Callable[[str], str | None]
) -> tuple[str, ...]:
    """A list of logins or teams; a leading `@` is accepted, as in CODEOWNERS."""
    if value is None:
        return ()
    dotted = ".".join(str(p) for p in path if not isinstance(p, int))
    if not isinstance(value, list):
        raise doc.error(path, f"`{dotted}` must be a list")
    if len(value) > MAX_NAMES:
        raise doc.error((*path, MAX_NAMES), f"`{dotted}` has more than {MAX_NAMES} entries")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise doc.error((*path, i), f"`{dotted}` entries must be strings, not {item!r}")
        name = item.strip().removeprefix("@")
        problem = check(name)
        if problem:
            raise doc.error((*path, i), f"`{item}` in `{dotted}`: {problem}")
        out.append(name)
    return tuple(out)


def _user(name: str) -> str | None:
    if "/" in name:
        return "looks like a team: list teams under `teams`"
    return None if _LOGIN.match(name) else "not a GitHub login"


def _team(name: str) -> str | None:
    return None if _TEAM.match(name) else "a team is written `org/team-slug`"


def _user_or_team(name: str) -> str | None:
    return _team(name) if "/" in name else _user(name)


def _approvals(doc: Document) -> ApprovalsConfig:
    section = _section(doc, "approvals", ("required", "dismiss_stale", "min_permission", "last_pusher_counts"))
    default = ApprovalsConfig()
    required = _int(doc, ("approvals", "required"), section.get("required", default.required), 0)
    dismiss_stale = section.get("dismiss_stale", default.dismiss_stale)
    if not isinstance(dismiss_stale, bool):
        raise doc.error(("approvals", "dismiss_stale"), "`approvals.dismiss_stale` must be true or false")
    last_pusher_counts = section.get("last_pusher_counts", default.last_pusher_counts)
    if not isinstance(last_pusher_counts, bool):
        raise doc.error(
            ("approvals", "last_pusher_counts"), "`approvals.last_pusher_counts` must be true or false"
        )
    min_permission = _choice(
        doc,
        ("approvals", "min_permission"),
        section.get("min_permission", default.min_permission),
        PERMISSIONS[1:],
    )
    return ApprovalsConfig(
        required=required,
        dismiss_stale=dismiss_stale,
        min_permission=min_permission,
        last_pusher_counts=last_pusher_counts,
    )


def _owners(doc: Document) -> tuple[OwnersRule, ...]:
    value = doc.data.get("owners")
    if value is None:
        return ()
    if not isinstance(value, list):
        raise doc.error(("owners",), "`owners` must be a list of {paths, users, teams, count} entries")
    if len(value) > MAX_OWNERS:
        raise doc.error(("owners", MAX_OWNERS), f"`owners` has more than {MAX_OWNERS} entries")
    out = []
    for i, entry in enumerate(value):
        where = ("owners", i)
        if not isinstance(entry, dict):
            raise doc.error(where, "each `owners` entry must be a mapping with paths, users, teams, count")
        for key in entry:
            if key not in ("paths", "users", "teams", "count"):
                raise doc.error((*where, key), f"unknown key `owners.{key}` (known: paths, users, teams, count)")
        paths = entry.get("paths")
        if isinstance(paths, str):
            paths = [paths]
        if not isinstance(paths, list) or not paths or not all(isinstance(p, str) and p for p in paths):
            raise doc.error((*where, "paths"), "`owners.paths` must be a non-empty list of glob patterns")
        if len(paths) > MAX_OWNER_PATHS:
            problem = f"`owners.paths` has more than {MAX_OWNER_PATHS} entries"
            raise doc.error((*where, "paths", MAX_OWNER_PATHS), problem)
        users = _names(doc, (*where, "users"), entry.get("users"), _user)
        teams = _names(doc, (*where, "teams"), entry.get("teams"), _team)
        if not users and not teams:
            raise doc.error(where, "an `owners` entry needs `users` and/or `teams`")
        count = _int(doc, (*where, "count"), entry.get("count", 1), 1)
        distinct = len({u.lower() for u in users})
        if not teams and count > distinct:
            # Would block every matching pull request forever.
            raise doc.error(
                (*where, "count"), f"`owners.count` is {count} but only {distinct} users are listed"
            )
        out.append(OwnersRule(paths=tuple(paths), users=users, teams=teams, count=count))
    return tuple(out)


def _findings(doc: Document) -> FindingsConfig:
    section = _section(doc, "findings", ("on_error", "escalate_by", "risk_owners"))
    default = FindingsConfig()
    on_error = _choice(doc, ("findings", "on_error"), section.get("on_error", default.on_error), ON_ERROR)
    escalate_by = _int(doc, ("findings", "escalate_by"), section.get("escalate_by", default.escalate_by), 0)
    risk_owners = _names(doc, ("findings", "risk_owners"), section.get("risk_owners"), _user_or_team)
    return FindingsConfig(on_error=on_error, escalate_by=escalate_by, risk_owners=risk_owners)


def _check_teams(doc: Document, owners: tuple[OwnersRule, ...], findings: FindingsConfig) -> None:
    named: list[tuple[str, tuple[Any, ...]]] = [
        (team, ("owners", i, "teams", j)) for i, rule in enumerate(owners) for j, team in enumerate(rule.teams)
    ]
    named += [(o, ("findings", "risk_owners", j)) for j, o in enumerate(findings.risk_owners) if "/" in o]
    seen: set[str] = set()
    for team, path in named:
        seen.add(team.lower())
        if len(seen) > MAX_TEAMS:
            raise doc.error(path, f"more than {MAX_TEAMS} different teams are named")


def _comment(doc: Document) -> str:
    value = doc.data.get("comment", "sticky")
    # YAML 1.1 reads a bare `off` as false and `on` as true.
    if value is False:
        return "off"
    if value is True:
        return "sticky"
    return _choice(doc, ("comment",), value, COMMENT_MODES)


__all__ = [
    "COMMENT_MODES", "DEFAULT_CONFIG", "MAX_NAMES", "MAX_OWNER_PATHS", "MAX_OWNERS", "MAX_TEAMS",
    "ON_ERROR", "PERMISSIONS", "SETTINGS", "ApprovalsConfig", "BotRule", "ReviewersConfig", "FindingsConfig", "GateConfig", "OwnersRule",
    "gate_config_from_document", "parse_gate_config",
]
