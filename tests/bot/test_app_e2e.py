"""The GitHub App end to end: signed webhook -> queue -> analysis -> `reviewgate` check run."""

from __future__ import annotations

import re

from bot.store.db import Delivery, Evaluation
from tests.bot.harness import NO_APPROVALS, Bot
from tests.fakehub.model import FileChange

REPO = "octo/demo"

BEFORE = '''import sqlite3
from datetime import datetime


def age(created):
    return datetime.now() - created


def save(conn, row):
    conn.execute("insert into t values (?)", (row,))
    conn.commit()
'''

# Adds a naive now() (line 10) and a swallowed commit() (the handler on line 18); the
# naive now() on line 6 was there before and must not be reported.
AFTER = '''import sqlite3
from datetime import datetime


def age(created):
    return datetime.now() - created


def stamp(record):
    record["at"] = datetime.now()
    return record


def save(conn, row):
    conn.execute("insert into t values (?)", (row,))
    try:
        conn.commit()
    except sqlite3.Error:
        pass
'''


def _setup(bot: Bot, files: list[FileChange], number: int = 7) -> str:
    bot.hub.add_repo(REPO, default_branch="main", installation_id=42)
    bot.hub.set_file(REPO, "main", ".github/reviewgate.yml", NO_APPROVALS)
    return bot.hub.add_pull(REPO, number=number, author="alice", files=files).head_sha


def _evaluations(bot: Bot) -> list[Evaluation]:
    with bot.runtime.db.session() as session:
        return list(session.query(Evaluation).order_by(Evaluation.id))


def test_naive_now_and_swallowed_commit_fail_on_exactly_the_changed_lines(bot: Bot) -> None:
    head = _setup(
        bot,
        [
            FileChange("app/models.py", status="modified", before=BEFORE, after=AFTER),
            FileChange("docs/notes.md", status="added", after="Call datetime.now() here.\n"),
        ],
    )
    response = bot.open_pull(REPO, 7)
    assert response.status_code == 202
    bot.wait()

    run = bot.latest_run(REPO, head)
    assert run["status"] == "completed"
    assert run["conclusion"] == "failure"
    got = sorted((a["path"], a["start_line"], a["end_line"], a["title"].split()[0]) for a in run["annotations"])
    assert got == [("app/models.py", 10, 10, "RG101"), ("app/models.py", 18, 18, "RG201")]
    assert {a["annotation_level"] for a in run["annotations"]} == {"failure"}
    assert all(re.fullmatch(r"RG\d{3} [a-z-]+", a["title"]) for a in run["annotations"])
    summary = run["output"]["summary"]
    assert "#rg101-naive-now" in summary and "#rg201-" in summary
    assert run["output"]["title"].startswith("Blocked")
    # One sticky comment says the same.
    comments = [c for c in bot.hub.comments(REPO, 7) if "reviewgate:sticky" in c["body"]]
    assert len(comments) == 1 and "RG101" in comments[0]["body"]


def test_wrong_or_missing_signature_is_401_and_github_is_never_called(bot: Bot) -> None:
    head = _setup(bot, [FileChange("app/models.py", status="modified", before=BEFORE, after=AFTER)])
    bot.start()
    bot.hub.clear_log()
    payload = bot.pull_request_payload(REPO, 7)
    assert bot.post("pull_request", payload, secret="not-the-secret").status_code == 401
    assert bot.post("pull_request", payload, signature="sha256=").status_code == 401
    assert bot.post("pull_request", payload, headers={"X-Hub-Signature-256": ""}).status_code == 401
    assert bot.post("pull_request", payload, signature="sha1=" + "0" * 40).status_code == 401
    bot.wait()
    assert bot.hub.requests == []
    assert bot.hub.check_runs(REPO, head) == []
    with bot.runtime.db.session() as session:
        assert session.query(Delivery).count() == 0


