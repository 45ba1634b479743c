"""Questions several rules ask about a node: its arguments, its surroundings, its data flow."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from rules.engine import Context, _child_fields
from rules.scope import Scope

DATETIME = "datetime.datetime"
DATE = "datetime.date"


def iter_nodes(root: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Every node under `root` (itself included), pre-order, without recursion."""
    stack: list[cst.CSTNode] = [root]
    while stack:
        node = stack.pop()
        yield node
        for name in reversed(_child_fields(type(node))):
            value = getattr(node, name)
            if isinstance(value, cst.CSTNode):
                stack.append(value)
            elif type(value) is tuple or type(value) is list:
                stack.extend(reversed(value))


def argument(call: cst.Call, position: int | None, keyword: str | None) -> cst.Arg | None:
    """The argument passed as `keyword=` (found even after `*args`: `f(*parts, tz=x)`), or
    at `position` when no `*args` precede it."""
    index = 0
    positional_known = True
    for arg in call.args:
        if arg.keyword is not None:
            if keyword is not None and arg.keyword.value == keyword:
                return arg
        elif arg.star:
            positional_known = False
        else:
            if positional_known and position is not None and index == position:
                return arg
            index += 1
    return None


def has_star_args(call: cst.Call) -> bool:
    return any(arg.star for arg in call.args)


