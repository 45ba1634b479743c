"""Reviewgate's web application: `create_app()` for WSGI servers, `python app.py` to run.

`python app.py` serves the app with waitress and runs the queue consumer in the same
process, so one command needs no other service. A separate `huey_consumer bot.tasks.huey`
works on the same settings.
"""

from __future__ import annotations

import logging
import os
import sys
import time

from flask import Flask, Response, current_app, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

from bot import webhooks
from bot.metrics import WEBHOOK_SECONDS, watch_queue
from bot.runtime import Runtime, configure
from bot.settings import ConfigurationError, Settings


def create_app(settings: Settings | None = None) -> Flask:
    """Raises `ConfigurationError` when the settings are unsafe (no webhook secret).

    The queue is built from the environment when `bot.tasks` is first imported (so that
    `huey_consumer bot.tasks.huey` finds the same one); `settings` configure the rest.
    """
    settings = settings or Settings()
    settings.check_webhook_secret()
    runtime = configure(settings)
    app = Flask("reviewgate")
    # Werkzeug answers 413 itself when a body (chunked ones too) grows past this.
    app.config["MAX_CONTENT_LENGTH"] = settings.max_body_bytes
    app.extensions["reviewgate"] = runtime
    app.register_blueprint(webhooks.bp)

    @app.before_request
    def _started() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def _answered(response: Response) -> Response:
        if request.path == "/webhook" and "started" in g:
            WEBHOOK_SECONDS.observe(time.perf_counter() - g.started)
        return response

    from bot.store.pull_state import owed_evaluations
    from bot.tasks import huey

    watch_queue(huey.pending_count, huey.scheduled_count, lambda: owed_evaluations(runtime.db))

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
            huey.pending_count()
        except Exception as exc:
            problems["queue"] = type(exc).__name__
        try:
            rt.settings.check_github_app()
        except ConfigurationError:
            problems["github_app"] = "not configured"
        if problems:
            return jsonify(status="unavailable", problems=problems), 503
        return jsonify(status="ready"), 200

    @app.get("/metrics")
    def metrics() -> Response:
        return Response(generate_latest(REGISTRY), mimetype=CONTENT_TYPE_LATEST)

    return app


def main() -> None:
    from waitress import serve

    # Whatever the server creates (SQLite journals, anything added later) is owner-only.
    os.umask(0o077)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings()
        settings.check_webhook_secret()
        try:
            settings.check_github_app()
        except ConfigurationError as exc:
            # The server still runs (deliveries are verified and recorded, /readyz says what
            # is missing); evaluations fail closed, saying why, until the App is set.
            logging.getLogger("reviewgate").warning("%s", exc)
        app = create_app(settings)
    except ConfigurationError as exc:
        print(f"reviewgate: {exc}", file=sys.stderr)
        raise SystemExit(2) from None

    from bot import tasks

    # REVIEWGATE_WORKERS=0: jobs are left to `huey_consumer bot.tasks.huey` processes.
    consumer = tasks.start_consumer(settings.workers) if settings.workers > 0 else None
    owed = tasks.recover_pending()
    if owed:
        logging.getLogger("reviewgate").info("re-enqueued %d evaluations owed from before a restart", owed)
    owed_jobs = tasks.recover_gate_jobs()
    if owed_jobs:
        logging.getLogger("reviewgate").info("re-enqueued %d command jobs owed from before a restart", owed_jobs)
    try:
        serve(
            app, host=settings.host, port=settings.port, threads=settings.threads,
            # waitress reads a whole body (spooling it to disk) before the app sees it; this
            # refuses a larger one as soon as its size is known. Its check is `>=`.
            max_request_body_size=settings.max_body_bytes + 1,
        )
    finally:
        if consumer is not None:
            consumer.stop(graceful=True)


if __name__ == "__main__":
    main()
