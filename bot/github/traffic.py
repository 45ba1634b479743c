"""Every request to GitHub passes here: at most N in flight per installation, writes
serialized and paced only in bursts, conditional requests for repeated reads, and each
installation's rate-limit budget as GitHub reports it.

PyGithub paces with fixed sleeps per client object (`seconds_between_requests`), which costs
a reviewer seconds per file and says nothing to other threads or processes. Instead:

- Reads go out at once, up to `github_concurrency` at a time per installation in this process.
- Writes ("content-creating requests", in GitHub's words) of one installation go one at a
  time in this process, and take a slot from a token bucket kept by a `WritePacer`: a short
  burst goes unpaced, a longer one is spaced `github_write_interval` apart. The database's
  pacer shares the bucket between processes.
- A read that PyGithub repeats across evaluations (the pull request, its reviews, the
  configuration file, roles, memberships, commits) carries the ETag of the last answer; a
  `304 Not Modified` does not count against GitHub's rate limit, and the remembered answer
  is handed to PyGithub as if it had come again. With Redis, the answers are remembered
  there, for every process (`bot.github.shared_cache`).

PyGithub's requests reach this module through the connection class it lets a program
inject (`Requester.injectConnectionClasses`); the class keeps one keep-alive session per
GitHub host. The hand-written parts are the ETag cache (requests-cache and CacheControl
answer from their cache while GitHub's `max-age=60` lasts, which would serve reviews a minute
old) and the token bucket (it has to live in the database to be shared by processes).
"""

from __future__ import annotations

import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from github.Requester import (
    HTTPRequestsConnectionClass,
    HTTPSRequestsConnectionClass,
    Requester,
    RequestsResponse,
)
from requests.adapters import HTTPAdapter

from bot.metrics import GITHUB_NOT_MODIFIED

# Set by our installation auth on every request it signs, read and removed before sending:
# it names the installation whose budget the request spends.
CALLER_HEADER = "X-Reviewgate-Caller"
# Set by a caller on a GET of a kind that is not cached by default (a configuration file's
# blob), read and removed before sending: that answer is asked conditionally too.
CACHE_HEADER = "X-Reviewgate-Cache"
APP = "app"
WRITES = frozenset({"POST", "PATCH", "PUT", "DELETE"})

# Path words that name what a request is about; everything else in a path (owners, names,
# numbers, shas, file paths) is left out, so the metric's `kind` label stays bounded.
_WORDS = frozenset(
    "pulls files reviews commits contents git blobs check-runs issues comments reactions "
    "collaborators permission teams memberships app installations access_tokens hook deliveries "
    "attempts annotations requested_reviewers rate_limit".split()
)
_CACHED_KINDS = frozenset(
    {"repo", "pulls", "pulls/files", "pulls/reviews", "pulls/commits", "contents",
     "collaborators/permission", "teams/memberships"}
)
_NUMBER = re.compile(r"^\d+$")


def kind_of(path: str) -> str:
    """What a request is about, from its path: `pulls/files`, `git/blobs`, `check-runs`..."""
    parts = [p for p in urlsplit(path).path.split("/") if p]
    if parts[:1] == ["api"] and parts[1:2] == ["v3"]:  # GitHub Enterprise Server's prefix
        parts = parts[2:]
    if parts[:1] == ["repos"]:
        parts = parts[3:]
        if not parts:
            return "repo"
        if parts[0] == "contents":
            return "contents"
    elif parts[:1] == ["orgs"]:
        parts = parts[2:]
    words = [p for p in parts if p in _WORDS and not _NUMBER.match(p)]
    return "/".join(words) or "other"


class WritePacer(Protocol):
    def reserve(self, key: str) -> float:
        """Take the next write slot of `key`; the seconds to wait before using it."""
        ...


class Bucket:
    """A token bucket's arithmetic: `burst` writes at once, then one per `interval`.

    Tokens may go below zero: each negative token is a slot reserved in the future, so
    concurrent writers are spaced one interval apart instead of all waking at once.
    """

    def __init__(self, burst: int, interval: float) -> None:
        self.burst = max(1, burst)
        self.interval = max(0.0, interval)

    def take(self, tokens: float, updated: float, now: float) -> tuple[float, float]:
        """(tokens left, seconds to wait) after one write at `now`."""
        if self.interval <= 0:
            return float(self.burst), 0.0
        tokens = min(float(self.burst), tokens + max(0.0, now - updated) / self.interval)
        tokens -= 1.0
        return tokens, (0.0 if tokens >= 0 else -tokens * self.interval)


