"""What a delivery asks for: one handler per GitHub event, each reading its payload into a
`Routed` (the pull requests to evaluate, or the job to record), without I/O.

A payload is signed data, yet only the fields a handler needs are read, each checked for its
type: a signed payload of the wrong shape is refused (`BadPayload`), never half-used.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from bot.policy.commands import parse_commands
from bot.policy.facts import is_bot
from bot.report import CHECK_NAME, RECHECK_IDENTIFIER
from bot.store.pull_state import PullRef

PR_ACTIONS = {"opened", "synchronize", "reopened", "ready_for_review", "edited"}
# Actions that bring a head commit onto the pull request; their sender pushed it.
PUSH_ACTIONS = {"opened", "synchronize", "reopened"}
REVIEW_ACTIONS = {"submitted", "edited", "dismissed"}
ORG_POLICY_REPO = ".github"  # an account's repository whose `.github/reviewgate.yml` applies to all
MAX_LOGIN = 100  # GitHub logins are at most 39 characters; bots add "[bot]"
MAX_ACTION = 64
MAX_REF = 255  # git refuses longer ref names
MAX_NUMBER = 2**31 - 1  # issue and pull request numbers (4-byte integers in the database)
MAX_ID = 2**63 - 1  # installation and comment ids
_SHA = re.compile(r"[0-9a-f]{40}(?:[0-9a-f]{24})?")
# GitHub: an owner of at most 39 characters, a repository name of at most 100.
_REPO = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}")
KNOWN_EVENTS = {
    "ping", "pull_request", "check_run", "check_suite", "installation", "installation_repositories",
    "pull_request_review", "issue_comment", "merge_group", "push",
}


class BadPayload(ValueError):
    """Signed, but not the shape GitHub sends for this event."""


class Outcome(StrEnum):
    """What the webhook does with a delivery; recorded with it and said in the answer."""

    QUEUED = "queued"
    RECORDED = "recorded"  # installation events: bookkeeping only
    PONG = "pong"
    IGNORED = "ignored"
    NO_INSTALLATION = "ignored: no installation"
    NO_PULL_REQUEST = "ignored: no pull request"


@dataclass(frozen=True)
class GateJobRef:
    key: str
    kind: str  # commands | merge_group
    data: dict[str, Any] | None  # None: run the recorded job again (a re-run of its check)


@dataclass(frozen=True)
class Routed:
    outcome: Outcome
    pulls: tuple[PullRef, ...] = ()
    repo: str | None = None
    installation_id: int | None = None
    job: GateJobRef | None = None
    pusher: str | None = None  # who brought the head of `pulls[0]` (pull_request PUSH_ACTIONS)
    policy_owner: str | None = None  # a push changed this account's organisation policy repository


@dataclass(frozen=True)
class _Event:
    name: str
    action: str | None
    payload: dict[str, Any]
    repo: str | None
    installation_id: int | None

    def ignored(self) -> Routed:
        return Routed(Outcome.IGNORED, repo=self.repo)


def route(event: str, payload: dict[str, Any]) -> Routed:
    action = payload.get("action")
    repo = _get(payload, "repository", "full_name")
    installation = _get(payload, "installation", "id")
    # What is stored must fit where it is stored (PostgreSQL refuses what does not).
    if isinstance(action, str) and (len(action) > MAX_ACTION or "\x00" in action):
        raise BadPayload("`action` is longer than any GitHub sends, or holds a NUL")
    if isinstance(repo, str) and not _REPO.fullmatch(repo):
        raise BadPayload("`repository.full_name` is not owner/name")
    if isinstance(installation, int) and not 0 < installation <= MAX_ID:
        raise BadPayload("`installation.id` is out of range")
    handler = _HANDLERS.get(event)
    found = _Event(
        # Not a string: no action a handler knows (and a list would not even compare with one).
        event, action if isinstance(action, str) else None, payload, repo if isinstance(repo, str) else None,
        installation if isinstance(installation, int) and not isinstance(installation, bool) else None,
    )
    return found.ignored() if handler is None else handler(found)


def _ping(e: _Event) -> Routed:
    return Routed(Outcome.PONG, repo=e.repo)


def _installation(e: _Event) -> Routed:
    return Routed(Outcome.RECORDED, repo=e.repo, installation_id=e.installation_id)


def _pull_request(e: _Event) -> Routed:
    if e.action not in PR_ACTIONS:
        return e.ignored()
    if e.action == "edited" and "base" not in (e.payload.get("changes") or {}):
        return e.ignored()
    pull = (_number(e.payload, "pull_request", "number"), _sha(e.payload, "pull_request", "head", "sha"))
    sender = _get(e.payload, "sender", "login")
    if isinstance(sender, str) and "\x00" in sender:
        raise BadPayload("`sender.login` holds a NUL")  # no text column of PostgreSQL can store it
    pusher = sender if e.action in PUSH_ACTIONS and isinstance(sender, str) and 0 < len(sender) <= MAX_LOGIN else None
    return _for_pulls(e, [pull], pusher)


def _pull_request_review(e: _Event) -> Routed:
    if e.action not in REVIEW_ACTIONS:
        return e.ignored()
    pull = (_number(e.payload, "pull_request", "number"), _sha(e.payload, "pull_request", "head", "sha"))
    return _for_pulls(e, [pull])


def _check(e: _Event) -> Routed:
    """`check_run` / `check_suite`: GitHub's Re-run, or the run's Re-check button."""
    if not (e.action == "rerequested" or (e.name == "check_run" and e.action == "requested_action")):
        return e.ignored()
    subject = _required(e.payload, dict, e.name)
    if e.name == "check_run" and subject.get("name") != CHECK_NAME:
        return e.ignored()
    if e.action == "requested_action" and _get(e.payload, "requested_action", "identifier") != RECHECK_IDENTIFIER:
        return e.ignored()
    head = _sha(subject, "head_sha")
    pulls: list[tuple[int, str | None]] = [(_number(pr, "number"), head) for pr in subject.get("pull_requests") or []]
    if not pulls and e.repo is not None and e.installation_id is not None:
        # No pull request on the commit: it may be a merge group's; re-run its check.
        job = GateJobRef(f"merge_group:{e.repo}@{head}", "merge_group", None)
        return Routed(Outcome.QUEUED, repo=e.repo, installation_id=e.installation_id, job=job)
    return _for_pulls(e, pulls)


def _issue_comment(e: _Event) -> Routed:
    if e.action != "created":
        return e.ignored()
    found = comment_job(e.payload)
    if found is None:
        return e.ignored()
    return _for_job(e, GateJobRef(found[0], "commands", found[1]))


def _merge_group(e: _Event) -> Routed:
    if e.action != "checks_requested":
        return e.ignored()
    found = merge_group_job(e.payload)
    if found is None:
        raise BadPayload("`merge_group.head_sha`, `merge_group.head_ref` or `repository` is missing")
    return _for_job(e, GateJobRef(found[0], "merge_group", found[1]))


def _push(e: _Event) -> Routed:
    """A push to the default branch of an account's `.github` repository may change the
    organisation's policy: the cached copy is forgotten. Other pushes are not the gate's
    business (pull requests have their own events)."""
    if e.repo is None or e.installation_id is None:
        return e.ignored()
    owner, _, name = e.repo.partition("/")
    branch = _get(e.payload, "repository", "default_branch")
    if name.casefold() != ORG_POLICY_REPO or not isinstance(branch, str) or e.payload.get("ref") != f"refs/heads/{branch}":
        return e.ignored()
    return Routed(Outcome.RECORDED, repo=e.repo, installation_id=e.installation_id, policy_owner=owner)


_HANDLERS: dict[str, Callable[[_Event], Routed]] = {
    "ping": _ping,
    "installation": _installation,
    "installation_repositories": _installation,
    "pull_request": _pull_request,
    "pull_request_review": _pull_request_review,
    "check_run": _check,
    "check_suite": _check,
    "issue_comment": _issue_comment,
    "merge_group": _merge_group,
    "push": _push,
}


def _acting(e: _Event) -> Routed | None:
    """None when the delivery can be acted on; else what to answer instead."""
    if e.repo is None:
        raise BadPayload("`repository.full_name` is missing")
    if e.installation_id is None:
        # Not sent by an installation of the app (e.g. a repository webhook): nothing to act for.
        return Routed(Outcome.NO_INSTALLATION, repo=e.repo)
    return None


def _for_job(e: _Event, job: GateJobRef) -> Routed:
    return _acting(e) or Routed(Outcome.QUEUED, repo=e.repo, installation_id=e.installation_id, job=job)


def _for_pulls(e: _Event, pulls: list[tuple[int, str | None]], pusher: str | None = None) -> Routed:
    refused = _acting(e)
    if refused is not None:
        return refused
    assert e.repo is not None and e.installation_id is not None
    if not pulls:
        return Routed(Outcome.NO_PULL_REQUEST, repo=e.repo, installation_id=e.installation_id)
    refs = tuple(PullRef(e.repo, number, e.installation_id, head) for number, head in pulls)
    return Routed(Outcome.QUEUED, pulls=refs, repo=e.repo, installation_id=e.installation_id, pusher=pusher)


def comment_job(payload: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The command job a comment asks for, or None: not on a pull request, by a bot, or
    holding no `/gate` line. Pure, so the webhook can decide before acknowledging."""
    issue = payload.get("issue") or {}
    comment = payload.get("comment") or {}
    user = comment.get("user") or {}
    if not isinstance(issue, dict) or not issue.get("pull_request"):
        return None  # a plain issue: the gate has nothing to say there
    login, kind = user.get("login"), user.get("type") or "User"
    if not isinstance(login, str) or is_bot(login, kind):
        return None  # bots, ours included, are never answered
    body = comment.get("body")
    if not isinstance(body, str) or not parse_commands(body):
        return None
    comment_id, number = comment.get("id"), issue.get("number")
    if not isinstance(comment_id, int) or not isinstance(number, int):
        return None
    if not (0 < comment_id <= MAX_ID and 0 < number <= MAX_NUMBER):
        return None
    return f"comment:{comment_id}", {
        "comment_id": comment_id,
        "number": number,
        "actor": login,
        "actor_type": kind,
        "body": body,
        "created_at": comment.get("created_at") or "",
    }


