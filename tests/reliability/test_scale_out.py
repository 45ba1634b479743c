"""Drills on the scale-out setup: PostgreSQL state, a Redis queue, web processes that only serve
(`python app.py` web-only, or gunicorn) and `python -m bot.worker` processes, all in processes
of their own, against fakehub.

- Every worker SIGKILLed mid-evaluation, then one new worker: the evaluation completes, with
  one check run and one sticky comment.
- 1,000 signed deliveries over 100 PRs into 2 gunicorn (uvicorn) web workers, 3 bot workers, one of them
  SIGKILLed mid-burst: every PR ends with exactly one completed check run on its head.
- A server that goes away later is named by /readyz; one that is away at start stops the
  process with one line.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from sqlalchemy import create_engine, select

from bot.store.db import EvaluationLease
from tests.bot.harness import Bot, sign
from tests.fakehub import FakeHub
from tests.fakehub.model import FileChange
from tests.gate_e2e.gatehub import comment, reactions
from tests.reliability.conftest import NAIVE, OLD, REPO
from tests.reliability.helpers import wait_for
from tests.reliability.server import ROOT, ServerProcess, descendants, free_port
from tests.reliability.test_crash import _completed, _deliver, _sticky
from tests.servers import Redis, Servers


def _gunicorn_app(gthread: bool) -> list[str]:
    if gthread:
        return ["-k", "gthread", "--threads", "16", "app:create_app()"]
    return ["-k", "bot.web.server.Worker", "app:create_asgi_app()"]


class Cluster:
    """Processes sharing one PostgreSQL database and one Redis queue."""

    def __init__(self, hub: FakeHub, servers: Servers | None, tmp_path: Path, **settings: object) -> None:
        """`servers` None: the processes share the web process's SQLite data directory instead."""
        self.hub = hub
        self.tmp_path = tmp_path
        if servers is not None:
            settings.update(database_url=servers.database_url(), redis_url=servers.redis_url())
        self.web = ServerProcess(
            hub, tmp_path / "web", embedded_worker=0, lease_seconds=2, job_retry_delay=0, **settings,
        )
        self.env = self.web.env
        self.workers: list[subprocess.Popen[bytes]] = []
        self.others: list[subprocess.Popen[bytes]] = []

    def start_worker(self) -> subprocess.Popen[bytes]:
        log = open(self.tmp_path / f"worker-{len(self.workers)}.log", "wb")  # noqa: SIM115
        worker = subprocess.Popen(
            [sys.executable, "-m", "bot.worker"], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        self.workers.append(worker)
        return worker

    def gunicorn(self, workers: int, gthread: bool = False) -> str:
        """gunicorn web processes, as docs/operations.md runs them: `-k bot.web.server.Worker
        'app:create_asgi_app()'`, or the WSGI form `-k gthread 'app:create_app()'`; their URL
        once they answer."""
        port = free_port()
        log = open(self.tmp_path / "gunicorn.log", "wb")  # noqa: SIM115
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(workers), "-b", f"127.0.0.1:{port}", *_gunicorn_app(gthread)],
            cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        self.others.append(process)
        url = f"http://127.0.0.1:{port}"

        def ready() -> bool:
            assert process.poll() is None, (self.tmp_path / "gunicorn.log").read_text()
            try:
                return requests.get(f"{url}/readyz", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_for(ready, timeout=90, what="gunicorn to answer")
        return url

    def kill(self, worker: subprocess.Popen[bytes]) -> None:
        helpers = descendants(worker.pid)  # its analysis processes die with it, as on a lost machine
        worker.send_signal(signal.SIGKILL)
        worker.wait(30)
        for pid in helpers:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def close(self) -> None:
        for process in self.workers + self.others:
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
        for process in self.workers + self.others:
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(30)
        self.web.stop()

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.tmp_path.glob("*.log")))


@contextmanager
def _running(fakehub: FakeHub, servers: Servers | None, tmp_path: Path) -> Iterator[Cluster]:
    fakehub.add_repo(REPO, default_branch="main", installation_id=42)
    made = Cluster(fakehub, servers, tmp_path)
    try:
        yield made
    finally:
        made.close()


@pytest.fixture
def cluster(fakehub: FakeHub, servers: Servers, tmp_path: Path) -> Iterator[Cluster]:
    with _running(fakehub, servers, tmp_path) as made:
        yield made


@pytest.fixture(params=["sqlite", "postgres"])
def any_cluster(request: pytest.FixtureRequest, fakehub: FakeHub, tmp_path: Path) -> Iterator[Cluster]:
    """A cluster on PostgreSQL + Redis, or worker processes sharing one SQLite data directory."""
    servers = request.getfixturevalue("servers") if request.param == "postgres" else None
    with _running(fakehub, servers, tmp_path) as made:
        yield made


