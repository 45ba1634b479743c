"""Small helpers for the drills: waiting on conditions, reading /metrics, signing."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import requests
from prometheus_client.parser import text_string_to_metric_families


def wait_for(condition: Callable[[], Any], timeout: float = 60.0, what: str = "the condition") -> Any:
    """Poll until `condition()` is truthy; generous timeouts, as the machine may be busy."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(0.05)


def metrics(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The app's /metrics as {(sample name, sorted labels): value}."""
    return parse_metrics(requests.get(f"{url}/metrics", timeout=10).text)


def parse_metrics(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def metric(url: str, name: str, **labels: str) -> float:
    return metrics(url).get((name, tuple(sorted(labels.items()))), 0.0)
