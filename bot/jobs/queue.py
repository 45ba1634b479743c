"""The job queue: Huey on SQLite (default) or Redis, with every task of the bot registered.

`build_queue(rt)` builds it from the runtime's settings and installs it as `rt.queue`, where
producers of work reach it through the `JobQueue` protocol. Only the process entry points
(`app.py`, `bot.worker`) import this module: they build the queue, start consumers and queue
again at start-up what was owed when the process stopped.

Three tasks: `evaluate` (one owed evaluation, `bot.jobs.evaluate`), `gate_job` (a `/gate`
command comment, its acknowledgement or a merge group, by the key of its `GateJob` row), and
the reconciler's periodic pass (`bot.jobs.reconcile`).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from huey import Huey, RedisHuey, SqliteHuey
from huey.api import Task, TaskWrapper
from huey.consumer import Consumer, Worker
from huey.storage import SqliteStorage

from bot.github.client import reason_of, retry_after
from bot.jobs import commands, evaluate, merge_group, reconcile
from bot.metrics import EVALUATION_SECONDS, JOBS
from bot.runtime import Runtime
from bot.settings import ConfigurationError, Settings
from bot.store import pull_state
from bot.store.db import GateJob, utcnow
from bot.store.pull_state import Owed

log = logging.getLogger(__name__)


class _QueueStorage(SqliteStorage):
    """WAL with synchronous=NORMAL: a committed job survives a crash of the process.

    It may not survive a power cut, and need not: the delivery's evaluation is recorded as
    owed in the database (fsync'ed) before the job is queued, and `recover` queues it again
    at start-up. One fsync per delivery instead of two keeps acknowledgements fast.
    """

    def _create_connection(self) -> Any:
        conn = super()._create_connection()
        conn.execute("pragma synchronous=NORMAL")
        return conn


class _Ringing:
    """Rings the process's doorbell once a job is in the queue (Huey's `enqueued` signal
    comes before the job is stored, too early to wake a worker for it)."""

    doorbell: Doorbell | None = None

    def enqueue(self, task: Task) -> Any:
        result = super().enqueue(task)  # type: ignore[misc]
        if self.doorbell is not None:
            self.doorbell.ring()
        return result


class _RedisHuey(_Ringing, RedisHuey):
    pass


class _SqliteHuey(_Ringing, SqliteHuey):
    pass


def _redacted(settings: Settings) -> str:
    if not settings.redis_url:
        return str(settings.queue_path)
    parts = urlsplit(settings.redis_url)
    if parts.password:
        parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@"))
    return urlunsplit(parts)


def build_huey(settings: Settings) -> Huey:
    if settings.redis_url:
        return _RedisHuey("reviewgate", url=settings.redis_url, results=False)
    settings.prepare_data_dir()
    return _SqliteHuey(
        "reviewgate", filename=str(settings.queue_path.resolve()), results=False,
        storage_class=_QueueStorage,
    )


# How often an idle consumer looks for a job queued by another process: at once at first,
# then at most every second. A job queued in the same process rings the doorbell instead.
_POLLING: dict[str, Any] = {"initial_delay": 0.05, "max_delay": 1.0}


class Doorbell:
    """Rung whenever this process queues a job (retries and scheduled jobs that fall due
    included): idle workers wake at once instead of sleeping out their delay.

    A worker notes the ring count before it looks at the queue and sleeps only while the
    count is unchanged, so a job queued between its look and its sleep is not missed.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self.rings = 0

    def ring(self) -> None:
        with self._cond:
            self.rings += 1
            self._cond.notify_all()

    def wait(self, seen: int, timeout: float) -> None:
        with self._cond:
            self._cond.wait_for(lambda: self.rings != seen, timeout)


def _worker_class(doorbell: Doorbell) -> type[Worker]:
    class WakeableWorker(Worker):
        _seen = 0
        delay: float
        max_delay: float
        backoff: float

        def loop(self, now: Any = None) -> None:
            self._seen = doorbell.rings
            super().loop(now)

        def sleep(self) -> None:
            self.delay = min(self.delay, self.max_delay)
            if not self.stop_flag.is_set():
                doorbell.wait(self._seen, self.delay)
            self.delay *= self.backoff

    return WakeableWorker


