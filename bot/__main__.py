"""`python -m bot simulate OWNER/REPO#N [--approve USER ...] [--config FILE] [--json]`: the
verdict a pull request would get now, from live GitHub data, written nowhere on GitHub.

Uses the App's settings (`REVIEWGATE_*`, or `.env`) like the server. Exit status: 0 when the
verdict is success, 1 when it is failure, 2 when the pull request cannot be simulated.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.jobs.simulate import SimulationError, parse_target, simulate
from bot.runtime import Runtime
from bot.settings import Settings
from rules import ConfigError
from rules.config import MAX_CONFIG_BYTES


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot", description="Reviewgate's operator commands.")
    commands = parser.add_subparsers(dest="command", required=True)
    sim = commands.add_parser(
        "simulate", help="print the verdict a pull request would get, without writing to GitHub"
    )
    sim.add_argument("target", metavar="OWNER/REPO#N")
    sim.add_argument("--approve", metavar="USER", action="append", default=[],
                     help="count an approval of the head by USER (repeatable)")
    sim.add_argument("--config", metavar="FILE", type=Path,
                     help="use this reviewgate.yml instead of the default branch's")
    sim.add_argument("--json", action="store_true", help="print JSON")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = _arguments(argv)
    try:
        repo, number = parse_target(args.target)
        config_text = None
        if args.config is not None:
            if args.config.stat().st_size > MAX_CONFIG_BYTES:
                raise SimulationError(f"{args.config}: larger than {MAX_CONFIG_BYTES:,} bytes")
            config_text = args.config.read_text(encoding="utf-8")
    except (SimulationError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    runtime = Runtime(Settings())
    try:
        result = simulate(
            runtime, repo, number, approve=args.approve, config_text=config_text,
            config_name=str(args.config) if args.config is not None else "",
        )
    except (SimulationError, ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        runtime.close()
    print(json.dumps(result.as_json(), indent=2) if args.json else result.as_text())
    return 0 if result.conclusion == "success" else 1


if __name__ == "__main__":
    sys.exit(main())
