"""Whom to ask for a review (`reviewers.request: true`): the owners whose approval an unmet
`owners` rule or escalation needs, when nobody eligible has been asked yet. Pure.

A rule naming teams asks its teams; a rule naming only users asks as many of them as its
count still needs, chosen at random (seeded by the head commit, so the same head gives the
same choice) with more weight for people recently active in the repository. The author and
whoever pushed the head are never asked: their approval would not count.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from bot.policy.decide import reviewer_states
from bot.policy.facts import Facts
from bot.policy.repo_config import GateConfig
from bot.policy.verdict import Verdict


@dataclass(frozen=True)
class Ask:
    users: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()  # "org/slug"

    def __bool__(self) -> bool:
        return bool(self.users or self.teams)


@dataclass(frozen=True)
class _Need:
    users: tuple[str, ...]
    teams: tuple[str, ...]
    count: int


def plan(
    facts: Facts,
    config: GateConfig,
    verdict: Verdict,
    asked_users: Collection[str],
    asked_teams: Collection[str],
    activity: Mapping[str, int],
) -> Ask:
    """`asked_*`: reviews GitHub lists as requested (pending); `activity`: login -> recent
    actions in the repository (casefolded logins)."""
    unmet = {c.key for c in verdict.conditions if not c.met}
    needs = [
        _Need(rule.users, rule.teams, rule.count)
        for index, rule in enumerate(config.owners) if f"owners.{index}" in unmet
    ]
    if "risk_owners" in unmet:
        owners = config.findings.risk_owners
        needs.append(_Need(tuple(o for o in owners if "/" not in o), tuple(o for o in owners if "/" in o), 1))
    never = {facts.author.casefold(), *(p.casefold() for p in facts.head_pushers)}
    asked = {u.casefold() for u in asked_users}
    asked_team_keys = {t.casefold() for t in asked_teams}
    approving = {s.login.casefold() for s in reviewer_states(facts, config) if s.approves}
    rng = random.Random(facts.head_sha)
    users: list[str] = []
    teams: list[str] = []
    for need in needs:
        if need.teams:
            if not any(t.casefold() in asked_team_keys for t in need.teams):
                teams.extend(t for t in need.teams if t not in teams)
            continue
        pending = sum(1 for u in need.users if u.casefold() in asked or u.casefold() in {x.casefold() for x in users})
        candidates = [
            u for u in need.users
            if u.casefold() not in never and u.casefold() not in asked and u.casefold() not in approving
            and u not in users
        ]
        users.extend(_pick(rng, candidates, need.count - pending, activity))
    return Ask(tuple(users), tuple(teams))


def _pick(rng: random.Random, candidates: Sequence[str], count: int, activity: Mapping[str, int]) -> list[str]:
    """`count` of `candidates` without repeats, each draw weighted by 1 + recent activity."""
    left = list(candidates)
    chosen: list[str] = []
    while left and len(chosen) < count:
        weights = [1 + max(0, activity.get(u.casefold(), 0)) for u in left]
        chosen.append(left.pop(rng.choices(range(len(left)), weights)[0]))
    return chosen
