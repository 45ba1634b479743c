from __future__ import annotations

import libcst as cst

from rules.helpers import DATETIME, argument, made_aware, string_value
from rules.model import Severity
from rules.rule import Rule

_NAME = f"{DATETIME}.strptime"


def _parses_offset(fmt: str) -> bool:
    """The format has a `%z` directive (`%%z` is a literal percent sign followed by `z`)."""
    i = 0
    while i < len(fmt) - 1:
        if fmt[i] == "%":
            if fmt[i + 1] == "z":
                return True
            i += 2
        else:
            i += 1
    return False


def _literal_format(node: cst.BaseExpression) -> str | None:
    """The text of a format known in full: a string literal, or an f-string without
    placeholders. Anything else may hold `%z` where the rule cannot see it."""
    value = string_value(node)
    if value is not None:
        return value
    if isinstance(node, cst.FormattedString) and all(
        isinstance(part, cst.FormattedStringText) for part in node.parts
    ):
        if "b" in node.prefix.lower():
            return None
        return "".join(part.value for part in node.parts if isinstance(part, cst.FormattedStringText))
    return None


class NaiveStrptime(Rule):
    """A datetime parsed from text without a UTC offset.

    What it flags:
    `datetime.strptime(s, fmt)` where `fmt` is a literal without the `%z` directive, unless
    the result is directly given a zone with `.replace(tzinfo=<not None>)` or
    `.astimezone(...)` (other `.replace()` calls may come between). A format that is not a literal (a variable, a concatenation, an
    f-string with placeholders) is not flagged: it may contain `%z`. `%Z` alone does not
    count, since `strptime` accepts a zone name but still returns a naive value.

    Why it is risky:
    Text without an offset gives a naive value whose zone is only assumed; compared with an
    aware value it raises, and stored next to UTC values it is silently shifted. Bad:
    `datetime.strptime(header, "%Y-%m-%d %H:%M:%S")`.

    How to fix:
    Parse the offset (`"%Y-%m-%dT%H:%M:%S%z"`), or state the zone the text is in. Good:
    `datetime.strptime(header, "%Y-%m-%d %H:%M:%S").replace(tzinfo=timezone.utc)`.
    """

    code = "RG105"
    slug = "naive-strptime"
    severity = Severity.ERROR
    ruff_codes = ("DTZ007",)

    VALID = [
        "from datetime import datetime\ndatetime.strptime(s, '%Y-%m-%dT%H:%M:%S%z')\n",
        "import datetime\ndatetime.datetime.strptime(s, '%Y-%m-%d' ' %H:%M%z')\n",
        "import datetime as dt\ndt.datetime.strptime(s, f'%Y-%m-%d %z')\n",
        "from datetime import datetime, timezone\n"
        "datetime.strptime(s, '%Y-%m-%d').replace(tzinfo=timezone.utc)\n",
        "from datetime import datetime, timezone\n"
        "datetime.strptime(s, '%Y-%m-%d').replace(microsecond=0).replace(tzinfo=timezone.utc)\n",
        "from datetime import datetime, timezone\ndatetime.strptime(s, '%Y').astimezone(timezone.utc)\n",
        "from datetime import datetime\ndatetime.strptime(s, FORMAT)\n",
        "from datetime import datetime\ndatetime.strptime(s, f'%Y-%m-%d{suffix}')\n",
        "from datetime import datetime\ndatetime.strptime(s, DATE + '%H')\n",
        "from datetime import datetime\ndatetime.strptime(*args)\n",
        "import time\ntime.strptime(s, '%Y-%m-%d')\n",
        "def f(datetime, s):\n    return datetime.strptime(s, '%Y')\n",
        "import datetime\ndef f(s):\n    datetime = parser()\n    return datetime.datetime.strptime(s, '%Y')\n",
        "from pendulum import datetime\ndatetime.strptime(s, '%Y')\n",
        "import arrow\narrow.Arrow.strptime(s, '%Y')\n",
        "import datetime\ndatetime.date.strptime(s, '%Y')\n",
    ]
    INVALID = [
        "from datetime import datetime\nd = datetime.strptime(s, '%Y-%m-%d %H:%M:%S')\n",
        "import datetime\nd = datetime.datetime.strptime(s, '%Y-%m-%d')\n",
        "import datetime as dt\nd = dt.datetime.strptime(s, '%Y-%m-%d')\n",
        "from datetime import datetime as DT\nd = DT.strptime(s, '%d/%m/%Y')\n",
        "from datetime import datetime\nd = datetime.strptime(s, '%Y-%m-%d %H:%M %Z')\n",
        "from datetime import datetime\nd = datetime.strptime(s, '%Y-%m-%d %%z')\n",
        "from datetime import datetime\nd = datetime.strptime(s, f'%Y-%m-%d')\n",
        "from datetime import datetime\nd = datetime.strptime(s, '%Y-%m-%d' '%H')\n",
        "from datetime import datetime\nd = datetime.strptime(s, '%Y').replace(tzinfo=None)\n",
        "from datetime import datetime\nd = datetime.strptime(s, '%Y').replace(month=1)\n",
        "from datetime import datetime\nd = datetime.strptime(s, '%Y').date()\n",
        "def f(s):\n    import datetime\n    return datetime.datetime.strptime(s, '%Y')\n",
    ]

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value != "strptime":
            return
        fmt = argument(node, 1, None)
        if fmt is None:
            return
        text = _literal_format(fmt.value)
        if text is None or _parses_offset(text):
            return
        if self.ctx.qualified_name(func) != _NAME:
            return
        if made_aware(self.ctx, node):
            return
        self.report(
            node,
            "`strptime()` with a format without `%z` returns a naive datetime; parse the "
            "offset with `%z` or add `.replace(tzinfo=<the text's zone>)`.",
        )