class MemoryPacer:
    """The bucket in this process only (tests, and programs without the database)."""

    def __init__(self, bucket: Bucket) -> None:
        self.bucket = bucket
        self._state: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def reserve(self, key: str) -> float:
        now = time.time()
        with self._lock:
            tokens, updated = self._state.get(key, (float(self.bucket.burst), now))
            tokens, wait = self.bucket.take(tokens, updated, now)
            self._state[key] = (tokens, now)
        return wait


@dataclass
class Budget:
    remaining: int
    limit: int
    reset: float  # epoch seconds


@dataclass(frozen=True)
class Stored:
    etag: str
    headers: dict[str, str]
    body: bytes


def fits(item: Stored, max_bytes: int) -> bool:
    """Whether a cache bounded to `max_bytes` takes the answer: one must not push out
    everything else."""
    return len(item.body) <= max_bytes // 16


class Cache(Protocol):
    """The last answer with an ETag per (caller, URL, media type): `ETagCache` in this process,
    or `bot.github.shared_cache.SharedETagCache` shared by every process through Redis."""

    def get(self, key: tuple[str, str, str]) -> Stored | None: ...

    def put(self, key: tuple[str, str, str], item: Stored) -> None: ...


class ETagCache:
    """The last answer with an ETag per (caller, URL, media type), least recently used first
    out, bounded in entries and bytes."""

    def __init__(self, entries: int, max_bytes: int) -> None:
        self.entries = entries
        self.max_bytes = max_bytes
        self._items: OrderedDict[tuple[str, str, str], Stored] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, str]) -> Stored | None:
        with self._lock:
            item = self._items.get(key)
            if item is not None:
                self._items.move_to_end(key)
            return item

    def put(self, key: tuple[str, str, str], item: Stored) -> None:
        if not fits(item, self.max_bytes):
            return
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= len(old.body)
            self._items[key] = item
            self._bytes += len(item.body)
            while self._items and (len(self._items) > self.entries or self._bytes > self.max_bytes):
                _, dropped = self._items.popitem(last=False)
                self._bytes -= len(dropped.body)

    def __len__(self) -> int:
        return len(self._items)


class Traffic:
    """The request policy for one GitHub App (one API host)."""

    def __init__(self, concurrency: int, pacer: WritePacer, cache: Cache) -> None:
        self.concurrency = max(1, concurrency)
        self.pacer = pacer
        self.cache = cache
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._writes: dict[str, threading.Lock] = {}
        self._budgets: dict[str, Budget] = {}
        self._lock = threading.Lock()
        self.session = requests.Session()
        self.session.auth = Requester.noopAuth  # no fallback to ~/.netrc, as PyGithub does

    def mount(self, adapter: HTTPAdapter) -> None:
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    def _slot(self, caller: str) -> threading.BoundedSemaphore:
        with self._lock:
            slot = self._slots.get(caller)
            if slot is None:
                slot = self._slots[caller] = threading.BoundedSemaphore(self.concurrency)
            return slot

    def _write_lock(self, caller: str) -> threading.Lock:
        with self._lock:
            return self._writes.setdefault(caller, threading.Lock())

    @contextmanager
    def request(self, caller: str, method: str, kind: str) -> Iterator[None]:
        """Hold one of the caller's slots for the request; a write also waits its turn."""
        _KIND.value = kind
        if method in WRITES:
            with self._write_lock(caller):
                wait = self.pacer.reserve(caller)
                if wait > 0:
                    time.sleep(wait)
                with self._slot(caller):
                    yield
        else:
            with self._slot(caller):
                yield

    def observe(self, caller: str, headers: Any) -> None:
        """Remember the core rate-limit budget GitHub reported to `caller`."""
        resource = headers.get("X-RateLimit-Resource", "core")
        remaining, limit, reset = (headers.get(f"X-RateLimit-{k}") for k in ("Remaining", "Limit", "Reset"))
        if resource != "core" or remaining is None or limit is None or reset is None:
            return
        try:
            budget = Budget(int(float(remaining)), int(float(limit)), float(reset))
        except ValueError:
            return
        with self._lock:
            self._budgets[caller] = budget

    def budget(self, caller: str) -> Budget | None:
        with self._lock:
            return self._budgets.get(caller)

    def budgets(self) -> dict[str, Budget]:
        with self._lock:
            return dict(self._budgets)


