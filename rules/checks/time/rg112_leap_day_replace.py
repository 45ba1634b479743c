from __future__ import annotations

import libcst as cst

from rules.analysis.flow import LocalFlow, local_flow, unit_of
from rules.analysis.syntax import argument, callee_name, iter_nodes
from rules.analysis.time import DATE, DATETIME
from rules.model import Severity
from rules.rule import Context, Example, Rule

_GUARDS = frozenset({"calendar.isleap", "calendar.monthrange"})
# What an `except` clause must catch to catch the `ValueError`.
_CATCHES = frozenset({"builtins.ValueError", "builtins.Exception", "builtins.BaseException"})
# The current date or time: a value that is February 29 one day in four years.
_CLOCKS = frozenset({
    f"{DATE}.today", f"{DATETIME}.now", f"{DATETIME}.today", f"{DATETIME}.utcnow",
    "django.utils.timezone.now", "django.utils.timezone.localdate",
    "django.utils.timezone.localtime", "pendulum.now", "pendulum.today", "arrow.now",
    "arrow.utcnow",
})
_TODAY = ", as today's date is every four years"
# Context managers that expect or swallow the exception classes given as their first argument.
_EXPECTING = frozenset({"raises", "assertRaises", "assertRaisesRegex", "suppress"})


def _int(node: cst.BaseExpression | None) -> int | None:
    if isinstance(node, cst.Integer):
        try:
            return int(node.value.replace("_", ""), 0)
        except ValueError:
            return None
    return None


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _year_of(node: cst.BaseExpression) -> cst.BaseExpression | None:
    """`d` for `d.year`."""
    if isinstance(node, cst.Attribute) and node.attr.value == "year":
        return node.value
    return None


