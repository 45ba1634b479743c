from __future__ import annotations

import libcst as cst

from rules.analysis.storage import (
    catches_broadly,
    catches_remote_failure,
    failure_follows,
    handler_label,
)
from rules.analysis.syntax import argument, callee_name, is_none, iter_nodes
from rules.analysis.uses import names_used_outside
from rules.analysis.writes import StorageWrites, is_std_stream, opened_path, write_open_mode
from rules.model import Severity
from rules.rule import Context, Rule
from rules.scope import NESTED_SCOPES

_LOCAL_COPIES = frozenset(
    {f"shutil.{name}" for name in ("copy", "copy2", "copyfile", "copytree", "move")}
)
_DUMPS = frozenset({"json.dump", "pickle.dump"})
_PATH_WRITES = frozenset({"write_text", "write_bytes"})
# A temporary file made in a handler is where the data is about to go: `mkstemp` leaves the
# file behind, as does `NamedTemporaryFile(delete=False)`.
_TEMP_FILES = frozenset({"tempfile.mkstemp", "tempfile.NamedTemporaryFile"})
# Last names worth resolving: everything else in a handler is skipped cheaply.
_CANDIDATES = frozenset(
    {"open", "dump"} | _PATH_WRITES | {n.rpartition(".")[2] for n in _LOCAL_COPIES | _TEMP_FILES}
)
# Calls that hand the failure to someone who will see it.
_TELLS = frozenset({
    "warnings.warn", "sys.exit", "os._exit", "os.abort", "builtins.exit", "builtins.quit",
})
_RECORDS = frozenset({"append", "extend", "add", "appendleft", "put", "put_nowait", "set"})
_ASSIGNMENTS = (cst.Assign, cst.AnnAssign, cst.AugAssign)


