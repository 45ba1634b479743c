"""Run the rule engine on a PR's changed Python files, with a cache keyed by blob.

A blob's findings depend only on its bytes, the rules' code and the rules' configuration, so
(blob sha, RULES_VERSION, config digest) is the key. The cache holds the whole-file report;
the changed-line filter is applied on the way out, exactly as `rules.analyze` applies it,
so the same blob in two PRs with different diffs shares one entry.
"""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import rules
from bot.db import CachedReport, Database
from bot.diff import LineMap, git_lines
from bot.isolation import Isolation
from bot.metrics import BLOBS_FETCHED, CACHE_HITS, FILES_ANALYZED


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


def is_python(path: str) -> bool:
    return path.endswith(".py")


def _filter(report: rules.Report, changed: frozenset[int] | None) -> tuple[rules.Finding, ...]:
    if changed is None:
        return report.findings
    return tuple(f for f in report.findings if f.code.startswith("RG0") or f.line in changed)


class Analyzer:
    def __init__(
        self,
        db: Database,
        config: rules.RulesConfig,
        fetch_blob: Callable[[str], bytes],
        isolation: Isolation | None = None,
    ) -> None:
        self.db = db
        self.config = config
        self.config_digest = config.digest()
        self.fetch_blob = fetch_blob
        # None: in this process (the CLI's way); the bot passes its worker processes.
        self.isolation = isolation

    def analyze(self, changed: ChangedFile, changed_lines: frozenset[int] | None) -> FileResult:
        report, sources = self._whole_file(changed.blob_sha, changed.path)
        findings = _filter(report, changed_lines)
        return FileResult(
            path=changed.path,
            findings=findings,
            line_sources={f.line: sources.get(f.line, "") for f in findings},
            whole_file=changed_lines is None,
        )

    def _whole_file(self, blob_sha: str, path: str) -> tuple[rules.Report, dict[int, str]]:
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
        content = self.fetch_blob(blob_sha)
        BLOBS_FETCHED.inc()
        if self.isolation is not None:
            report, finished = self.isolation.analyze(content, path, self.config)
        else:
            report, finished = rules.analyze(content, path, changed_lines=None, config=self.config), True
        FILES_ANALYZED.inc()
        report = to_git_lines(report, content)
        if not finished:
            # A worker stopped at its limits says nothing about the bytes alone (the machine
            # may have been busy): not cached, so the next evaluation tries again.
            return report, {}
        text_lines = git_lines(content.decode("utf-8", "replace"))
        sources = {
            f.line: text_lines[f.line - 1] for f in report.findings if 0 < f.line <= len(text_lines)
        }
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
        return report, sources


def decode_blob(content: str, encoding: str) -> bytes:
    if encoding == "base64":
        return base64.b64decode(content)
    return content.encode("utf-8")
