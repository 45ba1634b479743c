"""State objects of the fake GitHub, and the git arithmetic it needs (blob shas, patches)."""

from __future__ import annotations

import difflib
import hashlib
import re
import time
from dataclasses import dataclass, field
from typing import Any

Content = str | bytes


def as_bytes(content: Content) -> bytes:
    return content.encode("utf-8") if isinstance(content, str) else content


def blob_sha(data: bytes) -> str:
    """The sha git gives a blob: sha1 over ``blob <len>\\0`` and the bytes."""
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()  # noqa: S324


def is_binary(data: bytes) -> bool:
    # git's own heuristic: a NUL byte in the first 8000 bytes.
    return b"\0" in data[:8000]


def _git_lines(text: str) -> list[str]:
    """Lines as git splits them: at "\\n" only (a "\\r", "\\f" or "\\u2028" stays inside its line)."""
    return re.findall(r"[^\n]*\n|[^\n]+$", text)


def unified_patch(before: bytes | None, after: bytes | None) -> tuple[str | None, int, int]:
    """The ``patch`` field GitHub shows for one file: hunks only, no ``---``/``+++`` header.

    Returns ``(patch, additions, deletions)``; the patch is ``None`` where GitHub omits it
    (binary content, or no textual change such as an empty new file or a pure rename).
    """
    old = before or b""
    new = after or b""
    if is_binary(old) or is_binary(new):
        return None, 0, 0
    a = _git_lines(old.decode("utf-8", "replace"))
    b = _git_lines(new.decode("utf-8", "replace"))
    out: list[str] = []
    additions = deletions = 0
    for line in list(difflib.unified_diff(a, b, n=3, lineterm=""))[2:]:
        if line.startswith("@@"):
            out.append(line + "\n")
            continue
        if line.startswith("+"):
            additions += 1
        elif line.startswith("-"):
            deletions += 1
        # A last line without a newline gets git's marker, as in a real diff.
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    if not out:
        return None, 0, 0
    return "".join(out).rstrip("\n"), additions, deletions


_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")


def commentable_lines(patch: str | None) -> set[int]:
    """New-side line numbers a review comment may target (added and context lines of the diff)."""
    lines: set[int] = set()
    if not patch:
        return lines
    current = 0
    for line in patch.split("\n"):
        m = _HUNK.match(line)
        if m:
            current = int(m.group(1))
            continue
        if line.startswith("\\"):
            continue
        if line.startswith("-"):
            continue
        lines.add(current)
        current += 1
    return lines


@dataclass
class FileChange:
    """One file of a pull request or a push.

    ``status``: added | modified | removed | renamed. ``before`` defaults to the content on the
    base (for ``add_pull``) or on the current head (for ``push``); ``renamed`` needs
    ``previous_path``. ``huge=True`` makes GitHub's "diff too large" case: no ``patch``.
    """

    path: str
    status: str = "modified"
    before: Content | None = None
    after: Content | None = None
    previous_path: str | None = None
    huge: bool = False

    def __post_init__(self) -> None:
        if self.status not in {"added", "modified", "removed", "renamed"}:
            raise ValueError(f"unknown file status {self.status!r}")
        if self.status == "renamed" and not self.previous_path:
            raise ValueError("a renamed file needs previous_path")
        if self.status in {"added", "modified"} and self.after is None:
            raise ValueError(f"{self.status} file {self.path} needs after=")


@dataclass
class FakeRepo:
    full_name: str
    id: int
    default_branch: str
    installation_id: int | None
    private: bool = True
    # commit sha -> {path: blob sha}; branches point at commits.
    trees: dict[str, dict[str, str]] = field(default_factory=dict)
    branches: dict[str, str] = field(default_factory=dict)
    blobs: dict[str, bytes] = field(default_factory=dict)
    parents: dict[str, list[str]] = field(default_factory=dict)
    collaborators: dict[str, str] = field(default_factory=dict)
    # commit sha -> (author login, committer login), as GitHub links a commit's emails to accounts
    commit_people: dict[str, tuple[str | None, str | None]] = field(default_factory=dict)

    @property
    def owner(self) -> str:
        return self.full_name.split("/", 1)[0]

    @property
    def name(self) -> str:
        return self.full_name.split("/", 1)[1]

    def resolve(self, ref: str | None) -> str | None:
        """Commit sha for a branch name or a (known) commit sha."""
        if ref is None or ref == "":
            ref = self.default_branch
        for prefix in ("refs/heads/", "heads/"):
            if ref.startswith(prefix):
                ref = ref[len(prefix) :]
        if ref in self.branches:
            return self.branches[ref]
        if ref in self.trees:
            return ref
        return None

    def read(self, commit: str, path: str) -> bytes | None:
        sha = self.trees.get(commit, {}).get(path)
        return None if sha is None else self.blobs[sha]


@dataclass
class FakePull:
    """A pull request; the hub keeps this object current (``head_sha`` moves on ``push``)."""

    repo: str
    number: int
    id: int
    author: str
    author_type: str
    title: str
    body: str
    head_ref: str
    base_ref: str
    head_sha: str
    base_sha: str
    created_at: str
    updated_at: str
    state: str = "open"
    draft: bool = False
    merged: bool = False
    commits: list[str] = field(default_factory=list)
    pushers: dict[str, str] = field(default_factory=dict)  # head sha -> who pushed it (the event's sender)
    head_repo: str | None = None  # a fork's full name; None: the branch is in the base repository
    renames: dict[str, str] = field(default_factory=dict)  # new path -> old path
    huge: set[str] = field(default_factory=set)
    # Pending review requests (logins, team slugs); a requested user's review removes them.
    requested_reviewers: list[str] = field(default_factory=list)
    requested_teams: list[str] = field(default_factory=list)


@dataclass
class LoggedRequest:
    """One request the hub answered (``status`` is filled in once the answer is known)."""

    method: str
    path: str
    query: dict[str, str]
    status: int
    json_body: Any
    auth: str = ""  # "jwt", "token", "user" (a user access token), "" (none) or "bad"
    at: float = field(default_factory=time.monotonic)  # when it arrived (after any latency)


@dataclass
class Fault:
    method: str
    pattern: re.Pattern[str]
    status: int | None
    times: int | None
    headers: dict[str, str]
    delay: float
    body: Any = None
    # The request is served first (what it changes is changed); then the answer is lost.
    served: bool = False
