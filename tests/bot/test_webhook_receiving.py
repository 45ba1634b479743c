"""Receiving: status codes, bookkeeping, coalescing, and the operational endpoints."""

from __future__ import annotations

import copy
import json
import socket

import pytest
import requests
from sqlalchemy import create_engine

from bot.store.db import Delivery, Evaluation, InstallationRepo
from tests.bot.harness import NO_APPROVALS, Bot, _example, sign
from tests.fakehub.model import FileChange

REPO = "octo/demo"
OLD = "from datetime import datetime, timezone\n\n\ndef now():\n    return datetime.now(timezone.utc)\n"


def _pull(bot: Bot, number: int = 7, after: str | None = None) -> str:
    bot.hub.add_repo(REPO, default_branch="main", installation_id=42)
    bot.hub.set_file(REPO, "main", ".github/reviewgate.yml", NO_APPROVALS)
    new = after if after is not None else OLD + "\n\ndef naive():\n    return datetime.now()\n"
    return bot.hub.add_pull(
        REPO, number=number, author="alice",
        files=[FileChange("app/clock.py", status="modified", before=OLD, after=new)],
    ).head_sha


def _deliveries(bot: Bot) -> list[Delivery]:
    with bot.runtime.db.session() as session:
        return list(session.query(Delivery))


def test_ping_is_answered_with_pong(bot: Bot) -> None:
    response = bot.post("ping", _example("ping", "payload.json"))
    assert response.status_code == 200
    assert response.json()["msg"] == "pong"
    assert [d.outcome for d in _deliveries(bot)] == ["pong"]


def test_events_and_actions_not_handled_are_204_and_cause_nothing(bot: Bot) -> None:
    _pull(bot)
    bot.start()
    bot.hub.clear_log()
    labeled = bot.pull_request_payload(REPO, 7, "opened")
    labeled["action"] = "labeled"
    assert bot.post("pull_request", labeled).status_code == 204
    edited = bot.pull_request_payload(REPO, 7, "opened")
    edited["action"] = "edited"
    edited["changes"] = {"title": {"from": "Old title"}}
    assert bot.post("pull_request", edited).status_code == 204
    assert bot.post("push", _example("push", "payload.json")).status_code == 204
    bot.wait()
    assert bot.hub.requests == []
    assert {d.outcome for d in _deliveries(bot)} == {"ignored"}


def test_a_base_change_is_evaluated(bot: Bot) -> None:
    head = _pull(bot)
    edited = bot.pull_request_payload(REPO, 7, "opened")
    edited["action"] = "edited"
    edited["changes"] = {"base": {"ref": {"from": "develop"}, "sha": {"from": "0" * 40}}}
    assert bot.post("pull_request", edited).status_code == 202
    bot.wait()
    assert bot.latest_run(REPO, head)["conclusion"] == "failure"


def test_a_body_over_25_mib_is_413_before_anything_else(bot: Bot) -> None:
    # Only the headers are sent: the answer must come from the declared length alone.
    port = int(bot.url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"POST /webhook HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"X-GitHub-Event: ping\r\nX-GitHub-Delivery: big\r\n"
            + f"Content-Length: {25 * 1024 * 1024 + 1}\r\n\r\n".encode()
        )
        answer = sock.recv(200)
    assert answer.startswith(b"HTTP/1.1 413")
    # Exactly 25 MiB is allowed through to the signature check (and fails it: unsigned).
    body = b" " * (25 * 1024 * 1024)
    assert bot.post("ping", body, signature="sha256=" + "0" * 64).status_code == 401
    assert _deliveries(bot) == []


def test_installation_events_keep_the_list_of_repositories(bot: Bot) -> None:
    created = copy.deepcopy(_example("installation", "created.payload.json"))
    installation_id = created["installation"]["id"]
    names = {r["full_name"] for r in created["repositories"]}
    assert bot.post("installation", created).status_code == 202
    removed = copy.deepcopy(_example("installation_repositories", "removed.payload.json"))
    removed["installation"]["id"] = installation_id
    removed["repositories_removed"] = [{"full_name": sorted(names)[0]}]
    assert bot.post("installation_repositories", removed).status_code == 202
    with bot.runtime.db.session() as session:
        kept = {r.repo for r in session.query(InstallationRepo).filter_by(installation_id=installation_id)}
    assert kept == names - {sorted(names)[0]}


def test_a_burst_of_events_for_one_pr_is_one_evaluation_of_its_latest_head(bot: Bot) -> None:
    _pull(bot)
    # The consumer is not running yet: the burst waits in the real queue.
    assert bot.open_pull(REPO, 7).status_code == 202
    heads = []
    for i in range(4):
        heads.append(
            bot.hub.push(REPO, 7, files=[FileChange(f"app/extra_{i}.py", status="added", after=f"X = {i}\n")])
        )
        assert bot.open_pull(REPO, 7, "synchronize").status_code == 202
    assert bot.queue.huey.pending_count() == 1
    bot.wait()
    evaluations = [(e.head_sha, e.trigger) for e in _all(bot)]
    assert evaluations == [(heads[-1], "pull_request.synchronize")]
    for old in heads[:-1]:
        assert bot.hub.check_runs(REPO, old) == []
    assert bot.latest_run(REPO, heads[-1])["conclusion"] == "failure"


