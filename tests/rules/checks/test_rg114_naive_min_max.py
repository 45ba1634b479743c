"""RG114 naive-min-max, beyond the rule's own examples (test_examples.py runs those)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rules import Severity, analyze
from rules.engine import fix_source


def findings(code: str) -> list[tuple[int, Severity]]:
    report = analyze(textwrap.dedent(code), "t.py")
    return [(f.line, f.severity) for f in report.findings if f.code == "RG114"]


def test_the_error_shape_really_raises_and_the_fix_does_not():
    with pytest.raises(TypeError):
        _ = datetime.min < datetime.now(UTC)  # noqa: DTZ901 - the shape the rule flags
    assert datetime.min.replace(tzinfo=UTC) < datetime.now(UTC)


def test_the_extremes_are_resolved_through_the_imports():
    code = """\
        import datetime
        import datetime as dt
        from datetime import datetime as DT, date

        a = datetime.datetime.min
        b = dt.datetime.max
        c = DT.min
        d = date.min
        e = dt.date.max

        def f(DT):
            return DT.min
        """
    assert [line for line, _ in findings(code)] == [5, 6, 7]


def test_severity_follows_what_it_meets():
    code = """\
        from datetime import datetime, timezone

        def a(last):
            return (last or datetime.min) < datetime.now(timezone.utc)

        def b(last, other):
            return (last or datetime.min) < other

        def c(last):
            now = datetime.now()
            return (last or datetime.min) < now

        def d(last):
            now = datetime.now(tz=timezone.utc)
            return (last or datetime.min) < now
        """
    assert findings(code) == [
        (4, Severity.ERROR), (7, Severity.WARNING), (11, Severity.WARNING), (15, Severity.ERROR),
    ]


def test_a_private_attribute_is_no_storage():
    code = """\
        from datetime import datetime

        class Cache:
            def __init__(self):
                self._checked = datetime.min
                self.refreshed_at = datetime.min
        """
    assert findings(code) == [(5, Severity.WARNING), (6, Severity.ERROR)]


def test_the_direct_comparison_fix_is_safe_and_runs():
    code = textwrap.dedent("""\
        import datetime as dt

        def due(last):
            return (last or dt.datetime.min) < dt.datetime.now(dt.timezone.utc)
        """)
    fixed, applied = fix_source(code, "t.py", codes={"RG114"})
    assert applied == 1
    namespace: dict = {}
    exec(compile(fixed, "t.py", "exec"), namespace)  # noqa: S102 - our own fixed example
    assert namespace["due"](None) is True
    assert namespace["due"](datetime(2999, 1, 1, tzinfo=UTC)) is False
    namespace_before: dict = {}
    exec(compile(code, "t.py", "exec"), namespace_before)  # noqa: S102
    with pytest.raises(TypeError):
        namespace_before["due"](None)


def test_a_fix_where_the_value_travels_is_unsafe():
    code = textwrap.dedent("""\
        from datetime import datetime

        def never():
            return datetime.min
        """)
    safe_only, applied = fix_source(code, "t.py", codes={"RG114"})
    assert (safe_only, applied) == (code, 0)
    fixed, applied = fix_source(code, "t.py", unsafe=True, codes={"RG114"})
    assert applied == 1
    assert "return datetime.min.replace(tzinfo=timezone.utc)" in fixed
    assert "from datetime import datetime, timezone" in fixed


def test_a_default_is_stored_only_in_a_column_or_field_declaration():
    code = """\
        from datetime import datetime
        from django.db import models

        class Job(models.Model):
            ran = models.DateTimeField(default=datetime.min)

        def newest(rows):
            return max((r.at for r in rows), default=datetime.min)

        def cached(d, key):
            return d.get(key, datetime.max)
        """
    assert findings(code) == [(5, Severity.ERROR), (8, Severity.WARNING), (11, Severity.WARNING)]


# -- recall against ruff's DTZ901 ----------------------------------------------------------

DTZ901_CORPUS = """\
import datetime
import datetime as dt
from datetime import datetime as DT, timezone

a = datetime.datetime.min
b = dt.datetime.max
c = DT.min
d = DT.min.replace(tzinfo=timezone.utc)
e = DT.max.time()
f = DT.combine(x, DT.min.time())
g = DT.min.isoformat()
h = (x or DT.min) < DT.now(timezone.utc)
i = DT.min.replace(year=2000)
j = dt.date.min
k = DT.max.year
l = sorted(xs, key=lambda r: r.at or DT.max)
m = DT.min.replace(tzinfo=None)
"""
# ruff flags these reads of a part of the extreme; no instant is compared or kept, so we do not.
DTZ901_EXEMPT = {11, 15}  # `DT.min.isoformat()`, `DT.max.year`


def test_recall_against_ruff_dtz901(tmp_path):
    ruff = Path(sys.executable).with_name("ruff")
    ruff_path = str(ruff) if ruff.exists() else shutil.which("ruff")
    if ruff_path is None:
        pytest.fail("ruff is not installed (it is a dev dependency: make install)")
    target = tmp_path / "corpus.py"
    target.write_text(DTZ901_CORPUS)
    out = subprocess.run(
        [ruff_path, "check", "--isolated", "--select", "DTZ901", "--output-format", "concise", str(target)],
        capture_output=True, text=True, check=False,
    ).stdout
    theirs = {int(m.group(1)) for m in re.finditer(r":(\d+):\d+: DTZ901", out)}
    assert len(theirs) >= 8  # ruff ran and understood the corpus
    ours = {line for line, _ in findings(DTZ901_CORPUS)}
    assert theirs - ours == DTZ901_EXEMPT
    assert ours - theirs == set()
