"""RG201 swallowed-write-error, beyond the rule's own examples (test_examples.py runs those)."""

from __future__ import annotations

import textwrap

import pytest

from rules import analyze

OURS = {"RG201", "RG204", "RG207"}


def found(source: str) -> list[tuple[str, int]]:
    report = analyze(textwrap.dedent(source), "example.py")
    return [(f.code, f.line) for f in report.findings if f.code in OURS]


def test_swallowed_commit_is_reported_on_the_broad_except_line():
    src = """\
        import logging
        from sqlalchemy.exc import IntegrityError, SQLAlchemyError

        log = logging.getLogger(__name__)

        def store(session, row):
            try:
                session.add(row)
                session.commit()
            except IntegrityError:
                session.rollback()
            except SQLAlchemyError as exc:
                session.rollback()
                log.error("commit failed: %s", exc)
    """
    assert found(src) == [("RG201", 12)]


def test_message_names_the_clause_and_the_write():
    src = """\
        import sqlite3 as db
        def f(conn):
            try:
                conn.commit()
            except db.OperationalError:
                pass
    """
    [finding] = [f for f in analyze(textwrap.dedent(src), "x.py").findings if f.code == "RG201"]
    assert "`except db.OperationalError`" in finding.message
    assert "`conn.commit(...)`" in finding.message
    assert finding.fix is None


@pytest.mark.parametrize(
    ("imports", "caught", "flagged"),
    [
        ("import sqlite3", "sqlite3.Error", True),
        ("from sqlite3 import DatabaseError as DBE", "DBE", True),
        ("import requests", "requests.RequestException", True),
        ("from requests.exceptions import ConnectionError", "ConnectionError", True),
        ("import botocore.exceptions", "botocore.exceptions.ClientError", True),
        ("from django.db import DatabaseError", "DatabaseError", True),
        ("import socket", "socket.error", True),
        ("", "IOError", True),
        ("", "(ValueError, TimeoutError)", True),
        ("", "BaseException", True),
        ("", "(KeyError, ValueError)", False),
        ("", "FileNotFoundError", False),
        ("", "BrokenPipeError", False),
        ("", "ConnectionError", False),
        ("import sqlite3", "sqlite3.IntegrityError", False),
        ("from myapp.errors import Error", "Error", False),
        ("class OSError(Exception): pass", "OSError", False),
    ],
)
def test_broad_catch_is_resolved_through_imports(imports, caught, flagged):
    src = f"{imports}\ndef f(fh, data):\n    try:\n        fh.write(data)\n    except {caught}:\n        pass\n"
    assert bool(found(src)) is flagged


def test_exception_rebound_by_a_local_name_is_not_broad():
    src = """\
        def f(fh, errors):
            Exception = errors.Expected
            try:
                fh.write("x")
            except Exception:
                pass
    """
    assert found(src) == []


def in_method(handler: str) -> str:
    """A method whose `try` writes to `fh`, with `handler` as the body of `except OSError`."""
    return (
        "import logging, traceback\nlogger = logging.getLogger(__name__)\n"
        "class Store:\n    def put(self, fh, data):\n        try:\n            fh.write(data)\n"
        "        except OSError as exc:\n" + textwrap.indent(handler, " " * 12) + "\n"
    )


@pytest.mark.parametrize(
    "handler",
    [
        "raise",
        "return False",
        "self.failed = True",
        "self.errors.append(exc)",
        "notify_user(exc)",
        "raise StoreError() from exc",
        "if exc.errno != 28:\n    raise",
        "failed = True\nreturn failed",
        "logger.error('x')\nsys.exit(1)",
    ],
)
def test_handler_that_passes_the_failure_on_is_fine(handler):
    assert found(in_method(handler)) == []


@pytest.mark.parametrize(
    "handler",
    [
        "pass",
        "...",
        "print('could not write', exc)",
        "logger.warning('could not write: %s', exc)",
        "logging.getLogger(__name__).exception('write failed')",
        "self.log.error('x')\nfh.close()",
        "traceback.print_exc()",
        "if DEBUG:\n    logger.debug('x')\nelse:\n    pass",
        "message = str(exc)\nlogger.error(message)",
        "try:\n    fh.close()\nexcept Exception:\n    pass",
    ],
)
def test_handler_that_only_logs_swallows(handler):
    assert found(in_method(handler)) == [("RG201", 7)]


