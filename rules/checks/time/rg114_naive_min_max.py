from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from rules.analysis.conventions import AWARE, COLUMN_DEFAULTS, Conventions
from rules.analysis.flow import local_flow, settle_kinds, unit_of
from rules.analysis.syntax import argument, callee_name, is_none, string_value
from rules.analysis.time import DATETIME, realtime_name, storage_name, zone_attaching_call
from rules.model import Severity
from rules.rule import Context, Example, FixSpec, Rule

_EXTREMES = frozenset({f"{DATETIME}.min", f"{DATETIME}.max"})
_MIN_MAX = frozenset({"builtins.min", "builtins.max"})


@dataclass
class _Candidate:
    node: cst.Attribute  # `datetime.min`
    value: cst.BaseExpression  # the outermost expression that is still that instant
    chain: list[cst.CSTNode]  # ancestors of `value`, root first
    unit: cst.CSTNode
    fix: FixSpec


class NaiveMinMax(Rule):
    """`datetime.min` / `datetime.max` used as an instant: naive extremes.

    What it flags:
    `datetime.min` and `datetime.max` (however `datetime` was imported) used as a point in
    time: compared, stored, returned or kept as a default. An error where the other side of
    the comparison is aware or the value is stored; a warning otherwise.

    Why it is risky:
    Both are naive. Compared with an aware datetime they raise `TypeError`, typically in the
    branch that handles "no value yet" (`row.synced_at or datetime.min`), which tests rarely
    reach. Bad: `if (last or datetime.min) < datetime.now(timezone.utc):`.

    How to fix:
    Give the extreme a zone: `datetime.min.replace(tzinfo=timezone.utc)`, or use `None` and
    test for it.
    """

    code = "RG114"
    slug = "naive-min-max"
    severity = Severity.ERROR
    ruff_codes = ("DTZ901",)

    DETAILS = """
    `datetime.datetime.min` and `.max`, resolved through the file's imports (`date.min` is
    not a datetime and is left alone). Not flagged: `.replace(tzinfo=<zone>)` on it, any other
    attribute or method read from it (`datetime.min.time()`, `.date()`, `.year`,
    `.isoformat()`), and a value handed to a call that attaches a zone (`make_aware(...)`,
    `tz.localize(...)`). A naive `.replace(...)` and `x or datetime.min` /
    `a if c else datetime.max` are followed to where the value goes.

    An error where the value is compared with (or passed to `min()`/`max()` with) an aware
    value (`datetime.now(timezone.utc)`, `timezone.now()`, `.astimezone(...)`,
    `.replace(tzinfo=...)`, or a local name all of whose assignments are aware), directly or
    through a local name; and where it is stored: under an attribute, key or keyword named like
    a point in time (`self.last_run_at`, `row["expires"]`, `save(updated_at=...)`), or as the
    default of a column or field declaration (a callee named `...Column`/`...Field`). A warning anywhere else (compared with a value of unknown kind,
    returned, a sort key), since ruff's DTZ901 flags those too. Unlike DTZ901, a part read
    from the extreme (`datetime.max.year`, `datetime.min.isoformat()`) is not flagged: no
    instant is compared or kept (tests/rules/checks/test_rg114_naive_min_max.py checks the
    recall against ruff with exactly these exemptions). The fix,
    `.replace(tzinfo=timezone.utc)`, is safe only where the value is compared directly with an
    aware one; elsewhere a naive reader of the value could meet it, so it is unsafe.
    """

    VALID = [
        "from datetime import datetime, timezone\nSTART = datetime.min.replace(tzinfo=timezone.utc)\n",
        "import datetime\nEND = datetime.datetime.max.replace(tzinfo=datetime.timezone.utc)\n",
        "from datetime import datetime\ndef day_start(d):\n    return datetime.combine(d, datetime.min.time())\n",
        "from datetime import datetime\ndef day_end(d):\n    return datetime.combine(d, datetime.max.time())\n",
        "from datetime import date\ndef first(dates):\n    return min(dates, default=date.min)\n",
        "from datetime import datetime\nfrom django.utils import timezone\n"
        "NEVER = timezone.make_aware(datetime.min.replace(year=1970))\n",
        "from datetime import datetime\nprint(datetime.max.year)\n",
        "import pandas as pd\nfloor = pd.Timestamp.min\n",
        "from datetime import datetime\ndef f(datetime):\n    return datetime.min\n",
        "from datetime import datetime\ndef label():\n    return datetime.min.isoformat()\n",
        "import pytz\nfrom datetime import datetime\nEPOCH = pytz.utc.localize(datetime.min)\n",
        "from datetime import datetime, timezone\n"
        "FAR = datetime.max.replace(microsecond=0, tzinfo=timezone.utc)\n",
    ]
    INVALID = [
        Example(
            "from datetime import datetime, timezone\ndef due(last):\n"
            "    return (last or datetime.min) < datetime.now(timezone.utc)\n",
            fix="from datetime import datetime, timezone\ndef due(last):\n"
            "    return (last or datetime.min.replace(tzinfo=timezone.utc)) < datetime.now(timezone.utc)\n",
            # What worked still works; what raised (never run before) now answers.
            exercise="assert due(datetime(2020, 1, 1, tzinfo=timezone.utc))\n"
            "try:\n    assert due(None)\nexcept TypeError:\n    pass\n",
        ),
        Example(
            "import datetime as dt\ndef stale(row):\n"
            "    return dt.datetime.now(dt.timezone.utc) > dt.datetime.max\n",
            fix="import datetime as dt\ndef stale(row):\n"
            "    return dt.datetime.now(dt.timezone.utc) > dt.datetime.max.replace(tzinfo=dt.timezone.utc)\n",
            exercise="try:\n    assert not stale(None)\nexcept TypeError:\n    pass\n",
        ),
        Example(
            "from datetime import datetime, timezone\ndef newest(rows):\n    best = datetime.min\n"
            "    now = datetime.now(timezone.utc)\n    for r in rows:\n        if now > best:\n"
            "            best = r.at\n    return best\n",
            fix="from datetime import datetime, timezone\ndef newest(rows):\n"
            "    best = datetime.min.replace(tzinfo=timezone.utc)\n"
            "    now = datetime.now(timezone.utc)\n    for r in rows:\n        if now > best:\n"
            "            best = r.at\n    return best\n",
            unsafe=True,
        ),
        "from datetime import datetime\nclass Job:\n    def reset(self):\n        self.last_run_at = datetime.min\n",
        "from datetime import datetime\ndef reset(row):\n    row['expires'] = datetime.max\n",
        "from datetime import datetime\nimport sqlalchemy as sa\n"
        "synced = sa.Column(sa.DateTime(timezone=True), default=datetime.min)\n",
        "from datetime import datetime\ndef clear(store, key):\n    store.save(key, updated_at=datetime.min)\n",
        "from datetime import datetime, timezone\ndef latest(a):\n"
        "    return max(a.astimezone(timezone.utc), datetime.min)\n",
        Example(
            "from datetime import datetime\ndef order(rows):\n"
            "    return sorted(rows, key=lambda r: r.finished or datetime.max)\n",
            severity=Severity.WARNING,
        ),
        Example(
            "from datetime import datetime\ndef never():\n    return datetime.min\n",
            severity=Severity.WARNING,
        ),
        Example(
            "from datetime import datetime as DT\ndef old(t):\n    return t <= DT.min.replace(year=2000)\n",
            severity=Severity.WARNING,
        ),
        "from datetime import datetime, timezone\ndef f(x):\n"
        "    cutoff = datetime.now(timezone.utc)\n    return (x if x else datetime.min) < cutoff\n",
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.conventions = Conventions(ctx)
        self._candidates: list[_Candidate] = []
        self._settled: dict[cst.CSTNode, dict[str, str]] = {}

    def visit_Call(self, node: cst.Call) -> None:
        self.conventions.record(node)

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if node.attr.value not in ("min", "max") or self.ctx.qualified_name(node) not in _EXTREMES:
            return
        chain = self.ctx.ancestors
        value: cst.BaseExpression = node
        i = len(chain) - 1
        while i >= 0:
            parent = chain[i]
            if isinstance(parent, cst.Attribute) and parent.value is value:
                call = chain[i - 1] if i >= 1 else None
                if parent.attr.value != "replace" or not (isinstance(call, cst.Call) and call.func is parent):
                    return  # `.time()`, `.year`, `.isoformat()`: not an instant
                tz = argument(call, 7, "tzinfo")
                if any(a.star for a in call.args) or (tz is not None and not is_none(tz.value)):
                    return
                value, i = call, i - 2
            elif isinstance(parent, cst.BooleanOperation) or (
                isinstance(parent, cst.IfExp) and parent.test is not value
            ):
                value, i = parent, i - 1
            else:
                break
        utc, imports = self.ctx.name_for("datetime.timezone")
        new = cst.Call(
            cst.Attribute(node, cst.Name("replace")),
            [cst.Arg(cst.Attribute(utc, cst.Name("utc")), keyword=cst.Name("tzinfo"),
                     equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace("")))],
        )
        fix = FixSpec("Make it aware: `.replace(tzinfo=timezone.utc)`", ((node, new),), imports=imports)
        self._candidates.append(_Candidate(node, value, list(chain[: i + 1]), unit_of(self.ctx), fix))

    def finish(self) -> None:
        for candidate in self._candidates:
            self._judge(candidate)

    def _judge(self, c: _Candidate) -> None:
        parent = c.chain[-1] if c.chain else None
        grand = c.chain[-2] if len(c.chain) > 1 else None
        what = f"`datetime.{c.node.attr.value}` is naive"
        if isinstance(parent, cst.Arg) and isinstance(grand, cst.Call) and (
            zone_attaching_call(grand) or self._zone_method(grand)
        ):
            return
        if isinstance(parent, (cst.Comparison, cst.ComparisonTarget)):
            comparison = parent if isinstance(parent, cst.Comparison) else grand
            if isinstance(comparison, cst.Comparison):
                others = [comparison.left, *(t.comparator for t in comparison.comparisons)]
                if self._any_aware(c, [o for o in others if o is not c.value]):
                    self.report(c.node, f"{what} and compared here with an aware datetime, which "
                                "raises `TypeError`; use `.replace(tzinfo=timezone.utc)`.", c.fix)
                    return
        if isinstance(parent, cst.Arg) and isinstance(grand, cst.Call) and (
            self.ctx.qualified_name(grand.func) in _MIN_MAX
            and self._any_aware(c, [a.value for a in grand.args if a is not parent])
        ):
            self.report(c.node, f"{what} and `{callee_name(grand)}()` compares "
                        "it with an aware datetime, which raises `TypeError`; use "
                        "`.replace(tzinfo=timezone.utc)`.", _unsafe(c.fix))
            return
        stored = self._stored_as(c, parent)
        if stored is not None:
            self.report(c.node, f"{what} and stored as {stored}: every aware value it meets later "
                        "raises `TypeError`; use `.replace(tzinfo=timezone.utc)` or `None`.", _unsafe(c.fix))
            return
        if isinstance(parent, cst.Assign) and self._name_compared_with_aware(c, parent):
            self.report(c.node, f"{what} and the name it is kept in is compared with an aware "
                        "datetime, which raises `TypeError`; use `.replace(tzinfo=timezone.utc)`.",
                        _unsafe(c.fix))
            return
        self.report(
            c.node,
            f"{what}: compared with an aware datetime it raises `TypeError`. Use "
            "`.replace(tzinfo=timezone.utc)` where it stands for an instant.",
            _unsafe(c.fix),
            severity=Severity.WARNING,
        )

    @staticmethod
    def _zone_method(call: cst.Call) -> bool:
        return isinstance(call.func, cst.Attribute) and call.func.attr.value in ("localize", "make_aware")

    def _names(self, unit: cst.CSTNode) -> dict[str, str]:
        settled = self._settled.get(unit)
        if settled is None:
            settled = self._settled[unit] = settle_kinds(local_flow(unit, nested_bodies=False), self.conventions.of)
        return settled

    def _any_aware(self, c: _Candidate, values: list[cst.BaseExpression]) -> bool:
        if any(self.conventions.of(v, {}) == AWARE for v in values):
            return True
        if not any(isinstance(v, cst.Name) for v in values):
            return False
        names = self._names(c.unit)
        return any(self.conventions.of(v, names) == AWARE for v in values)

    def _stored_as(self, c: _Candidate, parent: cst.CSTNode | None) -> str | None:
        if isinstance(parent, cst.Arg) and parent.keyword is not None:
            keyword = parent.keyword.value
            grand = c.chain[-2] if len(c.chain) > 1 else None
            if keyword in COLUMN_DEFAULTS and isinstance(grand, cst.Call) and _declares_field(grand):
                return f"a column or field default (`{keyword}=`)"
            return f"`{keyword}=`" if realtime_name(keyword) else None
        if isinstance(parent, cst.DictElement):
            key = string_value(parent.key)
            return f"the key `{key}`" if key is not None and realtime_name(key) else None
        if isinstance(parent, (cst.Assign, cst.AnnAssign)):
            targets = [t.target for t in parent.targets] if isinstance(parent, cst.Assign) else [parent.target]
            for target in targets:
                name = storage_name(target)
                if name is not None:
                    return f"`{name}`"
        return None

    def _name_compared_with_aware(self, c: _Candidate, assign: cst.Assign) -> bool:
        names = {t.target.value for t in assign.targets if isinstance(t.target, cst.Name)}
        if not names:
            return False
        flow = local_flow(c.unit, nested_bodies=False)
        for node in flow.nodes:
            if isinstance(node, cst.Comparison):
                operands = [node.left, *(t.comparator for t in node.comparisons)]
                if any(isinstance(o, cst.Name) and o.value in names for o in operands):
                    others = [o for o in operands if not (isinstance(o, cst.Name) and o.value in names)]
                    if self._any_aware(c, others):
                        return True
        return False


def _declares_field(call: cst.Call) -> bool:
    """`Column(...)`, `mapped_column(...)`, `models.DateTimeField(...)`, `Field(...)`: a
    declaration whose default is stored (not `max(xs, default=...)` or `dict.get`)."""
    name = callee_name(call).lower()
    return "column" in name or "field" in name


def _unsafe(fix: FixSpec) -> FixSpec:
    return FixSpec(fix.description, fix.replacements, safe=False, imports=fix.imports)
