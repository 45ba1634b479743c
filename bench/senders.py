"""What the webhook benchmarks share: the sender process and the Python module their PRs change.

    python bench/senders.py URL SECRET PAYLOADS_JSON DELIVERIES SENDERS [RATE]

POSTs signed `pull_request` deliveries from concurrent threads (one keep-alive session each) and
prints the latencies, statuses and wall time as JSON. Run in a process of its own so that the
senders' CPU is not counted in the server's and the server's GIL does not slow the senders.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.bot.harness import sign  # noqa: E402


def pr_module(i: int) -> tuple[str, str]:
    """A module before and after a PR that adds one naive `datetime.now()`."""
    before = f'"""Module {i}."""\nfrom datetime import datetime, timezone\n\n\ndef f{i}():\n    return datetime.now(timezone.utc)\n'
    return before, before + f"\n\ndef g{i}():\n    return datetime.now()\n"


def command(url: str, secret: str, payload_file: Path, deliveries: int, senders: int, rate: float = 0.0) -> list[str]:
    """The argv that runs the sender process."""
    return [sys.executable, __file__, url, secret, str(payload_file), str(deliveries), str(senders), str(rate)]


def send(url: str, secret: str, payload_file: str, deliveries: int, senders: int, rate: float) -> None:
    """rate 0: closed loop (each sender posts as soon as its last answer came); rate > 0: open
    loop, delivery i is due at i / rate seconds, as independent webhooks arrive."""
    payloads = [p.encode() for p in json.loads(Path(payload_file).read_text())]
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    lock = threading.Lock()
    local = threading.local()
    began = time.perf_counter()

    def one(i: int) -> None:
        if rate:
            pause = began + i / rate - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
        if not hasattr(local, "session"):
            local.session = requests.Session()
        body = payloads[i % len(payloads)]
        headers = {
            "X-GitHub-Event": "pull_request", "X-GitHub-Delivery": str(uuid.uuid4()),
            "Content-Type": "application/json", "X-Hub-Signature-256": sign(secret, body),
        }
        start = time.perf_counter()
        response = local.session.post(f"{url}/webhook", data=body, headers=headers, timeout=30)
        elapsed = time.perf_counter() - start
        with lock:
            latencies.append(elapsed)
            statuses[response.status_code] += 1

    with ThreadPoolExecutor(max_workers=senders) as pool:
        list(pool.map(one, range(deliveries)))
    print(json.dumps({"latencies": latencies, "statuses": statuses, "wall": time.perf_counter() - began}))


if __name__ == "__main__":
    url, secret, payloads, deliveries, senders, *rest = sys.argv[1:]
    send(url, secret, payloads, int(deliveries), int(senders), float(rest[0]) if rest else 0.0)
