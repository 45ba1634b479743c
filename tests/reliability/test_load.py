"""Load drill: 200 signed deliveries from 20 concurrent senders over 20 PRs, half of which get a
new commit in the middle of the burst. Every delivery is acknowledged 2xx, every PR ends with
a completed check run on its latest head, and evaluations are coalesced."""

from __future__ import annotations

import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from tests.bot.harness import Bot, sign
from tests.fakehub.model import FileChange
from tests.reliability.conftest import OLD, REPO
from tests.reliability.helpers import wait_for

PULLS = 20
DELIVERIES = 200
SENDERS = 20


def test_drill_200_deliveries_from_20_senders_over_20_prs(bot: Bot) -> None:
    numbers = list(range(100, 100 + PULLS))
    for n in numbers:
        bot.hub.add_pull(REPO, number=n, author="alice", files=[
            FileChange(f"load/m{n}.py", before=OLD, after=OLD + f"\n\ndef f{n}():\n    return datetime.now()\n")
        ])
    bot.start()
    bot.hub.clear_log()
    bodies = {n: json.dumps(bot.pull_request_payload(REPO, n, "synchronize")).encode() for n in numbers}
    lock = threading.Lock()
    local = threading.local()
    statuses: list[int] = []

    def send(i: int) -> None:
        if i == DELIVERIES // 2:
            # Half the PRs get a new commit mid-burst; later deliveries carry the new head.
            for n in numbers[::2]:
                bot.hub.push(REPO, n, files=[FileChange(f"load/extra{n}.py", status="added", after="X = 1\n")])
                with lock:
                    bodies[n] = json.dumps(bot.pull_request_payload(REPO, n, "synchronize")).encode()
        if not hasattr(local, "session"):
            local.session = requests.Session()
        with lock:
            body = bodies[numbers[i % PULLS]]
        response = local.session.post(
            f"{bot.url}/webhook", data=body, timeout=60,
            headers={
                "X-GitHub-Event": "pull_request", "X-GitHub-Delivery": str(uuid.uuid4()),
                "Content-Type": "application/json", "X-Hub-Signature-256": sign(bot.hub.webhook_secret, body),
            },
        )
        with lock:
            statuses.append(response.status_code)

    # The first half, then the pushes (in sender 100), then the second half.
    with ThreadPoolExecutor(SENDERS) as pool:
        list(pool.map(send, range(DELIVERIES // 2)))
    with ThreadPoolExecutor(SENDERS) as pool:
        list(pool.map(send, range(DELIVERIES // 2, DELIVERIES)))

    assert len(statuses) == DELIVERIES and all(200 <= s < 300 for s in statuses), sorted(set(statuses))
    heads = {n: bot.hub.pull(REPO, n).head_sha for n in numbers}

    def all_completed() -> bool:
        return all(any(r["status"] == "completed" for r in bot.hub.check_runs(REPO, h)) for h in heads.values())

    wait_for(all_completed, timeout=240, what="a completed check run on every PR's latest head")
    bot.wait(120)
    for n, head in heads.items():
        assert bot.latest_run(REPO, head)["conclusion"] == "failure", n  # each adds a naive now()
    evaluations = len(bot.hub.requests_to("GET", r"/pulls/\d+$"))
    # Coalesced: about one evaluation per head (20 + 10 pushed), far fewer than deliveries.
    assert PULLS <= evaluations <= DELIVERIES // 4, evaluations
