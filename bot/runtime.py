"""The process's shared resources, built once from the settings: database and GitHub access.

The web app and the queue consumer (in-process or `huey_consumer`) both reach them here, so
the same settings give the same state whichever process runs a job.
"""

from __future__ import annotations

import threading
import time

from bot.github.client import GitHubApp
from bot.isolation import Isolation, Limits
from bot.settings import Settings
from bot.store.db import Database
from bot.store.deliveries import DeliveryLog


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
        self.isolation: Isolation | None = (
            Isolation(
                Limits(
                    cpu_seconds=settings.analysis_cpu_seconds,
                    memory_bytes=settings.analysis_memory_mb * 1024 * 1024,
                    wall_seconds=settings.analysis_wall_seconds,
                    workers=max(1, settings.workers),
                )
            )
            if settings.analysis_isolation
            else None
        )

    @property
    def github(self) -> GitHubApp:
        # Built on first use: the web side never calls GitHub, so it starts without the key.
        with self._lock:
            if self._github is None:
                self._github = GitHubApp(self.settings)
            return self._github

    def close(self) -> None:
        if self.isolation is not None:
            self.isolation.close()
        self.db.dispose()


_runtime: Runtime | None = None
_runtime_lock = threading.Lock()


def configure(settings: Settings) -> Runtime:
    """Install the runtime for these settings (the app factory and the tests call this)."""
    global _runtime
    with _runtime_lock:
        if _runtime is not None:
            _runtime.close()
        _runtime = Runtime(settings)
        return _runtime


def get_runtime() -> Runtime:
    global _runtime
    with _runtime_lock:
        if _runtime is None:
            _runtime = Runtime(Settings())
        return _runtime
