"""Sign-in with GitHub for the pages: the App's OAuth web flow, sessions, CSRF, and who may see what.

A user sees a repository's pages only if GitHub, asked with their own token, shows them that
repository (`GET /repos/{owner}/{repo}`: GitHub answers 404 for one they may not read); the
answer is reused for `access_cache_seconds`. `/status` and the audit export need an admin of
an installation's account (the account itself, or an admin of that organisation), or the
bearer `REVIEWGATE_ADMIN_TOKEN`.

The session cookie is Flask's, signed with `Settings.session_key()`: `HttpOnly`,
`SameSite=Lax`, `Secure` when the public URL is https. It holds a random session id and the
CSRF token; the user's GitHub token stays in the database (`web_sessions`).
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import requests
from flask import (
    Blueprint,
    Flask,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
)
from werkzeug.wrappers.response import Response as BaseResponse

from bot.runtime import Runtime
from bot.settings import Settings
from bot.store import pages as store

log = logging.getLogger(__name__)

bp = Blueprint("signin", __name__)

SESSION_DAYS = 7
_TIMEOUT = 10


class TokenRefused(RuntimeError):
    """GitHub no longer accepts the user's token (it expired or was revoked): sign in again."""


class GitHubUnavailable(RuntimeError):
    """GitHub did not answer a question about access; the page answers 503, never a guess."""


@dataclass(frozen=True)
class User:
    login: str
    token: str  # the user's GitHub token ("" for the admin bearer)
    bearer: bool = False


def configure(app: Flask, settings: Settings) -> None:
    app.secret_key = settings.session_key()
    app.config.update(
        SESSION_COOKIE_NAME="reviewgate_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.public_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=timedelta(days=SESSION_DAYS),
    )
    app.extensions["reviewgate.access"] = AccessCache(settings.access_cache_seconds)


def _rt() -> Runtime:
    rt: Runtime = current_app.extensions["reviewgate"]
    return rt


# -- CSRF -----------------------------------------------------------------------------------------


def csrf_token() -> str:
    token = session.get("csrf")
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def check_csrf() -> None:
    """Every POST of the pages carries the session's CSRF token as `csrf`; else 400."""
    sent = request.form.get("csrf", "")
    expected = session.get("csrf")
    if not isinstance(expected, str) or not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
        abort(400, "The form's CSRF token is missing or wrong: reload the page and try again.")


# -- who is asking --------------------------------------------------------------------------------


def current_user() -> User | None:
    if "user" in g:
        user: User | None = g.user
        return user
    user = None
    settings = _rt().settings
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value:
        wanted = settings.admin_token.get_secret_value() if settings.admin_token is not None else ""
        if not wanted or not hmac.compare_digest(value.strip().encode(), wanted.encode()):
            abort(401)
        user = User("admin token", "", bearer=True)
    else:
        sid = session.get("sid")
        if isinstance(sid, str) and sid:
            found = store.find_session(_rt().db, sid)
            if found is not None:
                user = User(*found)
    g.user = user
    return user


class AccessCache:
    """GitHub's answers about one user's access, for a few minutes."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._answers: dict[tuple[str, str, str], tuple[float, bool]] = {}
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str, str], ask: Callable[[], bool]) -> bool:
        now = time.monotonic()
        with self._lock:
            hit = self._answers.get(key)
            if hit is not None and now - hit[0] < self.ttl:
                return hit[1]
        answer = ask()
        with self._lock:
            if len(self._answers) > 10_000:
                self._answers.clear()
            self._answers[key] = (now, answer)
        return answer


def _api(settings: Settings, token: str, path: str) -> requests.Response:
    try:
        return requests.get(
            f"{settings.github_api_url.rstrip('/')}{path}",
            headers={"Authorization": f"Bearer {token}", "Accept": "application/vnd.github+json",
                     "X-GitHub-Api-Version": "2022-11-28"},
            timeout=_TIMEOUT,
        )
    except requests.RequestException as exc:
        raise GitHubUnavailable(type(exc).__name__) from None


def _cached(kind: str, user: User, subject: str, ask: Callable[[], bool]) -> bool:
    cache: AccessCache = current_app.extensions["reviewgate.access"]
    return cache.get((kind, user.login.casefold(), subject.casefold()), ask)


def _granted(user: User, path: str, ok: Callable[[requests.Response], bool]) -> bool:
    """Ask GitHub `path` with the user's own token: `ok(answer)` on a 200, no on a 403 or
    404; a refused token or any other answer raises."""
    answer = _api(_rt().settings, user.token, path)
    if answer.status_code == 200:
        return ok(answer)
    if answer.status_code == 401:
        raise TokenRefused(user.login)
    if answer.status_code in (403, 404):
        return False
    raise GitHubUnavailable(f"GitHub answered {answer.status_code}")


def can_read(user: User, repo: str) -> bool:
    if user.bearer:
        return True

    def ask() -> bool:
        return _granted(user, f"/repos/{repo}", lambda answer: True)

    return _cached("read", user, repo, ask)


def is_admin_of(user: User, account: str) -> bool:
    """The account's own user, or an active admin of that organisation."""
    if user.bearer:
        return True
    if user.login.casefold() == account.casefold():
        return True

    def ask() -> bool:
        def active_admin(answer: requests.Response) -> bool:
            data = answer.json()
            return bool(data.get("state") == "active" and data.get("role") == "admin")

        return _granted(user, f"/user/memberships/orgs/{account}", active_admin)

    return _cached("admin", user, account, ask)


