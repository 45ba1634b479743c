"""Reviewer commands end to end: who may run what, the reactions and replies, and what a
command changes in the check."""

from __future__ import annotations

from bot.policy.commands import HELP_TEXT
from bot.render import short
from bot.store.db import HoldRecord, WaiverRecord
from tests.bot.harness import Bot
from tests.fakehub.model import FileChange
from tests.gate_e2e.gatehub import (
    REPO,
    audit,
    comment,
    evaluations,
    reactions,
    replies,
    review,
    run_on,
    send_comment,
)

CLEAN = "X = 1\n"
NAIVE = "from datetime import datetime\n\n\ndef stamp():\n    return datetime.now()\n"


def _pull(bot: Bot, after: str = CLEAN, number: int = 7) -> str:
    hub = bot.hub
    if REPO not in hub._repos:
        hub.add_repo(REPO, default_branch="main", installation_id=42)
        hub.add_collaborator(REPO, "bob", "write")
        hub.add_collaborator(REPO, "mia", "maintain")
        hub.add_collaborator(REPO, "rita", "read")
    head = hub.add_pull(REPO, number, author="alice", files=[FileChange(f"app/m{number}.py", status="added", after=after)]).head_sha
    bot.open_pull(REPO, number)
    bot.wait()
    return head


def test_hold_blocks_until_unhold(bot: Bot) -> None:
    head = _pull(bot)
    review(bot, 7, "bob")
    bot.wait()
    assert run_on(bot, head)["conclusion"] == "success"

    held, response = comment(bot, 7, "bob", "/gate hold waiting for the schema migration")
    assert response.status_code == 202 and response.json()["outcome"] == "queued"
    bot.wait()
    assert reactions(bot, held) == ["+1"]
    run = run_on(bot, head)
    assert run["conclusion"] == "failure"
    assert run["output"]["title"] == "Blocked: on hold by @bob"
    assert "On hold by @bob: waiting for the schema migration" in run["output"]["summary"]
    assert "`/gate unhold` by @bob, or by someone with at least their permission who is not the PR author." in run["output"]["summary"]

    # Someone with at least the placer's permission may lift the hold (see test_command_limits).
    released, _ = comment(bot, 7, "mia", "/gate unhold")
    bot.wait()
    assert reactions(bot, released) == ["+1"]
    assert run_on(bot, head)["conclusion"] == "success"
    with bot.runtime.db.session() as session:
        assert session.query(HoldRecord).count() == 0


def test_unwaive_takes_a_waiver_back(bot: Bot) -> None:
    head = _pull(bot, NAIVE)
    review(bot, 7, "bob")
    bot.wait()
    fetched = bot.hub.blob_fetches
    comment(bot, 7, "bob", "/gate waive RG1 shown to people only")
    bot.wait()
    assert run_on(bot, head)["conclusion"] == "success"
    # The waiver's fingerprints and the re-evaluation come from the analysis cache.
    assert bot.hub.blob_fetches == fetched

    taken, _ = comment(bot, 7, "mia", "/gate unwaive RG1")
    bot.wait()
    assert reactions(bot, taken) == ["+1"]
    run = run_on(bot, head)
    assert run["conclusion"] == "failure"
    assert run["output"]["title"] == "Blocked: 1 time finding not waived"
    assert "Active waivers" not in run["output"]["summary"]
    with bot.runtime.db.session() as session:
        (waiver,) = session.query(WaiverRecord).all()
        assert (waiver.revoked_by, waiver.pattern, waiver.by) == ("mia", "RG1", "bob")

    # Nothing left to take back: refused, with the reason.
    again, _ = comment(bot, 7, "mia", "/gate unwaive RG1")
    bot.wait()
    assert reactions(bot, again) == ["confused"]
    assert any("There is no active waiver of `RG1`" in r for r in replies(bot, 7))


def test_a_waiver_needs_a_reason_and_a_finding_to_cover(bot: Bot) -> None:
    head = _pull(bot, NAIVE)
    bare, _ = comment(bot, 7, "bob", "/gate waive RG101")
    nothing, _ = comment(bot, 7, "bob", "/gate waive RG2 no storage here")
    bot.wait()
    assert reactions(bot, bare) == ["confused"] and reactions(bot, nothing) == ["confused"]
    said = "\n".join(replies(bot, 7))
    assert "A waiver needs a reason." in said
    assert f"There is no `RG2` finding on the changed lines at `{short(head)}`" in said
    with bot.runtime.db.session() as session:
        assert session.query(WaiverRecord).count() == 0


