"""Reviewgate's web application: `create_app()` for WSGI servers, `python app.py` to run."""

from __future__ import annotations

import os

from flask import Flask, jsonify


def create_app() -> Flask:
    app = Flask("reviewgate")

    @app.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        return jsonify(status="ok")

    return app


def main() -> None:
    from waitress import serve

    host = os.environ.get("REVIEWGATE_HOST", "127.0.0.1")
    port = int(os.environ.get("REVIEWGATE_PORT", "3000"))
    serve(create_app(), host=host, port=port)


if __name__ == "__main__":
    main()
