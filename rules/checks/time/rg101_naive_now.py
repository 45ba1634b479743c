from __future__ import annotations

import libcst as cst

from rules.analysis.fix_safety import FixSafety
from rules.analysis.naive_uses import NaiveUses
from rules.analysis.syntax import argument, chained_methods, is_none
from rules.analysis.time import DATETIME, utc_expression
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
    deadline, where only a DST change matters: RG108's concern), including a subtraction
    from a name that announces the start of a measurement (`start`, `start_time`,
    `time_begin`, `self._started`; not `started_at`, a stored instant); chosen by a test on
    another value's `tzinfo` (`now(x.tzinfo) if x.tzinfo else now()`); the explicit local-time
    branch of a helper that otherwise returns aware values; test code (`test*` functions,
    `Test*` classes). A name or `self.<attr>` holding the value is followed through the
    function or the class; a value the rule cannot follow keeps the error.

    The fix (`now(timezone.utc)`) is safe, and offered as a suggestion on the pull request,
    only when every read of the value is in sight and works the same once it is aware: the
    value and every local name, private module-level name, private `self._attr` or local
    dict key it is kept in are only formatted, logged, read for their fields, converted
    with `.astimezone()`, read with `.timestamp()` (the same number: a naive reading is
    taken for local time, which it is), or compared with or subtracted from values this
    rule makes aware in the same run or that are aware already. Returned, passed on, kept
    under a public name or attribute, or turned into text with `.isoformat()` / `str()`,
    the value may meet a naive one out of sight (`TypeError`), so the fix is unsafe
    (`--unsafe-fixes`).
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

            unsafe=True,  # a public module-level name or a returned value: readers out of sight
        ),
        Example(
            "import datetime as dt\nx = dt.datetime.now()\n",
            fix="import datetime as dt\nx = dt.datetime.now(dt.timezone.utc)\n",

            unsafe=True,  # a public module-level name or a returned value: readers out of sight
        ),
        Example(
            "from datetime import datetime as DT\nx = DT.today()\n",
            fix="from datetime import datetime as DT, timezone\nx = DT.now(timezone.utc)\n",

            unsafe=True,  # a public module-level name or a returned value: readers out of sight
        ),
        Example(
            "import datetime\nx = datetime.datetime.now(tz=None)\n",
            fix="import datetime\nx = datetime.datetime.now(tz=datetime.timezone.utc)\n",

            unsafe=True,  # a public module-level name or a returned value: readers out of sight
        ),
        Example(
            '"""Doc."""\nimport os\n\ndef f():\n    from datetime import datetime\n    return datetime.now()\n',
            fix='"""Doc."""\nimport os\nfrom datetime import timezone\n\ndef f():\n    from datetime import datetime\n    return datetime.now(timezone.utc)\n',

            unsafe=True,  # a public module-level name or a returned value: readers out of sight
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
        # the incident: the attribute is public, so other code may subtract it from a naive
        # value; making only this reading aware would raise TypeError there
        Example(
            "from datetime import datetime\nclass Lock:\n    def acquire(self):\n"
            "        self.lock_acquisition_time = datetime.now()\n"
            "    def held_for(self):\n        return datetime.now() - self.lock_acquisition_time\n",
            fix="from datetime import datetime, timezone\nclass Lock:\n    def acquire(self):\n"
            "        self.lock_acquisition_time = datetime.now(timezone.utc)\n"
            "    def held_for(self):\n        return datetime.now(timezone.utc) - self.lock_acquisition_time\n",
            unsafe=True,
            severity=Severity.WARNING,
        ),
        # benign shapes: reported, as warnings; every read is in sight, so the fix is safe
        Example(
            "import logging\nfrom datetime import datetime\nlog = logging.getLogger()\n"
            "def done():\n    log.info('done at %s', datetime.now())\n",
            fix="import logging\nfrom datetime import datetime, timezone\nlog = logging.getLogger()\n"
            "def done():\n    log.info('done at %s', datetime.now(timezone.utc))\n",
            severity=Severity.WARNING,
            exercise="done()\n",
        ),
        Example(
            "from datetime import datetime\ndef folder(pattern):\n"
            "    return datetime.now().strftime(pattern)\n",
            fix="from datetime import datetime, timezone\ndef folder(pattern):\n"
            "    return datetime.now(timezone.utc).strftime(pattern)\n",
            severity=Severity.WARNING,
            exercise="assert len(folder('%Y/%m/%d')) == 10\n",
        ),
        Example(
            "from datetime import datetime\nclass Lock:\n    def acquire(self):\n"
            "        self._acquired = datetime.now()\n    def held_for(self):\n"
            "        return (datetime.now() - self._acquired).total_seconds()\n",
            fix="from datetime import datetime, timezone\nclass Lock:\n    def acquire(self):\n"
            "        self._acquired = datetime.now(timezone.utc)\n    def held_for(self):\n"
            "        return (datetime.now(timezone.utc) - self._acquired).total_seconds()\n",
            severity=Severity.WARNING,
            exercise="lock = Lock()\nlock.acquire()\nassert lock.held_for() >= 0\n",
        ),
        Example(
            "from datetime import datetime, timedelta\ndef wait(poll, seconds):\n"
            "    deadline = datetime.now() + timedelta(seconds=seconds)\n"
            "    while datetime.now() < deadline:\n        if poll():\n            return True\n"
            "    return False\n",
            fix="from datetime import datetime, timedelta, timezone\ndef wait(poll, seconds):\n"
            "    deadline = datetime.now(timezone.utc) + timedelta(seconds=seconds)\n"
            "    while datetime.now(timezone.utc) < deadline:\n        if poll():\n            return True\n"
            "    return False\n",
            severity=Severity.WARNING,
            exercise="assert wait(lambda: True, 1)\nassert not wait(lambda: False, 0.01)\n",
        ),
        Example(
            "import logging\nfrom datetime import datetime\nlog = logging.getLogger()\n"
            "def progress(start_time, done, total):\n    elapsed = datetime.now() - start_time\n"
            "    log.info('%d/%d in %s', done, total, elapsed)\n",
            severity=Severity.WARNING,
        ),
        # the naive reading chosen only when the other value is naive too (radicale)
        Example(
            "from datetime import datetime, timedelta\ndef past(event_end):\n"
            "    now = datetime.now(event_end.tzinfo) if event_end.tzinfo else datetime.now()\n"
            "    return event_end < now - timedelta(minutes=1)\n",
            severity=Severity.WARNING,
        ),
        Example(
            "from datetime import datetime\n_STARTED = datetime.now()\ndef uptime():\n"
            "    return datetime.now() - _STARTED\n",
            fix="from datetime import datetime, timezone\n_STARTED = datetime.now(timezone.utc)\n"
            "def uptime():\n    return datetime.now(timezone.utc) - _STARTED\n",
            severity=Severity.WARNING,
            exercise="assert uptime().total_seconds() >= 0\n",
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
        self._safety = FixSafety(ctx, timestamp_same=True)

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
                safe=False,  # settled in `finish`, once every read of the value is known
                imports=imports,
            ),
            severity=None if use.risky else Severity.WARNING,
        )
        self._safety.track(node, self.ctx.pending[-1])

    def finish(self) -> None:
        self._safety.settle()