def test_drill_every_worker_killed_mid_evaluation_then_one_new_worker(cluster: Cluster) -> None:
    hub = cluster.hub
    hub.strict = False  # the killed clients leave requests half-answered
    head = hub.add_pull(REPO, number=7, author="alice", files=[FileChange("app/clock.py", before=OLD, after=NAIVE)]).head_sha
    cluster.web.start()
    first, second = cluster.start_worker(), cluster.start_worker()
    hub.fail("GET", r"/git/blobs/", None, delay=60)
    _deliver(cluster.web, hub, "opened")
    wait_for(lambda: hub.check_runs(REPO, head) and hub.blob_fetches > 0, timeout=90,
             what="the evaluation to wait on GitHub")
    cluster.kill(first)
    cluster.kill(second)
    hub.clear_faults()
    assert _completed(hub, head) is None

    cluster.start_worker()  # nobody sends the webhook again
    run = wait_for(lambda: _completed(hub, head), timeout=90, what="the check run after the new worker started")
    assert run["conclusion"] == "failure", cluster.logs()
    assert [a["title"].split()[0] for a in run["annotations"]] == ["RG101"]
    assert len(hub.check_runs(REPO, head)) == 1
    wait_for(lambda: _sticky(hub), timeout=60, what="the sticky comment")
    time.sleep(1)  # a second evaluation, were there one, would post now
    assert len(_sticky(hub)) == 1 and len(hub.check_runs(REPO, head)) == 1


def test_drill_a_worker_killed_after_github_made_its_check_run_leaves_one_run(cluster: Cluster) -> None:
    """GitHub made the run, the worker died before it learned the run's id: the next worker
    finds that run (by the `external_id` recorded before the request) instead of making a
    second one on the same commit."""
    hub = cluster.hub
    hub.strict = False  # the killed client leaves a request half-answered
    head = hub.add_pull(REPO, number=7, author="alice", files=[FileChange("app/clock.py", before=OLD, after=NAIVE)]).head_sha
    cluster.web.start()
    first = cluster.start_worker()
    release = hub.hold_answer("POST", r"/check-runs$")
    _deliver(cluster.web, hub, "opened")
    wait_for(lambda: hub.check_runs(REPO, head), timeout=90, what="GitHub to make the check run")
    cluster.kill(first)
    release.set()

    cluster.start_worker()  # nobody sends the webhook again
    run = wait_for(lambda: _completed(hub, head), timeout=90, what="the check run after the new worker started")
    assert run["conclusion"] == "failure", cluster.logs()
    time.sleep(1)  # a second run, were one made, would be made by now
    assert len(hub.check_runs(REPO, head)) == 1, hub.check_runs(REPO, head)
    assert "was created by an evaluation that stopped" in cluster.logs()


@pytest.mark.parametrize("reached", [False, True], ids=["before", "after"])
def test_drill_a_worker_killed_while_sending_its_verdict_leaves_one_run(cluster: Cluster, reached: bool) -> None:
    """The worker died while GitHub was taking its verdict and annotations: before GitHub took
    them (the run holds none) or after (it holds them all, the worker never learned it). The
    next worker completes that run, annotated once, rather than make another."""
    hub = cluster.hub
    hub.strict = False  # the killed client leaves a request half-answered
    head = hub.add_pull(REPO, number=7, author="alice", files=[FileChange("app/clock.py", before=OLD, after=NAIVE)]).head_sha
    cluster.web.start()
    first = cluster.start_worker()
    if reached:
        release = hub.hold_answer("PATCH", r"/check-runs/\d+$")
    else:
        hub.fail("PATCH", r"/check-runs/\d+$", 503, times=None, delay=60)  # never applied
    _deliver(cluster.web, hub, "opened")
    wait_for(lambda: hub.requests_to("PATCH", r"/check-runs/\d+$"), timeout=90, what="the verdict to be sent")
    if reached:
        wait_for(lambda: _completed(hub, head), timeout=30, what="GitHub to take the verdict")
    cluster.kill(first)
    hub.clear_faults()
    if reached:
        release.set()

    cluster.start_worker()
    # The sticky comment comes after the check run: only the new worker's evaluation posts it.
    wait_for(lambda: _sticky(hub), timeout=90, what="the new worker's evaluation")
    run = _completed(hub, head)
    assert run["conclusion"] == "failure", cluster.logs()
    assert [a["title"].split()[0] for a in run["annotations"]] == ["RG101"]
    assert len(hub.check_runs(REPO, head)) == 1, hub.check_runs(REPO, head)


