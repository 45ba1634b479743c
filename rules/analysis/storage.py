"""Storage knowledge about failures: which `except` clauses catch I/O and storage errors in
general, and when falling through a handler is itself the failure path."""

from __future__ import annotations

import libcst as cst

from rules.analysis.syntax import iter_nodes
from rules.rule import Context
from rules.scope import suite_statements

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


# Failures of a remote store however narrowly named: the builtin connection errors, socket
# errors, and any error class of an HTTP, cloud, database or message-broker client.
_REMOTE_BUILTINS = frozenset(
    {f"builtins.{name}" for name in (
        "ConnectionError", "ConnectionRefusedError", "ConnectionResetError",
        "ConnectionAbortedError", "BrokenPipeError", "TimeoutError",
    )}
)
_REMOTE_MODULES = (
    *STORAGE_LIBRARIES, "socket", "ssl", "urllib.error", "http.client", "aiohttp", "google.api_core",
    "google.cloud", "google.auth", "azure", "grpc", "kafka", "confluent_kafka", "pika", "aio_pika",
    "paramiko", "ftplib", "smtplib", "elasticsearch", "opensearchpy", "aiobotocore",
    "asyncpg", "motor", "cassandra", "minio",
)


def catches_remote_failure(ctx: Context, handler: cst.ExceptHandler | cst.ExceptStarHandler) -> bool:
    """The clause catches some failure of a remote store: broadly (see `catches_broadly`),
    or by a connection, timeout, socket or client library error class, however narrow."""
    if catches_broadly(ctx, handler):
        return True
    kind = handler.type
    members = [e.value for e in kind.elements] if isinstance(kind, cst.Tuple) else [kind]
    for member in members:
        name = ctx.qualified_name(member) if member is not None else None
        if name is None:
            continue
        if name in _REMOTE_BUILTINS:
            return True
        module = name.rpartition(".")[0]
        if any(module == lib or module.startswith(lib + ".") for lib in _REMOTE_MODULES):
            return True
    return False


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


# -- the failure path after a handler --------------------------------------------------------


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
    returns = any(isinstance(n, cst.Return) for n in iter_nodes(node.body, local=True))
    if returns and _exits(_statement_after(chain, node)):
        return True
    if len(chain) < 3 or not isinstance(chain[-2], (cst.For, cst.While)):
        return False
    if not any(isinstance(n, (cst.Break, cst.Return)) for n in iter_nodes(node.body, local=True)):
        return False
    loop = chain[-2]
    if loop.orelse is not None:
        return any(_exits(s) for s in suite_statements(loop.orelse.body))
    return _exits(_statement_after(chain[:-2], loop))


_CHECKS = frozenset(
    {"exists", "lexists", "isfile", "isdir", "is_file", "is_dir", "access", "stat", "getsize"}
)


def _operands(node: cst.CSTNode, module: cst.Module) -> set[str]:
    """The names and dotted names an expression mentions (`path`, `self.target`)."""
    out: set[str] = set()
    for inner in iter_nodes(node):
        if isinstance(inner, (cst.Name, cst.Attribute)):
            out.add(module.code_for_node(inner))
    return out


def checked_after(ctx: Context, node: cst.Try | cst.TryStar, write: cst.Call) -> bool:
    """For `node` the current `try`: the statement right after it checks, on the filesystem,
    what the write should have done, and acts on it (`except OSError: pass` then
    `if not os.path.exists(target): raise ...`): the failure is not lost, it is handled
    there, where an existing target may also mean another process did the job."""
    following = _statement_after(ctx.ancestors, node)
    if not isinstance(following, cst.If):
        return False
    checks = [
        call for call in iter_nodes(following.test)
        if isinstance(call, cst.Call)
        and (
            (isinstance(call.func, cst.Attribute) and call.func.attr.value in _CHECKS)
            or (isinstance(call.func, cst.Name) and call.func.value in _CHECKS)
        )
    ]
    if not checks:
        return False
    parts: list[cst.CSTNode] = [arg.value for arg in write.args]
    if isinstance(write.func, cst.Attribute):
        parts.append(write.func.value)  # `target.write_text(...)`
    written = set().union(*(_operands(part, ctx.module) for part in parts)) - {"os", "shutil"}
    checked = set().union(*(_operands(call, ctx.module) for call in checks))
    return bool(written & checked)
