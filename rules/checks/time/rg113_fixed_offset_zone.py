from __future__ import annotations

import re

import libcst as cst

from rules.analysis.syntax import argument, iter_nodes, string_value
from rules.analysis.zones import AMERICAN_WORDS, DST_CITY_WORDS, DST_ZONES
from rules.model import Severity
from rules.rule import Context, Example, FixSpec, Rule

# Fixed-offset zone constructors: (offset position, offset keyword, name position, name keyword).
_FIXED = {
    "datetime.timezone": (0, "offset", 1, "name"),
    "pytz.FixedOffset": (0, "offset", None, None),
    "dateutil.tz.tzoffset": (1, "offset", 0, "name"),
    "dateutil.tz.tz.tzoffset": (1, "offset", 0, "name"),
}
_LAST = frozenset(name.rpartition(".")[2] for name in _FIXED)
# The server's standard offset: frozen, it misses the summer shift.
_SERVER_OFFSETS = frozenset({"time.timezone", "time.altzone"})
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+")


def _name_words(name: str) -> set[str]:
    """The words of a name, and each pair joined (`NEW_YORK_TZ` -> new, york, new_york...)."""
    words = [w.lower() for w in _WORDS.findall(name)]
    return set(words) | {f"{a}_{b}" for a, b in zip(words, words[1:], strict=False)}


def _west(offset: cst.BaseExpression | None) -> bool:
    """The offset is written as a negative amount: `timedelta(hours=-5)`, `-300`."""
    if offset is None:
        return False
    return any(
        isinstance(n, cst.UnaryOperation) and isinstance(n.operator, cst.Minus)
        for n in iter_nodes(offset)
    )


