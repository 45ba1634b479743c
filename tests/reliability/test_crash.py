"""Crash drill: SIGKILL `python app.py` while an evaluation waits on GitHub, start it again on
the same data directory; the evaluation completes without the webhook being sent again, and
nothing the bot posts (check run, sticky comment, suggestions) appears twice."""

from __future__ import annotations

import json
import os
import signal
import uuid
from collections import Counter
from pathlib import Path

import requests

from tests.bot.harness import Bot, sign
from tests.fakehub import FakeHub
from tests.fakehub.model import FileChange
from tests.reliability.conftest import NAIVE, OLD, REPO
from tests.reliability.helpers import wait_for
from tests.reliability.server import ServerProcess, descendants
from tests.reliability.test_secrets import assert_no_secret

SWALLOWED = "import sqlite3\n\n\ndef save(conn):\n    try:\n        conn.commit()\n    except sqlite3.Error:\n        pass\n"


def _deliver(server: ServerProcess, hub: FakeHub, action: str) -> None:
    payload = Bot(hub, None, None, server.url).pull_request_payload(REPO, 7, action)  # type: ignore[arg-type]
    body = json.dumps(payload).encode()
    response = requests.post(
        f"{server.url}/webhook", data=body, timeout=30,
        headers={
            "X-GitHub-Event": "pull_request", "X-GitHub-Delivery": str(uuid.uuid4()),
            "Content-Type": "application/json", "X-Hub-Signature-256": sign(hub.webhook_secret, body),
        },
    )
    assert response.status_code == 202, response.text


def _waiting_on_blob(hub: FakeHub, head: str) -> bool:
    """The evaluation has created its run and is now inside the (slow) blob request."""
    if not hub.check_runs(REPO, head):
        return False
    return hub.blob_fetches > 0


def _completed(hub: FakeHub, head: str) -> dict | None:
    runs = [r for r in hub.check_runs(REPO, head) if r["status"] == "completed"]
    return runs[-1] if runs else None


def _sticky(hub: FakeHub) -> list[dict]:
    return [c for c in hub.comments(REPO, 7) if "reviewgate:sticky" in c["body"]]


def _alive(pids: set[int]) -> set[int]:
    return {p for p in pids if Path(f"/proc/{p}").exists()}


def _all_started(helpers: set[int]) -> set[int] | None:
    return helpers if len(helpers) >= 3 else None


def _kill_while_waiting(server: ServerProcess, hub: FakeHub, head: str) -> None:
    wait_for(lambda: _waiting_on_blob(hub, head), timeout=60, what="the evaluation to wait on GitHub")
    # The fork server and the analysis workers (two), started with the consumer.
    helpers = wait_for(lambda: _all_started(descendants(server.pid)), timeout=60, what="the analysis workers")
    server.kill()
    hub.clear_faults()
    # Nothing the killed server started outlives it.
    wait_for(lambda: not _alive(helpers), timeout=30, what="the killed server's worker processes to exit")


