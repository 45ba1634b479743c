from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from rules.analysis.syntax import argument, string_value
from rules.analysis.time import DATETIME
from rules.model import Severity
from rules.rule import Context, Example, FixSpec, Rule
from rules.scope import Scope

_TIMEZONE = "pytz.timezone"
# pytz zones without transitions have a single offset: attaching them with `tzinfo=` is right.
_STATIC_ZONES = {
    "UTC", "utc", "UCT", "GMT", "GMT0", "GMT+0", "GMT-0", "Greenwich", "Universal", "Zulu",
    "EST", "MST", "HST",
}


def _static_zone(call: cst.Call) -> bool:
    zone = argument(call, 0, "zone")
    name = string_value(zone.value) if zone is not None else None
    return name is not None and (name in _STATIC_ZONES or name.startswith("Etc/"))


@dataclass
class _Use:
    call: cst.Call
    tz: cst.Arg
    constructor: bool
    scope: Scope
    name: str


class PytzTzinfo(Rule):
    """A pytz zone attached with `tzinfo=`, which picks the zone's oldest offset (LMT).

    What it flags:
    `tzinfo=pytz.timezone(...)` passed to `datetime(...)` or `.replace(...)`, also through a
    name bound once to `pytz.timezone(...)`. Zones with a single offset (`"UTC"`,
    `"Etc/..."`), `pytz.utc` and `zoneinfo` zones are fine.

    Why it is risky:
    pytz zones need `localize()` to choose the offset in force at a date; given as `tzinfo`
    they use their first historical entry, the local mean time, so New York is -4:56 and
    every instant is off by minutes. Bad: `datetime(2024, 1, 1, tzinfo=pytz.timezone("US/Eastern"))`.

    How to fix:
    Use `tz.localize(naive)` with pytz, or `zoneinfo.ZoneInfo`, which works with `tzinfo=`.
    Good: `datetime(2024, 1, 1, tzinfo=ZoneInfo("America/New_York"))` or
    `eastern.localize(datetime(2024, 1, 1))`.
    """

    code = "RG110"
    slug = "pytz-tzinfo"
    severity = Severity.ERROR

    DETAILS = """
    `tzinfo=pytz.timezone(...)` (keyword or 8th positional argument) passed to the
    `datetime(...)` constructor or to `.replace(...)`, also through a name bound once to
    `pytz.timezone(...)` in the same module (`EASTERN = pytz.timezone("US/Eastern")`).
    Zones with a single offset (`"UTC"`, `"GMT"`, `"Etc/..."`) are fine and not flagged; so
    are `pytz.utc` and zones from `zoneinfo` or `dateutil`. A zone reached through an
    attribute (`self.tz`) is not followed.

    The offered fix rewrites to `localize` and is unsafe: it changes the offsets the code
    produces (to the right ones).
    """

    VALID = [
        "import pytz\nfrom datetime import datetime\n"
        "pytz.timezone('US/Eastern').localize(datetime(2024, 1, 1))\n",
        "import pytz\nfrom datetime import datetime\ndatetime(2024, 1, 1, tzinfo=pytz.utc)\n",
        "import pytz\nfrom datetime import datetime\ndatetime(2024, 1, 1, tzinfo=pytz.timezone('UTC'))\n",
        "import pytz\nfrom datetime import datetime\n"
        "datetime(2024, 1, 1, tzinfo=pytz.timezone('Etc/GMT+5'))\n",
        "from datetime import datetime\nfrom zoneinfo import ZoneInfo\n"
        "datetime(2024, 1, 1, tzinfo=ZoneInfo('America/New_York'))\n",
        "from dateutil import tz\nfrom datetime import datetime\n"
        "datetime(2024, 1, 1, tzinfo=tz.gettz('America/New_York'))\n",
        "from dateutil.tz import gettz as timezone\nfrom datetime import datetime\n"
        "datetime(2024, 1, 1, tzinfo=timezone('America/New_York'))\n",
        "from datetime import datetime, timezone\ndatetime(2024, 1, 1, tzinfo=timezone.utc)\n",
        "import pytz\nfrom datetime import datetime\nEASTERN = pytz.timezone('US/Eastern')\n"
        "EASTERN.localize(datetime(2024, 1, 1))\n",
        # rebound: which zone the name holds is not known statically
        "import pytz\nfrom datetime import datetime\nTZ = pytz.timezone('US/Eastern')\n"
        "TZ = pytz.utc\ndatetime(2024, 1, 1, tzinfo=TZ)\n",
        # the parameter shadows the module-level name
        "import pytz\nfrom datetime import datetime\nTZ = pytz.timezone('US/Eastern')\n"
        "def f(TZ):\n    return datetime(2024, 1, 1, tzinfo=TZ)\n",
        "def f(pytz, d):\n    return d.replace(tzinfo=pytz.timezone('US/Eastern'))\n",
        "import pendulum\nfrom datetime import datetime\n"
        "datetime(2024, 1, 1, tzinfo=pendulum.timezone('Europe/Paris'))\n",
        "import pytz\nfrom pendulum import datetime\n"
        "datetime(2024, 1, 1, tzinfo=pytz.timezone('Europe/Paris'))\n",
        "import pytz\ns = text.replace('a', 'b')\nzone = pytz.timezone('Europe/Paris')\n",
    ]
    INVALID = [
        Example(
            "import pytz\nfrom datetime import datetime\n"
            "d = datetime(2024, 1, 1, tzinfo=pytz.timezone('US/Eastern'))\n",
            fix="import pytz\nfrom datetime import datetime\n"
            "d = pytz.timezone('US/Eastern').localize(datetime(2024, 1, 1))\n",
            unsafe=True,
        ),
        Example(
            "import pytz\nimport datetime as dt\nEASTERN = pytz.timezone('US/Eastern')\n"
            "def f():\n    return dt.datetime(2024, 1, 1, 9, tzinfo=EASTERN)\n",
            fix="import pytz\nimport datetime as dt\nEASTERN = pytz.timezone('US/Eastern')\n"
            "def f():\n    return EASTERN.localize(dt.datetime(2024, 1, 1, 9))\n",
            unsafe=True,
        ),
        Example(
            "from pytz import timezone\ndef f(d):\n    return d.replace(hour=9, tzinfo=timezone('Europe/Paris'))\n",
            fix="from pytz import timezone\ndef f(d):\n"
            "    return timezone('Europe/Paris').localize(d.replace(hour=9, tzinfo=None))\n",
            unsafe=True,
        ),
        Example(
            "import pytz\ndef f(d, name):\n    zone = pytz.timezone(name)\n    return d.replace(tzinfo=zone)\n",
            fix="import pytz\ndef f(d, name):\n    zone = pytz.timezone(name)\n"
            "    return zone.localize(d.replace(tzinfo=None))\n",
            unsafe=True,
        ),
        # the use comes before the module-level binding in the file
        "import pytz\nfrom datetime import datetime as DT\ndef f():\n"
        "    return DT(2024, 1, 1, tzinfo=PARIS)\nPARIS = pytz.timezone('Europe/Paris')\n",
        "import pytz, datetime\n"
        "d = datetime.datetime(2024, 1, 1, 0, 0, 0, 0, pytz.timezone('Asia/Tokyo'))\n",
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._datetime_names = ctx.names_importing(DATETIME)
        self._timezone_names = ctx.names_importing(_TIMEZONE)
        self._zones: set[tuple[int, str]] = set()  # (id of the binding scope, name)
        self._uses: list[_Use] = []

    def _is_lmt_zone(self, expr: cst.BaseExpression) -> bool:
        if not isinstance(expr, cst.Call):
            return False
        func = expr.func
        if isinstance(func, cst.Attribute):
            if func.attr.value != "timezone":
                return False
        elif not isinstance(func, cst.Name) or func.value not in self._timezone_names:
            return False
        return self.ctx.qualified_name(func) == _TIMEZONE and not _static_zone(expr)

    def visit_Assign(self, node: cst.Assign) -> None:
        if self._is_lmt_zone(node.value):
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    self._record(target.target.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None and isinstance(node.target, cst.Name) and self._is_lmt_zone(node.value):
            self._record(node.target.value)

    def _record(self, name: str) -> None:
        scope = self.ctx.scope.lookup(name)
        if scope is not None:
            self._zones.add((id(scope), name))

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute):
            constructor = func.attr.value == "datetime"
            if not constructor and func.attr.value != "replace":
                return
        elif isinstance(func, cst.Name) and func.value in self._datetime_names:
            constructor = True
        else:
            return
        tz = argument(node, 7, "tzinfo")
        if tz is None:
            return
        if constructor and self.ctx.qualified_name(func) != DATETIME:
            return
        if self._is_lmt_zone(tz.value):
            self._flag(node, tz, constructor)
        elif isinstance(tz.value, cst.Name):
            scope = self.ctx.scope.lookup(tz.value.value)
            if scope is not None:
                self._uses.append(_Use(node, tz, constructor, scope, tz.value.value))

    def finish(self) -> None:
        for use in self._uses:
            if (id(use.scope), use.name) in self._zones and len(use.scope.bindings[use.name]) == 1:
                self._flag(use.call, use.tz, use.constructor)

    def _flag(self, node: cst.Call, tz: cst.Arg, constructor: bool) -> None:
        self.report(
            node,
            "A pytz zone given as `tzinfo` uses its oldest offset (local mean time, e.g. -4:56 "
            "for New York), not the one in force at that date; use `tz.localize(naive)` or "
            "`zoneinfo.ZoneInfo`.",
            self._fix(node, tz, constructor),
        )

    def _fix(self, node: cst.Call, tz: cst.Arg, constructor: bool) -> FixSpec | None:
        if tz.keyword is None:
            return None
        if constructor:
            args = [a for a in node.args if a is not tz]
            if not args:
                return None
            if node.args[-1] is tz:
                args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
        else:
            args = [a if a is not tz else a.with_changes(value=cst.Name("None")) for a in node.args]
        naive = node.with_changes(args=args)
        new = cst.Call(cst.Attribute(tz.value, cst.Name("localize")), [cst.Arg(naive)])
        return FixSpec("Attach the zone with `localize()`", ((node, new),), safe=False)