def administered(user: User) -> set[str] | None:
    """The accounts (casefolded) this user administers among those the bot knows; None: all."""
    if user.bearer:
        return None
    return {a.casefold() for a in store.accounts(_rt().db) if is_admin_of(user, a)}


def forget_session() -> None:
    sid = session.get("sid")
    if isinstance(sid, str) and sid:
        store.close_session(_rt().db, sid)
    session.clear()


def sign_in_redirect() -> BaseResponse:
    return redirect(f"/login?{urlencode({'next': request.full_path.rstrip('?')})}")


def local_path(target: str | None) -> str:
    """Only a path of this site: an absolute or scheme-relative URL would redirect anywhere."""
    # Browsers drop tabs and line breaks from a URL ("/\t/evil.example" is "//evil.example")
    # and read "\\" as "/": a path with either, or starting "//", could lead off the site.
    if (
        not target or not target.startswith("/") or target.startswith("//") or "\\" in target
        or any(ord(c) < 0x21 or c == "\x7f" for c in target)
    ):
        return "/status"
    return target


# -- the OAuth web flow ---------------------------------------------------------------------------


@bp.get("/login")
def login() -> BaseResponse:
    settings = _rt().settings
    if not settings.client_id or settings.client_secret is None:
        abort(503, "Sign-in is not configured: set REVIEWGATE_CLIENT_ID and REVIEWGATE_CLIENT_SECRET.")
    state = secrets.token_urlsafe(24)
    session["oauth_state"] = state
    session["next"] = local_path(request.args.get("next"))
    query = urlencode({
        "client_id": settings.client_id,
        "redirect_uri": f"{settings.public_url.rstrip('/')}/login/callback",
        "state": state,
    })
    return redirect(f"{settings.github_url.rstrip('/')}/login/oauth/authorize?{query}")


@bp.get("/login/callback")
def callback() -> BaseResponse:
    settings = _rt().settings
    state = session.pop("oauth_state", None)
    sent = request.args.get("state", "")
    if not isinstance(state, str) or not state or not hmac.compare_digest(sent.encode(), state.encode()):
        abort(400, "This sign-in link is stale or was not started here: sign in again.")
    code = request.args.get("code", "")
    if not code or settings.client_secret is None:
        abort(400, "GitHub sent no authorization code.")
    token, lifetime = _exchange(settings, code)
    answer = _api(settings, token, "/user")
    if answer.status_code != 200:
        abort(502, "GitHub did not say who signed in.")
    login_name = str(answer.json().get("login", ""))
    if not login_name:
        abort(502, "GitHub did not say who signed in.")
    sid = secrets.token_urlsafe(32)
    store.open_session(_rt().db, sid, login_name, token, lifetime)
    target = local_path(session.pop("next", None))
    session.clear()  # a new session id and CSRF token after signing in
    session.permanent = True
    session["sid"] = sid
    log.info("pages: %s signed in", login_name)
    return redirect(target)


def _exchange(settings: Settings, code: str) -> tuple[str, timedelta]:
    """The user's token, and how long the session may use it: GitHub's `expires_in` (eight
    hours for an App's user tokens that expire), at most SESSION_DAYS."""
    secret = settings.client_secret.get_secret_value() if settings.client_secret is not None else ""
    try:
        answer = requests.post(
            f"{settings.github_url.rstrip('/')}/login/oauth/access_token",
            data={"client_id": settings.client_id, "client_secret": secret, "code": code,
                  "redirect_uri": f"{settings.public_url.rstrip('/')}/login/callback"},
            headers={"Accept": "application/json"},
            timeout=_TIMEOUT,
        )
    except requests.RequestException:
        abort(502, "GitHub could not be reached to finish signing in.")
    data: dict[str, Any] = answer.json() if answer.headers.get("Content-Type", "").startswith("application/json") else {}
    token = data.get("access_token")
    if answer.status_code != 200 or not isinstance(token, str) or not token:
        # GitHub answers 200 with {"error": "bad_verification_code", ...} for a used or wrong code.
        abort(400, "GitHub refused the sign-in code: sign in again.")
    lifetime = timedelta(days=SESSION_DAYS)
    expires_in = data.get("expires_in")
    if isinstance(expires_in, int) and expires_in > 0:
        lifetime = min(lifetime, timedelta(seconds=expires_in))
    return token, lifetime


@bp.post("/logout")
def logout() -> BaseResponse:
    check_csrf()
    forget_session()
    return redirect("/login/done")


@bp.get("/login/done")
def signed_out() -> tuple[str, int]:
    return render_template("message.html", title="Signed out", message="You are signed out."), 200
