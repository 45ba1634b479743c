"""`python -m bot.replay PAYLOAD.json --event pull_request`: send a webhook to the local server.

The body is sent as it is in the file, signed as GitHub signs it (`X-Hub-Signature-256`, HMAC
SHA-256 with the webhook secret of the settings: the environment or `.env`), with a new
delivery GUID, to `REVIEWGATE_HOST:REVIEWGATE_PORT/webhook` unless `--url` says otherwise.
Sample payloads: docs/samples/. Exit status 0 when the server answered 2xx, else 1.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path

import requests

from bot.settings import ConfigurationError, load_settings

# Addresses a server listens on that a client cannot send to.
_ANY_ADDRESS = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot.replay", description=__doc__.splitlines()[0])
    parser.add_argument("payload", type=Path, help="a JSON file: the webhook's body")
    parser.add_argument("--event", required=True, help="the X-GitHub-Event header, e.g. pull_request")
    parser.add_argument("--url", help="where to send it (default: the local server's /webhook)")
    parser.add_argument("--guid", help="the X-GitHub-Delivery header (default: a new one)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    try:
        settings = load_settings()
    except ConfigurationError as exc:
        for line in str(exc).splitlines():
            print(f"reviewgate: {line}", file=sys.stderr)
        return 2
    try:
        body = args.payload.read_bytes()
    except OSError as exc:
        print(f"reviewgate: {args.payload}: {exc.strerror}", file=sys.stderr)
        return 2
    host = _ANY_ADDRESS.get(settings.host, settings.host)
    host = f"[{host}]" if ":" in host else host
    url = args.url or f"http://{host}:{settings.port}/webhook"
    headers = {
        "X-GitHub-Event": args.event,
        "X-GitHub-Delivery": args.guid or str(uuid.uuid4()),
        "Content-Type": "application/json",
        "User-Agent": "GitHub-Hookshot/reviewgate-replay",
    }
    secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    if secret:
        headers["X-Hub-Signature-256"] = signature(secret, body)
    try:
        answer = requests.post(url, data=body, headers=headers, timeout=30)
    except requests.RequestException as exc:
        print(f"reviewgate: could not reach {url} ({type(exc).__name__}); is the server running?", file=sys.stderr)
        return 1
    print(f"{answer.status_code} {answer.text.strip()[:2000]}")
    return 0 if 200 <= answer.status_code < 300 else 1


if __name__ == "__main__":
    raise SystemExit(main())
