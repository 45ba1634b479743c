from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from rules.analysis.flow import KnownBindings, TracksBindings, shadowed_here
from rules.analysis.syntax import argument, callee_name, is_discarded, literal_value
from rules.model import Severity
from rules.rule import Context, Example, FixSpec, Rule
from rules.scope import Scope

_STREAM = "stream-socket"  # a connected stream (TCP, TLS, Unix stream) socket
_SOCKET = "socket"  # a socket by annotation: its type is not known
_DATAGRAM = "datagram-socket"  # one datagram per call: a send is never partial
_SOCKET_ANNOTATIONS = {"socket.socket", "ssl.SSLSocket"}
_OS_WRITE = frozenset({"os.write", "posix.write"})
# POSIX writes of at most PIPE_BUF bytes (512 at the least) to a pipe are atomic, and a short
# literal is in practice written whole to a file: `os.write(fd, b"x")` wake-ups are fine. A
# short `str` literal (`os.write(w, "0")`, code ported from Python 2) is the same wake-up
# shape; on Python 3 it raises `TypeError`, which no partial-write fix addresses.
_ATOMIC_BYTES = 512


_SERVER = (  # a listening loopback socket, for the examples' exercise code
    "import socket as _socket\nsrv = _socket.socket()\nsrv.bind(('127.0.0.1', 0))\nsrv.listen()\n"
)


@dataclass
class _Send:
    call: cst.Call
    method: str
    scope: Scope
    receiver: str


