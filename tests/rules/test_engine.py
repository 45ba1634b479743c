"""The engine's contract: name resolution, suppressions, the changed-line filter, bad input,
configuration and fixes, independent of any one rule's details (RG101 serves as the probe)."""

from __future__ import annotations

import math
import time

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, QualifiedNameProvider, QualifiedNameSource

from rules import RulesConfig, Severity, analyze
from rules.engine import fix_source
from rules.engine.edits import apply_edits, remap_lines
from rules.engine.walk import walk
from rules.model import Edit
from rules.rule import Context, Rule
from rules.scope import collect_scopes

NAIVE = "from datetime import datetime\n"


def rg101(source: str | bytes, **kwargs) -> list:
    return [f for f in analyze(source, "x.py", **kwargs).findings if f.code == "RG101"]


# -- name resolution, checked against libcst's QualifiedNameProvider -------------------------


class _Probe(Rule):
    """Records what the engine's resolver answers for every call, as a rule would ask."""

    code = "RG999"
    slug = "probe"
    severity = Severity.WARNING

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.names: dict[cst.Call, str | None] = {}

    def visit_Call(self, node: cst.Call) -> None:
        self.names[node] = self.ctx.qualified_name(node.func)


def _resolve_both(source: str) -> list[tuple[str | None, set[tuple[str, QualifiedNameSource]]]]:
    module = cst.parse_module(source)
    ctx = Context(module, collect_scopes(module))
    probe = _Probe(ctx)
    walk(ctx, module, [probe], math.inf)
    # the same tree (no copy), so that node identities match
    theirs = MetadataWrapper(module, unsafe_skip_copy=True).resolve(QualifiedNameProvider)
    out = []
    for call, ours in probe.names.items():
        names = theirs.get(call.func, set())
        names = names() if callable(names) else names
        out.append((ours, {(q.name, q.source) for q in names}))
    return out


RESOLVED = [
    pytest.param("import datetime as dt\ndt.datetime.now()\n", id="import-as"),
    pytest.param("from datetime import datetime as DT\nDT.now()\n", id="from-import-as"),
    pytest.param("from time import monotonic as mono\nmono()\n", id="function-alias"),
    pytest.param("import os.path\nos.path.join('a')\n", id="dotted-import"),
    pytest.param("open('x')\n", id="builtin"),
    pytest.param(
        "def f():\n    from datetime import datetime\n    return datetime.now()\n",
        id="import-inside-function",
    ),
    pytest.param(
        "def f():\n    import time\n    def g():\n        return time.time()\n",
        id="enclosing-function-import",
    ),
    pytest.param(
        "import datetime\nclass A:\n    datetime = 1\n    def m(self):\n        return datetime.datetime.now()\n",
        id="class-body-not-visible-from-method",
    ),
]
SHADOWED = [
    pytest.param("import datetime\ndef f(datetime):\n    return datetime.now()\n", id="parameter"),
    pytest.param(
        "import datetime\ndef f():\n    x = 1\n    datetime = g()\n    return datetime.now()\n",
        id="local-assignment",
    ),
    pytest.param(
        "import datetime\nclass A:\n    datetime = 1\n    x = datetime.now()\n", id="class-attribute"
    ),
    pytest.param(
        "from datetime import datetime\ndef f():\n    for datetime in xs:\n        pass\n    return datetime.now()\n",
        id="loop-variable",
    ),
    pytest.param(
        "import datetime\ndef f():\n    def datetime(): pass\n    datetime.now()\n", id="local-def"
    ),
    pytest.param(
        "from datetime import datetime\ndef outer():\n    datetime = 1\n    def inner():\n"
        "        nonlocal datetime\n        return datetime.now()\n",
        id="nonlocal",
    ),
]


@pytest.mark.parametrize("source", RESOLVED)
def test_resolution_agrees_with_libcst(source):
    for ours, theirs in _resolve_both(source):
        assert ours is not None, source
        assert theirs, source
        assert ours in {name for name, _ in theirs}, (ours, theirs)
        assert {kind for _, kind in theirs} <= {QualifiedNameSource.IMPORT, QualifiedNameSource.BUILTIN}


