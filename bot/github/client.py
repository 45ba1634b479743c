"""GitHub access through PyGithub: app JWT -> installation token, retries, request metrics.

The installation token lives on PyGithub's `AppInstallationAuth`, which fetches it on first
use and again only when it is about to expire; keeping one auth object per installation is
what makes the token reused across jobs. How many requests go out at once, how writes are
paced and which reads are conditional is `bot.github.traffic`'s business.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar
from urllib.parse import quote, urlsplit

import requests
from github import Auth, Github, GithubException, GithubIntegration, GithubRetry
from github.IssueComment import IssueComment
from github.Repository import Repository
from github.Requester import Requester
from requests.adapters import HTTPAdapter
from urllib3.exceptions import MaxRetryError
from urllib3.util.retry import Retry

from bot.analysis import BlobTooLarge
from bot.github.traffic import (
    APP,
    CALLER_HEADER,
    Bucket,
    Cache,
    ETagCache,
    MemoryPacer,
    Traffic,
    WritePacer,
    current_kind,
    register,
)
from bot.metrics import GITHUB_ERRORS, GITHUB_REQUESTS, watch_rate_limits
from bot.settings import Settings

# PyGithub's DEBUG lines carry whole response bodies, and the body of
# POST /app/installations/{id}/access_tokens is an installation token: never emit them,
# whatever level the root logger is set to.
logging.getLogger("github.Requester").setLevel(logging.INFO)
log = logging.getLogger(__name__)
T = TypeVar("T")

# GitHub's media type for a blob's bytes as they are, instead of JSON with base64 content.
RAW_BLOB = "application/vnd.github.raw+json"
_PIECE = 64 * 1024


# POSTs that make a new thing each time GitHub takes one (kinds of `traffic.kind_of`). When
# the answer to one is lost (a 5xx, a timeout or a cut connection once it was sent), GitHub
# may have made the thing: the retry does not send it again blind, `GitHubApp.made_once`
# looks for it first. GitHub made nothing on a rate limit's 403, which is still retried.
CREATIONS = frozenset({"check-runs", "issues/comments", "pulls/reviews"})


def _creation(method: str | None) -> bool:
    return method == "POST" and current_kind() in CREATIONS


class CountingRetry(GithubRetry):
    """PyGithub's retry policy, also counting every HTTP response (retried ones included).

    urllib3 asks `is_retry` about each response it receives, which makes it the one place
    that sees all of them without wrapping PyGithub's connection classes.
    """

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        GITHUB_REQUESTS.labels(method=method, kind=current_kind(), status=str(status_code)).inc()
        if status_code >= 400:
            GITHUB_ERRORS.labels(method=method, kind=str(status_code)).inc()
        if status_code >= 500 and _creation(method):
            return False
        return bool(super().is_retry(method, status_code, has_retry_after))

    def increment(self, method: str | None = None, url: str | None = None, *args: Any, **kwargs: Any) -> Any:
        error = kwargs.get("error")
        if error is not None:
            GITHUB_ERRORS.labels(method=method or "", kind=type(error).__name__).inc()
            if _creation(method) and self._is_read_error(error):  # sent; what became of it is unknown
                raise error
        return super().increment(method, url, *args, **kwargs)


def answer_lost(exc: BaseException) -> bool:
    """Whether `exc` leaves it unknown if GitHub did what it was asked: a 5xx, a timeout, or
    a connection that failed (before the request went out, too: it cannot be told apart)."""
    if isinstance(exc, GithubException):
        return exc.status >= 500
    return isinstance(exc, requests.ConnectionError | requests.Timeout)


class MadeOnce(Protocol):
    def __call__(self, make: Callable[[], T], find: Callable[[], T | None], what: str) -> T: ...


def make_retry(settings: Settings) -> CountingRetry:
    return CountingRetry(
        total=settings.github_retries,
        backoff_factor=settings.github_backoff,
        # Rate-limit waits longer than this fail the request; the queue retries the job later
        # (after the reset: see `retry_after`).
        max_rate_limit_wait=settings.github_max_rate_limit_wait,
        secondary_rate_wait=settings.github_secondary_rate_wait,
        # PyGithub retries GET and POST; our PATCHes (check-run and comment edits) set fields
        # to values, so repeating one after a 5xx is as safe as the POSTs it already repeats.
        allowed_methods=Retry.DEFAULT_ALLOWED_METHODS | {"GET", "POST", "PATCH"},
    )


def retry_after(exc: BaseException) -> float | None:
    """Seconds until GitHub accepts requests again, when `exc` is a rate limit that says so."""
    if not isinstance(exc, GithubException) or exc.status not in (403, 429):
        return None
    wait = getattr(exc, "wait", None)
    if isinstance(wait, int | float) and wait > 0:
        return float(wait)
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    try:
        if "retry-after" in headers:
            return max(0.0, float(headers["retry-after"]))
        if headers.get("x-ratelimit-remaining") == "0" and "x-ratelimit-reset" in headers:
            return max(0.0, float(headers["x-ratelimit-reset"]) - time.time() + 1)
    except ValueError:
        return None
    return None


def reason_of(exc: BaseException) -> str:
    """A one-line reason for the check run; never the request headers or tokens."""
    if isinstance(exc, GithubException):
        message = exc.data.get("message") if isinstance(exc.data, dict) else None
        return f"GitHub answered {exc.status}" + (f" ({message})" if message else "")
    if isinstance(exc, requests.RequestException):
        inner = exc.args[0] if exc.args else None
        if isinstance(inner, MaxRetryError):
            # The URL's path only: the host may be an internal GitHub Enterprise name.
            path = urlsplit(inner.url or "").path
            return f"GitHub kept failing on {path} ({getattr(inner.reason, 'args', [inner.reason])[0]})"
        return f"could not reach GitHub ({type(exc).__name__})"
    return f"{type(exc).__name__}: {exc}"[:300]


class _InstallationAuth(Auth.AppInstallationAuth):
    """PyGithub's installation auth, naming the installation on each request it signs, so
    that the request spends that installation's budget (`bot.github.traffic`)."""

    def authentication(self, headers: dict[str, Any]) -> None:
        super().authentication(headers)
        headers[CALLER_HEADER] = installation_key(self.installation_id)


