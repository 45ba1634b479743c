"""The organisation's policy: `.github/reviewgate.yml` on the default branch of the account's
`.github` repository, combined with each repository's own file (`rules.gate_layers`).

Read once and kept in the database (every process sees the same copy) until a push to that
repository's default branch forgets it (`bot.web.webhooks`), or it is an hour old. A file that
cannot be read for another reason than its absence raises: the evaluation is retried, never
run without the organisation's locks.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from github import UnknownObjectException
from github.Repository import Repository

import rules
from bot.policy.repo_config import GateConfig, parse_repo_config
from bot.store.db import Database, OrgPolicyRecord, utcnow
from rules.config import check_size
from rules.gate_layers import Source, combine

ORG_POLICY_REPO = ".github"
MAX_AGE = timedelta(hours=1)


@dataclass(frozen=True)
class OrgPolicy:
    where: str  # "octo/.github"
    config: GateConfig | None  # None: no policy file, or an invalid one
    error: str | None = None  # "octo/.github: .github/reviewgate.yml:3: problem"


def read(db: Database, repo: Repository, repo_name: str) -> OrgPolicy | None:
    """The policy of the repository's account; None when the account has none (or the
    repository is the policy's own: its file is already the repository's)."""
    owner, _, name = repo_name.partition("/")
    if name.casefold() == ORG_POLICY_REPO:
        return None
    where = f"{owner}/{ORG_POLICY_REPO}"
    key = owner.casefold()
    with db.session() as session:
        row = session.get(OrgPolicyRecord, key)
        fresh = row is not None and utcnow() - _aware(row.read_at) < MAX_AGE
        text = row.text if row is not None and fresh else None
    if not fresh:
        try:
            text = _fetch(repo, where)
        except rules.ConfigError as exc:
            return OrgPolicy(where, None, f"{where}: {exc}")
        with db.session() as session:
            session.merge(OrgPolicyRecord(owner=key, text=text, read_at=utcnow()))
    if text is None:
        return None
    try:
        return OrgPolicy(where, parse_repo_config(text, f"{where}:{rules.CONFIG_PATH}"))
    except rules.ConfigError as exc:
        return OrgPolicy(where, None, str(exc))


def apply(
    org: OrgPolicy, repo_config: GateConfig | None, repo_error: str | None
) -> tuple[GateConfig, str | None, tuple[Source, ...]]:
    """The effective configuration, its error and where each setting came from. `repo_config`:
    the repository's own file, None when it has none. Either file invalid fails the check."""
    if org.error is not None:
        return combine(None, None)[0], org.error, ()
    if repo_error is not None or org.config is None:
        return repo_config or combine(None, None)[0], repo_error, ()
    config, sources = combine(org.config, repo_config)
    return config, None, sources


def _fetch(repo: Repository, where: str) -> str | None:
    requester = repo.requester
    try:
        _, meta = requester.requestJsonAndCheck("GET", f"/repos/{where}")
        branch = str(meta.get("default_branch") or "main") if isinstance(meta, dict) else "main"
        _, entry = requester.requestJsonAndCheck(
            "GET", f"/repos/{where}/contents/{quote(rules.CONFIG_PATH)}", parameters={"ref": branch}
        )
    except UnknownObjectException:
        return None  # no such repository, not installed on it, or no file
    if not isinstance(entry, dict) or entry.get("type") != "file":
        return None
    check_size(int(entry.get("size") or 0))
    return base64.b64decode(entry.get("content") or "").decode("utf-8", "replace")


def _aware(moment: datetime) -> datetime:
    """SQLite gives back naive datetimes; they were stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
