"""The server `python app.py` runs (uvicorn, `bot.web.server`, `bot.web.asgi`), in process: a
request must arrive whole within its deadline, large bodies are held a few at a time, a
sender that hangs up mid-body leaves nothing recorded, and a delivery that cannot be recorded
or queued is answered 503 and taken when GitHub redelivers it."""

from __future__ import annotations

import json
import logging
import socket
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from bot.store.db import Delivery
from bot.web import asgi, server
from tests.bot.harness import Bot, make_app, sign
from tests.fakehub import FakeHub
from tests.fakehub.model import FileChange


@pytest.fixture
def bot(fakehub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bot]:
    monkeypatch.setattr(server, "REQUEST_SECONDS", 1.0)
    made = make_app(fakehub, tmp_path)
    try:
        yield made
    finally:
        made.close()


def _connect(bot: Bot) -> socket.socket:
    port = int(bot.url.rsplit(":", 1)[1])
    return socket.create_connection(("127.0.0.1", port), timeout=10)


def _closed_after(sock: socket.socket) -> float:
    """Seconds until the server closes the connection (reads until EOF)."""
    began = time.monotonic()
    with sock:
        while sock.recv(4096):
            pass
    return time.monotonic() - began


def _ping(bot: Bot, size: int) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
    body += b" " * (size - len(body))  # JSON allows trailing whitespace
    return body, {"X-GitHub-Event": "ping", "X-GitHub-Delivery": str(uuid.uuid4()),
                  "Content-Type": "application/json", "X-Hub-Signature-256": sign(bot.hub.webhook_secret, body)}


def _head(bot: Bot, length: int, guid: str | None = None) -> bytes:
    return (f"POST /webhook HTTP/1.1\r\nHost: {bot.url[7:]}\r\nX-GitHub-Event: ping\r\n"
            f"X-GitHub-Delivery: {guid or uuid.uuid4()}\r\nX-Hub-Signature-256: sha256=00\r\n"
            f"Content-Length: {length}\r\n\r\n").encode()


def test_a_connection_whose_request_does_not_arrive_whole_in_time_is_closed(bot: Bot) -> None:
    silent = _connect(bot)
    trickling = _connect(bot)
    trickling.sendall(b"POST /webhook HTTP/1.1\r\nHost: x\r\n")  # and never the rest of the head
    half_body = _connect(bot)
    half_body.sendall(_head(bot, 1000) + b"{")
    with ThreadPoolExecutor(3) as pool:
        took = list(pool.map(_closed_after, [silent, trickling, half_body]))
    assert all(0.9 < t < 5 for t in took), took
    # A request that arrives in time is served on a connection that then stays open for more.
    assert requests.get(f"{bot.url}/healthz", timeout=5).status_code == 200
    assert bot.post("ping", {"zen": "x", "hook_id": 1}).status_code == 200


def test_a_large_body_is_parsed_off_the_loop_and_few_are_held_at_once(bot: Bot) -> None:
    size = asgi.LARGE_BODY * 4
    body, headers = _ping(bot, size)
    assert requests.post(f"{bot.url}/webhook", data=body, headers=headers, timeout=10).json()["outcome"] == "pong"
    # As many large bodies as may be held, each still arriving: the next large one waits unread...
    held = [_connect(bot) for _ in range(asgi.LARGE_AT_ONCE)]
    for sock in held:
        sock.sendall(_head(bot, size) + b"{")
    time.sleep(0.2)
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(requests.post, f"{bot.url}/webhook", data=body, timeout=10,
                              headers=dict(headers, **{"X-GitHub-Delivery": str(uuid.uuid4())}))
        time.sleep(0.5)
        assert not waiting.done()
        # ... while small deliveries are still answered at once.
        assert bot.post("ping", {"zen": "x", "hook_id": 1}).status_code == 200
        for sock in held:
            sock.close()  # their senders hang up: their places are given back
        assert waiting.result().json()["outcome"] == "pong"


