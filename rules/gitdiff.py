"""The lines a change touches, from git: what `--since` and `--changed-lines` judge.

`git diff` output is read by the same hunk parser as a pull request's patch
(`rules.diff.added_lines`), against the merge base of `--since` and HEAD, as GitHub compares
a pull request with its base branch; so the same lines are judged locally and on the PR.
"""

from __future__ import annotations

import codecs
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rules.diff import added_lines, git_lines
from rules.files import UsageError


def _git(args: Sequence[str], cwd: Path | None = None, ok: tuple[int, ...] = (0,)) -> str:
    try:
        proc = subprocess.run(
            ["git", "-c", "core.quotepath=off", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="surrogateescape",
            input="",
            check=False,
        )
    except FileNotFoundError:
        raise UsageError("--since and --changed-lines need git, which was not found") from None
    if proc.returncode not in ok:
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


def base_revision(since: str | None) -> str:
    """What the work tree is compared with: the merge base of `since` and HEAD, as a pull
    request from HEAD into `since` would be; without `since`, HEAD (uncommitted changes,
    staged or not). Before the first commit, the empty tree: every file is new."""
    if _git(["rev-parse", "--verify", "--quiet", "HEAD"], ok=(0, 1)).strip() == "":
        if since is not None:
            raise UsageError(f"--since {since}: the repository has no commit yet")
        return _git(["hash-object", "-t", "tree", "--stdin"]).strip()
    if since is None:
        return "HEAD"
    if since.startswith("-") or not _git(
        ["rev-parse", "--verify", "--quiet", "--end-of-options", f"{since}^{{commit}}"], ok=(0, 1)
    ).strip():
        raise UsageError(f"--since {since}: not a commit in this repository")
    merge_base = _git(["merge-base", "--", since, "HEAD"], ok=(0, 1)).strip()
    if not merge_base:
        raise UsageError(f"--since {since}: no common history with HEAD")
    return merge_base


@dataclass
class Changes:
    """Changed lines per file against the base, and the files git tracks."""

    lines: dict[Path, set[int]] = field(default_factory=dict)
    tracked: set[Path] = field(default_factory=set)

    def unchanged(self, path: Path) -> bool:
        """Tracked and not changed since the base: nothing in it is the change's work.
        A file git does not know at all is new, and counts whole."""
        return path not in self.lines and path in self.tracked


def changes(base: str, paths: Sequence[str]) -> Changes:
    top = Path(_git(["rev-parse", "--show-toplevel"]).strip()).resolve()
    # the whole tree, not only `paths`: git pairs a renamed file with its old name only when
    # it sees both, and a rename alone changes no line (as in a pull request)
    diff = _git(
        ["diff", "--no-color", "--no-ext-diff", "-M", "-U0", "--src-prefix=a/", "--dst-prefix=b/",
         base, "--"],
        cwd=top,
    )
    changed = {(top / name).resolve(): lines for name, lines in parse_diff(diff).items()}
    listed = _git(["ls-files", "-z", "--full-name", "--", *paths])
    tracked = {(top / name).resolve() for name in listed.split("\0") if name}
    return Changes(changed, tracked)
