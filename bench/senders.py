"""What the webhook benchmarks share: the sender process and the Python module their PRs change.

    python bench/senders.py URL SECRET PAYLOADS_JSON DELIVERIES SENDERS [RATE]

POSTs signed `pull_request` deliveries from concurrent sender processes (one keep-alive
connection each) and prints the latencies (with their delivery GUIDs), statuses and wall time as JSON. Run in a
process of its own so that the senders' CPU is not counted in the server's and the server's
GIL does not slow the senders.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import multiprocessing
import sys
import time
import uuid
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit


def pr_module(i: int) -> tuple[str, str]:
    """A module before and after a PR that adds one naive `datetime.now()`."""
    before = f'"""Module {i}."""\nfrom datetime import datetime, timezone\n\n\ndef f{i}():\n    return datetime.now(timezone.utc)\n'
    return before, before + f"\n\ndef g{i}():\n    return datetime.now()\n"


def command(url: str, secret: str, payload_file: Path, deliveries: int, senders: int, rate: float = 0.0) -> list[str]:
    """The argv that runs the sender process."""
    return [sys.executable, __file__, url, secret, str(payload_file), str(deliveries), str(senders), str(rate)]


def send(url: str, secret: str, payload_file: str, deliveries: int, senders: int, rate: float) -> None:
    """rate 0: closed loop (each sender posts as soon as its last answer came); rate > 0: open
    loop, delivery i is due at i / rate seconds, as independent webhooks arrive.

    Each sender is a process of its own, on `http.client`, with its signatures made before the
    clock starts: the senders share the machine with the server, and their own CPU must not be
    what is measured. Threads of one process would also wait for each other's interpreter lock
    to read their answers, which the latencies would count (GitHub's senders do not share one).
    Sender k sends deliveries k, k + senders, k + 2 * senders..."""
    payloads = [p.encode() for p in json.loads(Path(payload_file).read_text())]
    signed = [(body, sign(secret, body)) for body in payloads]
    target = urlsplit(url)
    context = multiprocessing.get_context("fork")
    ready = context.Barrier(senders + 1)
    start = context.Value("d", 0.0)
    results: multiprocessing.SimpleQueue[tuple[list[float], list[str], list[int], float]] = context.SimpleQueue()

    def sender(k: int) -> None:
        connection = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=30)
        latencies: list[float] = []
        guids: list[str] = []
        statuses: list[int] = []
        ready.wait()
        began = start.value
        cpu = time.process_time()
        for i in range(k, deliveries, senders):
            if rate:
                pause = began + i / rate - time.perf_counter()
                if pause > 0:
                    time.sleep(pause)
            body, signature = signed[i % len(signed)]
            guid = str(uuid.uuid4())
            headers = {
                "X-GitHub-Event": "pull_request", "X-GitHub-Delivery": guid,
                "Content-Type": "application/json", "X-Hub-Signature-256": signature,
            }
            sent = time.perf_counter()
            connection.request("POST", "/webhook", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            latencies.append(time.perf_counter() - sent)
            guids.append(guid)
            statuses.append(response.status)
        results.put((latencies, guids, statuses, time.process_time() - cpu))

    processes = [context.Process(target=sender, args=(k,)) for k in range(senders)]
    for process in processes:
        process.start()
    start.value = time.perf_counter() + 0.05  # CLOCK_MONOTONIC: the same clock in every process
    ready.wait()
    gathered = [results.get() for _ in processes]
    wall = time.perf_counter() - start.value
    for process in processes:
        process.join()
    statuses = Counter(status for _, _, codes, _ in gathered for status in codes)
    print(json.dumps({
        "latencies": [v for latencies, _, _, _ in gathered for v in latencies],
        "guids": [g for _, guids, _, _ in gathered for g in guids],
        "statuses": statuses, "wall": wall,
        # The senders' CPU while sending (their process start-up and set-up excluded).
        "cpu": sum(cpu for _, _, _, cpu in gathered),
    }))


def sign(secret: str, body: bytes) -> str:
    """As GitHub signs a delivery (tests/bot/harness.py has the same; not imported, to keep
    this process's start-up small)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


if __name__ == "__main__":
    url, secret, payloads, deliveries, senders, *rest = sys.argv[1:]
    send(url, secret, payloads, int(deliveries), int(senders), float(rest[0]) if rest else 0.0)
