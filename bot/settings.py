"""Operator settings: `REVIEWGATE_*` environment variables, or the same names in a `.env` file.

Environment variables win over `.env`. The names are part of the interface contract in
docs/operations.md; everything beyond the documented table has a default that suits github.com.
"""

from __future__ import annotations

import base64
import difflib
import hashlib
import hmac
import logging
import os
import secrets
from collections.abc import Iterable, Mapping
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from dotenv import dotenv_values
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from rules.docs import DOCS_URL

log = logging.getLogger(__name__)


_PROCESS_SECRET = secrets.token_urlsafe(32)


class ConfigurationError(RuntimeError):
    """The process cannot start safely with these settings; the message says what to set."""


class PrivateKeyUnreadable(ConfigurationError):
    """A private key is given, but it is not one GitHub App authentication can use."""


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
    # The App's OAuth credentials (from the manifest flow), for signing people in.
    client_id: str | None = None
    client_secret: SecretStr | None = None
    github_api_url: str = "https://api.github.com"
    # GitHub's web side, where the App is registered (GitHub Enterprise Server: https://HOST).
    github_url: str = "https://github.com"
    # Where GitHub and browsers reach this server: the App's webhook and setup callback URLs.
    public_url: str = "http://localhost:3000"
    database_url: str | None = None
    data_dir: Path = Path("var")
    redis_url: str | None = None
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=0, le=65535)] = 3000

    # Threads of the web process for the pages and for queueing deliveries' jobs (`bot.web.asgi`).
    threads: Annotated[int, Field(ge=1)] = 32
    # Consumer threads that `python app.py` runs next to the web server.
    workers: Annotated[int, Field(ge=0)] = 2
    # Off (`REVIEWGATE_EMBEDDED_WORKER=0`): `python app.py` serves only, and `python -m
    # bot.worker` processes run the jobs (as `REVIEWGATE_WORKERS=0` does).
    embedded_worker: bool = True
    # `python -m bot.worker` serves its Prometheus metrics (jobs, evaluations, GitHub traffic)
    # on this port of `host`; unset: not served. Each worker on a machine needs its own.
    worker_metrics_port: Annotated[int, Field(ge=1, le=65535)] | None = None
    # How much CPU priority evaluation work gives up (os.nice): `python -m bot.worker`
    # processes and the analysis processes, so that on a shared machine a webhook is
    # acknowledged first. 0: normal priority.
    worker_nice: Annotated[int, Field(ge=0, le=19)] = 10
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
    # Requests in flight at once per installation, in each process (bot.github.traffic).
    github_concurrency: int = 8
    # Writes: this many at once go unpaced, a longer burst is spaced this many seconds apart,
    # per installation and shared by every process (GitHub's secondary-limit guidance).
    github_write_burst: int = 5
    github_write_interval: float = 1.0
    # Answers remembered for conditional requests (entries, and megabytes in all).
    github_etag_entries: int = 5000
    github_etag_mb: int = 64
    # Below this many requests left of an installation's hourly budget, its evaluations wait
    # for GitHub's reset (the check run says until when) instead of failing half-way.
    github_rate_limit_reserve: int = 100
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
    max_body_bytes: Annotated[int, Field(ge=1)] = 25 * 1024 * 1024
    # The pages (bot.web.pages) also use `github_url` (OAuth sign-in), `public_url` (links in
    # check runs, the OAuth callback) and the App's OAuth client above; then the bearer token
    # that opens /status and the audit export to scripts, and the key that signs session
    # cookies (derived from the webhook secret when unset).
    admin_token: SecretStr | None = None
    session_secret: SecretStr | None = None
    # How long GitHub's answer "this user may read that repository" (or not) is reused.
    access_cache_seconds: float = 300.0

    @field_validator("github_api_url", "github_url", "public_url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")) or len(value) > 2000:
            raise ValueError("must be an http:// or https:// URL")
        return value.rstrip("/")

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

    def session_key(self) -> bytes:
        """The key that signs session cookies: its own setting, else derived from the webhook
        secret (so rotating that secret signs everybody out)."""
        if self.session_secret is not None and self.session_secret.get_secret_value():
            return self.session_secret.get_secret_value().encode()
        seed = self.webhook_secret.get_secret_value() if self.webhook_secret is not None else ""
        if not seed:
            # Unsigned deliveries (dev_insecure): sessions last as long as the process.
            seed = secrets.token_hex(32)
        return hmac.new(seed.encode(), b"reviewgate session cookies", hashlib.sha256).digest()

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
            # Half set by hand: /setup is closed (it never overwrites an App's settings).
            how = "" if self.app_configured else "open /setup to register one, or "
            raise ConfigurationError(
                f"The GitHub App is not configured: {how}set "
                "REVIEWGATE_APP_ID and REVIEWGATE_PRIVATE_KEY (PEM text) or REVIEWGATE_PRIVATE_KEY_PATH."
            )
        self.check_private_key()

    def setup_token(self) -> str:
        """What `/setup` asks for while no App is configured, printed at start: whoever can read
        the server's log (or its webhook secret) may register its App, not whoever reaches the
        port first. Derived from the webhook secret, so every web process agrees on it."""
        secret = self.webhook_secret.get_secret_value() if self.webhook_secret is not None else ""
        if not secret:
            secret = _PROCESS_SECRET  # REVIEWGATE_DEV_INSECURE without a secret: this process only
        digest = hmac.new(secret.encode(), b"reviewgate /setup", hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:18]).decode()

    @property
    def app_configured(self) -> bool:
        """Whether an App is named (its id or key given); whether it works is `check_github_app`."""
        return self.app_id is not None or self.private_key is not None or self.private_key_path is not None

    def check_private_key(self) -> None:
        """Raises `PrivateKeyUnreadable` when a key is given that GitHub App auth cannot use."""
        if self.private_key_problem is not None:
            raise PrivateKeyUnreadable(self.private_key_problem)

    @cached_property
    def private_key_problem(self) -> str | None:
        pem = self.private_key_pem
        if pem is None:
            return None
        name = "REVIEWGATE_PRIVATE_KEY" if self.private_key is not None else "REVIEWGATE_PRIVATE_KEY_PATH"
        try:
            key = load_pem_private_key(pem.encode(), password=None)
        except (ValueError, TypeError, UnsupportedAlgorithm):
            # The library's message may quote the key's bytes: never repeat it.
            return f"{name}: not a PEM private key without a passphrase (GitHub App keys are RSA PEM files)"
        if not isinstance(key, rsa.RSAPrivateKey):
            return f"{name}: a {type(key).__name__.removeprefix('_')} key, but GitHub App keys are RSA"
        return None

    def with_values(self, **values: Any) -> Settings:
        """A copy with these fields replaced, the private key read again from them."""
        copy = self.model_copy(update=values)
        for cached in ("private_key_pem", "private_key_problem"):
            copy.__dict__.pop(cached, None)
        return copy