class PartialWrite(TracksBindings, Rule):
    """A write that may be partial, whose byte count is thrown away.

    What it flags:
    `os.write(fd, data)` and a stream socket's `.send(data)` / `.sendto(data, address)` used
    as a statement of their own, so the count of bytes actually written is thrown away.

    Why it is risky:
    These calls return how many bytes were actually written, which may be fewer than asked
    (a full socket buffer, a signal, a nearly full disk). Dropping the count drops the rest
    of the data without any error. Bad: `sock.send(payload)`.

    How to fix:
    On a socket use `sendall()`, which sends everything or raises. For `os.write` loop until
    every byte is written, or write through a file object. Good: `sock.sendall(payload)`,
    `while data: data = data[os.write(fd, data):]`.
    """

    code = "RG203"
    slug = "partial-write"
    severity = Severity.ERROR

    DETAILS = """
    `os.write(fd, data)` and a socket's `.send(data)` / `.sendto(data, address)` used as a
    statement of their own. A receiver is a socket when the same function or module binds it
    from `socket.socket(...)`, `socket.create_connection(...)`, the first item of
    `.accept()`, an `ssl` `wrap_socket(...)`, or annotates it as `socket.socket` /
    `ssl.SSLSocket`; `.send` on anything else is not flagged. For precision, datagram
    sockets (`SOCK_DGRAM`, `SOCK_RAW`: one datagram per call, never partial), sockets whose
    type is a variable, `.sendto` on a socket not known to be a stream, and `os.write` of a
    bytes or `str` literal of at most 512 bytes (a wake-up token on a self-pipe: atomic on
    pipes, and a `str` raises `TypeError` rather than writing part of it) are not flagged.
    """

    VALID = [
        "import os\ndef f(fd, b):\n    n = os.write(fd, b)\n    return n\n",
        "import os\ndef f(fd, b):\n    while b:\n        b = b[os.write(fd, b):]\n",
        "import socket\ns = socket.create_connection(('h', 1))\ns.sendall(b'x')\n",
        "import socket\ns = socket.socket()\nsent = s.send(b'data')\n",
        "import os\nos.write(fd, b'\\0')\n",
        "import os\nclass Waker:\n    def wake(self):\n        os.write(self._w, '0')\n",
        "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.sendto(b'x', addr)\n",
        "import socket\ns = socket.socket(type=socket.SOCK_DGRAM)\ns.send(b'x')\n",
        "def f(gen):\n    gen.send(None)\n",
        "import socket\ndef f(conn):\n    conn.send(b'x')\n",
        "import socket\ndef f(queue):\n    queue.send(b'x')\n    queue = socket.socket()\n",
        "import socket\ndef f(s: socket.socket, addr):\n    s.sendto(b'x', addr)\n",
        "def write(fd, b):\n    pass\nwrite(1, b'x' * 1000)\n",
        "from io import write\nwrite(1, data)\n",
        "import socket\ns = socket.socket()\ndef f(socks):\n    for s in socks:\n        s.send(b'x')\n",
        "import socket\ns = socket.socket()\nf = lambda s: s.send(b'x')\n",
        "import socket\ns = socket.socket()\n[s.send(b) for s in others]\n",
        "import socket\ndef f(kind):\n    s = socket.socket(socket.AF_INET, kind)\n    s.send(b'x')\n",
        "def wrap_socket(raw):\n    return Channel(raw)\ndef f(raw):\n    c = wrap_socket(raw)\n    c.send(b'x')\n",
    ]
    INVALID = [
        Example(
            "import socket\ndef ping(address):\n    s = socket.create_connection(address)\n"
            "    s.send(b'x')\n    return s\n",
            fix="import socket\ndef ping(address):\n    s = socket.create_connection(address)\n"
            "    s.sendall(b'x')\n    return s\n",
            exercise=_SERVER + "c = ping(srv.getsockname())\npeer, _ = srv.accept()\n"
            "assert peer.recv(1) == b'x'\n",
        ),
        Example(
            "import socket\n\ndef serve(server: socket.socket, data):\n"
            "    conn, addr = server.accept()\n    with conn:\n        conn.send(data)\n",
            fix="import socket\n\ndef serve(server: socket.socket, data):\n"
            "    conn, addr = server.accept()\n    with conn:\n        conn.sendall(data)\n",
            exercise=_SERVER + "c = _socket.create_connection(srv.getsockname())\nserve(srv, b'hi')\n"
            "assert c.recv(2) == b'hi'\n",
        ),
        Example(
            "import socket, ssl\ndef f(ctx, raw, data):\n    with ctx.wrap_socket(raw) as tls:\n        tls.send(data)\n",
            fix="import socket, ssl\ndef f(ctx, raw, data):\n    with ctx.wrap_socket(raw) as tls:\n        tls.sendall(data)\n",
            exercise="class Plain:\n    def wrap_socket(self, raw):\n        return raw\n"
            "a, b = socket.socketpair()\nf(Plain(), a, b'ok')\nassert b.recv(2) == b'ok'\n",
        ),
        Example(
            "from socket import socket\ndef f(s: socket, data):\n    s.send(data, 0)\n",
            fix="from socket import socket\ndef f(s: socket, data):\n    s.sendall(data, 0)\n",
            exercise="import socket as _socket\na, b = _socket.socketpair()\nf(a, b'ok')\n"
            "assert b.recv(2) == b'ok'\n",
        ),
        Example(
            "import socket\ndef push(addr, payload):\n    with socket.socket() as s:\n"
            "        s.connect(addr)\n        s.send(payload)\n",
            fix="import socket\ndef push(addr, payload):\n    with socket.socket() as s:\n"
            "        s.connect(addr)\n        s.sendall(payload)\n",
            exercise=_SERVER + "push(srv.getsockname(), b'ok')\npeer, _ = srv.accept()\n"
            "assert peer.recv(2) == b'ok'\n",
        ),
        "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\ns.sendto(data, addr)\n",
        "import os\ndef f(fd, data):\n    os.write(fd, data)\n",
        "from os import write as w\nw(2, message.encode())\n",
        "import os\nos.write(fd, b'x' * 4096)\n",
        "import socket\ndef f():\n    socket.create_connection(addr).send(data)\n",
    ]

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.known = KnownBindings()
        self._sends: list[_Send] = []
        self._write_names: frozenset[str] | None = None

    # -- what a name holds -----------------------------------------------------------------
    def value_kind(self, value: cst.BaseExpression) -> str | None:
        if not isinstance(value, cst.Call):
            return None
        func = value.func
        name = callee_name(value)
        if name == "wrap_socket":  # an SSLContext's method, or the old `ssl.wrap_socket`
            if isinstance(func, cst.Attribute) or self.ctx.qualified_name(func) == "ssl.wrap_socket":
                return _STREAM
            return None
        if name == "create_connection":
            return _STREAM if self.ctx.qualified_name(func) == "socket.create_connection" else None
        if name == "socket" and self.ctx.qualified_name(func) == "socket.socket":
            return self._socket_type(value)
        return None

    def _socket_type(self, call: cst.Call) -> str | None:
        if any(arg.star for arg in call.args) or argument(call, 3, "fileno") is not None:
            return None  # the type comes from elsewhere
        kind = argument(call, 1, "type")
        if kind is None:
            return _STREAM
        operands = [kind.value]
        while isinstance(operands[0], cst.BinaryOperation):  # SOCK_STREAM | SOCK_NONBLOCK
            operands = [operands[0].left, operands[0].right, *operands[1:]]
        names = {self.ctx.qualified_name(o) for o in operands}
        if "socket.SOCK_STREAM" in names:
            return _STREAM
        if any(n and n.startswith("socket.SOCK_") for n in names):
            return _DATAGRAM
        return None

    def annotation_kind(self, annotation: cst.BaseExpression) -> str | None:
        if isinstance(annotation, (cst.Name, cst.Attribute)):
            if self.ctx.qualified_name(annotation) in _SOCKET_ANNOTATIONS:
                return _SOCKET
        return None

    def unpacked_kinds(self, target: cst.BaseExpression, value: cst.BaseExpression) -> list[tuple[str, str]]:
        # `conn, address = server.accept()`: the first item is a connected stream socket
        if (
            isinstance(target, (cst.Tuple, cst.List))
            and len(target.elements) == 2
            and isinstance(target.elements[0].value, cst.Name)
            and isinstance(value, cst.Call)
            and isinstance(value.func, cst.Attribute)
            and value.func.attr.value == "accept"
            and not value.args
        ):
            return [(target.elements[0].value.value, _STREAM)]
        return []

    # -- the writes ------------------------------------------------------------------------
    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        if isinstance(func, cst.Attribute):
            attr = func.attr.value
            if attr == "send" or attr == "sendto":
                if is_discarded(self.ctx):
                    self._send(node, func, attr)
            elif attr == "write" and is_discarded(self.ctx) and self.ctx.qualified_name(func) in _OS_WRITE:
                self._os_write(node)
        elif isinstance(func, cst.Name) and func.value in self._os_write_aliases():
            if is_discarded(self.ctx) and self.ctx.qualified_name(func) in _OS_WRITE:
                self._os_write(node)

    def _os_write_aliases(self) -> frozenset[str]:
        if self._write_names is None:
            self._write_names = self.ctx.names_importing(*_OS_WRITE)
        return self._write_names

    def _os_write(self, node: cst.Call) -> None:
        data = argument(node, 1, "data")
        if data is not None and not data.star:
            value = literal_value(data.value)
            if isinstance(value, str):
                value = value.encode("utf-8", "surrogatepass")
            if value is not None and len(value) <= _ATOMIC_BYTES:
                return
        self.report(
            node,
            "`os.write()` may write only part of the data and returns how many bytes it "
            "wrote; the rest is lost without an error. Loop until every byte is written "
            "(`while data: data = data[os.write(fd, data):]`).",
        )

    def _send(self, node: cst.Call, func: cst.Attribute, method: str) -> None:
        receiver = func.value
        if isinstance(receiver, cst.Name):
            if not shadowed_here(self.ctx, receiver.value):
                self._sends.append(_Send(node, method, self.ctx.scope, receiver.value))
        elif isinstance(receiver, cst.Call):
            self._report_send(node, method, self.value_kind(receiver))

    def finish(self) -> None:
        for send in self._sends:
            self._report_send(send.call, send.method, self.known.kind(send.scope, send.receiver))

    def _report_send(self, node: cst.Call, method: str, kind: str | None) -> None:
        func = node.func
        assert isinstance(func, cst.Attribute)
        if method == "send" and kind in (_STREAM, _SOCKET):
            self.report(
                node,
                "`send()` may send only part of the data and returns how many bytes it "
                "sent; the rest is dropped without an error. Use `sendall()`, which sends "
                "everything or raises.",
                FixSpec(
                    "Use sendall()",
                    ((func, func.with_changes(attr=cst.Name("sendall"))),),
                    safe=True,
                ),
            )
        elif method == "sendto" and kind == _STREAM:
            self.report(
                node,
                "`sendto()` on a stream socket may send only part of the data and its byte "
                "count is discarded; connect and use `sendall()`, or loop until every byte "
                "is sent.",
            )
