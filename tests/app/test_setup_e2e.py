"""From a fresh checkout's `make run` (a `.env` with only a made-up webhook secret, no App) to
a gated pull request: /setup, (fake) GitHub's registration, the callback, and the running
server using the new App at once, without a restart."""

from __future__ import annotations

import os
import re
import secrets
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest
import requests
import yaml

from bot.runtime import Runtime
from bot.settings import Settings
from tests.app.setup_flow import read_page, register_on_github
from tests.bot.harness import Bot, make_app
from tests.fakehub import FakeHub, FileChange
from tests.reliability.server import free_port, wait_until_serving

ROOT = Path(__file__).resolve().parents[2]
REPO = "octo/demo"


@pytest.fixture
def server(tmp_path: Path, fakehub: FakeHub) -> Iterator[dict[str, Any]]:
    """`python app.py` in a directory holding what `make run` writes the first time."""
    made_up = secrets.token_hex(32)
    env_file = tmp_path / ".env"
    env_file.write_text(f"REVIEWGATE_WEBHOOK_SECRET={made_up}\n")
    env_file.chmod(0o600)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVIEWGATE_")}
    env.update(
        REVIEWGATE_PORT=str(port), REVIEWGATE_PUBLIC_URL=url, REVIEWGATE_GITHUB_URL=fakehub.url,
        REVIEWGATE_GITHUB_API_URL=fakehub.url, REVIEWGATE_GITHUB_WRITE_INTERVAL="0",
        # `make run` runs from the checkout, where the analysis workers import the project from.
        PYTHONPATH=str(ROOT),
    )
    log = (tmp_path / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, str(ROOT / "app.py")], cwd=tmp_path, env=env, stdout=log,
                            stderr=subprocess.STDOUT)
    try:
        wait_until_serving(url, proc, (tmp_path / "server.log").read_text)
        yield {"url": url, "made_up": made_up, "dir": tmp_path, "log": tmp_path / "server.log"}
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _check_run(hub: FakeHub, head: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = [r for r in hub.check_runs(REPO, head) if r["name"] == "reviewgate" and r["status"] == "completed"]
        if runs:
            return runs[-1]
        time.sleep(0.1)
    raise AssertionError("no completed reviewgate check run")


def test_a_fresh_make_run_registers_its_app_at_setup_and_gates_a_pull_request(
    server: dict[str, Any], fakehub: FakeHub
) -> None:
    url, hub = server["url"], fakehub
    assert requests.get(f"{url}/readyz", timeout=5).json()["problems"] == {"github_app": "not configured"}
    browser = requests.Session()

    # Only with the token the server printed: whoever reaches the port first cannot register.
    assert requests.get(f"{url}/setup", timeout=5).status_code == 404
    token = re.search(r"/setup\?token=([A-Za-z0-9_-]+)", server["log"].read_text())
    assert token, server["log"].read_text()
    assert requests.get(f"{url}/setup?token={token[1]}x", timeout=5).status_code == 404
    action, manifest, back = register_on_github(browser, f"{url}/setup?token={token[1]}")
    assert action.startswith(f"{hub.url}/settings/apps/new?state=")
    app_yaml = yaml.safe_load((ROOT / "app.yaml").read_text())
    assert manifest["hook_attributes"]["url"] == f"{url}/webhook"
    assert manifest["redirect_url"] == f"{url}/setup/callback"
    assert manifest["default_events"] == app_yaml["default_events"]
    assert manifest["default_permissions"] == app_yaml["default_permissions"]
    assert back.startswith(f"{url}/setup/callback?")

    done = browser.get(back, timeout=30)
    assert done.status_code == 200, done.text
    assert f"{hub.url}/apps/{hub.app_slug}/installations/new" in read_page(done.text).links
    assert requests.get(f"{hub.url}/apps/{hub.app_slug}/installations/new", timeout=5).status_code == 200
    assert hub.registered_manifests[0]["hook_attributes"]["url"] == f"{url}/webhook"

    # The credentials are kept, owner-only; the App's webhook secret replaced the made-up one.
    env_file, key_file = server["dir"] / ".env", server["dir"] / "var" / "github-app.private-key.pem"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    env_text = env_file.read_text()
    assert f"REVIEWGATE_APP_ID={hub.app_id}\n" in env_text
    assert f"REVIEWGATE_WEBHOOK_SECRET={hub.webhook_secret}\n" in env_text
    assert server["made_up"] not in env_text
    assert "REVIEWGATE_CLIENT_ID=Iv1." in env_text and "REVIEWGATE_CLIENT_SECRET=" in env_text
    assert key_file.read_text() == hub.private_key_pem

    # The running server uses the App now: no restart.
    assert requests.get(f"{url}/setup", timeout=5).status_code == 404
    assert requests.get(f"{url}/readyz", timeout=5).status_code == 200

    hub.add_repo(REPO, installation_id=42)
    head = hub.add_pull(REPO, 7, author="alice", files=[
        FileChange("app/clock.py", status="added", after="from datetime import datetime\nSTAMP = datetime.now()\n"),
    ]).head_sha
    github = Bot(hub, cast(Settings, None), cast(Runtime, None), url)  # GitHub's side only
    payload = github.pull_request_payload(REPO, 7)
    assert github.post("pull_request", payload, secret=server["made_up"]).status_code == 401
    assert github.post("pull_request", payload).status_code == 202  # signed with the App's secret
    run = _check_run(hub, head)
    assert run["conclusion"] == "failure"
    assert run["output"]["title"].startswith("Blocked")
    assert [(a["path"], a["title"].split()[0]) for a in run["annotations"]] == [("app/clock.py", "RG101")]


def test_a_worker_process_started_before_the_registration_uses_the_new_app(
    fakehub: FakeHub, tmp_path: Path
) -> None:
    """`REVIEWGATE_WORKERS=0 python app.py` beside `python -m bot.worker`: /setup runs in the
    web process; the worker finds the App in `.env` when a job needs it, without a restart."""
    hub = fakehub
    web = make_app(hub, tmp_path / "var", app_id=None, private_key=None, webhook_secret="made-up",
                   github_url=hub.url)
    web.runtime.env_file = tmp_path / ".env"
    web.runtime.env_file.write_text("REVIEWGATE_WEBHOOK_SECRET=made-up\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVIEWGATE_")}
    env.update(REVIEWGATE_DATA_DIR=str(tmp_path / "var"), REVIEWGATE_GITHUB_API_URL=hub.url, PYTHONPATH=str(ROOT),
               REVIEWGATE_GITHUB_WRITE_INTERVAL="0")
    log = (tmp_path / "worker.log").open("w")
    worker = subprocess.Popen([sys.executable, "-m", "bot.worker", "--workers", "1"], cwd=tmp_path, env=env,
                              stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while "consumer threads" not in (tmp_path / "worker.log").read_text():  # started, without an App
            assert worker.poll() is None and time.monotonic() < deadline, (tmp_path / "worker.log").read_text()
            time.sleep(0.1)
        assert "no GitHub App" in (tmp_path / "worker.log").read_text() or "not configured" in (
            tmp_path / "worker.log").read_text()
        browser = requests.Session()
        _action, _manifest, back = register_on_github(browser, f"{web.url}/setup?token={web.settings.setup_token()}")
        done = browser.get(f"{web.url}/setup/callback{back.split('/setup/callback', 1)[1]}", timeout=30)
        assert done.status_code == 200, done.text

        hub.add_repo(REPO, installation_id=42)
        head = hub.add_pull(REPO, 7, author="alice", files=[
            FileChange("app/clock.py", status="added", after="from datetime import datetime\nSTAMP = datetime.now()\n"),
        ]).head_sha
        assert web.open_pull(REPO, 7).status_code == 202  # signed with the App's new secret
        run = _check_run(hub, head)
        assert run["conclusion"] == "failure", (tmp_path / "worker.log").read_text()
        assert "not run" not in (tmp_path / "worker.log").read_text()
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        log.close()
        web.close()
