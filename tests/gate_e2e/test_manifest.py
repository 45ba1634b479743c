"""app.yaml, the GitHub App manifest, asks for what the bot uses: no more, no less."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.bot.harness import Bot
from tests.gate_e2e.gatehub import REPO, merge_group, review

MANIFEST = Path(__file__).resolve().parents[2] / "app.yaml"
# Events the webhook acts on (installation events reach every app without subscribing).
HANDLED = {"pull_request", "pull_request_review", "issue_comment", "check_run", "check_suite", "merge_group", "push"}


def test_the_manifest_subscribes_to_every_handled_event_with_the_permissions_they_need() -> None:
    manifest = yaml.safe_load(MANIFEST.read_text())
    assert {"name", "url", "hook_attributes", "redirect_url", "public"} <= set(manifest)
    assert manifest["hook_attributes"]["url"].endswith("/webhook")
    assert set(manifest["default_events"]) == HANDLED
    assert manifest["default_permissions"] == {
        "checks": "write",
        "pull_requests": "write",
        "issues": "write",
        "contents": "read",
        "members": "read",
        "metadata": "read",
        "merge_queues": "read",
    }


def test_every_event_in_the_manifest_is_acknowledged(bot: Bot) -> None:
    """A subscribed event the webhook does not know would be dropped silently."""
    from tests.fakehub.model import FileChange

    bot.hub.add_repo(REPO, default_branch="main", installation_id=42)
    bot.hub.add_collaborator(REPO, "bob", "write")
    head = bot.hub.add_pull(REPO, 7, author="alice", files=[FileChange("a.py", status="added", after="X = 1\n")]).head_sha
    assert bot.open_pull(REPO, 7).status_code == 202
    assert review(bot, 7, "bob").status_code == 202
    tip = bot.hub.repo(REPO).branches["main"]
    group = bot.hub.set_file(REPO, f"gh-readonly-queue/main/pr-7-{tip}", "q.txt", "7\n")
    assert merge_group(bot, group, f"refs/heads/gh-readonly-queue/main/pr-7-{tip}", tip).status_code == 202
    bot.wait()
    assert bot.latest_run(REPO, head)["conclusion"] == "success"
    assert bot.latest_run(REPO, group)["conclusion"] == "success"