def test_drill_a_command_job_whose_worker_dies_is_taken_over_by_a_running_worker(any_cluster: Cluster) -> None:
    """No worker starts again: the one still running finds the job nobody finished or runs,
    once its lease time has passed, and applies the command once."""
    cluster = any_cluster
    hub = cluster.hub
    hub.strict = False  # the killed client leaves a request half-answered
    hub.add_collaborator(REPO, "bob", "write")
    head = hub.add_pull(REPO, number=7, author="alice", files=[FileChange("app/ok.py", status="added", after="X = 1\n")]).head_sha
    cluster.web.start()
    first = cluster.start_worker()
    _deliver(cluster.web, hub, "opened")
    wait_for(lambda: _completed(hub, head), timeout=90, what="the first evaluation")
    fake = Bot(hub, None, None, cluster.web.url)  # type: ignore[arg-type]  # to post deliveries
    hub.fail("GET", r"/collaborators/bob/permission$", None, delay=60)
    held, answer = comment(fake, 7, "bob", "/gate hold until the migration is reviewed")
    assert answer.status_code == 202
    wait_for(lambda: hub.requests_to("GET", r"/collaborators/bob/permission$"), timeout=60,
             what="the command job to wait on GitHub")
    # A second worker starts while the first runs the job: it finds the job running and leaves it.
    second = cluster.start_worker()
    wait_for(lambda: "running in another worker" in cluster.logs(), timeout=60, what="the second worker to see it run")
    cluster.kill(first)
    hub.clear_faults()
    wait_for(lambda: reactions(fake, held), timeout=60, what="the command to be applied by the running worker")
    wait_for(lambda: (r := _completed(hub, head)) and "on hold by @bob" in r["output"]["title"],
             timeout=60, what="the check run on hold")
    time.sleep(1.5)  # a second application, were there one, would react now
    assert reactions(fake, held) == ["+1"], cluster.logs()
    assert second.poll() is None
    assert "queueing again comment:" in cluster.logs()


def test_drill_1000_deliveries_over_100_prs_with_gunicorn_and_a_worker_killed(cluster: Cluster) -> None:
    hub = cluster.hub
    hub.strict = False
    pulls = list(range(100, 200))
    for n in pulls:
        hub.add_pull(REPO, number=n, author="alice", files=[
            FileChange(f"load/m{n}.py", before=OLD, after=OLD + f"\n\ndef f{n}():\n    return datetime.now()\n")
        ])
    url = cluster.gunicorn(2)
    workers = [cluster.start_worker() for _ in range(3)]
    wait_for(lambda: all("consumer threads" in p.read_text() for p in cluster.tmp_path.glob("worker-*.log")),
             timeout=90, what="the workers to start")
    # GitHub answers file reads slowly, so a worker killed mid-burst is killed mid-evaluation.
    hub.fail("GET", r"/git/blobs/", None, times=None, delay=0.2)
    state = create_engine(cluster.env["REVIEWGATE_DATABASE_URL"].replace("postgresql://", "postgresql+psycopg://"))
    victim = f":{workers[0].pid}:"

    def victim_evaluates() -> bool:
        with state.connect() as conn:
            return any(victim in w for (w,) in conn.execute(select(EvaluationLease.worker_id)))
    shaper = Bot(hub, None, None, url)  # type: ignore[arg-type]  # builds payloads only
    bodies = {n: json.dumps(shaper.pull_request_payload(REPO, n, "synchronize")).encode() for n in pulls}
    local = threading.local()
    statuses: list[int] = []

    def send(i: int) -> None:
        if i == 500:
            wait_for(victim_evaluates, timeout=60, what="the first worker to hold a lease")
            cluster.kill(workers[0])  # mid-burst, mid-evaluation
        if not hasattr(local, "session"):
            local.session = requests.Session()
        body = bodies[pulls[i % len(pulls)]]
        headers = {"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": str(uuid.uuid4()),
                   "Content-Type": "application/json", "X-Hub-Signature-256": sign(hub.webhook_secret, body)}
        try:
            response = local.session.post(f"{url}/webhook", data=body, timeout=60, headers=headers)
        except requests.ConnectionError:
            # gunicorn closes a keep-alive connection idle for 2 s (this thread waited for the
            # kill above) and the request may cross the close: sent again, as GitHub
            # redelivers, on a new connection. The same GUID: were it recorded, it counts once.
            local.session = requests.Session()
            response = local.session.post(f"{url}/webhook", data=body, timeout=60, headers=headers)
        statuses.append(response.status_code)

    with ThreadPoolExecutor(20) as pool:
        list(pool.map(send, range(1000)))
    assert len(statuses) == 1000 and set(statuses) == {202}, sorted(set(statuses))

    heads = {n: hub.pull(REPO, n).head_sha for n in pulls}

    def completed_runs(n: int) -> list[dict]:
        return [r for r in hub.check_runs(REPO, heads[n]) if r["status"] == "completed"]

    wait_for(lambda: all(completed_runs(n) for n in pulls), timeout=300,
             what="a completed check run on every PR's head")
    time.sleep(2)  # a duplicate evaluation, were there one, would publish now
    state.dispose()
    assert "queueing again the evaluation" in cluster.logs()  # a live worker took over the killed one's
    for n in pulls:
        runs = hub.check_runs(REPO, heads[n])
        assert len(runs) == 1 and runs[0]["status"] == "completed", (n, runs)
        assert runs[0]["conclusion"] == "failure"


