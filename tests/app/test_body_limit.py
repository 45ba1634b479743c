"""`python app.py` refuses a webhook body over `REVIEWGATE_MAX_BODY_BYTES` in the web server
itself, as soon as it knows the size: it does not read (or spool to disk) the rest first."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.fakehub import FakeHub
from tests.fakehub.pytest_plugin import fakehub, fakehub_factory  # noqa: F401
from tests.reliability.server import ServerProcess

LIMIT = 64 * 1024


@pytest.fixture
def server(fakehub: FakeHub, tmp_path: Path) -> Iterator[ServerProcess]:  # noqa: F811
    process = ServerProcess(fakehub, tmp_path / "data", max_body_bytes=LIMIT, workers=0)
    process.start()
    try:
        yield process
    finally:
        process.stop()


def _answer_to(server: ServerProcess, head: bytes, body_parts: list[bytes], wait: float = 10) -> bytes:
    """Send the request head and the body parts on a raw connection; the status line the
    server answers with while the rest of the body is still unsent (b"" if none in time)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=wait) as sock:
        sock.sendall(head)
        try:
            for part in body_parts:
                sock.sendall(part)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed: what it said is still in our buffer
        try:
            answer = sock.recv(4096)
        except TimeoutError:
            return b""  # still waiting for the body it was promised
        except ConnectionResetError:
            return b"reset"
    return answer.split(b"\r\n", 1)[0]


def _head(server: ServerProcess, **headers: str) -> bytes:
    lines = [
        "POST /webhook HTTP/1.1", f"Host: 127.0.0.1:{server.port}", "Content-Type: application/json",
        "X-GitHub-Event: ping", f"X-GitHub-Delivery: {uuid.uuid4()}", "X-Hub-Signature-256: sha256=00",
        *(f"{k.replace('_', '-')}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _signed_ping(server: ServerProcess, size: int) -> requests.Response:
    body = json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode()
    body += b" " * (size - len(body))  # JSON allows trailing whitespace
    signature = "sha256=" + hmac.new(server.hub.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
    return requests.post(
        f"{server.url}/webhook", data=body, timeout=30,
        headers={"X-GitHub-Event": "ping", "X-GitHub-Delivery": str(uuid.uuid4()),
                 "X-Hub-Signature-256": signature, "Content-Type": "application/json"},
    )


def test_a_declared_length_over_the_limit_is_refused_before_the_body_is_sent(server: ServerProcess) -> None:
    # 10 MiB announced, 4 KiB sent: the answer comes without waiting for the rest.
    status = _answer_to(server, _head(server, Content_Length=str(10 * 1024 * 1024)), [b"{" + b" " * 4095])
    assert status == b"HTTP/1.1 413 Request Entity Too Large"


def test_a_chunked_body_is_refused_once_it_passes_the_limit(server: ServerProcess) -> None:
    chunk = b" " * 16 * 1024
    parts = [b"%x\r\n%s\r\n" % (len(chunk), chunk)] * (2 * LIMIT // len(chunk))  # no final chunk
    status = _answer_to(server, _head(server, Transfer_Encoding="chunked"), parts)
    assert status == b"HTTP/1.1 413 Request Entity Too Large"


def test_the_limit_is_the_setting_and_the_server_stays_healthy(server: ServerProcess) -> None:
    assert _signed_ping(server, LIMIT).status_code == 200  # exactly the limit: accepted
    assert _signed_ping(server, LIMIT + 1).status_code == 413
    announced = _head(server, Content_Length=str(200 * 1024 * 1024))
    for _ in range(10):
        assert _answer_to(server, announced, [b" " * 1024], wait=3).startswith(b"HTTP/1.1 413")
    assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200
    assert requests.get(f"{server.url}/readyz", timeout=5).status_code == 200
    assert _signed_ping(server, 100).json() == {"msg": "pong", "outcome": "pong"}
