"""`python -m rules`: the engine on local files, for developers, pre-commit and CI.

Runs exactly what the bot runs on a pull request (same engine, same configuration file), so
a clean local run means a clean check. Exit status: 0 when no unsuppressed error finding,
1 when there is one, 2 on a usage, configuration or internal error.
"""

from __future__ import annotations

import argparse
import codecs
import io
import os
import re
import subprocess
import sys
import tokenize
import traceback
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TextIO

from rules import __version__
from rules.config import CONFIG_PATH, ConfigError, RulesConfig
from rules.diff import added_lines, git_lines
from rules.docs import render
from rules.engine import analyze, fix_source
from rules.model import Finding, Report, Severity
from rules.output import FORMATS, Outcome, Target, write_output

# Never descended into when walking a directory (a file named explicitly is still read).
SKIP_DIRS = frozenset(
    {".git", ".hg", ".svn", ".venv", ".tox", ".nox", "__pycache__", ".mypy_cache",
     ".ruff_cache", ".pytest_cache", "node_modules"}
)
_CODE = re.compile(r"RG[0-9]{0,3}")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")

DESCRIPTION = """\
Check Python files for risky time and storage patterns, as the reviewgate check does on a
pull request. With no PATHS, checks the current directory. Directories are searched for
*.py files, skipping .git, virtualenvs (.venv) and the configuration's paths.exclude.
A file named explicitly is checked whatever its name or place; only the configuration's
paths.include/exclude can skip it, and then a note on stderr says so."""

EPILOG = f"""\
output formats:
  text    path:line:col: CODE [severity] message, then a summary line
  json    one object: "findings" (every field, including "suppressed") and "counts"
  sarif   SARIF 2.1.0 for GitHub code scanning (suppressed findings carry suppressions)
  github  ::error/::warning/::notice workflow commands (GitHub Actions annotations)
json and sarif always include suppressed findings, marked; text and github list them
only with --show-suppressed.

exit status:
  0  no unsuppressed error finding (warnings and engine notices RG0xx do not fail)
  1  at least one unsuppressed error finding
  2  usage error, invalid configuration, unreadable file or internal error

examples:
  python -m rules                         check the current directory
  python -m rules app.py src/             check a file and a directory
  python -m rules --diff origin/main      only lines changed since origin/main, like a PR
  python -m rules --select RG1 --ignore RG106
  python -m rules --fix src/              apply safe fixes in place
  python -m rules --format sarif . > reviewgate.sarif

configuration: {CONFIG_PATH} at the repository root (rules.select, rules.ignore,
rules.severity, paths.include, paths.exclude); a missing file means the defaults.
"""


class UsageError(Exception):
    """A problem with the command line or the environment: exit status 2."""


# -- command line ----------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m rules",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="*", metavar="PATHS", help="files and directories (default: .)")
    parser.add_argument("--diff", metavar="REV", help="report only lines changed against git REV (new files whole)")
    parser.add_argument("--select", metavar="CODES", default="", help="only these codes or prefixes, comma-separated (RG1,RG201)")
    parser.add_argument("--ignore", metavar="CODES", default="", help="skip these codes or prefixes, comma-separated")
    parser.add_argument("--fix", action="store_true", help="apply safe fixes in place, then report what is left")
    parser.add_argument("--unsafe-fixes", action="store_true", help="with --fix, also apply fixes marked unsafe (implies --fix)")
    parser.add_argument("--config", metavar="PATH", help=f"configuration file (default: {CONFIG_PATH} at the repository root)")
    parser.add_argument("--format", choices=FORMATS, default="text", help="output format (default: text)")
    parser.add_argument("--show-suppressed", action="store_true", help="also list findings silenced by comments")
    parser.add_argument("--generate-docs", metavar="PATH", help="write the rule catalogue (Markdown) to PATH and exit")
    parser.add_argument("--version", action="version", version=f"reviewgate {__version__}")
    return parser