class SilentLocalFallback(Rule):
    """An `except` that quietly writes the data to local disk instead.

    What it flags:
    An `except` clause that catches broadly (as for RG201) and writes the data to the local
    filesystem instead (a file opened for writing, `shutil.copy`, `json.dump`, a temporary
    file, or a helper of this module doing so), without raising, returning a failure,
    exiting, warning or recording the failure for the caller.

    Why it is risky:
    The intended store failed, and the data went to a file on this machine that nobody reads,
    while the program reports success. This is how records silently pile up in a local spool
    until someone notices they are missing. Bad:
    `try: s3.upload_file(path, bucket, key)` /
    `except ClientError: shutil.copy(path, "/var/spool/pending")`.

    How to fix:
    Keep the fallback if it is wanted, but make the failure visible: re-raise after writing
    the local copy, return a failure the caller must handle, or record it where the caller
    looks. Good: `except ClientError: shutil.copy(path, spool); raise`.
    """

    code = "RG207"
    slug = "silent-local-fallback"
    severity = Severity.ERROR

    DETAILS = """
    An `except` clause (reported on its line) with a broad catch (as for RG201: bare,
    `Exception`, `OSError` and its aliases, `TimeoutError`, or a base or transport error of a
    storage, HTTP or database library, resolved through imports), or, when the `try` body
    writes to a store (as for RG201), any remote failure however narrowly named (the builtin
    `ConnectionError` family and `TimeoutError`, `socket` and `ssl` errors, any error class of
    an HTTP, cloud, database or message-broker client: `requests`, `httpx`, `botocore`,
    `google.api_core`, `azure`, `redis`, `pika`...), whose handler writes to the
    local filesystem (`open`/`io.open`/`Path.open` with a literal writing mode,
    `write_text`/`write_bytes`, `shutil.copy`/`copy2`/`copyfile`/`copytree`/`move`,
    `json.dump`/`pickle.dump`, `tempfile.mkstemp`, `tempfile.NamedTemporaryFile(delete=False)`,
    or a call of a method of the same class (`self._spool(rec)`) or a function of the same
    module whose body makes such a write to a place of its own choosing and never raises)
    and neither raises, returns a failure, exits, warns (`warnings.warn`) nor records the
    failure for the caller (an attribute or item assignment, a name read outside the handler,
    `append`/`extend`/`add`/`put`/`set` on something). A bare `return` (or `return None`)
    counts as a failure only in a function that returns a value elsewhere, where the caller
    can tell `None` apart; in a function that never returns a value it merely skips the rest
    (`except ClientError: shutil.copy(path, spool); return` before `os.remove(path)`).

    Deliberately not flagged, where the shape is ambiguous: narrow catches around a body
    that writes nowhere (`FileNotFoundError` around creating a missing file is
    initialisation, not a fallback); a handler whose writes all go to a destination the
    `try` body already uses (`os.link(src, dst)` falling back to `shutil.copy2(src, dst)`, a
    rename falling back to a move: the same place by other means); a `try` whose body ends
    with `return` (or returns and is followed by a `return`/`raise`), so that falling through
    the handler is itself the failure path; `os.devnull` and `sys.stdout`/`sys.stderr`; writes
    in nested functions; a helper whose destination comes from its parameters (the caller
    picks the place, which may be the intended one by other means); helpers further than one
    call away.
    """

    VALID = [
        # a narrow catch around a body that writes to no store
        "def f(p, sock):\n    try:\n        sock.connect(('h', 1))\n    except ConnectionError:\n"
        "        open(p, 'w').close()\n",
        "import shutil\nfrom botocore.exceptions import ClientError\n"
        "def f(s3, path):\n    try:\n        s3.upload_file(path, 'b', 'k')\n"
        "    except ClientError:\n        shutil.copy(path, '/var/spool')\n        raise\n",
        "import json\ndef f(client, rec):\n    try:\n        client.put(rec)\n"
        "    except Exception:\n        with open('spool.json', 'a') as fh:\n"
        "            json.dump(rec, fh)\n        return False\n    return True\n",
        "import os, shutil\ndef f(src, dst):\n    try:\n        os.link(src, dst)\n"
        "    except OSError:\n        shutil.copy2(src, dst)\n",
        "def f(p):\n    try:\n        fh = open(p)\n    except FileNotFoundError:\n"
        "        open(p, 'w').close()\n",
        "def f(p):\n    try:\n        return open(p).read()\n    except OSError:\n"
        "        return None\n",
        "class Sink:\n    def send(self, rec):\n        try:\n            self.remote.put(rec)\n"
        "        except Exception:\n            self.degraded = True\n"
        "            with open('spool', 'a') as fh:\n                fh.write(rec)\n",
        "import warnings\ndef f(db, rec, p):\n    try:\n        db.save(rec)\n    except Exception:\n"
        "        warnings.warn('saved locally')\n        p.write_text(rec)\n",
        "import json, sys\ndef f(db, rec):\n    try:\n        db.save(rec)\n    except Exception:\n"
        "        json.dump(rec, sys.stdout)\n",
        "def f(db, rec, failed):\n    try:\n        db.save(rec)\n    except Exception:\n"
        "        failed.append(rec)\n        open('spool', 'a').write(rec)\n",
        "def f(db, rec):\n    try:\n        db.save(rec)\n    except Exception:\n"
        "        def later():\n            open('spool', 'a').write(rec)\n        db.on_reconnect(later)\n",
        "import shutil\ndef upload(s3, local, key):\n    try:\n        s3.upload_file(local, 'b', key)\n"
        "    except Exception:\n        shutil.copy(local, '/var/spool')\n        return None\n"
        "    return key\n",
    ]
    INVALID = [
        "import shutil\nfrom botocore.exceptions import ClientError\n"
        "def f(s3, path):\n    try:\n        s3.upload_file(path, 'b', 'k')\n"
        "    except ClientError:\n        shutil.copy(path, '/var/spool')\n",
        "import json, logging\ndef f(client, rec):\n    try:\n        client.put(rec)\n"
        "    except Exception:\n        logging.exception('remote write failed')\n"
        "        with open('spool.json', 'a') as fh:\n            json.dump(rec, fh)\n",
        "import pickle\nimport requests as rq\ndef f(url, rec, spool):\n    try:\n"
        "        rq.post(url, json=rec).raise_for_status()\n"
        "    except (rq.RequestException, ValueError):\n        pickle.dump(rec, spool)\n",
        "from pathlib import Path\ndef f(db, rec):\n    try:\n        db.insert(rec)\n    except:\n"
        "        Path('/tmp/pending').write_text(rec)\n",
        "import sqlite3\ndef f(conn, rows, p):\n    for row in rows:\n        try:\n"
        "            conn.execute('INSERT INTO t VALUES (?)', row)\n"
        "        except sqlite3.OperationalError:\n            p.open('a').write(str(row))\n",
        "import os, shutil\nfrom botocore.exceptions import ClientError\n"
        "def upload(s3, local, key):\n    try:\n        s3.upload_file(local, 'b', key)\n"
        "    except ClientError:\n        shutil.copy(local, '/var/spool/uploads')\n        return\n"
        "    os.remove(local)\n",
        "import logging\nclass Uploader:\n    def _spool(self, data):\n"
        "        with open(self.spool_dir + '/pending', 'ab') as fh:\n            fh.write(data)\n"
        "    def send(self, data):\n        try:\n            self.client.upload(data)\n"
        "        except Exception:\n            logging.exception('upload failed')\n"
        "            self._spool(data)\n",
        "import os, tempfile\nimport httpx\ndef push(client, data):\n    try:\n"
        "        client.post('/ingest', content=data).raise_for_status()\n"
        "    except httpx.HTTPError:\n        fd, path = tempfile.mkstemp(prefix='ingest-')\n"
        "        os.write(fd, data)\n",
        # the incident: the remote write failed on the network, the data went to local disk
        "import json\ndef f(client, rec):\n    try:\n        client.put(rec)\n"
        "    except (ConnectionError, TimeoutError):\n"
        "        with open('/var/spool/pending.json', 'a') as fh:\n            json.dump(rec, fh)\n",
        "import socket\ndef f(sock, data):\n    try:\n        sock.sendall(data)\n"
        "    except socket.timeout:\n        open('/tmp/unsent', 'ab').write(data)\n",
        "from requests.exceptions import ConnectTimeout\nimport requests\ndef f(u, rec, p):\n"
        "    try:\n        requests.post(u, json=rec).raise_for_status()\n"
        "    except ConnectTimeout:\n        p.write_text(str(rec))\n",
        "from google.api_core.exceptions import ServiceUnavailable\nimport shutil\n"
        "def f(blob, path):\n    try:\n        blob.upload_from_filename(path)\n"
        "    except ServiceUnavailable:\n        shutil.copy(path, '/var/spool')\n",
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self._functions: dict[str, cst.FunctionDef] | None = None
        self._helper_writes: dict[cst.FunctionDef, str | None] = {}
        self._writes = StorageWrites(ctx)

    def visit_Try(self, node: cst.Try) -> None:
        self._check(node)

    def visit_TryStar(self, node: cst.TryStar) -> None:
        self._check(node)

    def _check(self, node: cst.Try | cst.TryStar) -> None:
        remote: bool | None = None  # the `try` body writes to a store: decided once, if asked
        for handler in node.handlers:
            if not catches_broadly(self.ctx, handler):
                if not catches_remote_failure(self.ctx, handler):
                    continue
                if remote is None:
                    remote = self._writes.first_write(node.body) is not None
                if not remote:
                    continue
            write = self._silent_write(node, handler)
            if write is not None:
                self.report(
                    handler,
                    f"{handler_label(self.ctx, handler)} falls back to writing locally "
                    f"({write}) and neither raises nor returns a failure: the data quietly "
                    "lands where nobody looks. After the fallback, re-raise or return a failure "
                    "(or record it for the caller) so the failed write is seen.",
                )

    def _silent_write(
        self, node: cst.Try | cst.TryStar, handler: cst.ExceptHandler | cst.ExceptStarHandler
    ) -> str | None:
        """The first local write of `handler` to a new destination, if the handler tells no one."""
        writes: list[tuple[str, cst.BaseExpression | None]] = []
        assigned: set[str] = set()
        silent_returns = False
        for inner in iter_nodes(handler.body, local=True):
            if isinstance(inner, cst.Return) and (inner.value is None or is_none(inner.value)):
                silent_returns = True
            elif isinstance(inner, (cst.Raise, cst.Return)):
                return None
            if isinstance(inner, cst.Call):
                if self._tells(inner):
                    return None
                write = self._local_write(inner)
                if write is not None:
                    writes.append((f"`{write[0]}`", write[1]))
                else:
                    spooled = self._spooling_helper(inner)
                    if spooled is not None:
                        writes.append((spooled, None))
            elif isinstance(inner, _ASSIGNMENTS):
                targets = (
                    [t.target for t in inner.targets] if isinstance(inner, cst.Assign) else [inner.target]
                )
                for target in targets:
                    if isinstance(target, (cst.Attribute, cst.Subscript)):
                        return None
                    if isinstance(target, cst.Name):
                        assigned.add(target.value)
        if not writes or failure_follows(self.ctx, node):
            return None
        if silent_returns and self._returns_values(handler):
            return None  # `None` is this function's failure value
        if assigned:
            if assigned & (self.ctx.scope.globals | self.ctx.scope.nonlocals):
                return None
            owner: cst.CSTNode = self.ctx.enclosing_function() or self.ctx.module
            if names_used_outside(owner, handler, assigned):
                return None
        tried = list(iter_nodes(node.body, local=True))
        for label, dest in writes:
            if dest is None or not any(
                type(n) is type(dest) and n.deep_equals(dest) for n in tried
            ):
                return label
        return None

    def _spooling_helper(self, call: cst.Call) -> str | None:
        """`self._spool(rec)` or `save_locally(rec)`: a method of this class or a function of
        this module whose body writes locally to a place of its own choosing and never
        raises. A destination built from the helper's parameters is the caller's choice
        (`_copy(src, dst)` may be the same place by other means), so it does not count."""
        func = call.func
        helper: cst.FunctionDef | None = None
        if isinstance(func, cst.Name):
            helper = self._module_functions().get(func.value)
        elif isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value in ("self", "cls"):
            owner = next((n for n in reversed(self.ctx.ancestors) if isinstance(n, cst.ClassDef)), None)
            if owner is not None:
                helper = self._methods(owner).get(func.attr.value)
        if helper is None or helper is self.ctx.enclosing_function():
            return None
        if helper not in self._helper_writes:
            self._helper_writes[helper] = self._writes_own_file(helper)
        inner = self._helper_writes[helper]
        if inner is None:
            return None
        return f"`{self.ctx.module.code_for_node(func)}(...)`, which calls `{inner}`"

    def _writes_own_file(self, helper: cst.FunctionDef) -> str | None:
        params = {
            p.name.value
            for p in (*helper.params.posonly_params, *helper.params.params, *helper.params.kwonly_params)
        }
        bound: dict[str, list[cst.BaseExpression]] = {}
        found: str | None = None
        for node in iter_nodes(helper.body, local=True):
            if isinstance(node, cst.Raise):
                return None
            if isinstance(node, cst.Assign):
                for target in node.targets:
                    if isinstance(target.target, cst.Name):
                        bound.setdefault(target.target.value, []).append(node.value)
            elif isinstance(node, cst.Call) and found is None:
                write = self._local_write(node)
                if write is not None and not _from_params(write[1], params, bound):
                    found = write[0]
        return found

    def _module_functions(self) -> dict[str, cst.FunctionDef]:
        if self._functions is None:
            self._functions = {
                s.name.value: s for s in self.ctx.module.body if isinstance(s, cst.FunctionDef)
            }
        return self._functions

    def _methods(self, owner: cst.ClassDef) -> dict[str, cst.FunctionDef]:
        body = owner.body.body if isinstance(owner.body, cst.IndentedBlock) else ()
        return {s.name.value: s for s in body if isinstance(s, cst.FunctionDef)}

    def _returns_values(self, handler: cst.CSTNode) -> bool:
        """The enclosing function returns something other than `None` outside `handler`."""
        function = self.ctx.enclosing_function()
        if not isinstance(function, cst.FunctionDef):
            return False
        stack: list[cst.CSTNode] = [function.body]
        while stack:  # iter_nodes(local=True), but skipping the handler's subtree
            node = stack.pop()
            if node is handler:
                continue
            if isinstance(node, cst.Return) and node.value is not None and not is_none(node.value):
                return True
            if isinstance(node, NESTED_SCOPES):
                continue
            stack.extend(node.children)
        return False

    def _tells(self, call: cst.Call) -> bool:
        func = call.func
        if isinstance(func, cst.Attribute):
            if func.attr.value in _RECORDS:
                return True
            if func.attr.value not in ("warn", "exit", "_exit", "abort"):
                return False
        elif not isinstance(func, cst.Name) or func.value not in ("warn", "exit", "quit", "_exit", "abort"):
            return False
        return self.ctx.qualified_name(func) in _TELLS

    def _local_write(self, call: cst.Call) -> tuple[str, cst.BaseExpression | None] | None:
        func = call.func
        last = callee_name(call)
        if last not in _CANDIDATES and not (isinstance(func, cst.Name) and last.endswith("open")):
            return None
        if last.endswith("open"):
            mode = write_open_mode(self.ctx, call)
            if mode is None:
                return None
            dest = opened_path(self.ctx, call)
            if dest is not None and self.ctx.qualified_name(dest) == "os.devnull":
                return None
            return f"{'open' if isinstance(func, cst.Name) else '.open'}(..., {mode!r})", dest
        name = self.ctx.qualified_name(func)
        if name in _TEMP_FILES:
            if name == "tempfile.NamedTemporaryFile":
                keep = argument(call, 7, "delete")
                if keep is None or not (isinstance(keep.value, cst.Name) and keep.value.value == "False"):
                    return None  # deleted on close: scratch space, not a fallback store
            return f"{name}(...)", None
        if last in _PATH_WRITES and isinstance(func, cst.Attribute) and name is None:
            return f".{last}(...)", func.value
        if name in _LOCAL_COPIES:
            arg = argument(call, 1, "dst")
            return f"{name}(...)", arg.value if arg is not None else None
        if name in _DUMPS:
            arg = argument(call, 1, "fp") or argument(call, 1, "file")
            target = arg.value if arg is not None else None
            if is_std_stream(self.ctx, target):
                return None
            return f"{name}(...)", target
        return None


def _from_params(
    dest: cst.BaseExpression | None, params: set[str], bound: dict[str, list[cst.BaseExpression]]
) -> bool:
    """The destination is built from a parameter, directly or through one local name."""
    if dest is None:
        return False
    names = {n.value for n in iter_nodes(dest) if isinstance(n, cst.Name)}
    for name in list(names):
        for value in bound.get(name, ()):
            names |= {n.value for n in iter_nodes(value) if isinstance(n, cst.Name)}
    return bool(names & params - {"self", "cls"})
