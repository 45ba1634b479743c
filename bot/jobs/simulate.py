"""A dry run: the verdict a pull request would get now, from live GitHub data, with approvals
that have not been given yet or a configuration that is not on the default branch yet.

Reads only: nothing is written to GitHub (no check run, comment, reaction or review). The
bot's own database is read for waivers, holds and earlier digests as an evaluation reads it,
and the findings cache may gain entries (a blob's findings never change).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from github import UnknownObjectException

from bot import render
from bot.jobs.assess import assess
from bot.policy.facts import APPROVED, Review
from bot.policy.repo_config import GateConfig, parse_repo_config
from bot.policy.verdict import Condition
from bot.runtime import Runtime
from bot.store import pages as store

# Sorts after any timestamp GitHub gives: a simulated approval is each reviewer's latest review.
_LATER_THAN_ANY = "9999-12-31T23:59:59+00:00"
MAX_SIMULATED_APPROVALS = 20


class SimulationError(Exception):
    """The pull request cannot be simulated (unknown repository or pull request, bad input)."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Simulation:
    repo: str
    number: int
    head: str
    conclusion: str
    title: str
    conditions: tuple[Condition, ...]
    summary: str
    config_from: str  # where the configuration came from
    simulated_approvals: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "repo": self.repo,
            "number": self.number,
            "head_sha": self.head,
            "conclusion": self.conclusion,
            "title": self.title,
            "config": self.config_from,
            "simulated_approvals": list(self.simulated_approvals),
            "conditions": [
                {"key": c.key, "met": c.met, "text": c.text, "unblock": c.unblock} for c in self.conditions
            ],
            "summary": self.summary,
        }

    def as_text(self) -> str:
        """For a terminal: user-controlled text is printed without control characters."""
        lines = [
            f"{self.repo}#{self.number} at {self.head[:7]}: {self.conclusion}",
            f"  {render.plain(self.title)}",
            f"  configuration: {render.plain(self.config_from)}",
        ]
        if self.simulated_approvals:
            lines.append(f"  simulated approvals: {', '.join(self.simulated_approvals)}")
        for condition in self.conditions:
            lines.append(f"  {'✓' if condition.met else '✗'} {render.plain(condition.text)}")
            if not condition.met and condition.unblock:
                lines.append(f"      to unblock: {render.plain(condition.unblock)}")
        return "\n".join(lines)


def parse_target(target: str) -> tuple[str, int]:
    """`OWNER/REPO#N` -> ("OWNER/REPO", N)."""
    repo, _, number = target.partition("#")
    owner, _, name = repo.partition("/")
    if not owner or not name or "/" in name or not number.isdigit():
        raise SimulationError(f"expected OWNER/REPO#NUMBER, not {target!r}")
    return repo, int(number)


def installation_for(rt: Runtime, repo_name: str) -> int:
    """The installation the bot knows for the repository, else GitHub's answer (app JWT)."""
    known = store.installation_of(rt.db, repo_name)
    if known is not None:
        return known
    owner, _, name = repo_name.partition("/")
    try:
        return int(rt.github.integration.get_repo_installation(owner, name).id)
    except UnknownObjectException:
        raise SimulationError(f"the App is not installed on {repo_name}", 404) from None


def simulate(
    rt: Runtime,
    repo_name: str,
    number: int,
    *,
    approve: Sequence[str] = (),
    config_text: str | None = None,
    config_name: str = "",
    installation_id: int | None = None,
) -> Simulation:
    """The verdict on the pull request's current head. `approve`: logins whose approval of the
    head is added to GitHub's reviews; `config_text`: a configuration used instead of the
    default branch's (raises `rules.ConfigError` when invalid)."""
    if len(approve) > MAX_SIMULATED_APPROVALS:
        raise SimulationError(f"at most {MAX_SIMULATED_APPROVALS} simulated approvals")
    for login in approve:
        if not login or not all(ch.isalnum() or ch in "-[]" for ch in login) or len(login) > 100:
            raise SimulationError(f"not a GitHub login: {login!r}")
    config: GateConfig | None = None
    if config_text is not None:
        config = parse_repo_config(config_text, config_name or "the given configuration")
    if installation_id is None:
        installation_id = installation_for(rt, repo_name)
    gh = rt.github.client(installation_id)
    try:
        repo = gh.get_repo(repo_name)
        pull = repo.get_pull(number)
        head = pull.head.sha
    except UnknownObjectException:
        raise SimulationError(f"{repo_name}#{number}: no such pull request", 404) from None
    simulated = tuple(
        Review(user=login, user_type="User", state=APPROVED, commit_id=head, submitted_at=_LATER_THAN_ANY)
        for login in dict.fromkeys(approve)
    )
    found = assess(rt, repo_name, number, repo, pull, head, config=config, simulated=simulated)
    verdict = found.verdict
    if config is not None:
        config_from = config_name or "the given configuration"
    else:
        config_from = f"{repo_name}:.github/reviewgate.yml on {pull.base.repo.default_branch}"
    return Simulation(
        repo=repo_name,
        number=number,
        head=head,
        conclusion=verdict.conclusion,
        title=verdict.title,
        conditions=verdict.conditions,
        summary=verdict.summary,
        config_from=config_from,
        simulated_approvals=tuple(r.user for r in simulated),
    )


def answer(rt: Runtime, repo_name: str, number: int, approve: Sequence[str]) -> tuple[int, dict[str, Any]]:
    """The dry run as the web API answers it: (HTTP status, JSON body)."""
    try:
        return 200, simulate(rt, repo_name, number, approve=approve).as_json()
    except SimulationError as exc:
        return exc.status, {"error": str(exc)}
