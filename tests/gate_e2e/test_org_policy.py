"""The organisation's policy: `.github/reviewgate.yml` in the account's `.github` repository
applies to every repository; a repository's file may `extends: org` and override what is not
locked; the summary says where each setting came from; the copy is kept until a push to that
repository. Over real HTTP against fakehub, with GitHub's push payload."""

from __future__ import annotations

import copy

from bot.render import short
from tests.bot.harness import Bot, _example
from tests.fakehub.model import FileChange
from tests.gate_e2e.gatehub import REPO, review, run_on

CONFIG = ".github/reviewgate.yml"
ORG_REPO = "octo/.github"
CLEAN = "def total(values):\n    return sum(values)\n"
ORG_POLICY = (
    "approvals:\n"
    "  required: 2\n"
    "findings:\n"
    "  on_error: block\n"
    "comment: off\n"
    "locked: [approvals.required, findings.on_error]\n"
)


def _setup(bot: Bot, repo_config: str | None) -> str:
    hub = bot.hub
    hub.add_repo(ORG_REPO, default_branch="main", installation_id=42)
    hub.set_file(ORG_REPO, "main", CONFIG, ORG_POLICY)
    hub.add_repo(REPO, default_branch="main", installation_id=42)
    if repo_config is not None:
        hub.set_file(REPO, "main", CONFIG, repo_config)
    for login in ("alice", "bob", "carol"):
        hub.add_collaborator(REPO, login, "write")
    head = hub.add_pull(REPO, 7, author="alice", files=[FileChange("app/stats.py", before=CLEAN, after=CLEAN + "\n")]).head_sha
    assert bot.open_pull(REPO, 7).status_code == 202
    bot.wait()
    return head


def _push_to_org_repo(bot: Bot, ref: str = "refs/heads/main") -> int:
    payload = copy.deepcopy(_example("push", "with-installation.payload.json"))
    payload["ref"] = ref
    payload["repository"] = bot.hub.shapes.repository(bot.hub.repo(ORG_REPO))
    payload["installation"] = {"id": 42, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ=="}
    return bot.post("push", payload).status_code


def _policy_reads(bot: Bot) -> int:
    return len(bot.hub.requests_to("GET", rf"^/repos/{ORG_REPO}/contents/"))


def test_locked_settings_hold_against_a_weaker_repository_file(bot: Bot) -> None:
    head = _setup(bot, "extends: org\napprovals:\n  required: 1\nfindings:\n  on_error: warn\ncomment: sticky\n")
    review(bot, 7, "bob")
    bot.wait()
    run = run_on(bot, head)
    # The organisation locked two approvals: the repository's `required: 1` does not lower it.
    assert run["conclusion"] == "failure"
    assert run["output"]["title"] == f"Blocked: needs 1 more peer approval on {short(head)}"
    summary = run["output"]["summary"]
    assert "### Configuration" in summary
    org_file = "`octo/.github:.github/reviewgate.yml`"
    assert (f"| `approvals.required` | `2` | organisation ({org_file}), line 2, locked by the organisation; "
            "the repository's `1` is weaker and not used |") in summary
    assert (f"| `findings.on_error` | `block` | organisation ({org_file}), line 4, locked by the organisation; "
            "the repository's `warn` is weaker and not used |") in summary
    # Not locked: the repository's own choice wins over the organisation's `comment: off`.
    assert "| `comment` | `sticky` | repository (`.github/reviewgate.yml`), line 6 |" in summary
    assert "| `approvals.dismiss_stale` | `true` | default |" in summary
    assert bot.hub.comments(REPO, 7)  # the sticky comment, as the repository asked

    review(bot, 7, "carol")
    bot.wait()
    assert run_on(bot, head)["conclusion"] == "success"
    # Read once, then kept: three evaluations, one read of the organisation's file.
    assert _policy_reads(bot) == 1


def test_a_repository_without_a_file_follows_the_organisation_until_a_push_changes_it(bot: Bot) -> None:
    head = _setup(bot, None)
    review(bot, 7, "bob")
    bot.wait()
    run = run_on(bot, head)
    assert run["output"]["title"] == f"Blocked: needs 1 more peer approval on {short(head)}"
    assert not bot.hub.comments(REPO, 7)  # `comment: off` from the organisation
    assert _policy_reads(bot) == 1

    # The organisation relaxes its policy. Until GitHub says so (the push), the kept copy holds.
    bot.hub.set_file(ORG_REPO, "main", CONFIG, "approvals:\n  required: 1\n")
    assert _push_to_org_repo(bot, "refs/heads/some-branch") == 204  # not the default branch: ignored
    review(bot, 7, "bob", state="COMMENTED")
    bot.wait()
    assert run_on(bot, head)["conclusion"] == "failure"
    assert _policy_reads(bot) == 1

    assert _push_to_org_repo(bot) == 202
    review(bot, 7, "bob", state="COMMENTED")
    bot.wait()
    run = run_on(bot, head)
    assert run["conclusion"] == "success", run["output"]["summary"]
    assert f"| `approvals.required` | `1` | organisation (`{ORG_REPO}:.github/reviewgate.yml`), line 2 |" in run["output"]["summary"]
    assert _policy_reads(bot) == 2


def test_an_invalid_organisation_policy_fails_closed(bot: Bot) -> None:
    hub = bot.hub
    hub.add_repo(ORG_REPO, default_branch="main", installation_id=42)
    hub.set_file(ORG_REPO, "main", CONFIG, "approvals:\n  required: 2\nlocked: [approvals.requierd]\n")
    hub.add_repo(REPO, default_branch="main", installation_id=42)
    hub.add_collaborator(REPO, "bob", "write")
    head = hub.add_pull(REPO, 7, author="alice", files=[FileChange("app/stats.py", before=CLEAN, after=CLEAN + "\n")]).head_sha
    assert bot.open_pull(REPO, 7).status_code == 202
    review(bot, 7, "bob")
    bot.wait()
    run = run_on(bot, head)
    assert run["conclusion"] == "failure"
    assert run["output"]["title"].startswith(
        "Blocked: invalid configuration: octo/.github:.github/reviewgate.yml:3: `approvals.requierd` cannot be locked"
    )
