from __future__ import annotations

import libcst as cst

from rules.analysis.syntax import iter_nodes
from rules.model import Severity
from rules.rule import Example, FixSpec, Rule

# Calls that read the current time whatever their arguments are.
_NOW = frozenset(
    {
        "datetime.datetime.now", "datetime.datetime.utcnow", "datetime.datetime.today",
        "datetime.date.today", "time.time", "time.time_ns",
        *(f"time.{name}{suffix}"
          for name in ("monotonic", "perf_counter", "process_time", "thread_time")
          for suffix in ("", "_ns")),
        "django.utils.timezone.now", "pendulum.now", "pendulum.today", "arrow.now", "arrow.utcnow",
    }
)
# Calls that read the current time only when given no time of their own.
_NOW_WITHOUT_ARGS = {"time.localtime": 0, "time.gmtime": 0, "time.ctime": 0, "time.asctime": 0,
                     "time.strftime": 1}
_ATTRS = frozenset(q.rpartition(".")[2] for q in (*_NOW, *_NOW_WITHOUT_ARGS))

# Field constructors whose default is a value: family -> the keyword of a callable default.
_DATACLASS, _ATTRS_FAMILY, _PYDANTIC, _SQLALCHEMY, _DJANGO = (
    "dataclasses", "attrs", "pydantic", "sqlalchemy", "django"
)
_FACTORIES: dict[str, str] = {
    "dataclasses.field": _DATACLASS,
    "attr.ib": _ATTRS_FAMILY, "attr.attrib": _ATTRS_FAMILY, "attr.field": _ATTRS_FAMILY,
    "attrs.field": _ATTRS_FAMILY,
    "pydantic.Field": _PYDANTIC, "pydantic.fields.Field": _PYDANTIC, "sqlmodel.Field": _PYDANTIC,
    "sqlalchemy.Column": _SQLALCHEMY, "sqlalchemy.schema.Column": _SQLALCHEMY,
    "sqlalchemy.sql.schema.Column": _SQLALCHEMY, "sqlalchemy.orm.mapped_column": _SQLALCHEMY,
}
_VALUE_KEYWORDS = {  # keywords that take the value itself; positional index of the default
    _DATACLASS: ({"default"}, None),
    _ATTRS_FAMILY: ({"default"}, 0),
    _PYDANTIC: ({"default"}, 0),
    _SQLALCHEMY: ({"default", "onupdate", "insert_default"}, None),
    _DJANGO: ({"default"}, None),
}
_FACTORY_KEYWORD = {
    _DATACLASS: "default_factory", _ATTRS_FAMILY: "factory", _PYDANTIC: "default_factory",
}
_MODEL_BASES = {"pydantic.BaseModel": "pydantic.Field", "sqlmodel.SQLModel": "sqlmodel.Field"}


def _short(qualified: str) -> str:
    return ".".join(qualified.split(".")[-2:]) + "()"


def _reassigned(cls: cst.ClassDef, names: set[str]) -> set[str]:
    """Which of `names` the class's methods assign through `self.<name> = ...` (or `cls.`).

    Read only for a class holding a frozen clock read, which is rare: the scan is cheap.
    """
    found: set[str] = set()
    for node in iter_nodes(cls.body):
        targets: list[cst.BaseExpression] = []
        if isinstance(node, cst.Assign):
            targets = [t.target for t in node.targets]
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign)):
            targets = [node.target]
        for target in targets:
            if (
                isinstance(target, cst.Attribute)
                and target.attr.value in names
                and isinstance(target.value, cst.Name)
                and target.value.value in ("self", "cls")
            ):
                found.add(target.attr.value)
    return found


