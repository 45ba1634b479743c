"""Run the rule engine on one file in a worker process that can be stopped.

The engine bounds size, nesting and time itself (RG001/RG002), but those bounds are checks
inside the interpreter that does the work: a parser that recurses in native code, or a
literal that allocates gigabytes, can outrun them and take the whole bot (web server and
queue consumer) down with it. Here files are analysed in worker processes whose CPU time
per file and address space are limited by the kernel (`setrlimit`), with a wall-clock
deadline enforced by the caller. Whatever happens to a worker, the caller gets a `Report`,
at worst an RG002 notice saying why the file was not analysed, and the rest of the PR is
evaluated.

Workers are long-lived (starting an interpreter that imports libcst costs ~0.2 s; a file
costs milliseconds), so the CPU limit is re-armed before each file: the soft `RLIMIT_CPU` is
set to the CPU time used so far plus the budget, and passing it kills the worker (SIGXCPU).
A dead worker breaks its pool, and every file in it at that moment fails with it: the pool is
replaced, and each of those files is tried once more in a worker of its own. A file that
kills that worker too (or runs out of memory in any worker: the address space is per
process) has exhausted its limits by itself, whatever the machine was doing: its notice is
final, and cached by blob sha like any report (bot.analysis). A file stopped by the wall
clock is not: a busy machine may be to blame, so the next evaluation tries again.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import resource
import signal
import threading
import time
from concurrent.futures import CancelledError, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import rules

log = logging.getLogger(__name__)

# The engine parses on a thread with a 512 MiB stack (rules.engine.PARSE_STACK_BYTES): the
# address space must leave room for that reservation, which is mostly never touched. Below
# ~600 MiB no thread can start and every file gets "could not parse".
DEFAULT_MEMORY_BYTES = 2048 * 1024 * 1024


@dataclass(frozen=True)
class Limits:
    cpu_seconds: int = 20
    memory_bytes: int = DEFAULT_MEMORY_BYTES
    # Wall clock, for a worker starved of CPU on a busy machine rather than spinning.
    wall_seconds: float = 120.0
    workers: int = 2
    # The analysis processes' niceness (`lower_priority`).
    nice: int = 0


_state = {"memory_bytes": 0, "spent": False}


class OutOfTime(Exception):
    """The caller's deadline passed before the analysis finished."""


def _ready() -> bool:
    return True


def lower_priority(nice: int) -> None:
    """Make this process at least this nice (absolute, unlike `os.nice`: a worker of an
    already nice process stays at the same level); never raises priority."""
    if nice > os.getpriority(os.PRIO_PROCESS, 0):
        os.setpriority(os.PRIO_PROCESS, 0, nice)


def _init_worker(memory_bytes: int, owner: int, nice: int = 0) -> None:
    # Ctrl-C in a terminal reaches the whole process group: the owner shuts the pool down
    # itself, and a worker interrupted mid-wait would only print a traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    lower_priority(nice)
    _state["memory_bytes"] = memory_bytes
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    threading.Thread(target=_exit_with, args=(owner,), name="owner-watch", daemon=True).start()


def _exit_with(owner: int) -> None:
    """Exit when the process that made the pool is gone (SIGKILL leaves no one to say so).

    A worker is the fork server's child, not its owner's, and holds both ends of its task
    pipe, so without this it would wait for work forever after its owner was killed.
    """
    while True:
        time.sleep(1.0)
        try:
            os.kill(owner, 0)
        except ProcessLookupError:
            os._exit(0)
        except PermissionError:
            continue


def _run(source: bytes, path: str, config: rules.RulesConfig, cpu_seconds: int) -> tuple[str, rules.Report | None]:
    if _state["spent"]:
        # An earlier file brought this worker near its memory limit; after a refused
        # allocation the native parser is not to be trusted (it then fails on good files).
        # Dying here breaks the pool, and the caller runs this file again in a fresh one.
        os._exit(3)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    used = int(usage.ru_utime + usage.ru_stime) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (used + cpu_seconds, resource.RLIM_INFINITY))
    try:
        report = rules.analyze(source, path, changed_lines=None, config=config)
    except MemoryError:
        _state["spent"] = True
        return "memory", None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if peak > _state["memory_bytes"] // 2:
        # The engine turns a MemoryError into a notice itself; a peak this close to the limit
        # means this report may be one. Earlier files stayed below half (or this worker would
        # be gone), so the peak is this file's doing; the worker is replaced all the same.
        _state["spent"] = True
        return "memory-notice", report
    return "ok", report


