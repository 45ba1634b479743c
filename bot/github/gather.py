"""Reads from GitHub for an evaluation or a command: the files a pull request changes, the
gate's configuration, reviews, commits, repository roles and team memberships.

Each read asks as little as it can (one request per page, roles once per login) and gives
plain facts (`bot.policy.facts`); nothing here decides.
"""

from __future__ import annotations

import base64
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from github import GithubException, UnknownObjectException
from github.PullRequest import PullRequest
from github.Repository import Repository

import rules
from bot.analysis import ChangedFile
from bot.github.client import reason_of
from bot.github.traffic import CACHE_HEADER
from bot.policy.facts import MAX_LISTED_COMMITS, CommitFact, Review
from bot.policy.repo_config import DEFAULT_CONFIG, PERMISSIONS, GateConfig, parse_repo_config
from rules.config import check_size

log = logging.getLogger(__name__)

MAX_FILES = 3000  # GitHub lists at most this many files of a pull request
_PER_PAGE = 100


@dataclass(frozen=True)
class Gathered:
    files: tuple[ChangedFile, ...]  # as GitHub listed them: at most MAX_FILES
    total_files: int  # GitHub's count of the files the PR changes, listed or not
    config: GateConfig
    config_error: str | None
    default_branch: str


def read_config(repo: Repository, default_branch: str) -> tuple[GateConfig, str | None]:
    """The gate's configuration from the default branch, never the PR head, and its error.

    An invalid file gives the defaults (for the annotations only) and the error, which
    fails the check: a policy that cannot be read is never replaced by a guess.

    The file is found through its folder's listing, asked conditionally: while `.github/`
    is unchanged GitHub answers 304, free of rate limit, and the file's blob (by sha) is
    remembered. A missing file cannot be asked about conditionally (GitHub's 404 has no ETag);
    a missing folder costs one request, as before.
    """
    folder, _, name = rules.CONFIG_PATH.rpartition("/")
    try:
        _, listing = repo.requester.requestJsonAndCheck(
            "GET", f"{repo.url}/contents/{quote(folder)}", parameters={"ref": default_branch}
        )
        entries = {e.get("name"): e for e in listing} if isinstance(listing, list) else {}
        entry = entries.get(name)
        if entry is None:
            return DEFAULT_CONFIG, None
        if entry.get("type") == "dir":
            raise rules.ConfigError(rules.CONFIG_PATH, None, "is a directory, not a file")
        check_size(int(entry.get("size") or 0))  # before the file is fetched
        if entry.get("type") != "file":  # a symbolic link or a submodule: GitHub resolves it
            return _read_config_file(repo, default_branch)
        return parse_repo_config(_config_text(repo, str(entry.get("sha")))), None
    except UnknownObjectException:
        return DEFAULT_CONFIG, None
    except rules.ConfigError as exc:
        return DEFAULT_CONFIG, str(exc)


def _read_config_file(repo: Repository, default_branch: str) -> tuple[GateConfig, str | None]:
    content = repo.get_contents(rules.CONFIG_PATH, ref=default_branch)
    if isinstance(content, list):  # a directory with the file's name
        raise rules.ConfigError(rules.CONFIG_PATH, None, "is a directory, not a file")
    check_size(content.size)
    return parse_repo_config(content.decoded_content.decode("utf-8", "replace")), None


# Configuration files by (repository, blob sha): a blob never changes, so it is asked once.
_CONFIG_TEXTS: OrderedDict[tuple[str, str], str] = OrderedDict()
_CONFIG_TEXTS_MAX = 256
_CONFIG_LOCK = threading.Lock()


def _config_text(repo: Repository, sha: str) -> str:
    key = (repo.url, sha)
    with _CONFIG_LOCK:
        if key in _CONFIG_TEXTS:
            _CONFIG_TEXTS.move_to_end(key)
            return _CONFIG_TEXTS[key]
    # Asked conditionally (the cache shared by the workers answers a 304 when another process
    # read it), where other blobs are not: this one is read by every evaluation.
    _, blob = repo.requester.requestJsonAndCheck(
        "GET", f"{repo.url}/git/blobs/{quote(sha, safe='')}", headers={CACHE_HEADER: "1"}
    )
    raw = base64.b64decode(blob.get("content") or "") if isinstance(blob, dict) else b""
    check_size(len(raw))
    text = raw.decode("utf-8", "replace")
    with _CONFIG_LOCK:
        _CONFIG_TEXTS[key] = text
        while len(_CONFIG_TEXTS) > _CONFIG_TEXTS_MAX:
            _CONFIG_TEXTS.popitem(last=False)
    return text


def changes(repo: Repository, pull: PullRequest, pool: Executor) -> Gathered:
    """The files the pull request changes (as many as GitHub lists) and the gate's configuration,
    read side by side: the configuration and every page of files at once."""
    default_branch = pull.base.repo.default_branch
    config = pool.submit(read_config, repo, default_branch)
    files = list_files(pull, pool)
    # Never fewer than were listed: a count GitHub did not give must not pass for a small one.
    total = max(pull.changed_files or 0, len(files))
    return Gathered(tuple(files), total, *config.result(), default_branch)


