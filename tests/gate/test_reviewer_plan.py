"""Whom `reviewers.request` asks, as a table: facts and the verdict in, logins and teams out."""

from __future__ import annotations

import pytest

from bot.policy.decide import decide
from bot.policy.facts import Facts, Review
from bot.policy.reviewers import plan
from rules.gate_config import parse_gate_config

HEAD = "a1b2c3d4e5f60718293a4b5c6d7e8f9012345678"
CONFIG = (
    "reviewers:\n  request: true\n"
    "owners:\n  - paths: ['db/']\n    users: [alice, olga, owen, oscar]\n    count: 2\n"
    "  - paths: ['ui/']\n    teams: [octo/ui]\n"
    "findings:\n  on_error: escalate\n  risk_owners: [rita]\n"
)
WRITERS = dict.fromkeys(("alice", "olga", "owen", "oscar", "rita", "uma"), "write")


def _plan(changed: tuple[str, ...], reviews: tuple[Review, ...] = (), pushers: tuple[str, ...] = (),
          asked: tuple[str, ...] = (), teams: tuple[str, ...] = (), activity: dict[str, int] | None = None):
    config = parse_gate_config(CONFIG)
    facts = Facts(repo="octo/demo", number=1, head_sha=HEAD, author="alice", reviews=reviews, permissions=WRITERS,
                  changed_paths=changed, head_pushers=pushers, files_listed=len(changed), files_total=len(changed))
    return plan(facts, config, decide(facts, config), asked, teams, activity or {})


@pytest.mark.parametrize(("changed", "pushers", "asked", "teams", "users_out", "teams_out"), [
    (("db/a.py",), (), (), (), {"olga", "owen", "oscar"}, ()),  # 2 of the 3 (never the author)
    (("db/a.py",), ("oscar",), (), (), {"olga", "owen"}, ()),  # nor the pusher
    (("db/a.py",), (), ("olga",), (), None, ()),  # one asked already: one more
    (("db/a.py",), (), ("olga", "owen"), (), set(), ()),  # enough asked
    (("ui/a.py",), (), (), (), set(), ("octo/ui",)),
    (("ui/a.py",), (), (), ("octo/ui",), set(), ()),  # the team was asked
    (("docs/a.md",), (), (), (), set(), ()),  # no owners rule applies
])
def test_whom_to_ask(changed, pushers, asked, teams, users_out, teams_out) -> None:  # type: ignore[no-untyped-def]
    wanted = _plan(changed, pushers=pushers, asked=asked, teams=teams)
    assert wanted.teams == teams_out
    if users_out is None:
        assert len(wanted.users) == 1 and wanted.users[0] in {"owen", "oscar"}
    elif len(users_out) > 2:
        assert len(wanted.users) == 2 and set(wanted.users) <= users_out
    else:
        assert set(wanted.users) == users_out


def test_the_choice_is_stable_per_head_and_leans_on_activity() -> None:
    first = _plan(("db/a.py",))
    assert _plan(("db/a.py",)) == first
    picks = [_plan(("db/a.py",), asked=("olga",), activity={"owen": 1000}).users for _ in range(3)]
    assert picks == [("owen",)] * 3  # same head, same choice; the active one is all but certain
