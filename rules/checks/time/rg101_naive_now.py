from __future__ import annotations

import libcst as cst

from rules.analysis.naive_uses import NaiveUses
from rules.analysis.syntax import argument, chained_methods, is_none
from rules.analysis.time import DATETIME, naive_value_relied_on, utc_expression
from rules.model import Severity
from rules.rule import Context, Example, FixSpec, Rule

_CALLS = {f"{DATETIME}.now", f"{DATETIME}.today"}


class NaiveNow(Rule):
    """The current time as a naive datetime.

    What it flags:
    `datetime.now()` and `datetime.today()` without a time zone (also `now(tz=None)`),
    however `datetime` was imported. An error where the value is used as an instant:
    compared with a stored time, stored, sent, returned. A warning where the server's zone
    cannot change the answer: logged or formatted, only compared with another naive reading.

    Why it is risky:
    A naive value is whatever the server's clock reads in the server's zone. Compared with
    stored UTC timestamps it shifts every age by the server's offset, stored it is read back
    as another zone's time, and comparing it with an aware value raises at run time. Bad:
    `age = datetime.now() - record.created_at`, `row["created_at"] = datetime.now()`.

    How to fix:
    Ask for an aware value: `datetime.now(timezone.utc)`. Good:
    `age = datetime.now(timezone.utc) - record.created_at`. Measuring a duration is better
    done with `time.monotonic()`; a local time meant for display may stay, as a warning.
    """

    code = "RG101"
    slug = "naive-now"
    severity = Severity.ERROR
    ruff_codes = ("DTZ005", "DTZ002")

    DETAILS = """
    `datetime.now()` and `datetime.today()` without a time zone (also `now(tz=None)`),
    however `datetime` was imported. A call directly followed by `.astimezone()` is aware
    and not flagged. Every other call is reported (as ruff's DTZ005/DTZ002 do); the finding
    is an error where the value is used as an instant: compared with or subtracted from
    something other than another naive reading (`record.created_at`, a parameter); stored
    under a key, attribute or keyword named like a point in time (`created_at=`,
    `row["at"]`); passed to a call where it is made, or later to one that stores or sends
    (`execute`, `save`, `hset`...); returned; labelled with `.replace(tzinfo=...)` (the local
    fields then name a wrong instant); or kept where its use cannot be seen (a module-level
    name). It is a warning where the server's zone cannot change an answer: formatted,
    printed or logged; only its calendar fields read; only compared with or subtracted from
    another naive reading, possibly moved by a `timedelta` (an elapsed time or an in-memory
    deadline, where only a DST change matters: RG108's concern); the explicit local-time
    branch of a helper that otherwise returns aware values; test code (`test*` functions,
    `Test*` classes). A name or `self.<attr>` holding the value is followed through the
    function or the class; a value the rule cannot follow keeps the error.
    """

    VALID = [
        "from datetime import datetime, timezone\ndatetime.now(timezone.utc)\n",
        "import datetime\ndatetime.datetime.now(tz=datetime.timezone.utc)\n",
        "from datetime import datetime\ndatetime.now().astimezone()\n",
        "def f(datetime):\n    return datetime.now()\n",
        "import datetime\ndef f():\n    datetime = make()\n    return datetime.now()\n",
        "from pendulum import datetime\ndatetime.now()\n",
        "class datetime:\n    pass\ndatetime.now()\n",
        "import datetime\ndatetime.date.today()\n",
    ]
    INVALID = [
        Example(
            "import datetime\nfrom .clock import utcnow\nclass Queue:\n    def now(self):\n"
            "        return utcnow() if self.utc else datetime.datetime.now()\n",
            severity=Severity.WARNING,
        ),
        Example(
            "from datetime import datetime\nx = datetime.now()\n",
            fix="from datetime import datetime, timezone\nx = datetime.now(timezone.utc)\n",
        ),
        Example(
            "import datetime as dt\nx = dt.datetime.now()\n",
            fix="import datetime as dt\nx = dt.datetime.now(dt.timezone.utc)\n",
        ),
        Example(
            "from datetime import datetime as DT\nx = DT.today()\n",
            fix="from datetime import datetime as DT, timezone\nx = DT.now(timezone.utc)\n",
        ),
        Example(
            "import datetime\nx = datetime.datetime.now(tz=None)\n",
            fix="import datetime\nx = datetime.datetime.now(tz=datetime.timezone.utc)\n",
        ),
        Example(
            '"""Doc."""\nimport os\n\ndef f():\n    from datetime import datetime\n    return datetime.now()\n',
            fix='"""Doc."""\nimport os\nfrom datetime import timezone\n\ndef f():\n    from datetime import datetime\n    return datetime.now(timezone.utc)\n',
        ),
        Example(
            "from datetime import datetime, timedelta\ndef old(record):\n"
            "    return datetime.now() - record.created_at > timedelta(days=365)\n",
            fix="from datetime import datetime, timedelta, timezone\ndef old(record):\n"
            "    return datetime.now(timezone.utc) - record.created_at > timedelta(days=365)\n",
            unsafe=True,
        ),
        "from datetime import datetime\ndef stamp(row):\n    row['created_at'] = datetime.now()\n",
        "from datetime import datetime\ndef stamp(row):\n    row['at'] = datetime.now()\n    return row\n",
        "from datetime import datetime\ndef save(session, Event):\n"
        "    session.add(Event(created_at=datetime.now()))\n",
        "from datetime import datetime\ndef mark(cursor):\n"
        "    cursor.execute('INSERT INTO m VALUES (%s)', (datetime.now(),))\n",
        "from datetime import datetime\nclass Job:\n    def run(self):\n"
        "        self.finished_at = datetime.now()\n",
        "from datetime import datetime\ndef check(cert):\n"
        "    if cert.not_after < datetime.now():\n        raise ValueError('expired')\n",
        # benign shapes: reported, as warnings
        Example(
            "import logging\nfrom datetime import datetime\nlog = logging.getLogger()\n"
            "def done():\n    log.info('done at %s', datetime.now())\n",
            severity=Severity.WARNING,
        ),
        Example(
            "from datetime import datetime\ndef folder(pattern):\n"
            "    return datetime.now().strftime(pattern)\n",
            severity=Severity.WARNING,
        ),
        Example(
            "from datetime import datetime\ndef timed(work):\n    start = datetime.now()\n"
            "    work()\n    return datetime.now() - start\n",
            severity=Severity.WARNING,
        ),
        Example(
            "from datetime import datetime, timedelta\nclass Token:\n"
            "    def renew(self, seconds):\n"
            "        self.expiry = datetime.now() + timedelta(seconds=seconds)\n"
            "    def valid(self):\n        return self.expiry > datetime.now()\n",
            severity=Severity.WARNING,
        ),
        Example(
            "from datetime import datetime, timezone\ndef now(utc=True):\n    if utc:\n"
            "        return datetime.now(timezone.utc)\n    return datetime.now()\n",
            severity=Severity.WARNING,
        ),
        Example(
            "from datetime import datetime\ndef banner():\n"
            "    print(f'started {datetime.now():%H:%M}')\n",
            severity=Severity.WARNING,
        ),
        Example(
            "from datetime import datetime\ndef f(t):\n    now = datetime.now()\n    return now > t\n",
            fix="from datetime import datetime, timezone\ndef f(t):\n    now = datetime.now(timezone.utc)\n    return now > t\n",
            unsafe=True,
        ),
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._uses = NaiveUses(ctx, returned=True, timestamp=False, local=True)
        self._relied_on: dict[cst.CSTNode, frozenset[str]] = {}

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in ("now", "today"):
            return
        name = self.ctx.qualified_name(func)
        if name not in _CALLS:
            return
        tz = argument(node, 0, "tz") if func.attr.value == "now" else None
        if tz is not None and not is_none(tz.value):
            return
        first = next(chained_methods(self.ctx, node), None)
        if first is not None and first[0] == "astimezone":
            return
        utc, imports = utc_expression(self.ctx)
        if func.attr.value == "today":
            new = node.with_changes(func=func.with_changes(attr=cst.Name("now")), args=[cst.Arg(utc)])
        elif tz is not None:
            new = node.with_changes(
                args=[a if a is not tz else a.with_changes(value=utc) for a in node.args]
            )
        else:
            new = node.with_changes(args=[cst.Arg(utc)])
        use = self._uses.classify(node)
        what = f"`{func.attr.value}()` returns a naive datetime (server-local, no zone)"
        if use.risky:
            message = f"{what} and here it is {use.why}; use `datetime.now(timezone.utc)`."
        else:
            message = (
                f"{what}; here it is {use.why}, so only a warning: use "
                "`datetime.now(timezone.utc)` wherever an instant is meant."
            )
        self.report(
            node,
            message,
            FixSpec(
                "Use an aware UTC now",
                ((node, new),),
                safe=not naive_value_relied_on(self.ctx, node, self._relied_on),
                imports=imports,
            ),
            severity=None if use.risky else Severity.WARNING,
        )
