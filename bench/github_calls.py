"""GitHub requests per evaluation, and webhook acknowledgement latency.

Runs the real app (uvicorn, as `python app.py` does), the real SQLite queue and database, and
tests/fakehub as GitHub, all on loopback:

1. For pull requests of 1, 50 and 300 changed Python files (each adding one naive `now()`),
   the GitHub requests of the first evaluation and of a re-run on the same head
   (`check_run.rerequested`), against the budget 6 + ceil(files/100) + new blobs +
   ceil(annotations/50). The one-off installation-token request is counted apart.
2. 200 signed `pull_request.synchronize` deliveries from 20 concurrent senders over 20 PRs,
   with the consumer evaluating at the same time: acknowledgement latency p50 / p99 / max.

Usage: .venv/bin/python bench/github_calls.py
"""

from __future__ import annotations

import json
import math
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.senders import command as senders_cmd  # noqa: E402
from bench.senders import pr_module  # noqa: E402
from tests.bot.harness import Bot, make_app  # noqa: E402
from tests.fakehub import FakeHub  # noqa: E402
from tests.fakehub.model import FileChange  # noqa: E402

REPO = "bench/demo"


def _calls(bot: Bot, since: int) -> tuple[int, int, Counter[str]]:
    entries = bot.hub.requests[since:]
    token = sum(1 for r in entries if r.path.endswith("/access_tokens"))
    kinds: Counter[str] = Counter()
    for r in entries:
        if r.path.endswith("/access_tokens"):
            continue
        path = r.path.split("/repos/", 1)[-1]
        kind = "/".join(p if not any(c.isdigit() for c in p) or p.startswith("rg") else "{}" for p in path.split("/")[2:])
        kinds[f"{r.method} {kind}"] += 1
    return len(entries) - token, token, kinds