def test_an_event_for_a_head_that_moved_on_evaluates_the_current_head(bot: Bot) -> None:
    first = _pull(bot)
    payload = bot.pull_request_payload(REPO, 7)
    second = bot.hub.push(REPO, 7, files=[FileChange("app/more.py", status="added", after="Y = 1\n")])
    # The event for the first head arrives after GitHub already moved the PR on.
    assert bot.post("pull_request", payload).status_code == 202
    bot.wait()
    assert [e.head_sha for e in _all(bot)] == [second]
    assert bot.latest_run(REPO, second)["status"] == "completed"
    assert bot.hub.check_runs(REPO, first) == []


def _all(bot: Bot) -> list[Evaluation]:
    with bot.runtime.db.session() as session:
        return list(session.query(Evaluation).order_by(Evaluation.id))


def test_health_readiness_and_metrics(bot: Bot) -> None:
    _pull(bot)
    bot.open_pull(REPO, 7)
    bot.wait()
    assert requests.get(f"{bot.url}/healthz", timeout=5).json() == {"status": "ok"}
    ready = requests.get(f"{bot.url}/readyz", timeout=5)
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    web, *workers = bot.metrics_texts()
    text = "\n".join([web, *workers])  # the evaluation ran in the app's process, or in a worker's
    assert 'reviewgate_deliveries_total{event="pull_request",outcome="queued"}' in web
    assert "reviewgate_queue_depth 0.0" in web
    assert bot.metric("reviewgate_jobs_total", outcome="failure") >= 1
    assert bot.metric("reviewgate_evaluation_seconds_count") >= 1
    assert bot.metric("reviewgate_github_requests_total", kind="pulls", method="GET", status="200") >= 1
    assert bot.metric("reviewgate_github_requests_total", kind="check-runs", method="POST", status="201") >= 1
    assert bot.hub.webhook_secret not in text


def test_readiness_fails_when_the_database_is_unreachable(bot: Bot, monkeypatch: pytest.MonkeyPatch) -> None:
    # A real engine on a path that cannot exist: the database is unreachable, not faked.
    monkeypatch.setattr(bot.runtime.db, "engine", create_engine("sqlite:////nonexistent/dir/reviewgate.db"))
    ready = requests.get(f"{bot.url}/readyz", timeout=5)
    assert ready.status_code == 503
    assert ready.json()["problems"] == {"database": "OperationalError"}


def test_signature_is_checked_on_the_raw_bytes(bot: Bot) -> None:
    payload = _example("ping", "payload.json")
    body = json.dumps(payload).encode()
    # Same JSON, different bytes: the signature of the compact form does not match.
    spaced = json.dumps(payload, indent=2).encode()
    assert bot.post("ping", spaced, signature=sign(bot.hub.webhook_secret, body)).status_code == 401
    assert bot.post("ping", spaced, signature=sign(bot.hub.webhook_secret, spaced)).status_code == 200


def test_check_suite_rerequested_evaluates_its_pull_requests(bot: Bot) -> None:
    head = _pull(bot)
    payload = copy.deepcopy(_example("check_suite", "rerequested.payload.json"))
    payload["check_suite"]["head_sha"] = head
    payload["check_suite"]["pull_requests"] = [{"number": 7, "id": 1, "url": "", "head": {}, "base": {}}]
    payload["repository"] = bot.hub.shapes.repository(bot.hub.repo(REPO))
    payload["installation"] = {"id": 42, "node_id": "x"}
    assert bot.post("check_suite", payload).status_code == 202
    bot.wait()
    assert bot.latest_run(REPO, head)["conclusion"] == "failure"


def test_a_delivery_without_an_installation_is_ignored(bot: Bot) -> None:
    _pull(bot)
    bot.start()
    bot.hub.clear_log()
    payload = bot.pull_request_payload(REPO, 7)
    del payload["installation"]
    assert bot.post("pull_request", payload).status_code == 204
    bot.wait()
    assert bot.hub.requests == []
    assert [d.outcome for d in _deliveries(bot)] == ["ignored: no installation"]


def test_concurrent_deliveries_are_all_recorded_and_coalesced(bot: Bot) -> None:
    from concurrent.futures import ThreadPoolExecutor

    bot.hub.add_repo(REPO, default_branch="main", installation_id=42)
    bot.hub.set_file(REPO, "main", ".github/reviewgate.yml", NO_APPROVALS)
    heads = {}
    for number in range(1, 5):
        heads[number] = bot.hub.add_pull(
            REPO, number=number, files=[FileChange(f"app/m{number}.py", status="added", after="X = 1\n")]
        ).head_sha
    payloads = {n: bot.pull_request_payload(REPO, n, "synchronize") for n in heads}
    bot.start()

    def send(i: int) -> int:
        with requests.Session() as session:
            body = json.dumps(payloads[i % 4 + 1]).encode()
            return session.post(
                f"{bot.url}/webhook", data=body, timeout=30,
                headers={"X-GitHub-Event": "pull_request", "X-GitHub-Delivery": f"guid-{i}",
                         "Content-Type": "application/json", "X-Hub-Signature-256": sign(bot.hub.webhook_secret, body)},
            ).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(send, range(40)))
    bot.wait()
    assert statuses == [202] * 40
    assert len(_deliveries(bot)) == 40
    for head in heads.values():
        assert bot.latest_run(REPO, head)["conclusion"] == "success"
    assert len(_all(bot)) < 40
