"""The job queue: Huey on SQLite (default) or Redis, and the evaluation task.

`huey_consumer bot.tasks.huey` runs a consumer on the same settings as the web app;
`python app.py` runs one in-process instead.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from huey import Huey, RedisHuey, SqliteHuey
from huey.api import Task
from huey.consumer import Consumer
from huey.storage import SqliteStorage

from bot.evaluate import run
from bot.github.client import reason_of, retry_after
from bot.metrics import EVALUATION_SECONDS, JOBS
from bot.runtime import get_runtime
from bot.settings import Settings
from bot.store import pull_state
from bot.store.pull_state import Owed

log = logging.getLogger(__name__)


class _QueueStorage(SqliteStorage):
    """WAL with synchronous=NORMAL: a committed job survives a crash of the process.

    It may not survive a power cut, and need not: the delivery's evaluation is recorded as
    owed in the database (fsync'ed) before the job is queued, and `recover_pending` queues
    it again at start-up. One fsync per delivery instead of two keeps acknowledgements fast.
    """

    def _create_connection(self) -> Any:
        conn = super()._create_connection()
        conn.execute("pragma synchronous=NORMAL")
        return conn


def build_huey(settings: Settings) -> Huey:
    if settings.redis_url:
        return RedisHuey("reviewgate", url=settings.redis_url, results=False)
    settings.prepare_data_dir()
    return SqliteHuey(
        "reviewgate", filename=str(settings.queue_path.resolve()), results=False,
        storage_class=_QueueStorage,
    )


_settings = Settings()
huey = build_huey(_settings)


@huey.task(
    retries=_settings.job_retries, retry_delay=_settings.job_retry_delay,
    retry_backoff=_settings.job_retry_backoff, context=True,
)
def evaluate(
    repo: str,
    number: int,
    installation_id: int,
    head_sha: str | None,
    seq: int,
    trigger: str,
    task: Task | None = None,
) -> None:
    job = Owed(repo, number, installation_id, head_sha, seq, trigger)
    last_attempt = task is None or not task.retries
    start = time.perf_counter()
    try:
        outcome = run(get_runtime(), job, last_attempt=last_attempt)
    except Exception as exc:
        JOBS.labels(outcome="gave_up" if last_attempt else "retry").inc()
        if last_attempt:
            log.exception("evaluation of %s#%s failed after the last retry", repo, number)
        else:
            wait = retry_after(exc)
            if task is not None and wait is not None and wait > (task.retry_delay or 0):
                # Huey's next retry waits task.retry_delay: not before GitHub's reset time.
                task.retry_delay = wait
            log.warning("evaluation of %s#%s failed, the queue retries it: %s", repo, number, reason_of(exc))
        raise
    finally:
        EVALUATION_SECONDS.observe(time.perf_counter() - start)
    JOBS.labels(outcome=outcome).inc()
    log.info("evaluated %s#%s (%s): %s", repo, number, trigger, outcome)


def enqueue(repo: str, number: int, installation_id: int, head_sha: str | None, seq: int, trigger: str) -> None:
    evaluate(repo, number, installation_id, head_sha, seq, trigger)


@huey.task(retries=_settings.job_retries, retry_delay=_settings.job_retry_delay, context=True)
def gate_job(key: str, task: Task | None = None) -> None:
    """A `/gate` command comment or a merge group (see `bot.gate_jobs`)."""
    from bot import gate_jobs

    last_attempt = task is None or not task.retries
    try:
        outcome = gate_jobs.run(get_runtime(), key, last_attempt=last_attempt)
    except Exception as exc:
        JOBS.labels(outcome="gave_up" if last_attempt else "retry").inc()
        log.warning("%s failed%s: %s", key, "" if last_attempt else ", the queue retries it", reason_of(exc))
        raise
    JOBS.labels(outcome="gate_job").inc()
    log.info("%s: %s", key, outcome)


def enqueue_gate_job(key: str) -> None:
    gate_job(key)


def recover_gate_jobs() -> int:
    """Queue again the command and merge-group jobs recorded but not finished."""
    from bot.store.db import GateJob

    with get_runtime().db.session() as session:
        keys = [key for (key,) in session.query(GateJob.key).filter(GateJob.done.is_(False))]
    for key in keys:
        enqueue_gate_job(key)
    return len(keys)


def recover_pending() -> int:
    """Queue again the evaluations that were owed when the process stopped.

    Huey removes a job from the queue when a worker takes it, so a crash mid-evaluation
    loses it; the database still says which PRs' latest events were not evaluated.
    """
    owed = pull_state.recover(get_runtime().db)
    for job in owed:
        enqueue(job.repo, job.number, job.installation_id, job.head_sha, job.seq, job.trigger)
    return len(owed)


class EmbeddedConsumer(Consumer):
    """A consumer that runs inside another server: that server owns the process's signals."""

    def _set_signal_handlers(self) -> None:
        pass


def start_consumer(workers: int, **options: Any) -> EmbeddedConsumer:
    options = {"initial_delay": 0.05, "max_delay": 1.0, **options}
    consumer = EmbeddedConsumer(huey, workers=workers, worker_type="thread", **options)
    consumer.start()
    return consumer


# The reconciler's periodic task belongs to this queue; `huey_consumer bot.tasks.huey` imports
# only this module, so importing it here is what registers the task with every consumer.
from bot import reconcile as _reconcile  # noqa: E402,F401
