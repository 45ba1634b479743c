"""The storage rules that follow a call's result: RG202, RG203, RG205, RG206.

The rules' own VALID/INVALID examples run in test_examples.py; these tests pin what the
examples cannot: the primary line, severities, fix safety, and bindings across scopes.
"""

from __future__ import annotations

import textwrap

from rules import Severity, analyze
from rules.engine import fix_source


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


def test_submit_on_an_attribute_needs_an_executor_bound_by_the_class():
    code = """\
        from concurrent.futures import ThreadPoolExecutor

        class Transport:
            def __init__(self):
                self._worker = BackgroundWorker()
                self._executor = None

            def start(self):
                self._executor = ThreadPoolExecutor(max_workers=2)

            def flush(self):
                self._worker.submit(lambda: self._send(force=True))
                self._executor.submit(self.upload, 1)
        """
    # `_worker` is some other worker whose `submit` returns no future; `_executor` is
    # assigned a ThreadPoolExecutor in another method
    assert findings(code, "RG205") == [(13, Severity.ERROR)]


def test_an_executor_annotation_on_the_class_makes_the_attribute_known():
    code = """\
        from concurrent.futures import Executor
        from typing import Optional

        class Uploader:
            worker: Optional[Executor] = None

            def push(self, blob):
                self.worker.submit(blob.upload)
        """
    assert lines(code, "RG205") == [8]


def test_an_attribute_of_another_object_is_not_the_class_binding():
    code = """\
        from concurrent.futures import ThreadPoolExecutor

        class Uploader:
            def __init__(self):
                self.worker = ThreadPoolExecutor()

            def push(self, other, job):
                other.worker.submit(job)
        """
    assert lines(code, "RG205") == []


def test_unknown_receivers_are_flagged_only_when_named_like_an_executor():
    code = """\
        from storage import upload

        def push(worker, io_pool, blob):
            worker.submit(upload, blob)
            io_pool.submit(upload, blob)
            io_pool.submit(blob)
        """
    # `blob` is not known to be a function: only a known executor makes that a finding
    assert lines(code, "RG205") == [5]


def test_a_task_handed_a_future_the_caller_awaits_is_a_warning():
    code = """\
        import asyncio

        async def connect(loop, protocol):
            waiter = loop.create_future()
            loop.create_task(handshake(protocol, waiter))
            await asyncio.wait_for(waiter, 10)

        async def forget(loop, protocol):
            waiter = loop.create_future()
            loop.create_task(handshake(protocol, waiter))
            return waiter
        """
    assert findings(code, "RG205") == [(5, Severity.WARNING), (10, Severity.ERROR)]


def test_a_method_that_reports_its_own_failure_is_a_warning_only_when_it_really_does():
    code = """\
        import asyncio

        class Server:
            def _accept(self, conn):
                accept = self._serve(conn)
                self._loop.create_task(accept)
                asyncio.create_task(self._logged(conn))
                asyncio.ensure_future(self._reraised(conn))
                asyncio.create_task(self._partly(conn))

            async def _serve(self, conn):
                \"\"\"Serve one connection.\"\"\"
                protocol = None
                try:
                    protocol = await self._handshake(conn)
                except (SystemExit, KeyboardInterrupt):
                    raise
                except BaseException as exc:
                    self.call_exception_handler({"exception": exc, "protocol": protocol})

            async def _logged(self, conn):
                try:
                    await self._handshake(conn)
                except Exception:
                    logger.exception("handshake failed")

            async def _reraised(self, conn):
                try:
                    await self._handshake(conn)
                except Exception as exc:
                    self._fail(exc)
                    raise

            async def _partly(self, conn):
                await self._prepare(conn)
                try:
                    await self._handshake(conn)
                except Exception as exc:
                    self._fail(exc)
        """
    assert findings(code, "RG205") == [
        (6, Severity.WARNING),
        (7, Severity.ERROR),
        (8, Severity.ERROR),
        (9, Severity.ERROR),
    ]


def test_a_catch_all_of_another_name_is_not_a_report():
    code = """\
        import asyncio

        class Client:
            def start(self):
                asyncio.create_task(self._run())

            async def _run(self):
                try:
                    await self._write()
                except OSError as exc:
                    self._fail(exc)
        """
    assert findings(code, "RG205") == [(5, Severity.ERROR)]


def test_a_session_the_class_assigns_to_self_is_an_http_client():
    code = """\
        import requests

        class Api:
            def __init__(self, token):
                self.session = None
                self.token = token

            def connect(self):
                self.session = requests.Session()

            def save(self, url, record):
                self.session.post(url, json=record)

            def load(self, url):
                self.token.post(url)
        """
    assert findings(code, "RG202") == [(12, Severity.ERROR)]


def test_a_session_attribute_given_a_response_hook_is_not_flagged():
    code = """\
        import requests

        class Api:
            def __init__(self):
                self.session = requests.Session()
                self.session.hooks["response"].append(raise_for_status)

            def save(self, url, record):
                self.session.post(url, json=record)
        """
    assert lines(code, "RG202") == []


def test_request_with_a_literal_write_method_is_a_write():
    code = """\
        import requests

        def save(url, record, method):
            requests.request("PUT", url, json=record)
            requests.request(method, url, json=record)
            requests.request("get", url)
            response = requests.request(method="DELETE", url=url)
            return response.json()
        """
    assert lines(code, "RG202") == [4, 7]


def test_an_attribute_bound_in_an_unknown_way_is_not_a_client():
    code = """\
        import requests

        class Api:
            def __init__(self):
                self.session, self.base = requests.Session(), "https://api"

            def save(self, record):
                self.session.post(self.base, json=record)
        """
    assert lines(code, "RG202") == []
    known = code.replace(
        'self.session, self.base = requests.Session(), "https://api"',
        'self.session = requests.Session()\n                self.base = "https://api"',
    )
    assert lines(known, "RG202") == [9]


def test_a_class_level_executor_is_known_to_its_methods():
    code = """\
        from concurrent.futures import ThreadPoolExecutor

        class Mailer:
            _outbox = ThreadPoolExecutor(max_workers=1)

            def send(self, message):
                self._outbox.submit(message.deliver)
        """
    assert lines(code, "RG205") == [7]
