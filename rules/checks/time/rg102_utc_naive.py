from __future__ import annotations

import libcst as cst

from rules.analysis.conventions import (
    AWARE,
    COLUMN_DEFAULTS,
    NAIVE_LOCAL,
    NAIVE_UTC,
    NAIVE_UTC_CALLS,
    SENDING_CALLS,
    Conventions,
    assigned_name,
    aware_column_type,
    other_zone,
    same_instant,
    unit_parents,
)
from rules.analysis.fix_safety import FixSafety
from rules.analysis.flow import LocalFlow, local_flow, settle_kinds, unit_of
from rules.analysis.syntax import (
    argument,
    callee_name,
    chained_methods,
    is_none,
    string_value,
)
from rules.analysis.time import (
    DATETIME,
    duration_like,
    made_aware,
    realtime_name,
    storage_name,
    utc_expression,
)
from rules.model import Severity
from rules.rule import Context, Example, FixSpec, Rule

_METHODS = ("utcnow", "utcfromtimestamp")
_W = Severity.WARNING  # the examples of the benign shapes
_ORDERING = (
    cst.LessThan, cst.LessThanEqual, cst.GreaterThan, cst.GreaterThanEqual, cst.Equal, cst.NotEqual,
)
_MAX_FOLLOW = 8  # names followed from one call: `now = utcnow()`, `deadline = now + ttl`, ...


class _Candidate:
    __slots__ = ("node", "method", "fix", "called", "aware")

    def __init__(self, node: cst.CSTNode, method: str, fix: FixSpec | None, called: bool) -> None:
        self.node = node
        self.method = method
        self.fix = fix
        self.called = called  # False: the method passed on uncalled (`default=datetime.utcnow`)
        self.aware = False  # made aware right away by `.replace(tzinfo=...)`


