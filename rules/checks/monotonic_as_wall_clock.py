from __future__ import annotations

import libcst as cst

from rules.engine import Context
from rules.helpers import argument, local_flow, string_value, unit_of
from rules.model import Severity
from rules.rule import Rule

# Clocks that count from an arbitrary origin (boot, process start): good for durations only.
MONOTONIC = frozenset(
    f"time.{name}{suffix}"
    for name in ("monotonic", "perf_counter", "process_time", "thread_time")
    for suffix in ("", "_ns")
)
# Calls whose value is a point in real time (epoch seconds or a datetime).
WALL = frozenset(
    {
        "time.time", "time.time_ns", "time.mktime", "calendar.timegm",
        "datetime.datetime", "datetime.date",
        *(f"datetime.datetime.{m}" for m in (
            "now", "utcnow", "today", "fromtimestamp", "utcfromtimestamp", "fromisoformat",
            "strptime", "combine", "fromordinal",
        )),
        *(f"datetime.date.{m}" for m in ("today", "fromtimestamp", "fromisoformat", "fromordinal")),
        "django.utils.timezone.now",
    }
)
# Calls that read their first argument as epoch seconds.
EPOCH_READERS = frozenset(
    {
        "datetime.datetime.fromtimestamp", "datetime.datetime.utcfromtimestamp",
        "datetime.date.fromtimestamp", "time.localtime", "time.gmtime", "time.ctime",
    }
)
_PASS_THROUGH = frozenset({"builtins.int", "builtins.float", "builtins.round"})
_DICT = "builtins.dict"
_RECORDED = MONOTONIC | WALL | EPOCH_READERS | _PASS_THROUGH | {_DICT}
# Last components worth resolving when the callee is an attribute (`time.monotonic`).
_ATTRS = frozenset(q.rpartition(".")[2] for q in _RECORDED)

_WALL = "wall"
_OFFSET = "offset"  # `time.time() - time.monotonic()`: the epoch of the monotonic clock
_POINTS = MONOTONIC | {_WALL}
_MAX_DEPTH = 40
_VALUE_COMPARISONS = (
    cst.LessThan, cst.LessThanEqual, cst.GreaterThan, cst.GreaterThanEqual, cst.Equal, cst.NotEqual,
)


def realtime_name(name: str) -> bool:
    """A key or attribute name that announces a point in real time (issue table, RG107 (b))."""
    if name.endswith("At"):  # createdAt, lastSeenAt
        return True
    low = name.lower().lstrip("_")
    return (
        low.endswith("_at")
        or low.startswith(("created", "updated", "modified", "date", "expires"))
        or low in ("timestamp", "ts", "time")
    )


def _private_self(node: cst.Attribute) -> bool:
    return (
        isinstance(node.value, cst.Name)
        and node.value.value in ("self", "cls")
        and node.attr.value.startswith("_")
    )


def storage_name(target: cst.BaseExpression) -> str | None:
    """The real-time name a value is stored under by this target, if any."""
    if isinstance(target, cst.Attribute):
        if not _private_self(target) and realtime_name(target.attr.value):
            return target.attr.value
        return None
    if isinstance(target, cst.Subscript) and len(target.slice) == 1:
        index = target.slice[0].slice
        if isinstance(index, cst.Index):
            key = string_value(index.value)
            if key is not None and realtime_name(key):
                return key
    return None


def _constant(node: cst.BaseExpression) -> bool:
    """A literal or UPPER_CASE duration, as in `time.monotonic() - 30`."""
    if isinstance(node, (cst.Integer, cst.Float)):
        return True
    if isinstance(node, cst.UnaryOperation):
        return _constant(node.expression)
    if isinstance(node, cst.BinaryOperation):
        return _constant(node.left) and _constant(node.right)
    return isinstance(node, cst.Name) and node.value.isupper()


def _short(qualified: str) -> str:
    return qualified.rpartition(".")[2] + "()"


