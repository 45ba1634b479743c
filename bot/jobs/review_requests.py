"""`reviewers.request: true`: ask the owners an unmet `owners` rule or escalation needs for a
review, at most once per head, and say so in the summary. Whom to ask is `bot.policy.reviewers`'s.

A request GitHub refuses (someone without access to the repository, a team not given access)
is logged and the verdict goes on: asking is a courtesy, the gate does not depend on it.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta

from github import GithubException
from github.PullRequest import PullRequest
from sqlalchemy import func, select

from bot import render
from bot.github.client import reason_of
from bot.jobs.assess import Assessment
from bot.policy import reviewers
from bot.runtime import Runtime
from bot.store.db import CommandAudit, HeadPush, ReviewRequestRecord, utcnow

log = logging.getLogger(__name__)

ACTIVITY_DAYS = 30


def ask(rt: Runtime, repo_name: str, number: int, pull: PullRequest, found: Assessment) -> Assessment:
    """`found` with a note of the reviews asked for on its head (now or by an earlier evaluation)."""
    config, facts = found.config, found.facts
    if not config.reviewers.request or facts.config_error:
        return found
    with rt.db.session() as session:
        earlier = session.get(ReviewRequestRecord, (repo_name, number, found.head))
        if earlier is not None:
            return _noted(found, _split(earlier.users), _split(earlier.teams))
    asked_users = [u.login for u in pull.requested_reviewers]
    org = repo_name.partition("/")[0]
    asked_teams = [f"{org}/{t.slug}" for t in pull.requested_teams]
    wanted = reviewers.plan(facts, config, found.verdict, asked_users, asked_teams, _activity(rt, repo_name))
    if not wanted:
        return found
    try:
        pull.requester.requestJsonAndCheck(
            "POST", f"{pull.url}/requested_reviewers",
            input={"reviewers": list(wanted.users), "team_reviewers": [t.partition("/")[2] for t in wanted.teams]},
        )
    except GithubException as exc:
        log.warning("could not request reviews on %s#%s: %s", repo_name, number, reason_of(exc))
        return found
    with rt.db.session() as session:
        session.merge(ReviewRequestRecord(
            repo=repo_name, number=number, head_sha=found.head, users=",".join(wanted.users),
            teams=",".join(wanted.teams),
        ))
    return _noted(found, wanted.users, wanted.teams)


def _noted(found: Assessment, users: tuple[str, ...], teams: tuple[str, ...]) -> Assessment:
    if not users and not teams:
        return found
    named = [render.login(u) for u in sorted(users, key=str.casefold)] + [render.code(t) for t in teams]
    note = f"Reviews requested by Reviewgate for the owners' approvals still needed: {', '.join(named)}."
    return replace(found, notes=(*found.notes, note))


def _split(value: str) -> tuple[str, ...]:
    return tuple(v for v in value.split(",") if v)


def _activity(rt: Runtime, repo_name: str) -> dict[str, int]:
    """Recent actions in the repository that the bot saw: pushes and `/gate` commands per login."""
    since = utcnow() - timedelta(days=ACTIVITY_DAYS)
    out: dict[str, int] = {}
    with rt.db.session() as session:
        pushes = session.execute(
            select(HeadPush.pusher, func.count()).where(HeadPush.repo == repo_name, HeadPush.received_at >= since)
            .group_by(HeadPush.pusher)
        )
        commands = session.execute(
            select(CommandAudit.actor, func.count())
            .where(CommandAudit.repo == repo_name, CommandAudit.created_at >= since).group_by(CommandAudit.actor)
        )
        for login, count in (*pushes, *commands):
            out[login.casefold()] = out.get(login.casefold(), 0) + int(count)
    return out