@pytest.mark.parametrize("source", SHADOWED)
def test_shadowed_name_is_not_the_module(source):
    results = [r for r in _resolve_both(source) if r[1] and any("now" in n for n, _ in r[1])]
    assert results, source
    for ours, theirs in results:
        assert {kind for _, kind in theirs} == {QualifiedNameSource.LOCAL}, theirs
        assert ours is None, (source, ours)


def test_rebinding_makes_the_name_unknowable():
    # libcst reports both meanings; the engine answers None rather than guess
    [(ours, theirs)] = _resolve_both("import datetime\ndatetime = None\ndatetime.now()\n")
    assert len(theirs) == 2 and ours is None


@pytest.mark.parametrize(
    "source",
    [
        "f = lambda datetime: datetime.now()\n",
        "xs = [datetime.now() for datetime in ys]\n",
        "xs = {datetime.now(): 1 for _, datetime in ys}\n",
        "xs = (datetime.now() for y in ys for datetime in y)\n",
    ],
    ids=["lambda", "list-comprehension", "dict-comprehension", "nested-for"],
)
def test_expression_scopes_shadow_imports(source):
    [(ours, theirs)] = _resolve_both(NAIVE + source)
    assert {kind for _, kind in theirs} == {QualifiedNameSource.LOCAL}
    assert ours is None
    assert not rg101(NAIVE + source)


@pytest.mark.parametrize(
    "source",
    [
        "f = lambda: datetime.now()\n",
        "f = lambda x=datetime.now(): x\n",
        "xs = [datetime.now() for y in ys]\n",
        "class A:\n    datetime = 1\n    f = lambda: datetime.now()\n",
    ],
    ids=["lambda-body", "lambda-default", "comprehension-element", "lambda-in-class"],
)
def test_expression_scopes_see_enclosing_imports(source):
    [(ours, theirs)] = _resolve_both(NAIVE + source)
    assert ours == "datetime.datetime.now"
    assert {name for name, _ in theirs} == {"datetime.datetime.now"}


def test_global_rebinding_makes_the_module_name_unknowable():
    source = NAIVE + "def reset():\n    global datetime\n    datetime = None\ndatetime.now()\n"
    [(ours, theirs)] = _resolve_both(source)
    assert len(theirs) == 2
    assert ours is None


@pytest.mark.parametrize(
    "source",
    [
        "import datetime as dt\nx = dt.datetime.now()\n",
        "from datetime import datetime as DT\nx = DT.now()\n",
        "def f():\n    import datetime\n    return datetime.datetime.now()\n",
    ],
)
def test_aliases_are_flagged(source):
    assert rg101(source)


@pytest.mark.parametrize("source", [p.values[0] for p in SHADOWED])
def test_shadowed_names_are_not_flagged(source):
    assert not rg101(source)


# -- suppressions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    [
        "x = datetime.now()  # reviewgate: ignore[RG101]",
        "x = datetime.now()  # reviewgate: ignore[RG102, RG101]",
        "x = datetime.now()  # reviewgate:ignore[rg101]",
        "x = datetime.now()  # noqa: RG101",
        "x = datetime.now()  # noqa: E501, RG101",
        "x = datetime.now()  # noqa: DTZ005",
        "# reviewgate: ignore[RG101]\nx = datetime.now()",
        "# noqa: DTZ005\nx = datetime.now()",
    ],
)
def test_suppression_forms(line):
    [finding] = rg101(NAIVE + line + "\n")
    assert finding.suppressed
    assert not finding.blocking
    assert not analyze(NAIVE + line + "\n", "x.py").blocking


@pytest.mark.parametrize(
    "line",
    [
        "x = datetime.now()  # noqa",
        "x = datetime.now()  # NOQA",
        "x = datetime.now()  # noqa: RG102",
        "x = datetime.now()  # noqa: DTZ001",
        "x = datetime.now()  # reviewgate: ignore[RG1011]",
        "x = datetime.now()  # reviewgate: ignore",
        "x = 1  # reviewgate: ignore[RG101]\nx = datetime.now()",  # not alone on its line
        "# reviewgate: ignore[RG101]\n\nx = datetime.now()",  # two lines above
        "x = datetime.now()\n# reviewgate: ignore[RG101]",  # below
        "x = (datetime.now(), '# noqa: RG101')",  # inside a string, not a comment
    ],
)
def test_not_suppressed(line):
    findings = rg101(NAIVE + line + "\n")
    assert findings and not any(f.suppressed for f in findings)