def requests_per_evaluation(bot: Bot) -> list[dict[str, Any]]:
    rows = []
    bot.start()
    for number, n in ((1, 1), (2, 50), (3, 300)):
        files = []
        for i in range(n):
            before, after = pr_module(number * 1000 + i)
            files.append(FileChange(f"pkg{number}/mod_{i}.py", status="modified", before=before, after=after))
        head = bot.hub.add_pull(REPO, number=number, author="alice", files=files).head_sha
        mark = len(bot.hub.requests)
        assert bot.open_pull(REPO, number).status_code == 202
        bot.wait(300)
        first, token, kinds = _calls(bot, mark)
        run = bot.latest_run(REPO, head)
        annotations = len(run["annotations"])
        budget = 6 + math.ceil(n / 100) + n + math.ceil(annotations / 50)
        mark = len(bot.hub.requests)
        assert bot.post("check_run", bot.check_run_rerequested_payload(REPO, number, run)).status_code == 202
        bot.wait(300)
        rerun, _, rerun_kinds = _calls(bot, mark)
        rerun_budget = 6 + math.ceil(n / 100) + 0 + math.ceil(annotations / 50)
        rows.append(
            dict(files=n, annotations=annotations, first=first, token=token, budget=budget,
                 rerun=rerun, rerun_budget=rerun_budget, kinds=dict(kinds), rerun_kinds=dict(rerun_kinds))
        )
    return rows


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ack_latency(
    hub: FakeHub, data_dir: Path, *, separate_consumer: bool, deliveries: int = 200, senders: int = 20,
    pulls: int = 20, first_pr: int = 100,
) -> dict[str, float]:
    """Against `python app.py` in its own process: with its in-process consumer, or with
    REVIEWGATE_WORKERS=0 and a `python -m bot.worker` process beside it."""
    numbers = list(range(first_pr, first_pr + pulls))
    for number in numbers:
        before, after = pr_module(number)
        hub.add_pull(REPO, number=number, author="alice", files=[
            FileChange(f"load/mod_{number}.py", status="modified", before=before, after=after)
        ])
    port = _free_port()
    env = dict(
        os.environ,
        REVIEWGATE_WEBHOOK_SECRET=hub.webhook_secret,
        REVIEWGATE_APP_ID=str(hub.app_id),
        REVIEWGATE_PRIVATE_KEY=hub.private_key_pem,
        REVIEWGATE_GITHUB_API_URL=hub.url,
        REVIEWGATE_DATA_DIR=str(data_dir),
        REVIEWGATE_PORT=str(port),
        REVIEWGATE_GITHUB_WRITE_INTERVAL="0",
    )
    if separate_consumer:
        env["REVIEWGATE_WORKERS"] = "0"
    quiet: dict[str, Any] = dict(cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server = subprocess.Popen([sys.executable, "app.py"], **quiet)
    consumer = (
        subprocess.Popen([sys.executable, "-m", "bot.worker", "--workers", "2"], **quiet)
        if separate_consumer else None
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                raise RuntimeError("python app.py did not become ready")
            time.sleep(0.1)
        fake = Bot(hub, None, None, url)  # type: ignore[arg-type]
        payloads = [json.dumps(fake.pull_request_payload(REPO, n, "synchronize")) for n in numbers]
        data_dir.mkdir(parents=True, exist_ok=True)
        payload_file = data_dir / "payloads.json"
        payload_file.write_text(json.dumps(payloads))
        mark = len(hub.requests)
        # The senders run in a process of their own: in this one, fakehub is busy answering
        # the consumer, and its threads would delay the senders' clocks, not the server.
        sent = subprocess.run(
            senders_cmd(url, hub.webhook_secret, payload_file, deliveries, senders),
            check=True, capture_output=True, text=True, timeout=300,
        )
        result = json.loads(sent.stdout)
        latencies = sorted(result["latencies"])
        statuses = Counter({int(k): v for k, v in result["statuses"].items()})
        wall = result["wall"]
        # Every PR must end with a completed run on its head.
        heads = {n: hub.pull(REPO, n).head_sha for n in numbers}
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            done = sum(
                1 for n, h in heads.items()
                if any(r["status"] == "completed" for r in hub.check_runs(REPO, h))
            )
            if done == len(heads):
                break
            time.sleep(0.2)
        evaluations = sum(1 for r in hub.requests[mark:] if r.method == "GET" and re.search(r"/pulls/\d+$", r.path))
    finally:
        for process in (server, consumer):
            if process is not None:
                process.terminate()
                process.wait(30)
    latencies.sort()
    return dict(
        p50=statistics.median(latencies) * 1000,
        p99=latencies[max(0, math.ceil(len(latencies) * 0.99) - 1)] * 1000,
        max=latencies[-1] * 1000,
        ok=sum(v for k, v in statuses.items() if 200 <= k < 300),
        total=len(latencies),
        rate=len(latencies) / wall,
        completed=done,
        evaluations=evaluations,
    )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="reviewgate-bench-") as tmp, FakeHub() as hub:
        hub.add_repo(REPO, default_branch="main", installation_id=7)
        bot = make_app(hub, Path(tmp), serve_with="uvicorn")
        try:
            rows = requests_per_evaluation(bot)
            print("GitHub requests per evaluation (installation token request counted apart)")
            print(f"{'files':>6} {'annot.':>7} {'first run':>10} {'budget':>7} {'re-run':>7} {'budget':>7} {'token':>6}")
            for r in rows:
                print(f"{r['files']:>6} {r['annotations']:>7} {r['first']:>10} {r['budget']:>7} "
                      f"{r['rerun']:>7} {r['rerun_budget']:>7} {r['token']:>6}")
            for r in rows:
                print(f"  {r['files']} files, first run: {r['kinds']}")
                print(f"  {r['files']} files, re-run:    {r['rerun_kinds']}")
        finally:
            bot.close()
        print("\nWebhook acknowledgement: 200 deliveries from 20 concurrent senders over 20 PRs")
        for label, separate, first in (
            ("python app.py (in-process consumer)", False, 100),
            ("python app.py + bot.worker process", True, 200),
        ):
            lat = ack_latency(hub, Path(tmp) / f"server-{first}", separate_consumer=separate, first_pr=first)
            print(
                f"  {label}: p50 {lat['p50']:.1f} ms, p99 {lat['p99']:.1f} ms, max {lat['max']:.1f} ms; "
                f"{lat['rate']:.0f} deliveries/s; {lat['ok']} answered 2xx; "
                f"{lat['completed']}/20 PRs completed on their head after {lat['evaluations']} evaluations"
            )


if __name__ == "__main__":
    main()
