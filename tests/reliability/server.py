"""`python app.py` in a process of its own, as production runs it, pointed at a fakehub.

Shared by the crash drill and bench/load.py. The process can be killed (SIGKILL, no chance
to clean up) and started again on the same data directory.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

import requests

from tests.fakehub import FakeHub
from tests.servers import free_port, stop_process

ROOT = Path(__file__).resolve().parents[2]


def descendants(pid: int) -> set[int]:
    """Every process below `pid`: its children, theirs, and so on (from /proc)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def wait_until_serving(url: str, process: subprocess.Popen[Any], output: Callable[[], str], timeout: float = 60) -> None:
    """Until `url/healthz` answers; fails with the process's `output()` if it exits first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            requests.get(f"{url}/healthz", timeout=2)
            return
        except requests.ConnectionError:
            assert process.poll() is None, output()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)


class ServerProcess:
    def __init__(self, hub: FakeHub, data_dir: Path, log_path: Path | None = None, **settings: Any) -> None:
        self.hub = hub
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path or data_dir / "server.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith("REVIEWGATE_")}
        env.update(
            REVIEWGATE_WEBHOOK_SECRET=hub.webhook_secret,
            REVIEWGATE_APP_ID=str(hub.app_id),
            REVIEWGATE_PRIVATE_KEY=hub.private_key_pem,
            REVIEWGATE_GITHUB_API_URL=hub.url,
            REVIEWGATE_DATA_DIR=str(data_dir),
            REVIEWGATE_PORT=str(self.port),
            REVIEWGATE_GITHUB_WRITE_INTERVAL="0",
        )
        env.update({f"REVIEWGATE_{k.upper()}": str(v) for k, v in settings.items()})
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def start(self, timeout: float = 60.0, new_session: bool = False) -> None:
        """`new_session`: the server leads a process group of its own, as in a terminal."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115  # closed in stop()/kill()
        self.process = subprocess.Popen(
            [sys.executable, "app.py"], cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=new_session,
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                if requests.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"python app.py exited with {self.process.returncode}:\n{self.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"python app.py did not become ready:\n{self.log()}")
            time.sleep(0.1)

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL: no signal handler, no atexit, no flush runs."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(30)
        self._close_log()

    def stop(self) -> None:
        stop_process(self.process)
        self._close_log()

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
