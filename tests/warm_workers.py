"""`python -m bot.worker` processes for the end-to-end tests, started warm.

Starting an interpreter and importing the bot costs about two seconds of CPU, and the
end-to-end suites start two workers for every test they run on PostgreSQL + Redis. So a
zygote process (`python -m tests.warm_workers`) imports `bot.worker` once and forks a child
for each worker; the child takes the worker's environment, working directory and arguments
and runs `bot.worker.main()`, as `python -m bot.worker` does. Importing the bot has no side
effect (tests/test_structure.py checks it), so a child starts as a fresh process would, but
for the imports. The command's own start-up (a bad setting, recovery, signals) is tested by
starting the real command (tests/reliability).

Protocol, one JSON object per line: the tests send `{"start": {"env", "cwd", "argv", "log"}}`
(answered `{"pid"}`) or `{"status": pid}` (answered `{"returncode"}`, null while it runs);
the zygote reaps its children and remembers how they ended.
"""

from __future__ import annotations

import atexit
import json
import os
import select
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[1]


class WarmWorker:
    """The part of `subprocess.Popen` the harness uses, for a worker forked by the zygote."""

    def __init__(self, zygote: Zygote, pid: int) -> None:
        self.zygote = zygote
        self.pid = pid
        self.returncode: int | None = None

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def poll(self) -> int | None:
        if self.returncode is None:
            self.returncode = self.zygote.status(self.pid)
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while (code := self.poll()) is None:
            if deadline is not None and time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"worker {self.pid}", timeout or 0)
            time.sleep(0.02)
        return code


class Zygote:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None

    def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            if self._process is None or self._process.poll() is not None:
                self._process = subprocess.Popen(
                    [sys.executable, "-m", "tests.warm_workers"], cwd=ROOT, text=True,
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                )
            assert self._process.stdin is not None and self._process.stdout is not None
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
            line = self._process.stdout.readline()
            if not line:
                raise RuntimeError(f"the worker zygote exited with {self._process.wait()}")
            answer: dict[str, Any] = json.loads(line)
            return answer

    def start(self, argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> WarmWorker:
        answer = self._ask({"start": {"argv": argv, "env": env, "cwd": str(cwd), "log": str(log)}})
        return WarmWorker(self, int(answer["pid"]))

    def status(self, pid: int) -> int | None:
        code = self._ask({"status": pid})["returncode"]
        return None if code is None else int(code)

    def close(self) -> None:
        with self._lock:
            if self._process is not None and self._process.poll() is None:
                assert self._process.stdin is not None
                self._process.stdin.close()  # the zygote kills what it started, and exits
                try:
                    self._process.wait(30)
                except subprocess.TimeoutExpired:
                    self._process.kill()
            self._process = None


_zygote: Zygote | None = None


def start(argv: list[str], env: dict[str, str], cwd: Path, log: Path) -> WarmWorker:
    """A `python -m bot.worker *argv` process with this environment, logging to `log`."""
    global _zygote
    if _zygote is None:
        _zygote = Zygote()
        atexit.register(_zygote.close)
    return _zygote.start(argv, env, cwd, log)


# -- the zygote ---------------------------------------------------------------------------------
def _child(request: dict[str, Any]) -> None:
    """In the forked child: become the worker, and never return into the zygote's loop."""
    code = 1
    try:
        os.setpgid(0, 0)  # signals to the tests' process group are not the worker's
        log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        devnull = os.open(os.devnull, os.O_RDONLY)
        os.dup2(devnull, 0)
        os.dup2(log, 1)
        os.dup2(log, 2)
        os.close(log)
        os.close(devnull)
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGCHLD):
            signal.signal(sig, signal.SIG_DFL)
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        sys.argv = ["python -m bot.worker", *request["argv"]]
        from bot import worker

        try:
            worker.main(request["argv"])
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:  # noqa: BLE001  # reported in the worker's log, like an uncaught error
        import traceback

        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


def _serve(requests: IO[str], answers: IO[str]) -> None:
    children: set[int] = set()
    ended: dict[int, int] = {}

    def reap() -> None:
        for pid in list(children):
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                children.discard(pid)
                ended[pid] = os.waitstatus_to_exitcode(status)

    try:
        while True:
            ready, _, _ = select.select([requests], [], [], 0.1)
            reap()
            if not ready:
                continue
            line = requests.readline()
            if not line:
                return
            request = json.loads(line)
            if "start" in request:
                answers.flush()
                pid = os.fork()
                if pid == 0:
                    _child(request["start"])
                children.add(pid)
                answer: dict[str, Any] = {"pid": pid}
            else:
                reap()
                pid = int(request["status"])
                answer = {"returncode": ended.get(pid) if pid not in children else None}
            answers.write(json.dumps(answer) + "\n")
            answers.flush()
    finally:
        for pid in children:
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass


def main() -> None:
    # Everything a worker imports, imported once here; nothing runs at import.
    import bot.worker  # noqa: F401

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C on the tests: they close the zygote
    _serve(sys.stdin, sys.stdout)


if __name__ == "__main__":
    main()
