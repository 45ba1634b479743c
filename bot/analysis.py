"""Run the rule engine on a PR's changed Python files, with a cache keyed by blob.

A blob's findings depend only on its bytes, the rules' code and the rules' configuration, so
(blob sha, RULES_VERSION, config digest) is the key. The cache holds the whole-file report;
the changed-line filter is applied on the way out, exactly as `rules.analyze` applies it,
so the same blob in two PRs with different diffs shares one entry.

What a file costs is bounded before it is paid: a blob over `rules.max_bytes` is refused by
its length, before its bytes are read, and a blob that exhausts its worker gets its notice
cached like any report, so neither is fetched or parsed again for the next event.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import rules
from bot.isolation import Isolation, OutOfTime, notice
from bot.metrics import BLOBS_FETCHED, CACHE_HITS, FILES_ANALYZED
from bot.store.db import CachedReport, Database
from rules import LineMap, git_lines


@dataclass(frozen=True)
class ChangedFile:
    path: str
    status: str  # added | modified | renamed | removed | copied | changed | unchanged
    blob_sha: str
    patch: str | None
    previous_path: str | None = None


@dataclass(frozen=True)
class FileResult:
    path: str
    findings: tuple[rules.Finding, ...]  # on changed lines (engine notices always)
    line_sources: Mapping[int, str]  # source text of each finding's line, for fingerprints
    whole_file: bool  # GitHub gave no patch, so every line counts as changed


# Entries without it numbered lines as Python does (a lone "\r" ends a line) and took line
# texts from str.splitlines: they are analysed again rather than trusted.
_NUMBERING = "git"


def to_git_lines(report: rules.Report, content: bytes) -> rules.Report:
    """The report with git's line numbers, the ones of the diff and of GitHub's annotations.

    A fix is kept only where its lines are whole git lines: a suggestion replaces whole
    lines of the diff, and a git line holding several of Python's would lose the others.
    """
    lines = LineMap.of(content)
    if lines is None:
        return report
    findings = []
    for f in report.findings:
        fix = f.fix
        if fix is not None and fix.edits:
            if all(lines.whole(e.line) and lines.whole(e.end_line) for e in fix.edits):
                edits = tuple(
                    dataclasses.replace(e, line=lines.line(e.line), end_line=lines.line(e.end_line))
                    for e in fix.edits
                )
            else:
                edits = ()
            fix = dataclasses.replace(fix, edits=edits)
        findings.append(
            dataclasses.replace(
                f,
                line=lines.line(f.line),
                column=lines.column(f.line, f.column),
                end_line=lines.line(f.end_line),
                end_column=lines.column(f.end_line, f.end_column),
                fix=fix,
            )
        )
    return rules.Report(report.path, tuple(findings))


class BlobTooLarge(Exception):
    """A blob is over the size limit; raised before its bytes are read (or once more than the
    limit has arrived, when GitHub does not say its length)."""

    def __init__(self, size: int | None) -> None:
        super().__init__(size)
        self.size = size


def is_python(path: str) -> bool:
    return path.endswith(".py")


def is_notice(finding: rules.Finding) -> bool:
    """An engine notice (RG0xx): the file could not be (fully) analysed. It concerns the whole
    file, so it is kept whatever lines changed."""
    return finding.severity == rules.Severity.NOTICE


def _filter(report: rules.Report, changed: frozenset[int] | None) -> tuple[rules.Finding, ...]:
    if changed is None:
        return report.findings
    return tuple(f for f in report.findings if is_notice(f) or f.line in changed)


class Analyzer:
    """`fetch_blob(sha, limit)` returns the blob's bytes, or raises `BlobTooLarge` when it has
    more than `limit` of them."""

    def __init__(
        self,
        db: Database,
        config: rules.RulesConfig,
        fetch_blob: Callable[[str, int], bytes],
        isolation: Isolation | None = None,
    ) -> None:
        self.db = db
        self.config = config
        self.config_digest = config.digest()
        self.fetch_blob = fetch_blob
        # None: in this process (the CLI's way); the bot passes its worker processes.
        self.isolation = isolation

    def analyze(
        self, changed: ChangedFile, changed_lines: frozenset[int] | None, deadline: float | None = None
    ) -> FileResult:
        """Raises `OutOfTime` when the file is not cached and `deadline` (`time.monotonic()`)
        passes before its analysis ends."""
        report, sources = self._whole_file(changed.blob_sha, changed.path, deadline)
        findings = _filter(report, changed_lines)
        return FileResult(
            path=changed.path,
            findings=findings,
            line_sources={f.line: sources.get(f.line, "") for f in findings},
            whole_file=changed_lines is None,
        )

    def _whole_file(self, blob_sha: str, path: str, deadline: float | None) -> tuple[rules.Report, dict[int, str]]:
        key = (blob_sha, rules.RULES_VERSION, self.config_digest)
        with self.db.session() as session:
            cached = session.get(CachedReport, key)
            data = json.loads(cached.data) if cached is not None else None
        if data is not None and data.get("numbering") == _NUMBERING:
            CACHE_HITS.inc()
            report = rules.Report.from_dict(data["report"])
            # The same bytes may sit at another path (a rename, a copy): findings follow the name.
            report = rules.Report(
                path, tuple(dataclasses.replace(f, path=path) for f in report.findings)
            )
            return report, {int(k): v for k, v in data["lines"].items()}
        if deadline is not None and time.monotonic() >= deadline:
            raise OutOfTime
        limit = self.config.max_bytes
        try:
            content = self.fetch_blob(blob_sha, limit)
        except BlobTooLarge as exc:
            size = f" {exc.size:,} bytes," if exc.size is not None else ""
            report = notice(path, f"Not analysed: the file is{size} over the limit of {limit:,} bytes.")
            self._store(blob_sha, report, {})
            return report, {}
        BLOBS_FETCHED.inc()
        if self.isolation is not None:
            report, final = self.isolation.analyze(content, path, self.config, deadline)
        else:
            report, final = rules.analyze(content, path, changed_lines=None, config=self.config), True
        FILES_ANALYZED.inc()
        report = to_git_lines(report, content)
        if not final:
            # Stopped by the wall clock, which says nothing about the bytes alone (the machine
            # may have been busy): not cached, so the next evaluation tries again.
            return report, {}
        text_lines = git_lines(content.decode("utf-8", "replace"))
        sources = {
            f.line: text_lines[f.line - 1] for f in report.findings if 0 < f.line <= len(text_lines)
        }
        self._store(blob_sha, report, sources)
        return report, sources

    def _store(self, blob_sha: str, report: rules.Report, sources: Mapping[int, str]) -> None:
        entry = json.dumps(
            {
                "numbering": _NUMBERING,
                "report": report.to_dict(),
                "lines": {str(k): v for k, v in sources.items()},
            }
        )
        with self.db.session() as session:
            # merge, not add: two jobs may analyse the same blob at once; both results are equal.
            session.merge(
                CachedReport(
                    blob_sha=blob_sha,
                    rules_version=rules.RULES_VERSION,
                    config_digest=self.config_digest,
                    data=entry,
                )
            )
