"""Prometheus metrics, in the process-wide default registry (one process = one scrape target)."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import REGISTRY, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

DELIVERIES = Counter(
    "reviewgate_deliveries", "Webhook deliveries received, by event and outcome", ["event", "outcome"]
)
JOBS = Counter("reviewgate_jobs", "Evaluation jobs finished, by outcome", ["outcome"])
EVALUATION_SECONDS = Histogram(
    "reviewgate_evaluation_seconds",
    "Duration of one PR evaluation (gather, analyse, report)",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
)
GITHUB_REQUESTS = Counter(
    "reviewgate_github_requests", "HTTP responses from the GitHub API, by method and status", ["method", "status"]
)
GITHUB_ERRORS = Counter(
    "reviewgate_github_errors", "GitHub API requests that failed (status >= 400 or no answer)", ["method", "kind"]
)
FILES_ANALYZED = Counter(
    "reviewgate_files_analyzed", "Files parsed by the rule engine (cache misses)"
)
CACHE_HITS = Counter("reviewgate_findings_cache_hits", "Files whose findings came from the cache")
BLOBS_FETCHED = Counter("reviewgate_blobs_fetched", "Blobs downloaded from GitHub")


class QueueCollector(Collector):
    """Reads the queue depth at scrape time, so the number is never stale."""

    def __init__(self, depth: Callable[[], int]) -> None:
        self._depth = depth

    def collect(self) -> Iterable[GaugeMetricFamily]:
        gauge = GaugeMetricFamily("reviewgate_queue_depth", "Jobs waiting in the queue")
        try:
            gauge.add_metric([], float(self._depth()))
        except Exception:  # an unreachable queue must not break the whole scrape  # noqa: BLE001
            gauge.add_metric([], float("nan"))
        yield gauge


_queue_collector: QueueCollector | None = None


def watch_queue(depth: Callable[[], int]) -> None:
    global _queue_collector
    if _queue_collector is not None:
        REGISTRY.unregister(_queue_collector)
    _queue_collector = QueueCollector(depth)
    REGISTRY.register(_queue_collector)
