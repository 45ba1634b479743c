"""The results of `reviewgate check` as text (with source snippets, or concise: one line per
finding), JSON, SARIF 2.1.0 (GitHub code scanning) or GitHub Actions workflow commands
(annotations); `--statistics` as text or JSON."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from rules import __version__
from rules.catalogue import CATALOGUE
from rules.config import RulesConfig
from rules.docs import DOCS_URL, ENGINE_NOTICES, anchor_url, area, help_markdown, help_text
from rules.files import Target
from rules.model import Finding, Report, Severity
from rules.text import Style, finding_text, printable, statistics, statistics_text

FORMATS = ("text", "concise", "json", "sarif", "github")
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"


@dataclass
class Outcome:
    root: Path
    config: RulesConfig
    targets: list[Target] = field(default_factory=list)
    reports: list[tuple[Target, Report]] = field(default_factory=list)
    fixed: int = 0
    failed: bool = False  # a file could not be read
    diffs: list[str] = field(default_factory=list)  # --diff: one unified diff per file
    would_fix: list[int] = field(default_factory=list)  # --diff: fixes behind each diff
    # source lines of the files with findings: text snippets and SARIF fingerprints
    lines: dict[Path, list[str]] = field(default_factory=dict)

    def findings(self) -> list[tuple[Target, Finding]]:
        return [(t, f) for t, r in self.reports for f in r.findings]


# -- text, JSON and GitHub annotations --------------------------------------------------------


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}{'es' if word.endswith('x') else 's'}"


def _listed(finding: Finding, show_suppressed: bool) -> bool:
    return show_suppressed or not finding.suppressed


def counts(outcome: Outcome) -> dict[str, int]:
    findings = [f for _, f in outcome.findings()]
    active = [f for f in findings if not f.suppressed]
    return {
        "files": len(outcome.reports),
        "findings": len(findings),
        "error": sum(f.severity is Severity.ERROR for f in active),
        "warning": sum(f.severity is Severity.WARNING for f in active),
        "notice": sum(f.severity is Severity.NOTICE for f in active),
        "suppressed": len(findings) - len(active),
        "fixable": sum(f.fix is not None and f.fix.safe for f in active),
        "unsafe_fixable": sum(f.fix is not None and not f.fix.safe for f in active),
        "fixed": outcome.fixed,
    }


def style_for(out: TextIO) -> Style:
    """Colour on a terminal, unless NO_COLOR is set (https://no-color.org)."""
    try:
        tty = out.isatty()
    except (AttributeError, ValueError):
        tty = False
    return Style(colour=tty and not os.environ.get("NO_COLOR"))


def write_output(args: argparse.Namespace, outcome: Outcome, out: TextIO) -> None:
    if args.statistics:
        rows = statistics([f for _, f in outcome.findings()])
        if args.format == "json":
            out.write(json.dumps(rows, indent=2) + "\n")
        else:
            out.write(statistics_text(rows))
    elif args.format == "json":
        out.write(json.dumps(to_json(outcome), indent=2) + "\n")
    elif args.format == "sarif":
        out.write(json.dumps(to_sarif(outcome), indent=2) + "\n")
    elif args.format == "github":
        for target, finding in outcome.findings():
            if _listed(finding, args.show_suppressed):
                out.write(github_command(target, finding, outcome.root) + "\n")
    elif args.format == "concise":
        for _, finding in outcome.findings():
            if _listed(finding, args.show_suppressed):
                out.write(text_line(finding) + "\n")
        out.write(summary(outcome, args.show_suppressed) + "\n")
    else:
        style = style_for(out)
        for target, finding in outcome.findings():
            if _listed(finding, args.show_suppressed):
                out.write(finding_text(finding, outcome.lines.get(target.path), style) + "\n\n")
        out.write(summary(outcome, args.show_suppressed) + "\n")


def text_line(finding: Finding) -> str:
    tail = " (suppressed)" if finding.suppressed else ""
    return printable(
        f"{finding.path}:{finding.line}:{finding.column}: {finding.code} [{finding.severity.value}] "
        f"{finding.message}{tail}"
    )


def summary(outcome: Outcome, show_suppressed: bool) -> str:
    c = counts(outcome)
    found = [
        _plural(c[kind], kind) for kind in ("error", "warning", "notice") if c[kind]
    ]
    line = f"{_plural(c['files'], 'file')} checked: " + (", ".join(found) if found else "no findings")
    extra = []
    if c["suppressed"]:
        extra.append(f"{c['suppressed']} suppressed" + ("" if show_suppressed else " (--show-suppressed lists them)"))
    if c["fixable"]:
        extra.append(f"{c['fixable']} fixable with --fix")
    if c["unsafe_fixable"]:
        extra.append(f"{c['unsafe_fixable']} with --unsafe-fixes")
    if c["fixed"]:
        extra.append(f"{_plural(c['fixed'], 'fix')} applied")
    return line + (f"; {'; '.join(extra)}." if extra else ".")


def to_json(outcome: Outcome) -> dict[str, Any]:
    return {
        "version": __version__,
        "findings": [f.to_dict() for _, f in outcome.findings()],
        "counts": counts(outcome),
        "blocking": any(f.blocking for _, f in outcome.findings()),
    }


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_command(target: Target, finding: Finding, root: Path) -> str:
    """A workflow command that GitHub Actions turns into an annotation on the file."""
    level = {Severity.ERROR: "error", Severity.WARNING: "warning"}.get(finding.severity, "notice")
    title = f"{finding.code} {finding.slug}"
    if finding.suppressed:
        level, title = "notice", title + " (suppressed)"
    props = [("file", target.relative(root)), ("line", str(finding.line))]
    if _has_span(finding):
        props += [
            ("col", str(finding.column)),
            ("endLine", str(finding.end_line)),
            ("endColumn", str(finding.end_column)),
        ]
    props.append(("title", title))
    rendered = ",".join(f"{k}={_escape_property(v)}" for k, v in props)
    return f"::{level} {rendered}::{_escape_data(finding.message)}"


def _has_span(finding: Finding) -> bool:
    return (finding.end_line, finding.end_column) > (finding.line, finding.column)


# -- SARIF -----------------------------------------------------------------------------------

_SARIF_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.NOTICE: "note"}