class EmbeddedConsumer(Consumer):
    """A consumer that runs inside another server: that server owns the process's signals."""

    doorbell: Doorbell | None = None
    keeper: LeaseKeeper | None = None

    def _set_signal_handlers(self) -> None:
        pass

    def start(self) -> None:
        super().start()
        if self.keeper is not None:
            self.keeper.start()

    def stop(self, graceful: bool = False) -> None:
        self.stop_flag.set()
        if self.doorbell is not None:
            self.doorbell.ring()  # sleeping workers see the stop flag now
        super().stop(graceful=graceful)
        if self.keeper is not None:
            self.keeper.stop()


class Queue:
    """The Huey instance and its tasks, for one runtime. Implements `bot.runtime.JobQueue`."""

    def __init__(self, rt: Runtime) -> None:
        settings = rt.settings
        self.rt = rt
        self.huey = build_huey(settings)
        self.doorbell = Doorbell()
        if isinstance(self.huey, _Ringing):
            self.huey.doorbell = self.doorbell

        @self.huey.task(
            retries=settings.job_retries, retry_delay=settings.job_retry_delay,
            retry_backoff=settings.job_retry_backoff, context=True,
        )
        def evaluate(
            repo: str, number: int, installation_id: int, head_sha: str | None, seq: int, trigger: str,
            task: Task | None = None,
        ) -> None:
            _evaluate(rt, Owed(repo, number, installation_id, head_sha, seq, trigger), task)

        @self.huey.task(retries=settings.job_retries, retry_delay=settings.job_retry_delay, context=True)
        def gate_job(key: str, task: Task | None = None) -> None:
            """A `/gate` command comment, its acknowledgement, or a merge group."""
            _gate_job(rt, key, task)

        @self.huey.periodic_task(lambda moment: reconcile.due(settings, moment))
        def reconcile_periodically() -> None:
            reconcile.periodic_pass(rt)

        self.evaluate: TaskWrapper = evaluate
        self.gate_job: TaskWrapper = gate_job
        self.reconcile_periodically: TaskWrapper = reconcile_periodically

    def enqueue_evaluation(self, job: Owed, delay: float | None = None) -> None:
        args = (job.repo, job.number, job.installation_id, job.head_sha, job.seq, job.trigger)
        if delay is None:
            self.evaluate(*args)
        else:
            self.evaluate.schedule(args, delay=delay)

    def enqueue_gate_job(self, key: str) -> None:
        self.gate_job(key)

    def check(self) -> None:
        """Raises `ConfigurationError` (one line, no password) when the queue cannot be reached."""
        try:
            self.huey.pending_count()
        except Exception as exc:
            where = "Redis" if self.rt.settings.redis_url else "the SQLite queue"
            first = (str(exc).strip().splitlines() or [""])[0]
            raise ConfigurationError(
                f"cannot reach {where} ({_redacted(self.rt.settings)}): {type(exc).__name__}: {first}"
            ) from None

    def pending_count(self) -> int:
        return int(self.huey.pending_count())

    def scheduled_count(self) -> int:
        return int(self.huey.scheduled_count())

    def start_consumer(self, workers: int, **options: Any) -> EmbeddedConsumer:
        """Consumer threads beside a server in this process (the periodic reconciler among
        their tasks), and the lease keeper; the caller stops them."""
        if self.rt.isolation is not None:
            self.rt.isolation.warm()
        # Huey builds its workers in the constructor, from the class's `worker_class`.
        embedded = type("Consumer", (EmbeddedConsumer,), {"worker_class": _worker_class(self.doorbell),
                                                          "doorbell": self.doorbell})
        consumer: EmbeddedConsumer = embedded(
            self.huey, workers=workers, worker_type="thread", **{**_POLLING, **options}
        )
        consumer.keeper = LeaseKeeper(self)
        consumer.start()
        return consumer

    def run_consumer(self, workers: int, *, periodic: bool = True) -> None:
        """Consume in the foreground until a signal: SIGTERM stops after the jobs under way,
        SIGINT at once (`python -m bot.worker`)."""
        if self.rt.isolation is not None:
            self.rt.isolation.warm()
        keeper = LeaseKeeper(self)
        keeper.start()
        try:
            # Woken at once for the jobs this process queues itself (retries, follow-ups).
            foreground = type("Consumer", (Consumer,), {"worker_class": _worker_class(self.doorbell)})
            foreground(
                self.huey, workers=workers, worker_type="thread", periodic=periodic, graceful_signal="TERM",
                **_POLLING,
            ).run()
        finally:
            keeper.stop()

    @property
    def lease(self) -> timedelta:
        return timedelta(seconds=self.rt.settings.lease_seconds)

    def take_over(self) -> int:
        """Queue again the evaluations of workers that died (their heartbeat stopped), and,
        when the queue is empty, those whose job a dying worker had taken from the queue."""
        owed = pull_state.take_over(self.rt.db, self.lease)
        stranded: list[str] = []
        if not self.huey.pending_count() and not self.huey.scheduled_count():
            owed += pull_state.stranded(self.rt.db, self.lease)
            stranded = self._stranded_gate_jobs()
        for job in owed:
            log.warning("queueing again the evaluation of %s#%s (%s): its worker stopped", job.repo, job.number, job.trigger)
            self.enqueue_evaluation(job)
        for key in stranded:
            log.warning("queueing again %s: its worker stopped", key)
            self.enqueue_gate_job(key)
        return len(owed) + len(stranded)

    def _stranded_gate_jobs(self) -> list[str]:
        """Command and merge-group jobs not done, older than a lease, neither queued (the
        caller saw the queue empty) nor running (nobody holds their lock): a worker that died
        had taken them. Workers sharing a SQLite data directory do this too (their locks are
        files beside the database)."""
        if not self.rt.settings.app_configured:
            return []
        with self.rt.db.session() as session:
            keys = [
                key for (key,) in session.query(GateJob.key)
                .filter(GateJob.done.is_(False), GateJob.created_at < utcnow() - self.lease)
                .order_by(GateJob.created_at).limit(100)
            ]
        return [key for key in keys if self.rt.db.nobody_holds(f"gate_job:{key}")]

    def recover_evaluations(self) -> int:
        """Queue again the evaluations that were owed when the process stopped."""
        owed = pull_state.recover(self.rt.db, self.lease)
        for job in owed:
            self.enqueue_evaluation(job)
        return len(owed)

    def recover_gate_jobs(self) -> int:
        """Queue again the command and merge-group jobs recorded but not finished, unless the
        queue still holds them (a job running now in another worker is left to it: see
        `_gate_job`)."""
        with self.rt.db.session() as session:
            keys = [key for (key,) in session.query(GateJob.key).filter(GateJob.done.is_(False))]
        waiting = {
            task.args[0] for task in self.huey.pending() if task.name.endswith("gate_job") and task.args
        } if keys else set()
        owed = [key for key in keys if key not in waiting]
        for key in owed:
            self.enqueue_gate_job(key)
        return len(owed)

    def recover(self) -> None:
        """At start-up: queue again whatever was owed from before a restart."""
        owed = self.recover_evaluations()
        if owed:
            log.info("re-enqueued %d evaluations owed from before a restart", owed)
        owed_jobs = self.recover_gate_jobs()
        if owed_jobs:
            log.info("re-enqueued %d command jobs owed from before a restart", owed_jobs)


