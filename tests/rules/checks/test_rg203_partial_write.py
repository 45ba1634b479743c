"""RG203 partial-write, beyond the rule's own examples (test_examples.py runs those)."""

from __future__ import annotations

import textwrap

from rules import Severity, analyze
from rules.engine import fix_source


def findings(code: str, rule: str) -> list[tuple[int, Severity]]:
    report = analyze(textwrap.dedent(code), "example.py")
    return [(f.line, f.severity) for f in report.findings if f.code == rule and not f.suppressed]


def lines(code: str, rule: str) -> list[int]:
    return [line for line, _ in findings(code, rule)]


def test_sendall_fix_is_safe_and_keeps_the_arguments():
    code = textwrap.dedent("""\
        import socket

        def push(data):
            with socket.create_connection(("db", 5432)) as conn:
                conn.send(data, socket.MSG_NOSIGNAL)
        """)
    fixed, applied = fix_source(code, "example.py", codes={"RG203"})
    assert applied == 1
    assert "conn.sendall(data, socket.MSG_NOSIGNAL)" in fixed
    assert lines(fixed, "RG203") == []


def test_a_socket_from_another_function_is_not_known():
    code = """\
        import socket

        def connect():
            conn = socket.create_connection(("h", 1))
            return conn

        def push(conn, data):
            conn.send(data)
        """
    assert lines(code, "RG203") == []


def test_a_nonblocking_stream_socket_is_still_a_stream():
    code = """\
        import socket

        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM | socket.SOCK_NONBLOCK)
        s.send(b"payload")
        """
    assert lines(code, "RG203") == [4]


def test_os_write_of_a_large_literal_or_a_variable_is_flagged():
    code = """\
        import os

        os.write(fd, b"x")
        os.write(fd, data)
        """
    assert findings(code, "RG203") == [(4, Severity.ERROR)]


def test_short_wake_up_tokens_are_not_partial_writes():
    code = """\
        import os

        class Waker:
            def wake(self):
                os.write(self._w, "0")
                os.write(self._w, b"\\x00")
                os.write(self._w, "%s")
        """ % ("x" * 600)
    # a str literal longer than a pipe's atomic write is no wake-up token
    assert lines(code, "RG203") == [7]


def test_a_global_rebinding_makes_the_module_socket_unknown():
    code = """\
        import socket

        conn = socket.create_connection(("h", 1))

        def reconnect(make):
            global conn
            conn = make()

        def push(data):
            conn.send(data)
        """
    assert lines(code, "RG203") == []


def test_a_global_socket_bound_in_a_function_is_known():
    code = """\
        import socket

        conn = None

        def connect():
            global conn
            conn = socket.create_connection(("h", 1))

        def push(data):
            conn.send(data)
        """
    # `conn = None` is a second, unknown binding: precision keeps this silent
    assert lines(code, "RG203") == []
    only_socket = """\
        import socket

        def connect():
            global conn
            conn = socket.create_connection(("h", 1))

        def push(data):
            conn.send(data)
        """
    assert lines(only_socket, "RG203") == [8]
