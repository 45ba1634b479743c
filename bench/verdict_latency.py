"""Time to verdict: from the signed webhook to the completed check run, with GitHub's latency.

Runs the real app (uvicorn, as `python app.py` does), the real SQLite queue and database with
the consumer the server embeds, and tests/fakehub as GitHub, every request to which waits the
injected latency before its answer. For pull requests of 1, 10, 50, 300 and 1,000 changed
Python files (each adding one naive `now()`, so every file is fetched and analysed, and every
file gets an annotation):

- seconds from the webhook to the completed `reviewgate` check run on the head;
- the requests of that evaluation by kind, and the most the fake saw in flight at once for
  the installation;
- then a re-evaluation on the same head after an approval (`pull_request_review`) and after a
  `/gate recheck` comment: requests that count against the rate limit (not 304), and blobs.

Beside each figure, the floor: the round trips that cannot overlap times the latency (pull
request, files pages, ceil(files / concurrency) rounds of blobs, completing the check run; the
installation token is fetched once an hour), plus the analysis (the 0 ms row: CPU and process
overhead).

`--backend postgres-redis` runs the same on a throwaway PostgreSQL (fsync on) and Redis
(tests/servers.py), with the jobs in one `python -m bot.worker` process of as many threads as
`python app.py` embeds: the scale-out topology, where every request to GitHub that may be
answered 304 also asks the cache shared in Redis.

Usage: .venv/bin/python bench/verdict_latency.py [--latency 0,50,100,200] [--files 1,10,50,300,1000]
                                                 [--backend sqlite|postgres-redis]
"""

from __future__ import annotations

import argparse
import contextlib
import math
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.senders import pr_module  # noqa: E402
from bot.github.traffic import kind_of  # noqa: E402
from tests.bot.harness import Bot, make_app  # noqa: E402
from tests.fakehub import FakeHub  # noqa: E402
from tests.fakehub.model import FileChange  # noqa: E402
from tests.gate_e2e.gatehub import comment, review  # noqa: E402
from tests.servers import running_servers  # noqa: E402

REPO = "bench/latency"
INSTALLATION = 4242


def _kinds(bot: Bot, since: int) -> Counter[str]:
    return Counter(f"{r.method} {kind_of(r.path)}" for r in bot.hub.requests[since:])


def _completed(bot: Bot, head: str) -> bool:
    runs = [r for r in bot.hub.check_runs(REPO, head) if r["name"] == "reviewgate"]
    return bool(runs) and runs[-1]["status"] == "completed"


def _wait_for(condition: Any, timeout: float) -> float:
    start = time.perf_counter()
    while not condition():
        if time.perf_counter() - start > timeout:
            raise TimeoutError("no verdict in time")
        time.sleep(0.005)
    return time.perf_counter() - start


