"""Response bodies: GitHub's own examples with our fields written over them.

Starting from the published examples keeps every field a client may read (PyGithub parses
most of them); only identity, URLs and state are overridden.
"""

from __future__ import annotations

import base64
import functools
import hashlib
from typing import Any

from .model import FakePull, FakeRepo
from .openapi import example

GITHUB_API = "https://api.github.com"
GITHUB_WEB = "https://github.com"
DOCS = "https://docs.github.com/rest"


def stable_id(*parts: object) -> int:
    """A positive id that stays the same for the same name across runs."""
    digest = hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:4], "big") % 90_000_000 + 1_000_000


def node_id(kind: str, ident: int) -> str:
    return base64.b64encode(f"0:{kind}{ident}".encode()).decode().rstrip("=")


def rewrite(value: Any, replacements: list[tuple[str, str]]) -> Any:
    """Point the example's URLs at our server and names (first matching prefix wins)."""
    if isinstance(value, dict):
        return {k: rewrite(v, replacements) for k, v in value.items()}
    if isinstance(value, list):
        return [rewrite(v, replacements) for v in value]
    if isinstance(value, str):
        for old, new in replacements:
            value = value.replace(old, new)
        return value
    return value


def repo_replacements(base: str, full_name: str) -> list[tuple[str, str]]:
    out = []
    for example_repo in ("octocat/Hello-World", "github/hello-world", "octocat/linguist"):
        out += [
            (f"{GITHUB_API}/repos/{example_repo}", f"{base}/repos/{full_name}"),
            (f"{GITHUB_WEB}/{example_repo}", f"{GITHUB_WEB}/{full_name}"),
            (f"github.com:{example_repo}", f"github.com:{full_name}"),
            (f"github.com/{example_repo}", f"github.com/{full_name}"),
        ]
    return out + [(GITHUB_API, base)]


def encode_content(data: bytes) -> str:
    # GitHub wraps base64 content at 60 characters, with a trailing newline.
    raw = base64.b64encode(data).decode()
    return "".join(raw[i : i + 60] + "\n" for i in range(0, len(raw), 60))


def error(message: str, status: int, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"message": message, "documentation_url": DOCS, "status": str(status)}
    body.update(extra)
    return body


@functools.cache
def _user_template() -> dict[str, Any]:
    # Users appear many times in one answer; copying the whole pull example for each is slow.
    user: dict[str, Any] = example("pulls/get")["user"]
    return user