def is_none(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value == "None"


def chained_call(ctx: Context, node: cst.CSTNode) -> tuple[str, cst.Call] | None:
    """For `node` being the current node: `("astimezone", <call>)` when the source reads
    `<node>.astimezone(...)`."""
    chain = ctx.ancestors
    if len(chain) < 2:
        return None
    attr, call = chain[-1], chain[-2]
    if (
        isinstance(attr, cst.Attribute)
        and attr.value is node
        and isinstance(call, cst.Call)
        and call.func is attr
    ):
        return attr.attr.value, call
    return None


def is_discarded(ctx: Context) -> bool:
    """The current expression is a statement of its own: its value is thrown away."""
    parent = ctx.parent
    return isinstance(parent, cst.Expr)


def string_value(node: cst.BaseExpression | None) -> str | None:
    """The value of a plain or implicitly concatenated string literal, else None."""
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    if isinstance(node, cst.ConcatenatedString):
        left, right = string_value(node.left), string_value(node.right)
        if left is None or right is None:
            return None
        return left + right
    return None


def utc_expression(ctx: Context) -> tuple[cst.BaseExpression, tuple[tuple[str, str], ...]]:
    """`timezone.utc` spelled the way this file imports things, and the imports it needs."""
    tz, imports = ctx.name_for("datetime.timezone")
    return cst.Attribute(tz, cst.Name("utc")), imports


# -- the time rules: what happens to a datetime value right where it is made ------------------


def chained_methods(ctx: Context, node: cst.CSTNode) -> Iterator[tuple[str, cst.Call]]:
    """For `node` being the current node: the methods called directly on its value, in order.

    `<node>.replace(...).astimezone()` yields `("replace", <call>)`, then `("astimezone", <call>)`.
    """
    chain = ctx.ancestors
    current = node
    i = len(chain) - 1
    while i >= 1:
        attr, call = chain[i], chain[i - 1]
        if not (
            isinstance(attr, cst.Attribute)
            and attr.value is current
            and isinstance(call, cst.Call)
            and call.func is attr
        ):
            return
        yield attr.attr.value, call
        current = call
        i -= 2


def made_aware(ctx: Context, node: cst.CSTNode) -> bool:
    """The datetime made by `node` (the current node) is turned aware by the calls chained on
    it: `.astimezone(...)`, or `.replace(tzinfo=<not None>)`, possibly among other `.replace()`s.

    A `.replace(**kwargs)` may carry a zone: it counts as aware (precision over recall).
    """
    aware = False
    for method, call in chained_methods(ctx, node):
        if method == "astimezone":
            return True
        if method != "replace":
            break
        if any(arg.star == "**" for arg in call.args):
            return True
        tz = argument(call, 7, "tzinfo")
        if tz is not None:
            aware = not is_none(tz.value)
    return aware


def attaches_zone(ctx: Context, node: cst.CSTNode) -> bool:
    """`node` (the current node) is passed straight to a call that attaches a zone to a naive
    value: pytz's `tz.localize(<node>)` or Django's `make_aware(<node>, ...)`.

    pytz zones are objects, so `localize` is recognised as a method name; `make_aware` is
    recognised under any spelling (`timezone.make_aware`, a project's own helper of that name).
    """
    chain = ctx.ancestors
    if len(chain) < 2:
        return False
    arg, call = chain[-1], chain[-2]
    if not (isinstance(arg, cst.Arg) and arg.value is node and isinstance(call, cst.Call)):
        return False
    if arg.keyword is None:
        if arg.star or call.args[0] is not arg:
            return False
    elif arg.keyword.value not in ("dt", "value"):
        return False
    func = call.func
    if isinstance(func, cst.Attribute):
        return func.attr.value in ("localize", "make_aware")
    return isinstance(func, cst.Name) and func.value == "make_aware"


def names_importing(ctx: Context, qualified: str) -> frozenset[str]:
    """Every bare name that some scope of this file binds by importing `qualified`.

    A call through any other bare name cannot be `qualified`, so a rule can skip resolving it.
    """
    return frozenset(
        name
        for scope in ctx._scopes.values()
        for name, values in scope.bindings.items()
        if qualified in values
    )


def binding_scope(scope: Scope, name: str) -> Scope | None:
    """The scope whose binding `name` denotes when read from `scope` (None: a builtin).

    The same walk as `Scope.resolve`, returning where the binding lives instead of what it is.
    """
    current: Scope | None = scope
    first = True
    while current is not None:
        if name in current.globals:
            while current.parent is not None:
                current = current.parent
        if current.kind == "class" and not first:
            current = current.parent
            continue
        if name in current.bindings and name not in current.nonlocals:
            return current
        first = False
        current = current.parent
    return None


def _compared_names(body: cst.CSTNode) -> frozenset[str]:
    names: set[str] = set()
    for inner in iter_nodes(body):
        operands: list[cst.BaseExpression] = []
        if isinstance(inner, cst.Comparison):
            operands = [inner.left, *(c.comparator for c in inner.comparisons)]
        elif isinstance(inner, cst.BinaryOperation) and isinstance(inner.operator, cst.Subtract):
            operands = [inner.left, inner.right]
        names.update(o.value for o in operands if isinstance(o, cst.Name))
    return frozenset(names)


def naive_value_relied_on(
    ctx: Context, node: cst.CSTNode, cache: dict[cst.CSTNode, frozenset[str]]
) -> bool:
    """Turning the naive value of `node` (the current node) aware could break or change code
    near it: it is compared or subtracted (naive vs aware raises), directly or through the
    name it is assigned to in the same function, or formatted with `.isoformat()` / `str()`
    (which then gain a `+00:00`). `cache` holds the per-body scan, keyed by function or module.
    """
    parent = ctx.parent
    if isinstance(parent, (cst.Comparison, cst.ComparisonTarget, cst.BinaryOperation)):
        return True
    if isinstance(parent, cst.FormattedStringExpression):
        return True
    for method, _call in chained_methods(ctx, node):
        if method in ("isoformat", "__str__"):
            return True
        break
    chain = ctx.ancestors
    if (
        isinstance(parent, cst.Arg)
        and len(chain) >= 2
        and isinstance(chain[-2], cst.Call)
        and isinstance(chain[-2].func, cst.Name)
        and chain[-2].func.value in ("str", "repr")
    ):
        return True
    names: set[str] = set()
    if isinstance(parent, cst.Assign):
        names = {t.target.value for t in parent.targets if isinstance(t.target, cst.Name)}
    elif isinstance(parent, cst.AnnAssign) and isinstance(parent.target, cst.Name):
        names = {parent.target.value}
    if not names:
        return False
    body: cst.CSTNode = ctx.enclosing_function() or ctx.module
    compared = cache.get(body)
    if compared is None:
        compared = cache[body] = _compared_names(body)
    return not names.isdisjoint(compared)


# -- Local data flow: what a name holds, and how its value is used afterwards --------------
# The storage rules recognise a few bindings during the traversal and answer their
# questions once per function that holds a candidate.

_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)


def target_names(target: cst.BaseExpression) -> list[str]:
    """The plain names an assignment or loop target binds (`a, (b, *c)` -> a, b, c)."""
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for element in target.elements for n in target_names(element.value)]
    if isinstance(target, cst.StarredElement):
        return target_names(target.value)
    return []


class KnownBindings:
    """Names all of whose bindings in their scope gave a value of one recognised kind.

    A rule records the bindings it recognises (`s = requests.Session()` as "http-client").
    The scope pre-pass counts every binding of every name (assignments, parameters, loop
    variables, imports...), so a name has a kind only when the rule recognised exactly that
    many: any other binding anywhere in the scope makes the name's value unknown.
    """

    OTHER = "other"

    def __init__(self) -> None:
        self._kinds: dict[tuple[Scope, str], list[str]] = {}

    def record(self, scope: Scope, name: str, kind: str) -> None:
        if name in scope.globals:  # the pre-pass counts it as a module binding
            while scope.parent is not None:
                scope = scope.parent
        elif name in scope.nonlocals:
            # counted in this scope, yet it rebinds the outer name: make that one unknown
            owner = binding_scope(scope.parent, name) if scope.parent is not None else None
            if owner is not None:
                self._kinds.setdefault((owner, name), []).append(self.OTHER)
            return
        self._kinds.setdefault((scope, name), []).append(kind)

    def kind(self, scope: Scope, name: str) -> str | None:
        owner = binding_scope(scope, name)
        if owner is None:
            return None
        kinds = self._kinds.get((owner, name))
        if not kinds or len(kinds) != len(owner.bindings[name]):
            return None
        first = kinds[0]
        return first if first != self.OTHER and all(k == first for k in kinds) else None


