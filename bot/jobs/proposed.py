"""A pull request that changes `.github/reviewgate.yml`: the new file, checked before it merges.

The pull request is still judged by the default branch's file (a pull request must not choose
its own gate). An invalid new file fails the check, with an annotation on the offending line,
so that a broken policy never reaches the default branch; a valid one is evaluated too, and
the summary says what the gate would conclude under it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from github import GithubException
from github.Repository import Repository

import rules
from bot import render
from bot.analysis import BlobTooLarge, ChangedFile
from bot.policy.repo_config import GateConfig, parse_repo_config
from bot.runtime import Runtime
from rules.config import MAX_CONFIG_BYTES


@dataclass(frozen=True)
class Proposal:
    """The configuration file as the pull request leaves it: parsed, or why not."""

    path: str
    config: GateConfig | None
    error: rules.ConfigError | None

    def annotations(self) -> tuple[dict[str, Any], ...]:
        if self.error is None:
            return ()
        line = self.error.line or 1
        return ({
            "path": self.path,
            "start_line": line,
            "end_line": line,
            "annotation_level": "failure",
            "title": render.plain(f"Invalid {self.path}", render.ANNOTATION_TITLE_LIMIT),
            "message": render.bounded(
                f"{self.error.problem}\n\nOnce merged, this file would fail the check of every pull request.",
                render.ANNOTATION_MESSAGE_LIMIT,
            ),
        },)


def changed_config(files: Sequence[ChangedFile]) -> ChangedFile | None:
    """The pull request's version of the configuration file, unless it removes or renames it away
    (then the default branch loses its file, and the defaults apply: nothing to check)."""
    for changed in files:
        if changed.path == rules.CONFIG_PATH and changed.status != "removed":
            return changed
    return None


def read(rt: Runtime, repo: Repository, changed: ChangedFile) -> Proposal:
    """The new file, read by its blob sha (the pull request's own, forks included)."""
    try:
        raw = rt.github.read_blob(repo, changed.blob_sha, MAX_CONFIG_BYTES)
    except BlobTooLarge:
        error = rules.ConfigError(changed.path, None, f"the file is larger than {MAX_CONFIG_BYTES:,} bytes")
        return Proposal(changed.path, None, error)
    except GithubException as exc:
        if exc.status != 404:
            raise
        error = rules.ConfigError(changed.path, None, "the file's content cannot be read")
        return Proposal(changed.path, None, error)
    try:
        return Proposal(changed.path, parse_repo_config(raw.decode("utf-8", "replace"), changed.path), None)
    except rules.ConfigError as exc:
        return Proposal(changed.path, None, exc)
