"""Engine benchmark on this machine's CPython standard library (without test/tests).

Prints, in one run: files, lines, libcst parse-only lines/s, full `analyze` lines/s (all rules
enabled), their ratio, where the time of `analyze` goes, and per-rule recall against
`ruff check --select DTZ` on the same files, with every finding we report that ruff does not.

    .venv/bin/python bench/analyze.py [--limit N]
"""

from __future__ import annotations

import argparse
import collections
import json
import shutil
import subprocess
import sys
import sysconfig
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import libcst as cst

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import rules  # noqa: E402
from rules import engine  # noqa: E402

DTZ_TO_RG = {
    "DTZ001": "RG104", "DTZ002": "RG101", "DTZ005": "RG101", "DTZ003": "RG102", "DTZ004": "RG102",
    "DTZ006": "RG103", "DTZ007": "RG105", "DTZ011": "RG106", "DTZ012": "RG106",
}


def stdlib_files(limit: int | None) -> list[Path]:
    root = Path(sysconfig.get_paths()["stdlib"])
    skip = {"test", "tests", "site-packages"}
    files = [p for p in sorted(root.rglob("*.py")) if not (skip & set(p.relative_to(root).parts))]
    if limit:
        files = files[:: max(1, len(files) // limit)][:limit]
    return files


def ruff_findings(files: list[Path]) -> list[tuple[str, int, str]]:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        return []
    out: list[tuple[str, int, str]] = []
    for i in range(0, len(files), 200):
        proc = subprocess.run(
            [ruff, "check", "--select", "DTZ", "--ignore-noqa", "--no-cache", "--isolated",
             "--output-format", "json", "--exit-zero", *map(str, files[i:i + 200])],
            capture_output=True, text=True, check=True,
        )
        for item in json.loads(proc.stdout or "[]"):
            out.append((item["filename"], item["location"]["row"], item["code"]))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only N files (spread evenly)")
    args = parser.parse_args()
    files = stdlib_files(args.limit)
    sources = [(str(p), p.read_bytes()) for p in files]
    lines = sum(s.count(b"\n") for _, s in sources)
    # libcst's own visitors need this on a few stdlib files (e.g. pydoc_data/topics.py);
    # the baseline must not fail where the engine copes.
    sys.setrecursionlimit(20_000)

    t0 = time.perf_counter()
    unparsable = 0
    for _, src in sources:
        try:
            cst.parse_module(src)
        except Exception:  # noqa: BLE001 - counted: the engine reports these as RG001
            unparsable += 1
    parse_s = time.perf_counter() - t0

    # Where analyze's time goes: wrap the engine's phases (same calls, timed).
    phase: dict[str, float] = collections.defaultdict(float)

    def timed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def wrapper(*a: Any, **k: Any) -> Any:
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                phase[name] += time.perf_counter() - t
        return wrapper

    originals = {n: getattr(engine, n) for n in ("_parse", "collect_scopes", "_walk", "_positions")}
    for name, fn in originals.items():
        setattr(engine, name, timed(name, fn))
    real_ast = engine.ast
    engine.ast = types.SimpleNamespace(parse=timed("ast.parse", real_ast.parse))  # type: ignore[assignment]
    ours: dict[tuple[str, int], set[str]] = collections.defaultdict(set)
    per_rule = collections.Counter[str]()
    files_with_findings = 0
    t0 = time.perf_counter()
    for path, src in sources:
        report = rules.analyze(src, path)
        files_with_findings += bool(report.findings)
        for f in report.findings:
            ours[(path, f.line)].add(f.code)
            per_rule[f.code] += 1
    analyze_s = time.perf_counter() - t0
    for name, fn in originals.items():
        setattr(engine, name, fn)
    engine.ast = real_ast

    print(f"files                     {len(files)}")
    print(f"lines                     {lines}")
    print(f"files libcst cannot parse {unparsable}")
    print(f"libcst parse only         {parse_s:8.2f} s  {lines / parse_s:10,.0f} lines/s")
    print(f"analyze (all {len(rules.CATALOGUE)} rules)     {analyze_s:8.2f} s  {lines / analyze_s:10,.0f} lines/s")
    print(f"ratio analyze / parse     {analyze_s / parse_s:8.2f}")
    print("where analyze's time goes (x parse-only):")
    for name, label in (
        ("_parse", "libcst parse (in a thread with a large stack)"),
        ("ast.parse", "CPython's parser first (nesting guard, messages)"),
        ("collect_scopes", "scope pre-pass over statements"),
        ("_walk", "one traversal running every rule"),
        ("_positions", f"positions, only for the {files_with_findings} files with findings"),
    ):
        print(f"  {label:<52} {phase[name]:7.2f} s  {phase[name] / parse_s:5.2f}")
    rest = analyze_s - sum(phase.values())
    print(f"  {'the rest (decoding, rule set-up, finish, findings)':<52} {rest:7.2f} s  {rest / parse_s:5.2f}")
    print("findings per rule        ", dict(sorted(per_rule.items())))

    theirs = ruff_findings(files)
    if not theirs:
        print("ruff not found: recall not measured")
        return 0
    print("\nrecall against ruff --select DTZ (same files)")
    by_rule: dict[str, list[bool]] = collections.defaultdict(list)
    missed = []
    for path, line, code in theirs:
        rg = DTZ_TO_RG.get(code)
        if rg is None:
            continue
        hit = rg in ours.get((path, line), set())
        by_rule[rg].append(hit)
        if not hit:
            missed.append(f"  missed {code}->{rg} {path}:{line}")
    for rg, hits in sorted(by_rule.items()):
        print(f"  {rg}  {sum(hits)}/{len(hits)}  {100 * sum(hits) / len(hits):.0f} %")
    print("\n".join(missed) or "  no ruff finding missed")
    ruff_lines = {(p, ln, DTZ_TO_RG.get(c)) for p, ln, c in theirs}
    extra = sorted(
        (path, line, code)
        for (path, line), codes in ours.items()
        for code in codes
        if code in DTZ_TO_RG.values() and (path, line, code) not in ruff_lines
    )
    print(f"\nfindings of the mapped rules that ruff does not report: {len(extra)}")
    for path, line, code in extra:
        print(f"  {code} {path}:{line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