def test_help_and_explain_reply_to_anyone(bot: Bot) -> None:
    _pull(bot)
    helped, _ = comment(bot, 7, "rita", "/gate help")
    explained, _ = comment(bot, 7, "stranger", "thanks!\n/gate explain RG101")
    bot.wait()
    assert reactions(bot, helped) == ["+1"] and reactions(bot, explained) == ["+1"]
    got = replies(bot, 7)
    assert len(got) == 2
    # Each answers its own comment (the two are answered side by side, in either order).
    (help_reply,) = [r for r in got if f"reply:{helped} " in r]
    (explain_reply,) = [r for r in got if f"reply:{explained} " in r]
    assert HELP_TEXT.strip() in help_reply
    assert "RG101" in explain_reply and "naive" in explain_reply.lower()
    # Neither changes the gate, so no evaluation follows.
    assert len(evaluations(bot)) == 1


def test_an_unknown_command_is_answered_with_confused_and_a_reply(bot: Bot) -> None:
    _pull(bot)
    unknown, _ = comment(bot, 7, "bob", "/gate frobnicate now")
    bot.wait()
    assert reactions(bot, unknown) == ["confused"]
    (reply,) = replies(bot, 7)
    assert "`/gate frobnicate` is not a command." in reply and "/gate help" in reply
    assert [(a.name, a.outcome) for a in audit(bot)] == [("frobnicate", "unknown")]


def test_a_recheck_by_someone_without_write_permission_is_refused(bot: Bot) -> None:
    _pull(bot)
    refused, _ = comment(bot, 7, "rita", "/gate recheck")
    bot.wait()
    assert reactions(bot, refused) == ["confused"]
    (reply,) = replies(bot, 7)
    assert "`/gate recheck` needs write permission on this repository; @rita has read." in reply
    assert "Someone with write, maintain or admin permission may run it." in reply
    assert len(evaluations(bot)) == 1  # no re-evaluation
    (row,) = audit(bot)
    assert (row.actor, row.name, row.outcome) == ("rita", "recheck", "refused")
    assert "needs write permission" in row.detail


def test_a_recheck_by_a_writer_evaluates_again(bot: Bot) -> None:
    head = _pull(bot)
    accepted, _ = comment(bot, 7, "bob", "/gate recheck")
    bot.wait()
    assert reactions(bot, accepted) == ["+1"]
    assert [e.trigger for e in evaluations(bot)] == ["pull_request.opened", "issue_comment.command"]
    assert evaluations(bot)[-1].head_sha == head


def test_several_commands_in_one_comment_get_one_reply(bot: Bot) -> None:
    head = _pull(bot, NAIVE)
    review(bot, 7, "bob")
    both, _ = comment(bot, 7, "bob", "/gate waive RG101 display only\n/gate bogus\n> /gate hold quoted, not run")
    bot.wait()
    assert reactions(bot, both) == ["+1", "confused"]
    (reply,) = replies(bot, 7)
    assert "`/gate bogus` is not a command." in reply
    assert run_on(bot, head)["conclusion"] == "success"  # the quoted hold did not run
    assert [(a.position, a.name, a.outcome) for a in audit(bot)] == [(0, "waive", "accepted"), (1, "bogus", "unknown")]


def test_comments_on_plain_issues_and_by_bots_are_ignored(bot: Bot) -> None:
    _pull(bot)
    issue = bot.hub.add_issue(REPO, author="carol")
    comment_id, response = comment(bot, issue, "bob", "/gate help", on_pull=False)
    assert response.status_code == 204
    by_bot, response = comment(bot, 7, "ci-helper[bot]", "/gate recheck", user_type="Bot")
    assert response.status_code == 204
    ours, response = comment(bot, 7, bot.hub.shapes.bot_login(), "/gate help", user_type="Bot")
    assert response.status_code == 204
    no_command, response = comment(bot, 7, "bob", "LGTM, but see /gate help later")
    assert response.status_code == 204
    bot.wait()
    for cid in (comment_id, by_bot, ours, no_command):
        assert reactions(bot, cid) == []
    assert replies(bot, 7) == ["/gate help"]  # only the app's own comment made above
    assert replies(bot, issue) == []
    assert audit(bot) == []


