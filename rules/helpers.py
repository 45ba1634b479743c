"""Questions several rules ask about a node: its arguments, its surroundings, its data flow."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import libcst as cst

from rules.analysis.syntax import child_nodes
from rules.rule import Context
from rules.scope import Scope

DATETIME = "datetime.datetime"
DATE = "datetime.date"


def iter_nodes(root: cst.CSTNode, *, local: bool = False) -> Iterator[cst.CSTNode]:
    """Every node under `root` (itself included), pre-order, without recursion.

    `local=True` does not enter nested defs, classes and lambdas (their bodies do not run
    where they are written); the nested node itself is yielded.
    """
    stack: list[cst.CSTNode] = [root]
    while stack:
        node = stack.pop()
        yield node
        if local and node is not root and isinstance(node, _NESTED_SCOPES):
            continue
        stack.extend(reversed(child_nodes(node)))


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
        try:
            value = node.evaluated_value
        except (SyntaxError, ValueError):  # e.g. b"é": libcst parses it, CPython refuses it
            return None
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
    """The scope whose binding `name` denotes when read from `scope` (None: a builtin)."""
    return scope.lookup(name)


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
        stack.extend((child, node) for child in reversed(child_nodes(node)))


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
# name one anticipated condition and are deliberately not broad; so is the builtin
# `ConnectionError` family, which says the peer is gone (a control message to a process that
# exited). The `ConnectionError` of `requests`, `redis`... stays broad.
_BROAD_ERRORS = frozenset(
    {f"builtins.{name}" for name in (
        "Exception", "BaseException", "OSError", "IOError", "EnvironmentError", "TimeoutError",
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
    """`iter_nodes(root, local=True)`: the nodes that run where `root` is written."""
    return iter_nodes(root, local=True)


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
        stack.extend(child_nodes(node))
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


def settle_kinds(
    flow: LocalFlow, kind_of: Callable[[cst.BaseExpression, dict[str, str]], str | None]
) -> dict[str, str]:
    """The kind of each local name all of whose assignments agree on one kind.

    Iterated a few rounds so that `deadline = start + 5` learns from `start = clock()`;
    `kind_of(value, known)` classifies an assigned value given the names settled so far.
    """
    names: dict[str, str] = {}
    for _ in range(4):
        changed = False
        for name, values in flow.assigned.items():
            kinds = {kind_of(v, names) if v is not None else None for v in values}
            kind = kinds.pop() if len(kinds) == 1 else None
            if kind is None:
                if names.pop(name, None) is not None:
                    changed = True
            elif names.get(name) != kind:
                names[name] = kind
                changed = True
        if not changed:
            break
    return names


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
            stack.extend((child, mode) for child in reversed(child_nodes(node)))
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


def _statement_after(chain: list[cst.CSTNode], node: cst.CSTNode) -> cst.CSTNode | None:
    """The statement that runs after `node` falls through, leaving `if`/`else`/`with` blocks
    (not loops, handlers or functions, where the next statement is not what follows)."""
    current = node
    for parent in reversed(chain):
        if isinstance(parent, (cst.IndentedBlock, cst.Module)):
            following = _next_statement(parent, current)
            if following is not None:
                return following
        elif not isinstance(parent, (cst.If, cst.Else, cst.With)):
            return None
        current = parent
    return None


def failure_follows(ctx: Context, node: cst.Try | cst.TryStar) -> bool:
    """For `node` the current `try`: a handler that falls through does not swallow when the
    success path leaves early. When the `try` body ends with `return`, whatever runs after the
    handler is the failure path: a `return False`, the implicit `return None` the caller
    tests, a fallback doing the job another way, the next candidate of a probing loop; so is
    a `return`/`raise` right after the `try` (or its `if`/`with`) when the body returns. In a
    retry loop whose body `break`s on success, the loop's `else:` (or the statement after the
    loop) that returns or raises reports the failure."""
    chain = ctx.ancestors
    if not chain:
        return False
    last: cst.CSTNode | None = node
    while isinstance(last, (cst.Try, cst.TryStar, cst.With)):  # `try: with f: ...; return x`
        body = suite_statements(last.body)
        last = body[-1] if body else None
    if isinstance(last, cst.SimpleStatementLine) and isinstance(last.body[-1], cst.Return):
        return True
    returns = any(isinstance(n, cst.Return) for n in iter_local_nodes(node.body))
    if returns and _exits(_statement_after(chain, node)):
        return True
    if len(chain) < 3 or not isinstance(chain[-2], (cst.For, cst.While)):
        return False
    if not any(isinstance(n, (cst.Break, cst.Return)) for n in iter_local_nodes(node.body)):
        return False
    loop = chain[-2]
    if loop.orelse is not None:
        return any(_exits(s) for s in suite_statements(loop.orelse.body))
    return _exits(_statement_after(chain[:-2], loop))


# -- attributes of `self` --------------------------------------------------------------------


def self_attribute(ctx: Context, expr: cst.BaseExpression) -> tuple[cst.ClassDef, str] | None:
    """`(class, name)` when `expr`, under the current node, is `self.name` in a method of
    `class` (or in code nested in the method): `self` being the method's first parameter,
    whatever it is called. None for anything else, and when a nested def or lambda rebinds
    that name. Rules use it to ask how the class binds the attribute
    (`self._pool = ThreadPoolExecutor()` in `__init__`) instead of guessing from its name."""
    if not isinstance(expr, cst.Attribute) or not isinstance(expr.value, cst.Name):
        return None
    owner = expr.value.value
    chain = ctx.ancestors
    for i in range(len(chain) - 1, -1, -1):
        node = chain[i]
        if isinstance(node, cst.ClassDef):
            return None
        if not isinstance(node, (cst.FunctionDef, cst.Lambda)):
            continue
        params = node.params
        positional = [*params.posonly_params, *params.params]
        is_method = (
            isinstance(node, cst.FunctionDef)
            and i >= 2
            and isinstance(chain[i - 1], cst.IndentedBlock)
            and isinstance(chain[i - 2], cst.ClassDef)
        )
        if is_method:
            assert isinstance(node, cst.FunctionDef)
            static = any(
                isinstance(d.decorator, cst.Name) and d.decorator.value == "staticmethod"
                for d in node.decorators
            )
            if not static and positional and positional[0].name.value == owner:
                klass = chain[i - 2]
                assert isinstance(klass, cst.ClassDef)
                return klass, expr.attr.value
            return None
        names = [p.name.value for p in (*positional, *params.kwonly_params)]
        names += [p.name.value for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]
        if owner in names:
            return None
    return None


# -- the naive-datetime rules (RG101, RG103-RG105): where a naive value made at a call ends up --
# Every occurrence stays reported (ruff's DTZ rules flag them all); this tells the uses where
# the missing zone changes an answer (error) from those where it cannot (warning).

_FORMAT_METHODS = frozenset({"strftime", "isoformat", "ctime", "__str__", "__format__"})
_CALENDAR_METHODS = frozenset(
    {"date", "time", "weekday", "isoweekday", "isocalendar", "toordinal", "timetuple"}
)
_DISPLAY_CALLS = frozenset(
    {"print", "pprint", "debug", "info", "warning", "warn", "error", "exception", "critical",
     "fatal", "log", "echo", "secho"}
)
_TEXT_CALLS = frozenset({"str", "repr", "format"})
_COLLECTING_CALLS = frozenset({"append", "appendleft", "add", "insert", "extend"})
_TEST_ASSERTIONS = frozenset({"eq_", "ne_", "is_", "assert_equal", "assert_not_equal"})
# Calls that store or send what they are given (a database, a cache, a queue, a peer).
_STORING_CALLS = frozenset(
    {"execute", "executemany", "insert", "insert_one", "insert_many", "update", "update_one",
     "update_many", "replace_one", "save", "put", "put_item", "set", "setex", "hset", "hmset",
     "zadd", "write", "writerow", "writerows", "send", "sendall", "post", "patch", "create",
     "bulk_create", "index", "values", "dump", "publish", "enqueue", "apply_async"}
)
_NEUTRAL_CALLS = frozenset({"isinstance", "type", "id", "hash", "len", "bool", "max", "min"})
_DURATION_WORDS = frozenset(
    {"delta", "timedelta", "relativedelta", "interval", "timeout", "duration", "period", "ttl",
     "offset", "window", "age", "wait", "margin", "grace", "skew", "tolerance", "leeway",
     "slack", "retention", "lifetime", "backoff", "delay", "span", "step", "increment"}
)
_EQUALITY = (cst.Equal, cst.NotEqual, cst.Is, cst.IsNot, cst.In, cst.NotIn)
# The datetime module's naive makers, and where each takes its zone (position, keyword).
_NAIVE_MAKERS: dict[str, tuple[int, str] | None] = {
    DATETIME: (7, "tzinfo"),
    f"{DATETIME}.now": (0, "tz"),
    f"{DATETIME}.today": None,
    f"{DATETIME}.fromtimestamp": (1, "tz"),
    f"{DATETIME}.strptime": None,
    f"{DATETIME}.combine": (2, "tzinfo"),
}
_NOT_USES = (
    cst.Param, cst.AssignTarget, cst.FunctionDef, cst.ClassDef, cst.ImportAlias, cst.NameItem,
    cst.AsName,
)
_NAIVE_FOLLOW_DEPTH = 3


class NaiveUse:
    """The verdict on one naive value: `risky` when it is stored, sent, returned or compared
    where the missing zone changes the answer; `why` says where, for the message."""

    __slots__ = ("risky", "why", "zone")

    def __init__(self, risky: bool, why: str, zone: bool = False) -> None:
        self.risky = risky
        self.why = why
        self.zone = zone  # a zone is attached to it further on

    def __repr__(self) -> str:
        return f"NaiveUse(risky={self.risky}, why={self.why!r}, zone={self.zone})"


def _risky(why: str) -> NaiveUse:
    return NaiveUse(True, why)


def _benign(why: str) -> NaiveUse:
    return NaiveUse(False, why)


def _callee_name(call: cst.Call) -> str:
    func = call.func
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return func.value if isinstance(func, cst.Name) else ""


def _self_attribute(node: cst.CSTNode) -> str | None:
    if (
        isinstance(node, cst.Attribute)
        and isinstance(node.value, cst.Name)
        and node.value.value in ("self", "cls")
    ):
        return node.attr.value
    return None


def _words(name: str) -> list[str]:
    return [w for w in name.lower().split("_") if w]


def duration_like(node: cst.BaseExpression) -> bool:
    """`timedelta(...)`, `relativedelta(...)`, a name like `self.timeout` or `max_age`, or
    arithmetic on those: what is added to or subtracted from a datetime to move it."""
    if isinstance(node, cst.Call):
        return _callee_name(node).lower() in ("timedelta", "relativedelta")
    if isinstance(node, cst.Name):
        return any(w in _DURATION_WORDS or w.endswith("delta") for w in _words(node.value))
    if isinstance(node, cst.Attribute):
        return any(w in _DURATION_WORDS or w.endswith("delta") for w in _words(node.attr.value))
    if isinstance(node, cst.BinaryOperation):
        return duration_like(node.left) or duration_like(node.right)
    if isinstance(node, cst.UnaryOperation):
        return duration_like(node.expression)
    return False


def zone_attaching_call(call: cst.Call) -> bool:
    """A call that gives a naive value a zone, judged by its name: `make_aware`,
    `tz.localize`, `convert_to_utc`, `default_timezone.convert`, `from_current_timezone`..."""
    name = _callee_name(call).lower()
    if any(word in name for word in ("aware", "locali", "timezone", "utc")) or "tz" in _words(name):
        return True
    func = call.func
    if name == "convert" and isinstance(func, cst.Attribute):
        receiver = func.value
        if isinstance(receiver, cst.Attribute):
            receiver = receiver.attr
        text = receiver.value.lower() if isinstance(receiver, cst.Name) else ""
        return "timezone" in text or "tz" in _words(text)
    return False


class _Index:
    """One walk over a function, class or module: parents, variable uses and bindings, and
    the uses and assignments of `self.<attr>`."""

    def __init__(self, root: cst.CSTNode) -> None:
        self.parent: dict[cst.CSTNode, cst.CSTNode] = {}
        self.names: dict[str, list[cst.Name]] = {}
        self.values: dict[str, list[cst.BaseExpression | None]] = {}  # None: bound otherwise
        self.attrs: dict[str, list[cst.Attribute]] = {}
        self.attr_values: dict[str, list[cst.BaseExpression]] = {}
        stack: list[tuple[cst.CSTNode, cst.CSTNode | None]] = [(root, None)]
        while stack:
            node, parent = stack.pop()
            if parent is not None:
                self.parent[node] = parent
            if isinstance(node, cst.Name):
                if not (
                    isinstance(parent, _NOT_USES)
                    or (isinstance(parent, cst.Attribute) and parent.attr is node)
                    or (isinstance(parent, cst.Arg) and parent.keyword is node)
                ):
                    self.names.setdefault(node.value, []).append(node)
                continue
            if isinstance(node, cst.Attribute):
                attr = _self_attribute(node)
                if attr is not None:
                    self.attrs.setdefault(attr, []).append(node)
            elif isinstance(node, cst.Assign):
                for target in node.targets:
                    self._bind(target.target, node.value)
            elif isinstance(node, (cst.AnnAssign, cst.NamedExpr)):
                self._bind(node.target, node.value)
            elif isinstance(node, (cst.AugAssign, cst.For, cst.CompFor)):
                self._bind(node.target, None)
            elif isinstance(node, cst.Param):
                self.values.setdefault(node.name.value, []).append(None)
            elif isinstance(node, cst.AsName) and isinstance(node.name, cst.Name):
                self._bind(node.name, None)
            stack.extend((child, node) for child in reversed(child_nodes(node)))

    def _bind(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        if isinstance(target, cst.Name):
            self.values.setdefault(target.value, []).append(value)
            return
        attr = _self_attribute(target)
        if attr is not None:
            if value is not None:
                self.attr_values.setdefault(attr, []).append(value)
            return
        for name in target_names(target):
            self.values.setdefault(name, []).append(None)


def _owner(node: cst.CSTNode, parents: dict[cst.CSTNode, cst.CSTNode]) -> cst.CSTNode | None:
    """The function, lambda or class whose body holds `node` (None: the module)."""
    current = parents.get(node)
    while current is not None and not isinstance(current, (cst.FunctionDef, cst.ClassDef, cst.Lambda)):
        current = parents.get(current)
    return current


class NaiveUses:
    """Judges how the naive datetime made at the current call is used (one per rule and file).

    Followed: chained methods, `+`/`-` with durations, formatting, the arguments of a call,
    and a local name or `self.<attr>` the value is stored in (their uses in the function or
    the class, a few assignments deep). An index is built once per function or class that
    holds a finding, and only then.

    Risky (error): compared with or subtracted from something that is not another naive
    value (an attribute like `record.created_at`, a parameter); stored under a key,
    attribute or keyword named like a point in time, or under any literal key of another
    object (`row["at"] = ...`); passed to a call right where it is made, or later to one
    that stores or sends (`execute`, `save`, `hset`...); returned (when `returned`); read with
    `.timestamp()` (when `timestamp`); labelled with `.replace(tzinfo=<zone>)` (when `local`:
    a server-local reading keeps its local fields); kept in a module-level name the module never reads or
    a local name never read (the use is out of sight).
    Benign (warning): formatted, printed or logged; only its calendar fields read; compared
    with or subtracted from values of the same naive kind, possibly moved by a duration (a
    duration or an in-memory deadline); tested for equality; given a zone afterwards; thrown
    away; held in `self.<attr>` or a local name all of whose uses are benign; a fixed
    reference date or a calendar value kept in a module-level name; anything in test code
    (a `test*` function, a `Test*`/`*Test(s)` class).
    """

    def __init__(self, ctx: Context, *, returned: bool, timestamp: bool, local: bool) -> None:
        self.ctx = ctx
        self.returned = returned
        self.timestamp = timestamp
        self.local = local  # the value is a server-local reading: `.replace(tzinfo=)` mislabels it
        self._indexes: dict[cst.CSTNode, _Index] = {}
        self._memo: dict[tuple[cst.CSTNode, str, bool, bool, bool, bool], NaiveUse] = {}
        self._class: cst.ClassDef | None = None
        self._calendar = False
        self._reference = False

    def _index(self, root: cst.CSTNode) -> _Index:
        index = self._indexes.get(root)
        if index is None:
            index = self._indexes[root] = _Index(root)
        return index

    def classify(self, node: cst.CSTNode, *, calendar: bool = False, reference: bool = False) -> NaiveUse:
        """`node` is the current node. `calendar`: the value is calendar arithmetic (a date
        widened to a datetime, a date-only format): comparisons, arithmetic, calls and
        returns are benign, only storage under a point-in-time name is not. `reference`: a
        fixed date, benign when subtracted from another value (an epoch)."""
        chain = self.ctx.ancestors
        parents = {chain[i]: chain[i - 1] for i in range(1, len(chain))}
        if chain:
            parents[node] = chain[-1]
        self._class = None
        unit: cst.CSTNode = self.ctx.module
        for ancestor in reversed(chain):
            if isinstance(ancestor, cst.FunctionDef) and unit is self.ctx.module:
                unit = ancestor
            elif isinstance(ancestor, cst.ClassDef):
                self._class = ancestor
                break
        self._calendar, self._reference = calendar, reference
        for ancestor in chain:
            if (isinstance(ancestor, cst.FunctionDef) and ancestor.name.value.startswith("test")) or (
                isinstance(ancestor, cst.ClassDef)
                and (ancestor.name.value.startswith("Test") or ancestor.name.value.endswith(("Test", "Tests")))
            ):
                return _benign("in test code, where no production instant depends on it")
        use = self._climb(node, parents, unit, 0, formatted=False, container=False)
        return use if use is not None else _benign("not used")

    # -- one use ----------------------------------------------------------------------------

    def _climb(
        self,
        node: cst.CSTNode,
        parents: dict[cst.CSTNode, cst.CSTNode],
        unit: cst.CSTNode,
        depth: int,
        *,
        formatted: bool,
        container: bool,
    ) -> NaiveUse | None:
        """The verdict on the value of `node` from where it stands; None: `node` is a
        binding of a name, not a use."""
        child: cst.CSTNode = node
        while True:
            parent = parents.get(child)
            if parent is None:
                return _benign("not used")
            if isinstance(parent, cst.Attribute) and parent.value is child:
                call = parents.get(parent)
                if not (isinstance(call, cst.Call) and call.func is parent):
                    return _benign("read only for its fields")
                method = parent.attr.value
                if formatted or container:
                    if method in _COLLECTING_CALLS:
                        return _benign("kept in a collection")
                    child = call
                    continue
                if method == "replace":
                    tz = argument(call, 7, "tzinfo")
                    if tz is not None and not is_none(tz.value) and self.local:
                        return _risky("labelled with a zone by `.replace(tzinfo=...)`, which keeps "
                                      "the server-local fields: a wrong instant")
                    if any(a.star == "**" for a in call.args) or (tz is not None and not is_none(tz.value)):
                        after = parents.get(call)
                        again = parents.get(after) if isinstance(after, cst.Attribute) else None
                        if not (
                            isinstance(after, cst.Attribute)
                            and after.attr.value == "replace"
                            and isinstance(again, cst.Call)
                            and is_none((argument(again, 7, "tzinfo") or cst.Arg(cst.Name("x"))).value)
                        ):
                            return NaiveUse(False, "given a zone afterwards", zone=True)
                    child = call
                    continue
                if method == "astimezone":
                    return NaiveUse(False, "converted with `.astimezone()`", zone=True)
                if method in _FORMAT_METHODS:
                    formatted, child = True, call
                    continue
                if method == "timestamp" and self.timestamp:
                    return _risky("read with `.timestamp()`, which takes it for server-local time")
                if method in _CALENDAR_METHODS:
                    return _benign("read only for its calendar fields")
                return _benign(f"used only through `.{method}()`")
            if isinstance(parent, cst.BinaryOperation):
                if formatted or container:
                    child = parent
                    continue
                if isinstance(parent.operator, cst.Modulo) and parent.right is child:
                    formatted, child = True, parent
                    continue
                if isinstance(parent.operator, cst.Add):
                    child = parent
                    continue
                if not isinstance(parent.operator, cst.Subtract):
                    return _benign("used in arithmetic")
                left = parent.left is child
                other = parent.right if left else parent.left
                if left and duration_like(other):
                    child = parent
                    continue
                if self._same_kind(other, unit):
                    return _benign("only subtracted from another naive reading (a duration)")
                if not left and self._reference:
                    return _benign("a fixed reference date subtracted to count from it")
                if self._calendar:
                    return _benign("calendar arithmetic")
                return _risky(f"in a subtraction with `{self._code(other)}`")
            if isinstance(parent, (cst.Comparison, cst.ComparisonTarget)):
                if formatted or container:
                    return _benign("compared as text")
                comparison = parent if isinstance(parent, cst.Comparison) else parents.get(parent)
                if not isinstance(comparison, cst.Comparison):
                    return _benign("compared")
                if all(isinstance(t.operator, _EQUALITY) for t in comparison.comparisons):
                    return _benign("only tested for equality")
                operands = [comparison.left, *(t.comparator for t in comparison.comparisons)]
                foreign = [o for o in operands if o is not child and not self._same_kind(o, unit)]
                if not foreign:
                    return _benign("only compared with another naive reading (a deadline)")
                if self._calendar:
                    return _benign("calendar arithmetic")
                return _risky(f"compared with `{self._code(foreign[0])}`")
            if isinstance(parent, (cst.FormattedStringExpression, cst.FormattedString)):
                formatted, child = True, parent
                continue
            if isinstance(parent, cst.BooleanOperation) or (
                isinstance(parent, cst.IfExp) and parent.test is not child
            ):
                child = parent
                continue
            if isinstance(parent, (cst.Element, cst.StarredElement, cst.Tuple, cst.List, cst.Set, cst.Dict)):
                container, child = True, parent
                continue
            if isinstance(parent, cst.DictElement):
                key = string_value(parent.key) if parent.value is child else None
                if key is not None and realtime_name(key):
                    return _risky(f"stored under the key '{key}'")
                container, child = True, parent
                continue
            if isinstance(parent, cst.Arg):
                call = parents.get(parent)
                if not isinstance(call, cst.Call) or parent.value is not child:
                    return _benign("used as an argument")
                verdict = self._argument(call, parent, formatted, container, depth)
                if verdict is not None:
                    return verdict
                formatted, child = True, call  # `str(x)`, `"{}".format(x)`: text from here on
                continue
            if isinstance(parent, cst.Expr):
                return _benign("formatted and thrown away" if formatted else "thrown away (a probe)")
            if isinstance(parent, (cst.Return, cst.Yield)) or (
                isinstance(parent, cst.Lambda) and parent.body is child
            ):
                return self._returned(parent, parents, unit, formatted or container)
            if isinstance(parent, (cst.Assign, cst.AnnAssign)) and parent.value is child:
                targets = (
                    [t.target for t in parent.targets] if isinstance(parent, cst.Assign) else [parent.target]
                )
                in_class = self._class is not None and _owner(parent, parents) is self._class
                verdicts = [
                    self._target(t, unit, depth, in_class, formatted=formatted, container=container)
                    for t in targets
                ]
                return next((v for v in verdicts if v.risky), verdicts[0])
            if isinstance(parent, (cst.AssignTarget, cst.Del)) or (
                isinstance(parent, (cst.AugAssign, cst.For, cst.CompFor)) and parent.target is child
            ):
                return None
            if isinstance(parent, cst.AugAssign):
                return _benign("accumulated into another value")
            return _benign("formatted into text" if formatted else "used where its zone does not matter")

    def _argument(
        self, call: cst.Call, arg: cst.Arg, formatted: bool, container: bool, depth: int
    ) -> NaiveUse | None:
        """The verdict on a value passed as `arg`; None: the call makes text of it."""
        name = _callee_name(call)
        if name in _DISPLAY_CALLS:
            return _benign("only shown in a message or a log line")
        if name in _TEXT_CALLS and not container:
            return None
        keyword = arg.keyword.value if arg.keyword is not None else None
        if keyword is not None and realtime_name(keyword):
            return _risky(f"passed as `{keyword}=`")
        if keyword is None:
            previous = None
            for candidate in call.args:
                if candidate is arg:
                    break
                previous = candidate
            key = string_value(previous.value) if previous is not None and previous.keyword is None else None
            if key is not None and realtime_name(key):
                return _risky(f"sent as the field '{key}'")
        if formatted:
            return _benign("formatted into text")
        if zone_attaching_call(call):
            return NaiveUse(False, f"given a zone by `{name}()`", zone=True)
        if name == "combine" and call.args and call.args[0] is arg:
            return _benign("used only for its calendar date")
        if name in _TEST_ASSERTIONS or name.startswith("assert"):
            return _benign("compared in a test assertion")
        if name in _NEUTRAL_CALLS or name in _COLLECTING_CALLS:
            return _benign("kept or inspected in memory")
        if self._calendar:
            return _benign("calendar arithmetic")
        if depth and name not in _STORING_CALLS:
            # handed on from a name or attribute: most such calls compute with it in memory
            return _benign(f"handed to `{name or 'a call'}()`")
        return _risky(f"passed to `{name or 'a call'}()`")

    def _returned(
        self, node: cst.CSTNode, parents: dict[cst.CSTNode, cst.CSTNode], unit: cst.CSTNode, text: bool
    ) -> NaiveUse:
        if text:
            return _benign("returned as text or in a container")
        if not self.returned:
            return _benign("returned to the caller, whose use decides")
        if self._calendar:
            return _benign("returned as calendar arithmetic")
        function: cst.CSTNode | None = node
        while function is not None and not isinstance(function, (cst.FunctionDef, cst.Lambda)):
            function = parents.get(function)
        branch = _benign("the explicit local-time branch of a function that returns aware values")
        if isinstance(function, cst.FunctionDef):
            for inner in iter_local_nodes(function.body):
                if isinstance(inner, cst.Return) and inner is not node and self._aware(inner.value):
                    return branch
        value = node.value if isinstance(node, cst.Return) else None
        if isinstance(value, cst.IfExp) and (self._aware(value.body) or self._aware(value.orelse)):
            return branch  # `return utcnow() if self.utc else datetime.now()`
        if isinstance(value, cst.Name) and any(
            self._aware(v) for v in self._index(unit).values.get(value.value, ())
        ):
            return branch  # the returned name holds an aware value on another path
        return _risky("returned to callers as if it were an instant")

    def _aware(self, value: cst.BaseExpression | None) -> bool:
        if not isinstance(value, cst.Call):
            return False
        if isinstance(value.func, cst.Attribute) and value.func.attr.value == "astimezone":
            return True
        if zone_attaching_call(value):
            return True
        func = value.func
        if (
            isinstance(func, cst.Attribute)
            and func.attr.value == "now"
            and isinstance(func.value, cst.Name)
            and func.value.value == "timezone"
        ):
            return True  # django.utils.timezone.now(): aware under USE_TZ
        tz = argument(value, 0, "tz") if _callee_name(value) == "now" else argument(value, None, "tzinfo")
        return tz is not None and not is_none(tz.value)

    # -- where it is stored -------------------------------------------------------------------

    def _target(
        self,
        target: cst.BaseExpression,
        unit: cst.CSTNode,
        depth: int,
        in_class: bool,
        *,
        formatted: bool,
        container: bool,
    ) -> NaiveUse:
        if isinstance(target, cst.Subscript):
            index = target.slice[0].slice if len(target.slice) == 1 else None
            key = string_value(index.value) if isinstance(index, cst.Index) else None
            owner = target.value
            if key is not None and not (isinstance(owner, cst.Name) and owner.value == "self"):
                return _risky(f"stored as the field '{key}' of `{self._code(owner)}`")
            return _benign("kept in a mapping or list")
        if isinstance(target, cst.Attribute):
            attr = _self_attribute(target)
            if attr is None:
                if realtime_name(target.attr.value):
                    return _risky(f"stored as `{self._code(target)}`")
                return _benign(f"kept in `{self._code(target)}`")
            return self._follow_attribute(attr, depth, formatted=formatted, container=container)
        if isinstance(target, cst.Name):
            if in_class:
                return self._follow_attribute(target.value, depth, formatted=formatted, container=container)
            return self._follow_name(target.value, unit, depth, formatted=formatted, container=container)
        return _benign("unpacked")

    def _follow_name(self, name: str, unit: cst.CSTNode, depth: int, *, formatted: bool, container: bool) -> NaiveUse:
        if depth >= _NAIVE_FOLLOW_DEPTH:
            return _benign(f"stored in `{name}`")
        key = (unit, name, formatted, container, self._calendar, self._reference)
        known = self._memo.get(key)
        if known is not None:
            return known
        self._memo[key] = _benign(f"stored in `{name}`")  # a name assigned from itself
        index = self._index(unit)
        seen = [
            use
            for occurrence in index.names.get(name, ())
            if (use := self._climb(occurrence, index.parent, unit, depth + 1,
                                   formatted=formatted, container=container)) is not None
        ]
        if not seen and (self._calendar or self._reference):
            verdict = _benign(f"kept in `{name}` as a calendar value or a fixed reference date")
        elif not seen:
            verdict = _risky(
                f"kept in the module-level `{name}`, which other modules may read"
                if unit is self.ctx.module
                else f"stored in `{name}`, whose use the rule cannot see"
            )
        else:
            verdict = self._combine(seen, f"`{name}`")
        self._memo[key] = verdict
        return verdict

    def _follow_attribute(self, attr: str, depth: int, *, formatted: bool, container: bool) -> NaiveUse:
        klass = self._class
        if klass is None or depth >= _NAIVE_FOLLOW_DEPTH:
            return _benign(f"kept in `self.{attr}`")
        key = (klass, attr, formatted, container, self._calendar, self._reference)
        known = self._memo.get(key)
        if known is not None:
            return known
        self._memo[key] = _benign(f"kept in `self.{attr}`")
        index = self._index(klass)
        seen: list[NaiveUse] = []
        for occurrence in index.attrs.get(attr, ()):
            function = _owner(occurrence, index.parent)
            use = self._climb(occurrence, index.parent, function or klass, depth + 1,
                              formatted=formatted, container=container)
            if use is not None:
                seen.append(use)
        if not seen:
            if realtime_name(attr) and not attr.startswith("_"):
                verdict = _risky(f"stored as `self.{attr}`")
            else:
                verdict = _benign(f"kept in `self.{attr}`")
        else:
            verdict = self._combine(seen, f"`self.{attr}`")
        self._memo[key] = verdict
        return verdict

    @staticmethod
    def _combine(seen: list[NaiveUse], holder: str) -> NaiveUse:
        if any(u.zone for u in seen):
            return NaiveUse(False, f"stored in {holder}, which is given a zone afterwards", zone=True)
        for use in seen:
            if use.risky:
                return _risky(f"stored in {holder}, which is {use.why}")
        if len(seen) == 1:
            return _benign(f"stored in {holder}, which is {seen[0].why}")
        return _benign(f"stored in {holder}, used only where its zone does not matter")

    # -- what it is compared with ------------------------------------------------------------

    def _same_kind(self, node: cst.BaseExpression, unit: cst.CSTNode, depth: int = 0) -> bool:
        """`node` is a naive datetime too: made by one of the datetime module's naive makers
        (not `utcnow()`, whose fields are UTC), `x.replace(tzinfo=None)`, a local name only
        ever bound to those, or a `self.<attr>` the class assigns from one; possibly moved by
        a duration."""
        if depth > 4:
            return False
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, (cst.Add, cst.Subtract)):
            if duration_like(node.right):
                return self._same_kind(node.left, unit, depth + 1)
            return isinstance(node.operator, cst.Add) and (
                self._same_kind(node.left, unit, depth + 1) or self._same_kind(node.right, unit, depth + 1)
            )
        if isinstance(node, cst.BooleanOperation):
            return self._same_kind(node.left, unit, depth + 1) or self._same_kind(node.right, unit, depth + 1)
        if isinstance(node, cst.Call):
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value == "replace":
                tz = argument(node, 7, "tzinfo")
                if tz is not None:
                    return is_none(tz.value)
                return self._same_kind(func.value, unit, depth + 1)
            qualified = self.ctx.qualified_name(func)
            if qualified not in _NAIVE_MAKERS or any(a.star == "**" for a in node.args):
                return False
            where = _NAIVE_MAKERS[qualified]
            if where is None:
                return True
            tz = argument(node, *where)
            # `now(last.tzinfo)`: whatever zone (or none) the other value has
            return tz is None or is_none(tz.value) or (
                isinstance(tz.value, cst.Attribute) and tz.value.attr.value == "tzinfo"
            )
        if isinstance(node, cst.Name):
            values = self._index(unit).values.get(node.value)
            return bool(values) and all(
                v is not None and (is_none(v) or self._same_kind(v, unit, depth + 1)) for v in values or ()
            )
        attr = _self_attribute(node)
        if attr is not None and self._class is not None:
            assigned = self._index(self._class).attr_values.get(attr, [])
            return any(self._same_kind(v, self._class, depth + 1) for v in assigned)
        return False

    def _code(self, node: cst.CSTNode) -> str:
        text = " ".join(self.ctx.module.code_for_node(node).split())
        return text if len(text) <= 40 else text[:37] + "..."


def attribute_bindings(
    klass: cst.ClassDef, name: str
) -> list[tuple[cst.BaseExpression | None, cst.BaseExpression | None]]:
    """How `klass` binds its attribute `name`: `(value, annotation)` for every
    `self.<name> = value` / `self.<name>: T = value` in its methods (code nested in them
    included) and every `<name> = value` / `<name>: T` in its body. Any other binding
    (`self.a, self.b = ...`, `+=`, `with ... as self.<name>`, a loop target) gives
    `(None, None)`: a value that is not known. Meant for a rule's `finish`, only for the
    classes where it saw a candidate (it walks the class)."""
    found: list[tuple[cst.BaseExpression | None, cst.BaseExpression | None]] = []
    for statement in suite_statements(klass.body):
        if isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                if isinstance(small, cst.Assign):
                    for target in small.targets:
                        if isinstance(target.target, cst.Name) and target.target.value == name:
                            found.append((small.value, None))
                elif isinstance(small, cst.AnnAssign):
                    if isinstance(small.target, cst.Name) and small.target.value == name:
                        found.append((small.value, small.annotation.annotation))
        if not isinstance(statement, cst.FunctionDef):
            continue
        params = [*statement.params.posonly_params, *statement.params.params]
        if not params:
            continue
        owner = params[0].name.value
        for node in iter_nodes(statement.body):
            if isinstance(node, cst.Assign):
                for target in node.targets:
                    if _is_attribute_of(target.target, owner, name):
                        found.append((node.value, None))
                    elif any(_is_attribute_of(n, owner, name) for n in iter_nodes(target.target)):
                        found.append((None, None))
            elif isinstance(node, cst.AnnAssign) and _is_attribute_of(node.target, owner, name):
                found.append((node.value, node.annotation.annotation))
            elif isinstance(node, (cst.AugAssign, cst.For, cst.CompFor)):
                if any(_is_attribute_of(n, owner, name) for n in iter_nodes(node.target)):
                    found.append((None, None))
            elif isinstance(node, cst.AsName) and _is_attribute_of(node.name, owner, name):
                found.append((None, None))
    return found


def _is_attribute_of(node: cst.CSTNode, owner: str, name: str) -> bool:
    return (
        isinstance(node, cst.Attribute)
        and node.attr.value == name
        and isinstance(node.value, cst.Name)
        and node.value.value == owner
    )


def makes_datagram_socket(ctx: Context, value: cst.BaseExpression) -> bool:
    """`socket.socket(family, socket.SOCK_DGRAM | ...)` (or `type=`): a datagram socket, whose
    sends are fire-and-forget by design (a datagram goes whole or not at all, and a successful
    send does not mean it arrived), unlike a stream's."""
    if not isinstance(value, cst.Call) or ctx.qualified_name(value.func) != "socket.socket":
        return False
    kind = argument(value, 1, "type")
    if kind is None:
        return False
    return any(
        isinstance(node, (cst.Name, cst.Attribute))
        and ctx.qualified_name(node) == "socket.SOCK_DGRAM"
        for node in iter_nodes(kind.value)
    )


# -- names that announce a point in real time (RG107 (b); RG101-RG105 stores) ----------


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


def private_self_attribute(node: cst.Attribute) -> bool:
    return (
        isinstance(node.value, cst.Name)
        and node.value.value in ("self", "cls")
        and node.attr.value.startswith("_")
    )


def storage_name(target: cst.BaseExpression) -> str | None:
    """The real-time name a value is stored under by this target, if any."""
    if isinstance(target, cst.Attribute):
        if not private_self_attribute(target) and realtime_name(target.attr.value):
            return target.attr.value
        return None
    if isinstance(target, cst.Subscript) and len(target.slice) == 1:
        index = target.slice[0].slice
        if isinstance(index, cst.Index):
            key = string_value(index.value)
            if key is not None and realtime_name(key):
                return key
    return None
