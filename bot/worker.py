"""`python -m bot.worker`: a process that runs the queue's jobs, on the web app's settings.

What `python app.py` does besides serving: consumer threads for evaluations, commands and
merge groups, the reconciler's periodic pass, and, at start-up, queueing again whatever was
owed when the bot stopped (except what live workers are evaluating). Its lease keeper renews
the leases of its evaluations and takes over those of workers that died. Run it beside
`REVIEWGATE_EMBEDDED_WORKER=0 python app.py` or gunicorn (web only), as many as needed: on
the same machine with the SQLite queue, on any machine with PostgreSQL and Redis.

Threads: `--workers`, else `REVIEWGATE_WORKERS`; when that is 0 (the setting that keeps
the web process from running jobs, often shared through `.env`), the default of 2.
SIGTERM stops after the jobs under way; SIGINT (Ctrl-C) at once.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from prometheus_client import start_http_server

from bot.isolation import lower_priority
from bot.jobs.queue import build_queue
from bot.runtime import Runtime
from bot.settings import ConfigurationError, Settings, load_settings
from bot.store.db import DatabaseUnavailable

log = logging.getLogger(__name__)

DEFAULT_WORKERS: int = Settings.model_fields["workers"].default


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot.worker", description=__doc__.splitlines()[0])
    parser.add_argument(
        "--workers", type=int, default=None,
        help="consumer threads (default: REVIEWGATE_WORKERS, or 2 when that is 0)",
    )
    parser.add_argument(
        "--no-periodic", action="store_true",
        help="do not run the reconciler's periodic pass here (when another process runs it)",
    )
    args = parser.parse_args(argv)
    if args.workers is not None and args.workers < 1:
        parser.error("--workers must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = _arguments(argv)
    # Whatever the worker creates (SQLite journals, anything added later) is owner-only.
    os.umask(0o077)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        for line in str(exc).splitlines():
            print(f"reviewgate: {line}", file=sys.stderr)
        raise SystemExit(2) from None
    try:
        settings.check_github_app()
    except ConfigurationError as exc:
        # Jobs still run, and fail closed saying why, until the App is set.
        log.warning("%s", exc)
    # Evaluations can wait a moment; a web process sharing the machine answers GitHub first.
    lower_priority(settings.worker_nice)
    workers = args.workers if args.workers is not None else settings.workers or DEFAULT_WORKERS
    # The analysis worker processes are sized by the thread count (`Runtime`).
    settings = settings.model_copy(update={"workers": workers})
    try:
        runtime = Runtime(settings)
        queue = build_queue(runtime)
        queue.check()
    except (ConfigurationError, DatabaseUnavailable) as exc:
        print(f"reviewgate: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    if settings.worker_metrics_port is not None:
        try:
            start_http_server(settings.worker_metrics_port, addr=settings.host)
        except OSError as exc:
            runtime.close()
            print(f"reviewgate: cannot serve metrics on {settings.host}:{settings.worker_metrics_port}: "
                  f"{exc.strerror or exc}", file=sys.stderr)
            raise SystemExit(2) from None
        log.info("worker: metrics on http://%s:%d/metrics", settings.host, settings.worker_metrics_port)
    queue.recover()
    log.info("worker: %d consumer threads%s", workers, "" if not args.no_periodic else ", no periodic tasks")
    try:
        queue.run_consumer(workers, periodic=not args.no_periodic)
    finally:
        runtime.close()


if __name__ == "__main__":
    main()
