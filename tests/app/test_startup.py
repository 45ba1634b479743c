"""`python app.py` as `make run` starts it: refuses without a webhook secret, and with only a
secret (a fresh checkout, before a GitHub App is connected) serves /healthz while /readyz
says what is missing."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVIEWGATE_")}
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env.update(REVIEWGATE_DATA_DIR=str(tmp_path / "var"), REVIEWGATE_PORT=str(port), **extra)
    return env


def test_refuses_to_start_without_a_webhook_secret(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "app.py")], cwd=tmp_path, env=_env(tmp_path),
        capture_output=True, text=True, timeout=60,
    )
    assert proc.returncode == 2
    assert "REVIEWGATE_WEBHOOK_SECRET is not set" in proc.stderr


def test_starts_with_only_a_secret_and_reports_the_missing_app(tmp_path: Path) -> None:
    env = _env(tmp_path, REVIEWGATE_WEBHOOK_SECRET="s3cret-for-startup-test")
    url = f"http://127.0.0.1:{env['REVIEWGATE_PORT']}"
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "app.py")], cwd=tmp_path, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                health = requests.get(f"{url}/healthz", timeout=2)
                break
            except requests.ConnectionError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline, "the server did not start"
                time.sleep(0.2)
        assert health.status_code == 200
        ready = requests.get(f"{url}/readyz", timeout=5)
        assert ready.status_code == 503
        assert ready.json()["problems"] == {"github_app": "not configured"}
        unsigned = requests.post(f"{url}/webhook", data=b"{}", headers={"X-GitHub-Event": "ping"}, timeout=5)
        assert unsigned.status_code == 401
    finally:
        proc.terminate()
        proc.wait(timeout=30)
