"""What the webhook benchmarks share: the sender process and the Python module their PRs change.

    python bench/senders.py URL SECRET PAYLOADS_JSON DELIVERIES SENDERS [RATE]

POSTs signed `pull_request` deliveries from concurrent sender processes (one keep-alive
connection each, opened again when the server answers `Connection: close`) and prints the
latencies (with their delivery GUIDs), statuses and wall time as JSON. Run in a process of its
own so that the senders' CPU is not counted in the server's and the server's GIL does not slow
the senders. The HTTP/1.1 client is a few lines by hand on purpose: `http.client` cost five
times the CPU, which the two cores shared with the server would pay.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import multiprocessing
import socket
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

    Each sender is a process of its own, writing whole requests (signatures and GUIDs made
    before the clock starts) to a socket and reading the answers' heads and bodies by hand: the
    senders share the machine with the server, and their own CPU must not be what is measured
    (`http.client` took 0.8 ms of CPU per delivery, this 0.15 ms). Threads of one process
    would also wait for each other's interpreter lock to read their answers, which the
    latencies would count (GitHub's senders do not share one).
    Sender k sends deliveries k, k + senders, k + 2 * senders..."""
    payloads = [p.encode() for p in json.loads(Path(payload_file).read_text())]
    signed = [(body, sign(secret, body)) for body in payloads]
    target = urlsplit(url)
    context = multiprocessing.get_context("fork")
    ready = context.Barrier(senders + 1)
    start = context.Value("d", 0.0)
    results: multiprocessing.SimpleQueue[tuple[list[float], list[str], list[int], float, str]] = (
        context.SimpleQueue()
    )
    host, port = target.hostname or "127.0.0.1", target.port or 80

    def connect() -> socket.socket:
        connection = socket.create_connection((host, port), timeout=30)
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection

    def sender(k: int) -> None:
        mine = range(k, deliveries, senders)
        guids = [str(uuid.uuid4()) for _ in mine]
        raws = [request(host, *signed[i % len(signed)], guid) for i, guid in zip(mine, guids, strict=True)]
        latencies: list[float] = []
        statuses: list[int] = []
        connection: socket.socket | None = connect()  # before the clock, as the signatures
        ready.wait()
        began = start.value
        cpu = time.process_time()
        try:
            for i, raw in zip(mine, raws, strict=True):
                if rate:
                    pause = began + i / rate - time.perf_counter()
                    if pause > 0:
                        time.sleep(pause)
                sent = time.perf_counter()
                if connection is None:  # the server said `Connection: close`
                    connection = connect()
                connection.sendall(raw)
                status, kept = answer(connection)
                latencies.append(time.perf_counter() - sent)
                statuses.append(status)
                if not kept:
                    connection.close()
                    connection = None
        except Exception as exc:  # told to the parent, which would otherwise wait for ever
            results.put(([], [], [], 0.0, f"sender {k}: {exc!r}"))
            return
        results.put((latencies, guids, statuses, time.process_time() - cpu, ""))

    processes = [context.Process(target=sender, args=(k,)) for k in range(senders)]
    for process in processes:
        process.start()
    start.value = time.perf_counter() + 0.05  # CLOCK_MONOTONIC: the same clock in every process
    ready.wait()
    gathered = [results.get() for _ in processes]
    wall = time.perf_counter() - start.value
    for process in processes:
        process.join()
    if errors := [error for *_, error in gathered if error]:
        raise SystemExit("\n".join(errors))
    statuses = Counter(status for _, _, codes, _, _ in gathered for status in codes)
    print(json.dumps({
        "latencies": [v for latencies, *_ in gathered for v in latencies],
        "guids": [g for _, guids, *_ in gathered for g in guids],
        "statuses": statuses, "wall": wall,
        # The senders' CPU while sending (their process start-up and set-up excluded).
        "cpu": sum(cpu for _, _, _, cpu, _ in gathered),
    }))


def request(host: str, body: bytes, signature: str, guid: str) -> bytes:
    """The whole HTTP request, made before the clock starts."""
    head = (
        f"POST /webhook HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nX-GitHub-Event: pull_request\r\nX-GitHub-Delivery: {guid}\r\n"
        f"X-Hub-Signature-256: {signature}\r\n\r\n"
    )
    return head.encode() + body


def answer(connection: socket.socket) -> tuple[int, bool]:
    """Reads one answer off the connection (its head, and a body of Content-Length bytes); its
    status, and whether the server keeps the connection open."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += _received(connection)
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in lines[1:] if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        body += _received(connection)
    kept = not any(line.lower().replace(b" ", b"") == b"connection:close" for line in lines[1:])
    return int(lines[0].split()[1]), kept


def _received(connection: socket.socket) -> bytes:
    chunk = connection.recv(65536)
    if not chunk:
        raise ConnectionError("the server closed the connection")
    return chunk


def sign(secret: str, body: bytes) -> str:
    """As GitHub signs a delivery (tests/bot/harness.py has the same; not imported, to keep
    this process's start-up small)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


if __name__ == "__main__":
    url, secret, payloads, deliveries, senders, *rest = sys.argv[1:]
    send(url, secret, payloads, int(deliveries), int(senders), float(rest[0]) if rest else 0.0)
