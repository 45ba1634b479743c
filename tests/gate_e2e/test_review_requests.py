"""`reviewers.request: true`: the owners an unmet `owners` rule needs are asked for a review
(teams as teams, users up to the rule's count, never the author or the head's pusher), once per
head, and the summary lists them. Over real HTTP against fakehub's review-request endpoint."""

from __future__ import annotations

from tests.bot.harness import Bot
from tests.fakehub.model import FileChange
from tests.gate_e2e.gatehub import REPO, review, run_on

CONFIG = (
    "reviewers:\n"
    "  request: true\n"
    "owners:\n"
    "  - paths: ['db/']\n"
    "    users: [alice, olga, owen, oscar]\n"
    "    count: 2\n"
    "  - paths: ['ui/']\n"
    "    teams: [octo/ui]\n"
)


def _requests(bot: Bot) -> list[dict[str, object]]:
    return [r.json_body for r in bot.hub.requests_to("POST", rf"^/repos/{REPO}/pulls/7/requested_reviewers$")]


def _setup(bot: Bot, config: str) -> str:
    hub = bot.hub
    hub.add_repo(REPO, default_branch="main", installation_id=42)
    hub.set_file(REPO, "main", ".github/reviewgate.yml", config)
    for login in ("alice", "olga", "owen", "oscar", "bob"):
        hub.add_collaborator(REPO, login, "write")
    hub.add_team("octo", "ui", members=["uma"])
    hub.add_pull(REPO, 7, author="alice", files=[FileChange("db/schema.py", before="A = 1\n", after="A = 2\n"),
                                                 FileChange("ui/view.py", before="B = 1\n", after="B = 2\n")])
    # Oscar pushes the head: his approval would not count, so he is not asked.
    head = hub.push(REPO, 7, files=[FileChange("db/schema.py", after="A = 3\n")], by="oscar")
    assert bot.open_pull(REPO, 7, sender="oscar").status_code == 202
    bot.wait()
    return head


def test_owners_are_asked_once_per_head_and_listed(bot: Bot) -> None:
    head = _setup(bot, CONFIG)
    (sent,) = _requests(bot)
    assert sorted(sent["reviewers"]) == ["olga", "owen"]  # type: ignore[arg-type]
    assert sent["team_reviewers"] == ["ui"]
    pull = bot.hub.pull(REPO, 7)
    assert sorted(pull.requested_reviewers) == ["olga", "owen"] and pull.requested_teams == ["ui"]
    run = run_on(bot, head)
    assert run["conclusion"] == "failure"
    note = "Reviews requested by Reviewgate for the owners' approvals still needed: @olga, @owen, `octo/ui`."
    assert note in run["output"]["summary"].replace("\u200b", "")

    # Evaluated again on the same head: nobody is asked twice, and the summary still says who was.
    review(bot, 7, "olga")
    bot.wait()
    assert len(_requests(bot)) == 1
    assert note in run_on(bot, head)["output"]["summary"].replace("\u200b", "")


def test_nobody_is_asked_unless_configured(bot: Bot) -> None:
    _setup(bot, CONFIG.replace("  request: true\n", "  request: false\n"))
    assert _requests(bot) == []
