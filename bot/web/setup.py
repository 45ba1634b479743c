"""Registering the GitHub App by GitHub's manifest flow (Probot's convention), while none is set.

1. `GET /setup` shows a form that POSTs `manifest` (app.yaml, with this server's webhook and
   callback URLs from `REVIEWGATE_PUBLIC_URL`) to `REVIEWGATE_GITHUB_URL/settings/apps/new`
   (or an organisation's) with a `state` made here (`bot.store.setup_states`).
2. GitHub registers the App and sends the browser to `/setup/callback?code=...&state=...`.
3. The callback checks the state before anything else (unknown, used, expired or from another
   browser: 400, and the code is never sent), exchanges the code
   (`POST /app-manifests/{code}/conversions`), writes the key (0600, in the data directory) and
   `.env` (0600, atomically), and hands the new settings to the runtime: the App works at
   once, without a restart. Once an App is configured, both pages answer 404.
"""

from __future__ import annotations

import copy
import hmac
import json
import logging
import os
import re
import secrets
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import requests
import yaml
from flask import Blueprint, Response, abort, current_app, request
from pydantic import SecretStr

from bot.env_file import update_env_file, write_private
from bot.runtime import Runtime
from bot.settings import ConfigurationError, Settings
from bot.store import setup_states
from bot.web.setup_page import done_page, problem_page, security_policy, setup_page

log = logging.getLogger(__name__)

bp = Blueprint("setup", __name__)

MANIFEST_FILE = Path(__file__).resolve().parents[2] / "app.yaml"
COOKIE = "reviewgate_setup"
KEY_FILE = "github-app.private-key.pem"
# GitHub's rule for account names (an organisation's login).
ORG_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
# GitHub's codes are short hex strings; anything else is not worth sending.
CODE = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
# One registration at a time in this process: a second callback finds the App set and stops.
_registering = threading.Lock()


class ConversionFailed(RuntimeError):
    """GitHub did not turn the code into an App; the message is safe to show."""


@dataclass(frozen=True)
class RegisteredApp:
    """What `POST /app-manifests/{code}/conversions` answers that we keep."""

    id: int
    slug: str
    name: str
    pem: str
    webhook_secret: str
    html_url: str
    client_id: str | None
    client_secret: str | None


def manifest(base: Mapping[str, Any], public_url: str) -> dict[str, Any]:
    """app.yaml's manifest with this server's addresses: the webhook, the flow's redirect and
    the OAuth sign-in callback."""
    result = copy.deepcopy(dict(base))
    hook = dict(result.get("hook_attributes") or {})
    hook["url"] = f"{public_url}/webhook"
    hook.setdefault("active", True)
    result["hook_attributes"] = hook
    result["redirect_url"] = f"{public_url}/setup/callback"
    result["callback_urls"] = [f"{public_url}/login/callback"]
    return result


def registration_url(github_url: str, org: str | None, state: str) -> str:
    path = f"/organizations/{quote(org, safe='')}/settings/apps/new" if org else "/settings/apps/new"
    return f"{github_url}{path}?{urlencode({'state': state})}"


def parse_conversion(data: Any) -> RegisteredApp:
    """The conversion's answer, checked field by field."""
    if not isinstance(data, dict):
        raise ConversionFailed("GitHub's answer is not a JSON object")

    def text(name: str, *, required: bool = True) -> str | None:
        value = data.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value or len(value) > 10_000:
            raise ConversionFailed(f"GitHub's answer has no usable {name!r}")
        return value

    app_id = data.get("id")
    if not isinstance(app_id, int) or isinstance(app_id, bool) or app_id <= 0:
        raise ConversionFailed("GitHub's answer has no usable 'id'")
    html_url = text("html_url") or ""
    if urlsplit(html_url).scheme not in {"http", "https"}:
        raise ConversionFailed("GitHub's answer has no usable 'html_url'")
    return RegisteredApp(
        id=app_id, slug=text("slug") or "", name=text("name", required=False) or "", pem=text("pem") or "",
        webhook_secret=text("webhook_secret") or "", html_url=html_url.rstrip("/"),
        client_id=text("client_id", required=False), client_secret=text("client_secret", required=False),
    )


def convert(settings: Settings, code: str) -> RegisteredApp:
    url = f"{settings.github_api_url}/app-manifests/{quote(code, safe='')}/conversions"
    try:
        answer = requests.post(
            url, timeout=settings.github_timeout, allow_redirects=False,
            headers={"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28",
                     "User-Agent": "reviewgate-setup"},
        )
    except requests.RequestException as exc:
        raise ConversionFailed(f"could not reach GitHub ({type(exc).__name__})") from None
    if answer.status_code != 201:
        raise ConversionFailed(
            f"GitHub answered {answer.status_code} to the code (a code works once, within an hour)"
        )
    try:
        data = answer.json()
    except ValueError:
        raise ConversionFailed("GitHub's answer is not JSON") from None
    return parse_conversion(data)


def _runtime() -> Runtime:
    rt: Runtime = current_app.extensions["reviewgate"]
    return rt


def _html(body: str, status: int, settings: Settings) -> Response:
    response = Response(body, status=status, mimetype="text/html")
    response.headers["Content-Security-Policy"] = security_policy(settings.github_url)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


def _problem(settings: Settings, status: int, title: str, message: str, retry: str | None = None) -> Response:
    return _html(problem_page(title, message, retry=retry), status, settings)