def shadowed_here(ctx: Context, name: str) -> bool:
    """`name` is bound by a lambda parameter or a comprehension variable around the current
    node: bindings the statement-level scope pre-pass does not see."""
    for node in reversed(ctx.ancestors):
        if isinstance(node, cst.FunctionDef):
            return False
        if isinstance(node, cst.Lambda):
            params = node.params
            names = [p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)]
            names += [p.name.value for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]
            if name in names:
                return True
        elif isinstance(node, _COMPREHENSIONS):
            comp: cst.CompFor | None = node.for_in
            while comp is not None:
                if name in target_names(comp.target):
                    return True
                comp = comp.inner_for_in
    return False


def references(root: cst.CSTNode, name: str) -> Iterator[tuple[cst.Name, cst.CSTNode | None]]:
    """Every occurrence of the variable `name` under `root`, with its parent node.

    Attribute names (`x.name`) and keyword names (`f(name=...)`) are not variables and are
    skipped; everything else (reads, bindings, `global name`) is yielded.
    """
    stack: list[tuple[cst.CSTNode, cst.CSTNode | None]] = [(root, None)]
    while stack:
        node, parent = stack.pop()
        if type(node) is cst.Name:
            if node.value == name and not (
                (type(parent) is cst.Attribute and parent.attr is node)
                or (type(parent) is cst.Arg and parent.keyword is node)
            ):
                yield node, parent
            continue
        for field_name in reversed(_child_fields(type(node))):
            value = getattr(node, field_name)
            if isinstance(value, cst.CSTNode):
                stack.append((value, node))
            elif type(value) is tuple or type(value) is list:
                stack.extend((v, node) for v in reversed(value))


def reads_only_attributes(
    root: cst.CSTNode, name: str, binding: cst.Name, attributes: frozenset[str]
) -> bool:
    """Every use of `name` under `root`, apart from the `binding` itself, reads one of
    `attributes` (`r.json()`, `r.text`); also true when the name is never used.

    Anything else (returned, passed on, tested, another attribute, rebound...) might check
    the value, so the answer is False: the rules that ask prefer silence to a false alarm.
    """
    for node, parent in references(root, name):
        if node is binding:
            continue
        if not (type(parent) is cst.Attribute and parent.value is node and parent.attr.value in attributes):
            return False
    return True


def value_use(ctx: Context, node: cst.BaseExpression) -> tuple[str, cst.CSTNode | None]:
    """How the value of the current expression `node` is used, looking through `await`.

    ("discarded", None): an expression statement of its own. ("assigned", <Name>): the value
    of `x = ...` or `x: T = ...` with one plain-name target (the target is returned).
    ("attribute", <Attribute>): `<node>.attr`. ("other", None): returned, passed, stored...
    """
    chain = ctx.ancestors
    i = len(chain) - 1
    child: cst.CSTNode = node
    if i >= 0 and type(chain[i]) is cst.Await:
        child = chain[i]
        i -= 1
    if i < 0:
        return "other", None
    parent = chain[i]
    if isinstance(parent, cst.Expr):
        return "discarded", None
    if isinstance(parent, cst.Assign) and parent.value is child:
        if len(parent.targets) == 1 and isinstance(parent.targets[0].target, cst.Name):
            return "assigned", parent.targets[0].target
        return "other", None
    if isinstance(parent, cst.AnnAssign) and parent.value is child and isinstance(parent.target, cst.Name):
        return "assigned", parent.target
    if isinstance(parent, cst.Attribute) and parent.value is child:
        return "attribute", parent
    return "other", None