@pytest.mark.parametrize(
    ("handler", "flagged"),
    [
        ("print('cannot save:', exc, file=sys.stderr)", False),
        ("sys.stderr.write(f'cannot save: {exc}')", False),
        ("print('cannot save:', exc)", True),
    ],
)
def test_telling_the_user_on_stderr_reports(handler, flagged):
    assert bool(found("import sys\n" + in_method(handler))) is flagged


def test_a_write_while_handling_another_failure_is_best_effort():
    src = """\
        def serve(conn, msg, format_exc):
            try:
                conn.send(msg)
            except Exception:
                try:
                    conn.send(("#TRACEBACK", format_exc()))
                except Exception:
                    pass
                raise
    """
    assert found(src) == []


def test_cleanup_in_finally_is_best_effort():
    src = """\
        import os
        def run(sentry, code):
            try:
                code()
            finally:
                try:
                    sentry.flush()
                except BaseException:
                    pass
                os._exit(1)
    """
    assert found(src) == []


def test_dict_bound_in_the_enclosing_function():
    src = """\
        import json
        def make(path):
            manifest = {}
            def load():
                try:
                    with open(path) as fh:
                        manifest.update(json.load(fh))
                except Exception:
                    print("build the frontend first")
            return load
    """
    assert found(src) == []


def test_return_after_a_try_that_returns_inside_a_block():
    src = """\
        import requests
        def post(url, path):
            try:
                with open(path, "rb") as fh:
                    r = requests.post(url, files={"f": fh})
                    if not r.ok:
                        return False
                    return True
            except requests.RequestException:
                log.warning("post failed")
            return False
    """
    assert found(src) == []


def test_implicit_none_after_a_returning_try_reports_the_failure():
    src = """\
        def write_manifest(path, text):
            try:
                with open(path, "w") as fh:
                    fh.write(text)
                return path
            except OSError:
                pass
    """
    assert found(src) == []


def test_assigned_name_read_after_the_handler_records_the_failure():
    src = """\
        def f(conn):
            ok = True
            try:
                conn.commit()
            except Exception:
                ok = False
            return ok
    """
    assert found(src) == []
    assert found(src.replace("    return ok\n", "    return None\n")) == [("RG201", 5)]


@pytest.mark.parametrize(
    ("setup", "call", "flagged"),
    [
        ("target = {}", "target.update(other)", False),
        ("target = dict(a=1)", "target.update(other)", False),
        ("target = set()", "target.update(other)", False),
        ("target = []", "target.insert(0, other)", False),
        ("import hashlib\n    target = hashlib.sha256()", "target.update(other)", False),
        ("import os\n    target = os.environ", "target.update(other)", False),
        ("pass", "kwargs.update(other)", False),
        ("pass", "other[0].update(x=1)", False),
        ("pass", "{}.update(other)", False),
        ("pass", "repo.update(other)", True),
        ("pass", "table.insert_one(other)", True),
        ("pass", "coll.upsert(other)", True),
        ("target = make_table()", "target.update(other)", True),
    ],
)
def test_update_and_insert_only_on_non_builtin_receivers(setup, call, flagged):
    src = (
        f"def f(repo, table, coll, other, **kwargs):\n    {setup}\n    try:\n        {call}\n"
        "    except Exception:\n        pass\n"
    )
    assert bool(found(src)) is flagged, src


def test_update_on_an_attribute_bound_to_a_dict_in_the_class():
    src = """\
        class Cache:
            def __init__(self):
                self.entries = {}
                self.store = Backend()

            def refresh(self, new):
                try:
                    self.entries.update(new)
                except Exception:
                    pass
                try:
                    self.store.update(new)
                except Exception:
                    pass
    """
    assert found(src) == [("RG201", 13)]


@pytest.mark.parametrize(
    ("setup", "call", "flagged"),
    [
        ("import requests", "requests.post(url, json=body)", True),
        ("import httpx as hx", "hx.delete(url)", True),
        ("from requests import patch", "patch(url)", True),
        ("import requests\nsession = requests.Session()", "session.delete(url)", True),
        ("import httpx", "httpx.Client().post(url)", True),
        ("", "client.post(url)", False),
        ("", "cache.delete(url)", False),
        ("", "client.put(url)", True),
    ],
)
def test_http_verbs_need_an_http_client(setup, call, flagged):
    src = f"{setup}\ndef f(client, cache, url, body):\n    try:\n        {call}\n    except Exception:\n        pass\n"
    assert bool(found(src)) is flagged, src


