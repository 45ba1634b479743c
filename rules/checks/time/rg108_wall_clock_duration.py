from __future__ import annotations

import libcst as cst

from rules.analysis.flow import local_flow, settle_kinds, shifted_kind, unit_of
from rules.analysis.syntax import iter_nodes
from rules.model import Severity
from rules.rule import Context, Example, FixSpec, Rule

# A wall-clock reading and the monotonic call that measures the same thing.
_READINGS = {"time.time": "monotonic", "time.time_ns": "monotonic_ns"}
_TIME_ATTRS = frozenset(q.rpartition(".")[2] for q in _READINGS)
_MAX_DEPTH = 40
_ORDERING = (cst.LessThan, cst.LessThanEqual, cst.GreaterThan, cst.GreaterThanEqual)

Part = cst.Name | cst.Call


class _Groups:
    """Union-find over the local names and calls that one measurement ties together."""

    def __init__(self) -> None:
        self.parent: dict[object, object] = {}

    def find(self, item: object) -> object:
        root = item
        while (up := self.parent.get(root, root)) != root:
            root = up
        while item != root:  # path compression
            self.parent[item], item = root, self.parent[item]
        return root

    def union(self, items: list[object]) -> None:
        if items:
            root = self.find(items[0])
            for item in items[1:]:
                other = self.find(item)
                if other != root:
                    self.parent[other] = root


