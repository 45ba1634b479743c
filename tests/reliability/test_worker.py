"""`REVIEWGATE_WORKERS=0 python app.py` serves only; `python -m bot.worker`, on the same
settings and data directory, runs the jobs the server queued."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from tests.fakehub import FakeHub
from tests.fakehub.model import FileChange
from tests.reliability.conftest import NAIVE, OLD, REPO
from tests.reliability.helpers import wait_for
from tests.reliability.server import ROOT, ServerProcess, descendants
from tests.reliability.test_crash import _completed, _deliver


def _nice(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[16])


def test_a_worker_process_runs_what_the_web_only_server_queued(fakehub: FakeHub, tmp_path: Path) -> None:
    hub = fakehub
    hub.add_repo(REPO, default_branch="main", installation_id=42)
    head = hub.add_pull(REPO, number=7, author="alice", files=[FileChange("app/clock.py", before=OLD, after=NAIVE)]).head_sha
    server = ServerProcess(hub, tmp_path / "data", workers=0)
    worker_log = tmp_path / "worker.log"
    worker: subprocess.Popen[bytes] | None = None
    try:
        server.start()
        _deliver(server, hub, "opened")
        time.sleep(1.0)
        assert hub.check_runs(REPO, head) == []  # the web-only server queued it and runs nothing

        with open(worker_log, "wb") as log:
            worker = subprocess.Popen(
                [sys.executable, "-m", "bot.worker"], cwd=ROOT, env=server.env, stdout=log, stderr=subprocess.STDOUT
            )
        run = wait_for(lambda: _completed(hub, head), timeout=90, what="the worker's check run")
        assert run["conclusion"] == "failure"
        assert [a["title"].split()[0] for a in run["annotations"]] == ["RG101"]
        # Evaluation work gives way to the web process on a shared machine
        # (REVIEWGATE_WORKER_NICE, 10 by default): the worker and its analysis processes.
        assert _nice(server.pid) == 0
        analysis = descendants(worker.pid)
        assert analysis and {_nice(pid) for pid in analysis | {worker.pid}} == {10}

        # A delivery while the worker runs is evaluated too, and the worker stops cleanly.
        new_head = hub.push(REPO, 7, files=[FileChange("app/extra.py", status="added", after="X = 1\n")])
        _deliver(server, hub, "synchronize")
        wait_for(lambda: _completed(hub, new_head), timeout=90, what="the check run of the push")
        worker.terminate()
        assert worker.wait(60) == 0
    finally:
        if worker is not None and worker.poll() is None:
            worker.kill()
            worker.wait(30)
        server.stop()
    output = worker_log.read_text(errors="replace")
    assert "worker: 2 consumer threads" in output, output
