"""FakeHub: the state of a fake GitHub, the helpers tests use to shape it, and its HTTP server."""

from __future__ import annotations

import copy
import functools
import hashlib
import hmac
import itertools
import json
import re
import secrets
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wsgi import ClosingIterator

from . import openapi
from .model import (
    FakePull,
    FakeRepo,
    Fault,
    FileChange,
    LoggedRequest,
    as_bytes,
    blob_sha,
    unified_patch,
)
from .shapes import Shapes, stable_id

ROLES = ("admin", "maintain", "write", "triage", "read")
MAX_PULL_FILES = 3000


class FakeHubUnavailable(RuntimeError):
    """GitHub's published examples (the fake's response shapes) are not on disk."""


@functools.cache
def _app_key() -> tuple[str, str]:
    """One RSA 2048 key per process: generating one per test would cost more than the test."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    return private, public


def iso(ts: float) -> str:
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _last_piece_after(body: Iterable[bytes], leave: Callable[[], None]) -> Iterator[bytes]:
    """The body's pieces, calling `leave` just before the last one is sent: once a client has
    the whole answer it may send its next request, and that must not count as a second one in
    flight."""
    pieces = iter(body)
    piece = next(pieces, None)
    while piece is not None:
        following = next(pieces, None)
        if following is None:
            leave()
        yield piece
        piece = following
    leave()


class _QuietHandler(WSGIRequestHandler):
    # The request log is the hub's own; werkzeug's access lines would only add noise to the
    # logs that other tests capture and search.
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass

    def log(self, *args: Any, **kwargs: Any) -> None:
        pass


class FakeHub:
    """A fake GitHub REST API on ``http://127.0.0.1:<free port>``; see ``tests/fakehub/README.md``."""

    def __init__(
        self,
        *,
        validate: bool = False,
        app_id: int = 424242,
        app_slug: str = "reviewgate",
        token_ttl: float = 3600.0,
    ) -> None:
        if not openapi.available():
            raise FakeHubUnavailable(openapi.MISSING_REASON)
        self.app_id = app_id
        self.app_slug = app_slug
        self.private_key_pem, self.public_key_pem = _app_key()
        self.webhook_secret = "fakehub-webhook-secret"
        # Where redeliveries requested through the API are POSTed (None: only recorded).
        self.webhook_url: str | None = None
        self.token_ttl = token_ttl
        self.validate = validate
        # The pytest fixture fails a test whose hub crashed or served off-schema answers.
        self.strict = False
        self.schema_violations: list[str] = []
        self.validated_responses = 0
        self.unvalidated: set[tuple[str, str, int]] = set()
        self.server_errors: list[str] = []
        self.requests: list[LoggedRequest] = []
        # Blobs of Python code asked for; configuration files (anything under `.github/`)
        # are counted apart, as the bot may remember those by sha across pull requests.
        self.blob_fetches = 0
        self.config_blob_fetches = 0
        self.config_blobs: set[str] = set()
        # blob sha -> bytes of it sent so far (raw answers count what was written before the
        # client hung up; JSON answers count the whole blob).
        self.blob_bytes_served: dict[str, int] = {}
        self.redelivery_requests: list[int] = []
        # The App manifest flow (tests/fakehub/manifests.py): pending codes, and the manifests
        # of the Apps registered through it.
        self.manifest_codes: dict[str, dict[str, Any]] = {}
        self.registered_manifests: list[dict[str, Any]] = []
        self.rate_remaining = 5000
        self.rate_reset = int(time.time()) + 3600
        # GitHub's own latency: every request waits this long before it is answered.
        self.latency = 0.0
        # Requests being answered, per caller ("installation:<id>", "app" for JWTs, "anonymous"),
        # the most seen at once, and the limit above which a test fails (None: no limit).
        self.in_flight: dict[str, int] = {}
        self.max_in_flight: dict[str, int] = {}
        self.in_flight_limit: int | None = None
        self.concurrency_violations: list[str] = []

        self._lock = threading.RLock()
        self._ids = itertools.count(1000)
        self._last_time = 0.0
        self._faults: list[Fault] = []
        # (method, path pattern, release): answers held back after their request was served.
        self._holds: list[tuple[str, re.Pattern[str], threading.Event]] = []
        self._repos: dict[str, FakeRepo] = {}
        self._installations: dict[int, str] = {}
        self._tokens: dict[str, dict[str, Any]] = {}
        self._pulls: dict[tuple[str, int], FakePull] = {}
        self._issues: dict[tuple[str, int], dict[str, Any]] = {}
        self._pull_files_cache: dict[tuple[str, str, str, frozenset[str]], list[dict[str, Any]]] = {}
        self._comments: dict[int, dict[str, Any]] = {}
        self._reactions: dict[int, list[dict[str, Any]]] = {}
        self._reviews: dict[tuple[str, int], list[dict[str, Any]]] = {}
        self._check_runs: dict[int, dict[str, Any]] = {}
        self._teams: dict[tuple[str, str], dict[str, str]] = {}
        self._users: set[str] = set()
        self._deliveries: list[dict[str, Any]] = []
        # The App's OAuth web flow: its client, who is signed in to GitHub in the browser,
        # codes not yet exchanged, user tokens, organisation roles.
        self.client_id = "Iv1.fakehubclient"
        self.client_secret = "fakehub-client-secret"
        self.browser_user: str | None = None
        self._oauth_codes: dict[str, dict[str, Any]] = {}
        self._user_tokens: dict[str, str] = {}
        self._org_roles: dict[tuple[str, str], str] = {}
        self._stopping = threading.Event()

        from .api import build_app

        self._server: BaseWSGIServer = make_server(
            "127.0.0.1", 0, self._accounted(build_app(self)), threaded=True, request_handler=_QuietHandler
        )
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self.shapes = Shapes(self.url, self.app_id, self.app_slug)
        self._thread = threading.Thread(
            # A short poll keeps `stop()` (and so every test's teardown) quick.
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name=f"fakehub:{self._server.server_port}", daemon=True
        )
        self._thread.start()

    # -- lifecycle ------------------------------------------------------------------------------
    def stop(self) -> None:
        if self._stopping.is_set():
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FakeHub:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- latency and concurrency ------------------------------------------------------------------
    def _accounted(self, app: Any) -> Any:
        """The WSGI app, with every request counted in flight until its body is sent (a streamed
        blob stays in flight while it streams) and held back by ``latency`` first."""

        def serve(environ: dict[str, Any], start_response: Any) -> Any:
            caller = self._caller(environ.get("HTTP_AUTHORIZATION", ""))
            self._enter(caller, f"{environ.get('REQUEST_METHOD')} {environ.get('PATH_INFO')}")
            left = threading.Event()

            def leave() -> None:
                if not left.is_set():
                    left.set()
                    self._leave(caller)

            try:
                if self.latency:
                    self.wait(self.latency)
                body = app(environ, start_response)
            except BaseException:
                leave()
                raise
            return ClosingIterator(_last_piece_after(body, leave), [leave])

        return serve

    def _caller(self, authorization: str) -> str:
        scheme, _, value = authorization.partition(" ")
        value = value.strip()
        if scheme.lower() not in {"token", "bearer"} or not value:
            return "anonymous"
        if value.count(".") == 2:
            return "app"
        record = self.token_record(value)
        return f"installation:{record['installation_id']}" if record else "anonymous"

    def _enter(self, caller: str, what: str) -> None:
        with self._lock:
            now = self.in_flight[caller] = self.in_flight.get(caller, 0) + 1
            self.max_in_flight[caller] = max(self.max_in_flight.get(caller, 0), now)
            if self.in_flight_limit is not None and now > self.in_flight_limit and caller != "anonymous":
                self.concurrency_violations.append(
                    f"{now} requests in flight for {caller} (limit {self.in_flight_limit}) at {what}"
                )

    def _leave(self, caller: str) -> None:
        with self._lock:
            self.in_flight[caller] -= 1

    def counted_requests(self, since: int = 0) -> list[LoggedRequest]:
        """Requests that count against an installation's primary rate limit: authenticated
        with its token and not answered 304 (GitHub does not count those)."""
        with self._lock:
            return [r for r in self.requests[since:] if r.auth == "token" and r.status != 304]

    # -- time and ids -----------------------------------------------------------------------------
    def _next_id(self) -> int:
        return next(self._ids)

    def _timestamp(self) -> str:
        """Now, but strictly later than the previous event, so that order survives seconds."""
        with self._lock:
            self._last_time = max(time.time(), self._last_time + 1)
            return iso(self._last_time)

    # -- repositories and files -------------------------------------------------------------------
    def add_repo(
        self,
        full_name: str,
        *,
        default_branch: str = "main",
        installation_id: int | None = 42,
        private: bool = True,
    ) -> FakeRepo:
        with self._lock:
            repo = FakeRepo(full_name, stable_id("repo", full_name), default_branch, installation_id, private)
            self._repos[full_name] = repo
            self._users.add(repo.owner)
            self._commit(repo, {}, branch=default_branch)
            if installation_id is not None:
                self._installations.setdefault(installation_id, repo.owner)
            return repo

    def delete_repo(self, full_name: str) -> None:
        """The repository is gone: every request about it answers 404."""
        with self._lock:
            self._repos.pop(full_name, None)

    def repo(self, full_name: str) -> FakeRepo:
        with self._lock:
            try:
                return self._repos[full_name]
            except KeyError:
                raise KeyError(f"fakehub: no repository {full_name!r}; call add_repo first") from None

    def install(self, full_name: str, installation_id: int | None) -> None:
        """Move a repository into an installation (None: the app loses access to it)."""
        with self._lock:
            repo = self.repo(full_name)
            repo.installation_id = installation_id
            if installation_id is not None:
                self._installations.setdefault(installation_id, repo.owner)

    def _store_blob(self, repo: FakeRepo, content: bytes) -> str:
        sha = blob_sha(content)
        repo.blobs[sha] = content
        return sha

    def _commit(
        self, repo: FakeRepo, tree: dict[str, str], branch: str | None = None, parent: str | None = None
    ) -> str:
        seed = f"commit\n{repo.full_name}\n{self._next_id()}\n{sorted(tree.items())}"
        sha = hashlib.sha1(seed.encode()).hexdigest()  # noqa: S324
        repo.trees[sha] = dict(tree)
        parent = parent or (repo.branches.get(branch) if branch else None)
        repo.parents[sha] = [parent] if parent else []
        if branch is not None:
            repo.branches[branch] = sha
        return sha

    def set_file(self, full_name: str, ref: str, path: str, content: str | bytes | None) -> str:
        """Write (None: delete) a file on a branch (a new commit) or in a commit's tree in place.

        Returns the commit sha that now holds the change.
        """
        with self._lock:
            repo = self.repo(full_name)
            if path.startswith(".github/") and content is not None:
                self.config_blobs.add(blob_sha(as_bytes(content)))
            if ref in repo.trees and ref not in repo.branches:
                tree = repo.trees[ref]
                self._apply(repo, tree, path, content)
                self._pull_files_cache.clear()
                return ref
            tree = dict(repo.trees[repo.branches[ref]]) if ref in repo.branches else {}
            self._apply(repo, tree, path, content)
            return self._commit(repo, tree, branch=ref)

    def _apply(self, repo: FakeRepo, tree: dict[str, str], path: str, content: str | bytes | None) -> None:
        if content is None:
            tree.pop(path, None)
        else:
            tree[path] = self._store_blob(repo, as_bytes(content))

    def file_at(self, full_name: str, ref: str, path: str) -> bytes | None:
        with self._lock:
            repo = self.repo(full_name)
            commit = repo.resolve(ref)
            return None if commit is None else repo.read(commit, path)

    # -- people ---------------------------------------------------------------------------------
    def add_user(self, login: str) -> None:
        with self._lock:
            self._users.add(login)

    def add_collaborator(self, full_name: str, login: str, role: str = "write") -> None:
        if role not in ROLES:
            raise ValueError(f"role must be one of {ROLES}")
        with self._lock:
            self.repo(full_name).collaborators[login] = role
            self._users.add(login)

    def add_org_member(self, org: str, login: str, role: str = "member") -> None:
        """`role`: admin (an owner of the organisation) or member."""
        if role not in ("admin", "member"):
            raise ValueError("role must be admin or member")
        with self._lock:
            self._org_roles[(org.casefold(), login.casefold())] = role
            self._users.add(login)

    def org_role(self, org: str, login: str) -> str | None:
        with self._lock:
            return self._org_roles.get((org.casefold(), login.casefold()))

    def can_read(self, full_name: str, login: str) -> bool:
        """What a user-to-server token of `login` may see of a repository: one the App is
        installed on that the user may read (public, their own, a collaborator's, or any of
        their organisation's)."""
        with self._lock:
            repo = self._repos.get(full_name)
            if repo is None or repo.installation_id is None:
                return False
            me = login.casefold()
            return (
                not repo.private
                or repo.owner.casefold() == me
                or any(c.casefold() == me for c in repo.collaborators)
                or (repo.owner.casefold(), me) in self._org_roles
            )

    def oauth_code(self, login: str, client_id: str, redirect_uri: str) -> str:
        with self._lock:
            code = f"code{self._next_id()}{uuid.uuid4().hex[:12]}"
            self._oauth_codes[code] = {"login": login, "client_id": client_id, "redirect_uri": redirect_uri,
                                       "expires_at": time.time() + 600}
            return code

    def exchange_code(self, code: str) -> dict[str, Any] | None:
        """A code is good once, for ten minutes."""
        with self._lock:
            found = self._oauth_codes.pop(code, None)
            if found is None or found["expires_at"] <= time.time():
                return None
            return found

    def user_token(self, login: str) -> str:
        """A user access token (`ghu_`) for `login`, as the OAuth web flow gives."""
        with self._lock:
            token = f"ghu_{uuid.uuid4().hex}"
            self._user_tokens[token] = login
            self._users.add(login)
            return token

    def revoke_user_tokens(self) -> None:
        """Every user token issued so far is revoked (or expired): GitHub answers 401."""
        with self._lock:
            self._user_tokens.clear()

    def user_of(self, token: str) -> str | None:
        with self._lock:
            return self._user_tokens.get(token)

    def add_team(self, org: str, slug: str, members: Iterable[str] = (), maintainers: Iterable[str] = ()) -> None:
        with self._lock:
            team = self._teams.setdefault((org, slug), {})
            for login in members:
                team[login] = "member"
                self._users.add(login)
            for login in maintainers:
                team[login] = "maintainer"
                self._users.add(login)

    # -- pull requests ----------------------------------------------------------------------------
    def _next_number(self, full_name: str) -> int:
        used = [n for (r, n) in list(self._pulls) + list(self._issues) if r == full_name]
        return max(used, default=0) + 1

    def add_issue(self, full_name: str, number: int | None = None, author: str = "octocat", title: str = "An issue") -> int:
        """A plain issue (not a pull request): comments on it are allowed, it has no files."""
        with self._lock:
            self.repo(full_name)
            number = number or self._next_number(full_name)
            self._issues[(full_name, number)] = {"author": author, "title": title}
            self._users.add(author)
            return number

    def add_pull(
        self,
        full_name: str,
        number: int | None = None,
        *,
        author: str = "octocat",
        files: Sequence[FileChange] = (),
        title: str | None = None,
        body: str = "",
        base: str | None = None,
        head_ref: str | None = None,
        draft: bool = False,
        author_type: str = "User",
        fork: str | None = None,
    ) -> FakePull:
        """A pull request; ``fork="mallory/demo"`` makes its head branch live in a fork."""
        with self._lock:
            repo = self.repo(full_name)
            number = number or self._next_number(full_name)
            if (full_name, number) in self._pulls:
                raise ValueError(f"pull request {full_name}#{number} exists")
            base = base or repo.default_branch
            if base not in repo.branches:
                self._commit(repo, {}, branch=base)
            base_tree = dict(repo.trees[repo.branches[base]])
            # The "before" side of each change must exist on the base branch first.
            for fc in files:
                if fc.status in {"modified", "removed"}:
                    self._ensure_before(repo, base_tree, fc.path, fc.before, fc.status)
                elif fc.status == "renamed":
                    assert fc.previous_path is not None
                    before = fc.before if fc.before is not None else fc.after
                    self._ensure_before(repo, base_tree, fc.previous_path, before, fc.status)
                    base_tree.pop(fc.path, None)
                else:
                    base_tree.pop(fc.path, None)
            if base_tree != repo.trees[repo.branches[base]]:
                self._commit(repo, base_tree, branch=base)
            base_sha = repo.branches[base]
            pr_id = stable_id("pull", full_name, number)
            now = self._timestamp()
            pr = FakePull(
                repo=full_name,
                number=number,
                id=pr_id,
                author=author,
                author_type=author_type,
                title=title or f"Change #{number}",
                body=body,
                head_ref=head_ref or f"{author}/change-{number}",
                base_ref=base,
                head_sha=base_sha,
                base_sha=base_sha,
                created_at=now,
                updated_at=now,
                draft=draft,
                head_repo=fork,
            )
            self._users.add(author)
            self._pulls[(full_name, number)] = pr
            self._reviews[(full_name, number)] = []
            self._new_head(repo, pr, dict(base_tree), files, author, author, author)
            return pr

    def _ensure_before(
        self, repo: FakeRepo, tree: dict[str, str], path: str, before: str | bytes | None, status: str
    ) -> None:
        if before is not None:
            tree[path] = self._store_blob(repo, as_bytes(before))
        elif path not in tree:
            raise ValueError(f"{status} file {path} needs before= (it is not on the base branch)")

    def _new_head(
        self,
        repo: FakeRepo,
        pr: FakePull,
        tree: dict[str, str],
        files: Sequence[FileChange],
        pusher: str,
        author: str | None,
        committer: str | None,
    ) -> str:
        for fc in files:
            if fc.status == "removed":
                tree.pop(fc.path, None)
            elif fc.status == "renamed":
                assert fc.previous_path is not None
                old_sha = tree.pop(fc.previous_path, None)
                if fc.after is not None:
                    tree[fc.path] = self._store_blob(repo, as_bytes(fc.after))
                elif old_sha is not None:
                    tree[fc.path] = old_sha
                else:
                    raise ValueError(f"renamed file {fc.previous_path} is not in the pull request's head")
                pr.renames[fc.path] = pr.renames.pop(fc.previous_path, fc.previous_path)
            else:
                assert fc.after is not None
                tree[fc.path] = self._store_blob(repo, as_bytes(fc.after))
            if fc.huge:
                pr.huge.add(fc.path)
            else:
                pr.huge.discard(fc.path)
        sha = self._commit(repo, tree, branch=pr.head_ref, parent=pr.head_sha)
        repo.commit_people[sha] = (author, committer)
        for login in (pusher, author, committer):
            if login:
                self._users.add(login)
        pr.head_sha = sha
        pr.commits.append(sha)
        pr.pushers[sha] = pusher
        pr.updated_at = self._timestamp()
        return sha

    def push(
        self,
        full_name: str,
        number: int,
        files: Sequence[FileChange] = (),
        *,
        by: str | None = None,
        author: str | None = None,
        committer: str | None = None,
    ) -> str:
        """A new head commit on the pull request with these changes; returns its sha.

        ``by`` pushes it (default: the PR's author), and is its author and committer unless
        ``author`` / ``committer`` say otherwise (``committer="web-flow"``: made on github.com).
        """
        with self._lock:
            repo = self.repo(full_name)
            pr = self.pull(full_name, number)
            pusher = by or pr.author
            return self._new_head(
                repo, pr, dict(repo.trees[pr.head_sha]), files, pusher, author or pusher, committer or pusher
            )

    def pull_commits(self, full_name: str, number: int) -> list[dict[str, Any]]:
        """The pull request's commits as GitHub lists them, oldest first (not cut at 250)."""
        with self._lock:
            repo = self.repo(full_name)
            pr = self.pull(full_name, number)
            return [
                self.shapes.pull_commit(repo, sha, repo.parents.get(sha, []), *repo.commit_people.get(sha, (None, None)))
                for sha in pr.commits
            ]

    def pull(self, full_name: str, number: int) -> FakePull:
        with self._lock:
            try:
                return self._pulls[(full_name, number)]
            except KeyError:
                raise KeyError(f"fakehub: no pull request {full_name}#{number}") from None

    def retarget(self, full_name: str, number: int, base: str) -> tuple[str, str]:
        """Change the pull request's base branch (as GitHub does when the branch it was stacked on
        is merged and deleted, or by `PATCH .../pulls/{n}` with `base`); its files are then the
        difference from that branch. Returns the former base ref and sha (the `edited` event's
        `changes.base`)."""
        with self._lock:
            repo = self.repo(full_name)
            pr = self.pull(full_name, number)
            if base not in repo.branches:
                raise KeyError(f"fakehub: no branch {base} in {full_name}")
            former = (pr.base_ref, pr.base_sha)
            pr.base_ref, pr.base_sha = base, repo.branches[base]
            pr.updated_at = self._timestamp()
            return former

    def close_pull(self, full_name: str, number: int, merged: bool = False) -> None:
        with self._lock:
            pr = self.pull(full_name, number)
            pr.state = "closed"
            pr.merged = merged
            pr.updated_at = self._timestamp()

    def delete_pull(self, full_name: str, number: int) -> None:
        """Make the pull request vanish (GitHub then answers 404 for it)."""
        with self._lock:
            self._pulls.pop((full_name, number), None)

    def pull_files(self, full_name: str, number: int) -> list[dict[str, Any]]:
        """All changed files as GitHub lists them (not cut at 3,000)."""
        with self._lock:
            repo = self.repo(full_name)
            pr = self.pull(full_name, number)
            key = (full_name, pr.base_sha, pr.head_sha, frozenset(pr.huge))
            if key not in self._pull_files_cache:
                self._pull_files_cache[key] = self._diff(repo, pr)
            return self._pull_files_cache[key]

    def _diff(self, repo: FakeRepo, pr: FakePull) -> list[dict[str, Any]]:
        base = repo.trees[pr.base_sha]
        head = repo.trees[pr.head_sha]
        renamed = {
            new: old
            for new, old in pr.renames.items()
            if new in head and new not in base and old in base and old not in head
        }
        gone = set(renamed.values())
        out = []
        for path in sorted(set(base) | set(head)):
            if path in gone:
                continue
            previous = renamed.get(path)
            old_sha = base.get(previous or path)
            new_sha = head.get(path)
            if old_sha == new_sha and previous is None:
                continue
            if previous is not None:
                status = "renamed"
            elif old_sha is None:
                status = "added"
            elif new_sha is None:
                status = "removed"
            else:
                status = "modified"
            before = None if old_sha is None else repo.blobs[old_sha]
            after = None if new_sha is None else repo.blobs[new_sha]
            patch, additions, deletions = unified_patch(before, after)
            if path in pr.huge:
                patch = None
            sha = new_sha or old_sha
            assert sha is not None
            out.append(
                self.shapes.pull_file(repo, pr.head_sha, path, status, sha, patch, additions, deletions, previous)
            )
        return out

    # -- conversation -----------------------------------------------------------------------------
    def _issue_exists(self, full_name: str, number: int) -> bool:
        return (full_name, number) in self._pulls or (full_name, number) in self._issues

    def add_review(
        self,
        full_name: str,
        number: int,
        *,
        user: str,
        state: str = "APPROVED",
        commit_id: str | None = None,
        body: str = "",
        user_type: str = "User",
    ) -> int:
        """A review by a person (``commit_id`` None: the current head). Returns its id."""
        if state not in {"APPROVED", "CHANGES_REQUESTED", "COMMENTED", "DISMISSED", "PENDING"}:
            raise ValueError(f"unknown review state {state!r}")
        with self._lock:
            pr = self.pull(full_name, number)
            self._users.add(user)
            # GitHub moves a pull request's `updated_at` on every review and comment, so its
            # ETag changes with them.
            pr.updated_at = self._timestamp()
            return self._store_review(pr, user, user_type, state, commit_id or pr.head_sha, body, None)

    def _store_review(
        self,
        pr: FakePull,
        user: str,
        user_type: str,
        state: str,
        commit_id: str,
        body: str,
        comments: list[dict[str, Any]] | None,
    ) -> int:
        review: dict[str, Any] = {
            "id": self._next_id(),
            "user": user,
            "user_type": user_type,
            "state": state,
            "commit_id": commit_id,
            "body": body,
            "submitted_at": self._timestamp(),
            "comments": comments,
        }
        self._reviews[(pr.repo, pr.number)].append(review)
        if state != "PENDING":
            # GitHub: once a requested reviewer submits a review, they are no longer requested.
            pr.requested_reviewers = [u for u in pr.requested_reviewers if u.casefold() != user.casefold()]
        return int(review["id"])

    def dismiss_review(self, full_name: str, number: int, review_id: int) -> None:
        with self._lock:
            for review in self._reviews[(full_name, number)]:
                if review["id"] == review_id:
                    review["state"] = "DISMISSED"

    def reviews(self, full_name: str, number: int) -> list[dict[str, Any]]:
        with self._lock:
            repo = self.repo(full_name)
            return [self._review_shape(repo, number, r) for r in self._reviews.get((full_name, number), [])]

    def reviews_posted(self, full_name: str, number: int) -> list[dict[str, Any]]:
        """Reviews the app created through the API; each carries the ``comments`` it posted."""
        return [r for r in self.reviews(full_name, number) if r["user"]["login"] == self.shapes.bot_login()]

    def _review_shape(self, repo: FakeRepo, number: int, review: dict[str, Any]) -> dict[str, Any]:
        body = self.shapes.review(repo, number, review)
        if review["comments"] is not None:
            body["comments"] = copy.deepcopy(review["comments"])
        return body

    def add_comment(
        self, full_name: str, number: int, *, user: str, body: str, user_type: str = "User",
        via_app: int | None = None,
    ) -> int:
        """A comment by `user`; `via_app` is the id of the GitHub App that posted it, if any."""
        with self._lock:
            self.repo(full_name)
            if not self._issue_exists(full_name, number):
                raise KeyError(f"fakehub: no pull request or issue {full_name}#{number}")
            self._users.add(user)
            if (full_name, number) in self._pulls:
                self._pulls[(full_name, number)].updated_at = self._timestamp()
            return self._store_comment(full_name, number, user, user_type, body, via_app)

    def _store_comment(
        self, full_name: str, number: int, user: str, user_type: str, body: str, via_app: int | None = None
    ) -> int:
        now = self._timestamp()
        comment_id = self._next_id()
        repo = self._repos[full_name]
        association = "OWNER" if user == repo.owner else (
            "COLLABORATOR" if user in repo.collaborators else ("NONE" if user_type == "Bot" else "CONTRIBUTOR")
        )
        self._comments[comment_id] = {
            "id": comment_id,
            "repo": full_name,
            "issue": number,
            "user": user,
            "user_type": user_type,
            "body": body,
            "created_at": now,
            "updated_at": now,
            "association": association,
            "via_app": via_app,
        }
        return comment_id

    def edit_comment(self, comment_id: int, body: str) -> None:
        with self._lock:
            self._comments[comment_id].update(body=body, updated_at=self._timestamp())

    def comments(self, full_name: str, number: int) -> list[dict[str, Any]]:
        with self._lock:
            repo = self.repo(full_name)
            return [
                self.shapes.comment(repo, c)
                for c in self._comments.values()
                if c["repo"] == full_name and c["issue"] == number
            ]

    def reactions(self, comment_id: int) -> list[dict[str, Any]]:
        with self._lock:
            return [self.shapes.reaction(r) for r in self._reactions.get(comment_id, [])]

    # -- checks -----------------------------------------------------------------------------------
    def add_check_run(
        self,
        full_name: str,
        head_sha: str,
        name: str = "reviewgate",
        *,
        status: str = "completed",
        conclusion: str | None = "success",
        app_id: int | None = None,
        external_id: str = "",
    ) -> int:
        """A check run made outside the API (e.g. by another app, or before a test starts)."""
        with self._lock:
            self.repo(full_name)
            return self._create_run(
                full_name,
                {"name": name, "head_sha": head_sha, "status": status, "conclusion": conclusion,
                 "external_id": external_id},
                app_id or self.app_id,
            )

    def _create_run(self, full_name: str, data: dict[str, Any], app_id: int) -> int:
        run_id = self._next_id()
        now = self._timestamp()
        status = data.get("status") or "queued"
        conclusion = data.get("conclusion")
        if conclusion is not None:
            status = "completed"
        self._check_runs[run_id] = {
            "id": run_id,
            "repo": full_name,
            "head_sha": data["head_sha"],
            "name": data["name"],
            "status": status,
            "conclusion": conclusion,
            "started_at": data.get("started_at") or now,
            "completed_at": (data.get("completed_at") or now) if status == "completed" else None,
            "external_id": data.get("external_id", ""),
            "details_url": data.get("details_url", f"https://reviewgate.example/runs/{run_id}"),
            "output": {},
            "annotations": [],
            "app_id": app_id,
            "check_suite_id": stable_id("suite", full_name, data["head_sha"], app_id),
        }
        return run_id

    def _run_shape(self, run: dict[str, Any]) -> dict[str, Any]:
        repo = self._repos[run["repo"]]
        pulls = [
            p for p in self._pulls.values()
            if p.repo == run["repo"] and p.head_sha == run["head_sha"] and p.state == "open"
        ]
        return self.shapes.check_run(repo, run, pulls)

    def check_runs(self, full_name: str, head_sha: str) -> list[dict[str, Any]]:
        """Every check run on the commit, oldest first, each with all its ``annotations``."""
        with self._lock:
            repo = self.repo(full_name)
            out = []
            for run in self._check_runs.values():
                if run["repo"] == full_name and run["head_sha"] == head_sha:
                    body = self._run_shape(run)
                    body["annotations"] = [self.shapes.annotation(repo, head_sha, a) for a in run["annotations"]]
                    out.append(body)
            return out

    # -- webhook deliveries ---------------------------------------------------------------------
    def add_delivery(
        self,
        event: str,
        payload: dict[str, Any] | None = None,
        *,
        action: str | None = None,
        status_code: int = 502,
        guid: str | None = None,
        delivered_at: float | None = None,
    ) -> int:
        """A delivery in the app's delivery log (``GET /app/hook/deliveries``), newest first there.

        With ``payload`` and ``hub.webhook_url`` set, asking GitHub to redeliver it really POSTs
        it again, signed with ``hub.webhook_secret``.
        """
        with self._lock:
            payload = payload or {}
            delivery: dict[str, Any] = {
                "id": self._next_id(),
                "guid": guid or str(uuid.uuid4()),
                "delivered_at": iso(delivered_at if delivered_at is not None else time.time()),
                "redelivery": False,
                "duration": 0.05,
                "status": "OK" if status_code < 300 else f"Invalid HTTP Response: {status_code}",
                "status_code": status_code,
                "event": event,
                "action": action if action is not None else payload.get("action"),
                "installation_id": (payload.get("installation") or {}).get("id"),
                "repository_id": (payload.get("repository") or {}).get("id"),
                "throttled_at": None,
                "_payload": payload,
            }
            self._deliveries.append(delivery)
            return int(delivery["id"])

    def deliveries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [{k: v for k, v in d.items() if not k.startswith("_")} for d in reversed(self._deliveries)]

    def _redeliver(self, delivery: dict[str, Any]) -> None:
        url = self.webhook_url
        if url is None or not delivery["_payload"]:
            return
        body = json.dumps(delivery["_payload"]).encode()
        signature = hmac.new(self.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
        headers = {
            "Content-Type": "application/json",
            "X-GitHub-Event": delivery["event"],
            "X-GitHub-Delivery": delivery["guid"],
            "X-Hub-Signature-256": f"sha256={signature}",
            "User-Agent": "GitHub-Hookshot/fakehub",
        }
        try:
            status = requests.post(url, data=body, headers=headers, timeout=10).status_code
        except requests.RequestException:
            status = 0
        with self._lock:
            again = dict(delivery, id=self._next_id(), redelivery=True, status_code=status,
                         delivered_at=iso(time.time()),
                         status="OK" if 200 <= status < 300 else f"Invalid HTTP Response: {status}")
            self._deliveries.append(again)

    # -- tokens -----------------------------------------------------------------------------------
    def issue_token(self, installation_id: int, repos: set[str] | None = None) -> dict[str, Any]:
        with self._lock:
            token = "ghs_" + secrets.token_urlsafe(27).replace("-", "A").replace("_", "B")[:36]
            record = {
                "installation_id": installation_id,
                "expires_at": time.time() + self.token_ttl,
                "repos": repos,
            }
            self._tokens[token] = record
            return {"token": token, **record}

    def expire_tokens(self) -> None:
        """Every installation token issued so far is now expired (GitHub answers 401)."""
        with self._lock:
            for record in self._tokens.values():
                record["expires_at"] = min(record["expires_at"], time.time() - 1)

    def token_record(self, token: str) -> dict[str, Any] | None:
        with self._lock:
            return self._tokens.get(token)

    # -- faults and log ---------------------------------------------------------------------------
    def fail(
        self,
        method: str,
        path_regex: str,
        status: int | None,
        times: int | None = 1,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        body: Any = None,
        served: bool = False,
    ) -> None:
        """The next ``times`` requests (None: all) matching ``method`` ("*": any) and
        ``path_regex`` (``re.search`` on the path) wait ``delay`` seconds, then answer ``status``.

        ``served``: the request is served first (what it changes is changed), then the delay
        and ``status`` replace its answer, as when GitHub's front times out on a write its
        back end made: the client cannot tell whether it was made.

        ``status`` None or below 400: after the delay the request is served normally (a slow
        answer, to push a client past its timeout). A 403 with ``Retry-After`` in ``headers`` is
        a secondary rate limit, one with ``X-RateLimit-Remaining: 0`` a primary one; the body
        says so as GitHub does (see ``secondary_rate_limit`` / ``primary_rate_limit``).
        """
        with self._lock:
            self._faults.append(
                Fault(method.upper(), re.compile(path_regex), status, times, dict(headers or {}), delay, body, served)
            )

    def secondary_rate_limit(self, method: str, path_regex: str, retry_after: int = 1, times: int | None = 1) -> None:
        self.fail(method, path_regex, 403, times, {"Retry-After": str(retry_after)})

    def primary_rate_limit(self, method: str, path_regex: str, reset_in: int = 1, times: int | None = 1) -> None:
        headers = {
            "X-RateLimit-Limit": "5000",
            "X-RateLimit-Remaining": "0",
            "X-RateLimit-Used": "5000",
            "X-RateLimit-Reset": str(int(time.time()) + reset_in),
            "X-RateLimit-Resource": "core",
        }
        self.fail(method, path_regex, 403, times, headers)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def hold_answer(self, method: str, path_regex: str) -> threading.Event:
        """The next request matching ``method`` and ``path_regex`` is served (what it changes is
        changed), and its answer is held back until the returned event is set (60 s at most):
        a client that dies meanwhile never learns what GitHub did."""
        release = threading.Event()
        with self._lock:
            self._holds.append((method.upper(), re.compile(path_regex), release))
        return release

    def take_hold(self, method: str, path: str) -> threading.Event | None:
        with self._lock:
            for hold in self._holds:
                if hold[0] == method and hold[1].search(path):
                    self._holds.remove(hold)
                    return hold[2]
            return None

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.method in {"*", method} and fault.pattern.search(path):
                    if fault.times is not None:
                        fault.times -= 1
                        if fault.times <= 0:
                            self._faults.remove(fault)
                    return fault
            return None

    def wait(self, seconds: float) -> None:
        """Sleep for an injected delay, cut short when the hub stops."""
        self._stopping.wait(seconds)

    def log(self, entry: LoggedRequest) -> None:
        with self._lock:
            self.requests.append(entry)

    def clear_log(self) -> None:
        with self._lock:
            self.requests.clear()
            self.blob_fetches = 0
            self.config_blob_fetches = 0
            self.blob_bytes_served.clear()

    def served(self, sha: str, count: int) -> None:
        with self._lock:
            self.blob_bytes_served[sha] = self.blob_bytes_served.get(sha, 0) + count

    def requests_to(self, method: str, path_regex: str) -> list[LoggedRequest]:
        pattern = re.compile(path_regex)
        with self._lock:
            return [r for r in self.requests if r.method == method.upper() and pattern.search(r.path)]

    def record_error(self) -> None:
        with self._lock:
            self.server_errors.append(traceback.format_exc())

    @contextmanager
    def locked(self) -> Iterator[None]:
        with self._lock:
            yield
