"""The rules on real code: a pinned corpus of widely used packages plus this CPython's stdlib.

Downloads the wheels below (`pip download --no-deps`, no dependency is resolved and nothing is
installed or executed), unpacks their `.py` files into a cache outside the repository, runs
`python -m rules --format json` on every package, and prints per-package and per-rule finding
counts, files, lines and files/s. `--sample N` then prints up to N findings per rule, drawn with
`--seed`, each with its source context, for judging precision (docs/precision.md).

    .venv/bin/python bench/corpus.py                        # fetch if needed, run, print counts
    .venv/bin/python bench/corpus.py --sample 20 --seed 1   # and the sampled findings
    .venv/bin/python bench/corpus.py --reuse --sample 20 --severity error --select RG2
    .venv/bin/python bench/corpus.py --holdout --sample 20 --severity error   # held-out set

The stdlib is read where this interpreter has it, without `test`/`tests`/`idle_test` (test
code is not what a gate reviews). The wheels' own test folders are skipped the same way.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import json
import os
import re
import subprocess
import sys
import sysconfig
import time
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CACHE = Path.home() / ".cache" / "reviewgate-corpus"

# Exact versions, so that two runs (and the judged sample in docs/precision.md) see the same
# code. Chosen for breadth of storage and time code: web framework + ORM, task queues and
# brokers, HTTP clients, the AWS client core, two schedulers and the scheduler's AWS and HTTP
# integrations (application-style code that uploads and posts), an error-reporting SDK that
# sends over the network, a socket server, a crawler with file and feed exports, and a
# notification library with a hundred HTTP senders.
PACKAGES: dict[str, str] = {
    "Django": "5.0.6",
    "SQLAlchemy": "2.0.30",
    "celery": "5.4.0",
    "kombu": "5.3.7",
    "redis": "5.0.4",
    "requests": "2.32.3",
    "urllib3": "2.2.1",
    "botocore": "1.34.120",
    "boto3": "1.34.120",
    "apache-airflow": "2.9.2",
    "apache-airflow-providers-amazon": "8.24.0",
    "apache-airflow-providers-http": "4.11.1",
    "luigi": "3.7.1",
    "sentry-sdk": "2.5.1",
    "httpx": "0.27.0",
    "gunicorn": "22.0.0",
    "Scrapy": "2.11.2",
    "apprise": "1.8.0",
}
# Applications and services rather than libraries: what a gate reviews in a pull request
# (more writes to databases and services, scheduled jobs, notifications). Published as
# wheels on PyPI; versions that install on Python 3.11.
APPLICATIONS: dict[str, str] = {
    "changedetection.io": "0.60.10",  # website change monitoring: Flask, scheduler, notifications
    "pretalx": "2025.1.0",  # conference organisation: Django, mails, schedules
    "buildbot": "4.3.0",  # continuous-integration master: Twisted, database, workers
    "radicale": "3.9.0",  # CalDAV/CardDAV server: file storage, locking
    "mailman": "3.3.10",  # mailing-list manager: SQLAlchemy, queues, delivery
}
PACKAGES.update(APPLICATIONS)
# A second set, never looked at while the rules were tightened on the first: precision measured
# on the first set after tuning against it is in-sample; this one keeps the figure honest.
HOLDOUT: dict[str, str] = {
    "APScheduler": "3.10.4",
    "rq": "1.16.2",
    "huey": "2.5.4",
    "dramatiq": "1.17.0",
    "Flask": "3.0.3",
}
STDLIB = "stdlib"
# Left out by the engine's default `paths.vendored` (third-party code copied in).
VENDORED_DIRS = ("_vendored", "vendored", "_vendor", "vendor")
# Directory names whose contents are tests, not product code.
TEST_DIRS = ("test", "tests", "idle_test")
# Written with `**/` as well: the engine matches paths against the enclosing git work tree,
# and an interpreter may live inside one (pyenv is a git clone).
CONFIG_TEXT = "paths:\n  exclude:\n" + "".join(
    f'    - "{name}/"\n    - "**/{name}/"\n' for name in (*TEST_DIRS, "site-packages")
)


@dataclass
class PackageRun:
    name: str
    version: str
    files: int
    lines: int
    seconds: float
    findings: list[dict[str, Any]]
    base: Path  # finding paths are relative to this directory


# -- fetching --------------------------------------------------------------------------------


def _normalized(name: str) -> str:
    """A project name as wheel file names spell it (PEP 427/503): `changedetection_io`."""
    return re.sub(r"[-_.]+", "_", name).lower()


def _dist_dir(cache: Path, name: str, version: str) -> Path:
    return cache / "src" / f"{_normalized(name)}-{version}"


def fetch(cache: Path, packages: dict[str, str]) -> None:
    """Download and unpack each pinned wheel once; a finished unpack is marked and reused."""
    wheels = cache / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    missing = {
        n: v for n, v in packages.items() if not (_dist_dir(cache, n, v) / ".complete").exists()
    }
    if not missing:
        return
    specs = [f"{n}=={v}" for n, v in missing.items()]
    print(f"fetching {' '.join(specs)}", file=sys.stderr)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
         "--disable-pip-version-check", "--quiet", "-d", str(wheels), *specs],
        check=True,
    )
    for name, version in missing.items():
        wheel = _find_wheel(wheels, name, version)
        target = _dist_dir(cache, name, version)
        with zipfile.ZipFile(wheel) as archive:
            members = [
                m for m in archive.namelist()
                if m.endswith(".py") and ".dist-info/" not in m and ".data/" not in m
            ]
            archive.extractall(target, members)
        (target / ".complete").write_text(wheel.name + "\n", encoding="utf-8")


def _find_wheel(wheels: Path, name: str, version: str) -> Path:
    # wheel file names normalise the project name (PEP 427/491): `apache_airflow-2.9.2-...`
    stem = _normalized(name)
    for path in wheels.glob("*.whl"):
        dist, ver = path.name.split("-")[:2]
        if dist.lower() == stem and ver == version:
            return path
    raise FileNotFoundError(f"no wheel for {name}=={version} in {wheels}")


# -- running ---------------------------------------------------------------------------------


def python_files(base: Path) -> Iterator[Path]:
    """What `python -m rules .` reads under `base` with CONFIG_TEXT (kept in step by hand)."""
    for directory, dirnames, filenames in os.walk(base):
        dirnames[:] = sorted(
            d for d in dirnames
            if d not in TEST_DIRS and d not in ("site-packages", "__pycache__")
            and d not in VENDORED_DIRS
        )
        for name in sorted(filenames):
            if name.endswith(".py"):
                yield Path(directory) / name


def count_lines(files: Iterable[Path]) -> int:
    return sum(p.read_bytes().count(b"\n") for p in files)


def run_engine(name: str, version: str, base: Path, config: Path) -> PackageRun:
    files = list(python_files(base))
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    started = time.perf_counter()
    # cwd is the package folder (no git work tree): paths come out relative to it and the
    # repository's own configuration does not apply, only the test-folder exclusions
    proc = subprocess.run(
        [sys.executable, "-m", "rules", "--format", "json", "--config", str(config), "."],
        cwd=base, env=env, capture_output=True, text=True, check=False,
    )
    seconds = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"python -m rules failed on {name} ({proc.returncode}):\n{proc.stderr}")
    data = json.loads(proc.stdout)
    checked = data["counts"]["files"]
    if checked != len(files):
        print(f"warning: {name}: the engine read {checked} files, the corpus counted {len(files)}",
              file=sys.stderr)
    return PackageRun(name, version, checked, count_lines(files), seconds, data["findings"], base)


def run_all(cache: Path, packages: dict[str, str], with_stdlib: bool) -> list[PackageRun]:
    config = cache / "reviewgate.yml"
    config.write_text(CONFIG_TEXT, encoding="utf-8")
    runs = []
    for name, version in packages.items():
        print(f"analysing {name} {version}", file=sys.stderr)
        runs.append(run_engine(name, version, _dist_dir(cache, name, version), config))
    if with_stdlib:
        print("analysing the stdlib", file=sys.stderr)
        stdlib = Path(sysconfig.get_paths()["stdlib"])
        runs.append(run_engine(STDLIB, sys.version.split()[0], stdlib, config))
    return runs


def save(cache: Path, runs: Sequence[PackageRun], name: str = "results.json") -> None:
    out = [
        {"name": r.name, "version": r.version, "files": r.files, "lines": r.lines,
         "seconds": r.seconds, "base": str(r.base), "findings": r.findings}
        for r in runs
    ]
    (cache / name).write_text(json.dumps(out), encoding="utf-8")


def load(cache: Path, name: str = "results.json") -> list[PackageRun]:
    data = json.loads((cache / name).read_text(encoding="utf-8"))
    return [
        PackageRun(d["name"], d["version"], d["files"], d["lines"], d["seconds"], d["findings"],
                   Path(d["base"]))
        for d in data
    ]


# -- reporting -------------------------------------------------------------------------------


def active(run: PackageRun) -> list[dict[str, Any]]:
    return [f for f in run.findings if not f["suppressed"]]


def print_counts(runs: Sequence[PackageRun]) -> None:
    width = max(len("package"), *(len(r.name) for r in runs)) + 2
    print(f"{'package':<{width}}{'version':>10}{'files':>8}{'lines':>10}{'sec':>8}{'files/s':>9}"
          f"{'findings':>10}")
    for r in runs:
        print(f"{r.name:<{width}}{r.version:>10}{r.files:>8}{r.lines:>10}{r.seconds:>8.1f}"
              f"{r.files / r.seconds:>9.1f}{len(active(r)):>10}")
    files = sum(r.files for r in runs)
    lines = sum(r.lines for r in runs)
    seconds = sum(r.seconds for r in runs)
    total = sum(len(active(r)) for r in runs)
    print(f"{'total':<{width}}{'':>10}{files:>8}{lines:>10}{seconds:>8.1f}{files / seconds:>9.1f}"
          f"{total:>10}")
    print(f"({lines / seconds:,.0f} lines/s, one process per package, interpreter start included)")

    codes = sorted({f["code"] for r in runs for f in active(r)})
    slug = {f["code"]: f["slug"] for r in runs for f in r.findings}
    # a rule may report some findings as errors and others as warnings (benign shapes)
    by_severity = collections.Counter((f["code"], f["severity"]) for r in runs for f in active(r))
    print("\nper rule (unsuppressed findings)")
    print(f"{'':<33}{'error':>7}{'warning':>9}{'notice':>8}")
    for code in codes:
        print(f"{code:<7}{slug[code]:<26}" + "".join(
            f"{by_severity[code, sev]:>{w}}" for sev, w in (("error", 7), ("warning", 9), ("notice", 8))
        ))
    print("\nper package and rule (all severities)")
    print(f"{'':<{width}}" + "".join(f"{c:>7}" for c in codes))
    for r in runs:
        counts = collections.Counter(f["code"] for f in active(r))
        print(f"{r.name:<{width}}" + "".join(f"{counts[c] or '.':>7}" for c in codes))
    suppressed = sum(len(r.findings) - len(active(r)) for r in runs)
    if suppressed:
        print(f"({suppressed} findings suppressed in the source by comments, not counted)")


Sampled = dict[str, tuple[int, list[tuple[PackageRun, dict[str, Any]]]]]


def sample(
    runs: Sequence[PackageRun], per_rule: int, seed: int, severity: str | None = None,
    select: Sequence[str] = (),
) -> Sampled:
    """Up to `per_rule` unsuppressed findings of each rule, and how many it had in all.

    Deterministic for a seed; a rule's sample does not move when another rule changes.
    """
    by_code: dict[str, list[tuple[PackageRun, dict[str, Any]]]] = collections.defaultdict(list)
    for r in runs:
        for f in active(r):
            if severity and f["severity"] != severity:
                continue
            if select and not any(f["code"].startswith(s) for s in select):
                continue
            by_code[f["code"]].append((r, f))
    out: Sampled = {}
    for code in sorted(by_code):
        found = by_code[code]
        # rank by a hash of (seed, finding): a finding keeps its place when others come or go,
        # so a judged sample stays judged while a rule is tightened
        ranked = sorted(found, key=lambda rf: _rank(seed, code, rf[0].name, rf[1]))[:per_rule]
        ranked.sort(key=lambda rf: (rf[0].name, rf[1]["path"], rf[1]["line"], rf[1]["column"]))
        out[code] = (len(found), ranked)
    return out


def _rank(seed: int, code: str, package: str, finding: dict[str, Any]) -> str:
    where = f"{seed}:{code}:{package}/{finding['path']}:{finding['line']}:{finding['column']}"
    return hashlib.sha256(where.encode()).hexdigest()


def print_samples(sampled: Sampled, context: int) -> None:
    for code, (total, picked) in sampled.items():
        print(f"\n{'=' * 100}\n{code} {picked[0][1]['slug']}: {len(picked)} of {total} findings")
        for n, (run, f) in enumerate(picked, 1):
            print(f"\n--- {code} #{n}  {run.name}/{f['path']}:{f['line']}:{f['column']}")
            print(f"    {f['message']}")
            print(source_context(run.base / f["path"], f["line"], f["end_line"], context))


def source_context(path: Path, line: int, end_line: int, context: int) -> str:
    text = path.read_text(encoding="utf-8", errors="replace").splitlines()
    first, last = max(1, line - context), min(len(text), max(line, end_line) + context)
    return "\n".join(
        f"{'>' if line <= i <= end_line else ' '}{i:6d}  {text[i - 1]}" for i in range(first, last + 1)
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE,
                        help=f"where the packages and results go (default: {DEFAULT_CACHE})")
    parser.add_argument("--reuse", action="store_true",
                        help="do not run the engine again: read the previous run's results")
    parser.add_argument("--holdout", action="store_true",
                        help="use the held-out package set instead (results kept apart)")
    parser.add_argument("--only", metavar="NAMES", default="",
                        help="comma-separated package names to run (stdlib included by naming it)")
    parser.add_argument("--apps", action="store_true",
                        help="run only the application packages (APPLICATIONS)")
    parser.add_argument("--sample", type=int, default=0, metavar="N",
                        help="print up to N findings per rule with their source context")
    parser.add_argument("--seed", type=int, default=1, help="seed of the sample (default: 1)")
    parser.add_argument("--context", type=int, default=4, metavar="LINES",
                        help="source lines shown around a sampled finding (default: 4)")
    parser.add_argument("--severity", choices=("error", "warning", "notice"),
                        help="sample only findings of this severity")
    parser.add_argument("--select", default="", metavar="CODES",
                        help="sample only these codes or prefixes, comma-separated (RG2,RG101)")
    args = parser.parse_args(argv)
    cache = args.cache.expanduser().resolve()
    if ROOT in (cache, *cache.parents):
        parser.error("the cache must be outside the repository")
    cache.mkdir(parents=True, exist_ok=True)

    corpus, results = (HOLDOUT, "results-holdout.json") if args.holdout else (PACKAGES, "results.json")
    if args.reuse:
        runs = load(cache, results)
    else:
        only = {n.strip().lower() for n in args.only.split(",") if n.strip()}
        if args.apps:
            only |= {n.lower() for n in APPLICATIONS}
        unknown = only - {n.lower() for n in corpus} - {STDLIB}
        if unknown:
            parser.error(f"--only: not in the corpus: {', '.join(sorted(unknown))}")
        packages = {n: v for n, v in corpus.items() if not only or n.lower() in only}
        fetch(cache, packages)
        with_stdlib = not args.holdout and (not only or STDLIB in only)
        runs = run_all(cache, packages, with_stdlib=with_stdlib)
        if only and (cache / results).exists():
            # a partial run refreshes those packages and keeps the others' last results
            fresh = {r.name for r in runs}
            runs += [r for r in load(cache, results) if r.name not in fresh]
            order = [*corpus, STDLIB]
            runs.sort(key=lambda r: order.index(r.name) if r.name in order else len(order))
        save(cache, runs, results)
    print_counts(runs)
    if args.sample:
        select = [c.strip().upper() for c in args.select.split(",") if c.strip()]
        print_samples(sample(runs, args.sample, args.seed, args.severity, select), args.context)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