@bp.get("/setup")
def setup() -> Response:
    rt = _runtime()
    settings = rt.settings
    if settings.app_configured:
        abort(404)
    token = request.args.get("token", "")
    if not hmac.compare_digest(token.encode(), settings.setup_token().encode()):
        abort(404)  # the link printed at start carries it; without it the page does not exist
    org = request.args.get("org", "").strip() or None
    if org is not None and not ORG_NAME.match(org):
        return _problem(settings, 400, "Not an organisation name", "An organisation's name has letters, digits "
                        "and single hyphens, at most 39 characters.", retry=f"/setup?token={token}")
    try:
        base = yaml.safe_load(MANIFEST_FILE.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        log.error("cannot read the App manifest %s: %s", MANIFEST_FILE, exc)
        return _problem(settings, 500, "No manifest", "The App manifest (app.yaml) could not be read.")
    nonce = request.cookies.get(COOKIE)
    if not setup_states.well_formed(nonce):
        nonce = secrets.token_urlsafe(32)
    assert nonce is not None
    state = setup_states.issue(rt.db, nonce)
    wanted = manifest(base, settings.public_url)
    body = setup_page(
        manifest=wanted, manifest_json=json.dumps(wanted), action=registration_url(settings.github_url, org, state),
        org=org, setup_path="/setup", token=token, github_host=urlsplit(settings.github_url).netloc,
    )
    response = _html(body, 200, settings)
    # Lax: sent on GitHub's redirect back (a top-level GET), never on cross-site posts.
    response.set_cookie(
        COOKIE, nonce, max_age=int(setup_states.LIFETIME.total_seconds()), path="/setup", httponly=True,
        samesite="Lax", secure=settings.public_url.startswith("https://"),
    )
    return response


@bp.get("/setup/callback")
def callback() -> Response:
    rt = _runtime()
    settings = rt.settings
    if settings.app_configured:
        abort(404)
    if not setup_states.consume(rt.db, request.args.get("state"), request.cookies.get(COOKIE)):
        log.warning("setup callback refused: its state is unknown, used, expired or from another browser")
        return _problem(
            settings, 400, "This registration cannot be completed",
            "The link's state is not one this server handed to this browser in the last hour, or it "
            "was used already. Nothing was sent to GitHub. Open the /setup link the server printed at start "
            "in this browser and register again.",
        )
    code = request.args.get("code")
    if code is None or not CODE.match(code):
        return _problem(settings, 400, "No code", "GitHub's redirect carries no usable code.")
    with _registering:
        settings = rt.settings
        if settings.app_configured:
            abort(404)  # another registration finished first
        try:
            app = convert(settings, code)
        except ConversionFailed as exc:
            log.warning("setup: the App could not be registered: %s", exc)
            return _problem(settings, 502, "GitHub did not complete the registration", str(exc))
        try:
            key_file, warnings = _adopt(rt, settings, app)
        except (OSError, ConfigurationError, ValueError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            log.error("setup: the App %s is registered on GitHub but could not be stored: %s", app.slug, reason)
            return _problem(
                settings, 500, "The App could not be stored",
                f"GitHub registered the App ({app.html_url}), but this server could not keep its "
                f"credentials: {reason}. Delete that App in GitHub's settings, fix the cause, and register again.",
            )
    log.info("setup: registered the GitHub App %s (id %d); the server uses it from now on", app.slug, app.id)
    return _html(
        done_page(
            name=app.name or app.slug, app_id=app.id, env_file=str(rt.env_file), key_file=str(key_file),
            install_url=f"{app.html_url}/installations/new", warnings=warnings,
        ),
        200, settings,
    )


def _adopt(rt: Runtime, settings: Settings, app: RegisteredApp) -> tuple[Path, list[str]]:
    """Keep the App's credentials (key file, `.env`) and switch the runtime to them."""
    key_file = (settings.data_dir / KEY_FILE).resolve()
    client_secret = SecretStr(app.client_secret) if app.client_secret else None
    adopted = settings.with_values(
        app_id=app.id, private_key=None, private_key_path=key_file, webhook_secret=SecretStr(app.webhook_secret),
        client_id=app.client_id, client_secret=client_secret,
    )
    # Checked before anything is written: the key is read from the answer, not the file.
    settings.with_values(app_id=app.id, private_key=SecretStr(app.pem)).check_github_app()
    key_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    write_private(key_file, app.pem)
    values: dict[str, str | None] = {
        "REVIEWGATE_APP_ID": str(app.id),
        "REVIEWGATE_PRIVATE_KEY_PATH": str(key_file),
        # A key given inline would win over the file.
        "REVIEWGATE_PRIVATE_KEY": None,
        # The App's own secret replaces the one `make run` made up.
        "REVIEWGATE_WEBHOOK_SECRET": app.webhook_secret,
        "REVIEWGATE_CLIENT_ID": app.client_id,
        "REVIEWGATE_CLIENT_SECRET": app.client_secret,
    }
    update_env_file(rt.env_file, values)
    rt.reconfigure(adopted)
    # The environment wins over .env at the next start: say which names would undo this.
    overriding = sorted(name for name in values if name in os.environ)
    warnings = [
        f"{name} is set in this server's environment, which wins over .env at the next start: "
        "remove it there." for name in overriding
    ]
    return key_file, warnings
