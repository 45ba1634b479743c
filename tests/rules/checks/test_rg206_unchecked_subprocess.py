"""RG206 unchecked-subprocess, beyond the rule's own examples (test_examples.py runs those)."""

from __future__ import annotations

import textwrap

from rules import Severity, analyze
from rules.engine import fix_source


def findings(code: str, rule: str) -> list[tuple[int, Severity]]:
    report = analyze(textwrap.dedent(code), "example.py")
    return [(f.line, f.severity) for f in report.findings if f.code == rule and not f.suppressed]


def lines(code: str, rule: str) -> list[int]:
    return [line for line, _ in findings(code, rule)]


def test_unchecked_subprocess_is_a_warning_on_the_call_line():
    code = """\
        import subprocess

        def build():
            result = subprocess.run(
                ["make"], capture_output=True
            )
            print(result.stdout)
        """
    assert findings(code, "RG206") == [(4, Severity.WARNING)]


def test_check_true_fix_needs_unsafe_fixes():
    code = "import subprocess\nsubprocess.run(['make'])\n"
    assert fix_source(code, "example.py", codes={"RG206"}) == (code, 0)
    fixed, _ = fix_source(code, "example.py", codes={"RG206"}, unsafe=True)
    assert fixed == "import subprocess\nsubprocess.run(['make'], check=True)\n"


def test_ruff_code_suppresses_unchecked_subprocess():
    code = "import subprocess\nsubprocess.run(['make'])  # noqa: PLW1510\n"
    assert lines(code, "RG206") == []


def test_check_true_goes_before_a_closing_parenthesis_on_its_own_line():
    code = "import subprocess\nout = subprocess.run(\n    cmd, text=True\n).stdout\n"
    fixed, _ = fix_source(code, "example.py", codes={"RG206"}, unsafe=True)
    assert fixed == "import subprocess\nout = subprocess.run(\n    cmd, text=True, check=True\n).stdout\n"
