from __future__ import annotations

import libcst as cst

from rules.engine import Context
from rules.helpers import (
    DATETIME,
    argument,
    attaches_zone,
    is_none,
    made_aware,
    names_importing,
)
from rules.model import Severity
from rules.rule import Rule


class NaiveConstructor(Rule):
    """A datetime built without a time zone.

    What it flags:
    `datetime(...)` without `tzinfo` (as a keyword or the 8th positional argument), or with
    `tzinfo=None`, however `datetime` was imported. Not flagged when the zone is attached
    right away: the call is directly followed by `.replace(tzinfo=<not None>)` or
    `.astimezone(...)` (other `.replace()` calls may come between), or passed directly to
    pytz's `tz.localize(...)` or Django's `make_aware(...)` (any function named so). A call
    with `*args` is flagged (`datetime(*parts[:6])` is the usual naive idiom; a zone passed
    through a sequence is better written `tzinfo=`); one with `**kwargs` is not, since it
    may carry `tzinfo`.

    Why it is risky:
    A naive value has no instant: each reader assumes its own zone, arithmetic across a DST
    change is off by an hour, and comparing it with an aware value raises. Bad:
    `cutoff = datetime(2024, 1, 1)` compared with `record.created_at` (aware UTC).

    How to fix:
    Say which zone the fields are in: `datetime(2024, 1, 1, tzinfo=timezone.utc)` or
    `tzinfo=ZoneInfo("Europe/Paris")`. Good: `cutoff = datetime(2024, 1, 1, tzinfo=timezone.utc)`.
    """

    code = "RG104"
    slug = "naive-constructor"
    severity = Severity.ERROR
    ruff_codes = ("DTZ001",)

    VALID = [
        "from datetime import datetime, timezone\ndatetime(2024, 1, 1, tzinfo=timezone.utc)\n",
        "import datetime\ndatetime.datetime(2024, 1, 1, 0, 0, 0, 0, datetime.timezone.utc)\n",
        "import datetime as dt\ndt.datetime(2024, 1, 1, tzinfo=dt.UTC)\n",
        "from datetime import datetime as DT, UTC\nDT(2024, 1, 1, tzinfo=UTC)\n",
        "from datetime import datetime, timezone\n"
        "datetime(2024, 1, 1).replace(tzinfo=timezone.utc)\n",
        "from datetime import datetime, timezone\n"
        "datetime(2024, 1, 1).replace(hour=3).replace(tzinfo=timezone.utc)\n",
        "from datetime import datetime, timezone\ndatetime(2024, 1, 1).astimezone(timezone.utc)\n",
        "import pytz\nfrom datetime import datetime\n"
        "pytz.timezone('Europe/Paris').localize(datetime(2024, 1, 1))\n",
        "from datetime import datetime\ndef f(tz):\n    return tz.localize(datetime(2024, 1, 1), is_dst=None)\n",
        "from datetime import datetime\nfrom django.utils import timezone\n"
        "timezone.make_aware(datetime(2024, 1, 1))\n",
        "from datetime import datetime\nfrom django.utils.timezone import make_aware\n"
        "make_aware(datetime(2024, 1, 1), tz)\n",
        "from datetime import datetime\ndatetime(**fields)\n",
        "from datetime import datetime, timezone\ndatetime(*parts[:6], tzinfo=timezone.utc)\n",
        "def f(datetime):\n    return datetime(2024, 1, 1)\n",
        "from datetime import datetime\ndef f():\n    datetime = factory()\n    return datetime(2024, 1, 1)\n",
        "from datetime import datetime\nclass C:\n    def m(self, datetime):\n        return datetime(1, 2, 3)\n",
        "from pendulum import datetime\ndatetime(2024, 1, 1)\n",
        "import arrow\narrow.Arrow(2024, 1, 1)\n",
        "import datetime\ndatetime.date(2024, 1, 1)\n",
        "import datetime\ndatetime.time(12, 0)\n",
        "import pandas as pd\npd.datetime(2024, 1, 1)\n",
    ]
    INVALID = [
        "from datetime import datetime\ncutoff = datetime(2024, 1, 1)\n",
        "import datetime\ncutoff = datetime.datetime(2024, 1, 1, 12, 0)\n",
        "import datetime as dt\ncutoff = dt.datetime(2024, 1, 1)\n",
        "from datetime import datetime as DT\ncutoff = DT(2024, 1, 1)\n",
        "from datetime import datetime\ncutoff = datetime(2024, 1, 1, tzinfo=None)\n",
        "import datetime\ncutoff = datetime.datetime(2024, 1, 1, 0, 0, 0, 0, None)\n",
        "from datetime import datetime\ncutoff = datetime(*parts[:6])\n",
        "from datetime import datetime\ncutoff = datetime(2024, 1, 1).replace(tzinfo=None)\n",
        "from datetime import datetime\ncutoff = datetime(2024, 1, 1).replace(hour=3)\n",
        "from datetime import datetime\nfrom datetime import timezone\n"
        "cutoff = datetime(2024, 1, 1).replace(tzinfo=timezone.utc).replace(tzinfo=None)\n",
        "def f():\n    from datetime import datetime\n    return datetime(2024, 1, 1)\n",
        # `localize` must receive the value itself, not a value derived from it
        "from datetime import datetime\ntz.localize(datetime(2024, 1, 1) + delta)\n",
        "from datetime import datetime\nlocalize(datetime(2024, 1, 1))\n",
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._aliases = names_importing(ctx, DATETIME)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute):
            if func.attr.value != "datetime":
                return
        elif not isinstance(func, cst.Name) or func.value not in self._aliases:
            return
        if self.ctx.qualified_name(func) != DATETIME:
            return
        if any(arg.star == "**" for arg in node.args):
            return
        tz = argument(node, 7, "tzinfo")
        if tz is not None and not is_none(tz.value):
            return
        if made_aware(self.ctx, node) or attaches_zone(self.ctx, node):
            return
        what = "with `tzinfo=None`" if tz is not None else "without `tzinfo`"
        self.report(
            node,
            f"`datetime(...)` {what} is naive (no instant, each reader assumes a zone); "
            "pass `tzinfo=timezone.utc` or the zone the fields are in.",
        )