def installation_key(installation_id: int) -> str:
    return f"installation:{installation_id}"


class GitHubApp:
    def __init__(self, settings: Settings, pacer: WritePacer | None = None, cache: Cache | None = None) -> None:
        settings.check_github_app()
        assert settings.app_id is not None and settings.private_key_pem is not None
        self.settings = settings
        self._app_auth = Auth.AppAuth(settings.app_id, settings.private_key_pem)
        retry = make_retry(settings)
        self._common: dict[str, Any] = dict(
            base_url=settings.github_api_url.rstrip("/"),
            timeout=settings.github_timeout,
            retry=retry,
            per_page=100,
            # No fixed pause between requests: `traffic` bounds what is in flight and paces
            # bursts of writes instead.
            seconds_between_requests=None,
            seconds_between_writes=None,
        )
        self.traffic = Traffic(
            settings.github_concurrency,
            pacer or MemoryPacer(Bucket(settings.github_write_burst, settings.github_write_interval)),
            cache if cache is not None else ETagCache(settings.github_etag_entries, settings.github_etag_mb * 1024 * 1024),
        )
        # Evaluations of several installations share the connection pool.
        self.traffic.mount(
            HTTPAdapter(max_retries=retry, pool_maxsize=max(10, settings.github_concurrency * max(1, settings.workers)))
        )
        register(self._common["base_url"], self.traffic)
        self._integration = GithubIntegration(auth=self._app_auth, **self._common)
        self._installations: dict[int, Auth.AppInstallationAuth] = {}
        self._lock = threading.Lock()
        self._bot_login: str | None = None
        watch_rate_limits(self.rate_limits)

    @property
    def integration(self) -> GithubIntegration:
        """App-level (JWT) access: installations, the webhook delivery log."""
        return self._integration

    def rate_limits(self) -> dict[str, int]:
        return {
            key.removeprefix("installation:"): budget.remaining for key, budget in self.traffic.budgets().items()
        }

    def rate_limit_wait(self, installation_id: int, reserve: int) -> float | None:
        """Seconds until GitHub resets the installation's budget, when fewer than `reserve`
        requests are left of it; None when there are enough (or nothing is known yet)."""
        budget = self.traffic.budget(installation_key(installation_id))
        if budget is None or budget.remaining >= reserve:
            return None
        wait = budget.reset - time.time()
        return wait if wait > 0 else None

    def installation_auth(self, installation_id: int) -> Auth.AppInstallationAuth:
        with self._lock:
            auth = self._installations.get(installation_id)
            if auth is None:
                auth = _InstallationAuth(self._app_auth, installation_id)
                auth.withRequester(self._integration.requester)
                self._installations[installation_id] = auth
            return auth

    def bot_login(self) -> str:
        """The App's bot account (`<slug>[bot]`), asked of GitHub once per process."""
        with self._lock:
            if self._bot_login is None:
                self._bot_login = f"{self._integration.get_app().slug}[bot]"
            return self._bot_login

    def wrote(self, comment: IssueComment) -> bool:
        """Whether this App wrote `comment`. The bot's markers are plain text that anyone can
        type, so a marker counts only in a comment of the App's own."""
        app = comment.performed_via_github_app
        if app is not None:
            return bool(app.id == self.settings.app_id)
        user = comment.user
        return (
            user is not None and user.type == "Bot" and user.login.casefold() == self.bot_login().casefold()
        )

    def made_once(self, make: Callable[[], T], find: Callable[[], T | None], what: str) -> T:
        """What `make` makes with one of the `CREATIONS`. When the answer to it is lost, GitHub
        may have made it all the same: what `find` finds then is taken, and `make` is sent
        again only when there is none, up to `github_retries` times, with the retry's backoff."""
        attempt = 0
        while True:
            try:
                return make()
            except Exception as exc:
                if not answer_lost(exc) or attempt >= self.settings.github_retries:
                    raise
                log.info("the answer to making %s was lost (%s); looking for it before making it again",
                         what, reason_of(exc))
            # Looked for after the pause: GitHub's lists may lag behind a write for a moment.
            time.sleep(min(Retry.DEFAULT_BACKOFF_MAX, self.settings.github_backoff * 2**attempt))
            found = find()
            if found is not None:
                return found
            attempt += 1

    def forget_installation(self, installation_id: int) -> None:
        """Drop a cached token that GitHub refused, so the next client fetches a fresh one."""
        with self._lock:
            self._installations.pop(installation_id, None)

    def client(self, installation_id: int) -> Github:
        """A client for one job. Lazy: objects are fetched only when an attribute is read."""
        return Github(auth=self.installation_auth(installation_id), lazy=True, **self._common)

    def read_blob(self, repo: Repository, sha: str, limit: int) -> bytes:
        """A blob's bytes, in the raw media type. Over `limit` bytes: `BlobTooLarge`, raised on
        GitHub's Content-Length before the body is read, or (no plain length given) as soon as
        more than `limit` bytes have arrived."""
        requester = repo.requester
        options = requester.kwargs
        headers = {"Accept": RAW_BLOB, "User-Agent": options["user_agent"]}
        if options["api_version"]:
            headers["X-GitHub-Api-Version"] = options["api_version"]
        if options["auth"] is not None:
            options["auth"].authentication(headers)
        base = repo.url if repo.url.startswith(("http://", "https://")) else requester.base_url + repo.url
        if not base.startswith(requester.base_url + "/"):
            # The token goes with the request: only ever to the API it was issued for.
            raise ValueError(f"{base} is not under {requester.base_url}")
        caller = headers.pop(CALLER_HEADER, APP)
        # The slot is held while the body streams: GitHub is still serving the request.
        with self.traffic.request(caller, "GET", "git/blobs"):
            return self._read(caller, requester, f"{base}/git/blobs/{quote(sha, safe='')}", headers, options, limit)

    def _read(
        self, caller: str, requester: Requester, url: str, headers: dict[str, str], options: dict[str, Any],
        limit: int,
    ) -> bytes:
        with self.traffic.session.get(
            url, headers=headers, stream=True, timeout=options["timeout"], verify=options["verify"],
        ) as response:
            self.traffic.observe(caller, response.headers)
            if response.status_code != 200:
                try:
                    data = response.json()
                except ValueError:
                    data = {}
                raise requester.createException(
                    response.status_code, dict(response.headers), data if isinstance(data, dict) else {}
                )
            length = response.headers.get("Content-Length", "")
            # A compressed body's length is not the blob's.
            plain = response.headers.get("Content-Encoding", "identity") == "identity"
            if plain and length.isdigit() and int(length) > limit:
                raise BlobTooLarge(int(length))
            body = bytearray()
            for piece in response.iter_content(_PIECE):
                body += piece
                if len(body) > limit:
                    raise BlobTooLarge(None)
            return bytes(body)