# The settings that name the GitHub App, which /setup writes.
APP_FIELDS = ("app_id", "private_key", "private_key_path", "webhook_secret", "client_id", "client_secret")
# Settings whose values are never repeated in a message.
SECRET_FIELDS = frozenset({"webhook_secret", "private_key", "client_secret"})


def load_settings() -> Settings:
    """The settings from the environment and `.env`, checked. Raises `ConfigurationError` with
    one line per problem: a value that does not parse, an unusable key. A `REVIEWGATE_*` name
    that is no setting is logged as a warning. (The web server also needs a webhook secret:
    `check_webhook_secret`.)"""
    for line in unknown_setting_names(given_setting_names()):
        log.warning("%s", line)
    try:
        settings = Settings()
    except ValidationError as exc:
        raise ConfigurationError("\n".join(_problem_line(e) for e in exc.errors())) from None
    settings.check_private_key()
    return settings


def _problem_line(error: Mapping[str, Any]) -> str:
    loc = error.get("loc") or ("?",)
    field = str(loc[0])
    name = f"REVIEWGATE_{field.upper()}"
    message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    if field in SECRET_FIELDS:
        return f"{name}: {message}"
    value = repr(error.get("input"))
    return f"{name}={value[:80]}{'...' if len(value) > 80 else ''}: {message}"


def given_setting_names() -> list[str]:
    """The `REVIEWGATE_*` names in the environment and in `.env`."""
    names = [n for n in os.environ if n.upper().startswith("REVIEWGATE_")]
    env_file = Path(str(Settings.model_config.get("env_file") or ".env"))
    if env_file.is_file():
        names += [n for n in dotenv_values(env_file) if n.upper().startswith("REVIEWGATE_")]
    return names


def unknown_setting_names(names: Iterable[str]) -> list[str]:
    """A warning for each `REVIEWGATE_*` name that is no setting (a typo is otherwise ignored
    silently), naming the closest known one."""
    known = sorted(f"REVIEWGATE_{field.upper()}" for field in Settings.model_fields)
    lines = []
    for name in sorted(set(names)):
        if not name.upper().startswith("REVIEWGATE_") or name.upper() in known:
            continue
        # Compared without the prefix, which every name shares.
        fields = [k.removeprefix("REVIEWGATE_") for k in known]
        closest = difflib.get_close_matches(name.upper().removeprefix("REVIEWGATE_"), fields, n=1, cutoff=0.6)
        hint = f"; did you mean REVIEWGATE_{closest[0]}?" if closest else ""
        shown = name if name.isprintable() and len(name) <= 80 else repr(name[:80])
        lines.append(f"unknown setting {shown} is ignored{hint}")
    return lines
