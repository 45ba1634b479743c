"""Reviewgate's web application: `python app.py` to run; `create_asgi_app()` and `create_app()`
(WSGI) for gunicorn.

`python app.py` serves the app with uvicorn (`bot.web.asgi`: the webhook on the event loop,
the pages through Flask) and runs the queue consumer in the same process, so one command
needs no other service. With `REVIEWGATE_EMBEDDED_WORKER=0` it serves only, and `python -m
bot.worker` processes on the same settings run the jobs. Under gunicorn (`gunicorn -w 4 -k
bot.web.server.Worker 'app:create_asgi_app()'`, or `-k gthread 'app:create_app()'`) each
web process calls the factory, which serves only.
"""

from __future__ import annotations

import functools
import logging
import os
import signal
import socket
import sys
from types import FrameType
from typing import NoReturn

import uvicorn
from flask import Flask, Response, current_app, jsonify
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from bot.jobs import simulate
from bot.jobs.queue import Queue, build_queue
from bot.metrics import watch_queue
from bot.runtime import Runtime
from bot.settings import (
    ConfigurationError,
    PrivateKeyUnreadable,
    Settings,
    load_settings,
)
from bot.store.db import DatabaseUnavailable
from bot.store.pull_state import owed_evaluations
from bot.web import asgi, pages, server, setup, signin, webhooks


def create_app(settings: Settings | None = None) -> Flask:
    """Raises `ConfigurationError` when the settings are unsafe (no webhook secret).

    Builds the runtime and the queue (the web side enqueues jobs); `python app.py` and
    `python -m bot.worker` run consumers of that same queue.
    """
    if settings is None:
        # Called as a server's entry point (`gunicorn 'app:create_app()'`). 3: gunicorn's
        # "worker failed to boot", which stops its master instead of starting the worker
        # again and again.
        runtime, _ = _started(status=3)
        return web_app(runtime)
    settings.check_webhook_secret()
    runtime = Runtime(settings)
    build_queue(runtime)
    return web_app(runtime)


def create_asgi_app() -> asgi.App:
    """The ASGI application `python app.py` serves, as a gunicorn entry point (with
    `-k bot.web.server.Worker`): web only, like `create_app()`."""
    runtime, _ = _started(status=3)
    return asgi.App(runtime, web_app(runtime))


def web_app(runtime: Runtime) -> Flask:
    """The Flask app on a runtime whose queue is built."""
    settings = runtime.settings
    app = Flask("reviewgate")
    # Werkzeug answers 413 itself when a body (chunked ones too) grows past this.
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.extensions["reviewgate"] = runtime
    app.extensions["reviewgate.simulate"] = functools.partial(simulate.answer, runtime)
    app.register_blueprint(webhooks.bp)
    app.register_blueprint(setup.bp)
    signin.configure(app, settings)
    app.register_blueprint(signin.bp)
    app.register_blueprint(pages.bp)

    queue = runtime.queue
    watch_queue(queue.pending_count, queue.scheduled_count, lambda: owed_evaluations(runtime.db))

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    @app.get("/readyz")
    def readyz() -> tuple[Response, int]:
        rt: Runtime = current_app.extensions["reviewgate"]
        problems = {}
        try:
            rt.db.ping()
        except Exception as exc:  # reported, not raised: this endpoint exists to say it
            problems["database"] = type(exc).__name__
        try:
            rt.queue.pending_count()
        except Exception as exc:
            problems["queue"] = type(exc).__name__
        try:
            rt.settings.check_github_app()
        except PrivateKeyUnreadable:
            problems["github_app"] = "private key unreadable"
        except ConfigurationError:
            problems["github_app"] = "not configured"
        if problems:
            return jsonify(status="unavailable", problems=problems), 503
        return jsonify(status="ready"), 200

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(REGISTRY), mimetype=CONTENT_TYPE_LATEST)

    return app


def preflight() -> None:
    """Check the settings and reach the database and the queue once, then let go of them:
    gunicorn's master runs this before it starts any web process (gunicorn.conf.py), so a
    problem is one line and exit 3, not every web process failing to boot."""
    runtime, _ = _started(status=3)
    runtime.close()


def _started(status: int) -> tuple[Runtime, Queue]:
    """The runtime and its queue on the environment's settings, the database and the queue
    reached; otherwise one line per problem, as `python app.py` says it, and exit `status`.
    Logging is configured first: under gunicorn nothing else does (the per-delivery lines
    are INFO)."""
    _configure_logging()
    try:
        runtime = Runtime(checked_settings())
        queue = build_queue(runtime)
        queue.check()
    except (ConfigurationError, DatabaseUnavailable) as exc:
        refuse(exc, status)
    return runtime, queue


def _configure_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def main() -> None:
    # Whatever the server creates (SQLite journals, anything added later) is owner-only.
    os.umask(0o077)
    runtime, queue = _started(status=2)
    settings = runtime.settings
    app = asgi.App(runtime, web_app(runtime))
    try:
        sock = listen(settings)
    except ConfigurationError as exc:
        runtime.close()
        refuse(exc)
    # REVIEWGATE_EMBEDDED_WORKER=0 (or REVIEWGATE_WORKERS=0): jobs are left to `python -m
    # bot.worker` processes, which also queue again at their start what was owed.
    embedded = settings.embedded_worker and settings.workers > 0
    consumer = queue.start_consumer(settings.workers) if embedded else None
    if embedded:
        queue.recover()
    serving = uvicorn.Server(server.config(app))
    log = logging.getLogger("reviewgate")
    log.info("serving on http://%s:%d", settings.host, settings.port)
    # SIGTERM (systemd's and docker's stop) ends like Ctrl-C: uvicorn stops taking connections and
    # lets the requests under way finish (up to 5 s), then the jobs under way finish. uvicorn
    # catches both signals while it serves and raises them again once it has stopped: these
    # handlers end the serving with exit status 0. A second signal during its stop ends it at once.
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        serving.run(sockets=[sock])
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        log.info("stopping: the jobs under way finish first")
        if consumer is not None:
            consumer.stop(graceful=True)
        app.close()
        runtime.close()
        log.info("stopped")


def _stop(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def checked_settings() -> Settings:
    """The settings, each problem a line of the `ConfigurationError`; warnings logged."""
    settings = load_settings()
    settings.check_webhook_secret()
    log = logging.getLogger("reviewgate")
    # The server still runs without an App (deliveries are verified and recorded, /readyz
    # says what is missing); evaluations wait until one is set.
    if not settings.app_configured:
        log.warning(
            "no GitHub App is configured: open %s/setup?token=%s in a browser to register one",
            settings.public_url, settings.setup_token(),
        )
    else:
        try:
            settings.check_github_app()
        except ConfigurationError as exc:
            log.warning("%s", exc)
    return settings


def listen(settings: Settings) -> socket.socket:
    """The bound socket, before any job is queued or consumed: on a busy port a second
    instance stops here, instead of queueing its owed jobs into the running one's queue."""
    try:
        return server.bind(settings.host, settings.port)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc} "
            "(is another Reviewgate running? set REVIEWGATE_PORT to use another port)"
        ) from None


def refuse(exc: ConfigurationError | DatabaseUnavailable, status: int = 2) -> NoReturn:
    for line in str(exc).splitlines():
        print(f"reviewgate: {line}", file=sys.stderr)
    raise SystemExit(status)


if __name__ == "__main__":
    main()