def test_http_client_stored_on_self():
    src = """\
        import requests

        class Api:
            def __init__(self):
                self.session = requests.Session()

            def drop(self, url):
                try:
                    self.session.delete(url)
                except requests.RequestException:
                    pass
    """
    assert found(src) == [("RG201", 10)]


@pytest.mark.parametrize(
    ("call", "flagged"),
    [
        ("cur.execute('SELECT * FROM t')", False),
        ("cur.execute('\\n  select 1')", False),
        ("cur.execute('PRAGMA table_info(t)')", False),
        ("cur.execute('SELECT a '\n                    'FROM t')", False),
        ("cur.execute(b'\u00e9')", False),  # libcst parses it, CPython would not
        ("cur.execute('PRAGMA journal_mode=WAL')", False),
        ("cur.execute('CREATE INDEX i ON t (a)')", False),
        ("cur.execute('WITH x AS (SELECT 1) SELECT * FROM x')", False),
        ("cur.execute('WITH x AS (SELECT 1) DELETE FROM t')", True),
        ("cur.execute('INSERT INTO t VALUES (1) RETURNING id').fetchall()", True),
        ("cur.execute(query).fetchall()", False),
        ("cur.execute(sa.update(t).returning(t.c.id)).scalars().all()", True),
        ("cur.execute(f'SELECT * FROM {t}')", False),
        ("cur.execute('UPDATE t SET a = 1')", True),
        ("cur.execute(query)", False),
        ("cur.execute('DELETE FROM %s' % t)", True),
        ("cur.execute('UPDATE {} SET a = 1'.format(t))", True),
        ("cur.execute(sa.select(t))", False),
        ("cur.execute(sa.text('DELETE FROM t'))", True),
        ("s.replace('a', 'b')", False),
        ("path.replace(target)", True),
        ("os.rename(a, b)", True),
        ("json.dump(obj, fh)", True),
        ("json.dump(obj, sys.stdout)", False),
        ("pickler.dump(obj)", False),
        ("sock.send(b'\\0')", False),
        ("os.write(fd, b'blat')", False),
        ("os.write(fd, data)", True),
        ("os.write(2, data)", False),
        ("fh.write(b'')", False),
        ("sys.stdout.write(text)", False),
        ("heapq.merge(a, b)", False),
    ],
)
def test_which_calls_are_writes(call, flagged):
    src = (
        "import heapq, json, os, sys\nimport sqlalchemy as sa\n"
        "def f(cur, s, path, target, a, b, obj, fh, pickler, sock, text, query, t, fd, data):\n"
        f"    try:\n        {call}\n    except Exception:\n        pass\n"
    )
    assert bool(found(src)) is flagged, src


@pytest.mark.parametrize(
    ("body", "flagged"),
    [
        ("cur = conn.cursor()\n        cur.execute(query)", True),
        ("conn.cursor().executemany(query, rows)", True),
        ("with engine.begin() as c:\n            c.execute(query)", True),
        ("db = sqlite3.connect(path)\n        db.execute(query)", True),
        ("query = 'DELETE FROM t'\n        runner.execute(query)", True),
        ("query = sa.update(t).values(a=1)\n        session.execute(query)", True),
        ("Model.delete().where(x).execute()", True),
        ("query = 'SELECT 1'\n        cur = conn.cursor()\n        cur.execute(query)", False),
        ("runner.execute(task, now)", False),
        ("self.execute(context)", False),
    ],
)
def test_execute_needs_a_database_statement_or_handle(body, flagged):
    src = (
        "import sqlite3\nimport sqlalchemy as sa\n"
        "def f(self, conn, engine, path, query, rows, runner, session, t, task, now, Model, x, context):\n"
        f"    try:\n        {body}\n    except Exception:\n        pass\n"
    )
    assert bool(found(src)) is flagged, src


