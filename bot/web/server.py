"""How uvicorn serves `bot.web.asgi.App`: under `python app.py` (`config`) and under gunicorn
(`gunicorn -k bot.web.server.Worker 'app:create_asgi_app()'`).

uvicorn times out an idle keep-alive connection, but not a new connection that sends nothing,
nor a request whose head or body trickles in: a client could hold connections open for ever.
Nor does it bound a request's head with httptools, which buffers a header until it ends: one
endless header line would take the process's memory. `RequestDeadline` closes a connection
whose request has not arrived whole within `REQUEST_SECONDS` of the connection opening or of
the previous answer (GitHub sends a delivery at once and gives up on it after 10 s),
answers 431 to a head over `MAX_HEAD_BYTES` (GitHub's are about 2 KiB), and closes at once a
connection past `MAX_CONNECTIONS`.
"""

from __future__ import annotations

import asyncio
import resource
import socket
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn_worker import UvicornWorker

REQUEST_SECONDS = 30.0
# Connections open at once; one more is closed as soon as it is accepted. Half the process's
# file descriptors at most, so that held connections never leave the database, the queue and
# GitHub without one (uvicorn's `limit_concurrency` answers 503 but accepts first).
MAX_CONNECTIONS = max(64, min(1000, resource.getrlimit(resource.RLIMIT_NOFILE)[0] // 2))
MAX_HEAD_BYTES = 64 * 1024
# How long a refused request's connection stays open after the answer, its input read and
# dropped: closed with input unread, the connection is reset, and the client may lose the answer.
LINGER_SECONDS = 2.0
_TOO_LARGE_HEAD = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"


class RequestDeadline(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol (httptools) with a deadline for each request to arrive."""

    _deadline: asyncio.TimerHandle | None = None
    # Bytes of the head under way, None once it is whole. Counted from the chunk after the one
    # the request began in (which part of that chunk was the head is not known): the head held
    # is at most that bound plus one read of the transport (256 KiB).
    _head: int | None = None
    _refused = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        if len(self.connections) > MAX_CONNECTIONS:
            transport.close()
            return
        self._head = 0
        self._arm()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        counting = self._head is not None
        super().data_received(data)
        if counting and self._head is not None:
            self._head += len(data)
            if self._head > MAX_HEAD_BYTES and not self.transport.is_closing():
                self._refused = True
                self.transport.write(_TOO_LARGE_HEAD)
                self.transport.write_eof()
                self._arm(LINGER_SECONDS)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._head is None:
            self._head = 0

    def on_headers_complete(self) -> None:
        self._head = None
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def on_response_complete(self) -> None:
        waiting = bool(self.pipeline)  # a request received already: its deadline was met
        super().on_response_complete()
        if not waiting and not self.transport.is_closing():
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self, seconds: float | None = None) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(REQUEST_SECONDS if seconds is None else seconds, self._expired)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


def bind(host: str, port: int) -> socket.socket:
    """The listening socket uvicorn is given. Made as TCP explicitly (not protocol 0), because
    asyncio turns Nagle's algorithm off only on sockets that say so: with it on, an answer
    written as head then body waited for the client's delayed ACK, 40 ms."""
    family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                         proto=socket.IPPROTO_TCP, flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def config(app: Any) -> uvicorn.Config:
    """How `python app.py` serves: HTTP parsed by httptools with the request deadline, the stdlib
    loop, no access log (each delivery logs its own line), the process's logging left as it is,
    and no trust in X-Forwarded-* headers (nothing here reads the client's address)."""
    return uvicorn.Config(
        app, http=RequestDeadline, loop="asyncio", ws="none", lifespan="off", interface="asgi3",
        access_log=False, log_config=None, proxy_headers=False, server_header=False,
        timeout_graceful_shutdown=5, backlog=2048,
    )


class Worker(UvicornWorker):
    """gunicorn's worker class for the ASGI app: uvicorn's, with the same protocol."""

    CONFIG_KWARGS = {"loop": "asyncio", "http": RequestDeadline, "ws": "none"}