def notice(path: str, message: str) -> rules.Report:
    """An RG002 report: the file was not analysed, and why."""
    return rules.Report(
        path, (rules.Finding("RG002", "not-analyzed", rules.Severity.NOTICE, path, 1, 1, 1, 1, message),)
    )


class Isolation:
    """`analyze(...)` like `rules.analyze(..., changed_lines=None)`, in a bounded worker process."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits or Limits()
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _current(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = self._new_pool(self.limits.workers)
            return self._pool

    def warm(self) -> None:
        """Start the workers now, in the background: the first pull request after a start
        must not wait seconds for the fork server and the parser's import."""

        def start() -> None:
            try:
                pool = self._current()
                for future in [pool.submit(_ready) for _ in range(self.limits.workers)]:
                    future.result(timeout=self.limits.wall_seconds)
            except Exception as exc:  # the first analysis will say what is wrong  # noqa: BLE001
                log.warning("could not start the analysis workers ahead of time: %s", exc)

        threading.Thread(target=start, name="isolation-warm", daemon=True).start()

    def _new_pool(self, workers: int) -> ProcessPoolExecutor:
        context = multiprocessing.get_context("forkserver")
        # Imported once in the fork server, so each worker starts warm (when the project is
        # importable from the working directory, as `python app.py` runs).
        context.set_forkserver_preload(["rules", "bot.isolation"])
        return ProcessPoolExecutor(
            max_workers=workers, mp_context=context,
            initializer=_init_worker, initargs=(self.limits.memory_bytes, os.getpid(), self.limits.nice),
        )

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        # Workers still busy finish (or hit their CPU limit) on their own; nothing waits.
        pool.shutdown(wait=False, cancel_futures=True)

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def analyze(
        self, source: bytes, path: str, config: rules.RulesConfig, deadline: float | None = None
    ) -> tuple[rules.Report, bool]:
        """The report, and whether it is final for these bytes: True when the analysis
        finished or the file exhausted its worker's CPU or memory by itself, False when the
        wall clock stopped it. Raises `OutOfTime` when `deadline` (a `time.monotonic()` value)
        comes first."""
        if len(source) > config.max_bytes:
            # Refused before parsing; no worker needed to say so.
            return rules.analyze(source, path, changed_lines=None, config=config), True
        limits = self.limits
        for attempt in (1, 2):
            wait, binding = limits.wall_seconds, False
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise OutOfTime
                wait, binding = min(wait, left), left < wait
            # The second try runs alone, so a death there is this file's doing.
            pool = self._current() if attempt == 1 else self._new_pool(1)
            try:
                future = pool.submit(_run, source, path, config, limits.cpu_seconds)
                status, report = future.result(timeout=wait)
            except FutureTimeout:
                self._discard(pool)
                if binding:
                    raise OutOfTime from None
                log.warning("analysis of %s passed the wall-clock limit of %gs; stopped", path, limits.wall_seconds)
                return notice(path, f"Not analysed: the analysis took longer than {limits.wall_seconds:g} s."), False
            except (BrokenProcessPool, CancelledError):
                # A worker died (this file's, or another one's in the pool with it), or another
                # file's timeout shut the pool down before this one started.
                self._discard(pool)
                if attempt == 1:
                    continue
                log.warning("analysis of %s stopped a worker of its own (CPU limit %ss, memory limit %d MiB)",
                            path, limits.cpu_seconds, limits.memory_bytes >> 20)
                return notice(
                    path,
                    f"Not analysed: the analysis passed its limits ({limits.cpu_seconds} s of CPU time "
                    f"or {limits.memory_bytes >> 20:,} MiB of memory).",
                ), True
            if attempt == 2:
                self._discard(pool)
            if status == "memory-notice" and report is not None:
                return report, True
            if status != "ok" or report is None:
                log.warning("analysis of %s passed the memory limit of %d MiB", path, limits.memory_bytes >> 20)
                return notice(path, f"Not analysed: the analysis needed more than {limits.memory_bytes >> 20:,} MiB of memory."), True
            return report, True
        raise AssertionError("unreachable")  # pragma: no cover
