"""End-to-end harness, shared by tests/bot and bench/github_calls.py: the real app over real
HTTP, a real queue and database, and fakehub as GitHub. Webhook payloads start from GitHub's
published examples and are signed as GitHub signs them.

Two backends: `sqlite` (SQLite state and queue, the consumer threads in this process, as
`python app.py` runs them) and `postgres-redis` (a fresh PostgreSQL database and Redis queue
from tests/servers.py, and the jobs run by two `python -m bot.worker` processes).
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
import os
import signal
import subprocess
import threading
import time
import uuid
from functools import cache
from pathlib import Path
from typing import Any, cast

import requests
from werkzeug.serving import make_server

from app import create_app
from bot.jobs.queue import EmbeddedConsumer, Queue
from bot.runtime import Runtime
from bot.settings import Settings
from bot.store.db import GateJob, PullState
from bot.web import asgi
from tests import warm_workers
from tests.fakehub import FakeHub
from tests.reliability.helpers import parse_metrics
from tests.servers import Servers, free_port
from tests.warm_workers import WarmWorker

SQLITE, SCALE_OUT = "sqlite", "postgres-redis"
BACKENDS = (SQLITE, SCALE_OUT)
ROOT = Path(__file__).resolve().parents[2]

# These tests are about analysis and reporting; the approval policy has its own tests in
# tests/gate_e2e. With this configuration a PR without findings passes on its own.
NO_APPROVALS = "approvals:\n  required: 0\n"

WEBHOOKS = Path(__file__).resolve().parents[1] / "fixtures" / "github" / "webhooks"


@cache
def _example(event: str, name: str) -> dict[str, Any]:
    return json.loads((WEBHOOKS / event / name).read_text())


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def parametrize_backends(metafunc: Any) -> None:
    """Run every test that uses the `bot` (or `backend`) fixture on both backends (a
    directory's `pytest_generate_tests` calls this)."""
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", BACKENDS)


class Bot:
    """The app under test, its queue consumer, and helpers to talk to it like GitHub does."""

    def __init__(self, hub: FakeHub, settings: Settings, runtime: Runtime, url: str) -> None:
        self.hub = hub
        self.settings = settings
        self.runtime = runtime
        self.url = url
        self.consumer: EmbeddedConsumer | None = None
        # With a Redis queue, the jobs run in `python -m bot.worker` processes (`start`).
        self.worker_processes = settings is not None and settings.redis_url is not None
        self.workers: list[WarmWorker] = []
        self.worker_metrics: list[str] = []  # their /metrics
        # A test that sets analysis limits is about the worker processes that enforce them.
        self.analysis_limits = False
        self.session = requests.Session()
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def queue(self) -> Queue:
        """The app's queue (in its data directory), as `create_app` built it."""
        return cast(Queue, self.runtime.queue)

    def close(self) -> None:
        self.stop()
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(5)
        self.queue.huey.flush()
        self.runtime.close()

    # -- deliveries -----------------------------------------------------------------------------
    def post(
        self,
        event: str,
        payload: dict[str, Any] | bytes,
        *,
        guid: str | None = None,
        secret: str | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> requests.Response:
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        sent = {
            "X-GitHub-Event": event,
            "X-GitHub-Delivery": guid or str(uuid.uuid4()),
            "Content-Type": "application/json",
            "X-Hub-Signature-256": signature or sign(secret or self.hub.webhook_secret, body),
        }
        sent.update(headers or {})
        return self.session.post(f"{self.url}/webhook", data=body, headers=sent, timeout=30)

    def pull_request_payload(
        self, repo: str, number: int, action: str = "opened", sender: str | None = None
    ) -> dict[str, Any]:
        """`sender`: who acted; by default whoever pushed the head (for `synchronize`, GitHub's
        sender is the pusher), which is the PR's author unless a test pushed as someone else."""
        name = {"edited": "opened.payload.json"}.get(action, f"{action}.payload.json")
        payload = copy.deepcopy(_example("pull_request", name))
        fake_repo = self.hub.repo(repo)
        pull = self.hub.pull(repo, number)
        payload["action"] = action
        payload["number"] = number
        payload["pull_request"] = self.hub.shapes.pull(fake_repo, pull, self.hub.pull_files(repo, number))
        payload["sender"] = self.hub.shapes.user(sender or pull.pushers.get(pull.head_sha, pull.author))
        payload["repository"] = self.hub.shapes.repository(fake_repo)
        payload["installation"] = {"id": fake_repo.installation_id, "node_id": "MDIzOkludGVncmF0aW9uSW5zdGFsbGF0aW9uMQ=="}
        return payload

    def retargeted_payload(self, repo: str, number: int, former: tuple[str, str], sender: str) -> dict[str, Any]:
        """`pull_request.edited` for a changed base, as GitHub sends it: `changes.base.ref.from`
        and `changes.base.sha.from` name the former base."""
        payload = self.pull_request_payload(repo, number, "edited", sender)
        payload["changes"] = {"base": {"ref": {"from": former[0]}, "sha": {"from": former[1]}}}
        return payload

    def check_run_rerequested_payload(self, repo: str, number: int, run: dict[str, Any]) -> dict[str, Any]:
        payload = copy.deepcopy(_example("check_run", "rerequested.payload.json"))
        fake_repo = self.hub.repo(repo)
        payload["check_run"].update(
            id=run["id"], name=run["name"], head_sha=run["head_sha"],
            pull_requests=[{"number": number, "id": 1, "url": f"{self.hub.url}/repos/{repo}/pulls/{number}",
                            "head": {"ref": "x", "sha": run["head_sha"], "repo": {"id": 1, "url": "", "name": "x"}},
                            "base": {"ref": "main", "sha": "0" * 40, "repo": {"id": 1, "url": "", "name": "x"}}}],
        )
        payload["repository"] = self.hub.shapes.repository(fake_repo)
        payload["installation"] = {"id": fake_repo.installation_id, "node_id": "x"}
        return payload

    def open_pull(
        self, repo: str, number: int, action: str = "opened", *, sender: str | None = None, **kwargs: Any
    ) -> requests.Response:
        return self.post("pull_request", self.pull_request_payload(repo, number, action, sender), **kwargs)

    # -- queue ----------------------------------------------------------------------------------
    def start(self, workers: int = 2) -> None:
        if self.worker_processes:
            if not self.workers:
                # The analysis's process isolation has its own tests; a worker process started
                # per test would pay for its pool on every first analysis.
                isolation = {} if self.analysis_limits else {"analysis_isolation": False}
                self.workers = [self.start_worker(workers, **isolation) for _ in range(2)]
        elif self.consumer is None:
            self.consumer = self.queue.start_consumer(workers, max_delay=0.1, initial_delay=0.02)

    def start_worker(self, threads: int = 2, **settings: Any) -> WarmWorker:
        """A `python -m bot.worker` process on this app's settings (and these), logging to the
        data directory; forked warm (tests/warm_workers.py)."""
        data_dir = Path(self.settings.data_dir)
        data_dir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        self.worker_metrics.append(f"http://127.0.0.1:{port}")
        env = settings_env(self.settings.model_copy(update={"worker_metrics_port": port, **settings}))
        log = data_dir / f"worker-{len(list(data_dir.glob('worker-*.log')))}.log"
        return warm_workers.start(["--workers", str(threads)], env, ROOT, log)

    def stop(self) -> None:
        if self.consumer is not None:
            self.consumer.stop(graceful=True)
            self.consumer = None
        for worker in self.workers:
            # At once, as Ctrl-C does: a job under way is left as a crash leaves it, and the
            # next worker's start-up recovery (the lease's process is gone) queues it again.
            worker.send_signal(signal.SIGINT)
        for worker in self.workers:
            try:
                worker.wait(60)
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait(30)
        self.workers = []

    def settled(self) -> bool:
        if self.queue.pending_count() or self.queue.scheduled_count():
            return False
        with self.runtime.db.session() as session:
            if session.query(GateJob).filter(GateJob.done.is_(False)).count():
                return False  # a command or merge-group job is owed or running
            return all(s.done_seq >= s.wanted_seq for s in session.query(PullState))

    def wait(self, timeout: float = 30.0) -> None:
        """Until every owed evaluation has finished (the consumer must be running)."""
        self.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.settled():
                return
            time.sleep(0.02)
        raise AssertionError("the queue did not settle")

    def worker_log(self) -> str:
        """What the worker processes logged (on SQLite the jobs log in this process)."""
        return "".join(p.read_text(errors="replace") for p in sorted(Path(self.settings.data_dir).glob("worker-*.log")))

    @property
    def processes(self) -> int:
        """How many processes run the jobs: the app's own, or its worker processes."""
        return max(1, len(self.workers))

    def metrics_texts(self) -> list[str]:
        """`/metrics` of the processes that do the work: the app's (with the consumer, on
        SQLite) and each running worker's."""
        texts = [self.session.get(f"{self.url}/metrics", timeout=10).text]
        for url in self.worker_metrics:
            try:
                texts.append(requests.get(f"{url}/metrics", timeout=10).text)
            except requests.ConnectionError:
                continue  # a worker stopped since; tests read metrics while they run
        return texts

    def metric(self, name: str, **labels: str) -> float:
        """A metric's value summed over the processes that do the work (`metrics_texts`)."""
        key = (name, tuple(sorted(labels.items())))
        return sum(parse_metrics(text).get(key, 0.0) for text in self.metrics_texts())

    # -- GitHub state ---------------------------------------------------------------------------
    def latest_run(self, repo: str, head_sha: str) -> dict[str, Any]:
        runs = [r for r in self.hub.check_runs(repo, head_sha) if r["name"] == "reviewgate"]
        assert runs, f"no reviewgate check run on {head_sha[:7]}"
        return runs[-1]


class _Uvicorn:
    """uvicorn serving the ASGI app, as `python app.py` does, behind the same start/stop shape
    as werkzeug's."""

    def __init__(self, app: asgi.App) -> None:
        import uvicorn

        from bot.web import server

        self.asgi = app
        self.app = app.flask_app  # as werkzeug's server has it
        self._socket = server.bind("127.0.0.1", 0)
        self.server_port = self._socket.getsockname()[1]
        self._server = uvicorn.Server(server.config(app))

    def serve_forever(self) -> None:
        try:
            self._server.run(sockets=[self._socket])  # not the main thread: installs no signal handler
        finally:
            self.asgi.close()

    def shutdown(self) -> None:
        self._server.should_exit = True


def _serve(app: Any, serve_with: str = "uvicorn") -> tuple[Any, threading.Thread]:
    """`uvicorn`: the ASGI app, as `python app.py` serves it; `werkzeug`: the Flask app alone,
    as a WSGI server serves it (`gunicorn -k gthread 'app:create_app()'`)."""
    if serve_with == "uvicorn":
        server: Any = _Uvicorn(asgi.App(app.extensions["reviewgate"], app))
    else:
        server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server, thread


def make_settings(hub: FakeHub, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = dict(
        webhook_secret=hub.webhook_secret,
        app_id=hub.app_id,
        private_key=hub.private_key_pem,
        github_api_url=hub.url,
        data_dir=data_dir,
        github_write_interval=0,
        github_retries=2,
        github_backoff=0,
        github_timeout=10,
        # A failed job is retried twice, at once.
        job_retries=2,
        job_retry_delay=0,
    )
    values.update(overrides)
    return Settings(**values)


def settings_env(settings: Settings) -> dict[str, str]:
    """The environment that gives another process these settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVIEWGATE_")}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        if hasattr(value, "get_secret_value"):
            value = value.get_secret_value()
        env[f"REVIEWGATE_{name.upper()}"] = str(int(value)) if isinstance(value, bool) else str(value)
    return env


def make_app(
    hub: FakeHub, data_dir: Path, serve_with: str = "uvicorn", servers: Servers | None = None, **overrides: Any
) -> Bot:
    """Start the app over real HTTP on a fresh database and queue: in `data_dir`, or with
    `servers` a new PostgreSQL database and Redis database (the jobs then run in worker
    processes)."""
    if servers is not None:
        overrides.setdefault("database_url", servers.database_url())
        overrides.setdefault("redis_url", servers.redis_url())
    settings = make_settings(hub, data_dir, **overrides)
    app = create_app(settings)
    runtime: Runtime = app.extensions["reviewgate"]
    # Not the checkout's .env: an App without credentials must not find one there.
    runtime.env_file = Path(data_dir) / "test.env"
    server, thread = _serve(app, serve_with)
    bot = Bot(hub, settings, runtime, f"http://127.0.0.1:{server.server_port}")
    bot._server, bot._thread = server, thread
    bot.analysis_limits = any(name.startswith("analysis_") for name in overrides)
    return bot
