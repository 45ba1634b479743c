"""The HTTP side of FakeHub: GitHub's REST endpoints, authentication, faults and the log."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import jwt
from flask import Flask, Response, g, request
from werkzeug.exceptions import HTTPException

from . import manifests, openapi
from .model import LoggedRequest, commentable_lines
from .shapes import error, stable_id

if TYPE_CHECKING:
    from .hub import FakeHub

REACTIONS = {"+1", "-1", "laugh", "confused", "heart", "hooray", "rocket", "eyes"}
LEVELS = {"notice", "warning", "failure"}
MAX_ANNOTATIONS = 50
MAX_PULL_COMMITS = 250  # "Lists a maximum of 250 commits for a pull request" (GitHub's REST docs)
MAX_COMMENT_BODY = 65_536  # "Body is too long (maximum is 65536 characters)"
MAX_OUTPUT_TEXT = 65_535  # a check run's output.summary and output.text
# `Accept: application/vnd.github.raw+json` (or the older `application/vnd.github.raw`).
RAW_MEDIA_TYPE = "application/vnd.github.raw"
RAW_PIECE = 64 * 1024


class ApiError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.body = error(message, status, **extra)
        self.headers = headers or {}


def not_found() -> ApiError:
    return ApiError(404, "Not Found")


def invalid(message: str, **extra: Any) -> ApiError:
    return ApiError(422, message, **extra)


def build_app(hub: FakeHub) -> Flask:
    app = Flask("fakehub")
    app.json.sort_keys = False  # type: ignore[attr-defined]

    def respond(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
        text = "" if body is None else json.dumps(body)
        response = Response(text, status=status, mimetype="application/json")
        response.headers["X-GitHub-Media-Type"] = "github.v3; format=json"
        for key, value in (headers or {}).items():
            response.headers[key] = value
        return response

    # -- plumbing ---------------------------------------------------------------------------------
    @app.before_request
    def before() -> Response | None:
        g.entry = LoggedRequest(
            method=request.method,
            path=request.path,
            query={k: v for k, v in request.args.items()},
            status=0,
            json_body=None,
        )
        hub.log(g.entry)
        # A browser's form post (the App manifest flow's web side, OAuth) is a form, not JSON.
        form = request.mimetype == "application/x-www-form-urlencoded"
        raw = b"" if form else request.get_data(cache=True)
        if form:
            g.entry.json_body = dict(request.form)
        elif raw and not request.path.startswith("/login/"):
            try:
                g.entry.json_body = json.loads(raw)
            except ValueError:
                g.entry.json_body = raw.decode("utf-8", "replace")
                return respond(error("Problems parsing JSON", 400), 400)
        if request.method == "GET" and "/git/blobs/" in request.path:
            with hub.locked():
                if request.path.rsplit("/", 1)[-1] in hub.config_blobs:
                    hub.config_blob_fetches += 1
                else:
                    hub.blob_fetches += 1
        g.hold = hub.take_hold(request.method, request.path)
        fault = hub.take_fault(request.method, request.path)
        if fault is None:
            return None
        if fault.served:
            g.lost = fault
            return None
        if fault.delay:
            hub.wait(fault.delay)
        if fault.status is None or fault.status < 400:
            return None
        return respond(fault.body if fault.body is not None else fault_body(fault.status, fault.headers),
                       fault.status, fault.headers)

    def fault_body(status: int, headers: dict[str, str]) -> dict[str, Any]:
        if status == 403 and "Retry-After" in headers:
            return error("You have exceeded a secondary rate limit. Please wait a few minutes before you try again.", 403)
        if status == 403 and headers.get("X-RateLimit-Remaining") == "0":
            return error("API rate limit exceeded for installation ID 42.", 403)
        messages = {
            401: "Bad credentials",
            403: "Resource not accessible by integration",
            404: "Not Found",
            422: "Validation Failed",
            500: "Server Error",
            502: "Server Error",
            503: "Service Unavailable",
        }
        return error(messages.get(status, "Error"), status)

    @app.after_request
    def after(response: Response) -> Response:
        entry: LoggedRequest | None = g.get("entry")
        if (lost := g.get("lost")) is not None:  # served; now its answer is lost
            if lost.delay:
                hub.wait(lost.delay)
            if lost.status is not None:
                response = respond(lost.body if lost.body is not None else fault_body(lost.status, lost.headers),
                                   lost.status, lost.headers)
        if request.method == "GET" and response.status_code == 200 and not response.is_streamed:
            response = conditional(response, entry)
        if entry is not None:
            entry.status = response.status_code
        if "X-RateLimit-Remaining" not in response.headers:
            response.headers["X-RateLimit-Limit"] = "5000"
            response.headers["X-RateLimit-Remaining"] = str(hub.rate_remaining)
            response.headers["X-RateLimit-Used"] = str(5000 - hub.rate_remaining)
            response.headers["X-RateLimit-Reset"] = str(hub.rate_reset)
            response.headers["X-RateLimit-Resource"] = "core"
        if hub.validate and response.mimetype == "application/json" and response.status_code != 204:
            validate_response(request.method, request.path, response)
        if (hold := g.get("hold")) is not None:
            hold.wait(60)
        return response

    def conditional(response: Response, entry: LoggedRequest | None) -> Response:
        """GitHub's conditional requests: an ETag on every answer, and ``304 Not Modified``
        (with no body, not counted against the rate limit) when ``If-None-Match`` names it."""
        digest = hashlib.sha256(response.get_data()).hexdigest()[:40]
        etag = f'W/"{digest}"'
        response.headers["ETag"] = etag
        asked = {tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")}
        if etag not in asked:
            return response
        if entry is not None and entry.auth == "token":
            with hub.locked():
                hub.rate_remaining = min(5000, hub.rate_remaining + 1)
        return Response(status=304, headers={"ETag": etag})

    def validate_response(method: str, path: str, response: Response) -> None:
        text = response.get_data(as_text=True)
        if not text:
            return
        body = json.loads(text)
        status = response.status_code
        template = openapi.operation_template(method, path)
        # GitHub's own discriminator cannot describe a directory listing (an array), a quirk
        # the shared README lists; such answers are counted as not validated.
        if template == "/repos/{owner}/{repo}/contents/{path}" and isinstance(body, list):
            covered, problems = False, list[str]()
        else:
            covered, problems = openapi.check_response(method, path, status, body)
        with hub.locked():
            if covered:
                hub.validated_responses += 1
                hub.schema_violations.extend(f"{method} {path} -> {status}: {p}" for p in problems)
            else:
                hub.unvalidated.add((method, template or path, status))

    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Response:
        return respond(exc.body, exc.status, exc.headers)

    @app.errorhandler(404)
    def unknown(_exc: Exception) -> Response:
        return respond(error("Not Found", 404), 404)

    @app.errorhandler(405)
    def wrong_method(_exc: Exception) -> Response:
        return respond(error("Not Found", 404), 404)

    @app.errorhandler(Exception)
    def crash(exc: Exception) -> Response:
        if isinstance(exc, HTTPException) and exc.code is not None:
            return respond(error(exc.description or "Error", exc.code), exc.code)
        hub.record_error()
        return respond(error("fakehub internal error (see hub.server_errors)", 500), 500)

    # -- authentication ---------------------------------------------------------------------------
    def credentials() -> tuple[str, str]:
        header = request.headers.get("Authorization", "")
        scheme, _, value = header.partition(" ")
        if not value or scheme.lower() not in {"token", "bearer"}:
            g.entry.auth = ""
            raise ApiError(401, "Requires authentication")
        return scheme.lower(), value.strip()

    def require_jwt() -> None:
        _scheme, value = credentials()
        g.entry.auth = "bad"
        if value.count(".") != 2:
            raise ApiError(401, "A JSON web token could not be decoded")
        try:
            claims = jwt.decode(
                value,
                hub.public_key_pem,
                algorithms=["RS256"],
                options={"verify_exp": False, "verify_iat": False, "require": ["iat", "exp", "iss"]},
            )
        except jwt.PyJWTError:
            raise ApiError(401, "A JSON web token could not be decoded") from None
        now = time.time()
        if str(claims["iss"]) != str(hub.app_id):
            raise ApiError(401, "Integration not found")
        if not isinstance(claims["exp"], int | float) or claims["exp"] <= now:
            raise ApiError(
                401,
                "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the assertion expires",
            )
        if claims["exp"] > now + 600:
            raise ApiError(401, "'Expiration time' claim ('exp') is too far in the future")
        if not isinstance(claims["iat"], int | float) or claims["iat"] > now + 60:
            raise ApiError(401, "'Issued at' claim ('iat') must be an Integer representing a time in the past")
        g.entry.auth = "jwt"

    def require_token() -> dict[str, Any]:
        _scheme, value = credentials()
        g.entry.auth = "bad"
        if value.count(".") == 2:
            raise ApiError(401, "A JSON web token cannot be used here; use an installation access token")
        record = hub.token_record(value)
        if record is None or record["expires_at"] <= time.time():
            raise ApiError(401, "Bad credentials")
        g.entry.auth = "token"
        with hub.locked():
            hub.rate_remaining = max(0, hub.rate_remaining - 1)
        return record

    def repo_for(owner: str, name: str) -> Any:
        """The repository, if the installation token of this request may see it (else 404)."""
        record = require_token()
        full_name = f"{owner}/{name}"
        with hub.locked():
            repo = hub._repos.get(full_name)
            if (
                repo is None
                or repo.installation_id != record["installation_id"]
                or (record["repos"] is not None and full_name not in record["repos"])
            ):
                raise not_found()
            return repo

    # -- pagination -------------------------------------------------------------------------------
    def int_arg(name: str, default: int) -> int:
        try:
            return int(request.args.get(name, default))
        except ValueError:
            raise invalid(f"Invalid value for {name}") from None

    def paginate(items: list[Any], max_per_page: int = 100) -> tuple[list[Any], dict[str, str]]:
        per_page = max(1, min(int_arg("per_page", 30), max_per_page))
        page = max(1, int_arg("page", 1))
        last = max(1, -(-len(items) // per_page))
        chosen = items[(page - 1) * per_page : page * per_page]

        def link(p: int) -> str:
            args = dict(request.args.items(), per_page=str(per_page), page=str(p))
            return f"<{hub.url}{request.path}?{urlencode(args)}>"

        rels = []
        if page < last:
            rels += [f'{link(page + 1)}; rel="next"', f'{link(last)}; rel="last"']
        if page > 1:
            rels += [f'{link(1)}; rel="first"', f'{link(min(page - 1, last))}; rel="prev"']
        return chosen, ({"Link": ", ".join(rels)} if rels else {})

    def body_json() -> dict[str, Any]:
        data = g.entry.json_body
        if data is None:
            data = {}
        if not isinstance(data, dict):
            raise ApiError(400, "Problems parsing JSON")
        problems = openapi.check_request(request.method, request.path, data)
        if problems:
            raise invalid("Invalid request.\n\n" + "\n".join(problems))
        return data

    def route(rule: str, methods: tuple[str, ...] = ("GET",)) -> Callable[[Callable[..., Response]], Callable[..., Response]]:
        def register(fn: Callable[..., Response]) -> Callable[..., Response]:
            app.add_url_rule(rule, endpoint=f"{fn.__name__}", view_func=fn, methods=list(methods))
            return fn

        return register

    # -- the app ----------------------------------------------------------------------------------
    @route("/app")
    def get_app() -> Response:
        require_jwt()
        return respond(hub.shapes.app())

    def installation_body(installation_id: int) -> dict[str, Any]:
        with hub.locked():
            account = hub._installations.get(installation_id)
            if account is None:
                raise not_found()
            repos = [r for r in hub._repos.values() if r.installation_id == installation_id]
            return hub.shapes.installation(installation_id, account, repos)

    @route("/app/installations")
    def list_installations() -> Response:
        require_jwt()
        with hub.locked():
            ids = sorted(hub._installations)
        items, headers = paginate([installation_body(i) for i in ids])
        return respond(items, 200, headers)

    @route("/app/installations/<int:installation_id>")
    def get_installation(installation_id: int) -> Response:
        require_jwt()
        return respond(installation_body(installation_id))

    @route("/app/installations/<int:installation_id>/access_tokens", ("POST",))
    def create_token(installation_id: int) -> Response:
        require_jwt()
        data = body_json()
        with hub.locked():
            if installation_id not in hub._installations:
                raise not_found()
            repos = [r for r in hub._repos.values() if r.installation_id == installation_id]
            wanted: set[str] | None = None
            if data.get("repositories") or data.get("repository_ids"):
                names = set(data.get("repositories") or [])
                ids = set(data.get("repository_ids") or [])
                chosen = [r for r in repos if r.name in names or r.full_name in names or r.id in ids]
                if len(chosen) < len(names) + len(ids):
                    raise invalid("There is at least one repository that does not exist or is not accessible to the parent installation.")
                repos = chosen
                wanted = {r.full_name for r in repos}
            record = hub.issue_token(installation_id, wanted)
            body = hub.shapes.access_token(
                record["token"], iso_ts(record["expires_at"]), repos, installation_id
            )
        return respond(body, 201)

    @route("/repos/<owner>/<name>/installation")
    def repo_installation(owner: str, name: str) -> Response:
        require_jwt()
        with hub.locked():
            repo = hub._repos.get(f"{owner}/{name}")
            if repo is None or repo.installation_id is None:
                raise not_found()
            return respond(installation_body(repo.installation_id))

    @route("/installation/repositories")
    def installation_repositories() -> Response:
        record = require_token()
        with hub.locked():
            repos = [
                hub.shapes.repository(r)
                for r in hub._repos.values()
                if r.installation_id == record["installation_id"]
                and (record["repos"] is None or r.full_name in record["repos"])
            ]
        items, headers = paginate(repos)
        return respond(
            {"total_count": len(repos), "repository_selection": "selected", "repositories": items}, 200, headers
        )

    @route("/app/hook/deliveries")
    def list_deliveries() -> Response:
        require_jwt()
        items = hub.deliveries()
        per_page = max(1, min(int_arg("per_page", 30), 100))
        start = int_arg("cursor", 0)
        chosen = items[start : start + per_page]
        headers = {}
        if start + per_page < len(items):
            args = dict(request.args.items(), per_page=str(per_page), cursor=str(start + per_page))
            headers["Link"] = f'<{hub.url}{request.path}?{urlencode(args)}>; rel="next"'
        return respond(chosen, 200, headers)

    @route("/app/hook/deliveries/<int:delivery_id>")
    def get_delivery(delivery_id: int) -> Response:
        require_jwt()
        for item in hub.deliveries():
            if item["id"] == delivery_id:
                return respond(item)
        raise not_found()

    @route("/app/hook/deliveries/<int:delivery_id>/attempts", ("POST",))
    def redeliver(delivery_id: int) -> Response:
        require_jwt()
        with hub.locked():
            found = [d for d in hub._deliveries if d["id"] == delivery_id]
            if not found:
                raise not_found()
            hub.redelivery_requests.append(delivery_id)
        threading.Thread(target=hub._redeliver, args=(found[0],), daemon=True).start()
        return respond({}, 202)

    @route("/rate_limit")
    def rate_limit() -> Response:
        credentials()
        return respond(hub.shapes.rate_limit(hub.rate_remaining, hub.rate_reset))

    # -- the OAuth web flow of the App (github.com's web host, here the same server) ------------------
    @route("/login/oauth/authorize")
    def oauth_authorize() -> Response:
        """GitHub asks the signed-in user to authorize the App (or, once authorized, goes on at
        once), then sends the browser to `redirect_uri` with a `code` and the `state`."""
        client_id = request.args.get("client_id", "")
        redirect_uri = request.args.get("redirect_uri", "")
        if client_id != hub.client_id:
            return Response("<h1>404</h1><p>The client_id is not known.</p>", status=404, mimetype="text/html")
        login = hub.browser_user
        if login is None:
            return Response("<h1>Sign in to GitHub</h1>", status=401, mimetype="text/html")
        code = hub.oauth_code(login, client_id, redirect_uri)
        query = urlencode({"code": code, "state": request.args.get("state", "")})
        return Response("", status=302, headers={"Location": f"{redirect_uri}?{query}"})

    @route("/login/oauth/access_token", ("POST",))
    def oauth_access_token() -> Response:
        """The code for a user access token. Like GitHub: errors are 200 answers with `error`;
        JSON with `Accept: application/json`, else form-encoded."""
        data = {**request.form, **(request.get_json(silent=True) or {})}
        if data.get("client_id") != hub.client_id or data.get("client_secret") != hub.client_secret:
            body: dict[str, Any] = {"error": "incorrect_client_credentials",
                                    "error_description": "The client_id and/or client_secret passed are incorrect."}
        else:
            found = hub.exchange_code(str(data.get("code", "")))
            if found is None or found["client_id"] != data.get("client_id"):
                body = {"error": "bad_verification_code",
                        "error_description": "The code passed is incorrect or expired."}
            elif data.get("redirect_uri") and data["redirect_uri"] != found["redirect_uri"]:
                body = {"error": "redirect_uri_mismatch",
                        "error_description": "The redirect_uri MUST match the registered callback URL for this application."}
            else:
                body = {"access_token": hub.user_token(found["login"]), "expires_in": 28800,
                        "refresh_token": f"ghr_{stable_id('refresh', found['login'])}",
                        "refresh_token_expires_in": 15811200, "scope": "", "token_type": "bearer"}
        if "application/json" in request.headers.get("Accept", ""):
            return Response(json.dumps(body), status=200, mimetype="application/json")
        return Response(urlencode(body), status=200, mimetype="application/x-www-form-urlencoded")

    def require_user() -> str:
        """The login of a user access token."""
        _scheme, value = credentials()
        login = hub.user_of(value)
        if login is None:
            g.entry.auth = "bad"
            raise ApiError(401, "Bad credentials")
        g.entry.auth = "user"
        return login

    @route("/user")
    def get_user() -> Response:
        return respond(hub.shapes.user(require_user()))

    @route("/user/memberships/orgs/<org>")
    def org_membership(org: str) -> Response:
        login = require_user()
        role = hub.org_role(org, login)
        if role is None:
            raise not_found()
        return respond({
            "url": f"{hub.url}/orgs/{org}/memberships/{login}", "state": "active", "role": role,
            "organization_url": f"{hub.url}/orgs/{org}",
            "organization": {"login": org, "id": stable_id("org", org), "url": f"{hub.url}/orgs/{org}"},
            "user": hub.shapes.user(login),
        })

    # -- repositories -------------------------------------------------------------------------------
    @route("/repos/<owner>/<name>")
    def get_repo(owner: str, name: str) -> Response:
        login = hub.user_of(credentials()[1])
        if login is not None:
            g.entry.auth = "user"
            if not hub.can_read(f"{owner}/{name}", login):
                raise not_found()  # GitHub hides a repository the user may not read
            with hub.locked():
                return respond(hub.shapes.repository(hub._repos[f"{owner}/{name}"]))
        repo = repo_for(owner, name)
        with hub.locked():
            return respond(hub.shapes.repository(repo))

    @route("/repos/<owner>/<name>/contents/<path:path>")
    def get_content(owner: str, name: str, path: str) -> Response:
        repo = repo_for(owner, name)
        ref = request.args.get("ref") or repo.default_branch
        with hub.locked():
            commit = repo.resolve(ref)
            if commit is None:
                raise ApiError(404, f"No commit found for the ref {ref}")
            tree = repo.trees[commit]
            path = path.strip("/")
            if path in tree:
                sha = tree[path]
                return respond(hub.shapes.content_file(repo, ref, path, sha, repo.blobs[sha]))
            prefix = path + "/"
            children: dict[str, tuple[str, str, int]] = {}
            for full, sha in tree.items():
                if full.startswith(prefix):
                    rest = full[len(prefix) :]
                    if "/" in rest:
                        child = prefix + rest.split("/", 1)[0]
                        # A tree's sha depends on what it holds, as git's does: an unchanged
                        # folder keeps its sha (and its listing its ETag) across commits.
                        inside = sorted((p, s) for p, s in tree.items() if p.startswith(child + "/"))
                        children[child] = ("dir", stable_tree_sha(repr(inside)), 0)
                    else:
                        children[full] = ("file", sha, len(repo.blobs[sha]))
            if not children:
                raise not_found()
            return respond([
                hub.shapes.content_dir_entry(repo, ref, child, sha, kind, size)
                for child, (kind, sha, size) in sorted(children.items())
            ])

    @route("/repos/<owner>/<name>/git/blobs/<sha>")
    def get_blob(owner: str, name: str, sha: str) -> Response:
        repo = repo_for(owner, name)
        with hub.locked():
            data = repo.blobs.get(sha)
            if data is None:
                raise not_found()
            if RAW_MEDIA_TYPE not in request.headers.get("Accept", ""):
                hub.served(sha, len(data))
                return respond(hub.shapes.blob(repo, sha, data))
        # GitHub's raw media type: the bytes themselves, with their length up front. The body
        # is sent in pieces and counted as it goes, so a client that reads the length and hangs
        # up shows as served bytes far below the blob's size.
        def pieces() -> Iterator[bytes]:
            for start in range(0, len(data), RAW_PIECE):
                piece = data[start : start + RAW_PIECE]
                hub.served(sha, len(piece))
                yield piece

        response = Response(pieces(), status=200, mimetype=RAW_MEDIA_TYPE)
        response.headers["Content-Length"] = str(len(data))
        response.headers["X-GitHub-Media-Type"] = "github.v3; param=raw"
        return response

    @route("/repos/<owner>/<name>/collaborators/<login>/permission")
    def collaborator_permission(owner: str, name: str, login: str) -> Response:
        repo = repo_for(owner, name)
        with hub.locked():
            role = repo.collaborators.get(login)
            if role is None:
                if login not in hub._users:
                    raise not_found()
                role = "none"
            return respond(hub.shapes.permission(repo, login, role))

    @route("/orgs/<org>/teams/<team>/memberships/<login>")
    def team_membership(org: str, team: str, login: str) -> Response:
        record = require_token()
        with hub.locked():
            if hub._installations.get(record["installation_id"]) != org:
                raise not_found()
            role = hub._teams.get((org, team), {}).get(login)
            if role is None:
                raise not_found()
            return respond(hub.shapes.team_membership(org, team, login, role))

    # -- pull requests ------------------------------------------------------------------------------
    def pull_for(repo: Any, number: int) -> Any:
        pr = hub._pulls.get((repo.full_name, number))
        if pr is None:
            raise not_found()
        return pr

    @route("/repos/<owner>/<name>/pulls")
    def list_pulls(owner: str, name: str) -> Response:
        repo = repo_for(owner, name)
        state = request.args.get("state", "open")
        base = request.args.get("base")
        with hub.locked():
            pulls = [
                p for p in hub._pulls.values()
                if p.repo == repo.full_name
                and (state == "all" or p.state == state)
                and (base is None or p.base_ref == base)
            ]
            pulls.sort(key=lambda p: p.number, reverse=request.args.get("direction", "desc") == "desc")
            items, headers = paginate(pulls)
            bodies = [hub.shapes.pull(repo, p, hub.pull_files(repo.full_name, p.number)) for p in items]
        return respond(bodies, 200, headers)

    @route("/repos/<owner>/<name>/pulls/<int:number>")
    def get_pull(owner: str, name: str, number: int) -> Response:
        repo = repo_for(owner, name)
        with hub.locked():
            pr = pull_for(repo, number)
            return respond(hub.shapes.pull(repo, pr, hub.pull_files(repo.full_name, number)))

    @route("/repos/<owner>/<name>/pulls/<int:number>", ("PATCH",))
    def update_pull(owner: str, name: str, number: int) -> Response:
        """GitHub's "Update a pull request", for the part fakehub models: `base` (retargeting)."""
        repo = repo_for(owner, name)
        data = body_json()
        with hub.locked():
            pr = pull_for(repo, number)
            base = data.get("base")
            if base is not None:
                if not isinstance(base, str) or base not in repo.branches:
                    raise invalid("Validation Failed", errors=[{"resource": "PullRequest", "field": "base", "code": "invalid"}])
                hub.retarget(repo.full_name, number, base)
            return respond(hub.shapes.pull(repo, pr, hub.pull_files(repo.full_name, number)))

    @route("/repos/<owner>/<name>/pulls/<int:number>/files")
    def list_pull_files(owner: str, name: str, number: int) -> Response:
        repo = repo_for(owner, name)
        with hub.locked():
            pull_for(repo, number)
            files = hub.pull_files(repo.full_name, number)[:3000]
        items, headers = paginate(files)
        return respond(items, 200, headers)

    @route("/repos/<owner>/<name>/pulls/<int:number>/commits")
    def list_pull_commits(owner: str, name: str, number: int) -> Response:
        repo = repo_for(owner, name)
        with hub.locked():
            pull_for(repo, number)
            commits = hub.pull_commits(repo.full_name, number)[:MAX_PULL_COMMITS]
        items, headers = paginate(commits)
        return respond(items, 200, headers)

    @route("/repos/<owner>/<name>/pulls/<int:number>/reviews")
    def list_reviews(owner: str, name: str, number: int) -> Response:
        repo = repo_for(owner, name)
        with hub.locked():
            pull_for(repo, number)
            reviews = [hub.shapes.review(repo, number, r) for r in hub._reviews[(repo.full_name, number)]]
        items, headers = paginate(reviews)
        return respond(items, 200, headers)

    @route("/repos/<owner>/<name>/pulls/<int:number>/reviews", ("POST",))
    def create_review(owner: str, name: str, number: int) -> Response:
        repo = repo_for(owner, name)
        data = body_json()
        with hub.locked():
            pr = pull_for(repo, number)
            event = data.get("event")
            states = {"APPROVE": "APPROVED", "REQUEST_CHANGES": "CHANGES_REQUESTED", "COMMENT": "COMMENTED", None: "PENDING"}
            if event not in states:
                raise invalid(f"Unexpected event {event!r}")
            body = data.get("body") or ""
            comments = data.get("comments") or []
            if event in {"REQUEST_CHANGES", "COMMENT"} and not body and not comments:
                raise invalid("Unprocessable Entity", errors=[f"Review body is required for event {event}"])
            files = {f["filename"]: f for f in hub.pull_files(repo.full_name, number)}
            for c in comments:
                check_review_comment(files, c)
            review_id = hub._store_review(
                pr, hub.shapes.bot_login(), "Bot", states[event], data.get("commit_id") or pr.head_sha, body,
                [dict(c) for c in comments],
            )
            review = hub._reviews[(repo.full_name, number)][-1]
            assert review["id"] == review_id
            return respond(hub.shapes.review(repo, number, review))

    @route("/repos/<owner>/<name>/pulls/<int:number>/requested_reviewers", ("POST",))
    def request_reviewers(owner: str, name: str, number: int) -> Response:
        """GitHub's "Request reviewers for a pull request": 201 with the pull request; 422 for the
        author or anyone (or any team) without access to the repository."""
        repo = repo_for(owner, name)
        data = body_json()
        users, teams = data.get("reviewers") or [], data.get("team_reviewers") or []
        if not isinstance(users, list) or not isinstance(teams, list) or not all(isinstance(x, str) for x in users + teams):
            raise invalid("Invalid request. `reviewers` and `team_reviewers` must be lists of strings.")
        with hub.locked():
            pr = pull_for(repo, number)
            if any(u.casefold() == pr.author.casefold() for u in users):
                raise invalid("Review cannot be requested from pull request author.")
            known = {c.casefold() for c in repo.collaborators}
            if any(u.casefold() not in known for u in users) or any((repo.owner, t) not in hub._teams for t in teams):
                raise invalid(
                    "Reviews may only be requested from collaborators. One or more of the users or teams you "
                    f"specified is not a collaborator of the {repo.full_name} repository."
                )
            pr.requested_reviewers += [u for u in users if u not in pr.requested_reviewers]
            pr.requested_teams += [t for t in teams if t not in pr.requested_teams]
            pr.updated_at = hub._timestamp()
            return respond(hub.shapes.pull(repo, pr, hub.pull_files(repo.full_name, number)), 201)

    def check_review_comment(files: dict[str, dict[str, Any]], comment: dict[str, Any]) -> None:
        path = comment.get("path")
        if path not in files:
            raise invalid("Unprocessable Entity", errors=["Path could not be resolved"])
        if "line" not in comment:
            return  # `position` comments: positions are not modelled
        if comment.get("side", "RIGHT") != "RIGHT":
            return
        allowed = commentable_lines(files[path].get("patch"))
        lines = [comment["line"]] + ([comment["start_line"]] if "start_line" in comment else [])
        if any(line not in allowed for line in lines):
            raise invalid("Unprocessable Entity", errors=["Line could not be resolved"])

    # -- issue comments and reactions -----------------------------------------------------------
    def check_comment_body(body: Any) -> None:
        if not body:
            raise invalid("Validation Failed", errors=[{"resource": "IssueComment", "code": "missing_field", "field": "body"}])
        if len(body) > MAX_COMMENT_BODY:
            raise invalid("Validation Failed", errors=[{
                "resource": "IssueComment", "code": "custom", "field": "body",
                "message": f"Body is too long (maximum is {MAX_COMMENT_BODY} characters)",
            }])

    def comment_for(repo: Any, comment_id: int) -> dict[str, Any]:
        comment = hub._comments.get(comment_id)
        if comment is None or comment["repo"] != repo.full_name:
            raise not_found()
        return comment

    @route("/repos/<owner>/<name>/issues/<int:number>")
    def get_issue(owner: str, name: str, number: int) -> Response:
        repo = repo_for(owner, name)
        with hub.locked():
            pr = hub._pulls.get((repo.full_name, number))
            issue = hub._issues.get((repo.full_name, number))
            if pr is None and issue is None:
                raise not_found()
            comments = sum(1 for c in hub._comments.values() if c["repo"] == repo.full_name and c["issue"] == number)
            return respond(hub.shapes.issue(repo, number, pr, issue, comments))

    @route("/repos/<owner>/<name>/issues/<int:number>/comments")
    def list_comments(owner: str, name: str, number: int) -> Response:
        repo = repo_for(owner, name)
        since = request.args.get("since")
        with hub.locked():
            if not hub._issue_exists(repo.full_name, number):
                raise not_found()
            comments = [
                hub.shapes.comment(repo, c)
                for c in hub._comments.values()
                if c["repo"] == repo.full_name and c["issue"] == number and (since is None or c["updated_at"] >= since)
            ]
        items, headers = paginate(comments)
        return respond(items, 200, headers)

    @route("/repos/<owner>/<name>/issues/<int:number>/comments", ("POST",))
    def create_comment(owner: str, name: str, number: int) -> Response:
        repo = repo_for(owner, name)
        data = body_json()
        with hub.locked():
            if not hub._issue_exists(repo.full_name, number):
                raise not_found()
            check_comment_body(data.get("body"))
            comment_id = hub._store_comment(
                repo.full_name, number, hub.shapes.bot_login(), "Bot", data["body"], hub.app_id
            )
            return respond(hub.shapes.comment(repo, hub._comments[comment_id]), 201)

    @route("/repos/<owner>/<name>/issues/comments/<int:comment_id>", ("GET", "PATCH", "DELETE"))
    def one_comment(owner: str, name: str, comment_id: int) -> Response:
        repo = repo_for(owner, name)
        data = body_json() if request.method == "PATCH" else {}
        with hub.locked():
            comment = comment_for(repo, comment_id)
            if request.method == "DELETE":
                del hub._comments[comment_id]
                return respond(None, 204)
            if request.method == "PATCH":
                if comment["user"] != hub.shapes.bot_login():
                    raise ApiError(403, "Resource not accessible by integration")
                check_comment_body(data.get("body"))
                comment.update(body=data["body"], updated_at=hub._timestamp())
            return respond(hub.shapes.comment(repo, comment))

    @route("/repos/<owner>/<name>/issues/comments/<int:comment_id>/reactions", ("POST",))
    def create_reaction(owner: str, name: str, comment_id: int) -> Response:
        repo = repo_for(owner, name)
        data = body_json()
        with hub.locked():
            comment_for(repo, comment_id)
            content = data.get("content")
            if content not in REACTIONS:
                raise invalid("Validation Failed", errors=[{"resource": "Reaction", "code": "invalid", "field": "content"}])
            existing = hub._reactions.setdefault(comment_id, [])
            for reaction in existing:
                if reaction["content"] == content and reaction["user"] == hub.shapes.bot_login():
                    return respond(hub.shapes.reaction(reaction), 200)
            reaction = {
                "id": hub._next_id(),
                "user": hub.shapes.bot_login(),
                "user_type": "Bot",
                "content": content,
                "created_at": hub._timestamp(),
            }
            existing.append(reaction)
            return respond(hub.shapes.reaction(reaction), 201)

    # -- check runs -------------------------------------------------------------------------------
    def take_annotations(run: dict[str, Any], output: dict[str, Any] | None) -> None:
        annotations = list((output or {}).get("annotations") or [])
        if len(annotations) > MAX_ANNOTATIONS:
            raise invalid(
                "Invalid request.\n\nOnly 50 annotations are allowed per request.",
                errors=[{"resource": "CheckRun", "code": "invalid", "field": "output.annotations"}],
            )
        for a in annotations:
            if a.get("annotation_level") not in LEVELS:
                raise invalid("Invalid request.\n\nannotation_level must be one of notice, warning, failure")
            if a.get("start_line", 0) > a.get("end_line", 0):
                raise invalid("Invalid request.\n\nstart_line must not be after end_line")
            if ("start_column" in a or "end_column" in a) and a.get("start_line") != a.get("end_line"):
                raise invalid("Invalid request.\n\nstart_column and end_column need start_line == end_line")
        for key in ("summary", "text"):
            value = (output or {}).get(key) or ""
            if len(value) > MAX_OUTPUT_TEXT:
                raise invalid(f"Invalid request.\n\nOnly {MAX_OUTPUT_TEXT} characters are allowed; {len(value)} were supplied.")
        if output:
            for key in ("title", "summary", "text"):
                if key in output:
                    run["output"][key] = output[key]
        # GitHub appends: an update never replaces annotations sent before.
        run["annotations"].extend(annotations)

    def apply_status(run: dict[str, Any], data: dict[str, Any]) -> None:
        if data.get("status") == "completed" and not data.get("conclusion") and not run["conclusion"]:
            raise invalid("Invalid request.\n\nconclusion is required when status is completed")
        if "conclusion" in data and data["conclusion"] is not None:
            run["conclusion"] = data["conclusion"]
            run["status"] = "completed"
            run["completed_at"] = data.get("completed_at") or hub._timestamp()
        elif "status" in data:
            run["status"] = data["status"]
            if data["status"] != "completed":
                run["conclusion"] = None
                run["completed_at"] = None
        for key in ("name", "external_id", "details_url", "started_at"):
            if key in data:
                run[key] = data[key]

    @route("/repos/<owner>/<name>/check-runs", ("POST",))
    def create_check_run(owner: str, name: str) -> Response:
        repo = repo_for(owner, name)
        data = body_json()
        with hub.locked():
            if data.get("head_sha") not in repo.trees:
                raise invalid(f"No commit found for SHA: {data.get('head_sha')}")
            run_id = hub._create_run(repo.full_name, {"name": data["name"], "head_sha": data["head_sha"], "status": "queued"}, hub.app_id)
            run = hub._check_runs[run_id]
            try:
                apply_status(run, data)
                take_annotations(run, data.get("output"))
            except ApiError:
                del hub._check_runs[run_id]
                raise
            return respond(hub._run_shape(run), 201)

    def run_for(repo: Any, run_id: int) -> dict[str, Any]:
        run = hub._check_runs.get(run_id)
        if run is None or run["repo"] != repo.full_name:
            raise not_found()
        return run

    @route("/repos/<owner>/<name>/check-runs/<int:run_id>", ("GET", "PATCH"))
    def one_check_run(owner: str, name: str, run_id: int) -> Response:
        repo = repo_for(owner, name)
        data = body_json() if request.method == "PATCH" else {}
        with hub.locked():
            run = run_for(repo, run_id)
            if request.method == "PATCH":
                if run["app_id"] != hub.app_id:
                    raise ApiError(403, f"Invalid app_id `{hub.app_id}` - check run can only be modified by the GitHub App that created it.")
                # Validate everything before changing anything: a 422 leaves the run as it was.
                trial = json.loads(json.dumps(run))
                apply_status(trial, data)
                take_annotations(trial, data.get("output"))
                run.clear()
                run.update(trial)
            return respond(hub._run_shape(run))

    @route("/repos/<owner>/<name>/check-runs/<int:run_id>/annotations")
    def list_annotations(owner: str, name: str, run_id: int) -> Response:
        repo = repo_for(owner, name)
        with hub.locked():
            run = run_for(repo, run_id)
            annotations = [hub.shapes.annotation(repo, run["head_sha"], a) for a in run["annotations"]]
        items, headers = paginate(annotations)
        return respond(items, 200, headers)

    @route("/repos/<owner>/<name>/commits/<path:ref>")
    def get_commit(owner: str, name: str, ref: str) -> Response:
        repo = repo_for(owner, name)
        with hub.locked():
            sha = repo.resolve(ref)
            if sha is None:
                raise invalid(f"No commit found for SHA: {ref}")
            return respond(hub.shapes.commit(repo, sha, repo.parents.get(sha, [])))

    @route("/repos/<owner>/<name>/commits/<path:ref>/check-runs")
    def list_check_runs(owner: str, name: str, ref: str) -> Response:
        repo = repo_for(owner, name)
        check_name = request.args.get("check_name")
        status = request.args.get("status")
        app_id = request.args.get("app_id")
        latest = request.args.get("filter", "latest") == "latest"
        with hub.locked():
            sha = repo.resolve(ref)
            if sha is None:
                raise invalid(f"No commit found for SHA: {ref}")
            runs = [
                r for r in hub._check_runs.values()
                if r["repo"] == repo.full_name
                and r["head_sha"] == sha
                and (check_name is None or r["name"] == check_name)
                and (status is None or r["status"] == status)
                and (app_id is None or str(r["app_id"]) == app_id)
            ]
            runs.sort(key=lambda r: r["id"], reverse=True)
            if latest:
                seen: set[tuple[str, int]] = set()
                newest = []
                for r in runs:
                    if (r["name"], r["app_id"]) not in seen:
                        seen.add((r["name"], r["app_id"]))
                        newest.append(r)
                runs = newest
            items, headers = paginate(runs)
            bodies = [hub._run_shape(r) for r in items]
        return respond({"total_count": len(runs), "check_runs": bodies}, 200, headers)

    manifests.register(app, hub, respond)
    return app


def iso_ts(ts: float) -> str:
    from .hub import iso

    return iso(ts)


def stable_tree_sha(*parts: str) -> str:
    return f"{stable_id('tree', *parts):040x}"
