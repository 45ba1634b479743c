from __future__ import annotations

import libcst as cst

from rules.analysis.storage import catches_broadly, checked_after, failure_follows, handler_label
from rules.analysis.syntax import LOG_METHODS, argument, iter_nodes
from rules.analysis.uses import names_used_outside
from rules.analysis.writes import StorageWrites, is_std_stream
from rules.model import Severity
from rules.rule import Context, Example, Rule
from rules.scope import NESTED_SCOPES, suite_statements

# Best-effort teardown: nobody is left to tell, and raising there masks the real error.
_TEARDOWN_NAMES = frozenset({
    "del", "exit", "aexit", "close", "aclose", "shutdown", "finish", "terminate",
})
_CLEANUP = frozenset({"rollback", "close"})
# Log levels an operator is alerted on: the postmortem's monitoring measure.
_ALERTING = frozenset({"warning", "warn", "error", "exception", "critical", "fatal"})
_ALERTING_LEVELS = frozenset(
    {"logging.WARNING", "logging.WARN", "logging.ERROR", "logging.CRITICAL", "logging.FATAL"}
)
_PRINTERS = frozenset({
    "builtins.print", "traceback.print_exc", "traceback.print_exception",
    "traceback.print_stack", "sys.stdout.write", "sys.stdout.flush", "sys.stderr.flush",
})