class LeaseKeeper(threading.Thread):
    """Beside a process's consumers: renews the heartbeat of the evaluations they run, and
    takes over those of dead workers, four times per lease time."""

    def __init__(self, queue: Queue) -> None:
        super().__init__(name="lease-keeper", daemon=True)
        self.queue = queue
        self._stopped = threading.Event()

    def run(self) -> None:
        period = max(0.05, self.queue.rt.settings.lease_seconds / 4)
        while not self._stopped.wait(period):
            try:
                pull_state.heartbeat(self.queue.rt.db)
                self.queue.take_over()
            except Exception as exc:  # the database or the queue is away: the next round retries
                log.warning("lease keeper: %s", reason_of(exc))

    def stop(self) -> None:
        self._stopped.set()


def build_queue(rt: Runtime) -> Queue:
    """The queue for the runtime's settings, with every task registered, installed as `rt.queue`."""
    queue = Queue(rt)
    rt.queue = queue
    return queue


def _without_app(rt: Runtime, what: str) -> bool:
    """Whether the job cannot run for want of a usable GitHub App: said in one line, not
    retried (retrying cannot help; /setup or a restart with the App set does)."""
    try:
        rt.settings.check_github_app()
    except ConfigurationError as exc:
        if rt.adopt_written_app():
            return False
        JOBS.labels(outcome="no_app").inc()
        log.warning("%s not run: %s", what, exc)
        return True
    return False


