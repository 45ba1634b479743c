"""`reviewgate` (also `python -m rules`): the engine on local files, for developers,
pre-commit and CI, with ruff's commands and manners.

Runs exactly what the bot runs on a pull request (same engine, same configuration file,
validated by the same parser, and with `--changed-lines` the same changed lines), so a clean
local run means a clean check. A command line without a command is `check`.
"""

from __future__ import annotations

import argparse
import difflib
import io
import os
import re
import sys
import tokenize
import traceback
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO, TextIO

from rules import __version__
from rules.config import CONFIG_PATH, ConfigError, RulesConfig
from rules.docs import render
from rules.engine import analyze, fix_source
from rules.files import PYPROJECT_TABLE, Target, UsageError, discover, find_root, load_config
from rules.gitdiff import Changes, base_revision, changes, parse_diff
from rules.model import Finding, Report, Severity
from rules.output import FORMATS, Outcome, write_output
from rules.progress import Progress
from rules.text import all_codes, rule_text

COMMANDS = ("check", "rule")
_CODE = re.compile(r"RG[0-9]{0,3}")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")

DESCRIPTION = """\
Risky time and storage patterns in Python, checked as the reviewgate merge gate checks a
pull request. Without a command, `check` is meant: `reviewgate src/` is `reviewgate check src/`."""

CHECK_DESCRIPTION = """\
Check Python files, as the reviewgate check does on a pull request. With no PATHS, checks the
current directory. Directories are searched for *.py files, skipping .git, virtualenvs, what
.gitignore ignores and the configuration's paths.exclude. A file named explicitly is checked
whatever its name or place; only the configuration's paths.include/exclude can skip it, and
then a note on stderr says so. `-` reads one file from standard input."""

EPILOG = f"""\
output formats:
  text     path:line:col: CODE [severity] message, the source line with a caret under
           the flagged code, the fix and the rule's documentation; then a summary line
  concise  the first line of each finding only, then the summary
  json     one object: "findings" (every field, including "suppressed") and "counts"
  sarif    SARIF 2.1.0 for GitHub code scanning (suppressed findings carry suppressions)
  github   ::error/::warning/::notice workflow commands (GitHub Actions annotations)
json and sarif always include suppressed findings, marked; text, concise and github list
them only with --show-suppressed. Colour on a terminal, unless NO_COLOR is set.

changed code:
  --since REV       only files changed since the merge base of REV and HEAD (as a pull
                    request into REV would show them), plus files git does not track
  --changed-lines   only the lines changed, as the pull-request gate judges them: against
                    --since REV, or without it against HEAD (uncommitted changes)

exit status:
  0  no unsuppressed error finding (warnings and engine notices RG0xx do not fail);
     always, with --exit-zero, unless status 2 applies
  1  at least one unsuppressed error finding; with --diff, a fix would change a file
  2  usage error, invalid configuration, unreadable file or internal error

examples:
  reviewgate check                          check the current directory
  reviewgate check app.py src/              check a file and a directory
  reviewgate check --since origin/main --changed-lines   the lines a PR would be judged on
  reviewgate check --select RG1 --ignore RG106
  reviewgate check --fix src/               apply safe fixes in place
  reviewgate check --diff src/              show what --fix would change, change nothing
  reviewgate check --statistics             findings counted per rule
  reviewgate check - --stdin-filename a.py < a.py
  reviewgate check --format sarif . > reviewgate.sarif
  reviewgate rule RG101                     a rule's documentation

configuration: {CONFIG_PATH} at the repository root (the gate's file; every section is
validated as the bot validates it), or [{PYPROJECT_TABLE}] in pyproject.toml with the same
sections; a missing file means the defaults.
"""


