from __future__ import annotations

import libcst as cst

from rules.analysis.naive_uses import NaiveUses
from rules.analysis.syntax import argument, string_value
from rules.analysis.time import DATETIME, made_aware
from rules.model import Severity
from rules.rule import Context, Example, Rule

_NAME = f"{DATETIME}.strptime"


def _directives(fmt: str) -> tuple[set[str], str]:
    """The directive letters of a format, and its literal text (`%%` is a literal `%`)."""
    letters: set[str] = set()
    text: list[str] = []
    i = 0
    while i < len(fmt):
        if fmt[i] == "%" and i + 1 < len(fmt):
            if fmt[i + 1] == "%":
                text.append("%")
            else:
                letters.add(fmt[i + 1])
            i += 2
        else:
            text.append(fmt[i])
            i += 1
    return letters, "".join(text)


def _parses_offset(fmt: str) -> bool:
    """The format has a `%z` directive (`%%z` is a literal percent sign followed by `z`)."""
    return "z" in _directives(fmt)[0]


_HOUR = frozenset("HIXc")
_DATE = frozenset("YymdjbBxcGUWV")


def _labelled_utc(fmt: str) -> bool:
    """The text names UTC: a literal `Z` (`...%SZ`), `UTC`/`GMT` in the text, or `%Z`,
    which `strptime` accepts only for UTC, GMT and the server's own zone names."""
    letters, text = _directives(fmt)
    return "Z" in letters or "Z" in text or "UTC" in text or "GMT" in text


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
    `datetime.strptime(s, fmt)` with a literal format without `%z`, unless a zone is
    attached right away. An error where the value is used as an instant; a warning for a
    date-only or time-only format, for text labelled UTC (`...Z`, `UTC`, `%Z`), and where
    the zone cannot change the answer.

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

    DETAILS = """
    `datetime.strptime(s, fmt)` where `fmt` is a literal without the `%z` directive, unless
    the result is directly given a zone with `.replace(tzinfo=<not None>)` or
    `.astimezone(...)` (other `.replace()` calls may come between). A format that is not a literal (a variable, a concatenation, an
    f-string with placeholders) is not flagged: it may contain `%z`; a module-level
    constant bound once to a literal (`_TIMESTAMP_FORMAT = "%Y%m%d %H:%M"`) counts as that
    literal. `%Z` alone does not
    count, since `strptime` accepts a zone name but still returns a naive value.
    Every such call is reported (as ruff's DTZ007 does); the finding is an error where the
    value is used as an instant: compared with or subtracted from something other than
    another naive value (a parameter, an attribute like `record.created_at`); stored under a
    key, attribute or keyword named like a point in time; passed to a call where it is
    made, or later to one that stores or sends; read with `.timestamp()`; or kept where its
    use cannot be seen. It is a warning in test code and where the zone cannot change an
    answer or the text states it:
    a format without an hour (`%Y-%m-%d`: a calendar date) or without a date (`%H:%M:%S`: a
    time of day), which only storage under a point-in-time name makes an error; a format
    whose text names UTC (a literal `Z`, `GMT`, `UTC`, or `%Z`), which gives a naive UTC
    value like `utcnow()`; a value given a zone later in the function
    (`default_timezone.convert(parsed)`); formatted or logged; compared only with other naive
    values; returned (a parser's result is as naive as its text: the caller's use decides).
    """

    VALID = [
        # a constant that is rebound, or a parameter of the same name, may hold `%z`
        "from datetime import datetime\nFMT = '%Y %H'\nFMT = load()\ndef f(s):\n"
        "    return datetime.strptime(s, FMT)\n",
        "from datetime import datetime\nFMT = '%Y %H'\ndef f(s, FMT):\n"
        "    return datetime.strptime(s, FMT)\n",
        "from datetime import datetime\nFMT = '%Y %H %z'\ndef f(row, s):\n"
        "    row['at'] = datetime.strptime(s, FMT)\n",
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
        "import datetime\nd = datetime.datetime.strptime(s, '%Y-%m-%d %H')\n",
        "import datetime as dt\nd = dt.datetime.strptime(s, '%Y-%m-%d %I %p')\n",
        "from datetime import datetime as DT\nd = DT.strptime(s, '%d/%m/%Y %H:%M')\n",
        "from datetime import datetime\nd = datetime.strptime(s, '%Y-%m-%d %H:%M:%S %%z')\n",
        "from datetime import datetime\nd = datetime.strptime(s, f'%Y-%m-%d %H')\n",
        "from datetime import datetime\nd = datetime.strptime(s, '%Y-%m-%d' '%H')\n",
        "from datetime import datetime\nd = datetime.strptime(s, '%Y %H').replace(tzinfo=None)\n",
        "from datetime import datetime\nd = datetime.strptime(s, '%c').replace(month=1)\n",
        "from datetime import datetime\ndef newer(mdtm, mtime):\n"
        "    return datetime.strptime(mdtm, '%Y%m%d%H%M%S') > mtime\n",
        "from datetime import datetime\ndef load(row, text):\n"
        "    row['created_at'] = datetime.strptime(text, '%Y-%m-%d %H:%M')\n",
        # benign shapes: reported, as warnings
        Example("import datetime\nd = datetime.datetime.strptime(s, '%Y-%m-%d')\n", severity=Severity.WARNING),
        Example("from datetime import datetime\nd = datetime.strptime(s, '%Y').date()\n", severity=Severity.WARNING),
        Example(
            "from datetime import datetime\nd = datetime.strptime(s, '%Y-%m-%d %H:%M %Z')\n",
            severity=Severity.WARNING,
        ),
        Example(
            "from datetime import datetime\ndef expiry(text):\n"
            "    return datetime.strptime(text, '%Y-%m-%dT%H:%M:%SZ')\n",
            severity=Severity.WARNING,
        ),
        Example(
            "from datetime import datetime, timedelta\ndef ds_add(ds, days):\n"
            "    dt = datetime.strptime(ds, '%Y-%m-%d') + timedelta(days=days)\n"
            "    return dt.strftime('%Y-%m-%d')\n",
            severity=Severity.WARNING,
        ),
        Example(
            "from datetime import datetime\ndef clock(value):\n"
            "    return datetime.strptime(value, '%H:%M:%S')\n",
            severity=Severity.WARNING,
        ),
        Example(
            "from datetime import datetime\ndef parse(self, text, zone):\n"
            "    parsed = datetime.strptime(text, '%Y-%m-%d %H:%M:%S')\n"
            "    self.data = zone.localize(parsed)\n",
            severity=Severity.WARNING,
        ),
        Example(
            "def f(s):\n    import datetime\n    return datetime.datetime.strptime(s, '%Y %H')\n",
            severity=Severity.WARNING,
        ),
        # the format held by a module-level constant
        "from datetime import datetime\n_TIMESTAMP_FORMAT = '%Y%m%d %H:%M'\n"
        "def load(row, text):\n    row['created_at'] = datetime.strptime(text, _TIMESTAMP_FORMAT)\n",
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._uses = NaiveUses(ctx, returned=False, timestamp=True, local=False)
        self._constants: dict[str, str] | None = None

    def _constant(self, name: str) -> str | None:
        """The format held by a module-level constant (`_TIMESTAMP_FORMAT = "%Y%m%d"`): a
        name the module binds once, to a literal, and that is not rebound where it is read."""
        module = self.ctx.scope_of(self.ctx.module)
        if module is None or self.ctx.scope.lookup(name) is not module:
            return None
        if len(module.bindings.get(name, ())) != 1:
            return None
        if self._constants is None:
            self._constants = {}
            for statement in self.ctx.module.body:
                if not isinstance(statement, cst.SimpleStatementLine):
                    continue
                for small in statement.body:
                    if isinstance(small, cst.Assign) and len(small.targets) == 1:
                        target, value = small.targets[0].target, small.value
                    elif isinstance(small, cst.AnnAssign) and small.value is not None:
                        target, value = small.target, small.value
                    else:
                        continue
                    text = _literal_format(value)
                    if isinstance(target, cst.Name) and text is not None:
                        self._constants[target.value] = text
        return self._constants.get(name)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if not isinstance(func, cst.Attribute) or func.attr.value != "strptime":
            return
        fmt = argument(node, 1, None)
        if fmt is None:
            return
        text = _literal_format(fmt.value)
        if text is None and isinstance(fmt.value, cst.Name):
            text = self._constant(fmt.value.value)
        if text is None or _parses_offset(text):
            return
        if self.ctx.qualified_name(func) != _NAME:
            return
        if made_aware(self.ctx, node):
            return
        what = "`strptime()` with a format without `%z` returns a naive datetime"
        letters = _directives(text)[0]
        if _labelled_utc(text):
            risky, why = False, "text labelled UTC, a naive UTC value like `utcnow()` gives"
        else:
            calendar = not letters & _HOUR or not letters & _DATE
            use = self._uses.classify(node, calendar=calendar)
            risky, why = use.risky, use.why
        if risky:
            message = (
                f"{what} and here it is {why}; parse the offset with `%z` or add "
                "`.replace(tzinfo=<the text's zone>)`."
            )
        else:
            message = (
                f"{what}; here it is {why}, so only a warning: add "
                "`.replace(tzinfo=<the text's zone>)` wherever an instant is meant."
            )
        self.report(node, message, severity=None if risky else Severity.WARNING)