def test_a_sender_that_hangs_up_mid_body_is_logged_gone_and_nothing_is_recorded(
    bot: Bot, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.web.webhooks")
    guid = str(uuid.uuid4())
    with _connect(bot) as sock:
        sock.sendall(_head(bot, 1000, guid) + b'{"zen": ')
        time.sleep(0.2)
    time.sleep(0.3)
    assert bot.post("ping", {"zen": "x", "hook_id": 1}).status_code == 200
    with bot.runtime.db.session() as session:
        assert [d.outcome for d in session.query(Delivery)] == ["pong"]
    [line] = [r.getMessage() for r in caplog.records if guid in r.getMessage()]
    assert line.split()[:6] == ["delivery", guid, "ping", "-", "gone", "499"]


def test_answers_are_not_held_back_by_nagles_algorithm(bot: Bot) -> None:
    """uvicorn writes an answer's head and body apiece: with Nagle's algorithm on, the body
    waited for the client's delayed ACK (40 ms a delivery on a kept-alive connection)."""
    assert bot.post("ping", {"zen": "x", "hook_id": 1}).status_code == 200  # the session keeps it open
    connections = bot._server._server.server_state.connections
    sockets = [c.transport.get_extra_info("socket") for c in connections]
    assert sockets
    assert all(s.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) for s in sockets)


def test_a_head_past_its_bound_is_refused_431_and_not_buffered(bot: Bot) -> None:
    with _connect(bot) as sock:
        sock.sendall(b"POST /webhook HTTP/1.1\r\nHost: x\r\nX-Pad: ")
        for _ in range(2 * server.MAX_HEAD_BYTES // 16384):
            sock.sendall(b"a" * 16384)  # one header line that does not end
        answer = sock.recv(4096)
    assert answer.split(b"\r\n", 1)[0] == b"HTTP/1.1 431 Request Header Fields Too Large"
    assert bot.post("ping", {"zen": "x", "hook_id": 1}).status_code == 200


def test_a_connection_past_the_cap_is_closed_at_once_and_a_freed_place_serves_again(
    bot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(server, "MAX_CONNECTIONS", 3)
    held = [_connect(bot) for _ in range(3)]
    time.sleep(0.2)
    with _connect(bot) as extra:
        extra.settimeout(0.5)  # well within the request deadline (1 s here)
        assert extra.recv(1) == b""  # closed as soon as accepted
    held.pop().close()
    time.sleep(0.2)
    with requests.Session() as session:
        assert session.get(f"{bot.url}/healthz", timeout=5).status_code == 200
    for sock in held:
        sock.close()


@contextmanager
def _unopenable(path: Path) -> Iterator[None]:
    """A directory where the SQLite file was: no new connection can open it."""
    moved = path.with_suffix(".moved")
    path.rename(moved)
    path.mkdir()
    try:
        yield
    finally:
        path.rmdir()
        moved.rename(path)


def _pull(bot: Bot) -> None:
    bot.hub.add_repo("octo/demo", default_branch="main", installation_id=42)
    bot.hub.add_pull("octo/demo", number=7, author="alice", files=[FileChange("a.py", status="added", after="X = 1\n")])


def _outcomes(bot: Bot) -> dict[str, str]:
    with bot.runtime.db.session() as session:
        return {d.guid: d.outcome for d in session.query(Delivery)}


def test_a_delivery_the_state_database_cannot_record_is_503_and_taken_when_redelivered(bot: Bot) -> None:
    _pull(bot)
    bot.runtime.db.dispose()  # the delivery writer has no connection yet: it opens one
    with _unopenable(bot.settings.sqlite_path):
        answer = bot.open_pull("octo/demo", 7, guid="first")
        assert (answer.status_code, answer.json()["outcome"]) == (503, "not recorded")
    bot.runtime.db.dispose()
    again = bot.open_pull("octo/demo", 7, guid="first")  # GitHub's redelivery
    assert (again.status_code, again.json()["outcome"]) == (202, "queued")
    assert _outcomes(bot) == {"first": "queued"}


def test_a_delivery_the_queue_cannot_take_is_503_marked_and_queued_when_redelivered(bot: Bot) -> None:
    _pull(bot)
    bot.queue.huey.storage.close()  # as in a process that has not queued yet: it opens one
    with _unopenable(bot.settings.queue_path):
        answer = bot.open_pull("octo/demo", 7, guid="first")
        assert (answer.status_code, answer.json()["outcome"]) == (503, "enqueue-failed")
    assert _outcomes(bot) == {"first": "enqueue-failed"}
    again = bot.open_pull("octo/demo", 7, guid="first")
    assert (again.status_code, again.json()["outcome"]) == (202, "queued")
    assert bot.queue.pending_count() == 1
