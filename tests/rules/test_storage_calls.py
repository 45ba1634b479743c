"""The storage rules that follow a call's result: RG202, RG203, RG205, RG206.

The rules' own VALID/INVALID examples run in test_examples.py; these tests pin what the
examples cannot: the primary line, severities, fix safety, and bindings across scopes.
"""

from __future__ import annotations

import textwrap

from rules import Severity, analyze
from rules.fixes import fix_source


def findings(code: str, rule: str) -> list[tuple[int, Severity]]:
    report = analyze(textwrap.dedent(code), "example.py")
    return [(f.line, f.severity) for f in report.findings if f.code == rule and not f.suppressed]


def lines(code: str, rule: str) -> list[int]:
    return [line for line, _ in findings(code, rule)]


# -- RG202 unchecked-http-write ----------------------------------------------------------------


def test_unchecked_response_is_reported_on_the_assignment_line():
    code = """\
        import requests

        def save(url, record):
            response = requests.post(
                url,
                json=record,
            )
            log(response.text)
            return response.json()
        """
    assert findings(code, "RG202") == [(4, Severity.ERROR)]


def test_discarded_awaited_response_is_reported_on_the_call_line():
    code = """\
        import httpx

        async def save(url, record):
            async with httpx.AsyncClient() as client:
                await client.put(
                    url, json=record
                )
        """
    assert lines(code, "RG202") == [5]


def test_a_module_session_bound_after_the_function_is_recognised():
    code = """\
        import requests

        def delete(url):
            session.delete(url)

        session = requests.Session()
        """
    assert lines(code, "RG202") == [4]


def test_a_local_name_shadowing_the_module_session_is_not_a_session():
    code = """\
        import requests

        session = requests.Session()

        def delete(url):
            session = make_client()
            session.delete(url)
        """
    assert lines(code, "RG202") == []


def test_a_session_bound_twice_in_different_ways_is_unknown():
    code = """\
        import requests

        def send(url, session=None):
            if session is None:
                session = requests.Session()
            session.post(url)
        """
    assert lines(code, "RG202") == []


def test_a_check_anywhere_in_the_function_counts():
    code = """\
        import requests

        def send(urls):
            for url in urls:
                r = requests.post(url)
                results.append(r.status_code)
        """
    assert lines(code, "RG202") == []


def test_the_raise_for_status_fix_is_unsafe():
    code = "import requests\nrequests.put(url, data=blob)\n"
    assert fix_source(code, "example.py", codes={"RG202"}) == (code, 0)
    fixed, applied = fix_source(code, "example.py", codes={"RG202"}, unsafe=True)
    assert applied == 1
    assert fixed == "import requests\nrequests.put(url, data=blob).raise_for_status()\n"


# -- RG203 partial-write -----------------------------------------------------------------------


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


# -- RG205 discarded-future --------------------------------------------------------------------


def test_tasks_in_a_task_group_are_awaited_by_the_group():
    code = """\
        import asyncio

        async def main(jobs):
            async with asyncio.TaskGroup() as group:
                for job in jobs:
                    group.create_task(job())
            asyncio.create_task(cleanup())
        """
    assert findings(code, "RG205") == [(7, Severity.ERROR)]


def test_an_event_loop_create_task_is_flagged_whatever_its_arguments():
    code = """\
        import asyncio

        loop = asyncio.new_event_loop()
        loop.create_task(coro, name="flush", context=ctx)
        """
    assert lines(code, "RG205") == [4]


# -- RG206 unchecked-subprocess ----------------------------------------------------------------


def test_unchecked_subprocess_is_a_warning_on_the_call_line():
    code = """\
        import subprocess

        def build():
            result = subprocess.run(
                ["make"], capture_output=True
            )
            print(result.stdout)
        """
    assert findings(code, "RG206") == [(4, Severity.WARNING)]


def test_check_true_fix_needs_unsafe_fixes():
    code = "import subprocess\nsubprocess.run(['make'])\n"
    assert fix_source(code, "example.py", codes={"RG206"}) == (code, 0)
    fixed, _ = fix_source(code, "example.py", codes={"RG206"}, unsafe=True)
    assert fixed == "import subprocess\nsubprocess.run(['make'], check=True)\n"


def test_ruff_code_suppresses_unchecked_subprocess():
    code = "import subprocess\nsubprocess.run(['make'])  # noqa: PLW1510\n"
    assert lines(code, "RG206") == []


def test_check_true_goes_before_a_closing_parenthesis_on_its_own_line():
    code = "import subprocess\nout = subprocess.run(\n    cmd, text=True\n).stdout\n"
    fixed, _ = fix_source(code, "example.py", codes={"RG206"}, unsafe=True)
    assert fixed == "import subprocess\nout = subprocess.run(\n    cmd, text=True, check=True\n).stdout\n"


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