def merge_group_job(payload: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The merge-group job a `merge_group.checks_requested` event asks for, or None if malformed."""
    group = payload.get("merge_group") or {}
    head_sha, head_ref = group.get("head_sha"), group.get("head_ref")
    repo = (payload.get("repository") or {}).get("full_name")
    if not all(isinstance(v, str) and v for v in (head_sha, head_ref, repo)):
        return None
    if not _SHA.fullmatch(str(head_sha)) or len(str(head_ref)) > MAX_REF:
        return None
    return f"merge_group:{repo}@{head_sha}", {
        "head_sha": head_sha,
        "head_ref": head_ref,
        "base_sha": group.get("base_sha") or "",
        "base_ref": group.get("base_ref") or "",
    }


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _required(data: Any, kind: type, *path: str) -> Any:
    value = _get(data, *path)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise BadPayload(f"`{'.'.join(path)}` is missing or not a {kind.__name__}")
    return value


def _number(data: Any, *path: str) -> int:
    """A pull request's number: a positive int that fits the database's integers."""
    value: int = _required(data, int, *path)
    if not 0 < value <= MAX_NUMBER:
        raise BadPayload(f"`{'.'.join(path)}` is out of range")
    return value


def _sha(data: Any, *path: str) -> str:
    """A commit sha: 40 (SHA-1) or 64 (SHA-256) lowercase hex digits."""
    value: str = _required(data, str, *path)
    if not _SHA.fullmatch(value):
        raise BadPayload(f"`{'.'.join(path)}` is not a commit sha")
    return value
