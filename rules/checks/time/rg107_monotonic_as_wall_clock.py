from __future__ import annotations

import libcst as cst

from rules.analysis.flow import LocalFlow, local_flow, settle_kinds, shifted_kind, unit_of
from rules.analysis.syntax import argument, is_none, string_value
from rules.analysis.time import realtime_name, storage_name
from rules.model import Severity
from rules.rule import Context, Example, Rule
from rules.scope import target_names

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
_NONE = "none"  # an attribute's "no point yet"
# Clocks made for profiling: under a generic `ts`/`time` key they usually feed a trace.
_PROFILING = frozenset(
    q for q in MONOTONIC if q.startswith(("time.perf_counter", "time.process_time", "time.thread_time"))
)
_GENERIC_KEYS = ("ts", "time")
_POINTS = MONOTONIC | {_WALL}
_MAX_DEPTH = 40
_VALUE_COMPARISONS = (
    cst.LessThan, cst.LessThanEqual, cst.GreaterThan, cst.GreaterThanEqual, cst.Equal, cst.NotEqual,
)


def _of_self(node: cst.Attribute) -> bool:
    return isinstance(node.value, cst.Name) and node.value.value == "self"


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
    A reading of `time.monotonic()`, `perf_counter()`, `process_time()` or `thread_time()`
    (and their `_ns` forms), directly or through a local name, that is compared or combined
    with a wall-clock time, stored under a name meaning a point in real time (`created_at`,
    `expires`, `ts`...), or passed to `datetime.fromtimestamp()`, `time.localtime()` and the
    like.

    Why it is risky:
    A monotonic clock counts seconds from an arbitrary origin, usually the machine's boot,
    not from the epoch. Stored as a creation time, compared with a stored timestamp or
    turned into a date, it makes every record look decades old (or brand new), and decisions
    based on age go silently wrong. Bad: `record["created_at"] = time.monotonic()`.

    How to fix:
    Use the wall clock for points in real time (`time.time()`, or better
    `datetime.now(timezone.utc)`), and keep the monotonic clock for measuring durations
    between two monotonic readings. Good: `record["created_at"] = time.time()`;
    `elapsed = time.monotonic() - start`.
    """

    code = "RG107"
    slug = "monotonic-as-wall-clock"
    severity = Severity.ERROR

    DETAILS = """
    A value of `time.monotonic()`, `perf_counter()`, `process_time()` or `thread_time()`
    (and their `_ns` forms), used directly or through a local name of the same function, that
    (a) is compared with, or added to or subtracted from, a wall-clock value: `time.time()`, a
    datetime, `.timestamp()`, or an attribute or key named like a point in real time;
    (b) is stored under a key or attribute named like a point in real time (`*_at`,
    `created*`, `updated*`, `modified*`, `date*`, `expires*`, `timestamp`, `ts`, `time`);
    private attributes of `self` are exempt, they are the usual home of a monotonic deadline;
    or (c) is passed to `datetime.fromtimestamp()`, `time.localtime()`, `time.gmtime()` or
    `time.ctime()`.
    An attribute of `self` that the class itself keeps on the monotonic clock is a monotonic
    value whatever its name: every assignment in the class gives a reading of one monotonic
    clock (directly, through a local name, shifted by a duration, or None) and some method
    compares it with, or subtracts it from, a reading of that clock (`self.close_at =
    time.monotonic() + max_age` ... `if time.monotonic() >= self.close_at:`). Storing into it
    and comparing with it are fine; handing it on under a real-time key, or comparing it with
    `time.time()`, is still flagged. An attribute that is only stored, never read that way in
    the class, is handed to other code under its name and is flagged.
    Severity: an error, except a `perf_counter()`, `process_time()` or `thread_time()` reading
    stored under the generic keys `ts` or `time`, which is a warning: trace-event formats
    (Chrome's `{"ph": "X", "ts": time.perf_counter_ns() / 1000}`) define `ts` on any clock
    with an arbitrary origin, and those profiling clocks rarely end up anywhere else.
    Durations and deadlines among monotonic values are fine, and so is the difference of a
    monotonic reading and anything else (`now - self._last` is almost always a duration).
    Names are followed only inside one function and only when every assignment gives the
    same kind of value; a value passed through a parameter, an attribute or another function
    is not followed. `time.time() - time.monotonic()` (both read right there) is the offset
    between the two clocks, the sanctioned way to convert, and is not flagged.

    A profiling clock under a trace event's `ts` is read against the same clock by the trace
    viewer, so that shape is only a warning: it is wrong only if the value leaves the trace.
    For that warning there is nothing to do when the dict is a trace event; a record stored
    or sent elsewhere needs `time.time()`.
    """

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
        # attributes the class keeps on the monotonic clock (kombu's TokenBucket, Django's
        # connection `close_at`)
        "from time import monotonic\nclass TokenBucket:\n    timestamp = None\n"
        "    def __init__(self):\n        self.timestamp = monotonic()\n"
        "    def tokens(self):\n        now = monotonic()\n        delta = now - self.timestamp\n"
        "        self.timestamp = now\n        return delta\n",
        "import time\nclass Connection:\n    def __init__(self):\n        self.close_at = None\n"
        "    def connect(self, max_age):\n"
        "        self.close_at = None if max_age is None else time.monotonic() + max_age\n"
        "    def expired(self):\n"
        "        return self.close_at is not None and time.monotonic() >= self.close_at\n",
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
        # a monotonic attribute handed on as a real-time value
        "import time\nclass Lease:\n    def __init__(self, ttl):\n"
        "        self.expires_at = time.monotonic() + ttl\n"
        "    def valid(self):\n        return time.monotonic() < self.expires_at\n"
        "    def to_row(self):\n        return {'expires_at': self.expires_at}\n",
        Example(
            "import time\ndef span(name, fn):\n    start = time.perf_counter_ns()\n    fn()\n"
            "    return {'name': name, 'ph': 'X', 'ts': start / 1000,\n"
            "            'dur': (time.perf_counter_ns() - start) / 1000}\n",
            severity=Severity.WARNING,
        ),
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._calls: dict[cst.Call, str] = {}
        self._units: set[cst.CSTNode] = set()
        # methods holding a monotonic read, analysed when their class is left, once the
        # class's monotonic attributes are known
        self._methods: dict[cst.ClassDef, list[cst.FunctionDef]] = {}
        self._flows: dict[cst.CSTNode, tuple[LocalFlow, dict[str, str]]] = {}
        self._attributes: dict[str, str] = {}  # monotonic attributes of the class being analysed

    # -- traversal: record the calls that matter, note the units holding a monotonic read ---
    def visit_Call(self, node: cst.Call) -> None:
        name = self.ctx.called(node, _ATTRS)
        if name is None or name not in _RECORDED:
            return
        self._calls[node] = name
        if name in MONOTONIC:
            self._units.add(unit_of(self.ctx))

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node not in self._units:
            return
        chain = self.ctx.ancestors  # at leave time: the parents of `node`
        if len(chain) >= 2 and isinstance(chain[-2], cst.ClassDef) and chain[-2].body is chain[-1]:
            self._methods.setdefault(chain[-2], []).append(node)
        else:
            self._analyse(node)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        methods = self._methods.pop(node, [])
        if node not in self._units and not methods:
            return
        self._attributes = self._monotonic_attributes(node)
        if self._attributes:
            self._flows.clear()  # local names read from those attributes change kind
            # any method may now hand a monotonic attribute on as a point in real time
            methods = [s for s in node.body.body if isinstance(s, cst.FunctionDef)]
        try:
            if node in self._units:
                self._analyse(node)
            for method in methods:
                self._analyse(method)
        finally:
            self._attributes = {}
            self._flows.clear()

    def finish(self) -> None:
        if self.ctx.module in self._units:
            self._analyse(self.ctx.module)

    # -- the unit's data flow ---------------------------------------------------------------
    def _analyse(self, unit: cst.CSTNode) -> None:
        flow, names = self._flow(unit)
        self._flows.pop(unit, None)
        self._check(flow, names)

    def _flow(self, unit: cst.CSTNode) -> tuple[LocalFlow, dict[str, str]]:
        """The unit's own code and the kind of each of its local names (computed once)."""
        known = self._flows.get(unit)
        if known is not None:
            return known
        flow = local_flow(unit, nested_bodies=False)
        names = settle_kinds(flow, lambda value, known: self._kind(value, known, 0))
        self._flows[unit] = flow, names
        return flow, names

    def _check(self, flow: LocalFlow, names: dict[str, str]) -> None:
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
            if self._attributes and isinstance(node, cst.Attribute) and _of_self(node):
                known = self._attributes.get(node.attr.value)
                if known is not None:
                    return known
            return _WALL if storage_name(node) is not None else None
        if isinstance(node, cst.BinaryOperation):
            left = self._kind(node.left, names, depth + 1)
            right = self._kind(node.right, names, depth + 1)
            op = node.operator
            if isinstance(op, cst.Add):
                if left == _OFFSET and right in MONOTONIC or right == _OFFSET and left in MONOTONIC:
                    return _WALL
                # a point plus a duration is a point of the same clock
                return shifted_kind(op, left, right, left_amount=left is None, right_amount=right is None)
            if isinstance(op, cst.Subtract):
                if left == _WALL and right in MONOTONIC and self._offset_idiom(node):
                    return _OFFSET
                # only a constant taken off a point is surely a duration (`now - 30`)
                return shifted_kind(
                    op, left, right, left_amount=False,
                    right_amount=right is None and left in _POINTS and _constant(node.right),
                )
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
        if isinstance(target, cst.Attribute) and _of_self(target) and target.attr.value in self._attributes:
            return  # the class keeps a monotonic value there and reads it as one
        key = storage_name(target)
        if key is not None:
            self._report_store(key, value, names)

    def _report_store(self, key: str, value: cst.BaseExpression, names: dict[str, str]) -> None:
        mono = self._kind(value, names, 0)
        if mono in MONOTONIC:
            assert mono is not None
            # Trace-event formats (Chrome's `{"ts": perf_counter_ns() / 1000}`) and profilers
            # take a profiling clock's reading under these generic keys on purpose.
            trace = key.lower().lstrip("_") in _GENERIC_KEYS and mono in _PROFILING
            self.report(
                value,
                f"A `{_short(mono)}` reading is stored as `{key}`, a point in real time, but "
                "it counts from an arbitrary origin (often boot), not the epoch; store "
                "`time.time()` or `datetime.now(timezone.utc)` instead"
                + (" (fine if this is a trace event read only against the same clock)." if trace else "."),
                severity=Severity.WARNING if trace else None,
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

    # -- attributes the class keeps on the monotonic clock ----------------------------------
    def _monotonic_attributes(self, cls: cst.ClassDef) -> dict[str, str]:
        """`self.<name>` attributes that hold a monotonic point by the class's own account.

        Every assignment the class makes (class-level defaults included) gives a reading of
        one monotonic clock, a point shifted by a duration, or None, and some method compares
        the attribute with, or subtracts it from, a reading of that clock: `close_at` set to
        `time.monotonic() + max_age` and tested with `time.monotonic() >= self.close_at` is a
        deadline, whatever its name. An attribute only stored, never read that way, is handed
        to other code under its name and stays checked.
        """
        kinds: dict[str, set[str | None]] = {}
        read: set[str] = set()
        for statement in cls.body.body:
            if isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    if isinstance(small, cst.Assign):
                        for target in small.targets:
                            for name in target_names(target.target):
                                kinds.setdefault(name, set()).add(self._held(small.value, {}))
                    elif isinstance(small, cst.AnnAssign) and small.value is not None:
                        for name in target_names(small.target):
                            kinds.setdefault(name, set()).add(self._held(small.value, {}))
            elif isinstance(statement, cst.FunctionDef):
                flow, names = self._flow(statement)
                self._method_attributes(flow, names, kinds, read)
        found: dict[str, str] = {}
        for name, held in kinds.items():
            clocks = held - {_NONE}
            if name in read and len(clocks) == 1:
                clock = clocks.pop()
                if clock in MONOTONIC:
                    assert clock is not None
                    found[name] = clock
        return found

    def _method_attributes(
        self,
        flow: LocalFlow,
        names: dict[str, str],
        kinds: dict[str, set[str | None]],
        read: set[str],
    ) -> None:
        for node in flow.nodes:
            if isinstance(node, cst.Assign):
                for target in node.targets:
                    self._attribute_store(target.target, node.value, names, kinds)
            elif isinstance(node, cst.AnnAssign) and node.value is not None:
                self._attribute_store(node.target, node.value, names, kinds)
            elif isinstance(node, cst.AugAssign):
                shifted = node.target  # `self.deadline += step` keeps the clock; `*=` does not
                if isinstance(shifted, cst.Attribute) and _of_self(shifted):
                    if not isinstance(node.operator, (cst.AddAssign, cst.SubtractAssign)):
                        kinds.setdefault(shifted.attr.value, set()).add(None)
            elif isinstance(node, cst.Comparison):
                operands = [node.left, *(c.comparator for c in node.comparisons)]
                self._attribute_reads(operands, names, read)
            elif isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Subtract):
                self._attribute_reads([node.left, node.right], names, read)

    def _attribute_store(
        self,
        target: cst.BaseExpression,
        value: cst.BaseExpression,
        names: dict[str, str],
        kinds: dict[str, set[str | None]],
    ) -> None:
        if isinstance(target, cst.Attribute) and _of_self(target):
            kinds.setdefault(target.attr.value, set()).add(self._held(value, names))
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:  # unpacked: the value is not known
                inner = element.value
                if isinstance(inner, cst.Attribute) and _of_self(inner):
                    kinds.setdefault(inner.attr.value, set()).add(None)

    def _held(self, value: cst.BaseExpression, names: dict[str, str]) -> str | None:
        """The clock of an assigned value; `_NONE` for None (no point yet)."""
        if is_none(value):
            return _NONE
        if isinstance(value, cst.IfExp):
            branches = {self._held(value.body, names), self._held(value.orelse, names)} - {_NONE}
            return branches.pop() if len(branches) == 1 else (_NONE if not branches else None)
        return self._kind(value, names, 0)

    def _attribute_reads(
        self, operands: list[cst.BaseExpression], names: dict[str, str], read: set[str]
    ) -> None:
        attributes = [o for o in operands if isinstance(o, cst.Attribute) and _of_self(o)]
        if attributes and any(self._kind(o, names, 0) in MONOTONIC for o in operands):
            read.update(a.attr.value for a in attributes)