def test_the_wsgi_form_under_gunicorn_acknowledges_and_the_gate_concludes(cluster: Cluster) -> None:
    """`gunicorn -k gthread 'app:create_app()'`: the webhook as a Flask route, a thread per request."""
    hub = cluster.hub
    head = hub.add_pull(REPO, number=7, author="alice", files=[FileChange("app/clock.py", before=OLD, after=NAIVE)]).head_sha
    url = cluster.gunicorn(2, gthread=True)
    cluster.start_worker()
    body = json.dumps(Bot(hub, None, None, url).pull_request_payload(REPO, 7, "opened")).encode()  # type: ignore[arg-type]
    headers = {"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": str(uuid.uuid4()),
               "Content-Type": "application/json", "X-Hub-Signature-256": sign(hub.webhook_secret, body)}
    answer = requests.post(f"{url}/webhook", data=body, timeout=30, headers=headers)
    assert (answer.status_code, answer.json()) == (202, {"outcome": "queued", "pulls": [7]})
    again = requests.post(f"{url}/webhook", data=body, timeout=30, headers=headers)
    assert (again.status_code, again.json()["outcome"]) == (202, "duplicate")
    unsigned = requests.post(f"{url}/webhook", data=body, timeout=30, headers=dict(headers, **{"X-Hub-Signature-256": "sha256=00"}))
    assert unsigned.status_code == 401
    run = wait_for(lambda: _completed(hub, head), timeout=90, what="the check run")
    assert run["conclusion"] == "failure", cluster.logs()
    assert len(hub.check_runs(REPO, head)) == 1


def test_readyz_names_a_server_that_went_away_and_start_up_says_it_in_one_line(
    fakehub: FakeHub, servers: Servers, tmp_path: Path
) -> None:
    own = tmp_path / "redis"
    own.mkdir()
    redis_server = Redis(own)  # this test's own, to stop it
    redis_server.start()
    web = ServerProcess(fakehub, tmp_path / "web", database_url=servers.database_url(),
                        redis_url=redis_server.url(1), embedded_worker=0)
    try:
        web.start()
        assert requests.get(f"{web.url}/readyz", timeout=10).status_code == 200
        redis_server.stop()
        ready = requests.get(f"{web.url}/readyz", timeout=30)
        assert ready.status_code == 503
        assert set(ready.json()["problems"]) == {"queue"}
    finally:
        redis_server.stop()
        web.stop()

    for name, value, said in [
        ("REDIS_URL", redis_server.url(1), "cannot reach Redis"),
        ("DATABASE_URL", "postgresql://nobody:pw@127.0.0.1:1/none", "cannot reach the database"),
        ("DATABASE_URL", "mysql+nodriver://x/y", "REVIEWGATE_DATABASE_URL is not usable"),
    ]:
        env = dict(web.env, **{f"REVIEWGATE_{name}": value})
        # The worker starts the same way; once is enough to see it say so.
        for command in (["app.py"], ["-m", "bot.worker"]) if name == "REDIS_URL" else (["app.py"],):
            done = subprocess.run([sys.executable, *command], cwd=ROOT, env=env, capture_output=True, timeout=120)
            lines = done.stderr.decode().strip().splitlines()
            assert done.returncode == 2 and len(lines) == 1, (command, lines)
            assert lines[0].startswith(f"reviewgate: {said}") and "pw@" not in lines[0], lines
    # gunicorn's web processes say it the same way, and its master stops instead of
    # starting them again and again.
    env = dict(web.env, REVIEWGATE_DATABASE_URL="postgresql://nobody:pw@127.0.0.1:1/none")
    for gthread in (False, True):
        done = subprocess.run(
            [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{free_port()}", *_gunicorn_app(gthread)],
            cwd=ROOT, env=env, capture_output=True, timeout=120,
        )
        said = done.stderr.decode()
        assert done.returncode == 3, said
        assert "Traceback" not in said and "pw@" not in said, said
        ours = [line for line in said.splitlines() if line.startswith("reviewgate:")]
        assert ours and all(line.startswith("reviewgate: cannot reach the database") for line in ours), said
