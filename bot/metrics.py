"""Prometheus metrics, in the process-wide default registry (one process = one scrape target)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

DELIVERIES = Counter(
    "reviewgate_deliveries", "Webhook deliveries received, by event and outcome", ["event", "outcome"]
)
WEBHOOK_SECONDS = Histogram(
    "reviewgate_webhook_seconds",
    "Time from the request reaching the app to its answer on POST /webhook (verify, record, enqueue)",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
)
WEBHOOK_PHASE_SECONDS = Histogram(
    "reviewgate_webhook_phase_seconds",
    "Where POST /webhook's time goes: read (the body), verify (the signature), parse (JSON and "
    "routing), wait (for the delivery writer), write (the writer's transaction and fsync, shared by "
    "its batch), enqueue (the job into the queue)",
    ["phase"],
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)
JOBS = Counter("reviewgate_jobs", "Evaluation jobs finished, by outcome", ["outcome"])
EVALUATION_SECONDS = Histogram(
    "reviewgate_evaluation_seconds",
    "Duration of one PR evaluation (gather, analyse, report)",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
GITHUB_REQUESTS = Counter(
    "reviewgate_github_requests",
    "HTTP responses from the GitHub API (retried attempts included), by method, kind and status; "
    "a 304 does not count against GitHub's rate limit",
    ["method", "kind", "status"],
)
GITHUB_NOT_MODIFIED = Counter(
    "reviewgate_github_not_modified",
    "Conditional GitHub requests answered 304 Not Modified (free of rate limit), by kind",
    ["kind"],
)
GITHUB_ERRORS = Counter(
    "reviewgate_github_errors", "GitHub API requests that failed (status >= 400 or no answer)", ["method", "kind"]
)
FILES_ANALYZED = Counter(
    "reviewgate_files_analyzed", "Files parsed by the rule engine (cache misses)"
)
CACHE_HITS = Counter("reviewgate_findings_cache_hits", "Files whose findings came from the cache")
BLOBS_FETCHED = Counter("reviewgate_blobs_fetched", "Blobs downloaded from GitHub")
RECONCILE_RUNS = Counter("reviewgate_reconcile_runs", "Reconciler passes, by outcome (ok, failed)", ["outcome"])
RECONCILE_REPAIRS = Counter(
    "reviewgate_reconcile_repairs",
    "What the reconciler repaired: evaluations queued for PRs without a completed check run "
    "(evaluation), failed deliveries GitHub was asked to redeliver (redelivery)",
    ["kind"],
)


class QueueCollector(Collector):
    """Reads the queue at scrape time, so the numbers are never stale.

    `owed` gives the evaluations recorded but not finished (queued, running or waiting for a
    retry) and the age of the oldest: the time since the latest event of the PR that has
    waited longest. A consumer that stopped working shows as that age growing.
    """

    def __init__(
        self,
        depth: Callable[[], int],
        scheduled: Callable[[], int] | None = None,
        owed: Callable[[], tuple[int, float]] | None = None,
    ) -> None:
        self._depth = depth
        self._scheduled = scheduled
        self._owed = owed

    def collect(self) -> Iterable[GaugeMetricFamily]:
        yield _gauge("reviewgate_queue_depth", "Jobs waiting in the queue", self._depth)
        if self._scheduled is not None:
            yield _gauge("reviewgate_queue_scheduled", "Jobs waiting for a retry at a later time", self._scheduled)
        if self._owed is not None:
            count: float
            age: float
            try:
                count, age = self._owed()
            except Exception:  # an unreachable database must not break the whole scrape  # noqa: BLE001
                count, age = float("nan"), float("nan")
            yield _gauge("reviewgate_owed_evaluations", "PRs whose latest event is not evaluated yet", lambda: count)
            yield _gauge(
                "reviewgate_oldest_owed_seconds",
                "Seconds since the latest event of the longest-waiting PR not evaluated yet (0: none)",
                lambda: age,
            )


def _gauge(name: str, doc: str, read: Callable[[], float]) -> GaugeMetricFamily:
    gauge = GaugeMetricFamily(name, doc)
    try:
        gauge.add_metric([], float(read()))
    except Exception:  # an unreachable queue must not break the whole scrape  # noqa: BLE001
        gauge.add_metric([], float("nan"))
    return gauge


class RateLimitCollector(Collector):
    def __init__(self, read: Callable[[], dict[str, int]]) -> None:
        self._read = read

    def collect(self) -> Iterable[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "reviewgate_github_rate_limit_remaining",
            "GitHub's X-RateLimit-Remaining on the latest response, per installation (app: JWT requests)",
            labels=["installation"],
        )
        try:
            values = self._read()
        except Exception:  # noqa: BLE001
            values = {}
        for key, remaining in sorted(values.items()):
            gauge.add_metric([key], float(remaining))
        yield gauge


_collectors: dict[str, Collector] = {}


def _install(key: str, collector: Collector) -> None:
    """One collector per kind: the app factory and the tests build runtimes more than once."""
    previous = _collectors.pop(key, None)
    if previous is not None:
        REGISTRY.unregister(previous)
    _collectors[key] = collector
    REGISTRY.register(collector)


def watch_queue(
    depth: Callable[[], int],
    scheduled: Callable[[], int] | None = None,
    owed: Callable[[], tuple[int, float]] | None = None,
) -> None:
    _install("queue", QueueCollector(depth, scheduled, owed))


def rate_limit_readings() -> dict[str, int]:
    """X-RateLimit-Remaining per installation as this process last saw it ({} when this
    process has talked to no GitHub yet)."""
    collector = _collectors.get("rate_limits")
    if not isinstance(collector, RateLimitCollector):
        return {}
    try:
        return dict(collector._read())
    except Exception:  # noqa: BLE001
        return {}


def watch_rate_limits(read: Callable[[], dict[str, int]]) -> None:
    _install("rate_limits", RateLimitCollector(read))
