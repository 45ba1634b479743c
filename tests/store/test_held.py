"""`Database.held`: one holder of a named lock at a time, across processes, on both engines."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bot.store.db import Database

ROOT = Path(__file__).resolve().parents[2]


def test_a_lock_has_one_holder_at_a_time(url: str) -> None:
    """Two connections to one database, as two worker processes have."""
    first, second = Database(url), Database(url)
    try:
        with first.held("gate_job:a") as mine:
            assert mine
            with second.held("gate_job:a") as theirs:
                assert not theirs
            assert not second.nobody_holds("gate_job:a")
            assert second.nobody_holds("gate_job:b")  # another name is another lock
        with second.held("gate_job:a") as theirs:
            assert theirs  # let go when the block ended
        assert first.nobody_holds("gate_job:a")
    finally:
        first.dispose()
        second.dispose()


def test_a_lock_is_let_go_when_its_process_is_killed(url: str, tmp_path: Path) -> None:
    ready = tmp_path / "holding"
    holder = subprocess.Popen(
        [sys.executable, "-c", (
            "import sys, time, pathlib\n"
            "from bot.store.db import Database\n"
            "with Database(sys.argv[1]).held('gate_job:a') as mine:\n"
            "    assert mine\n"
            "    pathlib.Path(sys.argv[2]).touch()\n"
            "    time.sleep(600)\n"
        ), url, str(ready)],
        cwd=ROOT,
    )
    db = Database(url)
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert holder.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        assert not db.nobody_holds("gate_job:a")
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(30)
        deadline = time.monotonic() + 30  # PostgreSQL notices the closed session shortly after
        while not db.nobody_holds("gate_job:a"):
            assert time.monotonic() < deadline, "the dead process's lock was never let go"
            time.sleep(0.1)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(30)
        db.dispose()


def test_sqlite_lock_files_do_not_pile_up(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'state.db'}")
    try:
        for i in range(50):
            with db.held(f"comment:{i}") as mine:
                assert mine
        assert list((tmp_path / "state.db.locks").iterdir()) == []
    finally:
        db.dispose()
