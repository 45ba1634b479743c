"""The ASGI application `python app.py` serves: `POST /webhook` on the event loop, every other
path the Flask app's (`a2wsgi`, in a pool of `REVIEWGATE_THREADS` threads).

Why the webhook is not a Flask route here: the process has one interpreter lock, and with a
thread per request (the WSGI form, `gunicorn -k gthread 'app:create_app()'`) most of it goes to
handing each delivery between threads (the server's loop, a request thread, the delivery
writer): 0.9-1.5 ms of CPU per delivery under load. On the loop a delivery is read, verified
and routed where it arrives, waits for the delivery writer without a thread (its future), and
only its enqueue (a Redis or SQLite write) goes to a thread: about 0.5 ms (bench/load.py). The
steps are `bot.web.webhooks`', shared with the Flask route.

A body is refused unread (413) when its Content-Length is over `REVIEWGATE_MAX_BODY_BYTES`, and
stops being read as soon as a chunked one grows past it. A large body is verified and parsed
in a thread, so that one 25 MiB delivery does not hold the loop, and every other delivery, for
the time of its HMAC and JSON parse.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from a2wsgi import WSGIMiddleware
from flask import Flask

from bot.runtime import Runtime
from bot.store.deliveries import RECORD_TIMEOUT, Recorded
from bot.web import webhooks
from bot.web.webhooks import Answer, Seen

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# Bodies larger than this are verified and parsed in a thread rather than on the loop, and at
# most LARGE_AT_ONCE of them are held in memory at a time.
LARGE_BODY = 256 * 1024
LARGE_AT_ONCE = 4


class App:
    """`App(runtime, flask_app)`: the ASGI callable."""

    def __init__(self, runtime: Runtime, flask_app: Flask) -> None:
        self.runtime = runtime
        self.flask_app = flask_app
        threads = runtime.settings.threads
        self.pages = WSGIMiddleware(flask_app, workers=threads)  # type: ignore[arg-type]
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="webhook")
        self.large = asyncio.Semaphore(LARGE_AT_ONCE)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/webhook" and scope["method"] == "POST":
            await self.webhook(scope, receive, send)
        else:
            await self.pages(scope, receive, send)  # type: ignore[arg-type]

    async def webhook(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = _headers(scope)
        seen = Seen(event=headers.get("x-github-event"), guid=headers.get("x-github-delivery"))
        try:
            answer = await self._receive(headers, receive, seen)
        except Exception:
            log.exception("a delivery raised")  # its line follows, with its GUID
            seen.outcome = "raised"
            answer = Answer(500, {"outcome": "error"})
        if answer is None:
            seen.outcome = "gone"  # the sender hung up before its body was read
            webhooks.done(seen, 499)
            return
        webhooks.done(seen, answer.status)
        content = answer.content()
        head = [(b"content-length", str(len(content)).encode())]
        if answer.body is not None:
            head.append((b"content-type", b"application/json"))
        await send({"type": "http.response.start", "status": answer.status, "headers": head})
        await send({"type": "http.response.body", "body": content})

    async def _receive(self, headers: dict[str, str], receive: Receive, seen: Seen) -> Answer | None:
        rt = self.runtime
        limit = rt.settings.max_body_bytes
        length = headers.get("content-length")
        declared = int(length) if length is not None and length.isdigit() else None
        signature = headers.get("x-hub-signature-256")
        loop = asyncio.get_running_loop()
        try:
            if declared is not None and declared <= LARGE_BODY:
                body = await _body(receive, limit)
                first = None if body is None else webhooks.read(rt, body, signature, seen)
            else:
                if declared is not None and declared > limit:
                    return webhooks.too_large(seen)  # refused unread
                # A large (or chunked) body is read and parsed in memory: a few at a time. The
                # others wait unread, within the request's deadline (`bot.web.server`).
                async with self.large:
                    body = await _body(receive, limit)
                    first = None if body is None else await loop.run_in_executor(
                        self.pool, webhooks.read, rt, body, signature, seen
                    )
        except _TooLarge:
            return webhooks.too_large(seen)
        if first is None or isinstance(first, Answer):
            return first
        recorded = await _recorded(rt.deliveries.submit(first.incoming))
        # The enqueue is a round trip to Redis, or a write to SQLite: not on the loop.
        return await loop.run_in_executor(self.pool, webhooks.conclude, rt, first, recorded, seen)

    def close(self) -> None:
        """The threads let go of, once the server has stopped."""
        self.pool.shutdown(wait=True)
        self.pages.executor.shutdown(wait=True)


class _TooLarge(Exception):
    pass


async def _body(receive: Receive, limit: int) -> bytes | None:
    """The request's body (None if the sender hung up); `_TooLarge` once it passes `limit`."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body"):
            return b"".join(chunks)


async def _recorded(future: Future[Recorded]) -> Recorded | BaseException:
    """The delivery log's outcome for a submitted delivery, as `DeliveryLog.record` waits for it."""
    waited = asyncio.wrap_future(future)
    try:
        return await asyncio.wait_for(asyncio.shield(waited), RECORD_TIMEOUT)
    except TimeoutError as exc:
        if future.cancel():
            return exc  # never written: answered 503, and GitHub may redeliver
        # The writer has it in a transaction already: its outcome is the answer.
        try:
            return await waited
        except Exception as late:
            return late
    except Exception as exc:
        return exc


def _headers(scope: Scope) -> dict[str, str]:
    """The request's headers by lower-case name, the first of each (as Flask's `get`)."""
    found: dict[str, str] = {}
    for name, value in scope["headers"]:
        found.setdefault(name.decode("latin-1"), value.decode("latin-1"))
    return found
