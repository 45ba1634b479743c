from __future__ import annotations

import libcst as cst

from rules.analysis.flow import local_flow, self_attribute, settle_kinds, unit_of
from rules.analysis.syntax import argument, iter_nodes, string_value
from rules.analysis.units import MILLIS, SECONDS, UNIT_NAMES, Units, mismatch, name_unit, slot_unit
from rules.model import Severity
from rules.rule import Context, Rule
from rules.scope import suite_statements

# Functions that take an amount or a point in time in seconds as their first argument.
_SECONDS_SINKS = frozenset({
    "time.sleep", "asyncio.sleep", "time.localtime", "time.gmtime", "time.ctime",
    "datetime.datetime.fromtimestamp", "datetime.datetime.utcfromtimestamp",
    "datetime.date.fromtimestamp", "threading.Timer", "socket.setdefaulttimeout",
})
_SINK_NAMES = frozenset(name.rpartition(".")[2] for name in _SECONDS_SINKS)
# pandas takes the unit as a keyword: `pd.to_datetime(x, unit="ms")`.
_PANDAS_UNITS = frozenset({"pandas.to_datetime", "pandas.Timestamp", "pandas.to_timedelta"})
_UNIT_KEYWORDS = {"s": SECONDS, "ms": MILLIS}
_SHOWN = 40


