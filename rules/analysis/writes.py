"""Storage knowledge about writes: which calls write to storage, which open a file for
writing, and where output goes to the console rather than to storage."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from rules.analysis.syntax import argument, iter_nodes, literal_value
from rules.rule import Context

STD_STREAMS = frozenset({"sys.stdout", "sys.stderr", "sys.__stdout__", "sys.__stderr__"})
_OPEN_FUNCTIONS = frozenset({"builtins.open", "io.open"})
_MODE_LETTERS = frozenset("rwxabtU+")
_WRITE_LETTERS = frozenset("wxa+")

# A call of one of these methods writes, whatever it is called on.
_WRITE_METHODS = frozenset({
    "commit", "flush", "write", "writelines", "merge", "add_all", "execute", "executemany",
    "send", "sendall", "fsync",
})
_WRITE_PREFIXES = ("save", "put", "bulk_", "upload")
# Also the methods of `dict`, `set`, `list` (and hash objects): a write only on another receiver.
_CONTAINER_PREFIXES = ("insert", "update", "upsert")
_HTTP_METHODS = frozenset({"post", "patch", "delete"})
_MOVE_METHODS = frozenset({"rename", "replace"})
_STREAM_METHODS = frozenset({"write", "send", "sendall"})
_CONSOLE_METHODS = frozenset({"write", "writelines", "flush"})
# A command's `self.stdout`, a child process's `proc.stdin`: a terminal or a pipe, not storage.
_PIPES = frozenset({"stdout", "stderr", "stdin"})
_MEMORY_STREAMS = frozenset({"io.StringIO", "io.BytesIO"})
_DUMP_TARGETS = frozenset({"fp", "file", "stream"})
_WRITE_FUNCTIONS = frozenset(
    {"os.fsync", "os.rename", "os.replace", "os.write", "json.dump", "pickle.dump", "marshal.dump"}
    | {f"{lib}.{verb}" for lib in ("requests", "httpx") for verb in ("post", "put", "patch", "delete")}
)
_FUNCTION_NAMES = frozenset(name.rpartition(".")[2] for name in _WRITE_FUNCTIONS)
_NOT_WRITES = frozenset({"heapq.merge", "dataclasses.replace", "copy.replace", "os.putenv"})
HTTP_CLIENTS = frozenset({
    "requests.Session", "requests.session", "requests.sessions.Session",
    "requests.sessions.session", "httpx.Client", "httpx.AsyncClient",
})
_CONTAINERS = (cst.Dict, cst.Set, cst.List, cst.DictComp, cst.SetComp, cst.ListComp)
_CONTAINER_FACTORIES = frozenset({
    "builtins.dict", "builtins.set", "builtins.list", "builtins.bytearray", "builtins.globals",
    "builtins.locals", "builtins.vars", "os.environ", "os.environb",
})
_CONTAINER_MODULES = ("collections.", "hashlib.", "hmac.", "sys.")
_EXECUTE = frozenset({"execute", "executemany"})
# Methods that hand out a database connection or cursor: `conn.cursor()`, `engine.begin()`.
_DB_HANDLES = frozenset({"cursor", "connect", "begin", "connection", "raw_connection"})
# Statements that change no data: reads, and schema or session statements (best-effort DDL
# such as an optional index, a connection setting restored after use) whose failure loses none.
_READ_SQL = frozenset({
    "SELECT", "EXPLAIN", "SHOW", "DESCRIBE", "DESC", "PRAGMA", "CREATE", "DROP", "ALTER", "SET",
    "USE", "COMMENT", "ANALYZE", "VACUUM", "REINDEX", "GRANT", "REVOKE",
})
_DATA_CHANGES = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE", "UPSERT", "REPLACE"})
# Reading the result marks a read: `session.execute(stmt).scalars().all()`.
_FETCHES = frozenset({
    "fetchall", "fetchone", "fetchmany", "all", "first", "one", "one_or_none", "scalar",
    "scalars", "scalar_one", "scalar_one_or_none", "mappings", "tuples",
})


def is_std_stream(ctx: Context, expr: cst.BaseExpression | None) -> bool:
    """`sys.stdout`, `sys.stderr` (and the `__stdout__`/`__stderr__` originals)."""
    return expr is not None and ctx.qualified_name(expr) in STD_STREAMS


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


class StorageWrites:
    """Which calls of one file write to storage: the `try` bodies RG201 guards.

    A write is a call of a method that writes whatever it is called on (`commit`, `write`,
    `send`, `save*`, `upload*`...), `insert*`/`update*` on something that is not a builtin
    container, `execute` of SQL that changes data or of anything on a database handle, an
    HTTP client's `post`/`patch`/`delete`, `dump` to a file, a path's `rename`/`replace`,
    and the functions of `os`, `json`, `pickle`, `requests` and `httpx` that write. Console
    and memory streams, datagram sockets, in-process event signals and probes of a few
    constant bytes are not storage. Names and `self.<attr>` receivers are looked up in the
    function, the module and the class (cached per file).
    """

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._bindings: dict[cst.CSTNode, dict[str, list[cst.BaseExpression]]] = {}
        self._fetched: set[cst.CSTNode] = set()  # calls whose result is fetched right away

    def first_write(self, body: cst.BaseSuite) -> cst.Call | None:
        """The first call in `body` (outside nested functions) that writes, in source order."""
        for node in iter_nodes(body, local=True):  # pre-order: `x.fetchall()` before its `x`
            if type(node) is cst.Call:
                func = node.func
                if isinstance(func, cst.Attribute) and func.attr.value in _FETCHES:
                    self._fetched.add(func.value)
                elif self._is_write(node):
                    return node
        return None

    def _is_write(self, call: cst.Call) -> bool:
        func = call.func
        if isinstance(func, cst.Name):
            if func.value not in _FUNCTION_NAMES or self.ctx.qualified_name(func) not in _WRITE_FUNCTIONS:
                return False
            return func.value != "dump" or self._dumps_to_file(call)
        if not isinstance(func, cst.Attribute):
            return False
        attr = func.attr.value
        if attr in _WRITE_METHODS or attr.startswith(_WRITE_PREFIXES):
            kind = "write"
        elif attr.startswith(_CONTAINER_PREFIXES):
            kind = "container"
        elif attr in _HTTP_METHODS:
            kind = "http"
        elif attr in _MOVE_METHODS:
            kind = "move"
        elif attr == "dump":
            kind = "dump"
        else:
            return False
        name = self.ctx.qualified_name(func)
        if name is not None:
            if name in _WRITE_FUNCTIONS and kind != "dump":
                return not (attr in _STREAM_METHODS and (_signal_only(call) or _to_console_fd(call)))
            # sys.stdout.write & co: console output, and other modules' functions of that name
            if name in _NOT_WRITES or name.startswith("sys.") or kind in ("http", "move"):
                return False
        receiver = func.value
        if kind == "write":
            if attr in _EXECUTE:
                return self._executes_write(call, receiver)
            if attr in _STREAM_METHODS and (_signal_only(call) or self._datagram(receiver)):
                return False
            if attr == "send" and (self._event_signal(receiver, name) or _keywords_only(call)):
                return False
            if attr in _CONSOLE_METHODS and _is_self(receiver):
                return False  # `self.flush()`: the class wraps a stream, the caller sees its errors
            return not (attr in _CONSOLE_METHODS and self._console(receiver, 0))
        if kind == "container":
            # `x[k].update(...)` is a dict of dicts, `self.update(...)` the object's own state
            if isinstance(receiver, cst.Subscript) or _is_self(receiver):
                return False
            return not self._is_container(receiver, depth=0)
        if kind == "http":
            return self._is_http_client(receiver)
        if kind == "move":
            return (
                len(call.args) == 1 and call.args[0].keyword is None and not call.args[0].star
            )
        return self._dumps_to_file(call)

    def _dumps_to_file(self, call: cst.Call) -> bool:
        """`dump(obj, fh)`: to a file (not `sys.stdout`); `Pickler.dump(obj)` has no target."""
        positional = [a for a in call.args if a.keyword is None and not a.star]
        target = argument(call, 1, None) if len(positional) >= 2 else next(
            (a for a in call.args if a.keyword is not None and a.keyword.value in _DUMP_TARGETS), None
        )
        return target is not None and not is_std_stream(self.ctx, target.value)

    def _is_container(self, receiver: cst.BaseExpression, depth: int) -> bool:
        if isinstance(receiver, _CONTAINERS):
            return True
        if isinstance(receiver, cst.Attribute) and receiver.attr.value == "__dict__":
            return True
        made = receiver.func if isinstance(receiver, cst.Call) else receiver
        name = self.ctx.qualified_name(made) or ""
        if name in _CONTAINER_FACTORIES or name.startswith(_CONTAINER_MODULES):
            return True
        if isinstance(receiver, cst.Call):
            return False
        if depth:
            return False
        if isinstance(receiver, cst.Name):
            function = self.ctx.enclosing_function()
            if isinstance(function, cst.FunctionDef):
                kwargs = function.params.star_kwarg
                if isinstance(kwargs, cst.Param) and kwargs.name.value == receiver.value:
                    return True
        values = self._values(receiver)
        return any(self._is_container(v, depth + 1) for v in values)

    def _executes_write(self, call: cst.Call, receiver: cst.BaseExpression) -> bool:
        """`execute` of a statement that changes data, or of any statement on a database handle
        (`execute` alone is also a task runner's, an operator's, a command's method)."""
        arg = argument(call, 0, None)
        statement = self._statement(arg.value, 0) if arg is not None else None
        if statement is not None:
            return statement == "write"
        if call in self._fetched:
            return False  # `cur.execute(query).fetchall()`: the result is read
        if arg is None:  # a query builder's `Model.delete().where(...).execute()`
            return isinstance(receiver, cst.Call)
        values = [receiver] if isinstance(receiver, cst.Call) else self._values(receiver)
        return any(isinstance(v, cst.Call) and self._opens_database(v) for v in values)

    def _opens_database(self, call: cst.Call) -> bool:
        func = call.func
        if isinstance(func, cst.Attribute) and func.attr.value in _DB_HANDLES:
            return True
        return (self.ctx.qualified_name(func) or "").endswith(".connect")

    def _statement(self, value: cst.BaseExpression, depth: int) -> str | None:
        """"read" or "write" for SQL the code spells out (a literal, a formatted literal, a
        SQLAlchemy construct, a local name bound to one); None when it cannot be told."""
        if isinstance(value, cst.Name):
            if depth:
                return None
            kinds = {self._statement(v, 1) for v in self._values(value)}
            return "write" if "write" in kinds else "read" if kinds == {"read"} else None
        if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, (cst.Modulo, cst.Add)):
            return self._statement(value.left, depth)
        if isinstance(value, cst.Call):
            root = value
            while isinstance(root.func, cst.Attribute) and isinstance(root.func.value, cst.Call):
                root = root.func.value
            if isinstance(root.func, cst.Attribute) and root.func.attr.value == "format":
                return self._statement(root.func.value, depth)
            name = self.ctx.qualified_name(root.func) or ""
            if not name.startswith("sqlalchemy."):
                return None
            construct = name.rpartition(".")[2]
            if construct == "select":
                return "read"
            if construct == "text":
                inner = argument(root, 0, "text")
                return self._statement(inner.value, depth) if inner is not None else None
            return "write"
        return _sql_kind(value)

    def _console(self, receiver: cst.BaseExpression, depth: int) -> bool:
        """The stream is (or may be) the console or memory: `sys.stdout`/`sys.stderr` directly,
        `file = file or sys.stderr`, a parameter defaulting to it, `self.stream = sys.stdout`,
        a module-level alias, the `self.stdout` of a command class, an `io.StringIO`."""
        if is_std_stream(self.ctx, receiver):
            return True
        if isinstance(receiver, cst.Call):
            return self.ctx.qualified_name(receiver.func) in _MEMORY_STREAMS
        if (
            isinstance(receiver, cst.Attribute)
            and receiver.attr.value in _PIPES
            and self.ctx.qualified_name(receiver) is None
        ):
            return True
        if depth > 1 or not isinstance(receiver, (cst.Name, cst.Attribute)):
            return False
        values = list(self._values(receiver))
        function = self.ctx.enclosing_function()
        if isinstance(receiver, cst.Name) and isinstance(function, cst.FunctionDef):
            params = function.params
            for param in (*params.posonly_params, *params.params, *params.kwonly_params):
                if param.name.value == receiver.value and param.default is not None:
                    values.append(param.default)
        for value in values:
            for inner in iter_nodes(value):
                if isinstance(inner, cst.Attribute) and (
                    is_std_stream(self.ctx, inner)
                    or (inner.attr.value in _PIPES and self.ctx.qualified_name(inner) is None)
                ):
                    return True
                if isinstance(inner, cst.Call) and self.ctx.qualified_name(inner.func) in _MEMORY_STREAMS:
                    return True
                if isinstance(inner, cst.Name) and self._console(inner, depth + 1):
                    return True
        return False

    def _datagram(self, receiver: cst.BaseExpression) -> bool:
        """`sock.send(...)` on a socket bound to `socket.socket(..., socket.SOCK_DGRAM)` here, in
        the module, or on `self` in the class."""
        if not isinstance(receiver, (cst.Name, cst.Attribute)):
            return False
        return any(_makes_datagram_socket(self.ctx, v) for v in self._values(receiver))

    def _event_signal(self, receiver: cst.BaseExpression, name: str | None) -> bool:
        """`post_save.send(...)`, `self._signal.send(...)`: an in-process event dispatch
        (django.dispatch, blinker, celery's signals), whose receivers' failures are theirs.
        Known by the import (a `signals`/`dispatch` module) or a binding to `...Signal(...)`."""
        if name is not None and any(part in ("signals", "dispatch") for part in name.split(".")[:-1]):
            return True
        if not isinstance(receiver, (cst.Name, cst.Attribute)):
            return False
        for value in self._values(receiver):
            if isinstance(value, cst.Call):
                made_by = self.ctx.qualified_name(value.func)
                if made_by is not None and made_by.rpartition(".")[2] in ("Signal", "NamedSignal"):
                    return True
        return False

    def _is_http_client(self, receiver: cst.BaseExpression) -> bool:
        values = [receiver] if isinstance(receiver, cst.Call) else self._values(receiver)
        return any(
            isinstance(v, cst.Call) and self.ctx.qualified_name(v.func) in HTTP_CLIENTS
            for v in values
        )

    def _values(self, receiver: cst.BaseExpression) -> list[cst.BaseExpression]:
        """What `name` or `self.attr` is bound to in this function (else the module), or class."""
        if isinstance(receiver, cst.Name):
            for node in reversed(self.ctx.ancestors):  # this function, then the enclosing ones
                if isinstance(node, cst.ClassDef):
                    break
                if isinstance(node, (cst.FunctionDef, cst.Lambda)):
                    local = self._bound_in(node).get(receiver.value)
                    if local:
                        return local
            return self._bound_in(self.ctx.module).get(receiver.value, [])
        if (
            isinstance(receiver, cst.Attribute)
            and isinstance(receiver.value, cst.Name)
            and receiver.value.value == "self"
        ):
            for node in reversed(self.ctx.ancestors):
                if isinstance(node, cst.ClassDef):
                    return self._bound_in(node).get("self." + receiver.attr.value, [])
        return []

    def _bound_in(self, owner: cst.CSTNode) -> dict[str, list[cst.BaseExpression]]:
        """Assignments in `owner`: a module's top level, a function, a class with its methods."""
        found = self._bindings.get(owner)
        if found is not None:
            return found
        found = {}
        walk: Iterator[cst.CSTNode]
        if isinstance(owner, cst.Module):
            # the top level only: what a module-level name holds when functions run
            tops = [s for s in owner.body if isinstance(s, (cst.SimpleStatementLine, cst.With))]
            walk = (n for top in tops for n in iter_nodes(top, local=True))
        elif isinstance(owner, cst.ClassDef):
            walk = iter_nodes(owner.body)
        elif isinstance(owner, (cst.FunctionDef, cst.Lambda)):
            walk = iter_nodes(owner.body, local=True)
        else:
            return found
        for node in walk:
            pairs: list[tuple[cst.BaseExpression, cst.BaseExpression | None]] = []
            if isinstance(node, cst.Assign):
                pairs = [(t.target, node.value) for t in node.targets]
            elif isinstance(node, cst.AnnAssign):
                pairs = [(node.target, node.value)]
            elif isinstance(node, cst.WithItem) and node.asname is not None:
                pairs = [(node.asname.name, node.item)]
            for target, value in pairs:
                key = _binding_key(target)
                if key is not None and value is not None:
                    found.setdefault(key, []).append(value)
        self._bindings[owner] = found
        return found