def test_editing_or_deleting_a_command_later_changes_nothing(bot: Bot) -> None:
    head = _pull(bot, NAIVE)
    review(bot, 7, "bob")
    waived, _ = comment(bot, 7, "bob", "/gate waive RG101 display only")
    bot.wait()
    assert run_on(bot, head)["conclusion"] == "success"

    bot.hub.edit_comment(waived, "/gate unwaive RG101")
    assert send_comment(bot, 7, waived, "edited").status_code == 204
    # The same delivery of the original comment again (a new GUID): the command ran once.
    assert send_comment(bot, 7, waived, "created").json()["outcome"] == "recorded: nothing to run"
    bot.wait()
    assert run_on(bot, head)["conclusion"] == "success"
    assert len(audit(bot)) == 1


def test_the_re_check_button_and_a_dismissed_review(bot: Bot) -> None:
    from tests.gate_e2e.gatehub import press_recheck, send_review

    head = _pull(bot)
    patches = [r for r in bot.hub.requests_to("PATCH", r"/check-runs/\d+$") if (r.json_body or {}).get("actions")]
    assert patches and patches[-1].json_body["actions"] == [
        {"label": "Re-check", "description": "Evaluate the gate again now", "identifier": "recheck"}
    ]
    review_id = bot.hub.add_review(REPO, 7, user="bob")
    send_review(bot, 7, review_id, "submitted")
    bot.wait()
    assert run_on(bot, head)["conclusion"] == "success"

    bot.hub.dismiss_review(REPO, 7, review_id)
    send_review(bot, 7, review_id, "dismissed")
    bot.wait()
    assert run_on(bot, head)["conclusion"] == "failure"

    before = len(evaluations(bot))
    assert press_recheck(bot, run_on(bot, head), [7]).status_code == 202
    assert press_recheck(bot, run_on(bot, head), [7], identifier="something-else").status_code == 204
    bot.wait()
    assert len(evaluations(bot)) == before + 1
    assert evaluations(bot)[-1].trigger == "check_run.requested_action"


def test_owners_count_team_members_only(bot: Bot) -> None:
    hub = bot.hub
    hub.add_repo(REPO, default_branch="main", installation_id=42)
    hub.set_file(REPO, "main", ".github/reviewgate.yml", "owners:\n  - paths: [app/]\n    teams: [octo/core]\n")
    hub.add_collaborator(REPO, "bob", "write")
    hub.add_collaborator(REPO, "carol", "write")
    hub.add_team("octo", "core", members=["bob"])
    head = hub.add_pull(REPO, 7, author="alice", files=[FileChange("app/m.py", status="added", after=CLEAN)]).head_sha
    review(bot, 7, "carol")
    bot.wait()
    run = run_on(bot, head)
    assert run["conclusion"] == "failure"
    assert run["output"]["title"] == "Blocked: needs 1 owner approval for app/"
    review(bot, 7, "bob")
    bot.wait()
    assert run_on(bot, head)["conclusion"] == "success"
    # One membership lookup per approver and team, one permission lookup per reviewer.
    assert len(hub.requests_to("GET", r"/collaborators/carol/permission$")) == 2  # one per evaluation


def test_commands_on_one_pull_request_take_effect_in_the_order_written(bot: Bot) -> None:
    head = _pull(bot)
    review(bot, 7, "bob")
    bot.wait()
    bot.stop()
    held, _ = comment(bot, 7, "bob", "/gate hold until Friday")
    released, _ = comment(bot, 7, "mia", "/gate unhold")
    # The later comment's job runs first (as a second worker may make it): it applies the
    # earlier comment before its own, so the PR does not end up held.
    bot.queue.huey.flush()
    bot.queue.enqueue_gate_job(f"comment:{released}")
    bot.wait()
    assert reactions(bot, held) == ["+1"] and reactions(bot, released) == ["+1"]
    assert [(a.actor, a.name) for a in audit(bot)] == [("bob", "hold"), ("mia", "unhold")]
    assert run_on(bot, head)["conclusion"] == "success"


def test_a_command_job_retried_after_a_failed_reply_applies_and_replies_once(bot: Bot) -> None:
    head = _pull(bot)
    bot.hub.strict = False  # the injected 502s are not GitHub's documented answers
    # Every try of the first attempt's reply fails (PyGithub retries twice here).
    bot.hub.fail("POST", r"/issues/7/comments$", 502, times=3)
    held, _ = comment(bot, 7, "bob", "/gate hold release freeze\n/gate bogus")
    bot.wait()
    assert reactions(bot, held) == ["+1", "confused"]
    (reply,) = replies(bot, 7)
    assert "`/gate bogus` is not a command." in reply
    assert [(a.name, a.outcome) for a in audit(bot)] == [("hold", "accepted"), ("bogus", "unknown")]
    assert run_on(bot, head)["output"]["title"].startswith("Blocked: on hold by @bob")
