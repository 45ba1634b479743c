"""Every rule's own VALID and INVALID examples, collected from the catalogue."""

from __future__ import annotations

import libcst as cst
import pytest

from rules import CATALOGUE, Example, analyze
from rules.engine import fix_source

VALID = [
    pytest.param(rule, code, id=f"{rule.code}-valid-{i}")
    for rule in CATALOGUE
    for i, code in enumerate(rule.VALID)
]
INVALID = [
    pytest.param(rule, ex if isinstance(ex, Example) else Example(ex), id=f"{rule.code}-invalid-{i}")
    for rule in CATALOGUE
    for i, ex in enumerate(rule.INVALID)
]


@pytest.mark.parametrize(("rule", "code"), VALID)
def test_valid_example_has_no_finding(rule, code):
    cst.parse_module(code)
    found = [f for f in analyze(code, "example.py").findings if f.code == rule.code]
    assert found == [], f"{rule.code} flags valid code:\n{code}"


@pytest.mark.parametrize(("rule", "example"), INVALID)
def test_invalid_example_is_flagged(rule, example):
    report = analyze(example.code, "example.py")
    found = [f for f in report.findings if f.code == rule.code]
    assert found, f"{rule.code} misses:\n{example.code}"
    for finding in found:
        assert finding.severity == (example.severity or rule.severity)
        assert finding.message and finding.slug == rule.slug
    if example.fix is not None:
        fixed, applied = fix_source(example.code, "example.py", unsafe=example.unsafe, codes={rule.code})
        assert applied, f"{rule.code} offers no applicable fix for:\n{example.code}"
        assert fixed == example.fix
        cst.parse_module(fixed)
        assert not [f for f in analyze(fixed, "example.py").findings if f.code == rule.code]
        if example.unsafe:
            safe_only, _ = fix_source(example.code, "example.py", codes={rule.code})
            assert safe_only == example.code, "an unsafe fix was applied without --unsafe-fixes"


@pytest.mark.parametrize("rule", CATALOGUE, ids=lambda r: r.code)
def test_rule_metadata(rule):
    assert rule.code[:2] == "RG" and rule.code[2:].isdigit() and len(rule.code) == 5
    assert rule.slug == rule.slug.lower() and " " not in rule.slug
    sections = rule.sections()
    assert set(sections) == {"What it flags", "Why it is risky", "How to fix"}, rule.doc()
    assert all(sections.values())
    assert rule.VALID and rule.INVALID
    assert rule.__module__.startswith("rules.checks.")


SAFE_FIXES = [
    param
    for param in INVALID
    if param.values[1].fix is not None and not param.values[1].unsafe
]


def _run(source: str, exercise: str) -> None:
    namespace: dict[str, object] = {"__name__": "example"}
    exec(compile(source + "\n" + exercise, "example.py", "exec"), namespace)  # noqa: S102


@pytest.mark.parametrize(("rule", "example"), SAFE_FIXES)
def test_safe_fix_keeps_the_code_running(rule, example):
    """A safe fix is applied without asking: the fixed module must still run, with the naive
    and aware values its exercise feeds in, exactly as the original does."""
    assert example.exercise, f"{rule.code}: a safe fix needs exercise code to run the fixed module"
    _run(example.code, example.exercise)
    fixed, applied = fix_source(example.code, "example.py", codes={rule.code})
    assert applied and fixed == example.fix
    _run(fixed, example.exercise)