@pytest.mark.parametrize(
    "prelude",
    [
        "    file = file or sys.stderr\n",
        "    if file is None:\n        file = STREAM\n",
        "",
    ],
)
def test_console_streams_are_not_storage(prelude):
    default = "sys.stderr" if not prelude else "None"
    src = (
        "import sys\nSTREAM = sys.__stderr__\n"
        f"def show(message, file={default}):\n{prelude}"
        "    try:\n        file.write(message)\n    except OSError:\n        pass\n"
    )
    assert found(src) == [], src


@pytest.mark.parametrize(
    ("name", "flagged"),
    [("close", False), ("__exit__", False), ("_finish", False), ("terminate", False), ("save", True)],
)
def test_teardown_is_best_effort(name, flagged):
    src = (
        f"class Conn:\n    def {name}(self, *exc):\n        try:\n            self.sock.sendall(self.pending)\n"
        "        except OSError:\n            pass\n"
    )
    assert bool(found(src)) is flagged


def test_stream_wrapper_flushing_itself():
    src = "class Tee:\n    def write(self, s):\n        try:\n            self.flush()\n        except Exception:\n            pass\n"
    assert found(src) == []


@pytest.mark.parametrize(
    ("src", "flagged"),
    [
        (
            "def f(fh, data):\n    try:\n        fh.write(data)\n        return True\n"
            "    except OSError:\n        pass\n    return False\n",
            False,
        ),
        (
            "def f(fh, data):\n    try:\n        fh.write(data)\n    except OSError:\n"
            "        pass\n    return data\n",
            True,
        ),
        (
            "def f(fh, data):\n    with lock:\n        try:\n            fh.write(data)\n"
            "            return True\n        except OSError:\n            pass\n    log(data)\n",
            False,
        ),
        (
            "def f(fh, data):\n    if fh:\n        try:\n            fh.write(data)\n"
            "            return True\n        except OSError:\n            pass\n    return False\n",
            False,
        ),
        (
            "def f(fh, data):\n    while fh:\n        try:\n            fh.write(data)\n"
            "            return True\n        except OSError:\n            pass\n    return False\n",
            False,
        ),
        (
            "def f(sock, data):\n    for _ in range(3):\n        try:\n            sock.sendall(data)\n"
            "            break\n        except OSError:\n            continue\n    else:\n"
            "        raise RuntimeError('gave up')\n",
            False,
        ),
        (
            "def f(sock, data):\n    while True:\n        try:\n            return sock.sendall(data)\n"
            "        except OSError:\n            log.warning('retry')\n"
            "    raise RuntimeError('unreachable')\n",
            False,
        ),
        (
            "def f(sock, items):\n    for data in items:\n        try:\n            sock.sendall(data)\n"
            "        except OSError:\n            continue\n    return True\n",
            True,
        ),
    ],
)
def test_failure_reported_after_the_handler_falls_through(src, flagged):
    assert bool(found(src)) is flagged, src


@pytest.mark.parametrize(
    ("body", "flagged"),
    [
        ("self.stdout.write(msg)", False),
        ("buf = io.StringIO()\n        buf.write(msg)", False),
        ("io.BytesIO().write(msg)", False),
        ("self.out.write(msg)", True),
        ("with proc.stdin as pipe:\n            pipe.write(msg)", False),
    ],
)
def test_command_output_and_memory_buffers_are_not_storage(body, flagged):
    src = f"import io\ndef f(self, msg, proc):\n    try:\n        {body}\n    except Exception:\n        pass\n"
    assert bool(found(src)) is flagged, src


def test_write_in_a_nested_function_is_not_the_try_bodys():
    src = """\
        def f(jobs, obj):
            try:
                jobs.append(lambda: obj.save())
            except Exception:
                pass
    """
    assert found(src) == []


