"""Properties of `analyze` on generated programs: it never raises, and every finding points
inside the file. Bounded so that the suite stays fast."""

from __future__ import annotations

import re

import hypothesmith
import libcst as cst
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules import RulesConfig, analyze
from rules.engine import fix_source

BOUNDED = settings(
    max_examples=30,
    deadline=None,
    derandomize=True,  # the same examples on every run: a failure is reproducible in CI
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)

# Lines that the rules care about, to be mixed into generated programs so that findings,
# fixes and suppressions are exercised and not only the engine's empty path.
RISKY = [
    "import datetime as dt\n",
    "from datetime import datetime, date\n",
    "import time\n",
    "x = dt.datetime.now()\n",
    "y = datetime.utcnow()  # noqa: RG102\n",
    "z = datetime(2024, 1, 1)\n",
    "d = date.today()\n",
    "t0 = time.monotonic()\n",
    "def f(t=datetime.now()):\n    return datetime.fromtimestamp(t) > t\n",
    "try:\n    open('f', 'w').write('x')\nexcept OSError:\n    pass\n",
    "s = datetime.strptime(v, '%Y-%m-%d')\n",
    "# reviewgate: ignore[RG101]\nn = datetime.now()\n",
]


def _line_count(source: str | bytes) -> int:
    text = source.decode("utf-8") if isinstance(source, bytes) else source
    lines = re.split(r"\r\n|\r|\n", text)  # Python's line breaks, as the parser counts
    if lines[-1] == "":
        lines.pop()
    return max(1, len(lines))


def _check(source: str) -> None:
    report = analyze(source, "gen.py")
    assert report.path == "gen.py"
    for finding in report.findings:
        assert 1 <= finding.line <= finding.end_line <= _line_count(source), (finding, source)
        assert finding.column >= 1 and finding.message


@BOUNDED
@given(hypothesmith.from_grammar())
def test_generated_programs_never_raise(source):
    _check(source)


@BOUNDED
@given(hypothesmith.from_grammar(), st.lists(st.sampled_from(RISKY), min_size=1, max_size=6))
def test_generated_programs_with_risky_lines(generated, risky):
    source = "".join(risky) + generated
    _check(source)
    _check(source.encode("utf-8"))
    _check(generated + "\n" + "".join(risky))


@BOUNDED
@given(st.lists(st.sampled_from(RISKY), min_size=1, max_size=8))
def test_fixes_keep_the_program_parsable(risky):
    source = "".join(risky)
    cst.parse_module(source)
    fixed, _ = fix_source(source, "gen.py", unsafe=True)
    cst.parse_module(fixed)
    _check(fixed)


@BOUNDED
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(data):
    report = analyze(data, "bytes.py", config=RulesConfig())
    for finding in report.findings:
        assert finding.line >= 1
