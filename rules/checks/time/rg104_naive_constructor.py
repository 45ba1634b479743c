from __future__ import annotations

import libcst as cst

from rules.analysis.naive_uses import NaiveUses
from rules.analysis.syntax import argument, is_none
from rules.analysis.time import DATETIME, made_aware
from rules.model import Severity
from rules.rule import Context, Example, Rule


def _widening(call: cst.Call) -> bool:
    """`datetime(d.year, d.month, d.day)`: a date (or another datetime's fields) widened,
    calendar arithmetic whose naivety is its source's."""
    year = argument(call, 0, "year")
    return (
        year is not None
        and isinstance(year.value, cst.Attribute)
        and year.value.attr.value == "year"
    )


def _from_gmtime(ctx: Context, call: cst.Call) -> bool:
    """`datetime(*time.gmtime(secs)[:6])`: UTC fields by construction, as `utcfromtimestamp()`."""
    for arg in call.args:
        value = arg.value
        if isinstance(value, cst.Subscript):
            value = value.value
        if isinstance(value, cst.Call) and ctx.qualified_name(value.func) == "time.gmtime":
            return True
    return False


def _fixed(call: cst.Call) -> bool:
    """`datetime(1970, 1, 1)`: a fixed date given by literals (an epoch, a reference)."""
    return bool(call.args) and all(
        not arg.star and isinstance(arg.value, cst.Integer) for arg in call.args
    )


def _date_only(call: cst.Call) -> bool:
    """`datetime(2025, 4, 1)`: a calendar day written as literals, no time of day."""
    return 0 < len(call.args) <= 3 and all(
        not arg.star
        and isinstance(arg.value, cst.Integer)
        and (arg.keyword is None or arg.keyword.value in ("year", "month", "day"))
        for arg in call.args
    )


def _calendar_metadata(ctx: Context, node: cst.CSTNode) -> bool:
    """`node` (the current node) is an argument of a decorator (`@deprecated(start_date=...)`)
    or of a deprecation helper (`deprecate(..., removal_date=...)`): a day named for people
    to read, formatted into a message, not an instant the code computes with."""
    chain = ctx.ancestors
    if len(chain) < 2 or not isinstance(chain[-1], cst.Arg) or not isinstance(chain[-2], cst.Call):
        return False
    call = chain[-2]
    if len(chain) >= 3 and isinstance(chain[-3], cst.Decorator) and chain[-3].decorator is call:
        return True
    func = call.func
    name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
    return "deprecat" in name.lower()


def _attaches_zone(ctx: Context, node: cst.CSTNode) -> bool:
    """`node` (the current node) is passed straight to a call that attaches a zone to a naive
    value: pytz's `tz.localize(<node>)` or Django's `make_aware(<node>, ...)`.

    pytz zones are objects, so `localize` is recognised as a method name; `make_aware` is
    recognised under any spelling (`timezone.make_aware`, a project's own helper of that name).
    """
    chain = ctx.ancestors
    if len(chain) < 2:
        return False
    arg, call = chain[-1], chain[-2]
    if not (isinstance(arg, cst.Arg) and arg.value is node and isinstance(call, cst.Call)):
        return False
    if arg.keyword is None:
        if arg.star or call.args[0] is not arg:
            return False
    elif arg.keyword.value not in ("dt", "value"):
        return False
    func = call.func
    if isinstance(func, cst.Attribute):
        return func.attr.value in ("localize", "make_aware")
    return isinstance(func, cst.Name) and func.value == "make_aware"