def test_drill_sigkill_during_an_evaluation_then_restart(fakehub: FakeHub, tmp_path: Path) -> None:
    hub = fakehub
    hub.strict = False  # the killed client leaves a request half-answered
    hub.add_repo(REPO, default_branch="main", installation_id=42)
    head = hub.add_pull(REPO, number=7, author="alice", files=[FileChange("app/clock.py", before=OLD, after=NAIVE)]).head_sha
    server = ServerProcess(hub, tmp_path / "data", job_retry_delay=0, github_timeout=60)
    try:
        # 1. The first evaluation is killed while it fetches the changed file.
        server.start()
        hub.fail("GET", r"/git/blobs/", None, delay=60)
        _deliver(server, hub, "opened")
        _kill_while_waiting(server, hub, head)
        assert _completed(hub, head) is None

        server.start()  # same data directory; nobody sends the webhook again
        run = wait_for(lambda: _completed(hub, head), timeout=90, what="the check run after the restart")
        assert run["conclusion"] == "failure"
        assert [a["title"].split()[0] for a in run["annotations"]] == ["RG101"]
        assert len(hub.check_runs(REPO, head)) == 1  # the run created before the crash, completed

        # 2. A push; this evaluation is killed after the sticky comment exists.
        # (the comment follows the check run)
        sticky = wait_for(lambda: _sticky(hub), timeout=60, what="the sticky comment")
        assert len(sticky) == 1
        hub.blob_fetches = 0
        new_head = hub.push(REPO, 7, files=[FileChange("app/store.py", status="added", after=SWALLOWED)])
        hub.fail("GET", r"/git/blobs/", None, delay=60)
        _deliver(server, hub, "synchronize")
        _kill_while_waiting(server, hub, new_head)

        server.start()
        run = wait_for(lambda: _completed(hub, new_head), timeout=90, what="the check run after the second restart")
        wait_for(lambda: "RG201" in _sticky(hub)[0]["body"], timeout=60, what="the sticky comment's update")
        assert sorted(a["title"].split()[0] for a in run["annotations"]) == ["RG101", "RG201"]
        assert len(hub.check_runs(REPO, new_head)) == 1
    finally:
        server.stop()

    comments = _sticky(hub)
    assert len(comments) == 1 and comments[0]["id"] == sticky[0]["id"]
    # Each suggested fix was offered once, whatever the restarts.
    offered = Counter(
        (c.get("path"), c.get("line"), c.get("body"))
        for review in hub.reviews_posted(REPO, 7) for c in review.get("comments", [])
    )
    assert all(n == 1 for n in offered.values()), offered
    assert hub.redelivery_requests == []
    assert "re-enqueued 1 evaluations owed from before a restart" in server.log()
    assert_no_secret(server.log(), hub, "the server's output")


def test_sigterm_during_an_evaluation_lets_it_finish_then_the_server_exits_0(fakehub: FakeHub, tmp_path: Path) -> None:
    """systemd's and docker's stop: the evaluation under way completes its check run, the
    analysis processes are shut down, and the exit status says all went well."""
    hub = fakehub
    hub.add_repo(REPO, default_branch="main", installation_id=42)
    head = hub.add_pull(REPO, number=7, author="alice", files=[FileChange("app/clock.py", before=OLD, after=NAIVE)]).head_sha
    server = ServerProcess(hub, tmp_path / "data", job_retry_delay=0, github_timeout=60)
    try:
        server.start()
        hub.fail("GET", r"/git/blobs/", None, delay=2)  # slow, then answered
        _deliver(server, hub, "opened")
        wait_for(lambda: _waiting_on_blob(hub, head), timeout=60, what="the evaluation to wait on GitHub")
        helpers = descendants(server.pid)
        assert server.process is not None
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(60) == 0
        run = _completed(hub, head)
        assert run is not None and run["conclusion"] == "failure"
        assert len(hub.check_runs(REPO, head)) == 1
        wait_for(lambda: not _alive(helpers), timeout=30, what="the analysis processes to exit")
    finally:
        server.stop()
    log = server.log()
    assert "stopping: the jobs under way finish first" in log and "stopped" in log
    assert "Traceback" not in log and "leaked" not in log, log[-2000:]


def test_ctrl_c_in_a_terminal_stops_the_server_and_its_analysis_processes_quietly(
    fakehub: FakeHub, tmp_path: Path
) -> None:
    """A terminal's Ctrl-C sends SIGINT to the whole process group, the analysis processes too:
    they leave their shutdown to the server, which exits 0 without a traceback."""
    hub = fakehub
    hub.add_repo(REPO, default_branch="main", installation_id=42)
    head = hub.add_pull(REPO, number=7, author="alice", files=[FileChange("app/clock.py", before=OLD, after=NAIVE)]).head_sha
    server = ServerProcess(hub, tmp_path / "data", job_retry_delay=0)
    try:
        server.start(new_session=True)
        _deliver(server, hub, "opened")
        wait_for(lambda: _completed(hub, head), timeout=60, what="the evaluation")
        helpers = descendants(server.pid)
        assert helpers  # the analysis processes, in the server's process group
        os.killpg(server.pid, signal.SIGINT)
        assert server.process is not None and server.process.wait(60) == 0
        wait_for(lambda: not _alive(helpers), timeout=30, what="the analysis processes to exit")
    finally:
        server.stop()
    log = server.log()
    assert "stopped" in log
    assert "Traceback" not in log and "KeyboardInterrupt" not in log, log[-2000:]

