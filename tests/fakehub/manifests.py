"""GitHub's App manifest flow, as the fake serves it.

GitHub's side of the flow has a web part and an API part:
- `POST /settings/apps/new?state=S` (or `/organizations/ORG/settings/apps/new?state=S`) with a
  form field `manifest` (JSON): GitHub shows the registration page; once the person confirms,
  it redirects the browser to the manifest's `redirect_url` with `?code=C&state=S`. The fake
  confirms at once, with a 302.
- `POST /app-manifests/{code}/conversions` (no authentication): the App's `id`, `slug`, `pem`,
  `webhook_secret`, `client_id`, `client_secret` and `html_url`, 201. A code works once and
  for one hour ("You must complete all three steps ... within one hour"); else 404.

The App created is the hub's own (its id and key), so the credentials the conversion hands
out work against the rest of the fake; its webhook secret is a new one, which becomes
`hub.webhook_secret` (GitHub signs deliveries with the App's secret).
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode, urlsplit

from flask import Flask, Response, request

from . import openapi
from .shapes import error

if TYPE_CHECKING:
    from .hub import FakeHub

CODE_LIFETIME = 3600.0
# GitHub's rule for account names, which is what an organisation's URL segment is.
ORG_NAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")


def _problem(text: str, status: int = 422) -> Response:
    return Response(text, status=status, mimetype="text/plain")


def register(app: Flask, hub: FakeHub, respond: Callable[..., Response]) -> None:
    def new_app(org: str | None) -> Response:
        if org is not None and not ORG_NAME.match(org):
            return _problem("Not Found", 404)
        raw = request.form.get("manifest")
        if raw is None:
            return _problem("manifest: missing")
        try:
            manifest = json.loads(raw)
        except ValueError:
            return _problem("manifest: not JSON")
        if not isinstance(manifest, dict):
            return _problem("manifest: not a JSON object")
        problems = _check_manifest(manifest)
        if problems:
            return _problem("\n".join(problems))
        code = secrets.token_hex(10)
        with hub.locked():
            hub.manifest_codes[code] = {"manifest": manifest, "org": org, "issued": time.monotonic()}
        query = {"code": code}
        state = request.args.get("state")
        if state is not None:
            query["state"] = state
        target = str(manifest["redirect_url"])
        separator = "&" if urlsplit(target).query else "?"
        return Response(status=302, headers={"Location": f"{target}{separator}{urlencode(query)}"})

    app.add_url_rule("/settings/apps/new", "manifest_new_app", lambda: new_app(None), methods=["POST"])
    app.add_url_rule(
        "/organizations/<org>/settings/apps/new", "manifest_new_org_app", lambda org: new_app(org), methods=["POST"]
    )

    def conversion(code: str) -> Response:
        with hub.locked():
            pending = hub.manifest_codes.pop(code, None)
            if pending is None or time.monotonic() - pending["issued"] > CODE_LIFETIME:
                return respond(error("Not Found", 404), 404)
            manifest = pending["manifest"]
            secret = secrets.token_hex(20)
            hub.webhook_secret = secret
            hub.registered_manifests.append({**manifest, "_org": pending["org"]})
            body = openapi.example("apps/create-from-manifest", "201")
            body.update(
                id=hub.app_id,
                slug=hub.app_slug,
                name=str(manifest.get("name") or hub.app_slug),
                description=str(manifest.get("description") or ""),
                external_url=str(manifest["url"]),
                html_url=f"{hub.url}/apps/{hub.app_slug}",
                permissions={k: v for k, v in (manifest.get("default_permissions") or {}).items()},
                events=list(manifest.get("default_events") or []),
                client_id=f"Iv1.{secrets.token_hex(8)}",
                client_secret=secrets.token_hex(20),
                webhook_secret=secret,
                pem=hub.private_key_pem,
            )
            body["owner"] = hub.shapes.user(pending["org"] or "octocat", "Organization" if pending["org"] else "User")
        return respond(body, 201)

    app.add_url_rule("/app-manifests/<code>/conversions", "manifest_conversion", conversion, methods=["POST"])

    def install_page(slug: str) -> Response:
        if slug != hub.app_slug:
            return _problem("Not Found", 404)
        return Response("<!doctype html><title>Install</title><p>Install the App</p>", mimetype="text/html")

    app.add_url_rule("/apps/<slug>/installations/new", "manifest_install_page", install_page)


def _check_manifest(manifest: dict[str, Any]) -> list[str]:
    """What GitHub refuses in a manifest: `url` is required, and the URLs must be URLs."""
    problems = []

    def url(value: Any, name: str) -> None:
        if not isinstance(value, str) or urlsplit(value).scheme not in {"http", "https"} or not urlsplit(value).netloc:
            problems.append(f"{name}: not a URL")

    url(manifest.get("url"), "url")
    url(manifest.get("redirect_url"), "redirect_url")
    hook = manifest.get("hook_attributes")
    if hook is not None:
        if not isinstance(hook, dict):
            problems.append("hook_attributes: not an object")
        elif hook.get("active", True):
            url(hook.get("url"), "hook_attributes.url")
    for name in ("default_events", "callback_urls"):
        if name in manifest and not (
            isinstance(manifest[name], list) and all(isinstance(e, str) for e in manifest[name])
        ):
            problems.append(f"{name}: not a list of strings")
    permissions = manifest.get("default_permissions")
    if permissions is not None and not (
        isinstance(permissions, dict) and all(v in {"read", "write", "admin"} for v in permissions.values())
    ):
        problems.append("default_permissions: not a map of read/write")
    return problems