def _rule_descriptors(config: RulesConfig) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for rule in CATALOGUE:
        if not config.enabled(rule.code):
            continue
        sections = rule.sections()
        level = _SARIF_LEVEL[config.severity_of(rule.code, rule.severity)]
        out.append(
            {
                "id": rule.code,
                "name": rule.slug,
                "shortDescription": {"text": rule.summary()},
                "fullDescription": {"text": sections.get("What it flags") or rule.summary()},
                "help": {"text": help_text(rule), "markdown": help_markdown(rule)},
                "helpUri": anchor_url(rule.docs_anchor()),
                "defaultConfiguration": {"level": level},
                "properties": {"tags": ["reviewgate", area(rule.code)], "precision": "high"},
            }
        )
    for notice in ENGINE_NOTICES:
        out.append(
            {
                "id": notice.code,
                "name": notice.slug,
                "shortDescription": {"text": notice.summary},
                "fullDescription": {"text": notice.text},
                "help": {"text": notice.text, "markdown": notice.text},
                "helpUri": anchor_url(notice.docs_anchor()),
                "defaultConfiguration": {"level": "note"},
                "properties": {"tags": ["reviewgate", "engine"]},
            }
        )
    return out


def _region(line: int, column: int, end_line: int, end_column: int) -> dict[str, int]:
    region = {"startLine": line, "startColumn": column}
    if (end_line, end_column) >= (line, column):
        region.update(endLine=end_line, endColumn=end_column)
    return region


def _sarif_result(target: Target, finding: Finding, root: Path, index: dict[str, int]) -> dict[str, Any]:
    uri = target.uri(root)
    if _has_span(finding):
        region = _region(finding.line, finding.column, finding.end_line, finding.end_column)
    else:
        region = {"startLine": finding.line}
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "level": _SARIF_LEVEL[finding.severity],
        "message": {"text": finding.message},
        "locations": [
            {"physicalLocation": {"artifactLocation": {"uri": uri}, "region": region}}
        ],
    }
    if finding.code in index:
        result["ruleIndex"] = index[finding.code]
    if finding.suppressed:
        result["suppressions"] = [{"kind": "inSource"}]
    if finding.fix is not None:
        result["fixes"] = [
            {
                "description": {
                    "text": finding.fix.description + ("" if finding.fix.safe else " (unsafe)")
                },
                "artifactChanges": [
                    {
                        "artifactLocation": {"uri": uri},
                        "replacements": [
                            {
                                "deletedRegion": _region(e.line, e.column, e.end_line, e.end_column),
                                "insertedContent": {"text": e.text},
                            }
                            for e in finding.fix.edits
                        ],
                    }
                ],
            }
        ]
    return result


def _fingerprints(outcome: Outcome) -> list[str]:
    """A key per result that survives edits elsewhere in the file: the rule, the flagged
    line's text (whitespace-normalised) and its rank among identical lines. Code scanning
    pairs it with the path, so that an alert keeps its identity from one upload to the next.
    """
    seen: dict[tuple[Path, str, str], int] = {}
    out = []
    for target, finding in outcome.findings():
        lines = outcome.lines.get(target.path, [])
        text = " ".join(lines[finding.line - 1].split()) if finding.line <= len(lines) else ""
        key = (target.path, finding.code, text)
        seen[key] = seen.get(key, 0) + 1
        digest = hashlib.sha256(f"{finding.code}\0{text}\0{seen[key]}".encode()).hexdigest()
        out.append(digest[:32])
    return out


def to_sarif(outcome: Outcome) -> dict[str, Any]:
    rules = _rule_descriptors(outcome.config)
    index = {r["id"]: i for i, r in enumerate(rules)}
    results = [_sarif_result(t, f, outcome.root, index) for t, f in outcome.findings()]
    for result, fingerprint in zip(results, _fingerprints(outcome), strict=True):
        result["partialFingerprints"] = {"reviewgate/v1": fingerprint}
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "reviewgate",
                        "version": __version__,
                        "semanticVersion": __version__,
                        "informationUri": DOCS_URL,
                        "rules": rules,
                    }
                },
                # the engine counts columns in characters (code points), not UTF-16 units
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }

