"""Throwaway PostgreSQL and Redis servers for the tests, started once per test run.

Each server runs from a temporary directory, listens on a Unix socket in it only (no TCP
port to collide with anything on the machine), keeps nothing on exit, and is stopped when
the run ends. Each test gets its own database (`Servers.database()`) and Redis database
number (`Servers.redis_url()`), so tests never see each other's state.

PostgreSQL refuses to run as root: as root (CI), the server runs as the `postgres` user
that Debian's package creates. The binaries come from Debian's `postgresql` and
`redis-server` packages; `make test` installs them (.ci/require-servers) and a run
without them fails, saying what to install: these tests never skip.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

INSTALL = "apt-get install postgresql redis-server (Debian/Ubuntu; or `make test` as root does it)"


def _postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError(f"PostgreSQL's server binaries (initdb, postgres) are missing: {INSTALL}")


def _redis_server() -> str:
    found = shutil.which("redis-server")
    if not found:
        raise RuntimeError(f"redis-server is missing: {INSTALL}")
    return found


def _wait(check: object, what: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if check():  # type: ignore[operator]
                return
        except Exception:  # not up yet  # noqa: BLE001, S110
            pass
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{log.read_text(errors='replace')}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"{what} did not start:\n{log.read_text(errors='replace')}")
        time.sleep(0.05)



def free_port() -> int:
    """A TCP port of 127.0.0.1 that nothing listens on (at the time of asking)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stop_process(process: subprocess.Popen[bytes] | None, grace: float = 30.0) -> None:
    """SIGTERM, and SIGKILL if the process has not exited within `grace` seconds."""
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(grace)

class Postgres:
    PORT = 5432  # only names the socket file; nothing listens on TCP

    def __init__(self, root: Path, *, durable: bool = False) -> None:
        """`durable`: fsync as a production server does (for measurements)."""
        self.root = root
        self.durable = durable
        self.data = root / "data"
        self.log = root / "postgres.log"
        self.process: subprocess.Popen[bytes] | None = None
        self._as: list[str] = []
        if os.geteuid() == 0:
            try:
                user = pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError(
                    "PostgreSQL refuses to run as root and there is no `postgres` user: "
                    "install Debian's postgresql package (it creates one) or run the tests as another user"
                ) from None
            os.chown(root, user.pw_uid, user.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]

    def start(self) -> None:
        bindir = _postgres_bin()
        subprocess.run(
            [*self._as, str(bindir / "initdb"), "-D", str(self.data), "-U", "reviewgate", "-A", "trust",
             "-E", "UTF8", "--locale=C", "--no-sync"],
            check=True, capture_output=True,
        )
        logfile = open(self.log, "wb")  # noqa: SIM115  # the server's, closed with it
        self.process = subprocess.Popen(
            [*self._as, str(bindir / "postgres"), "-D", str(self.data), "-k", str(self.root),
             "-p", str(self.PORT), "-c", "listen_addresses=", "-c", "max_connections=300",
             # Throwaway data: durability costs time and proves nothing here.
             *([] if self.durable else ["-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off"])],
            stdout=logfile, stderr=subprocess.STDOUT,
        )
        logfile.close()
        _wait(lambda: self.execute("SELECT 1") or True, "postgres", self.process, self.log)

    def execute(self, sql: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.dsn(database), autocommit=True) as conn:
            conn.execute(sql)  # type: ignore[arg-type]

    def dsn(self, database: str) -> str:
        return f"dbname={database} user=reviewgate host={self.root} port={self.PORT}"

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://reviewgate@/{database}?host={self.root}&port={self.PORT}"

    def create(self, database: str) -> str:
        self.execute(f'CREATE DATABASE "{database}"')
        return self.url(database)

    def stop(self) -> None:
        stop_process(self.process)  # postgres's "smart" shutdown is SIGTERM


class Redis:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.socket = root / "redis.sock"
        self.log = root / "redis.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        logfile = open(self.log, "wb")  # noqa: SIM115  # the server's, closed with it
        self.process = subprocess.Popen(
            [_redis_server(), "--port", "0", "--unixsocket", str(self.socket), "--unixsocketperm", "700",
             "--save", "", "--appendonly", "no", "--databases", "4096", "--dir", str(self.root)],
            stdout=logfile, stderr=subprocess.STDOUT,
        )
        logfile.close()
        _wait(self.ping, "redis-server", self.process, self.log)

    def url(self, db: int) -> str:
        return f"unix://{self.socket}?db={db}"

    def ping(self, db: int = 0) -> bool:
        import redis

        client = redis.Redis.from_url(self.url(db))
        try:
            return bool(client.ping())
        finally:
            client.close()

    def flush(self, db: int) -> None:
        import redis

        client = redis.Redis.from_url(self.url(db))
        try:
            client.flushdb()
        finally:
            client.close()

    def stop(self) -> None:
        stop_process(self.process)


class Servers:
    """Both servers; a fresh PostgreSQL database and Redis database per call."""

    def __init__(self, postgres: Postgres, redis: Redis) -> None:
        self.postgres = postgres
        self.redis = redis
        self._numbers = itertools.count(1)

    def database_url(self) -> str:
        return self.postgres.create(f"t{next(self._numbers)}")

    def redis_url(self) -> str:
        db = next(self._numbers) % 4096 or 1
        self.redis.flush(db)
        return self.redis.url(db)


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    """PostgreSQL and Redis, started on first use and stopped at the end of the run."""
    with running_servers() as started:
        yield started


@contextmanager
def running_servers(*, durable: bool = False) -> Iterator[Servers]:
    root = Path(tempfile.mkdtemp(prefix="reviewgate-servers-"))
    root.chmod(0o711)  # the postgres user (when we are root) reaches its own subdirectory
    (root / "pg").mkdir()
    (root / "redis").mkdir()
    postgres = Postgres(root / "pg", durable=durable)
    redis_server = Redis(root / "redis")
    try:
        postgres.start()
        redis_server.start()
        yield Servers(postgres, redis_server)
    finally:
        redis_server.stop()
        postgres.stop()
        shutil.rmtree(root, ignore_errors=True)
