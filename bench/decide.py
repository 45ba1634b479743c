"""`decide` with many owners entries and many changed paths.

A configuration of 3,000 owners entries (two globs each: most under a directory, some by
name anywhere) and a pull request of 3,000 changed paths, GitHub's listing cap. Prints the
time of `decide` (best of 3, and the first call, which compiles the globs), and the time the
pairwise matching it replaced would take: every glob tried on every path with fnmatch,
measured on a slice of the entries and scaled up (it grows linearly with them). The target
is under 1 s; the pairwise matching took 44.8 s.

Usage: .venv/bin/python bench/decide.py [--entries 3000] [--paths 3000]
"""

from __future__ import annotations

import argparse
import fnmatch
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.policy import paths  # noqa: E402
from bot.policy.decide import decide  # noqa: E402
from bot.policy.facts import Facts, Review  # noqa: E402
from bot.policy.repo_config import GateConfig, OwnersRule  # noqa: E402

HEAD = "a" * 40


def _pairwise(path: str, pattern: str) -> bool:
    """The matching `decide` did before: fnmatch per (path, glob) pair, twice per glob."""
    path = path.replace("\\", "/").removeprefix("./")
    pattern = pattern.removeprefix("./").removeprefix("/")
    if pattern.endswith("/"):
        pattern += "**"
    return fnmatch.fnmatchcase(path, pattern) or fnmatch.fnmatchcase(path, pattern.replace("**/", ""))


def _config(entries: int) -> GateConfig:
    rules = []
    for i in range(entries):
        if i % 20 == 0:  # by name, anywhere: no literal prefix to narrow the paths down
            globs = (f"**/migrations/{i:04}_*.py", f"*/schema_{i}.sql")
        else:
            globs = (f"services/svc{i}/", f"libs/lib{i}/**/*.py")
        rules.append(OwnersRule(paths=globs, users=(f"owner{i}",)))
    return GateConfig(owners=tuple(rules))


def _paths(count: int) -> tuple[str, ...]:
    out = []
    for i in range(count):
        kind = i % 4
        if kind == 0:
            out.append(f"services/svc{i}/handlers/h{i}.py")
        elif kind == 1:
            out.append(f"libs/lib{i}/pkg/mod{i}.py")
        elif kind == 2:
            out.append(f"app/db/migrations/{i:04}_change.py")
        else:
            out.append(f"docs/page{i}.md")
    return tuple(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=3000)
    parser.add_argument("--paths", type=int, default=3000)
    args = parser.parse_args()
    config = _config(args.entries)
    facts = Facts(
        repo="bench/demo", number=1, head_sha=HEAD, author="alice",
        reviews=(Review("bob", "User", "APPROVED", HEAD, "2026-01-01T00:00:00Z"),),
        permissions={"bob": "write"}, changed_paths=_paths(args.paths),
    )

    paths._glob.cache_clear()
    start = time.perf_counter()
    verdict = decide(facts, config)
    first = time.perf_counter() - start
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        decide(facts, config)
        runs.append(time.perf_counter() - start)
    best = min(runs)

    sample = max(1, args.entries // 10)
    start = time.perf_counter()
    for rule in config.owners[:sample]:
        [p for p in facts.changed_paths if any(_pairwise(p, g) for g in rule.paths)]
    pairwise = (time.perf_counter() - start) * args.entries / sample

    owners = sum(1 for c in verdict.conditions if c.key.startswith("owners."))
    print(f"decide: {args.entries:,} owners entries x {args.paths:,} changed paths ({owners:,} entries apply)")
    print(f"  first call (compiles the globs): {first:.3f} s")
    print(f"  best of 3:                       {best:.3f} s  (target: under 1 s)")
    print(f"  pairwise fnmatch, scaled from {sample:,} entries: {pairwise:.1f} s  ({pairwise / best:.0f}x slower)")


if __name__ == "__main__":
    main()
