"""Working: gathering, the findings cache, check-run updates, the sticky comment, failures."""

from __future__ import annotations

from bot.store.db import Evaluation
from tests.bot.harness import NO_APPROVALS, Bot
from tests.fakehub.model import FileChange

REPO = "octo/demo"
OLD = "from datetime import datetime, timezone\n\n\ndef now():\n    return datetime.now(timezone.utc)\n"
NAIVE = OLD + "\n\ndef naive():\n    return datetime.now()\n"
SWALLOWED = (
    "import sqlite3\n\n\ndef save(conn):\n    try:\n        conn.commit()\n"
    "    except sqlite3.Error:\n        pass\n"
)


def _repo(bot: Bot) -> None:
    bot.hub.add_repo(REPO, default_branch="main", installation_id=42)
    bot.hub.set_file(REPO, "main", ".github/reviewgate.yml", NO_APPROVALS)


def _evaluations(bot: Bot) -> list[Evaluation]:
    with bot.runtime.db.session() as session:
        return list(session.query(Evaluation).order_by(Evaluation.id))


def test_after_the_last_retry_the_check_fails_with_the_reason(bot: Bot) -> None:
    _repo(bot)
    head = bot.hub.add_pull(REPO, number=7, files=[FileChange("app/clock.py", before=OLD, after=NAIVE)]).head_sha
    bot.hub.strict = False  # the injected 502s are not GitHub's documented answers
    bot.hub.fail("GET", r"/pulls/7/files", 502, times=1000)
    bot.open_pull(REPO, 7)
    bot.wait()
    run = bot.latest_run(REPO, head)
    assert (run["status"], run["conclusion"]) == ("completed", "failure")
    assert run["output"]["title"] == (
        "could not evaluate: GitHub kept failing on /repos/octo/demo/pulls/7/files (too many 502 error responses)"
    )
    # 3 job attempts (REVIEWGATE_JOB_RETRIES=2), each with PyGithub's own 2 retries.
    assert len(bot.hub.requests_to("GET", r"/pulls/7/files")) == 9
    assert _evaluations(bot) == []


def test_a_transient_github_error_is_retried_and_the_verdict_is_right(bot: Bot) -> None:
    _repo(bot)
    head = bot.hub.add_pull(REPO, number=7, files=[FileChange("app/clock.py", before=OLD, after=NAIVE)]).head_sha
    bot.hub.strict = False
    bot.hub.fail("POST", r"/check-runs$", 502, times=1)
    bot.hub.fail("GET", r"/git/blobs/", 503, times=1)
    bot.open_pull(REPO, 7)
    bot.wait()
    runs = bot.hub.check_runs(REPO, head)
    assert len(runs) == 1
    assert runs[0]["conclusion"] == "failure" and len(runs[0]["annotations"]) == 1


def test_findings_that_change_on_the_same_head_get_a_new_run(bot: Bot) -> None:
    _repo(bot)
    head = bot.hub.add_pull(
        REPO, number=7,
        files=[
            FileChange("app/clock.py", before=OLD, after=NAIVE),
            FileChange("app/store.py", status="added", after=SWALLOWED),
        ],
    ).head_sha
    bot.open_pull(REPO, 7)
    bot.wait()
    first = bot.latest_run(REPO, head)
    assert sorted(a["title"].split()[0] for a in first["annotations"]) == ["RG101", "RG201"]

    bot.hub.set_file(REPO, "main", ".github/reviewgate.yml", "rules:\n  ignore: [RG101]\n")
    bot.post("check_run", bot.check_run_rerequested_payload(REPO, 7, first))
    bot.wait()
    runs = bot.hub.check_runs(REPO, head)
    assert len(runs) == 2
    assert [a["title"].split()[0] for a in runs[-1]["annotations"]] == ["RG201"]
    assert runs[-1]["conclusion"] == "failure"
    # The older run keeps what it had: GitHub shows the newest run of the name.
    assert len(runs[0]["annotations"]) == 2


def test_the_sticky_comment_is_edited_in_place_and_only_on_change(bot: Bot) -> None:
    _repo(bot)
    bot.hub.add_pull(REPO, number=7, files=[FileChange("app/clock.py", before=OLD, after=NAIVE)])
    bot.open_pull(REPO, 7)
    bot.wait()
    (comment,) = bot.hub.comments(REPO, 7)
    assert "Blocked" in comment["body"]

    # A new commit with the same finding: the verdict and findings are unchanged.
    bot.hub.push(REPO, 7, files=[FileChange("README.md", status="added", after="hi\n")])
    bot.hub.clear_log()
    bot.open_pull(REPO, 7, "synchronize")
    bot.wait()
    assert not bot.hub.requests_to("PATCH", r"/issues/comments/")
    assert not bot.hub.requests_to("POST", r"/issues/\d+/comments$")

    fixed = bot.hub.push(REPO, 7, files=[FileChange("app/clock.py", after=OLD + "\n\nX = 1\n")])
    bot.open_pull(REPO, 7, "synchronize")
    bot.wait()
    (edited,) = bot.hub.comments(REPO, 7)
    assert edited["id"] == comment["id"]
    assert "Passed" in edited["body"]
    assert bot.latest_run(REPO, fixed)["conclusion"] == "success"


