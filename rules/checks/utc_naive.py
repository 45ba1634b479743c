from __future__ import annotations

import libcst as cst

from rules.engine import Context
from rules.helpers import (
    DATETIME,
    chained_methods,
    made_aware,
    naive_value_relied_on,
    utc_expression,
)
from rules.model import Severity
from rules.rule import Example, FixSpec, Rule

_METHODS = ("utcnow", "utcfromtimestamp")


class UtcNaive(Rule):
    """A naive datetime that only looks like UTC: `utcnow()` / `utcfromtimestamp()`.

    What it flags:
    `datetime.utcnow()` and `datetime.utcfromtimestamp(x)`, however `datetime` was imported,
    and the methods passed uncalled as an argument, to be called later
    (`Column(DateTime, default=datetime.utcnow)`, `field(default_factory=datetime.utcnow)`).
    Both are flagged even when followed by `.replace(tzinfo=...)` or `.astimezone()`: the
    methods are deprecated since Python 3.12, and `utcnow().astimezone()` reads the UTC wall
    time as server-local time, which is wrong on every server that does not run in UTC.

    Why it is risky:
    The value carries UTC wall-clock fields but no zone, so every library (and
    `.timestamp()`, `.astimezone()`) takes it for server-local time. Bad:
    `expires = datetime.utcnow() + ttl` then `expires.timestamp()` is off by the
    server's offset.

    How to fix:
    Ask for an aware UTC value: `datetime.now(timezone.utc)` and
    `datetime.fromtimestamp(x, timezone.utc)`. Good: `expires = datetime.now(timezone.utc) + ttl`.
    The fix is marked unsafe where the value is compared, subtracted or formatted nearby,
    since naive and aware values do not mix.
    """

    code = "RG102"
    slug = "utc-naive"
    severity = Severity.ERROR
    ruff_codes = ("DTZ003", "DTZ004")

    VALID = [
        "from datetime import datetime, timezone\ndatetime.now(timezone.utc)\n",
        "import datetime\ndatetime.datetime.fromtimestamp(0, datetime.timezone.utc)\n",
        "def f(datetime):\n    return datetime.utcnow()\n",
        "import datetime\ndef f():\n    datetime = load()\n    return datetime.datetime.utcnow()\n",
        "from datetime import datetime\nclass C:\n    def utcnow(self):\n        return self.utcnow()\n",
        "import pendulum\npendulum.utcnow()\n",
        "import arrow\narrow.utcnow()\n",
        "from arrow import Arrow\nArrow.utcfromtimestamp(0)\n",
        "class datetime:\n    @staticmethod\n    def utcnow():\n        return 0\ndatetime.utcnow()\n",
        "import time\ntime.gmtime()\n",
        "from datetime import datetime, timezone\n"
        "created = Column(DateTime(timezone=True), default=lambda: datetime.now(timezone.utc))\n",
        "import arrow\nfield(default_factory=arrow.utcnow)\n",
        "from datetime import datetime\ndef f():\n    for datetime in ():\n        pass\n    datetime.utcnow()\n",
    ]
    INVALID = [
        Example(
            "from datetime import datetime\nx = datetime.utcnow()\n",
            fix="from datetime import datetime, timezone\nx = datetime.now(timezone.utc)\n",
        ),
        Example(
            "import datetime as dt\nx = dt.datetime.utcfromtimestamp(ts)\n",
            fix="import datetime as dt\nx = dt.datetime.fromtimestamp(ts, dt.timezone.utc)\n",
        ),
        Example(
            "from datetime import datetime as DT\nx = DT.utcnow()\n",
            fix="from datetime import datetime as DT, timezone\nx = DT.now(timezone.utc)\n",
        ),
        Example(
            "import datetime\nx = datetime.datetime.utcnow()\n",
            fix="import datetime\nx = datetime.datetime.now(datetime.timezone.utc)\n",
        ),
        Example(
            "def f(ts):\n    import datetime\n    return datetime.datetime.utcfromtimestamp(ts)\n",
            fix="from datetime import timezone\ndef f(ts):\n    import datetime\n"
            "    return datetime.datetime.fromtimestamp(ts, timezone.utc)\n",
        ),
        Example(
            "from datetime import datetime, timezone\n"
            "x = datetime.utcnow().replace(tzinfo=timezone.utc)\n",
            fix="from datetime import datetime, timezone\n"
            "x = datetime.now(timezone.utc).replace(tzinfo=timezone.utc)\n",
        ),
        # `utcnow().astimezone()` takes the UTC fields for local time: the fix corrects it.
        Example(
            "from datetime import datetime\nx = datetime.utcnow().astimezone()\n",
            fix="from datetime import datetime, timezone\nx = datetime.now(timezone.utc).astimezone()\n",
        ),
        Example(
            "from datetime import datetime\ndef expired(t):\n    now = datetime.utcnow()\n    return now > t\n",
            fix="from datetime import datetime, timezone\ndef expired(t):\n"
            "    now = datetime.now(timezone.utc)\n    return now > t\n",
            unsafe=True,
        ),
        Example(
            "from datetime import datetime\nstamp = datetime.utcnow().isoformat()\n",
            fix="from datetime import datetime, timezone\nstamp = datetime.now(timezone.utc).isoformat()\n",
            unsafe=True,
        ),
        Example(
            "from datetime import datetime\nclass Clock:\n    def now(self):\n        return datetime.utcfromtimestamp(self.ts)\n",
            fix="from datetime import datetime, timezone\nclass Clock:\n    def now(self):\n"
            "        return datetime.fromtimestamp(self.ts, timezone.utc)\n",
        ),
        # no rewrite for a call whose arguments cannot be read
        Example("import datetime\ndatetime.datetime.utcfromtimestamp(*args)\n"),
        Example(
            "from datetime import datetime\ncreated = Column(DateTime, default=datetime.utcnow)\n",
            fix="from datetime import datetime, timezone\n"
            "created = Column(DateTime, default=lambda: datetime.now(timezone.utc))\n",
            unsafe=True,
        ),
        "import datetime as dt\nstamps = list(map(dt.datetime.utcfromtimestamp, seconds))\n",
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._compared: dict[cst.CSTNode, frozenset[str]] = {}

    def visit_Attribute(self, node: cst.Attribute) -> None:
        """The method handed over to be called later: the same naive value, produced later."""
        if node.attr.value not in _METHODS or not isinstance(self.ctx.parent, cst.Arg):
            return
        method = node.attr.value
        if self.ctx.qualified_name(node) != f"{DATETIME}.{method}":
            return
        fix = None
        if method == "utcnow":
            utc, imports = utc_expression(self.ctx)
            now = cst.Call(node.with_changes(attr=cst.Name("now")), [cst.Arg(utc)])
            # unsafe: a column or field declared naive may store an aware value differently
            fix = FixSpec(
                "Pass `lambda: datetime.now(timezone.utc)`",
                ((node, cst.Lambda(cst.Parameters(), now)),),
                safe=False,
                imports=imports,
            )
        self.report(
            node,
            f"`{method}` is called later and returns a naive datetime holding UTC fields; pass "
            "a callable returning an aware value, e.g. `lambda: datetime.now(timezone.utc)`.",
            fix,
        )

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value not in _METHODS:
            return
        method = func.attr.value
        if self.ctx.qualified_name(func) != f"{DATETIME}.{method}":
            return
        utc, imports = utc_expression(self.ctx)
        if method == "utcnow":
            new = None if node.args else node.with_changes(
                func=func.with_changes(attr=cst.Name("now")), args=[cst.Arg(utc)]
            )
            instead = "datetime.now(timezone.utc)"
        else:
            only = node.args[0] if len(node.args) == 1 else None
            plain = only is not None and only.keyword is None and not only.star
            new = (
                node.with_changes(
                    func=func.with_changes(attr=cst.Name("fromtimestamp")),
                    args=[only.with_changes(comma=cst.MaybeSentinel.DEFAULT), cst.Arg(utc)],
                )
                if plain and only is not None
                else None
            )
            instead = "datetime.fromtimestamp(x, timezone.utc)"
        first = next(chained_methods(self.ctx, node), None)
        if first is not None and first[0] == "replace" and made_aware(self.ctx, node):
            message = (
                f"`{method}()` is deprecated since Python 3.12 and builds a naive value first; "
                f"use `{instead}`."
            )
        else:
            message = (
                f"`{method}()` returns a naive datetime holding UTC fields, which every library "
                f"takes for server-local time; use `{instead}`."
            )
        fix = None
        if new is not None:
            fix = FixSpec(
                f"Use `{instead}`",
                ((node, new),),
                safe=not naive_value_relied_on(self.ctx, node, self._compared),
                imports=imports,
            )
        self.report(node, message, fix)
