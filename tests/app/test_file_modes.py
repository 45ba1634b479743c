"""What Reviewgate writes to disk is readable by its owner only: the data directory (the state
database holds private repositories' lines and comments, the queue their jobs), its SQLite
files with their -wal and -shm companions, and the `.env` that `make` writes."""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
import stat
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.app.test_startup import ROOT, _env
from tests.reliability.server import wait_until_serving

SECRET = "s3cret-for-file-modes"


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def _modes(data_dir: Path) -> dict[str, str]:
    return {p.name: oct(_mode(p)) for p in sorted(data_dir.iterdir())}


@pytest.fixture
def start(tmp_path: Path) -> Iterator:
    """Start `python app.py` (as `make run` does, umask 022) on `tmp_path/var`."""
    procs: list[subprocess.Popen[str]] = []

    def run() -> str:
        env = _env(tmp_path, REVIEWGATE_WEBHOOK_SECRET=SECRET)
        proc = subprocess.Popen(
            [sys.executable, str(ROOT / "app.py")], cwd=tmp_path, env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=lambda: os.umask(0o022),
        )
        procs.append(proc)
        url = f"http://127.0.0.1:{env['REVIEWGATE_PORT']}"
        wait_until_serving(url, proc, lambda: proc.stdout.read() if proc.stdout else "")
        # A signed delivery: the state database is written, the queue asked.
        body = b'{"zen": "Design for failure.", "hook_id": 1}'
        signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        answer = requests.post(
            f"{url}/webhook", data=body, timeout=10,
            headers={"X-GitHub-Event": "ping", "X-GitHub-Delivery": str(uuid.uuid4()),
                     "X-Hub-Signature-256": signature},
        )
        assert answer.status_code == 200
        assert requests.get(f"{url}/metrics", timeout=10).status_code == 200  # reads the queue
        return url

    yield run
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=30)


def test_a_fresh_data_directory_and_its_databases_are_owner_only(tmp_path: Path, start) -> None:
    data_dir = tmp_path / "var"
    assert not data_dir.exists()
    start()
    assert _mode(data_dir) == 0o700
    modes = _modes(data_dir)
    # Both databases in WAL mode, each with its -wal and -shm while the server runs.
    assert {"reviewgate.db", "reviewgate.db-wal", "reviewgate.db-shm", "queue.db", "queue.db-wal",
            "queue.db-shm"} <= set(modes)
    assert modes == dict.fromkeys(modes, "0o600")


def test_an_existing_data_directory_is_tightened_at_start(tmp_path: Path, start) -> None:
    data_dir = tmp_path / "var"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)
    for name in ("reviewgate.db", "queue.db", "notes.txt"):
        (data_dir / name).touch()
        (data_dir / name).chmod(0o644)
    outside = tmp_path / "elsewhere.txt"
    outside.write_text("not ours")
    outside.chmod(0o644)
    (data_dir / "link.txt").symlink_to(outside)
    start()
    assert _mode(data_dir) == 0o700
    modes = _modes(data_dir)
    del modes["link.txt"]
    assert modes == dict.fromkeys(modes, "0o600")
    assert _mode(outside) == 0o644  # a link is not followed out of the directory


def test_make_writes_env_owner_only(tmp_path: Path) -> None:
    shutil.copy(ROOT / "Makefile", tmp_path / "Makefile")
    subprocess.run(
        ["make", "--no-print-directory", ".env", f"PYTHON={sys.executable}"], cwd=tmp_path, check=True,
        capture_output=True, preexec_fn=lambda: os.umask(0o022), timeout=60,
    )
    env_file = tmp_path / ".env"
    assert env_file.read_text().startswith("REVIEWGATE_WEBHOOK_SECRET=")
    assert _mode(env_file) == 0o600
