"""Reviewgate's analysis engine: risky time and storage patterns in Python source.

Knows Python, knows nothing of GitHub. The public API is `analyze` and the catalogue.

Layout: `model.py` (findings, reports) and `rule.py` (the rule API: `Rule`, `Context`,
`FixSpec`) are what rules and callers see; `engine/` parses, walks the tree once for all
rules and turns fixes into text edits; `scope.py` resolves names to imports; `analysis/`
answers the questions several rules ask; `checks/<family>/rgNNN_<slug>.py` are the rules,
which `catalogue.py` finds; `config.py` and `gate_config.py` are the configuration (the
engine's sections, and the whole file's schema, which the bot uses too), `suppress.py` the
in-code suppressions, `docs.py` the documentation. The command line is `cli.py`, with
`files.py` (which files, which configuration), `gitdiff.py` (changed lines), `output.py` and
`text.py` (formats), `progress.py`. Nothing here imports the bot or its dependencies.
"""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from rules.catalogue import BY_CODE, CATALOGUE, rule_for
from rules.config import CONFIG_PATH, ConfigError, RulesConfig, glob_match, load_document
from rules.diff import LineMap, added_lines, git_lines
from rules.engine import analyze
from rules.model import Edit, Finding, Fix, Report, Severity
from rules.rule import Example, Rule

__version__ = "0.2.0"  # the package version too (pyproject.toml reads it); tagged v0.2.0


@functools.cache
def _rules_version() -> str:
    """Changes whenever any rule's code changes: part of the bot's findings cache key."""
    digest = hashlib.sha256(__version__.encode())
    for path in sorted(Path(__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:12]}"


def __getattr__(name: str) -> str:
    # RULES_VERSION reads every source file of the package: computed on first use, not at import
    if name == "RULES_VERSION":
        return _rules_version()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BY_CODE", "CATALOGUE", "CONFIG_PATH", "ConfigError", "Edit", "Example", "Finding", "Fix", "LineMap",
    "Report", "Rule", "RULES_VERSION", "RulesConfig", "Severity", "added_lines", "analyze", "git_lines", "glob_match", "load_document",
    "rule_for",
]
