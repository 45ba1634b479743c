"""Verdicts at network speed: reads overlapped within a per-installation bound, writes paced
only in bursts, conditional requests, the verdict in the first write, the rate-limit budget,
and a worker woken by the job it is given. Over real HTTP against fakehub with its latency."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.github.traffic import Bucket
from bot.store.db import Database
from bot.store.pacing import DatabasePacer
from tests.bot.harness import NO_APPROVALS, Bot, make_app
from tests.fakehub import FakeHub
from tests.fakehub.model import FileChange
from tests.gate_e2e.gatehub import comment, review
from tests.servers import Servers

REPO = "octo/demo"
OLD = "from datetime import datetime, timezone\n\n\ndef now():\n    return datetime.now(timezone.utc)\n"


def _module(i: int) -> tuple[str, str]:
    before = f"# module {i}\n" + OLD
    return before, before + f"\n\ndef naive_{i}():\n    return datetime.now()\n"


def _pull(hub: FakeHub, number: int, files: int) -> str:
    changes = []
    for i in range(files):
        before, after = _module(number * 1000 + i)
        changes.append(FileChange(f"app/m{i}.py", before=before, after=after))
    return hub.add_pull(REPO, number=number, author="alice", files=changes).head_sha


@pytest.fixture
def slow_bot(fakehub: FakeHub, tmp_path: Path) -> Iterator[Bot]:
    fakehub.add_repo(REPO, default_branch="main", installation_id=42)
    # Without suggestions: the bot's own suggestion review would change the list of reviews.
    fakehub.set_file(REPO, "main", ".github/reviewgate.yml", NO_APPROVALS + "suggestions: false\n")
    fakehub.add_collaborator(REPO, "bob", "write")
    instance = make_app(fakehub, tmp_path, github_concurrency=3)
    try:
        yield instance
    finally:
        instance.close()


def test_reads_overlap_up_to_the_installations_bound_and_never_past_it(slow_bot: Bot) -> None:
    hub = slow_bot.hub
    head = _pull(hub, 7, 24)
    hub.latency = 0.05
    hub.in_flight_limit = 3  # the fixture fails the test if a fourth request is ever in flight
    assert slow_bot.open_pull(REPO, 7).status_code == 202
    slow_bot.wait(60)
    assert slow_bot.latest_run(REPO, head)["conclusion"] == "failure"
    assert len(hub.requests_to("GET", r"/git/blobs/")) == 24 + 1  # and the configuration's
    # Overlapped (a client that reads one at a time never has two in flight), within the bound.
    assert hub.max_in_flight["installation:42"] == 3
    assert not hub.concurrency_violations


def test_the_verdict_goes_out_with_the_first_batch_of_annotations(slow_bot: Bot) -> None:
    hub = slow_bot.hub
    head = _pull(hub, 7, 60)  # 60 annotations: two batches
    assert slow_bot.open_pull(REPO, 7).status_code == 202
    slow_bot.wait(60)
    run = slow_bot.latest_run(REPO, head)
    assert len(run["annotations"]) == 60
    patches = [r.json_body for r in hub.requests_to("PATCH", rf"/check-runs/{run['id']}$")]
    assert patches[0]["status"] == "completed" and patches[0]["conclusion"] == "failure"
    assert len(patches[0]["output"]["annotations"]) == 50
    assert [len(p["output"]["annotations"]) for p in patches[1:]] == [10]
    assert all("conclusion" not in p for p in patches[1:])


def test_a_re_evaluation_on_an_unchanged_head_asks_conditionally_and_fetches_no_blob(slow_bot: Bot) -> None:
    hub = slow_bot.hub
    _pull(hub, 7, 3)
    review(slow_bot, 7, "bob", state="COMMENTED")  # bob's role is known from here on
    slow_bot.open_pull(REPO, 7)
    slow_bot.wait(60)
    mark, blobs = len(hub.requests), hub.blob_fetches
    _, answer = comment(slow_bot, 7, "bob", "/gate recheck")
    assert answer.status_code == 202
    slow_bot.wait(60)
    assert hub.blob_fetches == blobs
    not_modified = {r.path.rsplit("/", 1)[-1] for r in hub.requests[mark:] if r.status == 304}
    assert {"reviews", "permission", "files", ".github"} <= not_modified
    counted = [f"{r.method} {r.path}" for r in hub.counted_requests(mark)]
    # The pull request changed (a comment moves its updated_at: read once, by the command job;
    # the evaluation's read is a 304); the reaction acknowledges the command; the check run is
    # updated. Nothing else counts against the rate limit.
    assert sorted(counted) == sorted([
        "GET /repos/octo/demo/pulls/7",
        f"POST /repos/octo/demo/issues/comments/{hub.comments(REPO, 7)[-1]['id']}/reactions",
        f"PATCH /repos/octo/demo/check-runs/{slow_bot.latest_run(REPO, hub.pull(REPO, 7).head_sha)['id']}",
    ]), counted


def test_a_burst_of_writes_is_paced_and_a_short_one_is_not(fakehub: FakeHub, tmp_path: Path) -> None:
    fakehub.add_repo(REPO, default_branch="main", installation_id=42)
    fakehub.set_file(REPO, "main", ".github/reviewgate.yml", NO_APPROVALS + "suggestions: false\n")
    bot = make_app(fakehub, tmp_path, github_write_burst=2, github_write_interval=0.4)
    try:
        for number in (7, 8, 9):
            _pull(fakehub, number, 1)
            bot.open_pull(REPO, number)
        bot.wait(60)
    finally:
        bot.close()
    writes = [r.at for r in fakehub.requests if r.method in {"POST", "PATCH"} and r.auth == "token"]
    assert len(writes) >= 6  # per PR: create the run, complete it, the sticky comment
    # A token bucket's promise: within any stretch of time t, at most burst + t / interval
    # writes (a quiet spell refills it, so two may again go at once after one).
    for first in range(len(writes)):
        for last in range(first + 2, len(writes)):
            span = writes[last] - writes[first]
            assert last - first + 1 <= 2 + (span + 0.1) / 0.4, (first, last, span)


def test_processes_share_the_write_budget_through_the_database(tmp_path: Path) -> None:
    bucket = Bucket(burst=2, interval=1.0)
    url = f"sqlite:///{tmp_path / 'state.db'}"
    first, second = Database(url), Database(url)
    try:
        one = DatabasePacer(first, bucket.burst, bucket.take, bucket.interval)
        other = DatabasePacer(second, bucket.burst, bucket.take, bucket.interval)
        waits = [one.reserve("installation:1"), other.reserve("installation:1"), one.reserve("installation:1"),
                 other.reserve("installation:1"), other.reserve("installation:2")]
    finally:
        first.dispose()
        second.dispose()
    assert waits[:2] == [0.0, 0.0]
    assert 0.9 < waits[2] <= 1.0 and 1.9 < waits[3] <= 2.0  # the third and fourth, one second apart
    assert waits[4] == 0.0  # another installation has its own bucket


def test_a_nearly_spent_rate_limit_makes_the_evaluation_wait_and_say_so(slow_bot: Bot) -> None:
    hub = slow_bot.hub
    _pull(hub, 7, 1)
    slow_bot.open_pull(REPO, 7)
    slow_bot.wait(60)
    hub.rate_remaining, hub.rate_reset = 20, int(time.time()) + 4
    head = hub.push(REPO, 7, files=[FileChange("app/m0.py", after=OLD + "\n# pushed\n")])
    assert slow_bot.open_pull(REPO, 7, "synchronize").status_code == 202
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and not hub.check_runs(REPO, head):
        time.sleep(0.05)
    (waiting,) = hub.check_runs(REPO, head)
    assert waiting["status"] == "queued"
    assert waiting["output"]["title"].startswith("waiting for GitHub's rate limit until ")
    hub.rate_remaining = 5000  # GitHub's reset
    slow_bot.wait(60)
    run = slow_bot.latest_run(REPO, head)
    assert (run["id"], run["status"], run["conclusion"]) == (waiting["id"], "completed", "success")


def test_an_idle_worker_is_woken_by_the_job_it_is_given(fakehub: FakeHub, tmp_path: Path) -> None:
    fakehub.add_repo(REPO, default_branch="main", installation_id=42)
    fakehub.set_file(REPO, "main", ".github/reviewgate.yml", NO_APPROVALS)
    bot = make_app(fakehub, tmp_path)
    try:
        # Workers that would otherwise look at the queue only every 60 s once idle.
        bot.consumer = bot.queue.start_consumer(2, initial_delay=60, max_delay=60)
        time.sleep(0.5)  # both asleep
        head = _pull(fakehub, 7, 1)
        bot.open_pull(REPO, 7)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(
            r["status"] == "completed" for r in fakehub.check_runs(REPO, head)
        ):
            time.sleep(0.05)
        assert bot.latest_run(REPO, head)["status"] == "completed"
    finally:
        bot.close()


def test_a_re_evaluation_after_an_approval_counts_four_requests_and_fetches_no_blob(slow_bot: Bot) -> None:
    hub = slow_bot.hub
    hub.set_file(REPO, "main", ".github/reviewgate.yml", "suggestions: false\n")  # one approval required
    head = _pull(hub, 7, 3)
    review(slow_bot, 7, "bob", state="COMMENTED")  # bob's role is asked once, for this repository
    slow_bot.wait(60)
    _approval_counts_four_requests(slow_bot, head)


def _approval_counts_four_requests(bot: Bot, head: str) -> None:
    hub = bot.hub
    mark, blobs = len(hub.requests), hub.blob_fetches
    assert review(bot, 7, "bob").status_code == 202
    bot.wait(60)
    assert hub.blob_fetches == blobs
    counted = sorted(f"{r.method} {r.path.split('/repos/octo/demo/')[-1]}" for r in hub.counted_requests(mark))
    run = bot.latest_run(REPO, head)
    sticky = [c for c in hub.comments(REPO, 7) if c["user"]["type"] == "Bot"]
    # What changed on GitHub (the pull request, its reviews) and what the bot writes (the check
    # run, its comment); the configuration, the files, bob's role and the commits are 304s.
    assert counted == sorted([
        "GET pulls/7", "GET pulls/7/reviews", f"PATCH check-runs/{run['id']}", f"PATCH issues/comments/{sticky[0]['id']}",
    ]), counted
    assert "| @bob | approved | ✓" in run["output"]["summary"]  # and the verdict counts it


def test_a_blob_that_fails_is_fetched_again_alone(slow_bot: Bot) -> None:
    hub = slow_bot.hub
    hub.strict = False  # the injected 502 is not an answer GitHub documents here
    head = _pull(hub, 7, 6)
    (first, *_) = [f["sha"] for f in hub.pull_files(REPO, 7)]
    hub.fail("GET", rf"/git/blobs/{first}$", 502, times=1)
    assert slow_bot.open_pull(REPO, 7).status_code == 202
    slow_bot.wait(60)
    assert slow_bot.latest_run(REPO, head)["conclusion"] == "failure"
    fetched = [r.path.rsplit("/", 1)[-1] for r in hub.requests_to("GET", r"/git/blobs/")]
    assert fetched.count(first) == 2  # the failed one, once more
    assert all(fetched.count(f["sha"]) == 1 for f in hub.pull_files(REPO, 7)[1:])  # the others, once
    assert len(hub.requests_to("GET", r"/pulls/7$")) == 1  # the evaluation did not start over


def test_a_head_gets_one_suggestion_review_and_a_re_evaluation_posts_none(slow_bot: Bot) -> None:
    hub = slow_bot.hub
    hub.set_file(REPO, "main", ".github/reviewgate.yml", NO_APPROVALS)  # suggestions on
    fixable = "from datetime import datetime, timezone\n\n\ndef show():\n    print(datetime.now())\n"
    changes = [FileChange(f"app/s{i}.py", before=OLD, after=fixable) for i in range(60)]
    head = hub.add_pull(REPO, number=7, author="alice", files=changes).head_sha
    assert slow_bot.open_pull(REPO, 7).status_code == 202
    slow_bot.wait(60)
    (first,) = hub.reviews_posted(REPO, 7)
    assert len(first["comments"]) == 50  # the rest: `reviewgate check --fix`, or with the next head
    mark = len(hub.requests)
    _, answer = comment(slow_bot, 7, "bob", "/gate recheck")
    assert answer.status_code == 202
    slow_bot.wait(60)
    assert len(hub.reviews_posted(REPO, 7)) == 1
    assert not [r for r in hub.requests[mark:] if r.method == "POST" and r.path.endswith("/reviews")]
    assert slow_bot.latest_run(REPO, head)["status"] == "completed"


def test_a_re_evaluation_on_another_worker_process_counts_the_same_four_requests(
    fakehub: FakeHub, tmp_path: Path, servers: Servers
) -> None:
    """The conditional-request cache is shared by the workers (in Redis): a re-evaluation
    that lands on a worker that never saw the pull request costs what it costs on the one
    that did. Per-process caches would count the configuration, the files, the role and
    the commits again, once per worker, against the installation's rate limit."""
    hub = fakehub
    hub.add_repo(REPO, default_branch="main", installation_id=42)
    hub.set_file(REPO, "main", ".github/reviewgate.yml", "suggestions: false\n")
    hub.add_collaborator(REPO, "bob", "write")
    bot = make_app(hub, tmp_path, servers=servers)
    try:
        bot.workers = [bot.start_worker(2, analysis_isolation=False)]
        head = _pull(hub, 7, 3)
        review(bot, 7, "bob", state="COMMENTED")
        bot.wait(60)
        bot.stop()  # the worker that evaluated it, and its memory, are gone
        bot.workers = [bot.start_worker(2, analysis_isolation=False)]
        _approval_counts_four_requests(bot, head)
    finally:
        bot.close()