_KIND = threading.local()


def current_kind() -> str:
    """The kind of the request this thread is sending (for the retry's request counter)."""
    return str(getattr(_KIND, "value", "other"))


# API host (scheme://host:port) -> its Traffic. PyGithub builds connections from a class and
# a host name only, so the connection finds its policy here.
_REGISTRY: dict[str, Traffic] = {}
_REGISTRY_LOCK = threading.Lock()


def register(base_url: str, traffic: Traffic) -> None:
    with _REGISTRY_LOCK:
        _REGISTRY[_origin(base_url)] = traffic
    Requester.injectConnectionClasses(_HTTPConnection, _HTTPSConnection)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.scheme}://{parts.hostname}:{port}"


def traffic_for(protocol: str, host: str, port: int) -> Traffic | None:
    with _REGISTRY_LOCK:
        return _REGISTRY.get(f"{protocol}://{host}:{port}")


class _Policy:
    """What both connection classes add to PyGithub's: the shared session and the policy.

    PyGithub builds a connection per request once connection classes are injected; with a
    policy registered for the host, the connection borrows the policy's keep-alive session
    instead of building a session (and its pool) of its own."""

    scheme: str
    default_port: int
    protocol: str
    host: str
    port: int
    timeout: int | None
    verify: Any
    verb: str
    url: str
    input: Any
    headers: dict[str, str]
    stream: bool
    session: requests.Session
    traffic: Traffic | None

    def __init__(
        self, host: str, port: int | None = None, strict: bool = False, timeout: int | None = None,
        retry: Any = None, pool_size: int | None = None, **kwargs: Any,
    ) -> None:
        self.traffic = traffic_for(self.scheme, host, port or self.default_port)
        if self.traffic is None:  # another program's client: PyGithub's own behaviour
            super().__init__(host, port, strict, timeout, retry, pool_size, **kwargs)  # type: ignore[call-arg]
            return
        self.host, self.port, self.protocol = host, port or self.default_port, self.scheme
        self.timeout, self.verify = timeout, kwargs.get("verify", True)
        self.session = self.traffic.session

    def getresponse(self) -> RequestsResponse:
        traffic = self.traffic
        headers = dict(self.headers)
        caller = headers.pop(CALLER_HEADER, APP)
        opted_in = headers.pop(CACHE_HEADER, None) is not None
        url = f"{self.protocol}://{self.host}:{self.port}{self.url}"
        if traffic is None:
            return RequestsResponse(self._send(self.session, url, headers))
        kind = kind_of(self.url)
        key = (caller, self.url, headers.get("Accept", ""))
        cached = self.verb == "GET" and (kind in _CACHED_KINDS or opted_in)
        stored = traffic.cache.get(key) if cached else None
        if stored is not None:
            headers["If-None-Match"] = stored.etag
        with traffic.request(caller, self.verb, kind):
            response = self._send(traffic.session, url, headers)
        traffic.observe(caller, response.headers)
        if stored is not None and response.status_code == 304:
            GITHUB_NOT_MODIFIED.labels(kind=kind).inc()
            return RequestsResponse(_replay(response, stored))
        if cached and response.status_code == 200:
            etag = response.headers.get("ETag")
            if etag and not self.stream:
                traffic.cache.put(key, Stored(etag, dict(response.headers), response.content))
        return RequestsResponse(response)

    def _send(self, session: requests.Session, url: str, headers: dict[str, str]) -> requests.Response:
        return session.request(
            self.verb, url, headers=headers, data=self.input, timeout=self.timeout, verify=self.verify,
            allow_redirects=False, stream=self.stream,
        )

    def close(self) -> None:
        # A borrowed session stays open for the next request to this host (keep-alive).
        if self.traffic is None:
            self.session.close()


def _replay(not_modified: requests.Response, stored: Stored) -> requests.Response:
    """The remembered answer, with the rate-limit headers of the fresh 304."""
    response = requests.Response()
    response.status_code = 200
    response.headers.update(stored.headers)
    for name, value in not_modified.headers.items():
        if name.lower().startswith("x-ratelimit-"):
            response.headers[name] = value
    response._content = stored.body
    response.url = not_modified.url
    response.request = not_modified.request
    return response


class _HTTPConnection(_Policy, HTTPRequestsConnectionClass):
    scheme, default_port = "http", 80


class _HTTPSConnection(_Policy, HTTPSRequestsConnectionClass):
    scheme, default_port = "https", 443