def list_files(pull: PullRequest, pool: Executor) -> list[ChangedFile]:
    """Every page GitHub's count of changed files calls for, asked at once; then on, one page
    at a time, while pages come back full (the PR may have grown since it was read)."""
    expected = min(MAX_FILES, pull.changed_files or 0)
    pages = max(1, -(-expected // _PER_PAGE))
    listed: list[dict[str, Any]] = []
    for page in pool.map(lambda page: _files_page(pull, page), range(1, pages + 1)):
        listed.extend(page)
    last = pages
    while len(listed) == last * _PER_PAGE and len(listed) < MAX_FILES:
        last += 1
        listed.extend(_files_page(pull, last))
    return [
        ChangedFile(f["filename"], f["status"], f["sha"], f.get("patch"), f.get("previous_filename"))
        for f in listed[:MAX_FILES]
    ]


def _files_page(pull: PullRequest, page: int) -> list[dict[str, Any]]:
    _, data = pull.requester.requestJsonAndCheck(
        "GET", f"{pull.url}/files", parameters={"per_page": _PER_PAGE, "page": page}
    )
    return data if isinstance(data, list) else []


def branch_tip(repo: Repository, branch: str) -> str | None:
    """The sha of the branch's latest commit. Asked directly: a lazy PyGithub commit would
    answer with the ref it was given."""
    _, commit = repo.requester.requestJsonAndCheck("GET", f"{repo.url}/commits/{quote(branch)}")
    return commit.get("sha") if isinstance(commit, dict) else None


class Permissions:
    """Repository roles from the collaborator permission endpoint, asked once per login.

    One instance lives for one evaluation (or one command job): a role changed on GitHub
    is seen by the next one.
    """

    def __init__(self, repo: Repository) -> None:
        self.repo = repo
        self._known: dict[str, str] = {}

    def of(self, login: str) -> str:
        key = login.casefold()
        if key not in self._known:
            try:
                _, data = self.repo.requester.requestJsonAndCheck(
                    "GET", f"{self.repo.url}/collaborators/{quote(login, safe='')}/permission"
                )
            except UnknownObjectException:
                data = {"permission": "none"}
            # `role_name` keeps maintain and triage apart; `permission` folds them into
            # write and read. Custom roles fall back to the folded value.
            role = str(data.get("role_name") or "").lower()
            if role not in PERMISSIONS:
                role = str(data.get("permission") or "none").lower()
            self._known[key] = role if role in PERMISSIONS else "none"
        return self._known[key]


def team_members(repo: Repository, teams: Sequence[str], candidates: Iterable[str]) -> dict[str, frozenset[str]]:
    """Which of `candidates` are active members of each team; teams that cannot be read
    are left out, and `decide` says their membership is unknown (fail closed)."""
    out: dict[str, frozenset[str]] = {}
    for team in teams:
        org, _, slug = team.partition("/")
        members = set()
        try:
            for login in candidates:
                try:
                    _, data = repo.requester.requestJsonAndCheck(
                        "GET", f"/orgs/{quote(org)}/teams/{quote(slug)}/memberships/{quote(login)}"
                    )
                except UnknownObjectException:
                    continue
                if data.get("state") == "active":
                    members.add(login)
        except GithubException as exc:
            log.warning("team %s cannot be read (%s); its approvals are not counted", team, reason_of(exc))
            continue
        out[team] = frozenset(members)
    return out


def reviews(pull: PullRequest) -> tuple[Review, ...]:
    out = []
    for r in pull.get_reviews():  # PyGithub follows the pages
        user = r.user
        submitted = r.submitted_at
        out.append(
            Review(
                user=user.login if user is not None else "ghost",
                user_type=(user.type if user is not None else "User") or "User",
                state=r.state or "",
                commit_id=r.commit_id or "",
                submitted_at=submitted.isoformat() if submitted is not None else "",
                id=r.id,
            )
        )
    return tuple(out)


def commits(pull: PullRequest, head: str) -> tuple[tuple[CommitFact, ...], bool]:
    """The PR's commits, oldest first, up to `head`, and whether that is every one of them.

    GitHub lists at most 250 commits of a pull request; over that, none are asked for, as the
    unlisted ones could not be checked anyway (`decide` fails closed).
    """
    if pull.commits > MAX_LISTED_COMMITS:
        return (), False
    out = [
        CommitFact(c.sha, c.author.login if c.author else None, c.committer.login if c.committer else None)
        for c in pull.get_commits()  # PyGithub follows the pages; `author` is null for an unlinked email
    ]
    shas = [c.sha for c in out]
    if head not in shas:  # pushed to since the PR was read: the event of that push re-evaluates
        return tuple(out), False
    return tuple(out[: shas.index(head) + 1]), True
