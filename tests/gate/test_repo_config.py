"""`.github/reviewgate.yml`: defaults, the full schema, and errors that name the line."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot.policy.repo_config import (
    DEFAULT_CONFIG,
    ApprovalsConfig,
    FindingsConfig,
    GateConfig,
    OwnersRule,
    has_permission,
    parse_repo_config,
)
from rules import ConfigError, RulesConfig, Severity

FULL = """\
approvals:
  required: 2
  dismiss_stale: false
  min_permission: maintain
  last_pusher_counts: true
owners:
  - paths: ["app/storage/**", "migrations/"]
    users: ["@owen", olga]
    teams: [octo/storage]
    count: 2
  - paths: "docs/**"
    users: [dana]
findings:
  on_error: escalate
  escalate_by: 2
  risk_owners: [ross, "@octo/risk"]
rules:
  select: [RG1, RG2]
  ignore: [RG105]
  severity:
    RG201: warning
    RG102: off
paths:
  include: ["src/**"]
  exclude: ["src/generated/**"]
comment: off
suggestions: false
"""


def test_missing_file_means_defaults() -> None:
    assert parse_repo_config(None) is DEFAULT_CONFIG
    assert DEFAULT_CONFIG == GateConfig(
        approvals=ApprovalsConfig(required=1, dismiss_stale=True, min_permission="write", last_pusher_counts=False),
        owners=(),
        findings=FindingsConfig(on_error="block", escalate_by=1, risk_owners=()),
        rules=RulesConfig(),
        comment="sticky",
        suggestions=True,
    )


@pytest.mark.parametrize("text", ["", "# only a comment\n", "approvals:\nfindings:\n"])
def test_empty_file_or_sections_mean_defaults(text: str) -> None:
    assert parse_repo_config(text) == DEFAULT_CONFIG


def test_every_key() -> None:
    config = parse_repo_config(FULL)
    assert config.approvals == ApprovalsConfig(
        required=2, dismiss_stale=False, min_permission="maintain", last_pusher_counts=True
    )
    assert config.owners == (
        OwnersRule(paths=("app/storage/**", "migrations/"), users=("owen", "olga"), teams=("octo/storage",),
                   count=2),
        OwnersRule(paths=("docs/**",), users=("dana",), teams=(), count=1),
    )
    assert config.findings == FindingsConfig(on_error="escalate", escalate_by=2, risk_owners=("ross", "octo/risk"))
    assert config.comment == "off"
    assert config.suggestions is False
    assert config.teams == ("octo/risk", "octo/storage")


def test_rules_and_paths_sections_agree_with_the_engine() -> None:
    config = parse_repo_config(FULL)
    assert config.rules == RulesConfig.from_text(FULL)
    assert config.rules.select == ("RG1", "RG2")
    assert config.rules.severity_of("RG201", Severity.ERROR) is Severity.WARNING
    assert not config.rules.enabled("RG102")
    assert not config.rules.enabled("RG105")
    assert config.rules.wants_path("src/app.py")
    assert not config.rules.wants_path("src/generated/x.py")


@pytest.mark.parametrize(
    ("text", "comment"),
    [("comment: sticky\n", "sticky"), ("comment: off\n", "off"), ("comment: 'off'\n", "off"),
     ("comment: false\n", "off"), ("comment: on\n", "sticky")],
)
def test_comment_modes(text: str, comment: str) -> None:
    assert parse_repo_config(text).comment == comment


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        ("approvals:\n  required: 1\n  requierd: 2\n", 3, "unknown key `approvals.requierd`"),
        ("approvals:\n  required: two\n", 2, "`approvals.required` must be an integer >= 0, not 'two'"),
        ("approvals:\n  required: -1\n", 2, "must be an integer >= 0"),
        ("approvals:\n  required: true\n", 2, "must be an integer"),
        ("approvals:\n  required:\n", 2, "must be an integer"),
        ("approvals:\n  dismiss_stale: sometimes\n", 2, "`approvals.dismiss_stale` must be true or false"),
        ("approvals:\n  min_permission: owner\n", 2, "must be one of read, triage, write, maintain, admin"),
        ("approvals:\n  last_pusher_counts: yes please\n", 2,
         "`approvals.last_pusher_counts` must be true or false"),
        ("approvals: 2\n", 1, "`approvals` must be a mapping"),
        ("aproovals:\n  required: 2\n", 1, "unknown section `aproovals`"),
        ("comment: sticky\nsugestions: true\n", 2, "unknown section `sugestions`"),
        ("owners:\n  paths: [a]\n", 1, "`owners` must be a list"),
        ("owners:\n  - app/**\n", 2, "each `owners` entry must be a mapping"),
        ("owners:\n  - paths: [a/**]\n    user: [x]\n", 3, "unknown key `owners.user`"),
        ("owners:\n  - users: [x]\n", 2, "`owners.paths` must be a non-empty list"),
        ("owners:\n  - paths: []\n    users: [x]\n", 2, "`owners.paths` must be a non-empty list"),
        ("owners:\n  - paths: [a/**]\n", 2, "needs `users` and/or `teams`"),
        ("owners:\n  - paths: [a/**]\n    users: x\n", 3, "`owners.users` must be a list"),
        ("owners:\n  - paths: [a/**]\n    users:\n      - ok\n      - octo/core\n", 5, "looks like a team"),
        ("owners:\n  - paths: [a/**]\n    users: [has space]\n", 3, "not a GitHub login"),
        ("owners:\n  - paths: [a/**]\n    teams: [core]\n", 3, "a team is written `org/team-slug`"),
        ("owners:\n  - paths: [a/**]\n    users: [x]\n    count: 0\n", 4, "must be an integer >= 1"),
        ("owners:\n  - paths: [a/**]\n    users: [x, X]\n    count: 2\n", 4, "only 1 users are listed"),
        ("findings:\n  on_error: ignore\n", 2, "must be one of block, escalate, warn, not 'ignore'"),
        ("findings:\n  escalate_by: 1.5\n", 2, "`findings.escalate_by` must be an integer >= 0"),
        ("findings:\n  risk_owners: [ok, 42]\n", 2, "entries must be strings"),
        ("findings:\n  risk_owner: [x]\n", 2, "unknown key `findings.risk_owner`"),
        ("comment: loud\n", 1, "`comment` must be one of sticky, off"),
        ("suggestions: yes please\n", 1, "`suggestions` must be true or false"),
        ("rules:\n  select: [RG1]\n  selct: [RG2]\n", 3, "unknown key `rules.selct`"),
        ("rules:\n  severity:\n    RG101: fatal\n", 3, "severity of RG101 must be error, warning or off"),
        ("paths:\n  include: src/**\n", 2, "`paths.include` must be a list of glob patterns"),
        ("approvals:\n  required: [1\n", 3, "invalid YAML"),
        ("- a\n- b\n", 1, "the file must be a mapping of sections"),
    ],
)
def test_invalid_config_names_file_line_and_problem(text: str, line: int, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_repo_config(text, filename=".github/reviewgate.yml")
    error = caught.value
    assert error.filename == ".github/reviewgate.yml"
    assert error.line == line, str(error)
    assert problem in error.problem
    assert str(error).startswith(f".github/reviewgate.yml:{line}: ")


def test_the_first_problem_in_file_order_is_reported() -> None:
    text = "comment: loud\nbogus: 1\n"
    with pytest.raises(ConfigError) as caught:
        parse_repo_config(text)
    assert caught.value.line == 2  # unknown sections are found before values are checked
    with pytest.raises(ConfigError) as caught:
        parse_repo_config("zzz: 1\naaa: 2\n")
    assert "`zzz`" in caught.value.problem


@pytest.mark.parametrize(
    ("permission", "minimum", "ok"),
    [("admin", "write", True), ("maintain", "write", True), ("write", "write", True),
     ("triage", "write", False), ("read", "write", False), ("none", "read", False), (None, "read", False),
     ("WRITE", "write", True), ("superuser", "read", False)],
)
def test_permission_order(permission: str | None, minimum: str, ok: bool) -> None:
    assert has_permission(permission, minimum) is ok


def test_the_documented_example_is_valid() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "gate.md").read_text()
    example, *others = re.findall(r"```yaml\n(.*?)```", doc, re.DOTALL)
    for other in others:  # the organisation policy's examples
        parse_repo_config(other)
    config = parse_repo_config(example)
    assert config.owners[1] == OwnersRule(paths=("billing/**",), users=("owen", "olga"), count=2)
    assert config.rules.severity_of("RG201", Severity.ERROR) is Severity.WARNING


SAMPLES = {
    "approvals.required": 2, "approvals.dismiss_stale": False, "approvals.min_permission": "admin",
    "approvals.last_pusher_counts": True,
    "owners": [], "owners[].paths": ["x/**"], "owners[].users": ["u"], "owners[].teams": ["o/t"],
    "owners[].count": 1, "findings.on_error": "warn", "findings.escalate_by": 2,
    "findings.risk_owners": ["r"], "rules.select": ["RG1"], "rules.ignore": ["RG2"],
    "rules.severity": {"RG101": "warning"}, "rules.max_bytes": 10, "rules.timeout_seconds": 1.5,
    "paths.include": ["src/**"], "paths.exclude": ["gen/**"], "paths.vendored": ["third_party/"],
    "comment": "off", "suggestions": False,
    "extends": "org", "locked": ["approvals.required"],
    "bots": [{"login": "dependabot[bot]", "paths": ["*.lock"]}], "reviewers.request": True,
}


def test_every_documented_key_is_accepted_and_every_key_documented() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "gate.md").read_text()
    assert set(re.findall(r"^\| `([a-z_.\[\]]+)` \|", doc, re.MULTILINE)) == set(SAMPLES)
    for key, value in SAMPLES.items():
        if key.startswith("owners[]."):
            data: dict[str, object] = {"owners": [{"paths": ["x/**"], "users": ["u"], key[9:]: value}]}
        else:
            section, _, name = key.partition(".")
            data = {section: {name: value}} if name else {section: value}
        parse_repo_config(yaml.safe_dump(data))  # raises ConfigError for an unknown key


def _owners(n: int, **fields: str) -> str:
    extra = "".join(f"    {k}: {v}\n" for k, v in fields.items())
    return "owners:\n" + "".join(f"  - paths: [d{i}/]\n    users: [u{i}]\n{extra}" for i in range(n))


@pytest.mark.parametrize(
    ("text", "line", "problem"),
    [
        (_owners(201), 402, "`owners` has more than 200 entries"),
        (
            "owners:\n  - paths: [" + ", ".join(f"p{i}/" for i in range(51)) + "]\n    users: [u]\n",
            2, "`owners.paths` has more than 50 entries",
        ),
        (
            "owners:\n  - paths: [a/]\n    users:\n" + "".join(f"      - u{i}\n" for i in range(51)),
            54, "`owners.users` has more than 50 entries",
        ),
        (
            "owners:\n  - paths: [a/]\n    teams: [" + ", ".join(f"o/t{i}" for i in range(51)) + "]\n",
            3, "`owners.teams` has more than 50 entries",
        ),
        (
            "findings:\n  risk_owners:\n" + "".join(f"    - r{i}\n" for i in range(51)),
            53, "`findings.risk_owners` has more than 50 entries",
        ),
        (
            # 50 teams are fine; the 51st different one, wherever it is named, is not.
            "owners:\n" + "".join(f"  - paths: [a/]\n    teams: [o/t{i}, o/T{i}]\n" for i in range(50))
            + "findings:\n  risk_owners: [someone, o/t0, o/extra]\n",
            103, "more than 50 different teams are named",
        ),
    ],
)
def test_lists_are_bounded_and_the_refusal_names_the_line(text: str, line: int, problem: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_repo_config(text)
    assert (caught.value.line, caught.value.problem) == (line, problem)


def test_lists_at_their_limits_are_accepted() -> None:
    config = parse_repo_config(_owners(200))
    assert len(config.owners) == 200
    wide = (
        "owners:\n  - paths: [" + ", ".join(f"p{i}/" for i in range(50)) + "]\n"
        "    users: [" + ", ".join(f"u{i}" for i in range(50)) + "]\n"
        "    teams: [" + ", ".join(f"o/t{i}" for i in range(50)) + "]\n"
        "findings:\n  risk_owners: [" + ", ".join(f"r{i}" for i in range(49)) + ", o/t0]\n"
    )
    config = parse_repo_config(wide)
    assert len(config.teams) == 50
    assert len(config.findings.risk_owners) == 50