class WallClockDuration(Rule):
    """An elapsed time or a deadline measured with the wall clock.

    What it flags:
    `time.time()` (or `time.time_ns()`) read into a local name and later used, in the same
    function, only to measure a duration or a deadline: `start = time.time()` ...
    `time.time() - start`. Readings that may also serve as points in time (stored, returned,
    passed on) are left alone.

    Why it is risky:
    The wall clock is set by NTP, by an administrator and by virtual-machine migrations; it
    can jump backwards or forwards by seconds or hours. A duration measured across a jump is
    negative or wildly wrong, so timeouts fire at once or never, and rate limits and retry
    back-offs misbehave. Bad: `start = time.time()` ... `if time.time() - start > timeout:`.

    How to fix:
    Use `time.monotonic()` for both readings: it never goes backwards and is meant for
    intervals. Good: `start = time.monotonic()` ...
    `if time.monotonic() - start > timeout:`. The fix replaces every reading of the
    measurement at once.
    """

    code = "RG108"
    slug = "wall-clock-duration"
    severity = Severity.WARNING

    DETAILS = """
    `time.time()` (or `time.time_ns()`) read into a local name and later used, in the same
    function, only to measure a duration or a deadline: `start = time.time()` ...
    `time.time() - start`, or `deadline = time.time() + n` ... `time.time() < deadline`.
    The finding is on the first such measurement. To stay precise it is raised only when the
    readings are not stored: if any of the names involved is passed to a call, returned,
    stored in an attribute, key or container, read by a nested function or lambda, declared
    `global`/`nonlocal`, or bound any other way than `name = <reading>`, the value may be
    needed as a real point in time and nothing is reported. A deadline's shift must be a
    plain amount (`time.time() + timeout`); a shift that itself involves a clock reading,
    and a measurement mixing `time()` with `time_ns()`, are left alone. Module-level code is
    not checked. A reading kept on `self` (`self.start = time.time()`) is stored, so not
    flagged.

    The fix is offered as safe: the rule only fires when all the readings are local and used
    only against each other, so the two clocks' different origins cannot leak out.
    """

    VALID = [
        "import time\ndef f():\n    start = time.monotonic()\n    work()\n"
        "    return time.monotonic() - start\n",
        # the reading is also a point in time: stored, logged, returned or passed on
        "import time\ndef f(job):\n    start = time.time()\n    job.run()\n"
        "    job.started = start\n    return time.time() - start\n",
        "import time\ndef f(log):\n    start = time.time()\n    work()\n"
        '    log.info("started at %s, took %s", start, time.time() - start)\n',
        "import time\ndef f():\n    start = time.time()\n    work()\n"
        "    return start, time.time() - start\n",
        "import time\ndef f(rows):\n    now = time.time()\n    rows.append({'ts': now})\n"
        "    return time.time() - now\n",
        "import time\nclass Job:\n    def begin(self):\n        self.start = time.time()\n"
        "    def took(self):\n        return time.time() - self.start\n",
        "import time\ndef f(created):\n    return time.time() - created\n",
        "import time\ndef f(row):\n    return time.time() - row.created_at\n",
        "import time\ndef f(callbacks):\n    start = time.time()\n"
        "    callbacks.append(lambda: time.time() - start)\n",
        "import time\ndef f(retry):\n    start = time.time()\n    for start in retry:\n"
        "        pass\n    return time.time() - start\n",
        "import time\ndef f():\n    global start\n    start = time.time()\n    return time.time() - start\n",
        # module-level scripts keep their readings in globals
        "import time\nstart = time.time()\nwork()\nprint(time.time() - start)\n",
        # a local shadowing the module, or an unrelated `time()`
        "def f(time):\n    start = time.time()\n    return time.time() - start\n",
        "from mylib import time\ndef f():\n    start = time()\n    return time() - start\n",
        "import time\ndef f(loop):\n    start = loop.time()\n    return loop.time() - start\n",
        "import time\nclass Limiter:\n    def allow(self):\n        now = time.monotonic()\n"
        "        if now - self._last < self.interval:\n            return False\n"
        "        self._last = now\n        return True\n",
        "import time\ndef refresh(cache):\n    now = time.time()\n"
        "    if now - cache.saved_at > 60:\n        cache.saved_at = now\n",
        "import time\ndef event(name):\n    return {'name': name, 'ts': time.time()}\n",
        "import time\ndef expired(token):\n    return time.time() >= token.expires_at\n",
        # a single reading is not a measurement
        "import time\ndef f(expires):\n    return expires - time.time()\n",
        "import time\ndef f():\n    return time.time() - time.time()\n",
    ]
    INVALID = [
        Example(
            "import time\ndef f():\n    start = time.time()\n    work()\n"
            "    return time.time() - start\n",
            fix="import time\ndef f():\n    start = time.monotonic()\n    work()\n"
            "    return time.monotonic() - start\n",
            exercise="work = lambda: None\nassert f() >= 0\n",
        ),
        Example(
            "import time\ndef wait(timeout):\n    deadline = time.time() + timeout\n"
            "    while time.time() < deadline:\n        poll()\n",
            fix="import time\ndef wait(timeout):\n    deadline = time.monotonic() + timeout\n"
            "    while time.monotonic() < deadline:\n        poll()\n",
            exercise="poll = lambda: None\nwait(0.01)\n",
        ),
        Example(
            "from time import time\ndef f(log):\n    t0 = time()\n    work()\n    t1 = time()\n"
            '    log.info("took %.2f s", t1 - t0)\n',
            fix="from time import time, monotonic\ndef f(log):\n    t0 = monotonic()\n    work()\n"
            '    t1 = monotonic()\n    log.info("took %.2f s", t1 - t0)\n',
            exercise="import logging\nwork = lambda: None\nf(logging.getLogger())\n",
        ),
        Example(
            "import time as t\nclass Poller:\n    def run(self, timeout):\n        start = t.time()\n"
            "        while t.time() - start < timeout:\n            self.poll()\n"
            "        self.last_run_seconds = t.time() - start\n",
            fix="import time as t\nclass Poller:\n    def run(self, timeout):\n"
            "        start = t.monotonic()\n"
            "        while t.monotonic() - start < timeout:\n            self.poll()\n"
            "        self.last_run_seconds = t.monotonic() - start\n",
            exercise="class Quiet(Poller):\n    def poll(self):\n        pass\n"
            "p = Quiet()\np.run(0.01)\nassert p.last_run_seconds >= 0.01\n",
        ),
        Example(
            "def f():\n    import time\n    start = time.time_ns()\n    work()\n"
            "    return (time.time_ns() - start) / 1e9\n",
            fix="def f():\n    import time\n    start = time.monotonic_ns()\n    work()\n"
            "    return (time.monotonic_ns() - start) / 1e9\n",
            exercise="work = lambda: None\nassert f() >= 0\n",
        ),
        Example(
            "import time\ndef f(n):\n    start = time.time()\n    deadline = start + n\n"
            "    while time.time() <= deadline:\n        pass\n",
            fix="import time\ndef f(n):\n    start = time.monotonic()\n    deadline = start + n\n"
            "    while time.monotonic() <= deadline:\n        pass\n",
            exercise="f(0.01)\n",
        ),
        "import time\nasync def f(q):\n    start = time.time()\n    await q.get()\n"
        "    print(f'{time.time() - start:.1f}')\n",
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._calls: dict[cst.Call, str] = {}
        self._units: set[cst.CSTNode] = set()

    def visit_Call(self, node: cst.Call) -> None:
        name = self.ctx.called(node, _TIME_ATTRS)
        if name not in _READINGS:
            return
        self._calls[node] = name
        unit = unit_of(self.ctx)
        if isinstance(unit, cst.FunctionDef):
            self._units.add(unit)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node in self._units:
            self._analyse(node)

    # -- one function's readings --------------------------------------------------------------
    def _analyse(self, func: cst.FunctionDef) -> None:
        flow = local_flow(func)
        candidates = {
            name
            for name, values in flow.assigned.items()
            if values and None not in values and name not in flow.nested
        }
        # Names whose value involves a reading somehow: a shift by one of them is not a
        # plain amount of time (`deadline = time.time() + timeout` needs `timeout` clock-free).
        clocky: set[str] = set()
        grown = True
        while grown:
            grown = False
            for name, values in flow.assigned.items():
                if name not in clocky and any(
                    v is not None and not self._clock_free(v, clocky) for v in values
                ):
                    clocky.add(name)
                    grown = True
        # local name -> the clock every assignment reads; a reading, once known, stays one
        readings = settle_kinds(
            flow,
            lambda value, settled: self._reading(value, settled, clocky, 0),
            names=candidates & clocky,
            rounds=None,
        )
        if not readings:
            return
        groups = _Groups()
        accounted: set[cst.CSTNode] = set()
        group_calls: list[cst.Call] = []
        uses: list[tuple[cst.CSTNode, object]] = []  # (measurement, a member of its group)
        mixed: set[object] = set()  # groups that mix time() and time_ns()

        def tie(exprs: list[cst.BaseExpression], name: str | None) -> object | None:
            parts: list[Part] = []
            for expr in exprs:
                self._parts(expr, readings, parts, 0)
            accounted.update(parts)
            members: list[object] = [name] if name is not None else []
            clocks = {readings[name]} if name is not None else set()
            for part in parts:
                if isinstance(part, cst.Call):
                    group_calls.append(part)
                    members.append(part)
                    clocks.add(self._calls[part])
                else:
                    members.append(part.value)
                    clocks.add(readings[part.value])
            if not members:
                return None
            groups.union(members)
            if len(clocks) > 1:
                mixed.add(members[0])
            return members[0]

        for name in readings:
            values = flow.assigned[name]
            tie([v for v in values if v is not None], name)
        for node in flow.nodes:
            if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Subtract):
                pair = [node.left, node.right]
            elif isinstance(node, cst.Comparison):
                pair = self._compared_readings(node, readings, clocky)
                if not pair:
                    continue
            else:
                continue
            if all(self._reading(e, readings, clocky, 0) for e in pair):
                member = tie(pair, None)
                if member is not None:
                    uses.append((node, member))
        escaped = {
            groups.find(name)
            for name in readings
            if any(load not in accounted for load in flow.loads.get(name, ()))
        }
        escaped.update(groups.find(m) for m in mixed)
        reported: set[object] = set()
        for use, member in uses:
            root = groups.find(member)
            if root in escaped or root in reported:
                continue
            if not any(groups.find(name) == root for name in readings):
                continue  # `time.time() - time.time()`: no reading was kept for later
            reported.add(root)
            calls = [c for c in dict.fromkeys(group_calls) if groups.find(c) == root]
            self._report(func, use, calls)

    def _compared_readings(
        self, node: cst.Comparison, readings: dict[str, str], clocky: set[str]
    ) -> list[cst.BaseExpression]:
        """The first adjacent pair of an ordering comparison that are both readings."""
        left = node.left
        for target in node.comparisons:
            right = target.comparator
            if (
                isinstance(target.operator, _ORDERING)
                and self._reading(left, readings, clocky, 0)
                and self._reading(right, readings, clocky, 0)
            ):
                return [left, right]
            left = right
        return []

    def _reading(
        self, node: cst.BaseExpression, readings: dict[str, str], clocky: set[str], depth: int
    ) -> str | None:
        """The clock read when `node` is a reading, possibly shifted by a clock-free amount."""
        if depth > _MAX_DEPTH:
            return None
        if isinstance(node, cst.Call):
            return self._calls.get(node)
        if isinstance(node, cst.Name):
            return readings.get(node.value)
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Add, cst.Subtract)):
            # the amount of a shift must not involve the clock itself
            return shifted_kind(
                node.operator,
                self._reading(node.left, readings, clocky, depth + 1),
                self._reading(node.right, readings, clocky, depth + 1),
                left_amount=self._clock_free(node.left, clocky),
                right_amount=self._clock_free(node.right, clocky),
            )
        return None

    def _clock_free(self, node: cst.BaseExpression, clocky: set[str]) -> bool:
        for inner in iter_nodes(node):
            if isinstance(inner, cst.Call) and inner in self._calls:
                return False
            if isinstance(inner, cst.Name) and inner.value in clocky:
                return False
        return True

    def _parts(
        self, node: cst.BaseExpression, readings: dict[str, str], parts: list[Part], depth: int
    ) -> None:
        """The calls and names that make up the reading in `node` (not the shift amount)."""
        if depth > _MAX_DEPTH:
            return
        if isinstance(node, cst.Call):
            if node in self._calls:
                parts.append(node)
        elif isinstance(node, cst.Name):
            if node.value in readings:
                parts.append(node)
        elif isinstance(node, cst.BinaryOperation):
            self._parts(node.left, readings, parts, depth + 1)
            if isinstance(node.operator, cst.Add):
                self._parts(node.right, readings, parts, depth + 1)

    def _report(self, func: cst.FunctionDef, use: cst.CSTNode, calls: list[cst.Call]) -> None:
        replacements: list[tuple[cst.CSTNode, cst.CSTNode]] = []
        imports: dict[tuple[str, str], None] = {}
        # Name fixes must be spelled from inside the function (it may import `time` itself);
        # the traversal has already left it, so look from its scope.
        saved = self.ctx.scope
        self.ctx.scope = self.ctx.scope_of(func) or saved
        try:
            for call in calls:
                target = _READINGS[self._calls[call]]
                if isinstance(call.func, cst.Attribute):
                    replacements.append((call.func.attr, cst.Name(target)))
                else:
                    expr, needed = self.ctx.name_for(f"time.{target}")
                    replacements.append((call.func, expr))
                    imports.update(dict.fromkeys(needed))
        finally:
            self.ctx.scope = saved
        clock = self._calls[calls[0]] if calls else "time.time"
        target = _READINGS[clock]
        self.report(
            use,
            f"`{clock}()` measures a duration here, but the wall clock jumps (NTP, manual "
            f"changes), so the result can be negative or far off; use `time.{target}()` for "
            "every reading of this measurement.",
            FixSpec(
                f"Measure with time.{target}()",
                tuple(replacements),
                safe=True,
                imports=tuple(imports),
            ),
        )