class MonotonicAsWallClock(Rule):
    """A monotonic-clock reading used as a point in real time.

    What it flags:
    A value of `time.monotonic()`, `perf_counter()`, `process_time()` or `thread_time()`
    (and their `_ns` forms), used directly or through a local name of the same function, that
    (a) is compared with, or added to or subtracted from, a wall-clock value: `time.time()`, a
    datetime, `.timestamp()`, or an attribute or key named like a point in real time;
    (b) is stored under a key or attribute named like a point in real time (`*_at`,
    `created*`, `updated*`, `modified*`, `date*`, `expires*`, `timestamp`, `ts`, `time`);
    private attributes of `self` are exempt, they are the usual home of a monotonic deadline;
    or (c) is passed to `datetime.fromtimestamp()`, `time.localtime()`, `time.gmtime()` or
    `time.ctime()`.
    Durations and deadlines among monotonic values are fine, and so is the difference of a
    monotonic reading and anything else (`now - self._last` is almost always a duration).
    Names are followed only inside one function and only when every assignment gives the
    same kind of value; a value passed through a parameter, an attribute or another function
    is not followed. `time.time() - time.monotonic()` (both read right there) is the offset
    between the two clocks, the sanctioned way to convert, and is not flagged.

    Why it is risky:
    A monotonic clock counts seconds from an arbitrary origin, usually the machine's boot, not
    from the epoch. Stored as a creation time, compared with a stored timestamp or turned into
    a date, it makes every record look decades old (or brand new), and decisions based on age
    go silently wrong: the incident class of "computer time" used as real-world time.
    Bad: `record["created_at"] = time.monotonic()`, `if time.monotonic() > row.expires_at:`.

    How to fix:
    Use the wall clock for points in real time (`time.time()`, or better
    `datetime.now(timezone.utc)`), and keep the monotonic clock for measuring durations
    between two monotonic readings. Good: `record["created_at"] = time.time()`;
    `elapsed = time.monotonic() - start`.
    """

    code = "RG107"
    slug = "monotonic-as-wall-clock"
    severity = Severity.ERROR

    VALID = [
        "import time\nstart = time.monotonic()\nwork()\nelapsed = time.monotonic() - start\n",
        "import time\ndef wait(timeout):\n    deadline = time.monotonic() + timeout\n"
        "    while time.monotonic() < deadline:\n        poll()\n",
        "import time\nclass Limiter:\n    def allow(self):\n        now = time.monotonic()\n"
        "        if now - self._last < self.interval:\n            return False\n"
        "        self._last = now\n        return True\n",
        "import time\nclass Cache:\n    def put(self, key, value, ttl):\n"
        "        self._expires = time.monotonic() + ttl\n"
        "        self._entries[key] = (value, time.monotonic() + ttl)\n",
        "import time\nclass Cache:\n    def fresh(self):\n        return time.monotonic() < self._expires_at\n",
        "import logging, time\nlog = logging.getLogger(__name__)\ndef run(job):\n"
        "    t0 = time.perf_counter()\n    job()\n"
        '    log.info("took %.3f s", time.perf_counter() - t0)\n',
        "import time\ndef bench(fn):\n    t0 = time.perf_counter_ns()\n    fn()\n"
        '    result = {"name": fn.__name__, "time": time.perf_counter_ns() - t0}\n    return result\n',
        "import time\ndef stats(rec, start):\n    rec['duration'] = time.monotonic() - start\n",
        "import time\nclass Throttle:\n    def hit(self):\n        self._last = time.monotonic()\n",
        "import time\ndef retry(fn, timeout):\n    deadline = time.monotonic() + timeout\n"
        "    while True:\n        try:\n            return fn()\n        except OSError:\n"
        "            if time.monotonic() > deadline:\n                raise\n"
        "            time.sleep(min(1.0, deadline - time.monotonic()))\n",
        "import time\nfrom datetime import datetime, timezone\ndef show():\n"
        "    return datetime.fromtimestamp(time.time(), timezone.utc)\n",
        "import time\ndef lease(row, ttl):\n    row.expires_at = time.time() + ttl\n",
        "import time\ndef stamp(rec):\n    rec['created_at'] = time.time()\n",
        "from datetime import datetime, timezone\ndef stamp(rec):\n"
        "    rec.created_at = datetime.now(timezone.utc)\n",
        "import time\ndef f(ts):\n    return time.time() - ts\n",
        # converting through the offset between the clocks is the right way to do it
        "import time\nfrom datetime import datetime\ndef wall():\n    t0 = time.monotonic()\n"
        "    offset = time.time() - time.monotonic()\n    return datetime.fromtimestamp(offset + t0)\n",
        "import time\ndef started(t0):\n    return time.time() - (time.monotonic() - t0)\n",
        # a local name shadows the module
        "def f(time, rec):\n    rec['created_at'] = time.monotonic()\n",
        "import time\ndef f(rec):\n    time = clock()\n    rec['created_at'] = time.monotonic()\n",
        "from mylib import monotonic\ndef f(rec):\n    rec['created_at'] = monotonic()\n",
        # a name that holds different kinds of value is not followed
        "import time\ndef f(rec, fast):\n    t = time.monotonic() if fast else 0\n    if fast:\n"
        "        t = time.time()\n    rec['ts'] = t\n",
        "import time\ndef f(rec):\n    t = time.monotonic()\n    t = time.time()\n    rec['ts'] = t\n",
        # a parameter is not followed into the caller
        "import time\ndef f(rec, t=None):\n    rec['updated_at'] = t\n",
        "import time\nimport asyncio\nasync def f(loop, rec):\n    rec['ts'] = loop.time()\n",
        "import time\ndef f(sched):\n    sched.enterabs(time.monotonic() + 5, 1, print)\n",
        "import time\ndef f(m):\n    m.deadline = time.monotonic() + 5\n    m.started = time.monotonic()\n",
        "import time\ndef g():\n    start = time.monotonic()\n"
        "    def inner(rec, start):\n        rec['created_at'] = start\n    return inner\n",
    ]
    INVALID = [
        "import time\ndef save(record):\n    record['created_at'] = time.monotonic()\n",
        "import time\nrecord = {}\nrecord['timestamp'] = time.perf_counter()\n",
        "from time import monotonic as mono\ndef save(obj):\n    obj.updated_at = mono()\n",
        "import time as t\ndef save(obj):\n    now = t.monotonic()\n    obj.modified = now\n",
        "def save(obj):\n    import time\n    obj.expires = time.monotonic() + 3600\n",
        "import time\ndef row(name):\n    return {'name': name, 'createdAt': time.monotonic_ns()}\n",
        "import time\ndef row(name):\n    return dict(name=name, ts=int(time.monotonic()))\n",
        "import time\nfrom datetime import datetime\nprint(datetime.fromtimestamp(time.monotonic()))\n",
        "import time\ndef show(t0):\n    start = time.perf_counter()\n    return time.ctime(start)\n",
        "import time\ndef expired(row):\n    if time.monotonic() > row.expires_at:\n"
        "        return True\n    return False\n",
        "import time\ndef age(row):\n    now = time.monotonic()\n    return now - row['created_at']\n",
        "import time\ndef wait():\n    start = time.monotonic()\n    work()\n    return time.time() - start\n",
        "import time\nfrom datetime import datetime, timezone\ndef f(dt):\n"
        "    return time.monotonic() < dt.timestamp()\n",
        "import time\ndef move(rows):\n    cutoff = time.monotonic() - 86400\n"
        "    return [r for r in rows if r.created_at < cutoff]\n",
        "import time\nclass Entry:\n    def __init__(self):\n        self.created_at = time.monotonic()\n",
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._calls: dict[cst.Call, str] = {}
        self._units: set[cst.CSTNode] = set()

    # -- traversal: record the calls that matter, note the units holding a monotonic read ---
    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if type(func) is cst.Attribute:  # exact types: cheaper than isinstance on libcst's ABCs
            if func.attr.value not in _ATTRS:
                return
        elif type(func) is not cst.Name:
            return
        name = self.ctx.qualified_name(func)
        if name is None or name not in _RECORDED:
            return
        self._calls[node] = name
        if name in MONOTONIC:
            self._units.add(unit_of(self.ctx))

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node in self._units:
            self._analyse(node)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        if node in self._units:
            self._analyse(node)

    def finish(self) -> None:
        if self.ctx.module in self._units:
            self._analyse(self.ctx.module)

    # -- the unit's data flow ---------------------------------------------------------------
    def _analyse(self, unit: cst.CSTNode) -> None:
        flow = local_flow(unit, nested_bodies=False)
        names: dict[str, str] = {}
        # Each name's kind is the one kind all its assignments give; iterate so that
        # `deadline = start + 5` learns from `start = time.monotonic()`.
        for _ in range(4):
            changed = False
            for name, values in flow.assigned.items():
                kinds = {self._kind(v, names, 0) if v is not None else None for v in values}
                kind = kinds.pop() if len(kinds) == 1 else None
                if kind is None:
                    if names.pop(name, None) is not None:
                        changed = True
                elif names.get(name) != kind:
                    names[name] = kind
                    changed = True
            if not changed:
                break
        for node in flow.nodes:
            if isinstance(node, cst.Comparison):
                self._check_comparison(node, names)
            elif isinstance(node, cst.BinaryOperation):
                self._check_arithmetic(node, names)
            elif isinstance(node, cst.Assign):
                for target in node.targets:
                    self._check_store(target.target, node.value, names)
            elif isinstance(node, cst.AnnAssign) and node.value is not None:
                self._check_store(node.target, node.value, names)
            elif isinstance(node, cst.DictElement):
                key = string_value(node.key)
                if key is not None and realtime_name(key):
                    self._report_store(key, node.value, names)
            elif isinstance(node, cst.Call):
                self._check_call(node, names)

    def _kind(self, node: cst.BaseExpression, names: dict[str, str], depth: int) -> str | None:
        """A monotonic source's name, `_WALL`, `_OFFSET`, or None (unknown or a duration)."""
        if depth > _MAX_DEPTH:
            return None
        if isinstance(node, cst.Name):
            return names.get(node.value)
        if isinstance(node, cst.Call):
            called = self._calls.get(node)
            if called is not None:
                if called in MONOTONIC:
                    return called
                if called in WALL:
                    return _WALL
                if called in _PASS_THROUGH and node.args and not node.args[0].star:
                    return self._kind(node.args[0].value, names, depth + 1)
                return None
            func = node.func
            if isinstance(func, cst.Attribute):
                if func.attr.value == "timestamp" and not node.args:
                    return _WALL
                if func.attr.value in ("replace", "astimezone"):
                    inner = self._kind(func.value, names, depth + 1)
                    return _WALL if inner == _WALL else None
            return None
        if isinstance(node, (cst.Attribute, cst.Subscript)):
            return _WALL if storage_name(node) is not None else None
        if isinstance(node, cst.BinaryOperation):
            left = self._kind(node.left, names, depth + 1)
            right = self._kind(node.right, names, depth + 1)
            op = node.operator
            if isinstance(op, cst.Add):
                if left == _OFFSET and right in MONOTONIC or right == _OFFSET and left in MONOTONIC:
                    return _WALL
                if left is None or right is None:
                    return left or right  # a point plus a duration is a point of the same clock
                return None
            if isinstance(op, cst.Subtract):
                if left == _WALL and right in MONOTONIC and self._offset_idiom(node):
                    return _OFFSET
                if right is None and left in _POINTS and _constant(node.right):
                    return left
                return None
            if isinstance(op, (cst.Multiply, cst.Divide, cst.FloorDivide)):
                if right is None and _constant(node.right):
                    return left  # unit conversion: `time.monotonic() * 1000`
                if left is None and _constant(node.left):
                    return right
            return None
        return None

    @staticmethod
    def _offset_idiom(node: cst.BinaryOperation) -> bool:
        """Both clocks read right here (the callers know one is wall, one monotonic): their
        difference is the offset between the clocks, e.g. `time.time() - time.monotonic()`."""
        return isinstance(node.left, cst.Call) and isinstance(node.right, cst.Call)

    def _check_comparison(self, node: cst.Comparison, names: dict[str, str]) -> None:
        left = node.left
        for target in node.comparisons:
            right = target.comparator
            if isinstance(target.operator, _VALUE_COMPARISONS):
                kinds = (self._kind(left, names, 0), self._kind(right, names, 0))
                mono = next((k for k in kinds if k in MONOTONIC), None)
                if mono is not None and _WALL in kinds:
                    self.report(
                        node,
                        f"A `{_short(mono)}` reading is compared with a wall-clock time: the "
                        "monotonic clock counts from an arbitrary origin (often boot), not the "
                        "epoch. Compare wall-clock values with `time.time()` or "
                        "`datetime.now(timezone.utc)`.",
                    )
                    return
            left = right

    def _check_arithmetic(self, node: cst.BinaryOperation, names: dict[str, str]) -> None:
        if not isinstance(node.operator, (cst.Add, cst.Subtract)):
            return
        kinds = (self._kind(node.left, names, 0), self._kind(node.right, names, 0))
        mono = next((k for k in kinds if k in MONOTONIC), None)
        if mono is None or _WALL not in kinds or self._offset_idiom(node):
            return
        self.report(
            node,
            f"A `{_short(mono)}` reading is combined with a wall-clock time: the two clocks have "
            "unrelated origins, so the result is meaningless. Use `time.time()` or "
            "`datetime.now(timezone.utc)` for real-world times, the monotonic clock only "
            "against its own readings.",
        )

    def _check_store(
        self, target: cst.BaseExpression, value: cst.BaseExpression, names: dict[str, str]
    ) -> None:
        key = storage_name(target)
        if key is not None:
            self._report_store(key, value, names)

    def _report_store(self, key: str, value: cst.BaseExpression, names: dict[str, str]) -> None:
        mono = self._kind(value, names, 0)
        if mono in MONOTONIC:
            assert mono is not None
            self.report(
                value,
                f"A `{_short(mono)}` reading is stored as `{key}`, a point in real time, but "
                "it counts from an arbitrary origin (often boot), not the epoch; store "
                "`time.time()` or `datetime.now(timezone.utc)` instead.",
            )

    def _check_call(self, node: cst.Call, names: dict[str, str]) -> None:
        called = self._calls.get(node)
        if called in EPOCH_READERS:
            arg = argument(node, 0, "timestamp")
            if arg is None:
                return
            mono = self._kind(arg.value, names, 0)
            if mono in MONOTONIC:
                assert mono is not None and called is not None
                self.report(
                    arg.value,
                    f"`{_short(called)}` reads epoch seconds, but this is a `{_short(mono)}` "
                    "reading counted from an arbitrary origin (often boot): the date is wrong. "
                    "Use `time.time()` for the current time.",
                )
        elif called == _DICT:
            for arg in node.args:
                if arg.keyword is not None and realtime_name(arg.keyword.value):
                    self._report_store(arg.keyword.value, arg.value, names)