class SwallowedWriteError(Rule):
    """An `except` that catches the failure of a write and tells nobody.

    What it flags:
    An `except` clause whose `try` body writes (a commit, a file or socket write, an HTTP
    `post`, an upload...) and whose handler, catching broadly (bare, `Exception`, `OSError`,
    a storage library's base error), does nothing but pass, log, print or clean up.

    Why it is risky:
    The write failed, the program carries on as if the data were stored, and the user is never
    told. A log line reaches an operator at best, long after the data is gone (a warning when
    it is logged at warning level or above, an error otherwise). Bad:
    `try: session.commit()` / `except SQLAlchemyError: log.info("commit failed")`.

    How to fix:
    Let the error propagate (clean up, then `raise`), or return a failure the caller has to
    handle, or record it where the caller looks. Good:
    `try: session.commit()` / `except SQLAlchemyError: session.rollback(); raise`.
    """

    code = "RG201"
    slug = "swallowed-write-error"
    severity = Severity.ERROR

    DETAILS = """
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
      logging calls, `warnings.warn`, `print` to stdout, `traceback.print_exc()`,
      `rollback()`/`close()` cleanup, and assignments to local names nothing outside the
      handler reads.
    - Severity: an error when nobody is told (nothing, `debug`/`info` lines, `print`); a
      warning when the handler alerts an operator: `log.warning/error/exception/critical`,
      `log.log(logging.WARNING...)` or above, `warnings.warn`. That is the monitoring the
      postmortem asks for, though the caller still carries on as if the data were stored.

    Deliberately not flagged, where the shape is ambiguous:
    - narrow catches naming one expected condition (`KeyError`, `FileNotFoundError`,
      `IntegrityError`, `DuplicateKeyError`, redis `WatchError`...), including the builtin
      `ConnectionError` family (`BrokenPipeError`...: the peer is gone; a library's
      `ConnectionError` stays broad), and a class that is not an import (`except self.errors:`);
    - a handler doing anything else (calling another function, setting an attribute, appending to a list, assigning a name read later, `print(..., file=sys.stderr)`
      or `sys.stderr.write`, which is how a command-line program tells its user): it may tell
      the caller;
    - a `try` whose body ends with `return`: whatever runs after the handler (a
      `return False`, the implicit `return None` the caller tests, a fallback doing the job
      another way, the next candidate of a probing loop) is the failure path; a retry loop
      whose body `break`s on success and whose `else:` or next statement returns or raises;
      and a body that returns somewhere, followed by a `return`/`raise` right after the `try`;
    - a `try` followed right away by an `if` that checks on the filesystem what the write
      should have done (`except OSError: pass` then `if not os.path.exists(target): ...`,
      `target.exists()`, `os.path.isfile(...)`), naming a path or receiver of the write: the
      failure is handled there;
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
    """

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
        # a query sent as a POST, its answer read; an event signal sent with keyword payloads
        "import requests\ndef check(url, version):\n    r = None\n    try:\n"
        "        r = requests.Session().post(url, data={'version': version})\n    except Exception:\n"
        "        pass\n    return r is not None and 'new_version' in r.text\n",
        "from .app import watch_update\ndef cancel(uuid):\n    try:\n"
        "        watch_update.send(watch_uuid=uuid)\n    except Exception:\n        pass\n",
        # a rename made durable by syncing its folder, best effort where that is not supported
        "import os\ndef sync_dir(path):\n    try:\n        fd = os.open(os.path.dirname(path), os.O_RDONLY)\n"
        "        try:\n            os.fsync(fd)\n        finally:\n            os.close(fd)\n"
        "    except OSError:\n        pass\n",
        # the failure checked on disk right after the handler
        "import os\ndef f(a, b):\n    try:\n        os.replace(a, b)\n    except OSError:\n        pass\n"
        "    if not os.path.exists(b):\n        raise RuntimeError(b)\n",
        "import socket\ndef notify(state):\n    try:\n"
        "        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)\n"
        "        sock.sendall(state)\n    except Exception:\n        pass\n",
    ]
    INVALID = [
        "from sqlalchemy.exc import SQLAlchemyError\nimport logging\nlog = logging.getLogger(__name__)\n"
        "def f(session):\n    try:\n        session.commit()\n"
        "    except SQLAlchemyError:\n        session.rollback()\n        log.info('commit failed')\n",
        # an operator is alerted (warning level or above): a warning
        Example(
            "from sqlalchemy.exc import SQLAlchemyError\nimport logging\nlog = logging.getLogger(__name__)\n"
            "def f(session):\n    try:\n        session.commit()\n"
            "    except SQLAlchemyError:\n        session.rollback()\n        log.warning('commit failed')\n",
            severity=Severity.WARNING,
        ),
        Example(
            "import warnings\ndef f(fh, data):\n    try:\n        fh.write(data)\n"
            "    except OSError as exc:\n        warnings.warn(str(exc))\n",
            severity=Severity.WARNING,
        ),
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
        Example(
            "import logging\ndef f(obj):\n    try:\n        obj.save()\n    except Exception:\n"
            "        logging.exception('save failed')\n        failed = True\n",
            severity=Severity.WARNING,
        ),
        "import json\ndef f(obj, fh):\n    try:\n        json.dump(obj, fh)\n    except IOError:\n"
        "        if fh:\n            fh.close()\n",
        "def f(repo, rec):\n    try:\n        repo.update(rec)\n    except OSError:\n        pass\n",
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._writes = StorageWrites(ctx)
        self._alerted = False  # the handler being read logs at warning level or above

    def visit_Try(self, node: cst.Try) -> None:
        self._check(node)

    def visit_TryStar(self, node: cst.TryStar) -> None:
        self._check(node)

    def _check(self, node: cst.Try | cst.TryStar) -> None:
        scanned = False
        write: cst.Call | None = None
        for handler in node.handlers:
            assigned: set[str] = set()
            self._alerted = False
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
                scanned, write = True, self._writes.first_write(node.body)
            if write is None or self._query(write) or self._directory_sync(write):
                return
            if assigned and self._recorded(handler, assigned):
                continue
            if failure_follows(self.ctx, node) or checked_after(self.ctx, node, write):
                return
            if self._alerted:
                self.report(
                    handler,
                    f"{handler_label(self.ctx, handler)} swallows the failure of the write "
                    f"`{self._callee(write)}(...)` in its `try`; an operator is alerted, but "
                    "the caller carries on as if the data were stored. Re-raise after "
                    "cleanup, or return a failure the caller has to handle.",
                    severity=Severity.WARNING,
                )
                continue
            self.report(
                handler,
                f"{handler_label(self.ctx, handler)} swallows the failure of the write "
                f"`{self._callee(write)}(...)` in its `try`: the data is lost and nobody is "
                "told. Re-raise after cleanup, return a failure, or record it for the caller; "
                "a debug or info line tells nobody.",
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
        if name == "warnings.warn":
            self._alerted = True
            return True
        if name is not None:
            logged = name.startswith("logging.") and attr in LOG_METHODS
        else:
            logged = attr in LOG_METHODS and self._is_logger(func.value)
        if logged:
            self._alerted |= self._alerting(call, attr)
        return logged or name in _PRINTERS

    def _alerting(self, call: cst.Call, method: str) -> bool:
        if method != "log":
            return method in _ALERTING
        level = argument(call, 0, "level")
        return level is not None and self.ctx.qualified_name(level.value) in _ALERTING_LEVELS

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
    def _directory_sync(self, write: cst.Call) -> bool:
        """`os.fsync(dir_fd)` of a directory opened read-only (`os.open(folder, os.O_RDONLY)`):
        making a rename durable, best effort where the platform cannot (Windows, some file
        systems); the data itself is already written."""
        if self.ctx.qualified_name(write.func) != "os.fsync" or not write.args:
            return False
        fd = write.args[0].value
        if not isinstance(fd, cst.Name):
            return False
        owner: cst.CSTNode = self.ctx.enclosing_function() or self.ctx.module
        for node in iter_nodes(owner):
            if (
                isinstance(node, cst.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0].target, cst.Name)
                and node.targets[0].target.value == fd.value
                and isinstance(node.value, cst.Call)
                and self.ctx.qualified_name(node.value.func) == "os.open"
            ):
                flags = {
                    self.ctx.qualified_name(n)
                    for arg in node.value.args[1:2] for n in iter_nodes(arg.value)
                    if isinstance(n, (cst.Name, cst.Attribute))
                }
                return bool(flags & {"os.O_RDONLY", "os.O_DIRECTORY"}) and not flags & {"os.O_WRONLY", "os.O_RDWR"}
        return False

    def _query(self, write: cst.Call) -> bool:
        """`r = session.post(url, data=...)` whose answer the function reads (`r.text`,
        `r.json()`): a query sent as a POST (a version check, a search), not a write."""
        func = write.func
        if not (isinstance(func, cst.Attribute) and func.attr.value == "post"):
            return False
        assign = next((a for a in reversed(self.ctx.ancestors) if isinstance(a, (cst.Assign, cst.AnnAssign))), None)
        owner: cst.CSTNode = self.ctx.enclosing_function() or self.ctx.module
        for candidate in iter_nodes(owner):
            if isinstance(candidate, cst.Assign) and candidate.value is write and len(candidate.targets) == 1:
                assign = candidate
        if not isinstance(assign, cst.Assign) or assign.value is not write:
            return False
        target = assign.targets[0].target
        if not isinstance(target, cst.Name):
            return False
        return any(
            isinstance(node, cst.Attribute)
            and node.attr.value in ("text", "json", "content")
            and isinstance(node.value, cst.Name)
            and node.value.value == target.value
            for node in iter_nodes(owner)
        )

    def _callee(self, call: cst.Call) -> str:
        text = self.ctx.module.code_for_node(call.func)
        if len(text) > 40 or "\n" in text:
            attr = call.func.attr.value if isinstance(call.func, cst.Attribute) else "call"
            return "..." + attr
        return text


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