def _evaluate(rt: Runtime, job: Owed, task: Task | None) -> None:
    last_attempt = task is None or not task.retries
    if _without_app(rt, f"evaluation of {job.repo}#{job.number}"):
        # Still owed: the PR's next event, the reconciler or a restart queues it again.
        pull_state.unqueue(rt.db, [(job.repo, job.number)])
        return
    start = time.perf_counter()
    try:
        outcome = evaluate.run(rt, job, last_attempt=last_attempt)
    except Exception as exc:
        JOBS.labels(outcome="gave_up" if last_attempt else "retry").inc()
        if last_attempt:
            log.exception("evaluation of %s#%s failed after the last retry", job.repo, job.number)
        else:
            wait = retry_after(exc)
            if task is not None and wait is not None and wait > (task.retry_delay or 0):
                # Huey's next retry waits task.retry_delay: not before GitHub's reset time.
                task.retry_delay = wait
            log.warning(
                "evaluation of %s#%s failed, the queue retries it: %s", job.repo, job.number, reason_of(exc)
            )
        raise
    finally:
        EVALUATION_SECONDS.observe(time.perf_counter() - start)
    JOBS.labels(outcome=outcome).inc()
    log.info("evaluated %s#%s (%s): %s", job.repo, job.number, job.trigger, outcome)


def _gate_job(rt: Runtime, key: str, task: Task | None) -> None:
    last_attempt = task is None or not task.retries
    if _without_app(rt, f"gate job {key}"):
        return  # not done: start-up recovery queues it again
    try:
        # One run of a job at a time: a worker that starts queues again every job not done,
        # and another worker may be running one of them right now.
        with rt.db.held(f"gate_job:{key}") as mine:
            outcome = _run_gate_job(rt, key, last_attempt=last_attempt) if mine else "running in another worker"
    except Exception as exc:
        JOBS.labels(outcome="gave_up" if last_attempt else "retry").inc()
        log.warning("%s failed%s: %s", key, "" if last_attempt else ", the queue retries it", reason_of(exc))
        raise
    JOBS.labels(outcome="gate_job").inc()
    log.info("%s: %s", key, outcome)


def _run_gate_job(rt: Runtime, key: str, *, last_attempt: bool) -> str:
    with rt.db.session() as session:
        row = session.get(GateJob, key)
        if row is None or row.done:
            return "done already"
        kind, repo_name, installation_id = row.kind, row.repo, row.installation_id
        data = json.loads(row.payload)
    try:
        if kind == "commands":
            outcome = commands.run_commands(rt, key, repo_name, installation_id, data)
        elif kind == "acknowledge":
            outcome = commands.acknowledge(rt, key, repo_name, installation_id, data)
        elif kind == "merge_group":
            outcome = merge_group.check_merge_group(rt, repo_name, installation_id, data)
        else:
            outcome = f"unknown kind {kind}"
    except Exception as exc:
        if not last_attempt:
            raise
        _finish(rt, key, f"failed: {type(exc).__name__}")
        raise
    _finish(rt, key, outcome)
    return outcome


def _finish(rt: Runtime, key: str, outcome: str) -> None:
    """Mark the job done, unless it already is (a command job is marked when applied)."""
    with rt.db.session() as session:
        row = session.get(GateJob, key)
        if row is not None and not row.done:
            row.done, row.outcome, row.finished_at = True, outcome[:200], utcnow()
