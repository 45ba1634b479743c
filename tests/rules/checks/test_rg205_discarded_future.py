"""RG205 discarded-future, beyond the rule's own examples (test_examples.py runs those)."""

from __future__ import annotations

import textwrap

from rules import Severity, analyze


def findings(code: str, rule: str) -> list[tuple[int, Severity]]:
    report = analyze(textwrap.dedent(code), "example.py")
    return [(f.line, f.severity) for f in report.findings if f.code == rule and not f.suppressed]


def lines(code: str, rule: str) -> list[int]:
    return [line for line, _ in findings(code, rule)]


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


def test_a_class_level_executor_is_known_to_its_methods():
    code = """\
        from concurrent.futures import ThreadPoolExecutor

        class Mailer:
            _outbox = ThreadPoolExecutor(max_workers=1)

            def send(self, message):
                self._outbox.submit(message.deliver)
        """
    assert lines(code, "RG205") == [7]


def test_ruffs_code_for_the_same_check_suppresses_it():
    code = "import asyncio\nasync def f(c):\n    asyncio.create_task(c())  # noqa: RUF006\n"
    (finding,) = [f for f in analyze(code, "x.py").findings if f.code == "RG205"]
    assert finding.suppressed and not finding.blocking
