"""What the gate decides on: the facts of one pull request at one head, gathered first.

Plain values, no I/O: the caller asks GitHub and the database, `decide` reads only these.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from rules.gate_layers import Source

# A review's state, as GitHub names it.
APPROVED = "APPROVED"
CHANGES_REQUESTED = "CHANGES_REQUESTED"
COMMENTED = "COMMENTED"
DISMISSED = "DISMISSED"

# GitHub lists at most this many commits of a pull request.
MAX_LISTED_COMMITS = 250


@dataclass(frozen=True)
class Review:
    user: str
    user_type: str  # "User" | "Bot"
    state: str  # APPROVED | CHANGES_REQUESTED | COMMENTED | DISMISSED
    commit_id: str
    submitted_at: str  # ISO 8601: orders the reviews
    id: int = 0


@dataclass(frozen=True)
class FindingFact:
    code: str
    slug: str
    severity: str  # error | warning | notice
    path: str
    line: int
    message: str
    fingerprint: str
    suppressed: bool = False


@dataclass(frozen=True)
class Waiver:
    pattern: str  # a code ("RG201") or a prefix ("RG2")
    reason: str
    by: str
    fingerprints: frozenset[str]  # the findings present on the head when the waiver was given
    created_at: str


@dataclass(frozen=True)
class Hold:
    by: str
    created_at: str
    reason: str = ""


@dataclass(frozen=True)
class CommitFact:
    """One commit of the pull request, with the GitHub accounts of its author and committer
    (None when GitHub links the commit's email to no account)."""

    sha: str
    author: str | None = None
    committer: str | None = None


@dataclass(frozen=True)
class Facts:
    repo: str
    number: int
    head_sha: str
    author: str
    author_type: str = "User"
    reviews: tuple[Review, ...] = ()
    permissions: Mapping[str, str] = field(default_factory=dict)  # login -> admin|...|none
    team_members: Mapping[str, frozenset[str]] = field(default_factory=dict)  # "org/team" -> logins
    changed_paths: tuple[str, ...] = ()
    findings: tuple[FindingFact, ...] = ()  # on changed lines
    waivers: tuple[Waiver, ...] = ()
    hold: Hold | None = None
    # commit sha -> digest of the PR's (path, patch) set at that commit, from earlier evaluations
    digests: Mapping[str, str] = field(default_factory=dict)
    head_digest: str = ""
    config_error: str | None = None  # "file:line: problem"
    config_changed_by_pr: bool = False
    not_analyzed: tuple[tuple[str, str], ...] = ()  # (path, reason)
    # Who brought the head commit (the senders of its push deliveries); empty when unknown.
    head_pushers: tuple[str, ...] = ()
    # The PR's commits, oldest first, up to the head. Gathered whenever an approval could
    # count; `commits_complete` is False when GitHub could not list them all (over 250).
    commits: tuple[CommitFact, ...] = ()
    commits_complete: bool = True
    # How many files GitHub listed of the `changed_files` it counts. Fewer listed (GitHub lists
    # at most 3,000) means files nobody evaluated: their owners, findings and changes.
    files_listed: int = 0
    files_total: int = 0
    # Changed Python files left unanalysed when the evaluation's time budget ran out.
    out_of_time: tuple[str, ...] = ()
    # The pull request's own `.github/reviewgate.yml`, when it changes it: its problem
    # ("file:line: problem") when invalid, else what the gate would conclude under it
    # (its conclusion and title).
    proposed_config_error: str | None = None
    proposed_outcome: tuple[str, str] | None = None
    # Where each effective setting came from, when an organisation's policy applies (its
    # repository, "octo/.github", in `config_org`).
    config_sources: tuple[Source, ...] = ()
    config_org: str = ""
    # Former paths of renamed files (gathered when `bots:` is configured).
    previous_paths: tuple[str, ...] = ()
    # The branch the diff is computed against, when it is not the default branch (a pull request
    # stacked on another's branch) or the base changed under the same head; "" otherwise.
    base_ref: str = ""
    default_branch: str = ""
    # Review id -> the digest of the pull request's changes when an evaluation first saw that
    # review. An approval of the head whose digest differs saw another diff: the base changed.
    review_digests: Mapping[int, str] = field(default_factory=dict)


def fingerprint(code: str, path: str, line_source: str, occurrence: int = 0) -> str:
    """Identity of a finding that survives moves of unrelated lines.

    Built from the rule, the file and the whitespace-normalised text of the finding's line,
    never its line number. `occurrence` tells apart identical lines in one file (the n-th
    finding of `code` on that same text, counting from 0); 0 gives the plain fingerprint.
    """
    normalised = " ".join(line_source.split())
    parts = [code.upper(), path, normalised]
    if occurrence:
        parts.append(str(occurrence))
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def file_digest(changes: Iterable[Sequence[str]], files_total: int | None = None) -> str:
    """Digest of a pull request's own change: the set of its files, each a tuple of strings
    (the caller's: status, path, former path, patch or blob), and how many files it has.

    Equal at two commits means a rebase or an update merge left the change untouched, so an
    approval of one still covers the other. `files_total` counts files that were not listed
    too, so a commit whose listing was cut never equals one whose listing is whole.
    """
    digest = hashlib.sha256()
    for change in sorted({tuple(c) for c in changes}):
        for part in change:
            digest.update(f"{len(part)}:{part}".encode())
        digest.update(b";")
    if files_total is not None:
        digest.update(f"of {files_total}".encode())
    return digest.hexdigest()


def is_bot(login: str, user_type: str = "User") -> bool:
    return user_type == "Bot" or login.lower().endswith("[bot]")

