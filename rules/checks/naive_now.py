from __future__ import annotations

import libcst as cst

from rules.helpers import DATETIME, argument, chained_call, is_none, iter_nodes, utc_expression
from rules.model import Severity
from rules.rule import Example, FixSpec, Rule

_CALLS = {f"{DATETIME}.now", f"{DATETIME}.today"}


class NaiveNow(Rule):
    """The current time as a naive datetime.

    What it flags:
    `datetime.now()` and `datetime.today()` without a time zone (also `now(tz=None)`),
    however `datetime` was imported. A call directly followed by `.astimezone()` is aware
    and not flagged.

    Why it is risky:
    A naive value is whatever the server's clock reads in the server's zone. Compared with
    stored UTC timestamps it shifts every age by the server's offset, and comparing it with
    an aware value raises at run time. Bad: `age = datetime.now() - record.created_at`.

    How to fix:
    Ask for an aware value: `datetime.now(timezone.utc)`. Good:
    `age = datetime.now(timezone.utc) - record.created_at`.
    """

    code = "RG101"
    slug = "naive-now"
    severity = Severity.ERROR
    ruff_codes = ("DTZ005", "DTZ002")

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
            "from datetime import datetime\ndef f(t):\n    now = datetime.now()\n    return now > t\n",
            fix="from datetime import datetime, timezone\ndef f(t):\n    now = datetime.now(timezone.utc)\n    return now > t\n",
            unsafe=True,
        ),
    ]

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
        chained = chained_call(self.ctx, node)
        if chained and chained[0] == "astimezone":
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
        self.report(
            node,
            f"`{func.attr.value}()` returns a naive datetime (server-local, no zone); "
            "use `datetime.now(timezone.utc)`.",
            FixSpec(
                "Use an aware UTC now",
                ((node, new),),
                safe=not self._compared(node),
                imports=imports,
            ),
        )

    def _compared(self, node: cst.Call) -> bool:
        """Naive and aware values raise when compared: the fix is unsafe if this value is."""
        parent = self.ctx.parent
        names: set[str] = set()
        if isinstance(parent, (cst.Comparison, cst.ComparisonTarget, cst.BinaryOperation)):
            return True
        if isinstance(parent, cst.AssignTarget) or isinstance(parent, cst.Assign):
            assign = parent
            names = {t.target.value for t in assign.targets if isinstance(t.target, cst.Name)}  # type: ignore[union-attr]
        if not names:
            return False
        body = self.ctx.enclosing_function() or self.ctx.module
        for inner in iter_nodes(body):
            operands: list[cst.BaseExpression] = []
            if isinstance(inner, cst.Comparison):
                operands = [inner.left, *(c.comparator for c in inner.comparisons)]
            elif isinstance(inner, cst.BinaryOperation) and isinstance(inner.operator, cst.Subtract):
                operands = [inner.left, inner.right]
            if any(isinstance(o, cst.Name) and o.value in names for o in operands):
                return True
        return False
