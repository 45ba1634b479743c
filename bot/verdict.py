"""The findings-only verdict: unsuppressed error findings on changed lines fail the check.

It takes the gate's `Facts` and returns the gate's `Verdict` (no I/O), so moving the app to
the peer-approval policy is a matter of calling `bot.gate.decide` instead, once the
evaluation also gathers reviews, permissions and waivers.
"""

from __future__ import annotations

from bot.gate import Condition, Facts, Verdict, short
from bot.repo_config import GateConfig


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def decide(facts: Facts, config: GateConfig) -> Verdict:
    blocking = [f for f in facts.findings if f.severity == "error" and not f.suppressed]
    conditions: list[Condition] = []
    if facts.config_error:
        conditions.append(
            Condition(
                "config", False, f"`.github/reviewgate.yml` is invalid: {facts.config_error}",
                "Fix the file on the default branch.",
            )
        )
    conditions.append(
        Condition(
            "findings",
            not blocking,
            "no error findings on changed lines"
            if not blocking
            else f"{_plural(len(blocking), 'error finding')} on changed lines",
            "" if not blocking
            else "Fix the flagged lines, or silence a false positive with `# reviewgate: ignore[CODE]`.",
        )
    )
    unmet = [c for c in conditions if not c.met]
    head = short(facts.head_sha)
    title = f"Blocked on {head}: {unmet[0].text}" if unmet else f"Passed on {head}: no error findings on changed lines"
    lines = [
        f"- {'✓' if c.met else '✗'} {c.text}" + (f" — {c.unblock}" if c.unblock else "") for c in conditions
    ]
    return Verdict(
        conclusion="failure" if unmet else "success",
        title=title,
        conditions=tuple(conditions),
        summary="\n".join(lines),
    )
