from __future__ import annotations

import libcst as cst

from rules.analysis.fix_safety import FixSafety
from rules.analysis.naive_uses import NaiveUses
from rules.analysis.syntax import argument, chained_methods, is_none
from rules.analysis.time import DATETIME, utc_expression
from rules.model import Severity
from rules.rule import Context, Example, FixSpec, Rule

_NAME = f"{DATETIME}.fromtimestamp"


def _constant(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.UnaryOperation):
        return _constant(node.expression)
    return isinstance(node, (cst.Integer, cst.Float))


class NaiveFromtimestamp(Rule):
    """A timestamp turned into a naive server-local datetime.

    What it flags:
    `datetime.fromtimestamp(x)` without a time zone (also `tz=None`), however `datetime` was
    imported. An error where the value is used as an instant (compared with a stored time,
    stored, sent, returned, relabelled with `.replace(tzinfo=...)`); a warning where the
    server's zone cannot change the answer (logged, formatted, compared with another such
    value).

    Why it is risky:
    A Unix timestamp is an absolute instant; without `tz` it is converted to the server's
    local wall time and the zone is dropped, so the same record reads differently on every
    machine, and comparing it with an aware value raises. Bad:
    `created = datetime.fromtimestamp(row.created_ts)`, returned to callers or compared with
    a stored UTC value.

    How to fix:
    Pass the zone: `datetime.fromtimestamp(x, timezone.utc)`. Good:
    `created = datetime.fromtimestamp(row.created_ts, timezone.utc)`. The fix is unsafe
    unless every read of the value is in sight and works with an aware value.
    """

    code = "RG103"
    slug = "naive-fromtimestamp"
    severity = Severity.ERROR
    ruff_codes = ("DTZ006",)

    DETAILS = """
    `datetime.fromtimestamp(x)` without a time zone (also `tz=None`), however `datetime`
    was imported. A call directly followed by `.astimezone(...)` (possibly after
    `.replace()` calls that keep the zone out) converts the right instant and is not flagged;
    `.replace(tzinfo=...)` is flagged, since it labels the server-local fields with another
    zone. A call whose
    arguments include `*args` is flagged (the zone is practically never passed that way);
    one with `**kwargs` is not, since it may carry `tz`.
    Every such call is reported (as ruff's DTZ006 does); the finding is an error where the
    value is used as an instant: compared with or subtracted from something other than
    another naive value (`record.created_at`, a parameter); stored under a key, attribute or
    keyword named like a point in time; passed to a call where it is made, or later to one
    that stores or sends; returned; labelled with `.replace(tzinfo=...)`; or kept where its
    use cannot be seen. It is a warning in test code and where the
    server's zone cannot change an answer: formatted, printed or logged; only its calendar
    fields read; only compared with or subtracted from another naive value (the duration
    between two conversions); tested for equality (change detection against the previous
    reading of the same file); given a zone afterwards (`make_aware(...)`); relabelled and
    subtracted from an aware conversion of the same timestamp to learn the server's offset
    (`fromtimestamp(t).replace(tzinfo=utc) - fromtimestamp(t, utc)`); and a constant
    argument, `fromtimestamp(0)`, which is a "never" sentinel a few hours cannot move.

    The fix is safe, and offered as a suggestion on the pull request, only when every read
    of the value is in sight and works the same once it is aware: formatted, logged, read
    for its fields, `.timestamp()` (the same number), or compared with or subtracted from
    values this rule makes aware in the same run (`fromtimestamp(t1) - fromtimestamp(t0)`).
    Otherwise (returned, passed on, kept under a public name) it is unsafe.
    """

    VALID = [
        "from datetime import datetime, timezone\ndatetime.fromtimestamp(0, timezone.utc)\n",
        "import datetime\ndatetime.datetime.fromtimestamp(0, tz=datetime.timezone.utc)\n",
        "from datetime import datetime\nfrom zoneinfo import ZoneInfo\n"
        "datetime.fromtimestamp(0, ZoneInfo('Europe/Paris'))\n",
        "from datetime import datetime\ndatetime.fromtimestamp(0).astimezone()\n",
        "from datetime import datetime, timezone\n"
        "datetime.fromtimestamp(0).replace(microsecond=0).astimezone(timezone.utc)\n",
        "from datetime import datetime\ndatetime.fromtimestamp(**options)\n",
        "from datetime import datetime, timezone\ndatetime.fromtimestamp(*args, tz=timezone.utc)\n",
        "def f(datetime, ts):\n    return datetime.fromtimestamp(ts)\n",
        "import datetime as dt\ndef f(ts):\n    dt = load()\n    return dt.datetime.fromtimestamp(ts)\n",
        "import pendulum\npendulum.from_timestamp(0)\n",
        "import arrow\narrow.Arrow.fromtimestamp(0)\n",
        "from pandas import Timestamp as datetime\ndatetime.fromtimestamp(0)\n",
        # date.fromtimestamp is RG106's
        "import datetime\ndatetime.date.fromtimestamp(0)\n",
        "class datetime:\n    pass\ndatetime.fromtimestamp(0)\n",
    ]
    INVALID = [
        Example(
            "from datetime import datetime\nx = datetime.fromtimestamp(ts)\n",
            fix="from datetime import datetime, timezone\nx = datetime.fromtimestamp(ts, timezone.utc)\n",

            unsafe=True,  # a public module-level name: its readers are out of sight
        ),
        Example(
            "import datetime as dt\nx = dt.datetime.fromtimestamp(ts)\n",
            fix="import datetime as dt\nx = dt.datetime.fromtimestamp(ts, dt.timezone.utc)\n",

            unsafe=True,  # a public module-level name: its readers are out of sight
        ),
        Example(
            "from datetime import datetime as DT\nx = DT.fromtimestamp(ts, None)\n",
            fix="from datetime import datetime as DT, timezone\nx = DT.fromtimestamp(ts, timezone.utc)\n",

            unsafe=True,  # a public module-level name: its readers are out of sight
        ),
        Example(
            "import datetime\nx = datetime.datetime.fromtimestamp(ts, tz=None)\n",
            fix="import datetime\nx = datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc)\n",

            unsafe=True,  # a public module-level name: its readers are out of sight
        ),
        Example(
            "from datetime import datetime\nx = datetime.fromtimestamp(timestamp=ts)\n",
            fix="from datetime import datetime, timezone\n"
            "x = datetime.fromtimestamp(timestamp=ts, tz=timezone.utc)\n",

            unsafe=True,  # a public module-level name: its readers are out of sight
        ),
        Example(
            "from datetime import datetime, timezone\n"
            "x = datetime.fromtimestamp(ts).replace(tzinfo=None)\n",
            fix="from datetime import datetime, timezone\n"
            "x = datetime.fromtimestamp(ts, timezone.utc).replace(tzinfo=None)\n",
            unsafe=True,
        ),
        Example(
            "from datetime import datetime\ndef age(ts, now):\n    born = datetime.fromtimestamp(ts)\n"
            "    return now - born\n",
            fix="from datetime import datetime, timezone\ndef age(ts, now):\n"
            "    born = datetime.fromtimestamp(ts, timezone.utc)\n    return now - born\n",
            unsafe=True,
        ),
        Example("from datetime import datetime\nx = datetime.fromtimestamp(*args)\n"),
        "import datetime\ndef lastsave(response):\n    return datetime.datetime.fromtimestamp(int(response))\n",
        "from datetime import datetime\ndef stale(path, record):\n"
        "    return datetime.fromtimestamp(mtime(path)) < record.synced_at\n",
        # benign shapes: reported, as warnings
        Example(
            "import logging, os\nfrom datetime import datetime\nlog = logging.getLogger()\n"
            "def found(path):\n"
            "    stamp = datetime.fromtimestamp(os.path.getmtime(path)).strftime('%Y%m%d')\n"
            "    log.info('found %s modified %s', path, stamp)\n",
            fix="import logging, os\nfrom datetime import datetime, timezone\nlog = logging.getLogger()\n"
            "def found(path):\n"
            "    stamp = datetime.fromtimestamp(os.path.getmtime(path), timezone.utc).strftime('%Y%m%d')\n"
            "    log.info('found %s modified %s', path, stamp)\n",
            severity=Severity.WARNING,
            exercise="found(__import__('sys').executable)\n",
        ),
        Example(
            "import datetime\ndef utc_offset(tm):\n"
            "    return (datetime.datetime.fromtimestamp(tm).replace(tzinfo=datetime.timezone.utc)\n"
            "            - datetime.datetime.fromtimestamp(tm, datetime.timezone.utc)).total_seconds()\n",
            severity=Severity.WARNING,
        ),
        Example(
            "from datetime import datetime\ndef took(t0, t1):\n"
            "    return datetime.fromtimestamp(t1) - datetime.fromtimestamp(t0)\n",
            fix="from datetime import datetime, timezone\ndef took(t0, t1):\n"
            "    return datetime.fromtimestamp(t1, timezone.utc) - datetime.fromtimestamp(t0, timezone.utc)\n",
            severity=Severity.WARNING,
            exercise="assert took(10, 70).total_seconds() == 60\n",
        ),
        Example(
            "from datetime import datetime\nclass Manager:\n    def __init__(self):\n"
            "        self.last_refresh = datetime.fromtimestamp(0)\n",
            severity=Severity.WARNING,
        ),
        Example(
            "from datetime import datetime\nfrom django.utils import timezone\n"
            "def never():\n    return timezone.make_aware(datetime.fromtimestamp(ts))\n",
            severity=Severity.WARNING,
        ),
        # the local wall time labelled UTC: right only on a server that runs in UTC
        Example(
            "from datetime import datetime, timezone\ndef stamp(ts):\n"
            "    return datetime.fromtimestamp(ts).replace(tzinfo=timezone.utc)\n",
            fix="from datetime import datetime, timezone\ndef stamp(ts):\n"
            "    return datetime.fromtimestamp(ts, timezone.utc).replace(tzinfo=timezone.utc)\n",
            exercise="assert stamp(0).year == 1970 and stamp(0).tzinfo is not None\n",
        ),
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._safety = FixSafety(ctx, timestamp_same=True)
        self._uses = NaiveUses(ctx, returned=True, timestamp=False, local=True)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value != "fromtimestamp":
            return
        if self.ctx.qualified_name(func) != _NAME:
            return
        if any(arg.star == "**" for arg in node.args):
            return
        tz = argument(node, 1, "tz")
        if tz is not None and not is_none(tz.value):
            return
        if self._converted(node):
            return
        what = "`fromtimestamp()` without `tz` returns a naive server-local datetime"
        stamp = argument(node, 0, "timestamp")
        if stamp is not None and _constant(stamp.value):
            risky, why = False, "a constant instant, a sentinel a few hours cannot move"
        elif self._offset_probe(node):
            risky, why = False, "subtracted from an aware reading of the same instant to learn the server's offset"
        else:
            use = self._uses.classify(node)
            risky, why = use.risky, use.why
        if risky:
            message = f"{what} and here it is {why}; use `datetime.fromtimestamp(x, timezone.utc)`."
        else:
            message = (
                f"{what}; here it is {why}, so only a warning: use "
                "`datetime.fromtimestamp(x, timezone.utc)` wherever an instant is meant."
            )
        fix = self._fix(node, tz)
        self.report(node, message, fix, severity=None if risky else Severity.WARNING)
        if fix is not None:
            self._safety.track(node, self.ctx.pending[-1])

    def finish(self) -> None:
        self._safety.settle()

    def _offset_probe(self, node: cst.Call) -> bool:
        """`fromtimestamp(t).replace(tzinfo=utc) - fromtimestamp(t, utc)`: the local fields
        relabelled and compared with the same instant, on purpose, to get the UTC offset."""
        labelled: cst.CSTNode | None = None
        for method, call in chained_methods(self.ctx, node):
            if method == "replace" and argument(call, 7, "tzinfo") is not None:
                labelled = call
            break
        if labelled is None:
            return False
        chain = self.ctx.ancestors
        index = next((i for i in range(len(chain) - 1, -1, -1) if chain[i] is labelled), None)
        parent = chain[index - 1] if index else None
        if not isinstance(parent, cst.BinaryOperation) or not isinstance(parent.operator, cst.Subtract):
            return False
        other = parent.right if parent.left is labelled else parent.left
        return (
            isinstance(other, cst.Call)
            and self.ctx.qualified_name(other.func) == _NAME
            and bool(other.args) and bool(node.args)
            and other.args[0].value.deep_equals(node.args[0].value)
        )

    def _converted(self, node: cst.Call) -> bool:
        """`.astimezone()` follows, with only zone-keeping `.replace()` calls in between."""
        for method, call in chained_methods(self.ctx, node):
            if method == "astimezone":
                return True
            if method != "replace" or argument(call, 7, "tzinfo") is not None:
                return False
            if any(arg.star for arg in call.args):
                return False
        return False

    def _fix(self, node: cst.Call, tz: cst.Arg | None) -> FixSpec | None:
        if any(arg.star for arg in node.args) or not node.args:
            return None
        utc, imports = utc_expression(self.ctx)
        if tz is not None:
            args = [a if a is not tz else a.with_changes(value=utc) for a in node.args]
        else:
            last = node.args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
            keyword = cst.Name("tz") if last.keyword is not None else None
            extra = cst.Arg(utc, keyword=keyword) if keyword is None else cst.Arg(
                utc, keyword=keyword, equal=cst.AssignEqual(
                    whitespace_before=cst.SimpleWhitespace(""),
                    whitespace_after=cst.SimpleWhitespace(""),
                )
            )
            args = [*node.args[:-1], last, extra]
        return FixSpec(
            "Pass `timezone.utc`",
            ((node, node.with_changes(args=args)),),
            safe=False,  # settled in `finish`, once every read of the value is known
            imports=imports,
        )