class TimeUnitMismatch(Rule):
    """Seconds and milliseconds mixed up: a number in one unit used as the other.

    What it flags:
    A value in milliseconds (`time.time() * 1000`, `time_ns() // 1_000_000`, `timeout_ms`,
    `"expiresAtMs"`) added to, subtracted from or compared with one in seconds (`time.time()`,
    `.timestamp()`, `delay_s`), passed where seconds are expected (`time.sleep`,
    `fromtimestamp`, `timedelta(seconds=...)`), or stored under a name of the other unit.

    Why it is risky:
    Nothing fails: the number is a thousand times off, so a cache entry never expires, a retry
    waits 17 minutes, a date lands in the year 50000. Bad: `time.sleep(retry_ms)`,
    `datetime.fromtimestamp(event["timestampMs"])`, `if time.time() > expires_ms:`.

    How to fix:
    Convert where the units meet, and name the unit. Good: `time.sleep(retry_ms / 1000)`,
    `datetime.fromtimestamp(event["timestampMs"] / 1000, timezone.utc)`,
    `if time.time() * 1000 > expires_ms:`.
    """

    code = "RG111"
    slug = "time-unit-mismatch"
    severity = Severity.ERROR

    DETAILS = """
    Modelled on Error Prone's `TimeUnitMismatch`. A number's unit is known from:
    the clock that made it (`time.time()`, `time.monotonic()`, `time.perf_counter()` in
    seconds, their `_ns` variants in nanoseconds, resolved through the file's imports);
    `.timestamp()` and `.total_seconds()` (seconds); the last word of the name that holds it,
    in snake_case or camelCase (`timeout_ms`, `expiresAtMs`, `retry_millis`, `delay_s`,
    `interval_seconds`; a lone `s` or `us` does not count, nor `_second`, an ordinal as
    often, nor a rate such as `bytes_per_second`); scaling by a power of ten (`* 1000`, `/ 1e3`, `// 10**6`,
    `* 0.001`); `int()`, `round()`, `math.floor()` and `+`/`-` with a number of no unit
    (`time.time() + 30`); and a local name all of whose assignments in its function agree
    (`now = time.time() * 1000`).

    Reported where seconds meet milliseconds: `+`, `-` and comparisons; an assignment,
    a keyword argument (`timedelta(seconds=...)`, `f(timeout_ms=...)`), a dict entry with a
    string key and a `return` from a function whose name announces the other unit; the first
    argument of `time.sleep`, `asyncio.sleep`, `datetime.fromtimestamp`,
    `datetime.utcfromtimestamp`, `date.fromtimestamp`, `time.localtime`/`gmtime`/`ctime`,
    `threading.Timer` and `socket.setdefaulttimeout` (seconds expected); and `unit="s"` or
    `unit="ms"` of `pandas.to_datetime`/`Timestamp`/`to_timedelta`.

    Positional arguments are matched with the parameter names of a function defined once at
    the top level of the same file, or of a method of the current class called on `self`
    (`self.wait(timeout_ms)` where `def wait(self, timeout_s)`); a decorator other than
    `staticmethod`/`classmethod` may change the signature, so such functions are skipped.

    Left alone: names ending `_at` (in code that keeps epoch milliseconds they hold
    milliseconds as often as seconds), units other than seconds and milliseconds (`_us`,
    `_ns` also mean other things), positional parameters of functions defined elsewhere, and numbers
    whose unit changes (`x /= 1000`). No fix is offered: which side is wrong is a judgement.
    """

    VALID = [
        "import time\ntime.sleep(retry_ms / 1000)\n",
        "import time\nnow_ms = int(time.time() * 1000)\n",
        "import time\ndef expired(expires_ms):\n    return time.time() * 1000 > expires_ms\n",
        "from datetime import datetime, timezone\n"
        "def when(event):\n    return datetime.fromtimestamp(event['timestampMs'] / 1000, timezone.utc)\n",
        "from datetime import timedelta\nttl = timedelta(milliseconds=ttl_ms)\n",
        "import time\nstart = time.monotonic()\nelapsed_ms = (time.monotonic() - start) * 1000\n",
        "import time\ndeadline_s = time.time() + timeout_ms / 1000.0\n",
        "import time\nnow_ms = time.time_ns() // 1_000_000\n",
        "import time\ndef wait(delay_seconds):\n    time.sleep(delay_seconds)\n",
        "from datetime import timedelta\ndef ttl(minutes_ms):\n    return timedelta(seconds=minutes_ms * 0.001)\n",
        # a rate is no amount of time
        "import time\nrequests_per_second = count / (time.time() - start)\nlimit_ms = 5\n"
        "x = requests_per_second + limit_ms\n",
        # `time` here is a local, not the module
        "def f(time, budget_ms):\n    return time.time() > budget_ms\n",
        "import pandas as pd\nstamps = pd.to_datetime(df['ts_ms'], unit='ms')\n",
        "import time\ntimeout_s = timeout_ms // 1000\ntime.sleep(timeout_s)\n",
        # the name is rebound to another unit: no single unit
        "import time\ndef f(ts):\n    now = time.time()\n    now = now * 1000\n    return now - ts_ms\n",
        "from datetime import datetime\nclass Job:\n"
        "    def age(self, now):\n        return now.timestamp() - self.created_at\n",
        # a decorator may change the signature; another object's method is not this class's
        "import functools\n@functools.lru_cache\ndef backoff(attempt_ms):\n    return attempt_ms\n"
        "def retry(delay_s):\n    return backoff(delay_s)\n",
        "class Client:\n    def wait(self, timeout_s):\n        pass\n"
        "    def call(self, other, timeout_ms):\n        other.wait(timeout_ms)\n",
    ]
    INVALID = [
        "import time\ndef retry(retry_ms):\n    time.sleep(retry_ms)\n",
        "from datetime import datetime\ndef when(event):\n"
        "    return datetime.fromtimestamp(event['timestampMs'])\n",
        "import time\ndef expired(expires_ms):\n    return time.time() > expires_ms\n",
        "import time\nnow_ms = time.time()\n",
        "from datetime import timedelta\ndef ttl(ttl_ms):\n    return timedelta(seconds=ttl_ms)\n",
        "import datetime as dt\ndef parse(msg):\n    return dt.datetime.utcfromtimestamp(msg.timestamp_ms)\n",
        "import time\ndef age_ms(created_s):\n    return time.time() * 1000 - created_s\n",
        "from time import time as now\ndef record():\n    return {'createdAtMs': now()}\n",
        "import time\ndef elapsed(start):\n    now = time.time() * 1000\n    return time.gmtime(now)\n",
        "import asyncio\nasync def backoff(self):\n    await asyncio.sleep(self.backoff_ms)\n",
        "import time\nclass Lease:\n    def renew(self, duration_s):\n"
        "        self.expires_ms = int(time.time() * 1000) + duration_s\n",
        "import time\ndef current_millis():\n    return int(time.time())\n",
        "from datetime import datetime, timezone\ndef stale(row, max_age_ms):\n"
        "    return datetime.now(timezone.utc).timestamp() - row.updated_s > max_age_ms\n",
        "import pandas as pd\nstamps = pd.to_datetime(df['created_ms'], unit='s')\n",
        "import time\ndef poll(timeout_ms):\n    deadline = time.monotonic() + timeout_ms\n"
        "    return deadline\n",
        "from datetime import timedelta\ndef window(cfg):\n    return timedelta(milliseconds=cfg.window_seconds)\n",
        "class Client:\n    def wait(self, timeout_s):\n        pass\n"
        "    def call(self, timeout_ms):\n        self.wait(timeout_ms)\n",
        "def backoff(attempt_ms):\n    return attempt_ms * 2\ndef retry(delay_s):\n    return backoff(delay_s)\n",
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.units = Units(ctx)
        self._settled: dict[cst.CSTNode, dict[str, str]] = {}
        self._defs: dict[tuple[cst.CSTNode | None, str], list[cst.FunctionDef]] | None = None

    # -- units, with the local names of the current unit settled when needed ------------------
    def _unit(self, node: cst.BaseExpression) -> int | None:
        unit = self.units.of(node)
        if unit is None and any(isinstance(n, cst.Name) for n in iter_nodes(node)):
            unit = self.units.of(node, self._names())
        return unit

    def _names(self) -> dict[str, str]:
        owner = unit_of(self.ctx)
        settled = self._settled.get(owner)
        if settled is None:
            flow = local_flow(owner, nested_bodies=False)

            def kind(value: cst.BaseExpression, names: dict[str, str]) -> str | None:
                unit = self.units.of(value, names)
                return None if unit is None else str(unit)

            settled = self._settled[owner] = settle_kinds(flow, kind)
        return settled

    def _show(self, node: cst.CSTNode) -> str:
        text = " ".join(self.ctx.module.code_for_node(node).split())
        return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."

    def _pair(self, node: cst.CSTNode, left: cst.BaseExpression, right: cst.BaseExpression, verb: str) -> bool:
        a, b = self.units.of(left), self.units.of(right)
        if a is None and b is None:
            return False
        if a is None or b is None:
            a, b = self._unit(left), self._unit(right)
        if not mismatch(a, b):
            return False
        assert a is not None and b is not None
        self.report(
            node,
            f"`{self._show(left)}` is in {UNIT_NAMES[a]} and `{self._show(right)}` in "
            f"{UNIT_NAMES[b]}: {verb} them mixes the units, a factor of 1000 off. Convert one "
            "side (`* 1000` or `/ 1000`).",
        )
        return True

    def _slot(
        self, node: cst.CSTNode, unit: int | None, where: str | cst.CSTNode, value: cst.BaseExpression
    ) -> None:
        """`where` says what expects `unit` ("{unit}" in it is replaced by the unit's name), or
        is the target named for it: its text is made only for a finding."""
        if unit is None:
            return
        got = self._unit(value)
        if mismatch(unit, got):
            assert got is not None
            if isinstance(where, cst.CSTNode):
                where = f"`{self._show(where)}` is named for {{unit}}"
            expects = where.replace("{unit}", UNIT_NAMES[unit])
            self.report(
                node,
                f"`{self._show(value)}` is in {UNIT_NAMES[got]} but {expects}: the value is a "
                "factor of 1000 off. Convert it, or rename.",
            )

    # -- where units meet ----------------------------------------------------------------------
    def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
        if isinstance(node.operator, (cst.Add, cst.Subtract)):
            verb = "adding" if isinstance(node.operator, cst.Add) else "subtracting"
            self._pair(node, node.left, node.right, verb)

    def visit_Comparison(self, node: cst.Comparison) -> None:
        left = node.left
        for target in node.comparisons:
            if self._pair(node, left, target.comparator, "comparing"):
                return
            left = target.comparator

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._slot(node, slot_unit(target.target), target.target, node.value)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        if node.value is not None:
            self._slot(node, slot_unit(node.target), node.target, node.value)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        if isinstance(node.operator, (cst.AddAssign, cst.SubtractAssign)):
            self._slot(node, slot_unit(node.target), node.target, node.value)

    def visit_DictElement(self, node: cst.DictElement) -> None:
        key = string_value(node.key)
        if key is not None:
            self._slot(node, name_unit(key), f"the key `{key[:_SHOWN]}` is named for {{unit}}", node.value)

    def visit_Return(self, node: cst.Return) -> None:
        function = self.ctx.enclosing_function()
        if isinstance(function, cst.FunctionDef) and node.value is not None:
            name = function.name.value
            self._slot(node, name_unit(name), f"`{name}()` is named for {{unit}}", node.value)

    def visit_Call(self, node: cst.Call) -> None:
        for arg in node.args:
            if arg.keyword is not None and not arg.star:
                unit = name_unit(arg.keyword.value)
                if unit is not None:
                    self._slot(arg, unit, f"`{arg.keyword.value}=` takes {{unit}}", arg.value)
        func = node.func
        parameters = self._parameters(func)
        if parameters:
            for arg, param in zip(_positional(node), parameters, strict=False):
                self._slot(arg, name_unit(param), f"the parameter `{param}` takes {{unit}}", arg.value)
        last = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
        if last in _SINK_NAMES:
            qualified = self.ctx.qualified_name(func)
            if qualified in _SECONDS_SINKS:
                first = node.args[0] if node.args else None
                if first is not None and first.keyword is None and not first.star:
                    self._slot(first, SECONDS, f"`{last}()` takes seconds", first.value)
        elif last in ("to_datetime", "Timestamp", "to_timedelta"):
            unit_arg = argument(node, None, "unit")
            text = string_value(unit_arg.value) if unit_arg is not None else None
            if text in _UNIT_KEYWORDS and node.args and self.ctx.qualified_name(func) in _PANDAS_UNITS:
                first = node.args[0]
                if first.keyword is None and not first.star:
                    self._slot(first, _UNIT_KEYWORDS[text], f'`unit="{text}"` reads it as {{unit}}', first.value)

    # -- the parameters of functions and methods defined in this file --------------------------
    def _parameters(self, func: cst.BaseExpression) -> list[str]:
        """The positional parameter names of the function `func` calls, when it is a plain
        function of this module or a method of the current class called on `self`, defined
        once and without decorators that may change its signature."""
        if isinstance(func, cst.Name):
            scope = self.ctx.scope.lookup(func.value)
            if scope is None or scope.parent is not None or len(scope.bindings[func.value]) != 1:
                return []
            key: tuple[cst.CSTNode | None, str] = (None, func.value)
        elif isinstance(func, cst.Attribute):
            owner = self_attribute(self.ctx, func)
            if owner is None:
                return []
            key = owner
        else:
            return []
        defs = self._definitions().get(key, [])
        if len(defs) != 1:
            return []
        definition = defs[0]
        names = [p.name.value for p in (*definition.params.posonly_params, *definition.params.params)]
        decorators = [d.decorator for d in definition.decorators]
        if key[0] is None:
            return [] if decorators else names
        if not decorators or (len(decorators) == 1 and _named(decorators[0], "classmethod")):
            return names[1:]
        return names if len(decorators) == 1 and _named(decorators[0], "staticmethod") else []

    def _definitions(self) -> dict[tuple[cst.CSTNode | None, str], list[cst.FunctionDef]]:
        if self._defs is None:
            self._defs = {}
            for statement in self.ctx.module.body:
                if isinstance(statement, cst.FunctionDef):
                    self._defs.setdefault((None, statement.name.value), []).append(statement)
                elif isinstance(statement, cst.ClassDef):
                    for inner in suite_statements(statement.body):
                        if isinstance(inner, cst.FunctionDef):
                            self._defs.setdefault((statement, inner.name.value), []).append(inner)
        return self._defs


def _positional(call: cst.Call) -> list[cst.Arg]:
    out = []
    for arg in call.args:
        if arg.keyword is not None or arg.star:
            break
        out.append(arg)
    return out


def _named(node: cst.BaseExpression, name: str) -> bool:
    return isinstance(node, cst.Name) and node.value == name
