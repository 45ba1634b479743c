"""The pages people look at: a pull request's gate page, the operator's /status, the audit export.

Server-rendered (Jinja2, autoescaped), no script. Who may see what is `bot.web.signin`'s: a
repository's pages answer 404 to whoever may not read it, whether or not the bot knows it.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from importlib import metadata
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    stream_with_context,
)
from flask.blueprints import BlueprintSetupState
from werkzeug.wrappers.response import Response as BaseResponse

import rules
from bot.metrics import rate_limit_readings
from bot.runtime import Runtime
from bot.settings import ConfigurationError
from bot.store import pages as store
from bot.store import pull_state
from bot.store.db import utcnow
from bot.store.pull_state import Owed
from bot.web import charts, signin
from bot.web.inline import quoted, to_html, visible

log = logging.getLogger(__name__)

bp = Blueprint(
    "pages", __name__, template_folder="templates", static_folder="static", static_url_path="/pages-static"
)

# No script runs on these pages, and nothing of another origin is loaded or framed.
_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self' {github}; "
    "frame-ancestors 'none'; base-uri 'none'"
)

# GitHub's own rules for the names in a page's path: anything else is no repository.
_OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
_REPO = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


def _rt() -> Runtime:
    rt: Runtime = current_app.extensions["reviewgate"]
    return rt


@bp.app_context_processor
def _helpers() -> dict[str, Any]:
    return {"csrf_token": signin.csrf_token, "md": to_html, "quoted": quoted, "short": lambda sha: (sha or "")[:7]}


@bp.record_once
def _finalize(state: BlueprintSetupState) -> None:
    # Every value a template prints goes through this before it is escaped.
    state.app.jinja_env.finalize = lambda value: visible(value) if type(value) is str else value


@bp.app_errorhandler(signin.GitHubUnavailable)
def _github_down(exc: signin.GitHubUnavailable) -> tuple[str, int]:
    log.warning("pages: GitHub could not say who may see a page: %s", exc)
    return render_template("message.html", title="GitHub is unavailable",
                           message="GitHub did not answer whether you may see this page. Try again shortly."), 503


@bp.after_app_request
def _headers(response: Response) -> BaseResponse:
    if response.mimetype == "text/html":
        github = _rt().settings.github_url.rstrip("/")
        response.headers.setdefault("Content-Security-Policy", _POLICY.format(github=github))
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


@bp.app_errorhandler(signin.TokenRefused)
def _token_refused(_exc: signin.TokenRefused) -> BaseResponse:
    signin.forget_session()
    return signin.sign_in_redirect()


def _user_or_login() -> signin.User | BaseResponse:
    user = signin.current_user()
    return user if user is not None else signin.sign_in_redirect()


# -- the gate page --------------------------------------------------------------------------------


@bp.get("/<owner>/<repo>/pull/<int:number>")
def gate_page(owner: str, repo: str, number: int) -> BaseResponse | str:
    if not _OWNER.match(owner) or not _REPO.match(repo) or repo in (".", ".."):
        abort(404)
    user = _user_or_login()
    if isinstance(user, BaseResponse):
        return user
    full_name = f"{owner}/{repo}"
    if not signin.can_read(user, full_name):
        abort(404)
    record = store.pull_record(_rt().db, full_name, number)
    if record is None:
        abort(404)
    settings = _rt().settings
    data = record.data
    findings = data.get("findings", [])
    counted = {
        "errors": sum(1 for f in findings if f["severity"] == "error" and not f["suppressed"] and not f["waived_by"]),
        "waived": sum(1 for f in findings if f["waived_by"]),
        "suppressed": sum(1 for f in findings if f["suppressed"]),
    }
    waivers = [
        {"row": w, "covers": _covered(findings, w.pattern, w.by)} for w in record.waivers
    ]
    return render_template(
        "gate.html",
        user=user, repo=full_name, number=number, record=record, data=data, findings=findings,
        counted=counted, waivers=waivers, docs_url=settings.rules_docs_url, anchor=_anchor,
        github_pull=f"{settings.github_url.rstrip('/')}/{full_name}/pull/{number}",
    )


def _covered(findings: list[dict[str, Any]], pattern: str, by: str) -> list[dict[str, Any]]:
    return [f for f in findings if f["waived_by"] == [pattern, by]]


def _anchor(code: str, slug: str) -> str:
    rule = rules.rule_for(code)
    return rule.docs_anchor() if rule is not None else f"{code.lower()}-{slug}"


# -- /status --------------------------------------------------------------------------------------


def _admin() -> tuple[signin.User, set[str] | None] | BaseResponse:
    """The user and the accounts they administer (None: all); sign-in first; 403 otherwise."""
    user = _user_or_login()
    if isinstance(user, BaseResponse):
        return user
    accounts = signin.administered(user)
    if accounts is not None and not accounts:
        abort(403, "Only an admin of an account where the App is installed may see this page.")
    return user, accounts


@bp.get("/status")
def status() -> BaseResponse | str:
    allowed = _admin()
    if isinstance(allowed, BaseResponse):
        return allowed
    user, accounts = allowed
    rt = _rt()
    db = rt.db
    now = utcnow()
    repos = None if accounts is None else store.repos_of_accounts(db, accounts)
    try:
        depth: int | None = rt.queue.pending_count()
        scheduled: int | None = rt.queue.scheduled_count()
    except Exception:  # the page still shows the rest; the queue's own state is the news
        log.exception("status: the queue could not be read")
        depth = scheduled = None
    owed_count, oldest = pull_state.owed_evaluations(db)
    deliveries = store.hourly_deliveries(db, now)
    latency = store.hourly_verdict_latency(db, now)
    marks = store.marks(db)
    return render_template(
        "status.html",
        user=user,
        depth=depth, scheduled=scheduled, owed_count=owed_count, oldest=oldest,
        by_outcome=store.deliveries_by_outcome(db, now - timedelta(hours=1)),
        troubles=store.troubles(db, repos),
        failed_jobs=store.failed_job_count(db, now - timedelta(hours=24)),
        rate_limits=sorted(rate_limit_readings().items()),
        reconcile=marks.get("reconcile"),
        version=_version(), uptime=_duration(time.monotonic() - rt.started), now=now,
        deliveries_chart=charts.bars(deliveries, "Deliveries per hour over the last 24 hours", "deliveries"),
        deliveries_total=sum(deliveries),
        latency_chart=charts.bars(
            latency, "Slowest verdict per hour over the last 24 hours, seconds from delivery to verdict", "s"
        ),
        latency_worst=max((v for v in latency if v is not None), default=None),
        ago=lambda moment: _duration((now - moment).total_seconds()),
    )


@bp.post("/status/retry")
def retry() -> BaseResponse:
    signin.check_csrf()
    allowed = _admin()
    if isinstance(allowed, BaseResponse):
        return allowed
    _user, accounts = allowed
    repo = request.form.get("repo", "")
    try:
        number = int(request.form.get("number", ""))
    except ValueError:
        abort(400, "No pull request named.")
    if "/" not in repo or (accounts is not None and repo.split("/", 1)[0].casefold() not in accounts):
        abort(404)
    rt = _rt()
    installation_id = store.installation_of(rt.db, repo)
    if installation_id is None:
        abort(404)
    with rt.db.session() as session:
        seq = pull_state.owe(session, repo, number, installation_id, "retry")
    if seq is None:
        # A job is recorded as waiting, but an operator retries what looks stuck: that job may
        # have been lost with a queue. A second one is harmless (it finds nothing left to do).
        seq = pull_state.wanted(rt.db, repo, number)
    try:
        rt.queue.enqueue_evaluation(Owed(repo, number, installation_id, None, seq, "retry"))
    except Exception:
        pull_state.unqueue(rt.db, [(repo, number)])
        log.exception("status: could not queue the retry of %s#%s", repo, number)
        abort(503, "The queue refused the job; the evaluation stays owed.")
    log.info("status: evaluation of %s#%s queued again by hand", repo, number)
    return redirect("/status?retried=" + f"{repo}%23{number}", code=303)


def _version() -> str:
    try:
        return metadata.version("reviewgate")
    except metadata.PackageNotFoundError:
        return rules.__version__


def _duration(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 120:
        return f"{seconds} s"
    if seconds < 7200:
        return f"{seconds // 60} min"
    if seconds < 172800:
        return f"{seconds // 3600} h"
    return f"{seconds // 86400} days"


# -- the audit export -----------------------------------------------------------------------------


def _when(name: str) -> datetime | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        abort(400, f"{name}: a date (2026-01-31) or a time with its offset (2026-01-31T12:00:00+00:00)")
    if moment.tzinfo is None:
        if len(raw) > 10:
            abort(400, f"{name}: give a time with its UTC offset, or a date")
        moment = moment.replace(tzinfo=UTC)  # a date alone: midnight UTC
    return moment


def _audit_rows() -> Iterator[dict[str, Any]] | BaseResponse:
    allowed = _admin()
    if isinstance(allowed, BaseResponse):
        return allowed
    _user, accounts = allowed
    repo = request.args.get("repo", "").strip() or None
    if repo is not None and accounts is not None and repo.split("/", 1)[0].casefold() not in accounts:
        abort(404)
    repos = None if accounts is None else store.repos_of_accounts(_rt().db, accounts)
    return store.audit_rows(_rt().db, repos, repo, _when("since"), _when("until"))


# A spreadsheet runs a cell that starts with one of these as a formula.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_FORMULA):
        return "'" + value
    return value


@bp.get("/audit.csv")
def audit_csv() -> BaseResponse:
    rows = _audit_rows()
    if isinstance(rows, BaseResponse):
        return rows

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(store.AUDIT_FIELDS)
        for row in rows:
            writer.writerow([_cell(row[k]) for k in store.AUDIT_FIELDS])
            if buffer.tell() > 64 * 1024:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return Response(
        stream_with_context(lines()), mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="reviewgate-audit.csv"',
                 "X-Content-Type-Options": "nosniff"},
    )


@bp.get("/audit.json")
def audit_json() -> BaseResponse:
    rows = _audit_rows()
    if isinstance(rows, BaseResponse):
        return rows

    def chunks() -> Iterator[str]:
        yield "["
        first = True
        for row in rows:
            yield ("" if first else ",\n") + json.dumps(row, ensure_ascii=True)
            first = False
        yield "]\n"

    return Response(stream_with_context(chunks()), mimetype="application/json",
                    headers={"X-Content-Type-Options": "nosniff"})



# -- the dry run ----------------------------------------------------------------------------------


@bp.get("/api/simulate/<owner>/<repo>/<int:number>")
def simulate_api(owner: str, repo: str, number: int) -> tuple[Response, int]:
    """The verdict the pull request would get now (`?approve=LOGIN`, repeatable, adds approvals
    of the head); nothing is written to GitHub. For an admin of the repository's account or the
    admin token's bearer; a request that is neither gets 401 or 403, whoever it is."""
    user = signin.current_user()
    if user is None:
        return _api_error("sign in, or send the admin token as a bearer", 401)
    accounts = signin.administered(user)
    if accounts is not None and owner.casefold() not in accounts:
        return _api_error("only an admin of the repository's account may simulate", 403)
    if not _OWNER.match(owner) or not _REPO.match(repo):
        return _api_error("no such pull request", 404)
    rt = _rt()
    try:
        rt.settings.check_github_app()
    except ConfigurationError:
        return _api_error("the GitHub App is not configured", 503)
    # The entry point provides the dry run (a job's work, which the web layer does not import).
    run: Callable[[str, int, list[str]], tuple[int, dict[str, Any]]] = current_app.extensions["reviewgate.simulate"]
    status, body = run(f"{owner}/{repo}", number, request.args.getlist("approve"))
    return _json(body), status


def _api_error(message: str, status: int) -> tuple[Response, int]:
    return _json({"error": message}), status


def _json(body: Any) -> Response:
    return Response(json.dumps(body, ensure_ascii=True), mimetype="application/json",
                    headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"})