def test_suppression_lines_follow_pythons_line_breaks():
    # U+2028 and form feeds are not line breaks for Python: a trailing comment after them
    # must not be taken for a comment alone on its line (which would cover the next line)
    source = NAIVE + "x = 1  # a\u2028\x0c\ny = 2  # reviewgate: ignore[RG101]\nz = datetime.now()\n"
    [finding] = rg101(source)
    assert (finding.line, finding.suppressed) == (4, False)
    crlf = NAIVE.replace("\n", "\r\n") + "# noqa: RG101\r\nz = datetime.now()\r\n"
    assert [(f.line, f.suppressed) for f in rg101(crlf)] == [(3, True)]


def test_suppression_applies_to_the_finding_line_only():
    source = NAIVE + "a = datetime.now()  # noqa: RG101\nb = datetime.now()\n"
    assert [(f.line, f.suppressed) for f in rg101(source)] == [(2, True), (3, False)]


# -- the changed-line filter ---------------------------------------------------------------------


def test_changed_lines_keep_only_findings_on_those_lines():
    source = NAIVE + "a = datetime.now()\nb = 1\nc = datetime.now()\n"
    assert [f.line for f in rg101(source)] == [2, 4]
    assert [f.line for f in rg101(source, changed_lines={4})] == [4]
    assert [f.line for f in rg101(source, changed_lines={3})] == []
    assert rg101(source, changed_lines=set()) == []


def test_changed_lines_use_the_primary_line_of_a_multiline_finding():
    source = NAIVE + "a = datetime.now(\n    tz=None,\n)\n"
    [finding] = rg101(source)
    assert (finding.line, finding.end_line) == (2, 4)
    assert rg101(source, changed_lines={2})
    assert not rg101(source, changed_lines={3, 4})


def test_engine_notices_ignore_the_changed_line_filter():
    [notice] = analyze("def f(:\n", "x.py", changed_lines={99}).findings
    assert notice.code == "RG001"


# -- configuration ---------------------------------------------------------------------------------


def test_config_selects_ignores_and_overrides_severity():
    source = NAIVE + "a = datetime.now()\n"
    assert not rg101(source, config=RulesConfig(ignore=("RG1",)))
    assert not rg101(source, config=RulesConfig(select=("RG2",)))
    assert rg101(source, config=RulesConfig(select=("RG10",)))
    [finding] = rg101(source, config=RulesConfig.from_text("rules:\n  severity:\n    RG101: warning\n"))
    assert finding.severity is Severity.WARNING and not finding.blocking
    assert not rg101(source, config=RulesConfig.from_text("rules:\n  severity:\n    RG101: off\n"))


def test_findings_are_sorted_and_deterministic():
    source = NAIVE + "b = datetime.now(); a = datetime.now()\nc = datetime.now()\n"
    first = analyze(source, "x.py")
    assert first == analyze(source, "x.py")
    keys = [(f.line, f.column) for f in first.findings]
    assert keys == sorted(keys) and len(keys) == 3


def test_report_round_trips_through_dict():
    report = analyze(NAIVE + "a = datetime.now()  # noqa: RG101\n", "x.py")
    assert type(report).from_dict(report.to_dict()) == report


# -- bad input: notices, never exceptions ------------------------------------------------------


def test_syntax_error_is_a_notice_with_the_line():
    report = analyze("x = 1\n\ndef f(:\n    pass\n", "bad.py")
    [notice] = report.findings
    assert (notice.code, notice.severity, notice.line) == ("RG001", Severity.NOTICE, 3)
    assert "line 3" in notice.message and not report.analyzed and not report.blocking


def test_non_utf8_without_cookie_is_a_notice():
    [notice] = analyze(b"x = '\xe9t\xe9'\n", "latin.py").findings
    assert notice.code == "RG001" and "decode" in notice.message


def test_non_utf8_with_a_coding_cookie_is_analysed():
    source = b"# -*- coding: latin-1 -*-\nfrom datetime import datetime\nx = ('\xe9', datetime.now())\n"
    [finding] = analyze(source, "latin.py").findings
    assert (finding.code, finding.line) == ("RG101", 3)


def test_wrong_or_unknown_cookie_is_a_notice():
    assert analyze(b"# coding: utf-8\nx = '\xff'\n", "x.py").findings[0].code == "RG001"
    assert analyze(b"# coding: no-such-codec\nx = 1\n", "x.py").findings[0].code == "RG001"