class Shapes:
    """Builds the JSON of each resource for one running hub (its base URL and app)."""

    def __init__(self, base: str, app_id: int, app_slug: str) -> None:
        self.base = base
        self.app_id = app_id
        self.app_slug = app_slug

    # -- accounts ---------------------------------------------------------------------------
    def user(self, login: str, kind: str = "User") -> dict[str, Any]:
        body = rewrite(
            _user_template(),
            [
                (f"{GITHUB_API}/users/octocat", f"{self.base}/users/{login}"),
                (f"{GITHUB_WEB}/octocat", f"{GITHUB_WEB}/{login}"),
                (GITHUB_API, self.base),
            ],
        )
        ident = stable_id("user", login)
        body.update(login=login, id=ident, node_id=node_id("User", ident), type=kind)
        body["avatar_url"] = f"https://avatars.githubusercontent.com/u/{ident}?v=4"
        body["site_admin"] = False
        return body

    def bot_login(self) -> str:
        return f"{self.app_slug}[bot]"

    def app(self, owner: str = "reviewgate-org") -> dict[str, Any]:
        body = example("apps/get-authenticated")
        body = rewrite(body, [(GITHUB_API, self.base)])
        body.update(
            id=self.app_id,
            slug=self.app_slug,
            client_id=f"Iv1.{self.app_id:016x}",
            node_id=node_id("Integration", self.app_id),
            name="Reviewgate",
            description="A merge gate for Python pull requests",
            external_url="https://reviewgate.example",
            html_url=f"{GITHUB_WEB}/apps/{self.app_slug}",
            permissions={
                "checks": "write",
                "contents": "read",
                "issues": "write",
                "metadata": "read",
                "members": "read",
                "pull_requests": "write",
            },
            events=["check_run", "check_suite", "issue_comment", "pull_request", "pull_request_review"],
        )
        body["owner"] = self.user(owner, "Organization")
        return body

    def installation(self, installation_id: int, account: str, repos: list[FakeRepo]) -> dict[str, Any]:
        body = example("apps/get-repo-installation")
        body = rewrite(body, [(GITHUB_API, self.base)])
        body.update(
            id=installation_id,
            account=self.user(account, "Organization"),
            repository_selection="selected",
            access_tokens_url=f"{self.base}/app/installations/{installation_id}/access_tokens",
            repositories_url=f"{self.base}/installation/repositories",
            html_url=f"{GITHUB_WEB}/organizations/{account}/settings/installations/{installation_id}",
            app_id=self.app_id,
            app_slug=self.app_slug,
            client_id=f"Iv1.{self.app_id:016x}",
            target_id=stable_id("user", account),
            target_type="Organization",
            permissions=self.app()["permissions"],
            events=self.app()["events"],
            suspended_at=None,
            suspended_by=None,
        )
        return body

    def access_token(self, token: str, expires_at: str, repos: list[FakeRepo], installation_id: int) -> dict[str, Any]:
        body = example("apps/create-installation-access-token", "201")
        body.update(
            token=token,
            expires_at=expires_at,
            permissions=self.app()["permissions"],
            repository_selection="selected",
            repositories=[self.repository(r) for r in repos],
        )
        return body

    # -- repositories -------------------------------------------------------------------------
    def repository(self, repo: FakeRepo) -> dict[str, Any]:
        body = example("repos/get")
        for key in ("parent", "source", "template_repository"):
            body.pop(key, None)
        body = rewrite(body, repo_replacements(self.base, repo.full_name))
        owner = self.user(repo.owner, "Organization")
        body.update(
            id=repo.id,
            node_id=node_id("Repository", repo.id),
            name=repo.name,
            full_name=repo.full_name,
            owner=owner,
            organization=owner,
            private=repo.private,
            visibility="private" if repo.private else "public",
            description=f"{repo.name} (fakehub)",
            default_branch=repo.default_branch,
            language="Python",
            fork=False,
            archived=False,
            disabled=False,
        )
        return body

    def _branch(self, repo: FakeRepo, ref: str, sha: str, login: str) -> dict[str, Any]:
        return {
            "label": f"{repo.owner}:{ref}",
            "ref": ref,
            "sha": sha,
            "user": self.user(repo.owner, "User" if repo.owner == login else "Organization"),
            "repo": self.repository(repo),
        }

    def pull(self, repo: FakeRepo, pr: FakePull, files: list[dict[str, Any]]) -> dict[str, Any]:
        body = example("pulls/get")
        body = rewrite(body, repo_replacements(self.base, repo.full_name))
        api = f"{self.base}/repos/{repo.full_name}"
        web = f"{GITHUB_WEB}/{repo.full_name}"
        n = pr.number
        body.update(
            url=f"{api}/pulls/{n}",
            id=pr.id,
            node_id=node_id("PullRequest", pr.id),
            html_url=f"{web}/pull/{n}",
            diff_url=f"{web}/pull/{n}.diff",
            patch_url=f"{web}/pull/{n}.patch",
            issue_url=f"{api}/issues/{n}",
            commits_url=f"{api}/pulls/{n}/commits",
            review_comments_url=f"{api}/pulls/{n}/comments",
            review_comment_url=f"{api}/pulls/comments{{/number}}",
            comments_url=f"{api}/issues/{n}/comments",
            statuses_url=f"{api}/statuses/{pr.head_sha}",
            number=n,
            state=pr.state,
            locked=False,
            title=pr.title,
            user=self.user(pr.author, pr.author_type),
            body=pr.body,
            labels=[],
            milestone=None,
            active_lock_reason=None,
            created_at=pr.created_at,
            updated_at=pr.updated_at,
            closed_at=None if pr.state == "open" else pr.updated_at,
            merged_at=pr.updated_at if pr.merged else None,
            merge_commit_sha=None,
            assignee=None,
            assignees=[],
            requested_reviewers=[self.user(login) for login in pr.requested_reviewers],
            requested_teams=[self.team(repo.owner, slug) for slug in pr.requested_teams],
            head=self._branch(self._head_repo(repo, pr), pr.head_ref, pr.head_sha, pr.author),
            base=self._branch(repo, pr.base_ref, pr.base_sha, repo.owner),
            author_association="CONTRIBUTOR",
            auto_merge=None,
            draft=pr.draft,
            merged=pr.merged,
            mergeable=True,
            rebaseable=True,
            mergeable_state="clean",
            merged_by=None,
            comments=0,
            review_comments=0,
            maintainer_can_modify=False,
            commits=len(pr.commits),
            additions=sum(f["additions"] for f in files),
            deletions=sum(f["deletions"] for f in files),
            changed_files=len(files),
        )
        body["_links"] = {
            "self": {"href": f"{api}/pulls/{n}"},
            "html": {"href": f"{web}/pull/{n}"},
            "issue": {"href": f"{api}/issues/{n}"},
            "comments": {"href": f"{api}/issues/{n}/comments"},
            "review_comments": {"href": f"{api}/pulls/{n}/comments"},
            "review_comment": {"href": f"{api}/pulls/comments{{/number}}"},
            "commits": {"href": f"{api}/pulls/{n}/commits"},
            "statuses": {"href": f"{api}/statuses/{pr.head_sha}"},
        }
        return body

    def _head_repo(self, repo: FakeRepo, pr: FakePull) -> FakeRepo:
        if pr.head_repo is None:
            return repo
        return FakeRepo(pr.head_repo, stable_id("repo", pr.head_repo), repo.default_branch, None, False)

    def pull_file(
        self,
        repo: FakeRepo,
        head_sha: str,
        path: str,
        status: str,
        sha: str,
        patch: str | None,
        additions: int,
        deletions: int,
        previous: str | None,
    ) -> dict[str, Any]:
        body = example("pulls/list-files")[0]
        body.update(
            sha=sha,
            filename=path,
            status=status,
            additions=additions,
            deletions=deletions,
            changes=additions + deletions,
            blob_url=f"{GITHUB_WEB}/{repo.full_name}/blob/{head_sha}/{path}",
            raw_url=f"{GITHUB_WEB}/{repo.full_name}/raw/{head_sha}/{path}",
            contents_url=f"{self.base}/repos/{repo.full_name}/contents/{path}?ref={head_sha}",
        )
        body.pop("patch", None)
        if patch is not None:
            body["patch"] = patch
        if previous is not None:
            body["previous_filename"] = previous
        return body

    def blob(self, repo: FakeRepo, sha: str, data: bytes) -> dict[str, Any]:
        body = example("git/get-blob")
        body.update(
            content=encode_content(data),
            encoding="base64",
            url=f"{self.base}/repos/{repo.full_name}/git/blobs/{sha}",
            sha=sha,
            size=len(data),
            node_id=node_id("Blob", stable_id(repo.full_name, sha)),
        )
        return body

    def content_file(self, repo: FakeRepo, ref: str, path: str, sha: str, data: bytes) -> dict[str, Any]:
        body = example("repos/get-content", "200", "response-if-content-is-a-file")
        return self._content_common(repo, ref, path, sha, "file", len(data), body) | {
            "encoding": "base64",
            "content": encode_content(data),
        }

    def content_dir_entry(self, repo: FakeRepo, ref: str, path: str, sha: str, kind: str, size: int) -> dict[str, Any]:
        body = example("repos/get-content", "200", "response-if-content-is-a-directory")[0]
        return self._content_common(repo, ref, path, sha, kind, size, body)

    def _content_common(
        self, repo: FakeRepo, ref: str, path: str, sha: str, kind: str, size: int, body: dict[str, Any]
    ) -> dict[str, Any]:
        api = f"{self.base}/repos/{repo.full_name}"
        is_file = kind == "file"
        body.update(
            type=kind,
            size=size,
            name=path.rsplit("/", 1)[-1],
            path=path,
            sha=sha,
            url=f"{api}/contents/{path}?ref={ref}",
            git_url=f"{api}/git/{'blobs' if is_file else 'trees'}/{sha}",
            html_url=f"{GITHUB_WEB}/{repo.full_name}/{'blob' if is_file else 'tree'}/{ref}/{path}",
            download_url=(
                f"https://raw.githubusercontent.com/{repo.full_name}/{ref}/{path}" if is_file else None
            ),
        )
        body["_links"] = {"self": body["url"], "git": body["git_url"], "html": body["html_url"]}
        return body

    # -- conversation ---------------------------------------------------------------------------
    def comment(self, repo: FakeRepo, comment: dict[str, Any]) -> dict[str, Any]:
        body = example("issues/create-comment", "201")
        body = rewrite(body, repo_replacements(self.base, repo.full_name))
        api = f"{self.base}/repos/{repo.full_name}"
        body.update(
            id=comment["id"],
            node_id=node_id("IssueComment", comment["id"]),
            url=f"{api}/issues/comments/{comment['id']}",
            html_url=f"{GITHUB_WEB}/{repo.full_name}/pull/{comment['issue']}#issuecomment-{comment['id']}",
            body=comment["body"],
            user=self.user(comment["user"], comment["user_type"]),
            created_at=comment["created_at"],
            updated_at=comment["updated_at"],
            issue_url=f"{api}/issues/{comment['issue']}",
            author_association=comment["association"],
        )
        for key in ("pin", "minimized", "reactions"):
            body.pop(key, None)
        # GitHub names the App that wrote a comment with an installation token; null otherwise.
        via = comment.get("via_app")
        body["performed_via_github_app"] = (
            None if via is None else self.app() if via == self.app_id else self._other_app(via)
        )
        return body

    def reaction(self, reaction: dict[str, Any]) -> dict[str, Any]:
        body = example("reactions/create-for-issue-comment", "201")
        body.update(
            id=reaction["id"],
            node_id=node_id("Reaction", reaction["id"]),
            user=self.user(reaction["user"], reaction["user_type"]),
            content=reaction["content"],
            created_at=reaction["created_at"],
        )
        return body

    def review(self, repo: FakeRepo, number: int, review: dict[str, Any]) -> dict[str, Any]:
        body = example("pulls/create-review")
        body = rewrite(body, repo_replacements(self.base, repo.full_name))
        api = f"{self.base}/repos/{repo.full_name}"
        body.update(
            id=review["id"],
            node_id=node_id("PullRequestReview", review["id"]),
            user=self.user(review["user"], review["user_type"]),
            body=review["body"],
            state=review["state"],
            html_url=f"{GITHUB_WEB}/{repo.full_name}/pull/{number}#pullrequestreview-{review['id']}",
            pull_request_url=f"{api}/pulls/{number}",
            commit_id=review["commit_id"],
            author_association="COLLABORATOR",
        )
        body["_links"] = {
            "html": {"href": body["html_url"]},
            "pull_request": {"href": body["pull_request_url"]},
        }
        if review["state"] == "PENDING":
            body.pop("submitted_at", None)
        else:
            body["submitted_at"] = review["submitted_at"]
        return body

    def permission(self, repo: FakeRepo, login: str, role: str) -> dict[str, Any]:
        body = example(
            "repos/get-collaborator-permission-level", "200", "response-if-user-has-admin-permissions"
        )
        # `permission` is the legacy four-level view; `role_name` keeps the real role.
        legacy = {"admin": "admin", "maintain": "write", "write": "write", "triage": "read", "read": "read"}
        user = self.user(login)
        user["permissions"] = {
            "admin": role == "admin",
            "maintain": role in {"admin", "maintain"},
            "push": role in {"admin", "maintain", "write"},
            "triage": role in {"admin", "maintain", "write", "triage"},
            "pull": role != "none",
        }
        user["role_name"] = role
        body.update(permission=legacy.get(role, "none"), role_name=role, user=user)
        return body

    def team(self, org: str, slug: str) -> dict[str, Any]:
        """GitHub's team-simple shape."""
        ident = stable_id("team", org, slug)
        return {
            "id": ident, "node_id": node_id("Team", ident), "url": f"{self.base}/orgs/{org}/teams/{slug}",
            "html_url": f"https://github.com/orgs/{org}/teams/{slug}", "name": slug, "slug": slug,
            "description": None, "privacy": "closed", "notification_setting": "notifications_enabled",
            "permission": "pull", "members_url": f"{self.base}/orgs/{org}/teams/{slug}/members{{/member}}",
            "repositories_url": f"{self.base}/orgs/{org}/teams/{slug}/repos", "parent": None,
            "type": "organization",
        }

    def team_membership(self, org: str, team: str, login: str, role: str) -> dict[str, Any]:
        body = example("teams/get-membership-for-user-in-org")
        body.update(
            url=f"{self.base}/teams/{stable_id('team', org, team)}/memberships/{login}",
            role=role,
            state="active",
        )
        return body

    # -- checks ---------------------------------------------------------------------------
    def check_run(self, repo: FakeRepo, run: dict[str, Any], pulls: list[FakePull]) -> dict[str, Any]:
        body = example("checks/get")
        body = rewrite(body, repo_replacements(self.base, repo.full_name))
        api = f"{self.base}/repos/{repo.full_name}"
        body.update(
            id=run["id"],
            head_sha=run["head_sha"],
            node_id=node_id("CheckRun", run["id"]),
            external_id=run["external_id"],
            url=f"{api}/check-runs/{run['id']}",
            html_url=f"{GITHUB_WEB}/{repo.full_name}/runs/{run['id']}",
            details_url=run["details_url"],
            status=run["status"],
            conclusion=run["conclusion"],
            started_at=run["started_at"],
            completed_at=run["completed_at"],
            name=run["name"],
            check_suite={"id": run["check_suite_id"]},
            app=self.app() if run["app_id"] == self.app_id else self._other_app(run["app_id"]),
            pull_requests=[
                {
                    "url": f"{api}/pulls/{p.number}",
                    "id": p.id,
                    "number": p.number,
                    "head": {"ref": p.head_ref, "sha": p.head_sha, "repo": self._mini_repo(repo)},
                    "base": {"ref": p.base_ref, "sha": p.base_sha, "repo": self._mini_repo(repo)},
                }
                for p in pulls
            ],
        )
        body["output"] = {
            "title": run["output"].get("title"),
            "summary": run["output"].get("summary"),
            "text": run["output"].get("text"),
            "annotations_count": len(run["annotations"]),
            "annotations_url": f"{api}/check-runs/{run['id']}/annotations",
        }
        return body

    def _mini_repo(self, repo: FakeRepo) -> dict[str, Any]:
        return {"id": repo.id, "url": f"{self.base}/repos/{repo.full_name}", "name": repo.name}

    def _other_app(self, app_id: int) -> dict[str, Any]:
        body = self.app()
        body.update(id=app_id, slug=f"app-{app_id}", name=f"Other app {app_id}", node_id=node_id("Integration", app_id))
        return body

    def annotation(self, repo: FakeRepo, head_sha: str, a: dict[str, Any]) -> dict[str, Any]:
        return {
            "path": a["path"],
            "start_line": a["start_line"],
            "end_line": a["end_line"],
            "start_column": a.get("start_column"),
            "end_column": a.get("end_column"),
            "annotation_level": a["annotation_level"],
            "title": a.get("title"),
            "message": a["message"],
            "raw_details": a.get("raw_details"),
            "blob_href": f"{GITHUB_WEB}/{repo.full_name}/blob/{head_sha}/{a['path']}",
        }

    def issue(
        self, repo: FakeRepo, number: int, pr: FakePull | None, issue: dict[str, Any] | None, comments: int
    ) -> dict[str, Any]:
        # Not in the OpenAPI subset: the fields of GitHub's issue object that clients read.
        api = f"{self.base}/repos/{repo.full_name}"
        web = f"{GITHUB_WEB}/{repo.full_name}"
        author = pr.author if pr else (issue or {})["author"]
        ident = pr.id if pr else stable_id("issue", repo.full_name, number)
        created = pr.created_at if pr else "2026-01-01T00:00:00Z"
        body: dict[str, Any] = {
            "id": ident,
            "node_id": node_id("Issue", ident),
            "url": f"{api}/issues/{number}",
            "repository_url": api,
            "labels_url": f"{api}/issues/{number}/labels{{/name}}",
            "comments_url": f"{api}/issues/{number}/comments",
            "events_url": f"{api}/issues/{number}/events",
            "html_url": f"{web}/{'pull' if pr else 'issues'}/{number}",
            "number": number,
            "state": pr.state if pr else "open",
            "title": pr.title if pr else (issue or {})["title"],
            "body": pr.body if pr else "",
            "user": self.user(author, pr.author_type if pr else "User"),
            "labels": [],
            "assignee": None,
            "assignees": [],
            "milestone": None,
            "locked": False,
            "comments": comments,
            "closed_at": None,
            "created_at": created,
            "updated_at": pr.updated_at if pr else created,
            "author_association": "CONTRIBUTOR",
        }
        if pr:
            body["pull_request"] = {
                "url": f"{api}/pulls/{number}",
                "html_url": f"{web}/pull/{number}",
                "diff_url": f"{web}/pull/{number}.diff",
                "patch_url": f"{web}/pull/{number}.patch",
                "merged_at": pr.updated_at if pr.merged else None,
            }
        return body

    def commit(self, repo: FakeRepo, sha: str, parents: list[str]) -> dict[str, Any]:
        # Not in the OpenAPI subset and without an example: the fields PyGithub's Commit reads.
        api = f"{self.base}/repos/{repo.full_name}"
        person = {"name": "Fake Hub", "email": "fakehub@example.com", "date": "2026-01-01T00:00:00Z"}
        return {
            "sha": sha,
            "node_id": node_id("Commit", stable_id(repo.full_name, sha)),
            "url": f"{api}/commits/{sha}",
            "html_url": f"{GITHUB_WEB}/{repo.full_name}/commit/{sha}",
            "comments_url": f"{api}/commits/{sha}/comments",
            "commit": {
                "url": f"{api}/git/commits/{sha}",
                "author": person,
                "committer": person,
                "message": f"commit {sha[:7]}",
                "tree": {"sha": sha, "url": f"{api}/git/trees/{sha}"},
                "comment_count": 0,
            },
            "author": None,
            "committer": None,
            "parents": [
                {"sha": p, "url": f"{api}/commits/{p}", "html_url": f"{GITHUB_WEB}/{repo.full_name}/commit/{p}"}
                for p in parents
            ],
            "files": [],
        }

    def pull_commit(
        self, repo: FakeRepo, sha: str, parents: list[str], author: str | None, committer: str | None
    ) -> dict[str, Any]:
        """One item of a pull request's commit list: the git author and committer, and the
        GitHub accounts their emails belong to (``null`` when an email belongs to none)."""
        # The list's items have the shape of the compare endpoint's `commits`; it has an example.
        body = rewrite(example("repos/compare-commits")["commits"][0], repo_replacements(self.base, repo.full_name))
        api = f"{self.base}/repos/{repo.full_name}"

        def person(login: str | None) -> dict[str, Any]:
            name = login or "Someone Unlinked"
            if login == "web-flow":
                name, email = "GitHub", "noreply@github.com"
            else:
                email = f"{stable_id('user', name)}+{name}@users.noreply.github.com" if login else "unlinked@example.com"
            return {"name": name, "email": email, "date": "2026-01-01T00:00:00Z"}

        body.update(
            sha=sha,
            node_id=node_id("Commit", stable_id(repo.full_name, sha)),
            url=f"{api}/commits/{sha}",
            html_url=f"{GITHUB_WEB}/{repo.full_name}/commit/{sha}",
            comments_url=f"{api}/commits/{sha}/comments",
            author=self.user(author) if author else None,
            committer=self.user(committer) if committer else None,
            parents=[
                {"sha": p, "url": f"{api}/commits/{p}", "html_url": f"{GITHUB_WEB}/{repo.full_name}/commit/{p}"}
                for p in parents
            ],
        )
        body["commit"].update(
            url=f"{api}/git/commits/{sha}",
            author=person(author),
            committer=person(committer),
            message=f"commit {sha[:7]}",
            tree={"sha": sha, "url": f"{api}/git/trees/{sha}"},
        )
        return body

    def rate_limit(self, remaining: int, reset: int) -> dict[str, Any]:
        body = example("rate-limit/get")
        core = {"limit": 5000, "used": 5000 - remaining, "remaining": remaining, "reset": reset}
        body["resources"]["core"] = core
        body["rate"] = dict(core)
        return body