def _is_self(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Name) and node.value == "self"


def _to_console_fd(call: cst.Call) -> bool:
    """`os.write(2, ...)`: file descriptors 1 and 2 are stdout and stderr."""
    fd = call.args[0].value if call.args else None
    return isinstance(fd, cst.Integer) and fd.value in ("1", "2")


def _signal_only(call: cst.Call) -> bool:
    """`send(b"\\0")`, `write(b"")`, `os.write(fd, b"blat")`: a wake-up byte or a probe of
    a few constant bytes, not data."""
    if not call.args or len(call.args) > 2:
        return False
    text = literal_value(call.args[-1].value)
    return text is not None and len(text) <= 4


def _binding_key(target: cst.BaseExpression) -> str | None:
    if isinstance(target, cst.Name):
        return target.value
    if (
        isinstance(target, cst.Attribute)
        and isinstance(target.value, cst.Name)
        and target.value.value == "self"
    ):
        return "self." + target.attr.value
    return None


def _sql_kind(value: cst.BaseExpression) -> str | None:
    """"read" for a literal `SELECT`/`EXPLAIN`/`SHOW`/read-only `PRAGMA`, else "write"."""
    while isinstance(value, cst.ConcatenatedString):  # the verb is in the first piece
        value = value.left
    literal = literal_value(value)
    text = literal if isinstance(literal, str) else None
    if text is None and isinstance(value, cst.FormattedString) and value.parts:
        first = value.parts[0]
        text = first.value if isinstance(first, cst.FormattedStringText) else None
    if text is None:
        return None
    words = text.lstrip(" \t\r\n(").split(None, 1)
    if not words:
        return None
    verb = words[0].upper()
    if verb == "WITH":  # a CTE in front of a SELECT, unless it feeds a data change
        changes = {w.strip("(),;").upper() for w in text.split()} & _DATA_CHANGES
        return "write" if changes else "read"
    return "read" if verb in _READ_SQL else "write"


def _makes_datagram_socket(ctx: Context, value: cst.BaseExpression) -> bool:
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


def _keywords_only(call: cst.Call) -> bool:
    """`watch_update.send(watch_uuid=uuid)`: keyword arguments only. A socket, pipe or
    queue takes its data positionally; an event signal (blinker, Django) takes a `sender`
    and keyword payloads, so this is a dispatch, not a write."""
    return bool(call.args) and all(arg.keyword is not None for arg in call.args)