@pytest.mark.parametrize(
    ("setup", "write", "caught"),
    [
        ("from sqlalchemy.exc import SQLAlchemyError", "session.add(order)\n        session.commit()", "SQLAlchemyError"),
        ("", "db.save(order)", "Exception"),
        ("import requests", "requests.post(URL, json=order, timeout=5)", "requests.RequestException"),
        ("", "with open(path, 'a') as fh:\n            fh.write(order)", "OSError"),
    ],
)
@pytest.mark.parametrize(
    ("handler", "severity"),
    [
        ("pass", "error"),
        ("print(order)", "error"),
        ("log.debug('could not store order %s', order)", "error"),
        ("log.info('could not store order %s', order)", "error"),
        # an operator is alerted: the postmortem's monitoring measure, so a warning
        ("log.exception('could not store order %s', order)", "warning"),
        ("log.warning('could not store order %s', order)", "warning"),
        ("log.error('could not store order %s', order)", "warning"),
        ("log.critical('could not store order %s', order)", "warning"),
        ("log.log(logging.ERROR, 'could not store order %s', order)", "warning"),
        ("log.log(logging.INFO, 'could not store order %s', order)", "error"),
        ("warnings.warn('could not store order')", "warning"),
    ],
)
def test_incident_shapes_are_errors_unless_an_operator_is_alerted(setup, write, caught, handler, severity):
    src = (
        f"import logging\nimport warnings\n{setup}\nlog = logging.getLogger(__name__)\nURL = 'https://x'\n"
        f"def place(session, db, path, order):\n    try:\n        {write}\n"
        f"    except {caught}:\n        {handler}\n"
    )
    line = src.splitlines().index(f"    except {caught}:") + 1
    findings = [f for f in analyze(src, "x.py").findings if f.code == "RG201"]
    assert [(f.line, f.severity.value) for f in findings] == [(line, severity)], src


def test_worker_loop_that_logs_and_carries_on_still_swallows():
    # the next iteration takes the next item: this one is gone, however loud the log
    src = """\
        import logging
        import requests
        log = logging.getLogger(__name__)

        def forward(queue, url):
            while True:
                event = queue.get()
                try:
                    requests.post(url, json=event, timeout=5)
                except Exception:
                    log.exception("forwarding failed; the worker must not die")
    """
    assert found(src) == [("RG201", 10)]


@pytest.mark.parametrize(
    ("check", "flagged"),
    [
        ("if not os.path.exists(target):\n        raise RuntimeError(target)", False),
        ("if not target.exists():\n        log_missing(target)", False),
        ("if os.path.isfile(source):\n        shutil.copy(source, target)", False),
        ("if not os.path.exists(elsewhere):\n        raise RuntimeError(elsewhere)", True),
        ("if ok:\n        return", True),
        ("done = os.path.exists(target)", True),
    ],
)
def test_a_failure_checked_right_after_the_handler_is_not_swallowed(check, flagged):
    src = (
        "import os\nimport shutil\ndef move(source, target, elsewhere, ok):\n"
        f"    try:\n        os.replace(source, target)\n    except OSError:\n        pass\n    {check}\n"
    )
    assert bool(found(src)) is flagged, src


@pytest.mark.parametrize(
    ("setup", "send", "flagged"),
    [
        # gunicorn's sd_notify: systemd's notify socket is a datagram socket
        (
            "sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)",
            "sock.sendall(state)",
            False,
        ),
        ("sock = socket.socket(socket.AF_INET, type=socket.SOCK_DGRAM)", "sock.send(state)", False),
        ("sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)", "sock.sendall(state)", True),
        ("sock = socket.create_connection(('h', 1))", "sock.sendall(state)", True),
        ("sock = make_socket()", "sock.sendall(state)", True),
    ],
)
def test_datagram_sends_are_fire_and_forget(setup, send, flagged):
    src = (
        "import logging, socket\nlogger = logging.getLogger(__name__)\n"
        f"def notify(state):\n    try:\n        {setup}\n        {send}\n"
        "    except Exception:\n        logger.debug('notify failed', exc_info=True)\n"
    )
    assert bool(found(src)) is flagged


def test_datagram_socket_on_self_and_imported_by_name():
    src = """\
        from socket import AF_INET, SOCK_DGRAM, socket

        class Metrics:
            def __init__(self, addr):
                self.sock = socket(AF_INET, SOCK_DGRAM)
                self.addr = addr

            def incr(self, name):
                try:
                    self.sock.send(f"{name}:1|c".encode())
                except OSError:
                    pass
    """
    assert found(src) == []


def test_except_star_is_checked():
    src = "def f(conn):\n    try:\n        conn.commit()\n    except* OSError:\n        pass\n"
    assert found(src) == [("RG201", 4)]


def test_suppression_on_the_except_line():
    src = (
        "def f(fh):\n    try:\n        fh.flush()\n"
        "    except OSError:  # reviewgate: ignore[RG201] best effort, cache only\n        pass\n"
    )
    [finding] = [f for f in analyze(src, "x.py").findings if f.code == "RG201"]
    assert finding.suppressed
