"""Operator settings: `REVIEWGATE_*` environment variables, or the same names in a `.env` file.

Environment variables win over `.env`. The names are part of the interface contract in
docs/operations.md; everything beyond the documented table has a default that suits github.com.
"""

from __future__ import annotations

import logging
import os
from functools import cached_property
from pathlib import Path

from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from rules.docs import DOCS_URL

log = logging.getLogger(__name__)


class ConfigurationError(RuntimeError):
    """The process cannot start safely with these settings; the message says what to set."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="REVIEWGATE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    webhook_secret: SecretStr | None = None
    # Accept unsigned deliveries when no secret is set. For local experiments only.
    dev_insecure: bool = False
    app_id: int | None = None
    private_key: SecretStr | None = None
    private_key_path: Path | None = None
    github_api_url: str = "https://api.github.com"
    database_url: str | None = None
    data_dir: Path = Path("var")
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: int = 3000

    # Web server threads: deliveries that arrive together are written in one transaction.
    threads: int = 32
    # Consumer threads that `python app.py` runs next to the web server.
    workers: int = 2
    # Off (`REVIEWGATE_EMBEDDED_WORKER=0`): `python app.py` serves only, and `python -m
    # bot.worker` processes run the jobs (as `REVIEWGATE_WORKERS=0` does).
    embedded_worker: bool = True
    # Queue-level retries of a failed evaluation, and the pause between them.
    job_retries: int = 3
    job_retry_delay: float = 30.0
    # Each retry waits this factor longer than the one before (30 s, 60 s, 120 s...); a
    # rate-limited job waits at least until GitHub's reset time.
    job_retry_backoff: float = 2.0
    # PyGithub's urllib3 retry for 5xx and rate limits, per request.
    github_retries: int = 5
    github_backoff: float = 1.0
    github_timeout: int = 20
    # Waits that PyGithub puts between requests; GitHub asks integrations to pace writes.
    github_seconds_between_requests: float = 0.25
    github_seconds_between_writes: float = 1.0
    # A secondary rate limit without Retry-After is waited out this long; a wait longer than
    # the maximum fails the request, and the queue retries the job after the reset instead.
    github_secondary_rate_wait: float = 60.0
    github_max_rate_limit_wait: float = 300.0
    # The reconciler (bot.jobs.reconcile): how often it runs, and how far back it looks for
    # deliveries that failed to ask GitHub to redeliver them.
    reconcile_seconds: int = 600
    reconcile_redeliver_hours: float = 6.0
    # Per changed file, the analysis runs in a worker process with these limits (bot.isolation).
    analysis_isolation: bool = True
    analysis_cpu_seconds: int = 20
    analysis_memory_mb: int = 2048
    analysis_wall_seconds: float = 120.0
    # One evaluation's time for gathering and analysing files; past it the check fails closed,
    # naming the files left unanalysed (a recheck goes on from there: finished files are cached).
    evaluation_seconds: float = 120.0
    # One evaluation of a PR runs at a time, under a lease that its worker renews (a heartbeat
    # four times per period); a lease not renewed for this long belongs to a dead worker, and
    # another one takes the evaluation over.
    lease_seconds: float = 60.0
    # Where the check run's rule links point (the anchors are the rules' `docs_anchor()`).
    rules_docs_url: str = DOCS_URL
    # Largest webhook body accepted (GitHub caps payloads at 25 MiB).
    max_body_bytes: int = 25 * 1024 * 1024

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "reviewgate.db"

    @property
    def queue_path(self) -> Path:
        return self.data_dir / "queue.db"

    def prepare_data_dir(self) -> None:
        """Create the data directory owner-only (0700), and tighten what is already in it.

        It holds the state database (private repositories' lines and comments) and the queue.
        The SQLite files are created 0600 before SQLite opens them, so whichever process
        comes first (the server, a `python -m bot.worker`) gets them right: SQLite gives a
        database's -wal and -shm files the database file's mode.
        """
        self.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        for path in self.data_dir.iterdir():
            if path.is_symlink() or not path.is_file():
                continue  # a link may point anywhere; subdirectories are behind the 0700
            try:
                path.chmod(0o600)
            except OSError as exc:
                log.warning("cannot make %s owner-only: %s", path, exc.strerror)
        owned = [self.sqlite_path] if self.database_url is None else []
        owned += [self.queue_path] if self.redis_url is None else []
        for path in owned:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW, 0o600))

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.sqlite_path.resolve()}"

    def check_webhook_secret(self) -> None:
        if self.webhook_secret is None or not self.webhook_secret.get_secret_value():
            if not self.dev_insecure:
                raise ConfigurationError(
                    "REVIEWGATE_WEBHOOK_SECRET is not set. Reviewgate refuses to accept "
                    "unsigned webhooks: set it to the webhook secret of your GitHub App "
                    "(or, for local development only, set REVIEWGATE_DEV_INSECURE=1)."
                )

    @cached_property
    def private_key_pem(self) -> str | None:
        if self.private_key is not None:
            # One-line env values often carry the PEM's newlines as literal "\n".
            return self.private_key.get_secret_value().replace("\\n", "\n")
        if self.private_key_path is not None:
            try:
                return self.private_key_path.read_text()
            except OSError as exc:
                raise ConfigurationError(
                    f"REVIEWGATE_PRIVATE_KEY_PATH={self.private_key_path}: cannot read it ({exc.strerror})"
                ) from None
        return None

    def check_github_app(self) -> None:
        if self.app_id is None or self.private_key_pem is None:
            raise ConfigurationError(
                "The GitHub App is not configured: set REVIEWGATE_APP_ID and "
                "REVIEWGATE_PRIVATE_KEY (PEM text) or REVIEWGATE_PRIVATE_KEY_PATH."
            )
