from __future__ import annotations

import libcst as cst

from rules.analysis.time import DATE
from rules.model import Severity
from rules.rule import Rule

_METHODS = ("today", "fromtimestamp")


class LocalDate(Rule):
    """The server's local calendar day: `date.today()` / `date.fromtimestamp()`.

    What it flags:
    `date.today()` and `date.fromtimestamp(x)`, however `date` was imported. A warning: the
    local day is sometimes what is meant (a command-line tool showing the user's calendar),
    but on a server it rarely is.

    Why it is risky:
    Both read the server's zone, so the "day" of a record changes with where the code runs,
    and around midnight UTC two servers disagree on it. Bad: `if record.day == date.today():`.

    How to fix:
    Take the day in an explicit zone: `datetime.now(timezone.utc).date()`, or
    `datetime.fromtimestamp(x, ZoneInfo("Europe/Paris")).date()` for a business calendar.
    Good: `if record.day == datetime.now(timezone.utc).date():`.
    """

    code = "RG106"
    slug = "local-date"
    severity = Severity.WARNING
    ruff_codes = ("DTZ011", "DTZ012")

    VALID = [
        "from datetime import datetime, timezone\ndatetime.now(timezone.utc).date()\n",
        "import datetime\ndatetime.datetime.fromtimestamp(0, datetime.timezone.utc).date()\n",
        "import datetime\ndatetime.date(2024, 1, 1)\n",
        "import datetime\ndatetime.date.fromisoformat('2024-01-01')\n",
        # `datetime.today()` is RG101's
        "from datetime import datetime\ndatetime.today()\n",
        "def f(date):\n    return date.today()\n",
        "from datetime import date\ndef f():\n    date = calendar()\n    return date.today()\n",
        "from datetime import date\nclass C:\n    date = None\n    def m(self, date):\n        return date.today()\n",
        "import pendulum\npendulum.today()\n",
        "import arrow\narrow.Arrow.fromtimestamp(0).date()\n",
        "from pendulum import date\ndate.today()\n",
        "class date:\n    @classmethod\n    def today(cls):\n        return cls()\ndate.today()\n",
    ]
    INVALID = [
        "from datetime import date\nd = date.today()\n",
        "import datetime\nd = datetime.date.today()\n",
        "import datetime as dt\nd = dt.date.today()\n",
        "from datetime import date as D\nd = D.today()\n",
        "from datetime import date\nd = date.fromtimestamp(ts)\n",
        "import datetime\nd = datetime.date.fromtimestamp(ts)\n",
        "def f():\n    from datetime import date\n    return date.today().year\n",
    ]

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in _METHODS:
            return
        method = func.attr.value
        if self.ctx.qualified_name(func) != f"{DATE}.{method}":
            return
        instead = (
            "datetime.now(timezone.utc).date()"
            if method == "today"
            else "datetime.fromtimestamp(x, timezone.utc).date()"
        )
        self.report(
            node,
            f"`date.{method}()` gives the server's local calendar day; use `{instead}` "
            "or the zone the day belongs to.",
        )
