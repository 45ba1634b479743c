"""GitHub access through PyGithub: app JWT -> installation token, retries, request metrics.

The installation token lives on PyGithub's `AppInstallationAuth`, which fetches it on first
use and again only when it is about to expire; keeping one auth object per installation is
what makes the token reused across jobs.
"""

from __future__ import annotations

import threading
from typing import Any

from github import Auth, Github, GithubIntegration, GithubRetry

from bot.metrics import GITHUB_ERRORS, GITHUB_REQUESTS
from bot.settings import Settings


class CountingRetry(GithubRetry):
    """PyGithub's retry policy, also counting every HTTP response (retried ones included).

    urllib3 asks `is_retry` about each response it receives, which makes it the one place
    that sees all of them without wrapping PyGithub's connection classes.
    """

    def is_retry(self, method: str, status_code: int, has_retry_after: bool = False) -> bool:
        GITHUB_REQUESTS.labels(method=method, status=str(status_code)).inc()
        if status_code >= 400:
            GITHUB_ERRORS.labels(method=method, kind=str(status_code)).inc()
        return bool(super().is_retry(method, status_code, has_retry_after))

    def increment(self, method: str | None = None, url: str | None = None, *args: Any, **kwargs: Any) -> Any:
        error = kwargs.get("error")
        if error is not None:
            GITHUB_ERRORS.labels(method=method or "", kind=type(error).__name__).inc()
        return super().increment(method, url, *args, **kwargs)


def make_retry(settings: Settings) -> CountingRetry:
    return CountingRetry(
        total=settings.github_retries,
        backoff_factor=settings.github_backoff,
        # Rate-limit waits longer than this fail the request; the queue retries the job later.
        max_rate_limit_wait=300,
        secondary_rate_wait=60,
    )


class GitHubApp:
    def __init__(self, settings: Settings) -> None:
        settings.check_github_app()
        assert settings.app_id is not None and settings.private_key_pem is not None
        self.settings = settings
        self._app_auth = Auth.AppAuth(settings.app_id, settings.private_key_pem)
        self._common: dict[str, Any] = dict(
            base_url=settings.github_api_url.rstrip("/"),
            timeout=settings.github_timeout,
            retry=make_retry(settings),
            per_page=100,
            seconds_between_requests=settings.github_seconds_between_requests or None,
            seconds_between_writes=settings.github_seconds_between_writes or None,
        )
        self._integration = GithubIntegration(auth=self._app_auth, **self._common)
        self._installations: dict[int, Auth.AppInstallationAuth] = {}
        self._lock = threading.Lock()

    def installation_auth(self, installation_id: int) -> Auth.AppInstallationAuth:
        with self._lock:
            auth = self._installations.get(installation_id)
            if auth is None:
                auth = self._app_auth.get_installation_auth(
                    installation_id, requester=self._integration.requester
                )
                self._installations[installation_id] = auth
            return auth

    def forget_installation(self, installation_id: int) -> None:
        """Drop a cached token that GitHub refused, so the next client fetches a fresh one."""
        with self._lock:
            self._installations.pop(installation_id, None)

    def client(self, installation_id: int) -> Github:
        """A client for one job. Lazy: objects are fetched only when an attribute is read."""
        return Github(auth=self.installation_auth(installation_id), lazy=True, **self._common)