# -- command line ----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reviewgate", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="`reviewgate check --help` lists the options, the output formats and the exit statuses.",
    )
    parser.add_argument("--version", action="version", version=f"reviewgate {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    check = commands.add_parser(
        "check", help="check files (the default command)", description=CHECK_DESCRIPTION,
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = check.add_argument
    add("paths", nargs="*", metavar="PATHS", help="files and directories (default: .); - for stdin")
    add("--fix", action="store_true", help="apply safe fixes in place, then report what is left")
    add("--unsafe-fixes", action="store_true", help="also apply (or show) fixes marked unsafe; implies --fix without --diff")
    add("--diff", action="store_true", help="print what --fix would change as a unified diff; write nothing")
    add("--since", metavar="REV", help="only files changed since the merge base of git REV and HEAD")
    add("--changed-lines", action="store_true", help="only lines changed against --since (default: HEAD)")
    add("--select", metavar="CODES", default="", help="only these codes or prefixes, comma-separated (RG1,RG201)")
    add("--ignore", metavar="CODES", default="", help="skip these codes or prefixes, comma-separated")
    add("--config", metavar="PATH", help=f"configuration file: YAML as {CONFIG_PATH}, or a pyproject.toml")
    add("--format", "--output-format", dest="format", choices=FORMATS, default="text", help="output format (default: text)")
    add("--statistics", action="store_true", help="count findings per rule instead of listing them")
    add("--exit-zero", action="store_true", help="exit 0 even when a finding would fail the gate")
    add("--stdin-filename", metavar="PATH", help="the name of the file read from stdin (-)")
    add("--respect-gitignore", action=argparse.BooleanOptionalAction, default=True,
        help="skip files that .gitignore ignores (default: yes)")
    add("--show-suppressed", action="store_true", help="also list findings silenced by comments")
    add("--generate-docs", metavar="PATH", help="write the rule catalogue (Markdown) to PATH and exit")
    rule = commands.add_parser("rule", help="show a rule's documentation", description="Show a rule's documentation.")
    rule.add_argument("code", nargs="?", metavar="CODE", help="a rule code, such as RG101")
    rule.add_argument("--all", action="store_true", help="every rule's documentation")
    return parser


def main(
    argv: Sequence[str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    stdin: BinaryIO | None = None,
) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    words = list(sys.argv[1:] if argv is None else argv)
    if not words or words[0] not in (*COMMANDS, "-h", "--help", "--version"):
        words.insert(0, "check")
    parser = build_parser()
    try:
        args = parser.parse_args(words)
    except SystemExit as exc:  # argparse has printed the usage error (or --help/--version)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        if args.command == "rule":
            return show_rule(args, out, err)
        return check(args, out, err, stdin)
    except BrokenPipeError:  # `reviewgate | head`: the reader has seen enough
        if out is sys.stdout:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


def show_rule(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    if args.all == (args.code is not None):
        err.write("reviewgate rule: give one rule code, or --all\n")
        return 2
    codes = all_codes() if args.all else [args.code]
    texts = [rule_text(code) for code in codes]
    if texts[0] is None:
        err.write(f"reviewgate rule: no rule `{args.code[:20]}` (known: {', '.join(all_codes())})\n")
        return 2
    out.write("\n".join(t for t in texts if t))
    out.flush()
    return 0


def check(args: argparse.Namespace, out: TextIO, err: TextIO, stdin: BinaryIO | None) -> int:
    try:
        if args.generate_docs:
            Path(args.generate_docs).write_text(render(), encoding="utf-8")
            return 0
        _check_options(args)
        if args.paths == ["-"]:
            return check_stdin(args, out, err, stdin or sys.stdin.buffer)
        outcome = run(args, err)
    except UsageError as exc:
        err.write(f"reviewgate: error: {exc}\n")
        return 2
    except ConfigError as exc:
        err.write(f"reviewgate: invalid configuration: {exc}\n")
        return 2
    except Exception:  # an internal error must not look like a clean run
        err.write("reviewgate: internal error\n" + traceback.format_exc())
        return 2
    if args.diff:
        for diff in outcome.diffs:
            out.write(diff)
        out.flush()
        fixes, files = sum(outcome.would_fix), len(outcome.diffs)
        err.write(
            f"reviewgate: --fix would apply {fixes} fix{'es' if fixes > 1 else ''} to {files} "
            f"file{'s' if files > 1 else ''}\n" if fixes else "reviewgate: no fix to apply\n"
        )
        return 2 if outcome.failed else 1 if outcome.diffs and not args.exit_zero else 0
    write_output(args, outcome, out)
    out.flush()
    return _status(args, outcome)


def _status(args: argparse.Namespace, outcome: Outcome) -> int:
    if outcome.failed:
        return 2
    if args.exit_zero:
        return 0
    return 1 if any(f.blocking for _, f in outcome.findings()) else 0


def _check_options(args: argparse.Namespace) -> None:
    if "-" in args.paths and args.paths != ["-"]:
        raise UsageError("`-` (standard input) cannot be combined with other paths")
    if args.stdin_filename and args.paths != ["-"]:
        raise UsageError("--stdin-filename needs `-` as the only path")
    if args.paths == ["-"] and (args.since or args.changed_lines):
        raise UsageError("--since and --changed-lines read files from git, not from standard input")
    if args.statistics and args.format not in ("text", "concise", "json"):
        raise UsageError("--statistics is written as text or json")


def parse_codes(value: str, option: str) -> tuple[str, ...]:
    codes = tuple(c.strip().upper() for c in value.split(",") if c.strip())
    for code in codes:
        if not _CODE.fullmatch(code):
            raise UsageError(f"{option}: `{code}` is not a rule code or prefix (RG101, RG1, RG)")
    return codes


def _configured(args: argparse.Namespace) -> tuple[Path, RulesConfig]:
    root = find_root(Path.cwd().resolve())
    config = load_config(args.config, root).with_overrides(
        select=parse_codes(args.select, "--select"), ignore=parse_codes(args.ignore, "--ignore")
    )
    return root, config


# -- analysis --------------------------------------------------------------------------------


def _decode(data: bytes) -> tuple[str, str] | None:
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding), encoding
    except (SyntaxError, UnicodeDecodeError, LookupError):
        return None  # the engine reports it as RG001


def run(args: argparse.Namespace, err: TextIO) -> Outcome:
    root, config = _configured(args)
    paths = args.paths or ["."]
    try:
        targets = discover(paths, root, config, err, gitignore=args.respect_gitignore)
    except UsageError as exc:
        if args.diff and any(not Path(p).exists() for p in paths):
            raise UsageError(f"{exc} (--diff shows fixes; the git revision option is --since REV)") from None
        raise
    outcome = Outcome(root, config, targets)
    fix = (args.fix or args.unsafe_fixes) and not args.diff
    base: str | None = None
    known: Changes | None = None
    if args.since or args.changed_lines:
        base = base_revision(args.since)
        known = changes(base, paths)
    progress = Progress(len(outcome.targets), err)
    try:
        for target in outcome.targets:
            _one(args, outcome, target, fix, base, known, err)
            progress.advance()
    finally:
        progress.close()
    return outcome


def _one(
    args: argparse.Namespace, outcome: Outcome, target: Target, fix: bool,
    base: str | None, known: Changes | None, err: TextIO,
) -> None:
    lines: set[int] | None = None
    if known is not None:
        if known.unchanged(target.path):
            return  # unchanged since the base
        if args.changed_lines and target.path in known.lines:
            lines = known.lines[target.path]
        # else: --since alone, or not known to git at all (new): the whole file counts
    try:
        data = target.path.read_bytes()
    except OSError as exc:
        err.write(f"reviewgate: cannot read {target.display}: {exc.strerror or exc}\n")
        outcome.failed = True
        return
    try:
        if args.diff:
            _record_diff(args, outcome, target.display, data, lines)
            return
        if fix:
            new, applied = fixed(target.display, data, outcome.config, lines, args.unsafe_fixes)
            if applied:
                target.path.write_bytes(new)
                data = new
                outcome.fixed += applied
                if base is not None and lines is not None:
                    lines = changes(base, [str(target.path)]).lines.get(target.path, set())
        _analyze(args, outcome, target, data, lines)
    except UsageError:
        raise
    except Exception as exc:
        raise RuntimeError(f"while checking {target.display}") from exc


def _analyze(args: argparse.Namespace, outcome: Outcome, target: Target, data: bytes, lines: set[int] | None) -> None:
    report = analyze(data, target.display, changed_lines=lines, config=outcome.config)
    kept = tuple(f for f in report.findings if _selected(f, outcome.config))
    if kept and args.format in ("text", "sarif"):
        decoded = _decode(data)
        if decoded is not None:
            outcome.lines[target.path] = _LINE_BREAK.split(decoded[0])
    outcome.reports.append((target, Report(report.path, kept)))


def _record_diff(args: argparse.Namespace, outcome: Outcome, name: str, data: bytes, lines: set[int] | None) -> None:
    new, applied = fixed(name, data, outcome.config, lines, args.unsafe_fixes)
    if applied:
        outcome.diffs.append(unified_diff(name, data, new))
        outcome.would_fix.append(applied)


def unified_diff(name: str, old: bytes, new: bytes) -> str:
    decoded_old, decoded_new = _decode(old), _decode(new)
    assert decoded_old is not None and decoded_new is not None  # fixed() only changes decodable files
    shown = name.replace("\\", "/")
    return "".join(
        difflib.unified_diff(
            decoded_old[0].splitlines(keepends=True), decoded_new[0].splitlines(keepends=True),
            fromfile=f"a/{shown}", tofile=f"b/{shown}",
        )
    )


def _selected(finding: Finding, config: RulesConfig) -> bool:
    """Engine notices are always shown unless explicitly ignored; rules obey select too."""
    if finding.severity is Severity.NOTICE:
        return not any(finding.code.startswith(p) for p in config.ignore)
    return config.enabled(finding.code)


def fixed(
    name: str, data: bytes, config: RulesConfig, lines: set[int] | None, unsafe: bool
) -> tuple[bytes, int]:
    """The file's bytes with the fixes applied (same encoding, same line endings), and how
    many fixes that is; the bytes unchanged and 0 when nothing applies."""
    decoded = _decode(data)
    if decoded is None:
        return data, 0
    text, encoding = decoded
    new_text, applied = fix_source(text, name, config=config, unsafe=unsafe, changed_lines=lines)
    if not applied or new_text == text:
        return data, 0
    if "\r\n" in text and "\n" not in text.replace("\r\n", ""):
        # keep a Windows file Windows: inserted import lines come with "\n"
        new_text = new_text.replace("\r\n", "\n").replace("\n", "\r\n")
    return new_text.encode(encoding), applied


# -- standard input --------------------------------------------------------------------------


def check_stdin(args: argparse.Namespace, out: TextIO, err: TextIO, stdin: BinaryIO) -> int:
    """`-`: one file from standard input, named by --stdin-filename. As with ruff, --fix
    writes the fixed source to stdout and the findings to stderr; --diff writes the diff."""
    root, config = _configured(args)
    name = args.stdin_filename or "-"
    data = stdin.read()
    outcome = Outcome(root, config, [])
    target = Target(name, (Path.cwd() / name).resolve())
    if args.diff:
        _record_diff(args, outcome, name, data, None)
        out.write("".join(outcome.diffs))
        return 1 if outcome.diffs and not args.exit_zero else 0
    if args.fix or args.unsafe_fixes:
        data, outcome.fixed = fixed(name, data, config, None, args.unsafe_fixes)
        _write_source(out, data)
        out = err
    _analyze(args, outcome, target, data, None)
    outcome.targets.append(target)
    write_output(args, outcome, out)
    out.flush()
    return _status(args, outcome)


def _write_source(out: TextIO, data: bytes) -> None:
    """The source bytes as they are (encoding and line endings kept) on a real stream."""
    out.flush()
    buffer = getattr(out, "buffer", None)
    if buffer is not None:
        buffer.write(data)
        buffer.flush()
    else:
        decoded = _decode(data)
        out.write(decoded[0] if decoded else data.decode("utf-8", "replace"))


__all__ = ["COMMANDS", "build_parser", "fixed", "main", "parse_codes", "parse_diff", "run", "unified_diff"]