def test_null_byte_is_a_notice():
    assert analyze("x = 1\x00\n", "x.py").findings[0].code == "RG001"


def test_bom_is_accepted():
    assert rg101(b"\xef\xbb\xbf" + NAIVE.encode() + b"x = datetime.now()\n")


def test_five_mib_file_is_a_notice_and_fast():
    source = "x = 1\n" * (5 * 1024 * 1024 // 6 + 1)
    started = time.monotonic()
    [notice] = analyze(source, "big.py").findings
    assert notice.code == "RG002" and "bytes" in notice.message
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    "source",
    [
        "x = " + "(" * 3000 + "1" + ")" * 3000 + "\n",
        "x = " + "[" * 3000 + "]" * 3000 + "\n",
        "x = " + "-" * 3000 + "1\n",
        "x = " + "f(" * 3000 + ")" * 3000 + "\n",
        "x = 1" + " + 1" * 3000 + "\n",
    ],
    ids=["parens", "lists", "unary", "calls", "binary-chain"],
)
def test_deep_nesting_is_a_notice(source):
    [notice] = analyze(source, "deep.py").findings
    assert notice.code == "RG002"


def test_time_limit_is_a_notice():
    source = NAIVE + "".join(f"def f{i}():\n    return datetime.now()\n" for i in range(3000))
    [notice] = analyze(source, "slow.py", config=RulesConfig(timeout_seconds=1e-9)).findings
    assert notice.code == "RG002" and "time limit" in notice.message


def test_empty_and_blank_files():
    assert analyze("", "x.py").findings == ()
    assert analyze(b"\n\n", "x.py").findings == ()


# -- fixes -----------------------------------------------------------------------------------------


def test_fix_round_trip():
    source = NAIVE + "_a = datetime.now()\n_b = datetime.today()\n"
    fixed, applied = fix_source(source, "x.py")
    assert applied == 2
    cst.parse_module(fixed)
    assert not rg101(fixed)


def test_fix_leaves_suppressed_findings_alone():
    source = NAIVE + "a = datetime.now()  # noqa: RG101\n"
    assert fix_source(source, "x.py") == (source, 0)


def test_fix_only_on_changed_lines_follows_inserted_import_lines():
    source = (
        '"""Doc."""\nimport os\n\n\ndef f():\n    from datetime import datetime\n'
        "    a = datetime.now()\n    print(datetime.now())\n"
    )
    # the fix inserts an import line above line 8: without following the lines, the next
    # round would take the unchanged line 7 (now line 8) for a changed one
    fixed, applied = fix_source(source, "x.py", changed_lines={8})
    assert applied == 1
    lines = fixed.splitlines()
    assert lines[2] == "from datetime import timezone"
    assert lines[7:] == ["    a = datetime.now()", "    print(datetime.now(timezone.utc))"]
    assert [f.line for f in rg101(fixed)] == [8]


def test_remap_lines():
    insert = Edit(2, 1, 2, 1, "import x\n")
    assert remap_lines({1, 2, 5}, [insert]) == {1, 3, 6}
    join = Edit(2, 3, 4, 1, "")  # lines 2-3 merged into one
    assert remap_lines({1, 5}, [join]) == {1, 3}
    grow = Edit(3, 1, 3, 4, "a\nb\nc")
    assert remap_lines({3, 4}, [grow]) == {3, 4, 5, 6}
    text = "1\n2\n3\n4\n5\n"
    assert apply_edits(text, [insert]).splitlines()[2] == "2"


def test_literals_cpython_refuses_do_not_crash_the_rules():
    # libcst accepts b"é"; evaluating it raises, which must not escape a rule
    source = (
        "import os, subprocess, json\nfrom datetime import datetime\n"
        'x = datetime.strptime(s, b"\\xc3\\xa9".decode())\n'
        'y = datetime.strptime(s, b"é")\nopen(p, b"é").write(b"é")\n'
        'os.write(fd, b"é")\nsubprocess.run(b"é")\n'
        'try:\n    f.write(b"é")\nexcept OSError:\n    pass\n'
    )
    report = analyze(source, "bytes.py")
    assert all(f.line <= source.count("\n") for f in report.findings)