def add_keyword(call: cst.Call, keyword: str, value: cst.BaseExpression) -> cst.Call:
    """`call` with `keyword=value` appended, following its layout (one line, or one argument
    per line with a trailing comma)."""
    new = cst.Arg(value=value, keyword=cst.Name(keyword), equal=cst.AssignEqual(
        whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")))
    args = list(call.args)
    if not args:
        return call.with_changes(args=[new])
    last = args[-1]
    if isinstance(last.comma, cst.Comma):  # trailing comma: the new argument goes on its own line
        between = args[-2].comma.whitespace_after if len(args) > 1 and isinstance(args[-2].comma, cst.Comma) else call.whitespace_before_args
        if not isinstance(between, cst.ParenthesizedWhitespace):
            between = cst.SimpleWhitespace(" ")
        args[-1] = last.with_changes(comma=cst.Comma(whitespace_after=between))
        args.append(new.with_changes(comma=last.comma))
    else:  # the space before `)` stays before `)`
        args[-1] = last.with_changes(
            comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")),
            whitespace_after_arg=cst.SimpleWhitespace(""),
        )
        args.append(new.with_changes(whitespace_after_arg=last.whitespace_after_arg))
    return call.with_changes(args=args)


class TracksBindings:
    """Mixin for rules that ask what a plain name holds: it records, in `self.known`, the
    bindings whose kind `value_kind` / `annotation_kind` / `unpacked_kinds` recognise
    (assignments, `with ... as name`, annotated parameters). A rule overriding one of these
    handlers calls the mixin's too.
    """

    ctx: Context
    known: KnownBindings

    def value_kind(self, value: cst.BaseExpression) -> str | None:
        return None

    def annotation_kind(self, annotation: cst.BaseExpression) -> str | None:
        return None

    def unpacked_kinds(self, target: cst.BaseExpression, value: cst.BaseExpression) -> list[tuple[str, str]]:
        """(name, kind) for the names a tuple target binds from `value` (`conn, addr = s.accept()`)."""
        return []

    def _bind(self, target: cst.BaseExpression, value: cst.BaseExpression, kind: str | None) -> None:
        if isinstance(target, cst.Name):
            if kind is not None:
                self.known.record(self.ctx.scope, target.value, kind)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for name, inner in self.unpacked_kinds(target, value):
                self.known.record(self.ctx.scope, name, inner)

    def visit_Assign(self, node: cst.Assign) -> None:
        kind = self.value_kind(node.value)
        for target in node.targets:
            self._bind(target.target, node.value, kind)

    def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
        kind = self.annotation_kind(node.annotation.annotation)
        if kind is None and node.value is not None:
            kind = self.value_kind(node.value)
        if kind is not None and isinstance(node.target, cst.Name):
            self.known.record(self.ctx.scope, node.target.value, kind)

    def visit_With(self, node: cst.With) -> None:
        for item in node.items:
            if item.asname is not None:
                self._bind(item.asname.name, item.item, self.with_kind(item.item, node))

    def with_kind(self, value: cst.BaseExpression, node: cst.With) -> str | None:
        return self.value_kind(value)

    def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
        # the scope pre-pass does not count walrus bindings: make the name unknown
        if isinstance(node.target, cst.Name):
            self.known.record(self.ctx.scope, node.target.value, KnownBindings.OTHER)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        scope = self.ctx.scope_of(node)
        if scope is None:
            return
        params = node.params
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            if param.annotation is not None:
                kind = self.annotation_kind(param.annotation.annotation)
                if kind is not None:
                    self.known.record(scope, param.name.value, kind)


# -- storage rules (RG2xx): what an `except` catches, where a write goes -------------------

# `OSError` and the aliases and subclasses that name "I/O failed" in general. The specific
# subclasses (`FileNotFoundError`, `FileExistsError`, `BrokenPipeError`, `PermissionError`...)
# name one anticipated condition and are deliberately not broad.
_BROAD_ERRORS = frozenset(
    {f"builtins.{name}" for name in (
        "Exception", "BaseException", "OSError", "IOError", "EnvironmentError",
        "ConnectionError", "TimeoutError",
    )}
    | {"os.error", "socket.error", "socket.timeout", "select.error"}
)
STORAGE_LIBRARIES = (
    "sqlite3", "sqlalchemy", "psycopg", "psycopg2", "pymongo", "redis", "requests", "httpx",
    "urllib3", "botocore", "boto3", "django.db",
)
# Base, transport and operational error classes of those libraries. Narrow classes
# (`IntegrityError`, `DuplicateKeyError`, `NoResultFound`, redis `WatchError`...) are left out:
# catching one is the insert-or-ignore or retry idiom, an anticipated outcome.
_LIBRARY_BROAD_ERRORS = frozenset({
    "Error", "DatabaseError", "OperationalError", "InterfaceError", "InternalError", "DataError",
    "SQLAlchemyError", "DBAPIError", "DisconnectionError", "TimeoutError",
    "PyMongoError", "OperationFailure", "ConnectionFailure", "AutoReconnect", "NetworkTimeout",
    "ServerSelectionTimeoutError", "WriteError", "WriteConcernError", "BulkWriteError",
    "ExecutionTimeout", "RedisError", "ConnectionError", "ResponseError", "BusyLoadingError",
    "ReadOnlyError", "RequestException", "HTTPError", "Timeout", "ConnectTimeout",
    "ReadTimeout", "RetryError", "RequestError", "TransportError", "HTTPStatusError",
    "TimeoutException", "ConnectError", "NetworkError", "WriteTimeout", "RemoteProtocolError",
    "MaxRetryError", "ProtocolError", "NewConnectionError", "ReadTimeoutError",
    "ConnectTimeoutError", "PoolError", "ClientError", "BotoCoreError",
    "EndpointConnectionError", "ConnectionClosedError", "Boto3Error", "S3UploadFailedError",
    "S3TransferFailedError",
})
STD_STREAMS = frozenset({"sys.stdout", "sys.stderr", "sys.__stdout__", "sys.__stderr__"})
_NESTED_SCOPES = (cst.FunctionDef, cst.ClassDef, cst.Lambda)
_OPEN_FUNCTIONS = frozenset({"builtins.open", "io.open"})
_MODE_LETTERS = frozenset("rwxabtU+")
_WRITE_LETTERS = frozenset("wxa+")


def is_broad_error(ctx: Context, expr: cst.BaseExpression) -> bool:
    """`expr` (an `except` clause's class, or a tuple of them) catches I/O and storage failures
    in general: `Exception`, `OSError` and its aliases, or a base/transport error class of a
    storage, HTTP or database library. Resolved through imports."""
    if isinstance(expr, cst.Tuple):
        return any(is_broad_error(ctx, element.value) for element in expr.elements)
    name = ctx.qualified_name(expr)
    if name is None:
        return False
    if name in _BROAD_ERRORS:
        return True
    module, _, cls = name.rpartition(".")
    if cls not in _LIBRARY_BROAD_ERRORS:
        return False
    return any(module == lib or module.startswith(lib + ".") for lib in STORAGE_LIBRARIES)


def catches_broadly(ctx: Context, handler: cst.ExceptHandler | cst.ExceptStarHandler) -> bool:
    """A bare `except:` or one whose class is broad (see `is_broad_error`)."""
    kind = handler.type
    return kind is None or is_broad_error(ctx, kind)


def handler_label(ctx: Context, handler: cst.ExceptHandler | cst.ExceptStarHandler) -> str:
    """How a message names the clause: "`except OSError`", "a bare `except:`"."""
    if handler.type is None:
        return "a bare `except:`"
    text = ctx.module.code_for_node(handler.type)
    if len(text) > 60 or "\n" in text:
        text = text[:57].split("\n", 1)[0] + "..."
    star = "*" if isinstance(handler, cst.ExceptStarHandler) else ""
    return f"`except{star} {text}`"


def iter_local_nodes(root: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """Like `iter_nodes`, without entering nested defs, classes and lambdas (their bodies do
    not run where they are written). The nested node itself is yielded."""
    stack: list[cst.CSTNode] = [root]
    while stack:
        node = stack.pop()
        yield node
        if node is not root and isinstance(node, _NESTED_SCOPES):
            continue
        for name in reversed(_child_fields(type(node))):
            value = getattr(node, name)
            if isinstance(value, cst.CSTNode):
                stack.append(value)
            elif type(value) is tuple or type(value) is list:
                stack.extend(reversed(value))


def suite_statements(suite: cst.BaseSuite) -> list[cst.CSTNode]:
    """The statements of a block, simple statements of a one-line suite included."""
    if isinstance(suite, cst.SimpleStatementSuite):
        return list(suite.body)
    if isinstance(suite, cst.IndentedBlock):
        return list(suite.body)
    return []


def literal_value(node: cst.BaseExpression | None) -> str | bytes | None:
    """The value of a plain string or bytes literal; None for anything else, including a
    literal CPython would reject (`b"é"`), which libcst parses but cannot evaluate."""
    if not isinstance(node, cst.SimpleString):
        return None
    try:
        value = node.evaluated_value
    except (SyntaxError, ValueError, MemoryError):
        return None
    return value if isinstance(value, (str, bytes)) else None


def _is_open_mode(text: str) -> bool:
    return 0 < len(text) <= 4 and set(text) <= _MODE_LETTERS and sum(c in "rwxa" for c in text) == 1


def write_open_mode(ctx: Context, call: cst.Call) -> str | None:
    """The mode when `call` opens a file for writing: `open(p, "w")`, `io.open(p, mode="a")`,
    `Path(p).open("x")` / `path.open(mode="r+")`. None for reading, for a mode that is not a
    literal, and for other `open` APIs (`os.open`, `gzip.open`, `webbrowser.open`...).

    A method `.open(...)` counts only with a literal that reads as a file mode as its first
    argument or `mode=`: `ZipFile.open(name, "w")` and the like are left alone."""
    func = call.func
    if isinstance(func, cst.Name):
        # cheap first: `open`, or an alias such as `from io import open as io_open`
        if not func.value.endswith("open") or ctx.qualified_name(func) not in _OPEN_FUNCTIONS:
            return None
        mode = argument(call, 1, "mode")
    elif isinstance(func, cst.Attribute) and func.attr.value == "open":
        name = ctx.qualified_name(func)
        if name is None:
            mode = argument(call, 0, "mode")
        elif name in _OPEN_FUNCTIONS:
            mode = argument(call, 1, "mode")
        else:
            return None
    else:
        return None
    if mode is None:
        return None
    text = literal_value(mode.value)
    if not isinstance(text, str) or not _is_open_mode(text) or not set(text) & _WRITE_LETTERS:
        return None
    return text


def opened_path(ctx: Context, call: cst.Call) -> cst.BaseExpression | None:
    """What a `write_open_mode` call opens: the file argument, or the receiver of `.open()`."""
    func = call.func
    if isinstance(func, cst.Attribute) and ctx.qualified_name(func) is None:
        return func.value
    arg = argument(call, 0, "file")
    return arg.value if arg is not None else None


def is_std_stream(ctx: Context, expr: cst.BaseExpression | None) -> bool:
    """`sys.stdout`, `sys.stderr` (and the `__stdout__`/`__stderr__` originals)."""
    return expr is not None and ctx.qualified_name(expr) in STD_STREAMS


def names_used_outside(root: cst.CSTNode, excluded: cst.CSTNode, names: set[str]) -> set[str]:
    """Which of `names` are used under `root` outside `excluded`: any occurrence but as the
    plain target of an `=` (`ok = True` before a `try` does not read `ok`)."""
    found: set[str] = set()
    stack: list[cst.CSTNode] = [root]
    while stack:
        node = stack.pop()
        if node is excluded:
            continue
        if isinstance(node, cst.Name) and node.value in names:
            found.add(node.value)
            continue
        if isinstance(node, cst.AssignTarget) and isinstance(node.target, cst.Name):
            continue
        for name in _child_fields(type(node)):
            value = getattr(node, name)
            if isinstance(value, cst.CSTNode):
                stack.append(value)
            elif type(value) is tuple or type(value) is list:
                stack.extend(value)
    return found


# -- per-function data flow ------------------------------------------------------------
# Rules that follow a value through local names record candidate calls during the
# traversal and run this scan only over the functions that hold one (the performance
# budget forbids a second pass over every function).


def unit_of(ctx: Context) -> cst.CSTNode:
    """The def, class or module whose own body holds the current node.

    A default value or a decorator belongs to the code around its `def`, which is where
    Python evaluates it; a lambda belongs to the unit it is written in.
    """
    chain = ctx.ancestors
    for i in range(len(chain) - 2, -1, -1):
        node = chain[i]
        if isinstance(node, (cst.FunctionDef, cst.ClassDef)) and chain[i + 1] is node.body:
            return node
    return ctx.module


class LocalFlow:
    """What one unit's own code does with its local names.

    `assigned[name]` lists the values assigned to `name` by plain assignments (`x = v`,
    `x: T = v`, `(x := v)`); any other binding (parameter, loop or `with` target, tuple
    unpacking, augmented assignment, import, `global`/`nonlocal`, lambda parameter,
    comprehension variable) appends None, meaning "not a single known value".
    `loads[name]` lists the Name nodes that read it; `nested` holds the names that a nested
    def, class or lambda mentions (the value may be read later, elsewhere). `nodes` is the
    unit's own code in pre-order, lambdas included, nested defs and classes excluded
    (their decorators and default values included: they run here).
    """

    __slots__ = ("assigned", "loads", "nested", "nodes")

    def __init__(self) -> None:
        self.assigned: dict[str, list[cst.BaseExpression | None]] = {}
        self.loads: dict[str, list[cst.Name]] = {}
        self.nested: set[str] = set()
        self.nodes: list[cst.CSTNode] = []


_OWN, _LAMBDA, _INNER = 0, 1, 2


def local_flow(unit: cst.CSTNode, *, nested_bodies: bool = True) -> LocalFlow:
    """Scan `unit` (a FunctionDef, ClassDef or Module) once; see `LocalFlow`.

    With `nested_bodies=False` the bodies of nested defs and classes are not read at all
    (`nested` then only knows the lambdas): for a module unit that avoids re-reading the file.
    """
    flow = LocalFlow()
    assigned, loads, nested, nodes = flow.assigned, flow.loads, flow.nested, flow.nodes
    stack: list[tuple[cst.CSTNode, int]] = []

    def bind(target: cst.CSTNode, value: cst.BaseExpression | None, mode: int) -> None:
        if isinstance(target, cst.Name):
            if mode == _INNER:
                nested.add(target.value)
            else:
                assigned.setdefault(target.value, []).append(value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                bind(element.value, None, mode)
        elif isinstance(target, cst.StarredElement):
            bind(target.value, None, mode)
        elif isinstance(target, cst.BaseExpression):
            stack.append((target, mode))  # `obj.attr = v`, `d[k] = v`: reads `obj`, `d`, `k`

    def bind_params(params: cst.Parameters, mode: int, inner: int) -> None:
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            bind(param.name, None, inner)
            if param.default is not None:
                stack.append((param.default, mode))
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                bind(star.name, None, inner)

    if isinstance(unit, cst.FunctionDef):
        stack.append((unit.body, _OWN))
        bind_params(unit.params, _INNER, _OWN)
    elif isinstance(unit, cst.ClassDef):
        stack.append((unit.body, _OWN))
    elif isinstance(unit, cst.Module):
        stack.extend((stmt, _OWN) for stmt in reversed(unit.body))
    while stack:
        node, mode = stack.pop()
        if mode != _INNER:
            nodes.append(node)
        if isinstance(node, cst.Name):
            if mode != _INNER:
                loads.setdefault(node.value, []).append(node)
            if mode != _OWN:
                nested.add(node.value)
        elif isinstance(node, (cst.Attribute, cst.Arg)):
            stack.append((node.value, mode))  # not the attribute's or keyword's own name
        elif isinstance(node, cst.Assign):
            for target in reversed(node.targets):
                bind(target.target, node.value, mode)
            stack.append((node.value, mode))
        elif isinstance(node, cst.AnnAssign):
            if node.value is not None:
                bind(node.target, node.value, mode)
                stack.append((node.value, mode))
        elif isinstance(node, cst.NamedExpr):
            bind(node.target, node.value, mode)
            stack.append((node.value, mode))
        elif isinstance(node, cst.AugAssign):
            bind(node.target, None, mode)
            if isinstance(node.target, cst.Name):
                stack.append((node.target, mode))  # `x += v` also reads x
            stack.append((node.value, mode))
        elif isinstance(node, cst.For):
            bind(node.target, None, mode)
            for child in (node.orelse, node.body, node.iter):
                if child is not None:
                    stack.append((child, mode))
        elif isinstance(node, cst.CompFor):
            bind(node.target, None, mode)
            if node.inner_for_in is not None:
                stack.append((node.inner_for_in, mode))
            stack.extend((i, mode) for i in reversed(node.ifs))
            stack.append((node.iter, mode))
        elif isinstance(node, cst.WithItem):
            if node.asname is not None:
                bind(node.asname.name, None, mode)
            stack.append((node.item, mode))
        elif isinstance(node, (cst.ExceptHandler, cst.ExceptStarHandler)):
            if node.name is not None:
                bind(node.name.name, None, mode)
            stack.append((node.body, mode))
            if node.type is not None:
                stack.append((node.type, mode))
        elif isinstance(node, (cst.Import, cst.ImportFrom)):
            if not isinstance(node.names, cst.ImportStar):
                for alias in node.names:
                    bound: cst.BaseExpression = alias.asname.name if alias.asname else alias.name
                    while isinstance(bound, cst.Attribute):  # `import a.b` binds `a`
                        bound = bound.value
                    bind(bound, None, mode)
        elif isinstance(node, (cst.Global, cst.Nonlocal)):
            for item in node.names:
                bind(item.name, None, mode)
        elif isinstance(node, cst.Del):
            bind(node.target, None, mode)
        elif isinstance(node, cst.MatchAs):
            if node.name is not None:
                bind(node.name, None, mode)
            if node.pattern is not None:
                stack.append((node.pattern, mode))
        elif isinstance(node, cst.MatchStar):
            if node.name is not None:
                bind(node.name, None, mode)
        elif isinstance(node, cst.FunctionDef):
            bind(node.name, None, mode)
            if nested_bodies:
                stack.append((node.body, _INNER))
            bind_params(node.params, mode, _INNER)
            stack.extend((d, mode) for d in reversed(node.decorators))
        elif isinstance(node, cst.ClassDef):
            bind(node.name, None, mode)
            if nested_bodies:
                stack.append((node.body, _INNER))
            stack.extend((a, mode) for a in reversed((*node.bases, *node.keywords)))
            stack.extend((d, mode) for d in reversed(node.decorators))
        elif isinstance(node, cst.Lambda):
            inner = _INNER if mode == _INNER else _LAMBDA
            stack.append((node.body, inner))
            bind_params(node.params, mode, inner)
        else:
            for name in reversed(_child_fields(type(node))):
                value = getattr(node, name)
                if isinstance(value, cst.CSTNode):
                    stack.append((value, mode))
                elif type(value) is tuple or type(value) is list:
                    stack.extend((v, mode) for v in reversed(value))
    return flow


def names_importing_any(ctx: Context, qualified: set[str] | frozenset[str]) -> frozenset[str]:
    """`names_importing` for several qualified names in one pass over the bindings."""
    return frozenset(
        name
        for scope in ctx._scopes.values()
        for name, values in scope.bindings.items()
        if any(value in qualified for value in values)
    )


# -- Whether a value is examined: tests and comparisons near it --------------------------


def in_condition(ctx: Context, node: cst.CSTNode) -> bool:
    """The current `node` is part of a test or a comparison in its statement."""
    child = node
    for ancestor in reversed(ctx.ancestors):
        if isinstance(ancestor, (cst.Comparison, cst.BooleanOperation, cst.IfExp, cst.Assert)):
            return True
        if isinstance(ancestor, cst.UnaryOperation) and isinstance(ancestor.operator, cst.Not):
            return True
        if isinstance(ancestor, (cst.If, cst.While)):
            return ancestor.test is child
        if isinstance(ancestor, (cst.BaseSmallStatement, cst.BaseCompoundStatement)):
            return False
        child = ancestor
    return False


def assigned_from(ctx: Context, attribute: cst.Attribute) -> cst.Name | None:
    """`data` for `attribute`, an ancestor of the current node, in `data = <x>.json()` or
    `data = <x>.text`: the single plain name the attribute (or its call) is assigned to."""
    chain = ctx.ancestors
    i = len(chain) - 1
    while i >= 0 and chain[i] is not attribute:
        i -= 1
    expr: cst.CSTNode = attribute
    call = chain[i - 1] if i >= 1 else None
    if isinstance(call, cst.Call) and call.func is attribute:
        i -= 1
        expr = call
    parent = chain[i - 1] if i >= 1 else None
    if isinstance(parent, cst.Assign) and parent.value is expr and len(parent.targets) == 1:
        target = parent.targets[0].target
        return target if isinstance(target, cst.Name) else None
    return None


def examined(root: cst.CSTNode, name: str) -> bool:
    """`name`, or a name assigned from it (`data = r.json()`), appears in a test or a
    comparison under `root`: the value is examined there, and may be checked that way
    (an API that reports a failure in its body, a command's output)."""
    names = {name}
    tests: list[cst.CSTNode] = []
    derived: list[tuple[cst.Assign, set[str]]] = []
    for node in iter_nodes(root):
        if isinstance(node, (cst.If, cst.While, cst.IfExp, cst.Assert)):
            tests.append(node.test)
        elif isinstance(node, cst.Comparison):
            tests.append(node)
        elif isinstance(node, cst.Assign):
            derived.append((node, {n for t in node.targets for n in target_names(t.target)}))
    for assign, targets in derived:
        if next(references(assign.value, name), None) is not None:
            names |= targets
    return any(
        isinstance(inner, cst.Name) and inner.value in names
        for test in tests
        for inner in iter_nodes(test)
    )


def _exits(stmt: cst.CSTNode | None) -> bool:
    return isinstance(stmt, cst.SimpleStatementLine) and isinstance(stmt.body[0], (cst.Return, cst.Raise))


def _next_statement(block: cst.CSTNode | None, stmt: cst.CSTNode) -> cst.CSTNode | None:
    body = block.body if isinstance(block, (cst.IndentedBlock, cst.Module)) else ()
    for i, item in enumerate(body):
        if item is stmt:
            return body[i + 1] if i + 1 < len(body) else None
    return None


def failure_follows(ctx: Context, node: cst.Try | cst.TryStar) -> bool:
    """For `node` the current `try`: a handler that falls through still reports the failure,
    because success leaves early and the code after it returns or raises:
    `try: write(); return True` / `except OSError: pass` / `return False`, and the retry loop
    `for ...: try: write(); break` / `except OSError: continue` / `else: raise` (or a `raise`
    or `return` right after the loop)."""
    chain = ctx.ancestors
    if not chain:
        return False
    leaves = [n for n in iter_local_nodes(node.body) if isinstance(n, (cst.Return, cst.Break))]
    if any(isinstance(n, cst.Return) for n in leaves) and _exits(_next_statement(chain[-1], node)):
        return True
    if len(chain) < 3 or not isinstance(chain[-2], (cst.For, cst.While)) or not leaves:
        return False
    loop = chain[-2]
    if loop.orelse is not None:
        return any(_exits(s) for s in suite_statements(loop.orelse.body))
    return _exits(_next_statement(chain[-3], loop))