def one(bot: Bot, number: int, files: int, latency: float, concurrency: int) -> dict[str, Any]:
    hub = bot.hub
    changes = []
    for i in range(files):
        # Unique bytes per run: the findings cache (by blob sha) must not answer for them.
        before, after = pr_module(number * 10_000 + i)
        changes.append(FileChange(f"pkg{number}/mod_{i}.py", status="modified", before=before, after=after))
    head = hub.add_pull(REPO, number=number, author="alice", files=changes).head_sha
    hub.latency = latency
    with hub.locked():
        hub.max_in_flight.clear()
        hub.rate_remaining = 5000  # each run on a fresh hourly budget (the bench spends several)
    mark = len(hub.requests)
    start = time.perf_counter()
    assert bot.open_pull(REPO, number).status_code == 202
    _wait_for(lambda: _completed(bot, head), 600)
    seconds = time.perf_counter() - start
    bot.wait(600)  # the annotation batches after the verdict, and the sticky comment
    kinds = _kinds(bot, mark)
    peak = hub.max_in_flight.get(f"installation:{INSTALLATION}", 0)
    blob_rounds = math.ceil(files / concurrency)
    # The pull request; its files pages (the configuration, reviews, commits and the check run's
    # creation go beside them); the blobs, `concurrency` at a time; completing the check run.
    round_trips = 2 + blob_rounds + 1

    reruns = {}
    for label, act in (
        ("review", lambda: review(bot, number, "bob", repo=REPO)),
        ("command", lambda: comment(bot, number, "bob", "/gate recheck", repo=REPO)[1]),
    ):
        mark = len(hub.requests)
        blobs = hub.blob_fetches
        assert act().status_code in (200, 202)
        bot.wait(600)
        counted = hub.counted_requests(mark)
        reruns[label] = dict(
            counted=len(counted),
            kinds=dict(Counter(f"{r.method} {kind_of(r.path)}" for r in counted)),
            all=len(hub.requests) - mark,
            blobs=hub.blob_fetches - blobs,
        )
    hub.latency = 0.0
    return dict(files=files, latency_ms=round(latency * 1000), seconds=seconds, round_trips=round_trips,
                floor=round_trips * latency, requests=sum(kinds.values()), kinds=dict(kinds), peak=peak,
                reruns=reruns)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--latency", default="0,50,100,200", help="milliseconds per request, comma-separated")
    parser.add_argument("--files", default="1,10,50,300,1000", help="changed files per PR, comma-separated")
    parser.add_argument("--backend", choices=["sqlite", "postgres-redis"], default="sqlite",
                        help="SQLite with the consumer in the server (default), or PostgreSQL + Redis with a "
                             "`python -m bot.worker` process")
    args = parser.parse_args()
    latencies = [int(x) / 1000 for x in args.latency.split(",")]
    sizes = [int(x) for x in args.files.split(",")]
    rows = []
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="reviewgate-latency-"))
        hub = stack.enter_context(FakeHub())
        servers = stack.enter_context(running_servers(durable=True)) if args.backend == "postgres-redis" else None
        hub.add_repo(REPO, installation_id=INSTALLATION)
        # Like most repositories, one with a .github folder (workflows) and no reviewgate.yml.
        hub.set_file(REPO, "main", ".github/workflows/ci.yml", "on: push\n")
        hub.add_collaborator(REPO, "bob", "write")
        bot = make_app(hub, Path(tmp), serve_with="uvicorn", servers=servers, github_write_interval=1.0,
                       evaluation_seconds=600, lease_seconds=600)
        concurrency = bot.settings.github_concurrency
        if servers is not None:
            bot.workers = [bot.start_worker(bot.settings.workers)]
        else:
            # The consumer as `python app.py` runs it (its own polling), not the tests' quicker one.
            bot.consumer = bot.queue.start_consumer(bot.settings.workers)
        number = 1
        try:
            # A server that has been running: its analysis workers are up, its token fetched.
            one(bot, number, 1, 0.0, concurrency)
            number += 1
            for latency in latencies:
                for files in sizes:
                    # Each pull request arrives after a quiet spell, with a full bucket of writes:
                    # the re-evaluations of the one before were a burst.
                    time.sleep(bot.settings.github_write_burst * bot.settings.github_write_interval)
                    row = one(bot, number, files, latency, concurrency)
                    number += 1
                    rows.append(row)
                    print(
                        f"{row['latency_ms']:>4} ms {files:>5} files: verdict {row['seconds']:6.2f} s "
                        f"(floor {row['floor']:5.2f} s + analysis; {row['round_trips']} round trips); "
                        f"{row['requests']} requests, peak {row['peak']} in flight; re-evaluation after "
                        f"a review: {row['reruns']['review']['counted']} counted "
                        f"({row['reruns']['review']['blobs']} blobs), after /gate recheck: "
                        f"{row['reruns']['command']['counted']} counted ({row['reruns']['command']['blobs']} blobs)",
                        flush=True,
                    )
        finally:
            bot.close()
    print("\nRequests by kind (first evaluation):")
    for row in rows:
        print(f"  {row['latency_ms']} ms, {row['files']} files: {row['kinds']}")
    print("\nCounted requests of the re-evaluations (last size):")
    print(f"  review: {rows[-1]['reruns']['review']['kinds']}")
    print(f"  command: {rows[-1]['reruns']['command']['kinds']}")


if __name__ == "__main__":
    main()