def test_the_comment_can_be_turned_off(bot: Bot) -> None:
    _repo(bot)
    bot.hub.set_file(REPO, "main", ".github/reviewgate.yml", "comment: off\n")
    head = bot.hub.add_pull(REPO, number=7, files=[FileChange("app/clock.py", before=OLD, after=NAIVE)]).head_sha
    bot.open_pull(REPO, 7)
    bot.wait()
    assert bot.latest_run(REPO, head)["conclusion"] == "failure"
    assert bot.hub.comments(REPO, 7) == []


def test_renamed_removed_and_huge_files(bot: Bot) -> None:
    _repo(bot)
    head = bot.hub.add_pull(
        REPO, number=7,
        files=[
            FileChange("app/new_name.py", status="renamed", previous_path="app/old_name.py", before=OLD, after=NAIVE),
            FileChange("app/gone.py", status="removed", before="from datetime import datetime\nX = datetime.now()\n"),
            FileChange("app/huge.py", status="added", after="from datetime import datetime\nY = datetime.now()\n", huge=True),
        ],
    ).head_sha
    bot.open_pull(REPO, 7)
    bot.wait()
    run = bot.latest_run(REPO, head)
    got = sorted((a["path"], a["start_line"]) for a in run["annotations"])
    assert got == [("app/huge.py", 2), ("app/new_name.py", 9)]
    assert "Analysed whole" in run["output"]["summary"] and "`app/huge.py`" in run["output"]["summary"]
    assert bot.hub.blob_fetches == 2  # the removed file is never fetched


def test_an_invalid_config_on_the_default_branch_fails_with_its_line(bot: Bot) -> None:
    _repo(bot)
    bot.hub.set_file(REPO, "main", ".github/reviewgate.yml", "rules:\n  select: [RG1]\n  bogus: 1\n")
    head = bot.hub.add_pull(REPO, number=7, files=[FileChange("app/ok.py", status="added", after="X = 1\n")]).head_sha
    bot.open_pull(REPO, 7)
    bot.wait()
    run = bot.latest_run(REPO, head)
    assert run["conclusion"] == "failure"
    assert ".github/reviewgate.yml:3" in run["output"]["summary"]


def test_a_config_changed_by_the_pr_is_not_used(bot: Bot) -> None:
    _repo(bot)
    head = bot.hub.add_pull(
        REPO, number=7,
        files=[
            FileChange("app/clock.py", before=OLD, after=NAIVE),
            FileChange(".github/reviewgate.yml", status="added", after="rules:\n  ignore: [RG1]\n"),
        ],
    ).head_sha
    bot.open_pull(REPO, 7)
    bot.wait()
    run = bot.latest_run(REPO, head)
    assert run["conclusion"] == "failure"
    assert [a["title"].split()[0] for a in run["annotations"]] == ["RG101"]
    assert "It is evaluated with the version on the default branch" in run["output"]["summary"]


def test_suppressed_findings_are_listed_for_reviewers_but_do_not_block(bot: Bot) -> None:
    _repo(bot)
    after = OLD + "\n\ndef naive():\n    return datetime.now()  # reviewgate: ignore[RG101]\n"
    head = bot.hub.add_pull(REPO, number=7, files=[FileChange("app/clock.py", before=OLD, after=after)]).head_sha
    bot.open_pull(REPO, 7)
    bot.wait()
    run = bot.latest_run(REPO, head)
    assert run["conclusion"] == "success"
    assert run["annotations"] == []
    assert "Suppressed in code" in run["output"]["summary"] and "`app/clock.py:9`" in run["output"]["summary"]


def test_a_refused_installation_token_is_replaced(bot: Bot) -> None:
    _repo(bot)
    head = bot.hub.add_pull(REPO, number=7, files=[FileChange("app/clock.py", before=OLD, after=NAIVE)]).head_sha
    bot.open_pull(REPO, 7)
    bot.wait()
    bot.hub.expire_tokens()
    bot.hub.strict = False
    bot.post("check_run", bot.check_run_rerequested_payload(REPO, 7, bot.latest_run(REPO, head)))
    bot.wait()
    assert len(_evaluations(bot)) == 2
    assert len(bot.hub.requests_to("POST", r"/access_tokens$")) == 2


def test_an_evaluation_lost_with_the_queue_is_recovered_at_start_up(bot: Bot) -> None:
    _repo(bot)
    head = bot.hub.add_pull(REPO, number=7, files=[FileChange("app/clock.py", before=OLD, after=NAIVE)]).head_sha
    assert bot.open_pull(REPO, 7).status_code == 202
    bot.queue.huey.flush()  # the queued job is gone, as after a crash while a worker held it
    assert bot.queue.recover_evaluations() == 1
    bot.wait()
    assert bot.latest_run(REPO, head)["conclusion"] == "failure"
    assert bot.queue.recover_evaluations() == 0


def test_more_files_than_github_lists_fail_the_check(bot: Bot) -> None:
    _repo(bot)
    files = [FileChange(f"data/f{i}.txt", status="added", after=f"{i}\n") for i in range(3001)]
    head = bot.hub.add_pull(REPO, number=7, files=files).head_sha
    bot.open_pull(REPO, 7)
    bot.wait(120)
    run = bot.latest_run(REPO, head)
    assert run["conclusion"] == "failure"
    assert "GitHub listed 3,000 of the 3,001 files" in run["output"]["summary"]
    assert len(bot.hub.requests_to("GET", r"/pulls/7/files$")) == 30