class FixedOffsetZone(Rule):
    """A fixed UTC offset standing for a zone that switches to summer time.

    What it flags:
    A fixed-offset zone (`timezone(timedelta(...))`, `pytz.FixedOffset`,
    `dateutil.tz.tzoffset`) named for a zone with daylight saving (`"Europe/Paris"`, `"CET"`),
    kept under such a name (`EASTERN = ...`), or with an offset read from a zone or the server
    (`.utcoffset()`, `time.timezone`); and `astimezone().tzinfo` kept at module level.

    Why it is risky:
    The offset is right for half of the year. In summer every local time is an hour off:
    reports cut at the wrong midnight, jobs run an hour early. Bad:
    `PARIS = timezone(timedelta(hours=1), "Europe/Paris")`.

    How to fix:
    Use the named zone, which knows the rules: `ZoneInfo("Europe/Paris")` (or
    `pytz.timezone(...).localize(...)`). Good: `PARIS = ZoneInfo("Europe/Paris")`.
    """

    code = "RG113"
    slug = "fixed-offset-zone"
    severity = Severity.WARNING

    DETAILS = """
    The fixed-offset constructors are `datetime.timezone`, `pytz.FixedOffset` and
    `dateutil.tz.tzoffset`, resolved through the file's imports. One is reported when:
    its name argument is an IANA zone with daylight saving (the list is in
    `rules/analysis/zones.py`: zones whose January and July offsets differ, `"CET"`, `"EET"`
    and `"EST5EDT"` included); it is assigned to a variable or attribute whose name names such
    a zone (`PARIS_TZ`, `tz_new_york`, `CET`; `EASTERN`, `PACIFIC`... only with an offset
    west of UTC, since East Africa has no summer time); or its offset is read from a zone
    (`zone.utcoffset(...)`, `tm_gmtoff`) or from the server's standard offset
    (`time.timezone`, `time.altzone`), which freezes whatever was in force when it ran.
    Also `<datetime>.astimezone().tzinfo` assigned at module or class level: `astimezone()`
    without an argument attaches the server's *current* offset as a fixed zone.

    Not flagged: fixed offsets without a name or with a name of a zone that has no daylight
    saving (`"Asia/Tokyo"`, `"EST"`, `"UTC"`), and abbreviations of standard time (`"PST"`).
    The fix offered for `timezone(offset, "<IANA zone>")` is `ZoneInfo("<zone>")`, and it is
    unsafe: the offsets the code produces change (to the right ones).
    """

    VALID = [
        "from zoneinfo import ZoneInfo\nPARIS = ZoneInfo('Europe/Paris')\n",
        "from datetime import timezone, timedelta\nJST = timezone(timedelta(hours=9), 'Asia/Tokyo')\n",
        "from datetime import timezone, timedelta\nIST = timezone(timedelta(hours=5, minutes=30))\n",
        "from datetime import timezone, timedelta\nEST = timezone(timedelta(hours=-5), 'EST')\n",
        "from datetime import timezone\nUTC = timezone.utc\n",
        "from datetime import timezone, timedelta\ndef parse_offset(minutes):\n"
        "    return timezone(timedelta(minutes=minutes))\n",
        "import pytz\nEASTERN = pytz.timezone('US/Eastern')\n",
        "from datetime import timezone, timedelta\nEASTERN_AFRICA = timezone(timedelta(hours=3))\n",
        "import pytz\ndef from_header(minutes):\n    return pytz.FixedOffset(minutes)\n",
        "from dateutil import tz\nzone = tz.tzoffset(None, 3600)\n",
        "from datetime import datetime\ndef now_local():\n    return datetime.now().astimezone().tzinfo\n",
        # `timezone` here is Django's module, not the class
        "from django.utils import timezone\nPARIS = timezone.get_current_timezone()\n",
        "def timezone(offset, name):\n    return name\nx = timezone(1, 'Europe/Paris')\n",
        "from datetime import timezone, timedelta\nTOKYO = timezone(timedelta(hours=9))\n",
    ]
    INVALID = [
        Example(
            "from datetime import timezone, timedelta\n"
            "PARIS = timezone(timedelta(hours=1), 'Europe/Paris')\n",
            fix="from datetime import timezone, timedelta\nfrom zoneinfo import ZoneInfo\n"
            "PARIS = ZoneInfo('Europe/Paris')\n",
            unsafe=True,
        ),
        Example(
            "import datetime as dt\nimport zoneinfo\n"
            "NY = dt.timezone(dt.timedelta(hours=-5), name='America/New_York')\n",
            fix="import datetime as dt\nimport zoneinfo\n"
            "NY = zoneinfo.ZoneInfo('America/New_York')\n",
            unsafe=True,
        ),
        "from datetime import timezone, timedelta\nCET = timezone(timedelta(hours=1), 'CET')\n",
        "from datetime import timezone, timedelta\nEASTERN = timezone(timedelta(hours=-5))\n",
        "import pytz\nPACIFIC_TZ = pytz.FixedOffset(-480)\n",
        "from dateutil.tz import tzoffset\nBERLIN = tzoffset('Europe/Berlin', 3600)\n",
        "from datetime import timezone, timedelta\nimport time\n"
        "LOCAL = timezone(timedelta(seconds=-time.timezone))\n",
        "from datetime import datetime, timezone\nfrom zoneinfo import ZoneInfo\n"
        "def zone():\n    return timezone(datetime.now(ZoneInfo('Europe/London')).utcoffset())\n",
        "from datetime import datetime\nLOCAL_TZ = datetime.now().astimezone().tzinfo\n",
        "from datetime import timezone, timedelta\nclass Config:\n"
        "    def __init__(self):\n        self.tz_london = timezone(timedelta(0))\n",
        "from datetime import timezone, timedelta\n"
        "SCHEDULE = {'zone': timezone(timedelta(hours=10), 'Australia/Sydney')}\n",
        "import pytz\nimport time\nLOCAL = pytz.FixedOffset(time.localtime().tm_gmtoff // 60)\n",
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._constructors = ctx.names_importing(*_FIXED)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute):
            if func.attr.value not in _LAST:
                return
        elif not isinstance(func, cst.Name) or func.value not in self._constructors:
            return
        qualified = self.ctx.qualified_name(func)
        if qualified not in _FIXED or any(a.star for a in node.args):
            return
        offset_at, offset_kw, name_at, name_kw = _FIXED[qualified]
        offset = argument(node, offset_at, offset_kw)
        name = argument(node, name_at, name_kw) if name_kw is not None else None
        zone = string_value(name.value) if name is not None else None
        if zone is not None and zone in DST_ZONES:
            self.report(
                node,
                f"A fixed offset named `{zone}`, a zone with summer time: the offset is wrong "
                f"for half of the year. Use `ZoneInfo({zone!r})`.",
                self._fix(node, zone, qualified),
            )
        elif offset is not None and self._read_from_zone(offset.value):
            self.report(
                node,
                "An offset read from a zone or from the server's clock settings, frozen into a "
                "fixed-offset zone: it misses every later switch to or from summer time. Use the "
                "named zone (`ZoneInfo(...)`, `tzlocal.get_localzone()`).",
            )
        else:
            held = self._holder_name()
            if held is not None and self._names_dst_zone(held, offset.value if offset else None):
                self.report(
                    node,
                    f"A fixed UTC offset kept as `{held}`, a place with summer time: the offset "
                    "is wrong for half of the year. Use the named zone, `ZoneInfo(...)`.",
                )

    def visit_Attribute(self, node: cst.Attribute) -> None:
        """`<datetime>.astimezone().tzinfo` kept beyond the moment it was read."""
        if node.attr.value != "tzinfo":
            return
        call = node.value
        if not (
            isinstance(call, cst.Call)
            and not call.args
            and isinstance(call.func, cst.Attribute)
            and call.func.attr.value == "astimezone"
        ):
            return
        if self.ctx.scope.kind not in ("module", "class") or not isinstance(self.ctx.parent, (cst.Assign, cst.AnnAssign)):
            return
        self.report(
            node,
            "`astimezone().tzinfo` is the server's offset at this moment, as a fixed zone: kept "
            "at module or class level it is wrong after the next switch to or from summer time. "
            "Use `tzlocal.get_localzone()` or call `astimezone()` where the time is needed.",
        )

    def _read_from_zone(self, offset: cst.BaseExpression) -> bool:
        for inner in iter_nodes(offset):
            if isinstance(inner, cst.Attribute):
                if inner.attr.value == "tm_gmtoff":
                    return True
                if inner.attr.value in ("timezone", "altzone") and self.ctx.qualified_name(inner) in _SERVER_OFFSETS:
                    return True
            elif isinstance(inner, cst.Call) and isinstance(inner.func, cst.Attribute):
                if inner.func.attr.value == "utcoffset":
                    return True
        return False

    def _holder_name(self) -> str | None:
        """The variable, attribute or string key the current call's value is kept under."""
        parent = self.ctx.parent
        if isinstance(parent, cst.Assign) and len(parent.targets) == 1:
            target: cst.BaseExpression = parent.targets[0].target
        elif isinstance(parent, cst.AnnAssign):
            target = parent.target
        elif isinstance(parent, cst.DictElement):
            return string_value(parent.key)
        else:
            return None
        if isinstance(target, cst.Name):
            return target.value
        if isinstance(target, cst.Attribute):
            return target.attr.value
        return None

    @staticmethod
    def _names_dst_zone(name: str, offset: cst.BaseExpression | None) -> bool:
        words = _name_words(name)
        if not words.isdisjoint(DST_CITY_WORDS):
            return True
        return not words.isdisjoint(AMERICAN_WORDS) and _west(offset)

    def _fix(self, node: cst.Call, zone: str, qualified: str) -> FixSpec | None:
        if qualified != "datetime.timezone" or "/" not in zone:
            return None
        zone_info, imports = self.ctx.name_for("zoneinfo.ZoneInfo")
        new = cst.Call(zone_info, [cst.Arg(cst.SimpleString(repr(zone)))])
        return FixSpec(f"Use `ZoneInfo({zone!r})`", ((node, new),), safe=False, imports=imports)
