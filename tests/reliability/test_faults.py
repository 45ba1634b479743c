"""Faults from GitHub: the bot retries, waits as GitHub asks, and never goes green by accident."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import pytest

from bot.report import STICKY_MARKER
from bot.store.db import CheckRunRecord, PostedSuggestion, utcnow
from tests.bot.harness import SQLITE, Bot
from tests.fakehub.model import FileChange
from tests.gate_e2e.gatehub import comment, replies
from tests.reliability.conftest import NAIVE, OLD, REPO
from tests.reliability.helpers import wait_for


def _pull(bot: Bot, number: int = 7) -> str:
    pr = bot.hub.add_pull(REPO, number=number, author="alice", files=[FileChange("app/clock.py", before=OLD, after=NAIVE)])
    return pr.head_sha


def _assert_right_verdict(bot: Bot, head: str) -> None:
    run = bot.latest_run(REPO, head)
    assert (run["status"], run["conclusion"]) == ("completed", "failure")
    assert [a["title"].split()[0] for a in run["annotations"]] == ["RG101"]


def _writes(bot: Bot) -> list[tuple[str, str, int]]:
    return [(r.method, r.path, r.status) for r in bot.hub.requests if r.method in ("POST", "PATCH") and r.path.startswith("/repos/")]


def test_drill_first_three_writes_fail_502_502_secondary_rate_limit(make_bot: Callable[..., Bot]) -> None:
    bot = make_bot(github_retries=3)
    head = _pull(bot)
    bot.hub.strict = False  # injected faults are not answers GitHub documents for these calls
    bot.hub.fail("POST", r"/check-runs$", 502, times=2)
    bot.hub.secondary_rate_limit("POST", r"/check-runs$", retry_after=1)
    retries_before = bot.metric("reviewgate_jobs_total", outcome="retry")
    started = time.monotonic()
    assert bot.open_pull(REPO, 7).status_code == 202
    bot.wait(60)

    assert [status for _, _, status in _writes(bot)[:4]] == [502, 502, 403, 201]
    _assert_right_verdict(bot, head)
    assert len(bot.hub.check_runs(REPO, head)) == 1  # retried, not duplicated
    # PyGithub's retry absorbed all three within the one job, waiting out Retry-After.
    assert bot.metric("reviewgate_jobs_total", outcome="retry") == retries_before
    assert time.monotonic() - started >= 1.0
    assert bot.metric("reviewgate_github_requests_total", method="POST", kind="check-runs", status="502") >= 2
    assert bot.metric("reviewgate_github_requests_total", method="POST", kind="check-runs", status="403") >= 1


# A write whose answer is lost (GitHub's front answered 502, or the connection was cut after
# the request went out) may have been made. Creations are looked for before they are sent again.
LOST = {
    "502": {"status": 502},
    "timeout": {"status": None, "delay": 3},  # past the client's 1 s timeout
}


# A naive `datetime.now()` whose fix (`timezone.utc`, imported already) is offered as a suggestion.
FIXABLE = OLD + "\n\ndef naive():\n    print(datetime.now())\n"


def _lost(bot: Bot, path: str, how: str) -> None:
    bot.hub.strict = False
    bot.hub.fail("POST", path, served=True, **LOST[how])  # type: ignore[arg-type]


@pytest.mark.parametrize("how", LOST)
@pytest.mark.parametrize("path", [r"/check-runs$", r"/issues/7/comments$"], ids=["check run", "sticky comment"])
def test_a_check_run_or_sticky_comment_made_by_github_whose_answer_was_lost_is_found_not_made_again(
    make_bot: Callable[..., Bot], path: str, how: str
) -> None:
    bot = make_bot(github_timeout=1)
    head = _pull(bot)
    _lost(bot, path, how)
    bot.open_pull(REPO, 7)
    bot.wait(60)
    _assert_right_verdict(bot, head)
    assert len(bot.hub.check_runs(REPO, head)) == 1
    sticky = [c for c in bot.hub.comments(REPO, 7) if c["body"].startswith(STICKY_MARKER)]
    assert len(sticky) == 1 and "RG101" in sticky[0]["body"]
    assert len(bot.hub.requests_to("POST", path)) == 1


@pytest.mark.parametrize("how", LOST)
def test_a_command_reply_made_by_github_whose_answer_was_lost_is_found_not_made_again(
    make_bot: Callable[..., Bot], how: str
) -> None:
    bot = make_bot(github_timeout=1)
    _pull(bot)
    bot.open_pull(REPO, 7)
    bot.wait(60)
    _lost(bot, r"/issues/7/comments$", how)
    posted = len(bot.hub.requests_to("POST", r"/issues/7/comments$"))
    comment(bot, 7, "alice", "/gate frobnicate")
    bot.wait(60)
    assert len([r for r in replies(bot, 7) if "is not a command" in r]) == 1
    assert len(bot.hub.requests_to("POST", r"/issues/7/comments$")) == posted + 1


@pytest.mark.parametrize("how", LOST)
def test_a_review_of_suggestions_made_by_github_whose_answer_was_lost_is_found_not_made_again(
    make_bot: Callable[..., Bot], how: str
) -> None:
    bot = make_bot(github_timeout=1)
    bot.hub.add_pull(REPO, number=7, author="alice", files=[FileChange("app/clock.py", before=OLD, after=FIXABLE)])
    _lost(bot, r"/pulls/7/reviews$", how)
    bot.open_pull(REPO, 7)
    bot.wait(60)
    (review,) = bot.hub.reviews_posted(REPO, 7)
    assert "```suggestion" in review["comments"][0]["body"]
    assert len(bot.hub.requests_to("POST", r"/pulls/7/reviews$")) == 1
    with bot.runtime.db.session() as session:  # recorded as offered: not offered again
        assert session.query(PostedSuggestion).count() == 1


def test_a_run_of_another_app_with_the_token_of_a_creation_cut_short_is_not_taken_for_ours(bot: Bot) -> None:
    # An evaluation stopped after recording its creation token; another App installed on the
    # repository copied the token into a run it named `reviewgate`. It is not this App's run.
    head = _pull(bot)
    with bot.runtime.db.session() as session:
        session.add(CheckRunRecord(repo=REPO, head_sha=head, check_run_id=0, annotations_digest="creating:tok",
                                   updated_at=utcnow()))
    theirs = bot.hub.add_check_run(REPO, head, app_id=99, external_id="tok", status="in_progress", conclusion=None)
    bot.open_pull(REPO, 7)
    bot.wait(60)
    _assert_right_verdict(bot, head)
    assert bot.latest_run(REPO, head)["id"] != theirs
    assert not bot.hub.requests_to("PATCH", rf"/check-runs/{theirs}$")


def test_a_write_that_is_harmless_to_repeat_is_repeated_by_the_retry_itself(make_bot: Callable[..., Bot]) -> None:
    # GitHub keeps one reaction of a kind per user: sending one again after a 502 needs no look first.
    bot = make_bot(github_retries=3)
    _pull(bot)
    bot.open_pull(REPO, 7)
    bot.wait(60)
    bot.hub.strict = False
    bot.hub.fail("POST", r"/reactions$", 502, times=2, served=True)
    retries_before = bot.metric("reviewgate_jobs_total", outcome="retry")
    command, _ = comment(bot, 7, "alice", "/gate frobnicate")
    bot.wait(60)
    assert [r.status for r in bot.hub.requests_to("POST", rf"/comments/{command}/reactions$")] == [502, 502, 200]
    assert [r["content"] for r in bot.hub.reactions(command)] == ["confused"]
    assert bot.metric("reviewgate_jobs_total", outcome="retry") == retries_before


def test_a_primary_rate_limit_past_the_longest_wait_is_retried_by_the_queue_after_the_reset(
    make_bot: Callable[..., Bot],
) -> None:
    # PyGithub would sleep until the reset only up to 1 s; the job is retried after it instead.
    bot = make_bot(github_max_rate_limit_wait=1)
    head = _pull(bot)
    bot.hub.strict = False
    bot.hub.primary_rate_limit("GET", r"/pulls/7/files$", reset_in=3)
    started = time.monotonic()
    bot.open_pull(REPO, 7)
    bot.wait(60)
    _assert_right_verdict(bot, head)
    files = bot.hub.requests_to("GET", r"/pulls/7/files$")
    assert [r.status for r in files] == [403, 200]
    # The job's retry (configured with no delay in the tests) waited for GitHub's reset.
    assert time.monotonic() - started >= 2.5
    assert bot.metric("reviewgate_jobs_total", outcome="retry") >= 1


def test_a_slow_answer_past_the_client_timeout_is_retried(make_bot: Callable[..., Bot]) -> None:
    bot = make_bot(github_timeout=1)
    head = _pull(bot)
    bot.hub.fail("GET", r"/pulls/7/files$", None, delay=3)
    bot.open_pull(REPO, 7)
    bot.wait(60)
    _assert_right_verdict(bot, head)
    assert len(bot.hub.requests_to("GET", r"/pulls/7/files$")) >= 2


def test_after_the_last_retry_the_check_fails_and_a_rerun_evaluates_again(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    head = _pull(bot)
    bot.hub.strict = False
    bot.hub.fail("GET", r"/pulls/7/files$", 502, times=None)
    gave_up = bot.metric("reviewgate_jobs_total", outcome="gave_up")
    with caplog.at_level(logging.INFO):
        bot.open_pull(REPO, 7)
        bot.wait(60)
    failed = bot.latest_run(REPO, head)
    assert (failed["status"], failed["conclusion"]) == ("completed", "failure")
    assert failed["output"]["title"].startswith("could not evaluate: GitHub kept failing on /repos/octo/demo/pulls/7/files")
    assert bot.metric("reviewgate_jobs_total", outcome="gave_up") == gave_up + 1
    assert "giving up on octo/demo#7" in caplog.text + bot.worker_log()

    # GitHub's Re-run on the failed check evaluates again, now that GitHub answers.
    bot.hub.clear_faults()
    assert bot.post("check_run", bot.check_run_rerequested_payload(REPO, 7, failed)).status_code == 202
    bot.wait(60)
    _assert_right_verdict(bot, head)


def test_after_the_last_retry_a_gate_recheck_comment_evaluates_again(bot: Bot) -> None:
    head = _pull(bot)
    bot.hub.add_collaborator(REPO, "bob", "write")
    bot.hub.strict = False
    bot.hub.fail("GET", r"/pulls/7/files$", 502, times=None)
    bot.open_pull(REPO, 7)
    bot.wait(60)
    assert bot.latest_run(REPO, head)["output"]["title"].startswith("could not evaluate")
    bot.hub.clear_faults()
    _, response = comment(bot, 7, "bob", "/gate recheck")
    assert response.status_code == 202
    bot.wait(60)
    _assert_right_verdict(bot, head)


def test_rejected_annotations_never_leave_a_green_check(bot: Bot) -> None:
    head = _pull(bot)
    bot.hub.strict = False
    bot.hub.fail("PATCH", r"/check-runs/\d+$", 422, times=None)
    bot.open_pull(REPO, 7)
    bot.wait(60)
    runs = bot.hub.check_runs(REPO, head)
    assert runs and not any(r.get("conclusion") == "success" for r in runs)
    bot.hub.clear_faults()
    bot.post("check_run", bot.check_run_rerequested_payload(REPO, 7, runs[-1]))
    bot.wait(60)
    _assert_right_verdict(bot, head)


def test_a_pr_deleted_while_it_is_evaluated_is_done_not_failed(bot: Bot, caplog: pytest.LogCaptureFixture) -> None:
    head = _pull(bot)
    bot.hub.strict = False
    bot.hub.fail("GET", r"/pulls/7/files$", None, delay=1.0)  # the evaluation waits on GitHub...
    gone = bot.metric("reviewgate_jobs_total", outcome="gone")
    with caplog.at_level(logging.INFO):
        bot.start()
        bot.open_pull(REPO, 7)
        wait_for(lambda: bot.hub.check_runs(REPO, head), what="the check run in progress")
        bot.hub.delete_pull(REPO, 7)  # ...while the PR is deleted
        bot.wait(60)
    assert bot.metric("reviewgate_jobs_total", outcome="gone") == gone + 1
    assert not any(r.get("conclusion") for r in bot.hub.check_runs(REPO, head))
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)


def test_an_expired_installation_token_is_refreshed_once(bot: Bot) -> None:
    head = _pull(bot)
    bot.open_pull(REPO, 7)
    bot.wait(60)
    tokens = len(bot.hub.requests_to("POST", r"/access_tokens$"))
    bot.hub.expire_tokens()
    bot.hub.strict = False
    bot.post("check_run", bot.check_run_rerequested_payload(REPO, 7, bot.latest_run(REPO, head)))
    bot.wait(60)
    _assert_right_verdict(bot, head)
    assert len(bot.hub.requests_to("POST", r"/access_tokens$")) == tokens + 1


def test_a_token_refused_on_the_last_attempt_is_replaced_to_report_the_failure(
    make_bot: Callable[..., Bot], backend: str
) -> None:
    """With the last attempt refused for its cached token, the check run still says why,
    written with a new token: never a verdict left standing that nobody renewed. (With two
    workers, the one that runs it may have no cached token yet and simply evaluates.)"""
    bot = make_bot(job_retries=0)
    head = _pull(bot)
    bot.open_pull(REPO, 7)
    bot.wait(60)
    bot.hub.expire_tokens()
    bot.hub.strict = False
    mark = len(bot.hub.requests)
    bot.post("check_run", bot.check_run_rerequested_payload(REPO, 7, bot.latest_run(REPO, head)))
    bot.wait(60)
    run = bot.latest_run(REPO, head)
    written = [r for r in bot.hub.requests[mark:] if "/check-runs" in r.path and r.method in {"POST", "PATCH"}]
    assert any(r.status < 300 for r in written), written  # the run was renewed, whatever it says
    assert (run["status"], run["conclusion"]) == ("completed", "failure")
    if backend == SQLITE or any(r.status == 401 for r in bot.hub.requests[mark:]):
        assert run["output"]["title"].startswith("could not evaluate: GitHub answered 401"), run["output"]["title"]