def test_malformed_json_and_missing_headers_are_400(bot: Bot) -> None:
    assert bot.post("pull_request", b"{not json").status_code == 400
    assert bot.post("pull_request", b"[1, 2]").status_code == 400
    assert bot.post("pull_request", {"action": "opened"}, headers={"X-GitHub-Delivery": ""}).status_code == 400
    assert bot.post("", {"action": "opened"}).status_code == 400
    # Signed, but the pull request is not there.
    assert bot.post(
        "pull_request", {"action": "opened", "pull_request": {}, "installation": {"id": 1}}
    ).status_code == 400


def test_a_redelivered_guid_is_acknowledged_but_not_evaluated_twice(bot: Bot) -> None:
    head = _setup(bot, [FileChange("app/models.py", status="modified", before=BEFORE, after=AFTER)])
    payload = bot.pull_request_payload(REPO, 7)
    first = bot.post("pull_request", payload, guid="d0a1b2c3-0000-4000-8000-000000000001")
    bot.wait()
    again = bot.post("pull_request", payload, guid="d0a1b2c3-0000-4000-8000-000000000001")
    bot.wait()
    assert (first.status_code, again.status_code) == (202, 202)
    assert again.json()["outcome"] == "duplicate"
    assert len(_evaluations(bot)) == 1
    assert len(bot.hub.check_runs(REPO, head)) == 1
    assert len(bot.hub.requests_to("POST", r"/check-runs$")) == 1


def test_120_findings_arrive_in_batches_of_at_most_50(bot: Bot) -> None:
    body = "from datetime import datetime\n\n\ndef stamps():\n" + "".join(
        f"    a{i} = datetime.now()\n" for i in range(120)
    ) + "    return locals()\n"
    head = _setup(bot, [FileChange("app/stamps.py", status="added", after=body)])
    bot.open_pull(REPO, 7)
    bot.wait()

    run = bot.latest_run(REPO, head)
    assert run["conclusion"] == "failure"
    assert len(run["annotations"]) == 120
    assert sorted(a["start_line"] for a in run["annotations"]) == list(range(5, 125))
    sent = [
        len((r.json_body or {}).get("output", {}).get("annotations", []))
        for r in bot.hub.requests
        if re.search(r"/check-runs(/\d+)?$", r.path) and r.method in ("POST", "PATCH")
    ]
    assert max(sent) <= 50 and sum(sent) == 120


def test_rerun_on_the_same_head_fetches_no_blob_and_parses_nothing(bot: Bot) -> None:
    head = _setup(bot, [FileChange("app/models.py", status="modified", before=BEFORE, after=AFTER)])
    bot.open_pull(REPO, 7)
    bot.wait()
    run = bot.latest_run(REPO, head)
    assert bot.hub.blob_fetches == 1
    bot.hub.clear_log()
    blobs_before, parsed_before = bot.hub.blob_fetches, bot.metric("reviewgate_files_analyzed_total")

    assert bot.post("check_run", bot.check_run_rerequested_payload(REPO, 7, run)).status_code == 202
    bot.wait()

    assert len(_evaluations(bot)) == 2
    assert bot.hub.blob_fetches == blobs_before == 0  # no code blob (a worker may read the config once)
    assert bot.metric("reviewgate_files_analyzed_total") == parsed_before
    # Same findings: the existing run is updated, not duplicated, and keeps its 2 annotations.
    runs = bot.hub.check_runs(REPO, head)
    assert len(runs) == 1 and runs[0]["status"] == "completed"
    assert len(runs[0]["annotations"]) == 2
    # The verdict did not change, so the sticky comment was not touched.
    assert not bot.hub.requests_to("PATCH", r"/issues/comments/")
    assert not bot.hub.requests_to("POST", r"/issues/\d+/comments")


def test_a_pr_without_python_changes_still_gets_a_completed_check(bot: Bot) -> None:
    head = _setup(bot, [FileChange("README.md", status="added", after="datetime.now()\n")])
    bot.open_pull(REPO, 7)
    bot.wait()
    run = bot.latest_run(REPO, head)
    assert (run["status"], run["conclusion"]) == ("completed", "success")
    assert run["annotations"] == []
    assert bot.hub.blob_fetches == 0
    assert bot.hub.comments(REPO, 7) == []  # nothing to say
