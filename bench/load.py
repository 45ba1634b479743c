"""Webhook load against `python app.py` as production runs it (uvicorn + in-process consumer,
SQLite state and queue), with tests/fakehub as GitHub on loopback.

1,000 signed `pull_request.synchronize` deliveries from 20 concurrent senders (a process each,
writing requests made before the clock starts to a socket, so their clocks are slowed neither
by the server's work nor by each other's interpreter lock, and their CPU stays small: about
0.15 ms per delivery, where `http.client` took 0.8 ms of the two cores the server shares)
over 20 PRs, after a warm-up burst to 20 other PRs whose evaluations end before the measured
ones start. Prints the acknowledgement latency p50 /
p99 / max, where it goes (per phase, from the server's one log line per delivery: read, verify,
parse, wait for the delivery writer, its transaction, resume, enqueue; `outside` is the
sender's latency minus the handler's time), deliveries per second, evaluations per PR, the server's and the
senders' CPU per delivery, the machine's CPU while sending split by part (web, senders,
workers, PostgreSQL, Redis, the fake GitHub), and the resident memory of the web processes
sampled every 50 ms.

Usage: .venv/bin/python bench/load.py [--deliveries 1000] [--senders 20] [--pulls 20] [--rate N]
                                    [--warmup 100] [--backend sqlite|postgres-redis|both]
                                    [--gunicorn N [--gthread]] [--web-alone]

`--backend postgres-redis` starts a throwaway PostgreSQL (fsync on, as in production) and
redis-server (tests/servers.py), runs `python app.py` web-only (or `--gunicorn N`: gunicorn
with N uvicorn worker processes; with `--gthread`, N gthread processes of the WSGI app) on them with two `python -m bot.worker` processes; `both` runs the
two back-ends one after the other and prints a table. `--web-alone` stops those workers for
the measured burst and starts them again after it: the web part measured as on a machine of
its own, without evaluations beside it.

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
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
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
from tests.reliability.server import ServerProcess, descendants, wait_until_serving  # noqa: E402
from tests.servers import running_servers, stop_process  # noqa: E402

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
    """The web processes' resident memory, summed, every `interval` seconds."""

    def __init__(self, pids: Callable[[], list[int]], interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.pids = pids
        self.interval = interval
        self.samples: list[tuple[float, float]] = []
        self.stop_event = threading.Event()

    def run(self) -> None:
        start = time.monotonic()
        while not self.stop_event.is_set():
            values = [rss_mib(pid) for pid in self.pids()]
            if values and None not in values:
                self.samples.append((time.monotonic() - start, sum(v for v in values if v is not None)))
            self.stop_event.wait(self.interval)


def cpu_seconds(pid: int) -> float:
    return _stat_cpu(Path(f"/proc/{pid}/stat").read_text())


def _stat_cpu(stat: str) -> float:
    """User + system CPU seconds from a /proc/PID/stat line."""
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_by_process() -> dict[int, tuple[str, float]]:
    """Every process's name and CPU seconds so far."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
            found[int(stat.parent.name)] = (text[text.index("(") + 1:text.rindex(")")], _stat_cpu(text))
        except (OSError, ValueError, IndexError):
            continue
    return found


def cpu_split(before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], web: set[int],
              workers: set[int]) -> dict[str, float]:
    """CPU seconds spent between the two snapshots, by part: the web processes, the bot workers
    (with their analysis processes), PostgreSQL, Redis, this process (the fake GitHub), the rest."""
    parts: dict[str, float] = defaultdict(float)
    for pid, (name, seconds) in after.items():
        spent = seconds - before.get(pid, (name, 0.0))[1]
        part = ("web" if pid in web else "workers" if pid in workers else "postgres" if name == "postgres"
                else "redis" if name.startswith("redis") else "fake GitHub" if pid == os.getpid() else "other")
        parts[part] += spent
    return parts


def machine_busy() -> tuple[float, float]:
    """Seconds of CPU the whole machine has spent busy and in all, from /proc/stat."""
    ticks = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks) - idle) / os.sysconf("SC_CLK_TCK"), sum(ticks) / os.sysconf("SC_CLK_TCK")


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


PHASE_LINE = re.compile(r"delivery (\S+) .* ([\d.]+) ms \| (.*?)(?: \(batch of (\d+)\))?$")
PHASES = ("read", "verify", "parse", "wait", "write", "resume", "enqueue")


def phases(log_text: str, guids: list[str], latencies: list[float]) -> dict[str, list[float]]:
    """Per delivery, milliseconds by phase from the server's log line, plus `outside` (the
    sender's latency minus the handler's time: the server's accept queue, the interpreter
    lock before the handler ran, the network and the sender) and `batch` (its writer batch)."""
    inside: dict[str, dict[str, float]] = {}
    for line in log_text.splitlines():
        if (m := PHASE_LINE.search(line)) is not None:
            words = m.group(3).split()
            parts = {name: float(ms) for name, ms in zip(words[::2], words[1::2], strict=False)}
            parts["handler"] = float(m.group(2))
            parts["batch"] = float(m.group(4) or 0)
            inside[m.group(1)] = parts
    table: dict[str, list[float]] = {name: [] for name in ("sender", "outside", "handler", *PHASES, "batch")}
    for guid, latency in zip(guids, latencies, strict=True):
        found = inside.get(guid)
        if found is None:
            continue
        table["sender"].append(latency * 1000)
        table["outside"].append(latency * 1000 - found["handler"])
        for name in ("handler", *PHASES, "batch"):
            table[name].append(found.get(name, 0.0))
    return table


def print_phases(table: dict[str, list[float]]) -> None:
    """p50 and p99 of each phase, and the mean of each over the slowest 1 % (where the tail goes)."""
    count = len(table["sender"])
    if not count:
        print("  per phase: no delivery log lines found")
        return
    slowest = sorted(range(count), key=lambda i: table["sender"][i])[-max(1, count // 100):]
    print(f"  per phase, ms ({count} deliveries; slowest 1 % = {len(slowest)}):")
    print(f"    {'phase':<9} {'p50':>7} {'p99':>7} {'slowest 1 %':>12}")
    for name, values in table.items():
        ordered = sorted(values)
        p99 = ordered[max(0, math.ceil(count * 0.99) - 1)]
        tail = statistics.mean(values[i] for i in slowest)
        print(f"    {name:<9} {statistics.median(values):7.1f} {p99:7.1f} {tail:12.1f}")


class Web:
    """The web part: `python app.py` (`processes` 0), or gunicorn with that many processes
    (`gunicorn -w N -k bot.web.server.Worker 'app:create_asgi_app()'`, as docs/operations.md
    runs it; with `gthread`, `-k gthread --threads 16 'app:create_app()'`, the WSGI form)."""

    def __init__(self, server: ServerProcess, processes: int, tmp: Path, gthread: bool = False) -> None:
        self.server = server
        self.processes = processes
        self.gthread = gthread
        self.log_path = tmp / "gunicorn.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.url = server.url

    def start(self) -> None:
        if not self.processes:
            self.server.start()
            return
        with open(self.log_path, "wb") as log:
            kind = (["-k", "gthread", "--threads", "16", "app:create_app()"] if self.gthread
                    else ["-k", "bot.web.server.Worker", "app:create_asgi_app()"])
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-w", str(self.processes), "-b", f"127.0.0.1:{self.server.port}",
                 *kind],
                cwd=ROOT, env=self.server.env, stdout=log, stderr=subprocess.STDOUT,
            )
        wait_until_serving(self.url, self.process, lambda: self.log_path.read_text(errors="replace"))

    def pids(self) -> list[int]:
        """The processes that serve requests (gunicorn's master only supervises)."""
        if self.process is None:
            return [self.server.pid]
        return sorted(descendants(self.process.pid))

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.process is not None else self.server.log()

    def stop(self) -> None:
        if self.process is None:
            self.server.stop()
        else:
            stop_process(self.process)


def start_workers(server: ServerProcess, tmp: Path, count: int) -> list[subprocess.Popen[bytes]]:
    """`python -m bot.worker --workers 2` processes on the server's settings, once started (their
    imports would otherwise compete with the load)."""
    logs = [tmp / f"worker-{i}.log" for i in range(count)]
    workers = []
    for log in logs:
        with open(log, "wb") as out:
            workers.append(subprocess.Popen(
                [sys.executable, "-m", "bot.worker", "--workers", "2"],
                cwd=ROOT, env=server.env, stdout=out, stderr=subprocess.STDOUT,
            ))
    deadline = time.monotonic() + 120
    while not all("consumer threads" in log.read_text(errors="replace") for log in logs):
        if time.monotonic() > deadline:
            raise RuntimeError("the workers did not start:\n" + "\n".join(log.read_text() for log in logs))
        time.sleep(0.1)
    return workers


def stop_all(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        stop_process(process)


def completed(hub: FakeHub, numbers: list[int], timeout: float) -> int:
    """Waits until each PR has a completed check run on its head; how many have."""
    heads = {n: hub.pull(REPO, n).head_sha for n in numbers}
    deadline = time.monotonic() + timeout
    while True:
        done = sum(1 for h in heads.values() if any(r["status"] == "completed" for r in hub.check_runs(REPO, h)))
        if done == len(heads) or time.monotonic() > deadline:
            return done
        time.sleep(0.2)


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
    parser.add_argument("--warmup", type=int, default=100,
                        help="deliveries sent (to other PRs) and evaluated before the measured ones (default 100)")
    parser.add_argument("--web-alone", action="store_true",
                        help="with separate workers: stop them for the measured burst and start them again "
                             "after it, so the web part is measured without the evaluations beside it")
    parser.add_argument("--gunicorn", type=int, default=0, metavar="N",
                        help="postgres-redis only: the web part as gunicorn with N processes instead of "
                             "`python app.py` (default 0: python app.py)")
    parser.add_argument("--gthread", action="store_true",
                        help="with --gunicorn: the WSGI form (`-k gthread 'app:create_app()'`), a thread per request")
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
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="reviewgate-load-")))
        hub = stack.enter_context(FakeHub())
        hub.add_repo(REPO, default_branch="main", installation_id=7)
        numbers = list(range(1, args.pulls + 1))
        warm = list(range(1001, 1001 + args.pulls))  # PRs of the warm-up burst, evaluated before the load
        for n in numbers + warm:
            before, after = pr_module(n)
            hub.add_pull(REPO, number=n, author="alice", files=[FileChange(f"load/mod_{n}.py", before=before, after=after)])
        options: dict[str, Any] = {"threads": args.threads} if args.threads else {}
        separate = args.separate_consumer or backend == "postgres-redis"
        if separate:
            options["workers"] = 0
        if backend == "postgres-redis":
            servers = stack.enter_context(running_servers(durable=True))
            options.update(database_url=servers.database_url(), redis_url=servers.redis_url())
        server = ServerProcess(hub, tmp / "data", **options)
        web = Web(server, args.gunicorn if backend == "postgres-redis" else 0, tmp, args.gthread)
        stack.callback(web.stop)
        web.start()
        workers: list[subprocess.Popen[bytes]] = []
        if separate:
            workers = start_workers(server, tmp, 2 if backend == "postgres-redis" else 1)
            stack.callback(stop_all, workers)
        fake = Bot(hub, None, None, web.url)  # type: ignore[arg-type]
        payload_file, warm_file = tmp / "payloads.json", tmp / "warm.json"
        for path, which in ((payload_file, numbers), (warm_file, warm)):
            path.write_text(json.dumps([json.dumps(fake.pull_request_payload(REPO, n, "synchronize")) for n in which]))
        if args.warmup:
            # Connections opened, statements prepared, code paths run once, as on a server
            # that has been up for a while; then wait for those evaluations to end.
            warmed = subprocess.run(senders_cmd(web.url, hub.webhook_secret, warm_file, args.warmup, args.senders),
                                    check=True, capture_output=True, text=True, timeout=600)
            answers = json.loads(warmed.stdout)["statuses"]
            if set(answers) != {"202"}:
                raise RuntimeError(f"the warm-up deliveries were answered {answers}:\n{web.log()[-3000:]}")
            completed(hub, warm, timeout=600)
            time.sleep(0.5)
        if args.web_alone and workers:
            stop_all(workers)
        sampler = Sampler(web.pids)
        sampler.start()
        try:
            time.sleep(1.0)  # a baseline of memory samples before the load
            cpu_before = sum(cpu_seconds(pid) for pid in web.pids())
            children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
            busy_before, by_process = machine_busy(), cpu_by_process()
            began = time.monotonic()
            sent = subprocess.run(
                senders_cmd(web.url, hub.webhook_secret, payload_file, args.deliveries, args.senders, args.rate),
                check=True, capture_output=True, text=True, timeout=600,
            )
            children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
            busy_after = machine_busy()
            split_cpu = cpu_split(by_process, cpu_by_process(), set(web.pids()),
                                  {p for w in workers for p in {w.pid, *descendants(w.pid)}})
            acked_at = sampler.samples[-1][0] if sampler.samples else 0.0
            cpu_load = sum(cpu_seconds(pid) for pid in web.pids()) - cpu_before
            startup_cpu = (children_after.ru_utime + children_after.ru_stime
                           - children_before.ru_utime - children_before.ru_stime)
            inside = server_side(web.url)
            result = json.loads(sent.stdout)
            sender_cpu = result["cpu"]
            startup_cpu -= sender_cpu  # the sender process's start-up, signing and forks
            if args.web_alone and workers:
                workers[:] = start_workers(server, tmp, len(workers))
            done = completed(hub, numbers, timeout=600)
            finished = time.monotonic() - began
            time.sleep(1.0)  # memory after the work is done
        finally:
            sampler.stop_event.set()
            sampler.join()
        web.stop()
        split = phases(web.log(), result["guids"], result["latencies"])

    latencies = sorted(result["latencies"])
    statuses = Counter({int(k): v for k, v in result["statuses"].items()})
    evaluations = Counter(
        int(m.group(1)) for r in hub.requests
        if r.method == "GET" and (m := re.search(r"/pulls/(\d+)$", r.path)) and int(m.group(1)) in numbers
    )
    p99 = latencies[max(0, math.ceil(len(latencies) * 0.99) - 1)]
    rss = [v for _, v in sampler.samples]
    load_rss = [v for t, v in sampler.samples if 1.0 <= t <= acked_at]
    pace = f"open loop at {args.rate:g}/s" if args.rate else "closed loop"
    front = (f"gunicorn -w {web.processes} -k gthread --threads 16" if web.processes
             else "`python app.py` (web only)" if separate else "`python app.py`")
    where = (
        f"PostgreSQL + Redis: {front} + 2 `python -m bot.worker`" if backend == "postgres-redis"
        else f"{front} + `python -m bot.worker`" if separate else front
    )
    print(f"{len(latencies)} deliveries from {args.senders} senders ({pace}) over {args.pulls} PRs against {where}"
          f", after a warm-up of {args.warmup}")
    print(f"  answered: {dict(sorted(statuses.items()))}")
    print(f"  acknowledgement latency: p50 {statistics.median(latencies) * 1000:.1f} ms, "
          f"p99 {p99 * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms")
    print(f"  inside the app (reviewgate_webhook_seconds, bucket bounds): p50 <= {inside['p50'] * 1000:g} ms, "
          f"p99 <= {inside['p99'] * 1000:g} ms")
    print(f"  server CPU while sending: {cpu_load:.2f} s, {cpu_load / len(latencies) * 1000:.2f} ms per delivery"
          + ("" if separate else " (evaluations included)")
          + f"; the senders' own: {sender_cpu / len(latencies) * 1000:.2f} ms per delivery")
    print(f"  throughput: {len(latencies) / result['wall']:.0f} deliveries/s ({result['wall']:.2f} s)")
    busy, total = busy_after[0] - busy_before[0], busy_after[1] - busy_before[1]
    print(f"  machine CPU while sending: {busy / total:.0%} of {os.cpu_count()} cores busy; per delivery "
          f"{busy / len(latencies) * 1000:.2f} ms in all, of which the web {cpu_load / len(latencies) * 1000:.2f} ms, "
          f"the senders {sender_cpu / len(latencies) * 1000:.2f} ms (their process's start-up "
          f"{startup_cpu / len(latencies) * 1000:.2f} ms) and the rest "
          f"{(busy - cpu_load - sender_cpu - startup_cpu) / len(latencies) * 1000:.2f} ms: "
          + ", ".join(f"{part} {seconds / len(latencies) * 1000:.2f}" for part, seconds in sorted(
              split_cpu.items(), key=lambda kv: -kv[1]) if part not in ("web", "other")))
    print(f"  PRs with a completed check run on their head: {done}/{len(numbers)}")
    print(f"  evaluations: {sum(evaluations.values())} in all, per PR min {min(evaluations.values(), default=0)} "
          f"max {max(evaluations.values(), default=0)} mean {sum(evaluations.values()) / max(1, len(numbers)):.1f}")
    if rss:
        third = max(1, len(load_rss) // 3)
        print(f"  server RSS: start {rss[0]:.0f} MiB, peak {max(rss):.0f} MiB, end {rss[-1]:.0f} MiB; "
              f"during the load, first third mean {statistics.mean(load_rss[:third] or rss):.0f} MiB, "
              f"last third mean {statistics.mean(load_rss[-third:] or rss):.0f} MiB ({len(rss)} samples)")
    print_phases(split)
    total = sum(evaluations.values())
    print(f"  evaluations per second: {total / finished:.1f} (first delivery to the last completed check run)")
    return {
        "p50": statistics.median(latencies), "p99": p99, "max": latencies[-1],
        "throughput": len(latencies) / result["wall"], "evaluations": total,
        "evaluations_per_second": total / finished,
    }


if __name__ == "__main__":
    main()