class NaiveConstructor(Rule):
    """A datetime built without a time zone.

    What it flags:
    `datetime(...)` without `tzinfo` (or with `tzinfo=None`), unless a zone is attached
    right away (`.replace(tzinfo=...)`, `.astimezone()`, `tz.localize(...)`,
    `make_aware(...)`). An error where the value is used as an instant (compared with stored
    times, stored, read with `.timestamp()`); a warning for calendar arithmetic, fixed
    reference dates and values given a zone later.

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

    DETAILS = """
    `datetime(...)` without `tzinfo` (as a keyword or the 8th positional argument), or with
    `tzinfo=None`, however `datetime` was imported. Not flagged when the zone is attached
    right away: the call is directly followed by `.replace(tzinfo=<not None>)` or
    `.astimezone(...)` (other `.replace()` calls may come between), or passed directly to
    pytz's `tz.localize(...)` or Django's `make_aware(...)` (any function named so). A call
    with `*args` is flagged (`datetime(*parts[:6])` is the usual naive idiom; a zone passed
    through a sequence is better written `tzinfo=`); one with `**kwargs` is not, since it
    may carry `tzinfo`.
    Every such call is reported (as ruff's DTZ001 does); the finding is an error where the
    value is used as an instant: compared with or subtracted from something other than
    another naive value (`record.created_at`, a parameter); stored under a key, attribute or
    keyword named like a point in time; passed to a call where it is made
    (`DAG(start_date=datetime(2021, 1, 1))`), or later to one that stores or sends; read with
    `.timestamp()`; or kept where its use cannot be seen (a module-level name nothing in the
    module reads). It is a warning in test code and where no instant is meant or the zone
    comes later: an expression statement
    (a validity probe, `datetime(y, m, d)` in a `try`); a date widened to a datetime
    (`datetime(d.year, d.month, d.day)`, calendar arithmetic as naive as its source); a
    fixed reference date subtracted from a value (`value - datetime(2001, 1, 1)`); a value
    given a zone later in the function (`first = make_aware(first, tz)`,
    `x = x.replace(tzinfo=utc)`, any call named `*aware*`, `localize`, `*timezone*`,
    `*utc*`); fields taken from `time.gmtime()` (UTC by construction, a naive UTC value like
    `utcfromtimestamp()` gives); a fixed date kept in a module-level constant; formatted or logged; compared
    only with other naive values; returned (a parser's or converter's result is as naive
    as its input: the caller's use decides); a calendar day written as literals (no time of
    day: `datetime(2025, 4, 1)`) given to a decorator or to a call named `*deprecat*`
    (`@deprecated(start_date=datetime(2025, 4, 1), end_date=...)`: a date for people to read,
    formatted into a message). The last also lowers Airflow's `@dag(start_date=...)`, a
    decorator whose date is an instant; `DAG(start_date=...)` stays an error.
    """

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
        "from datetime import datetime\ncutoff = datetime(2024, 1, 1)\nlate = [r for r in rows if r.created_at > cutoff]\n",
        "import datetime\ncutoff = datetime.datetime(2024, 1, 1, 12, 0)\nlate = [r for r in rows if r.created_at > cutoff]\n",
        "import datetime as dt\ncutoff = dt.datetime(2024, 1, 1)\nlate = [r for r in rows if r.created_at > cutoff]\n",
        "from datetime import datetime as DT\ncutoff = DT(2024, 1, 1)\nlate = [r for r in rows if r.created_at > cutoff]\n",
        "from datetime import datetime\ncutoff = datetime(2024, 1, 1, tzinfo=None)\nlate = [r for r in rows if r.created_at > cutoff]\n",
        "import datetime\ncutoff = datetime.datetime(2024, 1, 1, 0, 0, 0, 0, None)\n",
        "from datetime import datetime\ncutoff = datetime(*parts[:6])\n",
        "from datetime import datetime\ncutoff = datetime(2024, 1, 1).replace(tzinfo=None)\nlate = [r for r in rows if r.created_at > cutoff]\n",
        "from datetime import datetime\ncutoff = datetime(2024, 1, 1).replace(hour=3)\nlate = [r for r in rows if r.created_at > cutoff]\n",
        "from datetime import datetime\nfrom datetime import timezone\n"
        "cutoff = datetime(2024, 1, 1).replace(tzinfo=timezone.utc).replace(tzinfo=None)\nlate = [r for r in rows if r.created_at > cutoff]\n",
        Example(
            "def f():\n    from datetime import datetime\n    return datetime(2024, 1, 1)\n",
            severity=Severity.WARNING,
        ),
        # given a zone, but not by the exempt call itself: reported as a warning
        Example(
            "from datetime import datetime\ntz.localize(datetime(2024, 1, 1) + delta)\n",
            severity=Severity.WARNING,
        ),
        Example("from datetime import datetime\nlocalize(datetime(2024, 1, 1))\n", severity=Severity.WARNING),
        "from datetime import datetime\ndef recent(rows):\n"
        "    cutoff = datetime(2024, 1, 1)\n    return [r for r in rows if r.created_at > cutoff]\n",
        "from datetime import datetime\ndef seed(session, Event):\n"
        "    session.add(Event(created_at=datetime(2024, 1, 1)))\n",
        "from datetime import datetime\nwith DAG(dag_id='x', start_date=datetime(2021, 1, 1)) as dag:\n    pass\n",
        "from datetime import datetime\ndef epoch_seconds(y, m, d):\n    return datetime(y, m, d).timestamp()\n",
        # benign shapes: reported, as warnings
        Example(
            "from datetime import datetime\ndef exists(y, m, d):\n    try:\n"
            "        datetime(y, m, d)\n    except ValueError:\n        return False\n    return True\n",
            severity=Severity.WARNING,
        ),
        Example(
            "from datetime import datetime\ndef widen(d):\n    return datetime(d.year, d.month, d.day)\n",
            severity=Severity.WARNING,
        ),
        Example(
            "from datetime import datetime\nfrom django.utils import timezone\n"
            "def bounds(value, tz):\n    first = datetime(value, 1, 1)\n"
            "    first = timezone.make_aware(first, tz)\n    return first\n",
            severity=Severity.WARNING,
        ),
        Example(
            "import datetime as dt\ndef utc_epoch(utc):\n    result = dt.datetime(1970, 1, 1)\n"
            "    result = result.replace(tzinfo=utc)\n    return result\n",
            severity=Severity.WARNING,
        ),
        Example(
            "import datetime\ndef seconds(value):\n"
            "    return (value - datetime.datetime(2001, 1, 1)).total_seconds()\n",
            severity=Severity.WARNING,
        ),
        Example(
            "from datetime import datetime\ndef f():\n    return datetime(2024, 1, 1)\n",
            severity=Severity.WARNING,
        ),
        # a calendar day for people to read: a deprecation window given to a decorator
        Example(
            "from datetime import datetime\nfrom .utils import deprecated\n"
            "@deprecated(start_date=datetime(2025, 4, 1), end_date=datetime(2025, 10, 1))\n"
            "def old_api():\n    pass\n",
            severity=Severity.WARNING,
        ),
        Example(
            "import datetime\nfrom .compat import deprecate\n"
            "def f():\n    deprecate('f', removal_date=datetime.datetime(2026, 1, 1))\n",
            severity=Severity.WARNING,
        ),
        Example(
            "import datetime, time\ndef offset(dt, seconds):\n"
            "    return dt - datetime.datetime(*time.gmtime(seconds)[:6])\n",
            severity=Severity.WARNING,
        ),
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._aliases = ctx.names_importing(DATETIME)
        self._uses = NaiveUses(ctx, returned=False, timestamp=True, local=False)

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
        if made_aware(self.ctx, node) or _attaches_zone(self.ctx, node):
            return
        how = "with `tzinfo=None`" if tz is not None else "without `tzinfo`"
        what = f"`datetime(...)` {how} is naive (no instant, each reader assumes a zone)"
        if _from_gmtime(self.ctx, node):
            risky, why = False, "built from `time.gmtime()`: UTC fields, as `utcfromtimestamp()` gives"
        elif _date_only(node) and _calendar_metadata(self.ctx, node):
            risky, why = False, "a calendar day given to a decorator or a deprecation notice"
        else:
            use = self._uses.classify(node, calendar=_widening(node), reference=_fixed(node))
            risky, why = use.risky, use.why
        if risky:
            message = f"{what} and here it is {why}; pass `tzinfo=timezone.utc` or the zone the fields are in."
        else:
            message = (
                f"{what}; here it is {why}, so only a warning: pass `tzinfo=` wherever "
                "an instant is meant."
            )
        self.report(node, message, severity=None if risky else Severity.WARNING)