def main(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse has printed the usage error (or --help/--version)
        return exc.code if isinstance(exc.code, int) else 2
    try:
        if args.generate_docs:
            Path(args.generate_docs).write_text(render(), encoding="utf-8")
            return 0
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
    try:
        write_output(args, outcome, out)
        out.flush()
    except BrokenPipeError:  # `python -m rules | head`: the reader has seen enough
        if out is sys.stdout:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    if outcome.failed:
        return 2
    return 1 if any(f.blocking for _, f in outcome.findings()) else 0


# -- configuration and files -----------------------------------------------------------------


def find_root(start: Path) -> Path:
    """The git work tree containing `start` (a `.git` directory or file), else `start`."""
    for directory in (start, *start.parents):
        if (directory / ".git").exists():
            return directory
    return start


def load_config(option: str | None, root: Path) -> RulesConfig:
    if option is not None:
        path = Path(option)
        if not path.is_file():
            raise UsageError(f"configuration file not found: {option}")
        shown = option
    else:
        path = root / CONFIG_PATH
        if not path.is_file():
            return RulesConfig()
        shown = _shown(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(shown, None, f"cannot read the file: {exc}") from None
    return RulesConfig.from_text(text, shown)


def _shown(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return str(path)


def parse_codes(value: str, option: str) -> tuple[str, ...]:
    codes = tuple(c.strip().upper() for c in value.split(",") if c.strip())
    for code in codes:
        if not _CODE.fullmatch(code):
            raise UsageError(f"{option}: `{code}` is not a rule code or prefix (RG101, RG1, RG)")
    return codes


def discover(paths: Iterable[str], root: Path, config: RulesConfig, err: TextIO) -> list[Target]:
    found: dict[Path, Target] = {}
    for given in paths:
        start = Path(given)
        if start.is_dir():
            for target in _walk(start, root, config):
                found.setdefault(target.path, target)
        elif start.is_file():
            target = Target(os.path.normpath(given), start.resolve())
            if not config.wants_path(target.relative(root)):
                err.write(
                    f"reviewgate: skipped {target.display}: excluded by the paths section of "
                    f"the configuration\n"
                )
                continue
            found.setdefault(target.path, target)
        else:
            raise UsageError(f"no such file or directory: {given}")
    return list(found.values())


def _walk(start: Path, root: Path, config: RulesConfig) -> Iterable[Target]:
    excluded_dirs = RulesConfig(exclude=config.exclude, vendored=config.vendored)
    for directory, dirnames, filenames in os.walk(start):
        here = Path(directory)
        kept = []
        for name in sorted(dirnames):
            sub = here / name
            if name in SKIP_DIRS or (sub / "pyvenv.cfg").exists():
                continue  # a virtualenv under any name
            rel = Target(str(sub), sub.resolve()).relative(root)
            if not excluded_dirs.wants_path(rel + "/"):
                continue
            kept.append(name)
        dirnames[:] = kept
        for name in sorted(filenames):
            if not name.endswith(".py"):
                continue
            path = here / name
            target = Target(os.path.normpath(path), path.resolve())
            if config.wants_path(target.relative(root)):
                yield target


# -- git -------------------------------------------------------------------------------------


def _git(args: Sequence[str], cwd: Path | None = None) -> str:
    try:
        proc = subprocess.run(
            ["git", "-c", "core.quotepath=off", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="surrogateescape",
            check=False,
        )
    except FileNotFoundError:
        raise UsageError("--diff needs git, which was not found") from None
    if proc.returncode != 0:
        raise UsageError(f"git {args[0]} failed: {proc.stderr.strip() or proc.returncode}")
    return proc.stdout


def _unquote(name: str) -> str:
    """git's C-style quoting of unusual file names ("a\\tb.py")."""
    if name.startswith('"') and name.endswith('"'):
        raw = codecs.escape_decode(name[1:-1].encode("utf-8", "surrogateescape"))[0]
        return bytes(raw).decode("utf-8", "surrogateescape")
    return name


def parse_diff(text: str) -> dict[str, set[int]]:
    """New-side line numbers added or changed per file (paths as in the diff, `b/` removed).

    Reads `git diff` output, cut into lines where git cuts them, each file's hunks read by the
    same `added_lines` the pull-request gate uses. A file that is only renamed or deleted has
    no changed lines.
    """
    out: dict[str, set[int]] = {}
    hunks: dict[str, list[str]] = {}
    current: str | None = None
    in_header = False
    for line in git_lines(text):
        if line.startswith("diff --git "):
            in_header, current = True, None
        elif in_header and line.startswith("+++ "):
            name = _unquote(line[4:].rstrip("\t"))
            current = None if name == "/dev/null" else (name[2:] if name.startswith("b/") else name)
            if current is not None:
                out.setdefault(current, set())
        elif line.startswith("@@"):
            in_header = False
        if current is not None and not in_header:
            hunks.setdefault(current, []).append(line)
    for name, lines in hunks.items():
        out[name].update(added_lines("\n".join(lines)))
    return out


def changed_lines(rev: str, paths: Sequence[str]) -> tuple[dict[Path, set[int]], set[Path]]:
    """Changed lines per file against `rev`, and the files git tracks (unchanged if absent)."""
    top = Path(_git(["rev-parse", "--show-toplevel"]).strip()).resolve()
    # the whole tree, not only `paths`: git pairs a renamed file with its old name only when
    # it sees both, and a rename alone changes no line (as in a pull request)
    diff = _git(
        ["diff", "--no-color", "--no-ext-diff", "-M", "-U0", "--src-prefix=a/", "--dst-prefix=b/",
         rev, "--"],
        cwd=top,
    )
    changed = {(top / name).resolve(): lines for name, lines in parse_diff(diff).items()}
    listed = _git(["ls-files", "-z", "--full-name", "--", *paths])
    tracked = {(top / name).resolve() for name in listed.split("\0") if name}
    return changed, tracked


# -- analysis --------------------------------------------------------------------------------


def _decode(data: bytes) -> tuple[str, str] | None:
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        return data.decode(encoding), encoding
    except (SyntaxError, UnicodeDecodeError, LookupError):
        return None  # the engine reports it as RG001


def run(args: argparse.Namespace, err: TextIO) -> Outcome:
    root = find_root(Path.cwd().resolve())
    config = load_config(args.config, root).with_overrides(
        select=parse_codes(args.select, "--select"), ignore=parse_codes(args.ignore, "--ignore")
    )
    paths = args.paths or ["."]
    outcome = Outcome(root, config, discover(paths, root, config, err))
    fix = args.fix or args.unsafe_fixes
    changed: dict[Path, set[int]] | None = None
    tracked: set[Path] = set()
    if args.diff:
        changed, tracked = changed_lines(args.diff, paths)
    for target in outcome.targets:
        lines: set[int] | None = None
        if changed is not None:
            if target.path in changed:
                lines = changed[target.path]
            elif target.path in tracked:
                continue  # unchanged since REV
            # else: not known to git at all, i.e. new: the whole file counts
        try:
            data = target.path.read_bytes()
        except OSError as exc:
            err.write(f"reviewgate: cannot read {target.display}: {exc.strerror or exc}\n")
            outcome.failed = True
            continue
        try:
            if fix:
                data, applied = _fix(target, data, config, lines, args.unsafe_fixes)
                if applied:
                    outcome.fixed += applied
                    if args.diff and lines is not None:
                        lines = changed_lines(args.diff, [str(target.path)])[0].get(target.path, set())
            report = analyze(data, target.display, changed_lines=lines, config=config)
        except UsageError:
            raise
        except Exception as exc:
            raise RuntimeError(f"while checking {target.display}") from exc
        kept = tuple(f for f in report.findings if _selected(f, config))
        if args.format == "sarif" and kept:
            decoded = _decode(data)
            if decoded is not None:
                outcome.lines[target.path] = _LINE_BREAK.split(decoded[0])
        outcome.reports.append((target, Report(report.path, kept)))
    return outcome


def _selected(finding: Finding, config: RulesConfig) -> bool:
    """Engine notices are always shown unless explicitly ignored; rules obey select too."""
    if finding.severity is Severity.NOTICE:
        return not any(finding.code.startswith(p) for p in config.ignore)
    return config.enabled(finding.code)


def _fix(
    target: Target, data: bytes, config: RulesConfig, lines: set[int] | None, unsafe: bool
) -> tuple[bytes, int]:
    decoded = _decode(data)
    if decoded is None:
        return data, 0
    text, encoding = decoded
    fixed, applied = fix_source(text, target.display, config=config, unsafe=unsafe, changed_lines=lines)
    if not applied or fixed == text:
        return data, 0
    if "\r\n" in text and "\n" not in text.replace("\r\n", ""):
        # keep a Windows file Windows: inserted import lines come with "\n"
        fixed = fixed.replace("\r\n", "\n").replace("\n", "\r\n")
    new = fixed.encode(encoding)
    target.path.write_bytes(new)
    return new, applied
