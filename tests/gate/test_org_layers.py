"""`extends: org` and `locked:` as a table: the organisation's file and the repository's, combined
(`rules.gate_layers.combine`), then decided on (`bot.policy.decide`)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from bot.policy.decide import decide
from bot.policy.facts import Facts, FindingFact, Review
from rules import ConfigError
from rules.gate_config import parse_gate_config
from rules.gate_layers import BOTH, DEFAULT, ORGANISATION, REPOSITORY, combine

HEAD = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
PERMISSIONS = {"bob": "write", "carol": "write", "olga": "write", "uma": "write"}
ERROR = FindingFact("RG101", "naive-datetime-now", "error", "app/x.py", 3, "naive", "fp1")


def rv(user: str, at: int = 1) -> Review:
    return Review(user, "User", "APPROVED", HEAD, f"2026-03-01T10:{at:02d}:00Z", id=at)


@dataclass
class Case:
    id: str
    org: str | None
    repo: str | None
    reviews: tuple[str, ...]
    ok: bool
    origins: dict[str, str]  # setting -> where it came from
    findings: tuple[FindingFact, ...] = ()
    changed: tuple[str, ...] = ("app/x.py",)


TWO_LOCKED = "approvals:\n  required: 2\nlocked: [approvals.required]\n"
BLOCK_LOCKED = "findings:\n  on_error: block\nlocked: [findings.on_error]\n"

CASES = [
    Case("no files: defaults", None, None, ("bob",), True, {"approvals.required": DEFAULT}),
    Case("the organisation's file applies to a repository without one", TWO_LOCKED, None, ("bob",), False,
         {"approvals.required": ORGANISATION}),
    Case("extends: org inherits what the repository leaves out", "approvals:\n  required: 2\n",
         "extends: org\ncomment: off\n", ("bob",), False, {"approvals.required": ORGANISATION, "comment": REPOSITORY}),
    Case("without extends the repository's file stands alone", "approvals:\n  required: 2\n",
         "comment: off\n", ("bob",), True, {"approvals.required": DEFAULT}),
    Case("an unlocked setting may go down", "approvals:\n  required: 2\n",
         "extends: org\napprovals:\n  required: 1\n", ("bob",), True, {"approvals.required": REPOSITORY}),
    Case("a locked count may not go down", TWO_LOCKED, "extends: org\napprovals:\n  required: 1\n",
         ("bob",), False, {"approvals.required": ORGANISATION}),
    Case("a locked count holds even without extends", TWO_LOCKED, "approvals:\n  required: 0\n",
         ("bob",), False, {"approvals.required": ORGANISATION}),
    Case("a locked count may go up", TWO_LOCKED, "extends: org\napprovals:\n  required: 3\n",
         ("bob", "carol"), False, {"approvals.required": REPOSITORY}),
    Case("a locked block may not become warn", BLOCK_LOCKED, "extends: org\nfindings:\n  on_error: warn\n",
         ("bob",), False, {"findings.on_error": ORGANISATION}, findings=(ERROR,)),
    Case("unlocked, warn is the repository's choice", "findings:\n  on_error: block\n",
         "extends: org\nfindings:\n  on_error: warn\n", ("bob",), True, {"findings.on_error": REPOSITORY},
         findings=(ERROR,)),
    Case("a locked escalate may become block", "findings:\n  on_error: escalate\nlocked: [findings.on_error]\n",
         "findings:\n  on_error: block\n", ("bob",), False, {"findings.on_error": REPOSITORY}, findings=(ERROR,)),
    Case("locked owners keep the organisation's rules and add the repository's",
         "owners:\n  - paths: ['db/']\n    users: [olga]\nlocked: [owners]\n",
         "owners:\n  - paths: ['ui/']\n    users: [uma]\n", ("bob", "uma"), False, {"owners": BOTH},
         changed=("db/x.py", "ui/y.py")),
    Case("locked owners satisfied", "owners:\n  - paths: ['db/']\n    users: [olga]\nlocked: [owners]\n",
         "owners: []\n", ("olga",), True, {"owners": ORGANISATION}, changed=("db/x.py",)),
    Case("a locked comment setting cannot change", "comment: off\nlocked: [comment]\n", "comment: sticky\n",
         ("bob",), True, {"comment": ORGANISATION}),
]


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_combined_policy(case: Case) -> None:
    org = parse_gate_config(case.org) if case.org is not None else None
    repo = parse_gate_config(case.repo) if case.repo is not None else None
    config, sources = combine(org, repo)
    where = {s.setting: s.origin for s in sources}
    for setting, origin in case.origins.items():
        assert where[setting] == origin, (setting, sources)
    facts = Facts(repo="octo/demo", number=1, head_sha=HEAD, author="alice",
                  reviews=tuple(rv(u, i) for i, u in enumerate(case.reviews, 1)), permissions=PERMISSIONS,
                  changed_paths=case.changed, findings=case.findings, config_sources=sources, config_org="octo/.github")
    verdict = decide(facts, config)
    assert (verdict.conclusion == "success") is case.ok, verdict.summary
    assert "### Configuration" in verdict.summary


def test_a_weaker_locked_value_is_named_in_the_summary() -> None:
    org = parse_gate_config(TWO_LOCKED)
    config, sources = combine(org, parse_gate_config("extends: org\napprovals:\n  required: 1\n"))
    facts = Facts(repo="octo/demo", number=1, head_sha=HEAD, author="alice", config_sources=sources,
                  config_org="octo/.github")
    summary = decide(facts, config).summary
    assert ("| `approvals.required` | `2` | organisation (`octo/.github:.github/reviewgate.yml`), line 2, locked by "
            "the organisation; the repository's `1` is weaker and not used |") in summary


@pytest.mark.parametrize(("text", "problem"), [
    ("extends: everything\n", "`extends` must be one of org"),
    ("locked: approvals.required\n", "`locked` must be a list"),
    ("locked: [approvals.requierd]\n", "`approvals.requierd` cannot be locked"),
])
def test_extends_and_locked_are_validated_with_their_line(text: str, problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_gate_config(text)
    assert problem in str(raised.value)
    assert raised.value.line == 1


BOTS = "approvals:\n  required: 2\nbots:\n  - login: dependabot[bot]\n    paths: ['requirements*.txt', '**/*.lock']\n"


@pytest.mark.parametrize(("author", "author_type", "paths", "previous", "listed", "ok"), [
    ("dependabot[bot]", "Bot", ("requirements.txt", "api/poetry.lock"), (), 2, True),
    ("Dependabot[bot]", "Bot", ("requirements.txt",), (), 1, True),  # logins compare without case
    ("dependabot[bot]", "Bot", ("requirements.txt", "app/x.py"), (), 2, False),  # code changed
    ("dependabot[bot]", "Bot", ("requirements-dev.txt",), ("app/core.py",), 1, False),  # code renamed away
    ("dependabot[bot]", "Bot", ("requirements.txt",), (), 0, False),  # GitHub did not list every file
    ("renovate[bot]", "Bot", ("requirements.txt",), (), 1, False),  # another bot
    ("alice", "User", ("requirements.txt",), (), 1, False),  # a person
])
def test_bots_pass_with_one_approval_only_on_their_paths(
    author: str, author_type: str, paths: tuple[str, ...], previous: tuple[str, ...], listed: int, ok: bool
) -> None:
    facts = Facts(repo="octo/demo", number=1, head_sha=HEAD, author=author, author_type=author_type,
                  reviews=(rv("bob"),), permissions=PERMISSIONS, changed_paths=paths, previous_paths=previous,
                  files_listed=listed, files_total=len(paths))
    verdict = decide(facts, parse_gate_config(BOTS))
    assert (verdict.conclusion == "success") is ok, verdict.summary
    assert ("under `bots:`" in verdict.summary) is ok


@pytest.mark.parametrize(("text", "problem"), [
    ("bots:\n  - login: dependabot\n    paths: [x]\n", "must be a bot's login"),
    ("bots:\n  - login: dependabot[bot]\n", "`bots.paths` must be a non-empty list"),
    ("bots: dependabot[bot]\n", "`bots` must be a list"),
])
def test_bots_entries_are_validated(text: str, problem: str) -> None:
    with pytest.raises(ConfigError) as raised:
        parse_gate_config(text)
    assert problem in str(raised.value)