class LeapDayReplace(Rule):
    """A date moved to another year with `replace(year=...)`, which raises on February 29.

    What it flags:
    `d.replace(year=...)` on a date or datetime not known to avoid Feb 29, and
    `date(year, d.month, d.day)`, outside a `try` that catches `ValueError`. An error on
    today's date (`date.today()`, `datetime.now()`), a warning on other dates.

    Why it is risky:
    February 29 has no counterpart in most years: `date(2024, 2, 29).replace(year=2025)`
    raises `ValueError: day is out of range for month`. The code works for years, then fails
    on one day, typically in an anniversary, renewal or "same day last year" computation.
    Bad: `today.replace(year=today.year - 1)`.

    How to fix:
    Say what Feb 29 becomes. Good: `start + relativedelta(years=1)` (Feb 28), or
    `try: d.replace(year=y) except ValueError: d.replace(year=y, day=28)`.
    """

    code = "RG112"
    slug = "leap-day-replace"
    severity = Severity.ERROR

    DETAILS = """
    `<x>.replace(year=...)` (the keyword: `str.replace` and `bytes.replace` have none), a
    method call on any value; functions such as `dataclasses.replace` are not methods and
    are left alone. Also `date(y, d.month, d.day)` and `datetime(y, d.month, d.day, ...)`
    (resolved through the imports), which copies the day into another year the same way.

    An error when the date is today's: `date.today()`, `datetime.now(...)`/`today()`/
    `utcnow()`, Django's `timezone.now()`/`localdate()`/`localtime()`, `pendulum.now()`,
    `arrow.now()`, also through `.date()`, `.astimezone()`, `.replace()` or a local name
    assigned once; the call then fails on every February 29. A warning on a date of unknown
    origin (a parameter, an attribute): measured on real code, such values are often built on
    the first of a month or year elsewhere (a year parameter normalised to January 1, a date
    range whose start is day 1 in that branch), which the rule cannot see.

    Not flagged, because Feb 29 cannot reach the call or is handled:
    `day=` or `month=` passed too (the day or month is chosen, not copied); a new year that is
    the value's own (`year=d.year`), a leap-year literal (`year=2024`), or the own year moved
    by a multiple of four (`d.year + 4`, wrong only across 2100); a value made with a literal
    day up to 28 or a month other than February (`date(y, 1, 15)`,
    `d.replace(day=1)`), directly or through a local name assigned once; a call inside the
    body of a `try` whose handler catches `ValueError` (or `Exception`, or everything), or of
    a `with pytest.raises(ValueError)`, `self.assertRaises(...)` or
    `contextlib.suppress(...)` block that names it; and
    a function that tests for the leap day itself (compares something with `29`, or calls
    `calendar.isleap`/`calendar.monthrange`). No fix is offered: what Feb 29 becomes (Feb 28,
    Mar 1) is the author's choice.
    """

    VALID = [
        "from dateutil.relativedelta import relativedelta\n"
        "def renew(start):\n    return start + relativedelta(years=1)\n",
        "def renew(start):\n    try:\n        return start.replace(year=start.year + 1)\n"
        "    except ValueError:\n        return start.replace(year=start.year + 1, day=28)\n",
        "def first_of_year(d, y):\n    return d.replace(year=y, month=1, day=1)\n",
        "def month_start(d, y):\n    return d.replace(day=1).replace(year=y)\n",
        "def same_year(d):\n    return d.replace(year=d.year, hour=0)\n",
        "def leap(d):\n    return d.replace(year=2024)\n",
        "def olympiad(d):\n    return d.replace(year=d.year + 4)\n",
        "def last_year(d):\n    if d.month == 2 and d.day == 29:\n        d = d - timedelta(days=1)\n"
        "    return d.replace(year=d.year - 1)\n",
        "import calendar\ndef shift(d, y):\n    if not calendar.isleap(y):\n        return None\n"
        "    return d.replace(year=y)\n",
        "import dataclasses\ndef bump(cfg):\n    return dataclasses.replace(cfg, year=2025)\n",
        "from datetime import date\ndef mid_january(y):\n    start = date(2000, 1, 15)\n"
        "    return start.replace(year=y)\n",
        "def clean(text):\n    return text.replace('year', 'yr')\n",
        "from datetime import date\ndef yearly(d, y):\n    return date(y, d.month, 1)\n",
        "from datetime import date\ndef same(d):\n    return date(d.year, d.month, d.day)\n",
        "def f(d, y):\n    try:\n        x = d.replace(year=y)\n    except Exception:\n        x = None\n    return x\n",
    ]
    INVALID = [
        # today's date: February 29 one day in four years, an error
        "from datetime import date\ndef same_day_last_year():\n"
        "    today = date.today()\n    return today.replace(year=today.year - 1)\n",
        "from datetime import datetime\ndef next_year():\n"
        "    return datetime.now().replace(year=datetime.now().year + 1)\n",
        "import datetime as dt\ndef a_year_ago():\n    return dt.date.today().replace(year=2023)\n",
        "from django.utils import timezone\ndef renewal():\n"
        "    now = timezone.now()\n    return now.replace(year=now.year + 1)\n",
        "import datetime\ndef parse_year(text):\n    now = datetime.datetime.now()\n"
        "    return datetime.datetime(int(text), now.month, now.day)\n",
        "from datetime import datetime, timezone\ndef last_year():\n"
        "    d = datetime.now(timezone.utc).date()\n    return d.replace(year=d.year - 1)\n",
        "from datetime import date\ndef f(y):\n    try:\n        x = date.today().replace(year=y)\n"
        "    except KeyError:\n        x = None\n    return x\n",
        "from datetime import date\ndef f(y):\n    try:\n        pass\n    except ValueError:\n"
        "        return date.today().replace(year=y)\n",
        # a date of unknown origin: a warning (measured: such values are often built on day 1)
        Example("def renew(start):\n    return start.replace(year=start.year + 1)\n", severity=Severity.WARNING),
        Example("def birthday_this_year(born, today):\n    return born.replace(year=today.year)\n",
                severity=Severity.WARNING),
        Example("import datetime as dt\ndef anniversary(d, years):\n"
                "    return dt.date(d.year + years, d.month, d.day)\n", severity=Severity.WARNING),
        Example("from datetime import datetime as DT\ndef in_year(ts, y):\n"
                "    return DT(y, ts.month, ts.day, ts.hour, ts.minute)\n", severity=Severity.WARNING),
        Example("def expiry(self):\n    return self.issued_at.replace(year=self.issued_at.year + self.term_years)\n",
                severity=Severity.WARNING),
        Example("def f(rows, y):\n    return [r.date.replace(year=y) for r in rows]\n", severity=Severity.WARNING),
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._guarded: dict[cst.CSTNode, bool] = {}
        self._flows: dict[cst.CSTNode, LocalFlow] = {}

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value == "replace":
            self._replace(node, func)
        elif isinstance(func, (cst.Name, cst.Attribute)):
            self._constructor(node, func)

    def _replace(self, node: cst.Call, func: cst.Attribute) -> None:
        year = next((a for a in node.args if a.keyword is not None and a.keyword.value == "year"), None)
        if year is None or any(a.star for a in node.args):
            return
        if any(a.keyword is not None and a.keyword.value in ("month", "day") for a in node.args):
            return
        if self.ctx.qualified_name(func) is not None:  # `dataclasses.replace`, not a method
            return
        receiver = func.value
        if self._safe_year(year.value, receiver) or self._avoids_leap_day(receiver, 0):
            return
        if self._handled(node):
            return
        today = self._current_date(receiver, 0)
        self.report(
            node,
            "`replace(year=...)` raises `ValueError` when the date is February 29 and the new "
            f"year is not a leap year{_TODAY if today else ''}; use `+ relativedelta(years=n)` or "
            "catch `ValueError` and choose the day.",
            severity=None if today else Severity.WARNING,
        )

    def _constructor(self, node: cst.Call, func: cst.Name | cst.Attribute) -> None:
        last = func.value if isinstance(func, cst.Name) else func.attr.value
        if last not in ("date", "datetime") and not isinstance(func, cst.Name):
            return
        year, month, day = (argument(node, i, k) for i, k in ((0, "year"), (1, "month"), (2, "day")))
        if year is None or month is None or day is None:
            return
        if not (
            isinstance(month.value, cst.Attribute) and month.value.attr.value == "month"
            and isinstance(day.value, cst.Attribute) and day.value.attr.value == "day"
            and month.value.value.deep_equals(day.value.value)
        ):
            return
        if self.ctx.qualified_name(func) not in (DATE, DATETIME):
            return
        source = month.value.value
        if self._safe_year(year.value, source) or self._handled(node):
            return
        today = self._current_date(source, 0)
        self.report(
            node,
            "Copying a date's month and day into another year raises `ValueError` for February "
            f"29 when that year is not a leap year{_TODAY if today else ''}; use "
            "`+ relativedelta(years=n)` or catch `ValueError` and choose the day.",
            severity=None if today else Severity.WARNING,
        )

    def _current_date(self, value: cst.BaseExpression, depth: int) -> bool:
        """`value` is today's date: `date.today()`, `datetime.now(...)`, `timezone.now()`,
        possibly through `.date()`, `.astimezone()`, a `.replace()` or a local name assigned
        once."""
        if depth > 3:
            return False
        if isinstance(value, cst.Name):
            values = self._flow().assigned.get(value.value, [])
            return len(values) == 1 and values[0] is not None and self._current_date(values[0], depth + 1)
        if not isinstance(value, cst.Call):
            return False
        func = value.func
        if isinstance(func, cst.Attribute) and func.attr.value in ("date", "astimezone", "replace"):
            if self.ctx.qualified_name(func) not in _CLOCKS:
                return self._current_date(func.value, depth + 1)
        return self.ctx.qualified_name(func) in _CLOCKS

    def _flow(self) -> LocalFlow:
        owner = unit_of(self.ctx)
        flow = self._flows.get(owner)
        if flow is None:
            flow = self._flows[owner] = local_flow(owner, nested_bodies=False)
        return flow

    # -- what keeps Feb 29 away --------------------------------------------------------------
    @staticmethod
    def _safe_year(value: cst.BaseExpression, receiver: cst.BaseExpression) -> bool:
        """The new year is the value's own, a leap year, or the own year moved by 4k."""
        own = _year_of(value)
        if own is not None and own.deep_equals(receiver):
            return True
        literal = _int(value)
        if literal is not None:
            return _leap(literal)
        if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, (cst.Add, cst.Subtract)):
            own = _year_of(value.left)
            step = _int(value.right)
            return own is not None and own.deep_equals(receiver) and step is not None and step % 4 == 0
        return False

    def _avoids_leap_day(self, value: cst.BaseExpression, depth: int) -> bool:
        """`value` is made with a literal day up to 28 or a month other than February."""
        if depth > 3:
            return False
        if isinstance(value, cst.Name):
            flow = self._flow()
            values = flow.assigned.get(value.value, [])
            return len(values) == 1 and values[0] is not None and self._avoids_leap_day(values[0], depth + 1)
        if not isinstance(value, cst.Call):
            return False
        func = value.func
        if isinstance(func, cst.Attribute) and func.attr.value == "replace":
            month, day = argument(value, None, "month"), argument(value, None, "day")
        elif self.ctx.qualified_name(func) in (DATE, DATETIME):
            month, day = argument(value, 1, "month"), argument(value, 2, "day")
        else:
            return False
        day_value = _int(day.value) if day is not None else None
        month_value = _int(month.value) if month is not None else None
        return (day_value is not None and day_value <= 28) or (month_value is not None and month_value != 2)

    def _handled(self, node: cst.Call) -> bool:
        """Inside a `try` body whose handler catches `ValueError`, or in a function that tests
        for the leap day itself."""
        chain = self.ctx.ancestors
        child: cst.CSTNode = node
        for ancestor in reversed(chain):
            if isinstance(ancestor, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
                break
            if isinstance(ancestor, cst.Try) and ancestor.body is child:
                if any(self._catches_value_error(h) for h in ancestor.handlers):
                    return True
            elif isinstance(ancestor, cst.With) and ancestor.body is child:
                if any(self._expects_value_error(item.item) for item in ancestor.items):
                    return True
            child = ancestor
        owner = unit_of(self.ctx)
        guarded = self._guarded.get(owner)
        if guarded is None:
            guarded = self._guarded[owner] = self._tests_leap_day(owner)
        return guarded

    def _catches_value_error(self, handler: cst.ExceptHandler) -> bool:
        if handler.type is None:
            return True
        types = [e.value for e in handler.type.elements] if isinstance(handler.type, cst.Tuple) else [handler.type]
        return any(self.ctx.qualified_name(t) in _CATCHES for t in types)

    def _expects_value_error(self, item: cst.BaseExpression) -> bool:
        """`pytest.raises(ValueError)`, `self.assertRaises(ValueError)`,
        `contextlib.suppress(ValueError)`: the block is expected to raise it."""
        if not isinstance(item, cst.Call) or callee_name(item) not in _EXPECTING:
            return False
        first = argument(item, 0, None)
        if first is None:
            return False
        types = [e.value for e in first.value.elements] if isinstance(first.value, cst.Tuple) else [first.value]
        return any(self.ctx.qualified_name(t) in _CATCHES for t in types)

    def _tests_leap_day(self, owner: cst.CSTNode) -> bool:
        for inner in iter_nodes(owner, local=True):
            if isinstance(inner, cst.Comparison):
                operands = [inner.left, *(c.comparator for c in inner.comparisons)]
                if any(_int(o) == 29 for o in operands):
                    return True
            elif isinstance(inner, cst.Call) and self.ctx.qualified_name(inner.func) in _GUARDS:
                return True
        return False
