"""Talking to the app as GitHub does for the gate: reviews, comments, re-check buttons and
merge groups. Payloads start from GitHub's published examples; the merge-group one is built
from GitHub's documented shape (the examples have none)."""

from __future__ import annotations

import copy
from typing import Any

import requests

from bot.store.db import CommandAudit, Evaluation
from tests.bot.harness import Bot, _example

REPO = "octo/demo"


def _common(bot: Bot, payload: dict[str, Any], repo: str) -> dict[str, Any]:
    fake_repo = bot.hub.repo(repo)
    payload["repository"] = bot.hub.shapes.repository(fake_repo)
    payload["installation"] = {"id": fake_repo.installation_id, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ=="}
    return payload


def review(bot: Bot, number: int, user: str, state: str = "APPROVED", *, repo: str = REPO,
           commit_id: str | None = None) -> requests.Response:
    """A review on GitHub, then its `pull_request_review.submitted` delivery."""
    review_id = bot.hub.add_review(repo, number, user=user, state=state, commit_id=commit_id)
    return send_review(bot, number, review_id, "submitted", repo=repo)


def send_review(bot: Bot, number: int, review_id: int, action: str, *, repo: str = REPO) -> requests.Response:
    name = "dismissed.payload.json" if action == "dismissed" else "submitted.payload.json"
    payload = copy.deepcopy(_example("pull_request_review", name))
    payload["action"] = action
    (shape,) = [r for r in bot.hub.reviews(repo, number) if r["id"] == review_id]
    payload["review"] = shape
    fake_repo = bot.hub.repo(repo)
    payload["pull_request"] = bot.hub.shapes.pull(
        fake_repo, bot.hub.pull(repo, number), bot.hub.pull_files(repo, number)
    )
    return bot.post("pull_request_review", _common(bot, payload, repo))


def comment(bot: Bot, number: int, user: str, body: str, *, repo: str = REPO, user_type: str = "User",
            on_pull: bool = True) -> tuple[int, requests.Response]:
    """A comment on GitHub, then its `issue_comment.created` delivery; (comment id, response)."""
    comment_id = bot.hub.add_comment(repo, number, user=user, body=body, user_type=user_type)
    return comment_id, send_comment(bot, number, comment_id, "created", repo=repo, on_pull=on_pull)


def send_comment(bot: Bot, number: int, comment_id: int, action: str, *, repo: str = REPO,
                 on_pull: bool = True) -> requests.Response:
    payload = copy.deepcopy(_example("issue_comment", "created.with-installation.payload.json"))
    payload["action"] = action
    (shape,) = [c for c in bot.hub.comments(repo, number) if c["id"] == comment_id]
    payload["comment"] = shape
    issue = payload["issue"]
    issue["number"] = number
    issue["url"] = f"{bot.hub.url}/repos/{repo}/issues/{number}"
    if on_pull:
        issue["pull_request"] = {
            "url": f"{bot.hub.url}/repos/{repo}/pulls/{number}",
            "html_url": f"https://github.com/{repo}/pull/{number}",
            "diff_url": f"https://github.com/{repo}/pull/{number}.diff",
            "patch_url": f"https://github.com/{repo}/pull/{number}.patch",
            "merged_at": None,
        }
    else:
        issue.pop("pull_request", None)
    payload["sender"] = shape["user"]
    if action == "edited":
        payload["changes"] = {"body": {"from": "(before)"}}
    return bot.post("issue_comment", _common(bot, payload, repo))


def press_recheck(bot: Bot, run: dict[str, Any], numbers: list[int], *, repo: str = REPO,
                  identifier: str = "recheck") -> requests.Response:
    """The "Re-check" button on the check run: `check_run.requested_action`."""
    payload = copy.deepcopy(_example("check_run", "requested_action.payload.json"))
    payload["check_run"].update(
        id=run["id"], name=run["name"], head_sha=run["head_sha"],
        pull_requests=[
            {"number": n, "id": n, "url": f"{bot.hub.url}/repos/{repo}/pulls/{n}",
             "head": {"ref": "x", "sha": run["head_sha"], "repo": {"id": 1, "url": "", "name": "x"}},
             "base": {"ref": "main", "sha": "0" * 40, "repo": {"id": 1, "url": "", "name": "x"}}}
            for n in numbers
        ],
    )
    payload["requested_action"] = {"identifier": identifier}
    payload.pop("organization", None)
    return bot.post("check_run", _common(bot, payload, repo))


def merge_group(bot: Bot, head_sha: str, head_ref: str, base_sha: str, *, repo: str = REPO,
                base_ref: str = "refs/heads/main") -> requests.Response:
    """`merge_group.checks_requested` as GitHub documents it: the group's head commit, its
    `gh-readonly-queue/...` ref, and the commit it was built on."""
    payload = {
        "action": "checks_requested",
        "merge_group": {
            "head_sha": head_sha,
            "head_ref": head_ref,
            "base_sha": base_sha,
            "base_ref": base_ref,
            "head_commit": {
                "id": head_sha,
                "tree_id": "0" * 40,
                "message": "Merge pull request from the merge queue",
                "timestamp": "2026-11-27T05:00:00Z",
                "author": {"name": "GitHub", "email": "noreply@github.com"},
                "committer": {"name": "GitHub", "email": "noreply@github.com"},
            },
        },
        "sender": bot.hub.shapes.user("octocat", "User"),
    }
    return bot.post("merge_group", _common(bot, payload, repo))


def settle(bot: Bot) -> None:
    bot.wait()


def run_on(bot: Bot, sha: str, repo: str = REPO) -> dict[str, Any]:
    return bot.latest_run(repo, sha)


def reactions(bot: Bot, comment_id: int) -> list[str]:
    return sorted(r["content"] for r in bot.hub.reactions(comment_id))


def replies(bot: Bot, number: int, repo: str = REPO) -> list[str]:
    """The app's comments other than the sticky summary."""
    login = bot.hub.shapes.bot_login()
    return [
        c["body"] for c in bot.hub.comments(repo, number)
        if c["user"]["login"] == login and "reviewgate:sticky" not in c["body"]
    ]


def audit(bot: Bot) -> list[CommandAudit]:
    with bot.runtime.db.session() as session:
        return list(session.query(CommandAudit).order_by(CommandAudit.id))


def evaluations(bot: Bot) -> list[Evaluation]:
    with bot.runtime.db.session() as session:
        return list(session.query(Evaluation).order_by(Evaluation.id))