class UtcNaive(Rule):
    """A naive datetime that only looks like UTC: `utcnow()` / `utcfromtimestamp()`.

    What it flags:
    `datetime.utcnow()` and `datetime.utcfromtimestamp(x)`, deprecated since Python 3.12,
    called or passed uncalled as a default. An error where this code reads the value as
    server-local time or mixes it with local or aware values (`.timestamp()`,
    `.astimezone()`, a comparison with `datetime.now()`), and where the value is returned,
    stored or sent; a warning elsewhere.

    Why it is risky:
    The value carries UTC wall-clock fields but no zone, so `.timestamp()`, `.astimezone()`
    and `time.mktime()` take it for server-local time, and mixing it with local or aware
    values compares different clocks (or raises `TypeError`). Bad:
    `expires = datetime.utcnow() + ttl` then `expires.timestamp()` is off by the server's
    offset.

    How to fix:
    Ask for an aware UTC value: `datetime.now(timezone.utc)` and
    `datetime.fromtimestamp(x, timezone.utc)`. Good:
    `expires = datetime.now(timezone.utc) + ttl`. The fix is unsafe unless every read of the
    value is in sight and works with an aware value: naive and aware values do not mix.
    """

    code = "RG102"
    slug = "utc-naive"
    severity = Severity.ERROR
    ruff_codes = ("DTZ003", "DTZ004")

    DETAILS = """
    `datetime.utcnow()` and `datetime.utcfromtimestamp(x)`, however `datetime` was imported,
    and the methods passed uncalled as an argument, to be called later
    (`Column(DateTime, default=datetime.utcnow)`, `field(default_factory=datetime.utcnow)`).
    Every occurrence is reported: the methods are deprecated since Python 3.12.
    It is an error where this code itself reads the value as server-local time or mixes it
    with values of another convention: `.timestamp()`, `.astimezone()`,
    `time.mktime(x.timetuple())`, `.strftime("%s")`, `.replace(tzinfo=...)` or pytz's
    `.localize()` with a zone that is visibly not UTC (`ZoneInfo("Europe/Paris")`,
    `tzlocal()`, `pytz.timezone("Europe/Paris")`); a comparison or subtraction with
    `datetime.now()`, `datetime.today()`, `datetime.fromtimestamp(x)` (naive local) or with
    an aware value, except `datetime.now() - datetime.utcnow()` and
    `fromtimestamp(t) - utcfromtimestamp(t)`, two readings of one instant subtracted to learn
    the server's offset on purpose; the default of a column declared
    `DateTime(timezone=True)`. Like RG101's naive value, it is also an error where it
    leaves the code that knows it is UTC: returned to callers; stored under a real-time
    name (`created_at=`, `row["expires_at"]`, `obj.updated_at`, a column default, a
    document field); or sent to a call that stores or sends it (`execute`, `save`, `set`,
    `publish`...). The message says when the file also compares that name with, or assigns
    it, aware or local values (`Token(created_at=datetime.utcnow())` and
    `datetime.now(timezone.utc) - token.created_at`). The value is followed through `+`/`-`
    a duration, tuples and lists, and local names of the same function whose every
    assignment is such a value.
    Everywhere else it is a warning (deprecated, but consistent): formatted into a string
    labelled UTC, compared only with other naive-UTC values or values of unknown convention
    (a parameter, an attribute), made aware with `.replace(tzinfo=timezone.utc)` (or a zone
    held in a variable), subtracted to a duration, or formatted with `.isoformat()`
    (whether the reader of an offset-less string assumes UTC cannot be seen here).

    For example, `if datetime.now(timezone.utc) - token.created_at > ttl:` fails for the
    tokens stored with `created_at=datetime.utcnow()`. Where nothing in sight reads the
    fields as local time, the value is right and the call only deprecated: a warning, since
    the next reader of the naive value may still take it for local time.

    For an error, also check the other side of the comparison or the reader of the stored
    field; for a warning, the rewrite to `datetime.now(timezone.utc)` only removes the
    deprecated call (make the values it meets aware too).

    The fix is safe (and suggested on the pull request) only when every read of the value
    is in sight and works the same once aware, as for RG101; `.timestamp()` is not among
    them here: of naive UTC fields it is off by the server's offset, so the fix changes
    the number (for the better, but a reader gets another value).
    """

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
        # -- errors: the value is read as local time or mixed with another convention here
        # `utcnow().astimezone()` takes the UTC fields for local time: the fix corrects it.
        Example(
            "from datetime import datetime\nx = datetime.utcnow().astimezone()\n",
            fix="from datetime import datetime, timezone\nx = datetime.now(timezone.utc).astimezone()\n",
            exercise="assert x.tzinfo is not None\n",
        ),
        Example(
            "from datetime import datetime, timedelta\ndef expiry(ttl):\n"
            "    expires = datetime.utcnow() + timedelta(seconds=ttl)\n"
            "    return int(expires.timestamp())\n",
            fix="from datetime import datetime, timedelta, timezone\ndef expiry(ttl):\n"
            "    expires = datetime.now(timezone.utc) + timedelta(seconds=ttl)\n"
            "    return int(expires.timestamp())\n",
            unsafe=True,
        ),
        "import time\nimport datetime\ndef epoch(ts):\n"
        "    return time.mktime(datetime.datetime.utcfromtimestamp(ts).timetuple())\n",
        "from datetime import datetime, timedelta\ndef stale(ts):\n"
        "    seen = datetime.utcfromtimestamp(ts)\n"
        "    return datetime.now() - seen > timedelta(days=1)\n",
        "from datetime import datetime, timezone\ndef passed(deadline):\n"
        "    now = datetime.utcnow()\n    return now >= datetime.fromtimestamp(deadline, timezone.utc)\n",
        # the incident: stored naive, compared with aware values elsewhere in the file
        "from datetime import datetime, timedelta, timezone\n"
        "def issue(session, user):\n    session.add(Token(user=user, created_at=datetime.utcnow()))\n"
        "def expired(token):\n"
        "    return datetime.now(timezone.utc) - token.created_at > timedelta(hours=1)\n",
        "from datetime import datetime\nfrom django.utils import timezone\ndef touch(row):\n"
        "    return {'created_at': datetime.utcnow(), 'updated_at': timezone.now()}\n",
        "from datetime import datetime\nfrom sqlalchemy import Column, DateTime\n"
        "class Row(Base):\n    created = Column(DateTime(timezone=True), default=datetime.utcnow)\n",
        "from datetime import datetime\nfrom zoneinfo import ZoneInfo\n"
        "start = datetime.utcnow().replace(tzinfo=ZoneInfo('Europe/Paris'))\n",
        # -- warnings: deprecated, but nothing here reads the UTC fields as local time
        Example(
            "from datetime import datetime\nx = datetime.utcnow()\n",
            fix="from datetime import datetime, timezone\nx = datetime.now(timezone.utc)\n",
            unsafe=True,  # a public module-level name: its readers are out of sight
            severity=_W,
        ),
        Example(
            "import datetime as dt\nx = dt.datetime.utcfromtimestamp(ts)\n",
            fix="import datetime as dt\nx = dt.datetime.fromtimestamp(ts, dt.timezone.utc)\n",
            unsafe=True,
            severity=_W,
        ),
        Example(
            "from datetime import datetime as DT\nx = DT.utcnow()\n",
            fix="from datetime import datetime as DT, timezone\nx = DT.now(timezone.utc)\n",
            unsafe=True,
            severity=_W,
        ),
        Example(
            "import datetime\nx = datetime.datetime.utcnow()\n",
            fix="import datetime\nx = datetime.datetime.now(datetime.timezone.utc)\n",
            unsafe=True,
            severity=_W,
        ),
        Example(
            "def f(ts):\n    import datetime\n    return datetime.datetime.utcfromtimestamp(ts)\n",
            fix="from datetime import timezone\ndef f(ts):\n    import datetime\n"
            "    return datetime.datetime.fromtimestamp(ts, timezone.utc)\n",
            unsafe=True,  # returned (an error: the callers see no zone), callers out of sight
        ),
        Example(
            "from datetime import datetime, timezone\n"
            "x = datetime.utcnow().replace(tzinfo=timezone.utc)\n",
            fix="from datetime import datetime, timezone\n"
            "x = datetime.now(timezone.utc).replace(tzinfo=timezone.utc)\n",
            severity=_W,
            exercise="assert x.utcoffset().total_seconds() == 0\n",
        ),
        # compared with a value of unknown convention: probably naive UTC as well
        Example(
            "from datetime import datetime\ndef expired(t):\n    now = datetime.utcnow()\n    return now > t\n",
            fix="from datetime import datetime, timezone\ndef expired(t):\n"
            "    now = datetime.now(timezone.utc)\n    return now > t\n",
            unsafe=True,
            severity=_W,
        ),
        # an offset-less ISO string: whether its reader assumes UTC cannot be seen here
        Example(
            "from datetime import datetime\nstamp = datetime.utcnow().isoformat()\n",
            fix="from datetime import datetime, timezone\nstamp = datetime.now(timezone.utc).isoformat()\n",
            unsafe=True,
            severity=_W,
        ),
        Example(
            "from datetime import datetime\nclass Clock:\n    def now(self):\n        return datetime.utcfromtimestamp(self.ts)\n",
            fix="from datetime import datetime, timezone\nclass Clock:\n    def now(self):\n"
            "        return datetime.fromtimestamp(self.ts, timezone.utc)\n",
            unsafe=True,
        ),
        # every read in sight and unchanged by an aware value: safe
        Example(
            "import datetime\ndef amz_date(log):\n    now = datetime.datetime.utcnow()\n"
            "    log.debug('signing at %s', now)\n    return now.strftime('%Y%m%dT%H%M%SZ')\n",
            fix="import datetime\ndef amz_date(log):\n    now = datetime.datetime.now(datetime.timezone.utc)\n"
            "    log.debug('signing at %s', now)\n    return now.strftime('%Y%m%dT%H%M%SZ')\n",
            severity=_W,
            exercise="import logging\nassert amz_date(logging.getLogger()).endswith('Z')\n",
        ),
        # `.timestamp()` of naive UTC fields takes them for local time: the fix changes the number
        Example(
            "from datetime import datetime\ndef epoch():\n    return datetime.utcnow().timestamp()\n",
            fix="from datetime import datetime, timezone\ndef epoch():\n"
            "    return datetime.now(timezone.utc).timestamp()\n",
            unsafe=True,
        ),
        # no rewrite for a call whose arguments cannot be read
        Example("import datetime\ndatetime.datetime.utcfromtimestamp(*args)\n", severity=_W),
        Example(
            "from datetime import datetime\ncreated = Column(DateTime, default=datetime.utcnow)\n",
            fix="from datetime import datetime, timezone\n"
            "created = Column(DateTime, default=lambda: datetime.now(timezone.utc))\n",
            unsafe=True,
        ),
        Example(
            "import datetime as dt\nstamps = list(map(dt.datetime.utcfromtimestamp, seconds))\n",
            severity=_W,
        ),
        # formatted into a string labelled UTC; compared only with naive UTC (botocore)
        Example(
            "import datetime\ndef amz_date():\n"
            "    return datetime.datetime.utcnow().strftime('%Y%m%dT%H%M%SZ')\n",
            severity=_W,
        ),
        Example(
            "import datetime\ndef refresh_due(text, margin):\n"
            "    expires = datetime.datetime.strptime(text, '%Y-%m-%dT%H:%M:%SZ')\n"
            "    return datetime.datetime.utcnow() >= expires - margin\n",
            severity=_W,
        ),
        # stored: whoever reads the field back sees no zone (pymongo)
        "import datetime\ndef extend(coll, q, ttl):\n"
        "    coll.update_one(q, {'$set': {'expire_at': datetime.datetime.utcnow() + ttl}})\n",
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._safety = FixSafety(ctx, timestamp_same=False)
        self._conventions = Conventions(ctx)
        self._pending: dict[cst.CSTNode, list[_Candidate]] = {}
        self._stores: dict[_Candidate, list[str]] = {}

    # -- the traversal: note the candidates and the calls that tell a value's convention ----
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
        self._add(_Candidate(node, method, fix, called=False))

    def visit_Call(self, node: cst.Call) -> None:
        if self._conventions.record(node) in NAIVE_UTC_CALLS:
            self._candidate(node, callee_name(node))

    def _candidate(self, node: cst.Call, method: str) -> None:
        func = node.func
        utc, imports = utc_expression(self.ctx)
        if not isinstance(func, cst.Attribute):
            new = None  # an alias of the method: no spelling of `now` to rewrite it to
        elif method == "utcnow":
            new = None if node.args else node.with_changes(
                func=func.with_changes(attr=cst.Name("now")), args=[cst.Arg(utc)]
            )
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
        fix = None
        if new is not None:
            fix = FixSpec(
                f"Use `{_instead(method)}`",
                ((node, new),),
                safe=False,  # settled in `finish`, once every read of the value is known
                imports=imports,
            )
        candidate = _Candidate(node, method, fix, called=True)
        first = next(chained_methods(self.ctx, node), None)
        candidate.aware = first is not None and first[0] == "replace" and made_aware(self.ctx, node)
        self._add(candidate)

    def _add(self, candidate: _Candidate) -> None:
        self._pending.setdefault(unit_of(self.ctx), []).append(candidate)

    def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
        if node in self._pending:
            self._decide(node)

    def leave_ClassDef(self, node: cst.ClassDef) -> None:
        if node in self._pending:
            self._decide(node)

    def finish(self) -> None:
        if self.ctx.module in self._pending:
            self._decide(self.ctx.module)
        if self._stores:
            confirmed = self._conventions.stored_with_others({n for names in self._stores.values() for n in names})
            for candidate, names in self._stores.items():
                found = next((n for n in names if n in confirmed), None)
                self._emit(
                    candidate,
                    f"it is stored as `{names[0]}`, and its readers see no zone" if found is None
                    else f"it is stored as `{found}`, which this file {confirmed[found]}",
                )
        self._safety.settle()

    # -- the unit's data flow ------------------------------------------------------------
    def _decide(self, unit: cst.CSTNode) -> None:
        flow = local_flow(unit, nested_bodies=False)
        parents = unit_parents(unit)
        names = self._name_kinds(flow)
        for candidate in self._pending.pop(unit):
            stores: list[str] = []
            if candidate.called:
                reason = self._follow(candidate.node, parents, flow, names, stores, set(), _MAX_FOLLOW)
            else:
                reason = self._passed(candidate.node, parents, stores)
            if reason is None and stores:
                self._stores[candidate] = stores  # decided once the whole file is known
            else:
                self._emit(candidate, reason)

    def _name_kinds(self, flow: LocalFlow) -> dict[str, str]:
        """The convention of each local name all of whose assignments agree on one."""
        return settle_kinds(flow, lambda value, known: self._conventions.of(value, known))

    def _follow(
        self,
        node: cst.CSTNode,
        parents: dict[cst.CSTNode, cst.CSTNode],
        flow: LocalFlow,
        names: dict[str, str],
        stores: list[str],
        seen: set[str],
        budget: int,
    ) -> str | None:
        """Why the naive UTC value of `node` is read as local time or mixed with another
        convention, or None; real-time names it is stored under go to `stores`."""
        current = node
        while True:
            parent = parents.get(current)
            if parent is None:
                return None
            if isinstance(parent, cst.Attribute):
                if parent.value is not current:
                    return None
                call = parents.get(parent)
                if not (isinstance(call, cst.Call) and call.func is parent):
                    return None  # `.year`, `.hour`: the fields themselves are right
                method = parent.attr.value
                if method in ("timestamp", "astimezone"):
                    return f"`.{method}()` reads it as server-local time"
                if method == "replace":
                    if any(a.star for a in call.args):
                        return None
                    tz = argument(call, 7, "tzinfo")
                    if tz is None or is_none(tz.value):
                        current = call
                        continue
                    if other_zone(tz.value):
                        return "`.replace(tzinfo=...)` labels its UTC fields with another zone"
                    return None
                if method == "strftime" and call.args:
                    pattern = string_value(call.args[0].value)
                    if pattern is not None and "%s" in pattern.replace("%%", ""):
                        return "`strftime('%s')` reads it as server-local time"
                    return None
                if method == "timetuple":
                    arg = parents.get(call)
                    outer = parents.get(arg) if arg is not None else None
                    if isinstance(outer, cst.Call) and self._conventions.calls.get(outer) == "time.mktime":
                        return "`time.mktime()` reads its fields as server-local time"
                return None
            if isinstance(parent, cst.BinaryOperation):
                other = parent.right if parent.left is current else parent.left
                kind = self._conventions.of(other, names)
                if kind in (NAIVE_LOCAL, AWARE) and isinstance(parent.operator, cst.Subtract):
                    if kind == NAIVE_LOCAL and current is node and isinstance(node, cst.Call) \
                            and same_instant(node, other):
                        return None
                    return f"it is subtracted with {_a(kind)} value"
                if isinstance(parent.operator, cst.Subtract) and isinstance(other, cst.Call) \
                        and not duration_like(other):
                    return None  # `stamp - datetime(1970, 1, 1)`: a timedelta from here on
                if isinstance(parent.operator, cst.Add) or (
                    isinstance(parent.operator, cst.Subtract) and parent.left is current
                    and kind is None
                ):
                    current = parent  # shifted by a duration: still a naive UTC point
                    continue
                return None
            if isinstance(parent, (cst.Comparison, cst.ComparisonTarget)):
                comparison = parent if isinstance(parent, cst.Comparison) else parents.get(parent)
                if not isinstance(comparison, cst.Comparison) or not all(
                    isinstance(c.operator, _ORDERING) for c in comparison.comparisons
                ):
                    return None
                for operand in (comparison.left, *(c.comparator for c in comparison.comparisons)):
                    if operand is not current:
                        kind = self._conventions.of(operand, names)
                        if kind in (NAIVE_LOCAL, AWARE):
                            return f"it is compared with {_a(kind)} value"
                return None
            if isinstance(parent, (cst.Element, cst.Tuple, cst.List)):
                current = parent  # `(stamp,)` handed to `execute()` is sent all the same
                continue
            if isinstance(parent, cst.IfExp) and parent.test is not current:
                current = parent
                continue
            if isinstance(parent, (cst.Assign, cst.AnnAssign, cst.NamedExpr)):
                if parent.value is not current:
                    return None
                targets = (
                    [t.target for t in parent.targets] if isinstance(parent, cst.Assign)
                    else [parent.target]
                )
                for target in targets:
                    if isinstance(target, cst.Name):
                        name = target.value
                        if names.get(name) != NAIVE_UTC or name in seen or budget <= 0:
                            continue
                        seen.add(name)
                        for load in flow.loads.get(name, ()):
                            reason = self._follow(load, parents, flow, names, stores, seen, budget - 1)
                            if reason is not None:
                                return reason
                    else:
                        key = storage_name(target)
                        if key is not None:
                            stores.append(key)
                return None
            if isinstance(parent, cst.Arg):
                return self._argument(parent, parents, names, stores)
            if isinstance(parent, (cst.Return, cst.Yield)):
                return ("it is returned to callers, who may read its fields as local time or "
                        "compare it with aware values")
            if isinstance(parent, cst.DictElement) and parent.value is current:
                key = string_value(parent.key)
                container = parents.get(parent)
                if key is not None and realtime_name(key) and isinstance(container, cst.Dict):
                    others = [e.value for e in container.elements if e is not parent]
                    if self._conventions.mixed(others, names):
                        return f"it is stored as `{key}` next to values of another convention"
                    stores.append(key)
                return None
            return None

    def _argument(
        self,
        arg: cst.Arg,
        parents: dict[cst.CSTNode, cst.CSTNode],
        names: dict[str, str],
        stores: list[str],
    ) -> str | None:
        call = parents.get(arg)
        if not isinstance(call, cst.Call):
            return None
        if arg.keyword is None:
            func = call.func
            if (
                isinstance(func, cst.Attribute) and func.attr.value == "localize"
                and call.args[0] is arg and other_zone(func.value)
            ):
                return "`.localize()` labels its UTC fields with another zone"
            if callee_name(call) in SENDING_CALLS:
                return f"it is sent to `{callee_name(call)}()`, whose reader sees no zone"
            return None
        keyword = arg.keyword.value
        others = [a.value for a in call.args if a is not arg]
        if keyword in COLUMN_DEFAULTS and any(aware_column_type(o) for o in others):
            return "it is the default of a column declared `DateTime(timezone=True)`"
        if realtime_name(keyword):
            if self._conventions.mixed(others, names):
                return f"it is stored as `{keyword}` next to values of another convention"
            stores.append(keyword)
        elif keyword in COLUMN_DEFAULTS:
            target = assigned_name(call, parents)  # `created_at = Column(default=...)`
            if target is not None and realtime_name(target):
                stores.append(target)
        return None

    def _passed(
        self, node: cst.CSTNode, parents: dict[cst.CSTNode, cst.CSTNode], stores: list[str]
    ) -> str | None:
        """The uncalled method: only what the receiving column or field says matters."""
        arg = parents.get(node)
        if not isinstance(arg, cst.Arg):
            return None
        return self._argument(arg, parents, {}, stores)

    def _emit(self, candidate: _Candidate, reason: str | None) -> None:
        method, instead = candidate.method, _instead(candidate.method)
        if reason is not None:
            message = (
                f"`{method}()` returns a naive datetime holding UTC fields, and {reason}: the "
                f"instant is off by the server's UTC offset; use `{instead}`."
            )
        elif not candidate.called:
            message = (
                f"`{method}` is called later and returns a naive datetime holding UTC fields "
                "(deprecated since Python 3.12); pass a callable returning an aware value, "
                "e.g. `lambda: datetime.now(timezone.utc)`."
            )
        elif candidate.aware:
            message = (
                f"`{method}()` is deprecated since Python 3.12 and builds a naive value first; "
                f"use `{instead}`."
            )
        else:
            message = (
                f"`{method}()` is deprecated since Python 3.12 and returns a naive datetime "
                f"holding UTC fields, which a reader may take for local time; use `{instead}`."
            )
        self.report(
            candidate.node,
            message,
            candidate.fix,
            severity=None if reason is not None else Severity.WARNING,
        )
        if candidate.called and candidate.fix is not None:
            self._safety.track(candidate.node, self.ctx.pending[-1])


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def _instead(method: str) -> str:
    return "datetime.now(timezone.utc)" if method == "utcnow" else "datetime.fromtimestamp(x, timezone.utc)"