class FrozenNow(Rule):
    """The current time read once, when a definition runs, instead of at each use.

    What it flags:
    A clock call (`datetime.now()`, `date.today()`, `time.time()`, Django's
    `timezone.now()`...) evaluated once, when a definition runs: in a default argument
    value, in a class attribute, or as the value default of a dataclass, attrs, pydantic,
    SQLAlchemy or Django field.

    Why it is risky:
    A default value is computed once, when the `def` or the class body runs (usually at
    import), and then shared: every call, instance or row gets the time the process
    started, and records look older and older. Bad:
    `created_at: datetime = field(default=datetime.now(timezone.utc))`.

    How to fix:
    Pass a callable that is called for each value: `default_factory=` (dataclasses,
    pydantic), `factory=` (attrs), a callable `default=` (SQLAlchemy, Django); for a
    function argument default to `None` and read the clock in the body. Good:
    `created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))`.
    """

    code = "RG109"
    slug = "frozen-now"
    severity = Severity.ERROR

    DETAILS = """
    A clock call (`datetime.now()`, `datetime.utcnow()`, `datetime.today()`, `date.today()`,
    `time.time()`, `time.monotonic()` and the other `time` clocks, Django's `timezone.now()`)
    evaluated at definition time: in a default argument value; in a class attribute; or as
    the value default of a dataclass or attrs `field(default=...)`, a pydantic
    `Field(default=...)`, a SQLAlchemy `Column(default=...)` / `mapped_column(default=...)`
    (also `onupdate=`), or a Django model field's `default=`, wherever those calls are.
    A clock call inside a lambda runs when the lambda does and is fine; so is passing the
    function itself (`default=datetime.now`). Not flagged, as deliberate: module-level
    constants, class attributes spelled as constants (`STARTED = time.time()`) or
    annotated `ClassVar`, lambda default values (the "capture the value now" idiom), and a
    class attribute that the class's methods also assign through `self.<name> = ...`: it is
    only the initial value of per-instance state (a rate limit "already reset" at import
    time), replaced before it matters. A frozen time that nothing in the class reassigns
    stays flagged, and so does a dataclass or pydantic field, which every instance starts
    with whatever the methods do later.
    Unresolvable `db.Column(...)` (Flask-SQLAlchemy) counts as SQLAlchemy's `Column`.

    The fix (for field constructors and dataclass or pydantic fields whose value refers only
    to imported names) is offered as unsafe: each instance then gets its own time, which is
    the point, but it changes values that tests may compare.
    """

    VALID = [
        "from datetime import datetime, timezone\ndef f(when=None):\n"
        "    when = when or datetime.now(timezone.utc)\n    return when\n",
        "import time\ndef f():\n    started = time.time()\n    return started\n",
        "import time\nSTARTED = time.time()\n",
        "import time\nclass Server:\n    BOOT_TIME = time.time()\n",
        "import time\nfrom typing import ClassVar\nclass Server:\n    boot: ClassVar[float] = time.time()\n",
        "from dataclasses import dataclass, field\nfrom datetime import datetime, timezone\n"
        "@dataclass\nclass Event:\n"
        "    at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))\n",
        "from datetime import datetime\nfrom pydantic import BaseModel, Field\n"
        "class Event(BaseModel):\n    at: datetime = Field(default_factory=datetime.now)\n",
        "from datetime import datetime\nfrom sqlalchemy import Column, DateTime\n"
        "created = Column(DateTime, default=datetime.utcnow, onupdate=datetime.utcnow)\n",
        "from sqlalchemy import Column, DateTime, func\ncreated = Column(DateTime, server_default=func.now())\n",
        "import time\nclass Job:\n    def __init__(self):\n        self.started = time.time()\n",
        "import time\nclass Job:\n    def age(self, now=None):\n        return (now or time.time()) - self.started\n",
        "import time\ndef f(cb=lambda: time.time()):\n    return cb()\n",
        "import time\ncallbacks = [lambda t=time.time(): t]\n",
        "import time\nclass Job:\n    def run(self, timeout=30):\n        return time.monotonic() + timeout\n",
        "import time\ndef f(t=time.localtime):\n    return t()\n",
        "import time\ndef f(stamp=time.strftime('%Y', (2020, 1, 1, 0, 0, 0, 0, 1, 0))):\n    return stamp\n",
        # shadowed or unrelated names
        "class datetime:\n    @staticmethod\n    def now():\n        return 0\nclass C:\n    at = datetime.now()\n",
        "def f(time, x=None):\n    class C:\n        pass\n    return C\n",
        "from mylib import now\nclass C:\n    at = now()\n",
        "from django.db import models\nfrom django.utils import timezone\n"
        "class Post(models.Model):\n    created = models.DateTimeField(default=timezone.now)\n",
        # the initial value of state each instance overwrites (apprise's rate-limit reset)
        "from datetime import datetime, timezone\nclass Notify:\n"
        "    ratelimit_reset = datetime.now(timezone.utc).replace(tzinfo=None)\n"
        "    def fetch(self, headers):\n"
        "        self.ratelimit_reset = datetime.utcfromtimestamp(int(headers['reset']))\n",
    ]
    INVALID = [
        "import datetime\ndef log(msg, at=datetime.datetime.now()):\n    print(at, msg)\n",
        "from time import time as now\ndef touch(path, stamp=now()):\n    return path, stamp\n",
        "import time\nclass Job:\n    def wait(self, deadline=time.monotonic() + 30):\n        return deadline\n",
        "import datetime as dt\nclass Config:\n    loaded_at = dt.datetime.now(dt.timezone.utc)\n",
        "from datetime import date\nclass Report:\n    day: date = date.today()\n",
        "import time\ndef make():\n    class Stamp:\n        stamp = time.strftime('%Y-%m-%d')\n    return Stamp\n",
        # a dataclass field starts every instance with the import time, reassigned or not
        "from dataclasses import dataclass\nimport time\n@dataclass\nclass Entry:\n"
        "    seen: float = time.time()\n    def touch(self):\n        self.seen = time.time()\n",
        # another attribute is reassigned, not the frozen one
        "import time\nclass Job:\n    created = time.time()\n    def run(self):\n"
        "        self.started = time.time()\n",
        Example(
            "from dataclasses import dataclass, field\nfrom datetime import datetime, timezone\n"
            "@dataclass\nclass Event:\n    at: datetime = field(default=datetime.now(timezone.utc))\n",
            fix="from dataclasses import dataclass, field\nfrom datetime import datetime, timezone\n"
            "@dataclass\nclass Event:\n"
            "    at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))\n",
            unsafe=True,
        ),
        Example(
            "import dataclasses\nimport time\n@dataclasses.dataclass\nclass Event:\n"
            "    at: float = time.time()\n",
            fix="import dataclasses\nimport time\n@dataclasses.dataclass\nclass Event:\n"
            "    at: float = dataclasses.field(default_factory=time.time)\n",
            unsafe=True,
        ),
        Example(
            "from dataclasses import dataclass\nfrom datetime import datetime, timezone\n"
            "@dataclass\nclass Event:\n    name: str\n    at: datetime = datetime.now(timezone.utc)\n",
            fix="from dataclasses import dataclass, field\nfrom datetime import datetime, timezone\n"
            "@dataclass\nclass Event:\n    name: str\n"
            "    at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))\n",
            unsafe=True,
        ),
        Example(
            "from datetime import datetime\nfrom pydantic import BaseModel, Field\n"
            "class Event(BaseModel):\n    at: datetime = Field(datetime.utcnow(), description='when')\n",
            fix="from datetime import datetime\nfrom pydantic import BaseModel, Field\n"
            "class Event(BaseModel):\n"
            "    at: datetime = Field(default_factory=datetime.utcnow, description='when')\n",
            unsafe=True,
        ),
        Example(
            "from datetime import datetime\nimport pydantic\nclass Event(pydantic.BaseModel):\n"
            "    at: datetime = datetime.now()\n",
            fix="from datetime import datetime\nimport pydantic\nclass Event(pydantic.BaseModel):\n"
            "    at: datetime = pydantic.Field(default_factory=datetime.now)\n",
            unsafe=True,
        ),
        Example(
            "import attr\nimport time\n@attr.s\nclass Event:\n    at = attr.ib(default=time.time())\n",
            fix="import attr\nimport time\n@attr.s\nclass Event:\n    at = attr.ib(factory=time.time)\n",
            unsafe=True,
        ),
        Example(
            "from datetime import datetime, timezone\nimport sqlalchemy as sa\n"
            "events = sa.Table('events', sa.MetaData(),\n"
            "    sa.Column('at', sa.DateTime, default=datetime.now(timezone.utc)))\n",
            fix="from datetime import datetime, timezone\nimport sqlalchemy as sa\n"
            "events = sa.Table('events', sa.MetaData(),\n"
            "    sa.Column('at', sa.DateTime, default=lambda: datetime.now(timezone.utc)))\n",
            unsafe=True,
        ),
        Example(
            "from datetime import datetime\nfrom sqlalchemy.orm import Mapped, mapped_column\n"
            "class Row(Base):\n"
            "    updated: Mapped[datetime] = mapped_column(onupdate=datetime.utcnow())\n",
            fix="from datetime import datetime\nfrom sqlalchemy.orm import Mapped, mapped_column\n"
            "class Row(Base):\n"
            "    updated: Mapped[datetime] = mapped_column(onupdate=datetime.utcnow)\n",
            unsafe=True,
        ),
        # Flask-SQLAlchemy's `db` is an object, not an import
        Example(
            "from datetime import datetime\ndb = make_db()\nclass User(db.Model):\n"
            "    created = db.Column(db.DateTime, default=datetime.utcnow())\n",
            fix="from datetime import datetime\ndb = make_db()\nclass User(db.Model):\n"
            "    created = db.Column(db.DateTime, default=datetime.utcnow)\n",
            unsafe=True,
        ),
        Example(
            "from django.db import models\nfrom django.utils import timezone\n"
            "class Post(models.Model):\n    created = models.DateTimeField(default=timezone.now())\n",
            fix="from django.db import models\nfrom django.utils import timezone\n"
            "class Post(models.Model):\n    created = models.DateTimeField(default=timezone.now)\n",
            unsafe=True,
        ),
        # no fix: the value refers to a class-level name, which a lambda could not see
        "from dataclasses import dataclass, field\nfrom datetime import datetime\n"
        "@dataclass\nclass Event:\n    tz = None\n    at: datetime = field(default=datetime.now(tz))\n",
    ]

    def visit_Call(self, node: cst.Call) -> None:
        name = self.ctx.called(node, _ATTRS)
        if name is None:
            return
        if name not in _NOW:
            limit = _NOW_WITHOUT_ARGS.get(name)
            if limit is None or len(node.args) > limit:
                return
        self._place(node, name)

    def _place(self, node: cst.Call, name: str) -> None:
        """Find out when this call runs, walking up to the code that runs it."""
        chain = self.ctx.ancestors
        child: cst.CSTNode = node
        statement: cst.Assign | cst.AnnAssign | None = None
        in_default = False
        for i in range(len(chain) - 1, -1, -1):
            parent = chain[i]
            if isinstance(parent, cst.Lambda):
                return  # runs when the lambda is called (or is a deliberate capture)
            if isinstance(parent, cst.Arg) and i and isinstance(chain[i - 1], cst.Call):
                call = chain[i - 1]
                assert isinstance(call, cst.Call)
                family = self._field_family(call, parent)
                if family is not None:
                    self._report_field(node, name, call, parent, family)
                    return
            elif isinstance(parent, cst.Param):
                in_default = parent.default is child
            elif isinstance(parent, cst.FunctionDef):
                if in_default and child is parent.params:
                    self.report(
                        node,
                        f"`{_short(name)}` in a default argument is evaluated once, when "
                        f"`def {parent.name.value}` runs, and every call reuses that instant; "
                        "default to `None` and read the clock in the body.",
                    )
                return
            elif isinstance(parent, cst.ClassDef):
                if statement is not None and child is parent.body:
                    self._class_attribute(node, name, parent, statement)
                return
            elif isinstance(parent, (cst.Assign, cst.AnnAssign)) and statement is None:
                if parent.value is not child:
                    return
                statement = parent
            child = parent

    def _family(self, call: cst.Call) -> str | None:
        """Which field constructor `call` is, if any."""
        func = call.func
        qualified = self.ctx.qualified_name(func)
        if qualified is None:
            if isinstance(func, cst.Attribute) and func.attr.value in ("Column", "mapped_column"):
                return _SQLALCHEMY
            return None
        if qualified.startswith("django.db.models.") and qualified.endswith("Field"):
            return _DJANGO
        return _FACTORIES.get(qualified)

    def _is_factory(self, call: cst.Call) -> bool:
        return self._family(call) is not None

    def _field_family(self, call: cst.Call, arg: cst.Arg) -> str | None:
        """The family of `call` when `arg` is the value default it takes."""
        if arg.star:
            return None
        family = self._family(call)
        if family is None:
            return None
        keywords, position = _VALUE_KEYWORDS[family]
        if arg.keyword is not None:
            return family if arg.keyword.value in keywords else None
        positional = [a for a in call.args if a.keyword is None]
        if position is not None and any(a.star for a in positional[: position + 1]):
            return None
        if position is not None and len(positional) > position and positional[position] is arg:
            return family
        return None

    def _report_field(
        self, node: cst.Call, name: str, call: cst.Call, arg: cst.Arg, family: str
    ) -> None:
        keyword = arg.keyword.value if arg.keyword is not None else "default"
        replacement = _FACTORY_KEYWORD.get(family)
        advice = (
            f"use `{replacement}=` with a callable" if replacement
            else f"pass a callable (`{keyword}=lambda: ...` or the function itself)"
        )
        fix = None
        callable_ = self._deferred(arg.value)
        if callable_ is not None:
            new_keyword = replacement or keyword
            taken = {a.keyword.value for a in call.args if a.keyword is not None and a is not arg}
            last_positional = arg.keyword is not None or all(
                a.keyword is not None for a in call.args[call.args.index(arg) + 1:]
            )
            if new_keyword not in taken and last_positional:
                equal = arg.equal if isinstance(arg.equal, cst.AssignEqual) else cst.AssignEqual(
                    whitespace_before=cst.SimpleWhitespace(""),
                    whitespace_after=cst.SimpleWhitespace(""),
                )
                new_arg = arg.with_changes(
                    keyword=cst.Name(new_keyword), equal=equal, value=callable_
                )
                new_call = call.with_changes(
                    args=[new_arg if a is arg else a for a in call.args]
                )
                fix = FixSpec(
                    f"Pass a callable as `{new_keyword}=`", ((call, new_call),), safe=False
                )
        self.report(
            node,
            f"`{_short(name)}` is evaluated once, when this field is defined, and every "
            f"instance or row shares that instant; {advice}.",
            fix,
        )

    def _class_attribute(
        self, node: cst.Call, name: str, cls: cst.ClassDef, statement: cst.Assign | cst.AnnAssign
    ) -> None:
        targets = (
            [t.target for t in statement.targets]
            if isinstance(statement, cst.Assign) else [statement.target]
        )
        if all(isinstance(t, cst.Name) and t.value.isupper() for t in targets):
            return  # spelled as a constant: computed once on purpose
        if isinstance(statement, cst.AnnAssign) and self._is_classvar(statement.annotation.annotation):
            return
        fix = None
        field_name = self._model_field(cls) if isinstance(statement, cst.AnnAssign) else None
        names = {t.value for t in targets if isinstance(t, cst.Name)}
        # A dataclass or model field is each instance's value from construction on, so a
        # later reassignment does not make it harmless; a plain class attribute is only the
        # initial value of state the methods replace.
        if field_name is None and names and names <= _reassigned(cls, names):
            return
        if isinstance(statement.value, cst.Call) and self._is_factory(statement.value):
            field_name = None  # `field(metadata=...)`: wrapping it in another field is wrong
        callable_ = self._deferred(statement.value) if field_name and statement.value else None
        if field_name is not None and callable_ is not None and statement.value is not None:
            factory, imports = self.ctx.name_for(field_name)
            new = cst.Call(
                factory,
                [cst.Arg(
                    callable_,
                    keyword=cst.Name("default_factory"),
                    equal=cst.AssignEqual(
                        whitespace_before=cst.SimpleWhitespace(""),
                        whitespace_after=cst.SimpleWhitespace(""),
                    ),
                )],
            )
            fix = FixSpec(
                "Compute the value per instance with default_factory",
                ((statement.value, new),),
                safe=False,
                imports=imports,
            )
        self.report(
            node,
            f"`{_short(name)}` in a class attribute is evaluated once, when class "
            f"`{cls.name.value}` is defined (usually at import), and shared by every instance; "
            "compute it per instance (`default_factory=`, or in `__init__`).",
            fix,
        )

    def _is_classvar(self, annotation: cst.BaseExpression) -> bool:
        base = annotation.value if isinstance(annotation, cst.Subscript) else annotation
        return self.ctx.qualified_name(base) in ("typing.ClassVar", "typing_extensions.ClassVar")

    def _model_field(self, cls: cst.ClassDef) -> str | None:
        """`dataclasses.field` / `pydantic.Field` when the class is a dataclass / model."""
        for decorator in cls.decorators:
            expr = decorator.decorator
            if isinstance(expr, cst.Call):
                expr = expr.func
            if self.ctx.qualified_name(expr) == "dataclasses.dataclass":
                return "dataclasses.field"
        for base in cls.bases:
            if base.keyword is None:
                field_name = _MODEL_BASES.get(self.ctx.qualified_name(base.value) or "")
                if field_name is not None:
                    return field_name
        return None

    def _deferred(self, value: cst.BaseExpression) -> cst.BaseExpression | None:
        """A callable computing `value` at each use, if deferring cannot change what it
        refers to: every name in it must be an import or a builtin (a lambda in a class body
        cannot see the class's names, and a module variable may be rebound later)."""
        not_references: set[cst.CSTNode] = set()  # attribute and keyword names
        for inner in iter_nodes(value):
            if isinstance(inner, (cst.Lambda, cst.Yield, cst.Await, cst.NamedExpr,
                                  cst.BaseComp, cst.StarredElement)):
                return None
            if isinstance(inner, cst.Attribute):
                not_references.add(inner.attr)
            elif isinstance(inner, cst.Arg) and inner.keyword is not None:
                not_references.add(inner.keyword)
            elif (
                isinstance(inner, cst.Name)
                and inner not in not_references
                and self.ctx.qualified_name(inner) is None
            ):
                return None
        if isinstance(value, cst.Call) and not value.args and self._dotted(value.func):
            return value.func.with_changes(lpar=(), rpar=())
        return cst.Lambda(cst.Parameters(), value.with_changes(lpar=(), rpar=()))

    @staticmethod
    def _dotted(node: cst.BaseExpression) -> bool:
        while isinstance(node, cst.Attribute):
            node = node.value
        return isinstance(node, cst.Name)
