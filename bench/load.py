"""Webhook load against `python app.py` as production runs it (waitress + in-process consumer,
SQLite state and queue), with tests/fakehub as GitHub on loopback.

1,000 signed `pull_request.synchronize` deliveries from 20 concurrent senders (in a process of
their own, so their clocks are not slowed by the server's work) over 20 PRs. Prints the
acknowledgement latency p50 / p99 / max, deliveries per second, evaluations per PR, and the
resident memory of the server process sampled every 50 ms from start-up to the end of the
evaluations (is it flat?).

Usage: .venv/bin/python bench/load.py [--deliveries 1000] [--senders 20] [--pulls 20] [--rate N]
                                    [--backend sqlite|postgres-redis|both]

`--backend postgres-redis` starts a throwaway PostgreSQL (fsync on, as in production) and
redis-server (tests/servers.py), runs `python app.py` web-only on them with two `python -m
bot.worker` processes; `both` runs the two back-ends one after the other and prints a table.

By default each sender posts as soon as its previous delivery was answered (closed loop), so
the burst runs at the server's full throughput and, by Little's law, the median latency is
at least senders / throughput. `--rate N` sends N deliveries per second instead (open loop),
as independent webhooks arrive.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

import requests
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.senders import command as senders_cmd  # noqa: E402
from bench.senders import pr_module  # noqa: E402
from tests.bot.harness import Bot  # noqa: E402
from tests.fakehub import FakeHub  # noqa: E402
from tests.fakehub.model import FileChange  # noqa: E402
from tests.reliability.server import ServerProcess  # noqa: E402
from tests.servers import running_servers  # noqa: E402

REPO = "bench/load"


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


class Sampler(threading.Thread):
    def __init__(self, pid: int, interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.samples: list[tuple[float, float]] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        start = time.monotonic()
        while not self.stop_event.is_set():
            value = rss_mib(self.pid)
            if value is not None:
                self.samples.append((time.monotonic() - start, value))
            self.stop_event.wait(self.interval)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_side(url: str) -> dict[str, float]:
    """Bucket bounds of the server's own p50/p99 from reviewgate_webhook_seconds."""
    text = requests.get(f"{url}/metrics", timeout=10).text
    buckets = []
    for family in text_string_to_metric_families(text):
        if family.name == "reviewgate_webhook_seconds":
            buckets = [(float(s.labels["le"]), s.value) for s in family.samples if s.name.endswith("_bucket")]
    total = buckets[-1][1] if buckets else 0
    out = {}
    for q in (0.5, 0.99):
        out[f"p{int(q * 100)}"] = next((le for le, n in buckets if n >= q * total), float("nan"))
    out["count"] = total
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=1000)
    parser.add_argument("--senders", type=int, default=20)
    parser.add_argument("--pulls", type=int, default=20)
    parser.add_argument("--threads", type=int, default=None, help="REVIEWGATE_THREADS of the server")
    parser.add_argument("--separate-consumer", action="store_true",
                        help="REVIEWGATE_WORKERS=0 and a `python -m bot.worker` process beside the server")
    parser.add_argument("--rate", type=float, default=0.0,
                        help="deliveries per second, open loop (default 0: each sender as fast as it is answered)")
    parser.add_argument("--backend", choices=["sqlite", "postgres-redis", "both"], default="sqlite",
                        help="SQLite state and queue (default), or a throwaway PostgreSQL (fsync on) and Redis "
                             "with the web process serving only and two `python -m bot.worker` processes")
    args = parser.parse_args()
    backends = ["sqlite", "postgres-redis"] if args.backend == "both" else [args.backend]
    results = {backend: run(args, backend) for backend in backends}
    print()
    print("| backend | ack p50 | ack p99 | ack max | deliveries/s | evaluations | evaluations/s |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for backend, r in results.items():
        print(f"| {backend} | {r['p50'] * 1000:.0f} ms | {r['p99'] * 1000:.0f} ms | {r['max'] * 1000:.0f} ms "
              f"| {r['throughput']:.0f} | {r['evaluations']} | {r['evaluations_per_second']:.1f} |")


def run(args: argparse.Namespace, backend: str) -> dict[str, float]:
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="reviewgate-load-"))
        hub = stack.enter_context(FakeHub())
        hub.add_repo(REPO, default_branch="main", installation_id=7)
        numbers = list(range(1, args.pulls + 1))
        for n in numbers:
            before, after = pr_module(n)
            hub.add_pull(REPO, number=n, author="alice", files=[FileChange(f"load/mod_{n}.py", before=before, after=after)])
        options: dict[str, Any] = {"threads": args.threads} if args.threads else {}
        separate = args.separate_consumer or backend == "postgres-redis"
        if separate:
            options["workers"] = 0
        if backend == "postgres-redis":
            servers = stack.enter_context(running_servers(durable=True))
            options.update(database_url=servers.database_url(), redis_url=servers.redis_url())
        server = ServerProcess(hub, Path(tmp) / "data", **options)
        server.start()
        consumers: list[subprocess.Popen[bytes]] = []
        if separate:
            logs = [Path(tmp) / f"worker-{i}.log" for i in range(2 if backend == "postgres-redis" else 1)]
            for log in logs:
                with open(log, "wb") as out:
                    consumers.append(subprocess.Popen(
                        [sys.executable, "-m", "bot.worker", "--workers", "2"],
                        cwd=ROOT, env=server.env, stdout=out, stderr=subprocess.STDOUT,
                    ))
            # Started workers, not starting ones (their imports would compete with the web process).
            deadline = time.monotonic() + 120
            while not all("consumer threads" in log.read_text(errors="replace") for log in logs):
                if time.monotonic() > deadline:
                    raise RuntimeError("the workers did not start:\n" + "\n".join(log.read_text() for log in logs))
                time.sleep(0.1)
        sampler = Sampler(server.pid)
        sampler.start()
        try:
            fake = Bot(hub, None, None, server.url)  # type: ignore[arg-type]
            payload_file = Path(tmp) / "payloads.json"
            payload_file.write_text(json.dumps([json.dumps(fake.pull_request_payload(REPO, n, "synchronize")) for n in numbers]))
            time.sleep(1.0)  # a baseline of memory samples before the load
            cpu_before = cpu_seconds(server.pid)
            began = time.monotonic()
            sent = subprocess.run(
                senders_cmd(server.url, hub.webhook_secret, payload_file, args.deliveries, args.senders, args.rate),
                check=True, capture_output=True, text=True, timeout=600,
            )
            acked_at = sampler.samples[-1][0] if sampler.samples else 0.0
            cpu_load = cpu_seconds(server.pid) - cpu_before
            inside = server_side(server.url)
            result = json.loads(sent.stdout)
            heads = {n: hub.pull(REPO, n).head_sha for n in numbers}
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline:
                done = sum(1 for h in heads.values() if any(r["status"] == "completed" for r in hub.check_runs(REPO, h)))
                if done == len(heads):
                    break
                time.sleep(0.2)
            finished = time.monotonic() - began
            time.sleep(1.0)  # memory after the work is done
        finally:
            sampler.stop_event.set()
            sampler.join()
            server.stop()
            for consumer in consumers:
                consumer.terminate()
                consumer.wait(30)

    latencies = sorted(result["latencies"])
    statuses = Counter({int(k): v for k, v in result["statuses"].items()})
    evaluations = Counter(
        int(m.group(1)) for r in hub.requests if r.method == "GET" and (m := re.search(r"/pulls/(\d+)$", r.path))
    )
    p99 = latencies[max(0, math.ceil(len(latencies) * 0.99) - 1)]
    rss = [v for _, v in sampler.samples]
    load_rss = [v for t, v in sampler.samples if 1.0 <= t <= acked_at]
    pace = f"open loop at {args.rate:g}/s" if args.rate else "closed loop"
    where = (
        "PostgreSQL + Redis: `python app.py` (web only) + 2 `python -m bot.worker`" if backend == "postgres-redis"
        else "`python app.py` (web only) + `python -m bot.worker`" if separate else "`python app.py`"
    )
    print(f"{len(latencies)} deliveries from {args.senders} senders ({pace}) over {args.pulls} PRs against {where}")
    print(f"  answered: {dict(sorted(statuses.items()))}")
    print(f"  acknowledgement latency: p50 {statistics.median(latencies) * 1000:.1f} ms, "
          f"p99 {p99 * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms")
    print(f"  inside the app (reviewgate_webhook_seconds, bucket bounds): p50 <= {inside['p50'] * 1000:g} ms, "
          f"p99 <= {inside['p99'] * 1000:g} ms")
    print(f"  server CPU while sending: {cpu_load:.2f} s, {cpu_load / len(latencies) * 1000:.2f} ms per delivery"
          + ("" if separate else " (evaluations included)"))
    print(f"  throughput: {len(latencies) / result['wall']:.0f} deliveries/s ({result['wall']:.2f} s)")
    print(f"  PRs with a completed check run on their head: {done}/{len(heads)}")
    print(f"  evaluations: {sum(evaluations.values())} in all, per PR min {min(evaluations.values(), default=0)} "
          f"max {max(evaluations.values(), default=0)} mean {sum(evaluations.values()) / max(1, len(heads)):.1f}")
    if rss:
        third = max(1, len(load_rss) // 3)
        print(f"  server RSS: start {rss[0]:.0f} MiB, peak {max(rss):.0f} MiB, end {rss[-1]:.0f} MiB; "
              f"during the load, first third mean {statistics.mean(load_rss[:third] or rss):.0f} MiB, "
              f"last third mean {statistics.mean(load_rss[-third:] or rss):.0f} MiB ({len(rss)} samples)")
    total = sum(evaluations.values())
    print(f"  evaluations per second: {total / finished:.1f} (first delivery to the last completed check run)")
    return {
        "p50": statistics.median(latencies), "p99": p99, "max": latencies[-1],
        "throughput": len(latencies) / result["wall"], "evaluations": total,
        "evaluations_per_second": total / finished,
    }


if __name__ == "__main__":
    main()
