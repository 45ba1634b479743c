"""Stacked pull requests: one whose base is another pull request's branch is judged by the default
branch's policy and says which base its diff is against; when its base is retargeted, approvals
carry over only if its own changes are unchanged. Over real HTTP: fakehub's `PATCH .../pulls/{n}`
with `base`, and GitHub's `pull_request.edited` delivery with `changes.base`."""

from __future__ import annotations

import requests

from bot.render import short
from tests.bot.harness import Bot
from tests.fakehub.model import FileChange
from tests.gate_e2e.gatehub import REPO, review, run_on

LOWER = "alice/lower"
BASE_PY = "def total(values):\n    return sum(values)\n"
LOWER_PY = "def mean(values):\n    return sum(values) / len(values)\n"
UPPER_PY = "def first(values):\n    return values[0]\n"


def _stack(bot: Bot) -> str:
    """#6 adds lower.py on `alice/lower`; #7 adds upper.py on top of it, based on `alice/lower`."""
    hub = bot.hub
    hub.add_repo(REPO, default_branch="main", installation_id=42)
    hub.set_file(REPO, "main", ".github/reviewgate.yml", "approvals:\n  required: 1\n")
    hub.set_file(REPO, "main", "app/base.py", BASE_PY)
    for login in ("alice", "bob"):
        hub.add_collaborator(REPO, login, "write")
    hub.add_pull(REPO, 6, author="alice", head_ref=LOWER, files=[FileChange("app/lower.py", status="added", after=LOWER_PY)])
    upper = hub.add_pull(REPO, 7, author="alice", base=LOWER,
                         files=[FileChange("app/upper.py", status="added", after=UPPER_PY)]).head_sha
    assert bot.open_pull(REPO, 7).status_code == 202
    bot.wait()
    return upper


def _retarget(bot: Bot, base: str) -> None:
    """Through GitHub's API, then the `edited` event GitHub sends for it."""
    before = bot.hub.pull(REPO, 7)
    former = (before.base_ref, before.base_sha)
    token = bot.runtime.github.installation_auth(42).token
    answer = requests.patch(f"{bot.hub.url}/repos/{REPO}/pulls/7", json={"base": base},
                            headers={"Authorization": f"token {token}"}, timeout=30)
    assert answer.status_code == 200, answer.text
    assert answer.json()["base"]["ref"] == base
    assert bot.post("pull_request", bot.retargeted_payload(REPO, 7, former, "alice")).status_code == 202
    bot.wait()


def test_a_stacked_pull_request_is_judged_by_the_default_branchs_policy_and_names_its_base(bot: Bot) -> None:
    head = _stack(bot)
    # The branch #7 is stacked on gets a policy of its own that would let anything through.
    bot.hub.set_file(REPO, LOWER, ".github/reviewgate.yml", "approvals:\n  required: 0\n")
    review(bot, 7, "bob", state="COMMENTED")
    bot.wait()
    run = run_on(bot, head)
    assert run["conclusion"] == "failure"  # main's `required: 1`, not the lower branch's `0`
    assert "The diff is computed against `alice/lower` (this pull request is stacked on another branch); the " \
           "policy is the default branch's (`main`)." in run["output"]["summary"]
    assert [f["filename"] for f in bot.hub.pull_files(REPO, 7) if f["filename"].endswith(".py")] == ["app/upper.py"]


def test_after_the_lower_one_merges_the_approval_carries_over(bot: Bot) -> None:
    head = _stack(bot)
    review(bot, 7, "bob")
    bot.wait()
    assert run_on(bot, head)["conclusion"] == "success"
    # #6 merges: main now has everything #7 was stacked on, so #7's own diff is unchanged.
    bot.hub.set_file(REPO, "main", "app/lower.py", LOWER_PY)
    bot.hub.close_pull(REPO, 6, merged=True)
    _retarget(bot, "main")
    run = run_on(bot, head)
    assert run["conclusion"] == "success", run["output"]["summary"]
    assert "the changes are identical against `main`" in run["output"]["summary"]


def test_retargeted_onto_a_base_without_the_lower_changes_the_approval_no_longer_counts(bot: Bot) -> None:
    head = _stack(bot)
    review(bot, 7, "bob")
    bot.wait()
    assert run_on(bot, head)["conclusion"] == "success"
    # Retargeted while #6 is unmerged: #7 now brings lower.py too, which bob never approved here.
    _retarget(bot, "main")
    assert sorted(f["filename"] for f in bot.hub.pull_files(REPO, 7) if f["filename"].endswith(".py")) == [
        "app/lower.py", "app/upper.py",
    ]
    run = run_on(bot, head)
    assert run["conclusion"] == "failure", run["output"]["summary"]
    assert run["output"]["title"] == f"Blocked: needs 1 peer approval on {short(head)}"
    assert "stale: the base changed to `main` since, and the pull request's changes differ" in run["output"]["summary"]
