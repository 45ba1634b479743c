from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from rules.analysis.storage import catches_broadly, failure_follows, handler_label
from rules.analysis.syntax import LOG_METHODS, argument, iter_nodes, literal_value
from rules.analysis.uses import names_used_outside
from rules.analysis.writes import is_std_stream
from rules.model import Severity
from rules.rule import Context, Rule
from rules.scope import NESTED_SCOPES, suite_statements

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
# Best-effort teardown: nobody is left to tell, and raising there masks the real error.
_TEARDOWN_NAMES = frozenset({
    "del", "exit", "aexit", "close", "aclose", "shutdown", "finish", "terminate",
})
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
_HTTP_CLIENTS = frozenset({
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
_CLEANUP = frozenset({"rollback", "close"})
_PRINTERS = frozenset({
    "builtins.print", "traceback.print_exc", "traceback.print_exception",
    "traceback.print_stack", "sys.stdout.write", "sys.stdout.flush", "sys.stderr.flush",
})

class SwallowedWriteError(Rule):
    """An `except` that catches the failure of a write and tells nobody.

    What it flags:
    An `except` clause (reported on its line) whose `try` body writes and whose handler
    swallows the failure.

    - A write is a call of `commit`, `flush`, `save*`, `write`, `writelines`, `put*`, `merge`,
      `add_all`, `bulk_*`, `upload*`, `send`, `sendall`, `fsync`; `insert*`/`update*`/
      `upsert*` on a receiver that is not a builtin container; `execute`/`executemany` of SQL
      that changes data, or of any statement on a database handle; `post`/`patch`/`delete` of
      a `requests`/`httpx` client; `dump` to a file; `rename`/`replace` of a path; and
      `os.write`/`os.fsync`/`os.rename`/`os.replace`/`json.dump`/`pickle.dump`/
      `requests.post`..., however imported.
    - The catch is broad: bare `except`, `Exception`, `BaseException`, `OSError` and its
      aliases (`IOError`, `socket.error`), `TimeoutError`, or a base or
      transport error class of `sqlite3`, `sqlalchemy`, `psycopg`/`psycopg2`, `pymongo`,
      `redis`, `requests`, `httpx`, `urllib3`, `botocore`, `boto3` or `django.db`, resolved
      through imports; a tuple counts if any member is broad.
    - The handler swallows when it holds nothing but `pass`, `...`, `continue`, `break`,
      logging calls, `print` to stdout, `traceback.print_exc()`, `rollback()`/`close()`
      cleanup, and assignments to local names nothing outside the handler reads.

    Deliberately not flagged, where the shape is ambiguous:
    - narrow catches naming one expected condition (`KeyError`, `FileNotFoundError`,
      `IntegrityError`, `DuplicateKeyError`, redis `WatchError`...), including the builtin
      `ConnectionError` family (`BrokenPipeError`...: the peer is gone; a library's
      `ConnectionError` stays broad), and a class that is not an import (`except self.errors:`);
    - a handler doing anything else (calling another function, `warnings.warn`, setting an
      attribute, appending to a list, assigning a name read later, `print(..., file=sys.stderr)`
      or `sys.stderr.write`, which is how a command-line program tells its user): it may tell
      the caller;
    - a `try` whose body ends with `return`: whatever runs after the handler (a
      `return False`, the implicit `return None` the caller tests, a fallback doing the job
      another way, the next candidate of a probing loop) is the failure path; a retry loop
      whose body `break`s on success and whose `else:` or next statement returns or raises;
      and a body that returns somewhere, followed by a `return`/`raise` right after the `try`;
    - a `try` inside another `except` or a `finally` of the same function: it sends word of a
      failure that already happened (a traceback to a peer whose connection just broke) or
      cleans up on the way out (flushing telemetry before `os._exit`), best effort;
    - `update`/`insert` on a literal `dict`/`set`/`list`, on a name or `self.` attribute bound
      to one (or to `dict()`, a `collections` or `hashlib` object) in the same function,
      module or class, on `**kwargs`, `os.environ`, `sys.*`, `x[k]` and bare `self`;
    - `execute` of SQL that changes no data: a literal `SELECT`/`WITH ... SELECT`/`EXPLAIN`/
      `SHOW`, schema and session statements (`CREATE`, `DROP`, `ALTER`, `SET`, `PRAGMA`...:
      best-effort DDL loses no data), a SQLAlchemy `select()`; `execute` of a statement the
      code does not spell out when its result is fetched (`.fetchall()`, `.scalars()`...), or
      when the receiver is not a database handle (`runner.execute(task)`: also the method of
      task runners and operators): a handle comes from `.cursor()`, `.connect()`, `.begin()`,
      `.connection()`, `<module>.connect(...)`, or is a query-builder chain
      (`Model.delete().where(...).execute()`);
    - console and memory output: `sys.stdout`/`sys.stderr` (directly, through a name,
      parameter default or `self.` attribute bound to them), a command's `self.stdout`, a child
      process's `proc.stdin`, `os.write(1|2, ...)`, `io.StringIO`/`io.BytesIO`, and
      `self.write()`/`self.flush()` of a stream wrapper;
    - a write or send of a constant of at most four bytes (a wake-up byte, a probe);
    - `send` of an in-process event signal (`post_save.send(...)`, a name bound to
      `Signal(...)` of django.dispatch, blinker or celery): the dispatch is not a write;
    - `send`/`sendall` on a datagram socket (bound to `socket.socket(..., SOCK_DGRAM)` in the
      function, the module or the class): a datagram is fire-and-forget by design, since a
      send that succeeds does not mean it arrived either (`sd_notify`, statsd metrics);
    - writes inside nested functions and lambdas (they do not run in the `try`);
    - handlers in `__del__`, `__exit__`, `__aexit__`, `close`, `aclose`, `shutdown`, `finish`,
      `terminate` (leading underscores ignored): teardown is best effort and there is nobody
      left to tell.

    Still flagged, although sometimes benign: a handler in the loop of a long-running worker
    or a periodic job that logs with the traceback and carries on. The operator sees it, the
    user does not, and whether the next tick writes the same data again (a reconciliation
    that re-derives its writes from the store) or the data is gone (a batch taken off a
    queue) cannot be told from the shape. Where the next tick really redoes the write, say so
    in a `# reviewgate: ignore[RG201] <reason>` on the `except` line.

    Why it is risky:
    The write failed, the program carries on as if the data were stored, and the user is never
    told. A log line reaches an operator at best, long after the data is gone. Bad:
    `try: session.commit()` / `except SQLAlchemyError: log.warning("commit failed")`.

    How to fix:
    Let the error propagate (clean up, then `raise`), or return a failure the caller has to
    handle, or record it where the caller looks. Good:
    `try: session.commit()` / `except SQLAlchemyError: session.rollback(); raise`.
    """

    code = "RG201"
    slug = "swallowed-write-error"
    severity = Severity.ERROR

    VALID = [
        # in-process event dispatch is not a write
        "from django.db.models.signals import post_save\n"
        "def f(obj):\n    try:\n        post_save.send(sender=type(obj), instance=obj)\n"
        "    except Exception:\n        log.exception('receiver failed')\n",
        "from celery.utils import dispatch\nclass W:\n    def __init__(self):\n"
        "        self._signal = dispatch.Signal()\n    def fire(self, task):\n        try:\n"
        "            self._signal.send(sender=self, task=task)\n        except Exception:\n"
        "            logger.exception('handler failed')\n",
        "from sqlalchemy.exc import SQLAlchemyError\n"
        "def f(session):\n    try:\n        session.commit()\n"
        "    except SQLAlchemyError:\n        session.rollback()\n        raise\n",
        "def f(session):\n    try:\n        session.commit()\n"
        "    except Exception:\n        session.rollback()\n        raise\n",
        "def f(path, data):\n    try:\n        path.write_bytes(data)\n        return True\n"
        "    except OSError:\n        return False\n",
        "def f(cache, key, fh):\n    try:\n        fh.write(cache[key])\n"
        "    except KeyError:\n        pass\n",
        "class Job:\n    def run(self, conn):\n        try:\n            conn.commit()\n"
        "        except Exception:\n            self.failed = True\n",
        "def f(conn, errors):\n    try:\n        conn.commit()\n"
        "    except Exception as exc:\n        errors.append(exc)\n",
        "def f(conn):\n    ok = True\n    try:\n        conn.commit()\n"
        "    except Exception:\n        ok = False\n    return ok\n",
        "def f(p, data):\n    with open(p, 'w') as fh:\n        fh.write(data)\n",
        "import sys\ntry:\n    sys.stderr.write('bye')\nexcept OSError:\n    pass\n",
        "def f(d, other):\n    d = {}\n    try:\n        d.update(other)\n"
        "    except Exception:\n        pass\n",
        "import sys\ntry:\n    sys.path.insert(0, 'x')\nexcept Exception:\n    pass\n",
        "import os\ntry:\n    os.rename('a', 'b')\nexcept FileNotFoundError:\n    pass\n",
        "import sqlite3\ndef f(conn, row):\n    try:\n        conn.execute('INSERT INTO t VALUES (?)', row)\n"
        "    except sqlite3.IntegrityError:\n        pass\n",
        "def f(cur):\n    try:\n        cur.execute('SELECT 1')\n    except Exception:\n        pass\n",
        "def f(s):\n    try:\n        return s.replace('a', 'b')\n    except Exception:\n        pass\n",
        "class Spool:\n    def __del__(self):\n        try:\n            self.flush()\n"
        "        except Exception:\n            pass\n",
        "def f(conn, notify):\n    try:\n        conn.commit()\n"
        "    except Exception as exc:\n        notify(exc)\n",
        "def f(client):\n    try:\n        client.delete('k')\n    except Exception:\n        pass\n",
        "def f(items, x):\n    try:\n        def later():\n            x.save()\n"
        "        items.append(later)\n    except Exception:\n        pass\n",
        "import warnings\ndef f(fh, data):\n    try:\n        fh.write(data)\n"
        "    except OSError as exc:\n        warnings.warn(str(exc))\n",
        "import socket\ndef notify(state):\n    try:\n"
        "        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
        "        sock.sendall(state)\n    except Exception:\n        pass\n",
    ]
    INVALID = [
        "from sqlalchemy.exc import SQLAlchemyError\nimport logging\nlog = logging.getLogger(__name__)\n"
        "def f(session):\n    try:\n        session.commit()\n"
        "    except SQLAlchemyError:\n        session.rollback()\n        log.warning('commit failed')\n",
        "def f(fh, data):\n    try:\n        fh.write(data)\n    except:\n        pass\n",
        "import os\ndef f(a, b):\n    try:\n        os.replace(a, b)\n    except OSError:\n        pass\n",
        "import requests\ndef f(url, body):\n    try:\n        requests.post(url, json=body)\n"
        "    except requests.RequestException as exc:\n        print(exc)\n",
        "import requests\ndef f(url, body):\n    s = requests.Session()\n    try:\n        s.delete(url)\n"
        "    except Exception:\n        ...\n",
        "import botocore.exceptions as bx\ndef f(s3, path):\n    try:\n        s3.upload_file(path, 'b', 'k')\n"
        "    except (ValueError, bx.ClientError):\n        pass\n",
        "import sqlite3 as db\ndef f(conn, rows):\n    for row in rows:\n        try:\n"
        "            conn.execute('INSERT INTO t VALUES (?)', row)\n"
        "        except db.Error:\n            continue\n",
        "import logging\ndef f(obj):\n    try:\n        obj.save()\n    except Exception:\n"
        "        logging.exception('save failed')\n        failed = True\n",
        "import json\ndef f(obj, fh):\n    try:\n        json.dump(obj, fh)\n    except IOError:\n"
        "        if fh:\n            fh.close()\n",
        "def f(repo, rec):\n    try:\n        repo.update(rec)\n    except OSError:\n        pass\n",
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._bindings: dict[cst.CSTNode, dict[str, list[cst.BaseExpression]]] = {}
        self._fetched: set[cst.CSTNode] = set()  # calls whose result is fetched right away

    def visit_Try(self, node: cst.Try) -> None:
        self._check(node)

    def visit_TryStar(self, node: cst.TryStar) -> None:
        self._check(node)

    def _check(self, node: cst.Try | cst.TryStar) -> None:
        scanned = False
        write: cst.Call | None = None
        for handler in node.handlers:
            assigned: set[str] = set()
            if not self._noise_only(suite_statements(handler.body), assigned):
                continue
            if not catches_broadly(self.ctx, handler):
                continue
            function = self.ctx.enclosing_function()
            if isinstance(function, cst.FunctionDef) and function.name.value.strip("_") in _TEARDOWN_NAMES:
                return
            if self._reporting_already():
                return
            if not scanned:
                scanned, write = True, self._first_write(node.body)
            if write is None:
                return
            if assigned and self._recorded(handler, assigned):
                continue
            if failure_follows(self.ctx, node):
                return
            self.report(
                handler,
                f"{handler_label(self.ctx, handler)} swallows the failure of the write "
                f"`{self._callee(write)}(...)` in its `try`: the data is lost and nobody is "
                "told. Re-raise after cleanup, return a failure, or record it for the caller; "
                "logging alone only tells an operator.",
            )

    def _reporting_already(self) -> bool:
        """The `try` sits in another `except` or in a `finally` of this function: it sends word
        of a failure that already happened (a traceback to a peer whose connection just
        broke) or cleans up on the way out, where raising would mask the real error."""
        for node in reversed(self.ctx.ancestors):
            if isinstance(node, (cst.ExceptHandler, cst.ExceptStarHandler, cst.Finally)):
                return True
            if isinstance(node, NESTED_SCOPES):
                return False
        return False

    # -- the handler ---------------------------------------------------------------------
    def _noise_only(self, statements: list[cst.CSTNode], assigned: set[str]) -> bool:
        """Only statements that tell the caller nothing: pass, logging, cleanup..."""
        for stmt in statements:
            if isinstance(stmt, cst.SimpleStatementLine):
                if not self._noise_only(list(stmt.body), assigned):
                    return False
            elif isinstance(stmt, (cst.Pass, cst.Continue, cst.Break)):
                continue
            elif isinstance(stmt, cst.Expr):
                value = stmt.value
                if isinstance(value, cst.Await):
                    value = value.expression
                if isinstance(value, (cst.Ellipsis, cst.SimpleString, cst.ConcatenatedString)):
                    continue
                if not isinstance(value, cst.Call) or not self._noise_call(value):
                    return False
            elif isinstance(stmt, (cst.Assign, cst.AnnAssign, cst.AugAssign)):
                targets = (
                    [t.target for t in stmt.targets] if isinstance(stmt, cst.Assign) else [stmt.target]
                )
                for target in targets:
                    if not _local_names(target, assigned):
                        return False
            elif isinstance(stmt, cst.If):
                if not self._noise_only(suite_statements(stmt.body), assigned):
                    return False
                orelse = stmt.orelse
                rest: list[cst.CSTNode] = (
                    [orelse] if isinstance(orelse, cst.If)
                    else [] if orelse is None else suite_statements(orelse.body)
                )
                if not self._noise_only(rest, assigned):
                    return False
            elif isinstance(stmt, cst.Try):
                blocks = [stmt.body, *(h.body for h in stmt.handlers)]
                if stmt.orelse is not None:
                    blocks.append(stmt.orelse.body)
                if stmt.finalbody is not None:
                    blocks.append(stmt.finalbody.body)
                if not all(self._noise_only(suite_statements(b), assigned) for b in blocks):
                    return False
            else:
                return False
        return True

    def _noise_call(self, call: cst.Call) -> bool:
        func = call.func
        if isinstance(func, cst.Name):
            if self.ctx.qualified_name(func) not in _PRINTERS:
                return False
            # `print(..., file=sys.stderr)` is how a command-line program tells its user
            target = argument(call, None, "file")
            return target is None or not is_std_stream(self.ctx, target.value)
        if not isinstance(func, cst.Attribute):
            return False
        attr = func.attr.value
        if attr in _CLEANUP:
            return True
        name = self.ctx.qualified_name(func)
        if name is not None:
            return name in _PRINTERS or (name.startswith("logging.") and attr in LOG_METHODS)
        return attr in LOG_METHODS and self._is_logger(func.value)

    def _is_logger(self, receiver: cst.BaseExpression) -> bool:
        if isinstance(receiver, cst.Call):
            return self.ctx.qualified_name(receiver.func) == "logging.getLogger"
        if isinstance(receiver, cst.Attribute):
            ident = receiver.attr.value
        elif isinstance(receiver, cst.Name):
            ident = receiver.value
        else:
            return False
        ident = ident.lower()
        return (
            ident.lstrip("_") == "log" or ident.endswith("logger") or ident.endswith("_log")
            or ident.startswith("log_")
        )

    def _recorded(self, handler: cst.CSTNode, names: set[str]) -> bool:
        """A name the handler assigns is read elsewhere: the failure is passed on."""
        if names & (self.ctx.scope.globals | self.ctx.scope.nonlocals):
            return True
        owner: cst.CSTNode = self.ctx.enclosing_function() or self.ctx.module
        return bool(names_used_outside(owner, handler, names))

    # -- the try body --------------------------------------------------------------------
    def _first_write(self, body: cst.BaseSuite) -> cst.Call | None:
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
            if attr == "send" and self._event_signal(receiver, name):
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
            isinstance(v, cst.Call) and self.ctx.qualified_name(v.func) in _HTTP_CLIENTS
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

    def _callee(self, call: cst.Call) -> str:
        text = self.ctx.module.code_for_node(call.func)
        if len(text) > 40 or "\n" in text:
            attr = call.func.attr.value if isinstance(call.func, cst.Attribute) else "call"
            return "..." + attr
        return text


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


def _local_names(target: cst.BaseExpression, out: set[str]) -> bool:
    """Collect the plain names `target` binds; False if it stores anywhere else."""
    if isinstance(target, cst.Name):
        out.add(target.value)
        return True
    if isinstance(target, (cst.Tuple, cst.List)):
        return all(_local_names(e.value, out) for e in target.elements)
    if isinstance(target, cst.StarredElement):
        return _local_names(target.value, out)
    return False


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
