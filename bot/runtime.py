"""The process's shared resources, built once from the settings: the database, GitHub access,
the analysis workers, and the handle of the job queue.

The web app and the queue consumer (in `python app.py` or in `python -m bot.worker`) both
reach them here, so the same settings give the same state whichever process runs a job.
Nothing is built at import: `app.create_app()`, `bot.worker.main()` and the tests build a
`Runtime`, then the queue (`bot.jobs.queue.build_queue`), which installs itself as `queue`.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Protocol

from pydantic import ValidationError

from bot.github.client import GitHubApp
from bot.github.shared_cache import SharedETagCache
from bot.github.traffic import Bucket, Cache, MemoryPacer, WritePacer
from bot.isolation import Isolation, Limits
from bot.settings import APP_FIELDS, ConfigurationError, Settings
from bot.store.db import Database
from bot.store.deliveries import DeliveryLog
from bot.store.pacing import DatabasePacer
from bot.store.pull_state import Owed


class JobQueue(Protocol):
    """What producers of work (the webhook, command jobs, the reconciler) and the web side
    need of the queue. Implemented by `bot.jobs.queue.Queue`; defined here so that nothing
    but the process entry points imports the queue itself."""

    def enqueue_evaluation(self, job: Owed, delay: float | None = None) -> None: ...

    def enqueue_gate_job(self, key: str) -> None: ...

    def pending_count(self) -> int: ...

    def scheduled_count(self) -> int: ...


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.started = time.monotonic()
        if settings.database_url is None:
            settings.prepare_data_dir()
        self.db = Database(settings.effective_database_url)
        self.deliveries = DeliveryLog(self.db)
        self._github: GitHubApp | None = None
        self._lock = threading.Lock()
        # The operator's settings file, which the App manifest flow (/setup) writes.
        self.env_file = Path(str(Settings.model_config.get("env_file") or ".env"))
        self.isolation: Isolation | None = (
            Isolation(
                Limits(
                    cpu_seconds=settings.analysis_cpu_seconds,
                    memory_bytes=settings.analysis_memory_mb * 1024 * 1024,
                    wall_seconds=settings.analysis_wall_seconds,
                    workers=max(1, settings.workers),
                    nice=settings.worker_nice,
                )
            )
            if settings.analysis_isolation
            else None
        )
        self._queue: JobQueue | None = None

    @property
    def queue(self) -> JobQueue:
        if self._queue is None:
            raise RuntimeError("no job queue: bot.jobs.queue.build_queue installs one")
        return self._queue

    @queue.setter
    def queue(self, queue: JobQueue) -> None:
        self._queue = queue

    @property
    def github(self) -> GitHubApp:
        # Built on first use: the web side never calls GitHub, so it starts without the key.
        with self._lock:
            if self._github is None:
                self._github = GitHubApp(self.settings, self._pacer(), self._cache())
            return self._github

    def _pacer(self) -> WritePacer:
        """Writes to GitHub paced by a bucket that every process shares through the database."""
        bucket = Bucket(self.settings.github_write_burst, self.settings.github_write_interval)
        if bucket.interval <= 0:
            return MemoryPacer(bucket)
        return DatabasePacer(self.db, bucket.burst, bucket.take, bucket.interval)

    def _cache(self) -> Cache | None:
        """With Redis (the scale-out topology), the conditional-request cache every process
        shares; else the GitHub client's own, in this process."""
        settings = self.settings
        if not settings.redis_url or settings.app_id is None or settings.private_key_pem is None:
            return None
        return SharedETagCache.from_url(
            settings.redis_url, settings.app_id, settings.private_key_pem.encode(),
            settings.github_etag_entries, settings.github_etag_mb * 1024 * 1024,
        )

    def reconfigure(self, settings: Settings) -> None:
        """Use new settings (new App credentials) from now on, without a restart.

        Both are swapped under the lock `github` builds its client with, so a job gets the old
        client or the new one, never a client of one App with the other's settings; a job
        under way finishes with the client it holds. Readers of `settings` (the webhook's
        signature check) see the old object or the new one: the swap is one assignment.
        """
        with self._lock:
            self.settings = settings
            self._github = None

    def adopt_written_app(self) -> bool:
        """Whether `.env` now names a working App, which this process then uses: /setup in the
        web process writes it there, and a `python -m bot.worker` started before picks it up."""
        try:
            written = Settings(_env_file=self.env_file)  # type: ignore[call-arg]
            written.check_github_app()
        except (ValidationError, ConfigurationError):
            return False
        self.reconfigure(self.settings.with_values(**{name: getattr(written, name) for name in APP_FIELDS}))
        return True

    def close(self) -> None:
        if self.isolation is not None:
            self.isolation.close()
        self.deliveries.close()
        self.db.dispose()

