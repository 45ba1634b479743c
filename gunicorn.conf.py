"""gunicorn's settings for `gunicorn -k bot.web.server.Worker 'app:create_asgi_app()'` (or the WSGI form
`'app:create_app()'`), read from the working directory.

The settings, the database and the queue are checked once in gunicorn's master, before any web
process starts: a wrong setting or an unreachable server is one line and exit 3. Checked only
in the web processes, each would fail to boot on its own, and gunicorn's master traces back
when two fail at once.
"""

from __future__ import annotations

from typing import Any


def on_starting(server: Any) -> None:
    from app import preflight  # noqa: PLC0415  # the app, imported by the master only when it starts

    preflight()
