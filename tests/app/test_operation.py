"""What an operator reads: settings checked at start, one line per problem and no traceback;
a busy port reported before anything is queued; one log line per delivery; an App that is
not configured said once per evaluation, not as a traceback per retry."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from tests.bot.harness import make_app
from tests.fakehub import FakeHub, FileChange
from tests.gate_e2e.gatehub import comment

ROOT = Path(__file__).resolve().parents[2]
REPO = "octo/demo"


def _start(tmp_path: Path, env_file: str = "", **settings: str) -> subprocess.CompletedProcess[str]:
    """`python app.py` in `tmp_path` (with that `.env`), expected to stop by itself."""
    (tmp_path / ".env").write_text(env_file)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVIEWGATE_")}
    env.update(REVIEWGATE_DATA_DIR=str(tmp_path / "var"), PYTHONPATH=str(ROOT), **settings)
    return subprocess.run([sys.executable, str(ROOT / "app.py")], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60)


def test_values_that_do_not_parse_are_refused_one_line_each(tmp_path: Path) -> None:
    proc = _start(tmp_path, "REVIEWGATE_WORKERS=-1\n", REVIEWGATE_PORT="abc", REVIEWGATE_WEBHOOK_SECRET="s",
                  REVIEWGATE_PUBLIC_URL="reviewgate.example.com")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    lines = sorted(proc.stderr.splitlines())
    assert lines == [
        "reviewgate: REVIEWGATE_PORT='abc': Input should be a valid integer, unable to parse string as an integer",
        "reviewgate: REVIEWGATE_PUBLIC_URL='reviewgate.example.com': must be an http:// or https:// URL",
        "reviewgate: REVIEWGATE_WORKERS='-1': Input should be greater than or equal to 0",
    ]


def test_a_worker_process_checks_its_settings_the_same_way(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVIEWGATE_")}
    env.update(REVIEWGATE_DATA_DIR=str(tmp_path / "var"), PYTHONPATH=str(ROOT), REVIEWGATE_JOB_RETRIES="many")
    proc = subprocess.run([sys.executable, "-m", "bot.worker"], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "reviewgate: REVIEWGATE_JOB_RETRIES='many': Input should be a valid integer, unable to parse string as an integer"
    ]


def test_an_unknown_setting_is_named_with_the_closest_known_one(tmp_path: Path) -> None:
    proc = _start(tmp_path, "REVIEWGATE_APPID=12\n", REVIEWGATE_WEBHOOK_SECRT="s", REVIEWGATE_PORT="x")
    warnings = [line for line in proc.stderr.splitlines() if "unknown setting" in line]
    assert len(warnings) == 2, proc.stderr
    assert warnings[0].endswith("unknown setting REVIEWGATE_APPID is ignored; did you mean REVIEWGATE_APP_ID?")
    assert warnings[1].endswith(
        "unknown setting REVIEWGATE_WEBHOOK_SECRT is ignored; did you mean REVIEWGATE_WEBHOOK_SECRET?"
    )


def test_a_private_key_that_does_not_parse_refuses_the_start(tmp_path: Path) -> None:
    key = tmp_path / "key.pem"
    key.write_text("-----BEGIN RSA PRIVATE KEY-----\nbm90IGEga2V5\n-----END RSA PRIVATE KEY-----\n")
    proc = _start(tmp_path, REVIEWGATE_WEBHOOK_SECRET="s", REVIEWGATE_APP_ID="1",
                  REVIEWGATE_PRIVATE_KEY_PATH=str(key))
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "reviewgate: REVIEWGATE_PRIVATE_KEY_PATH: not a PEM private key without a passphrase "
        "(GitHub App keys are RSA PEM files)"
    ]


def test_a_busy_port_is_reported_before_anything_is_queued(fakehub: FakeHub, tmp_path: Path) -> None:
    """A second `make run` while the first runs: it must not queue the owed evaluations it
    finds in the shared data directory into the first one's queue."""
    data = tmp_path / "var"
    fakehub.add_repo(REPO, installation_id=42)
    fakehub.add_pull(REPO, 7, author="alice", files=[FileChange("a.py", status="added", after="X = 1\n")])
    first = make_app(fakehub, data)  # receives a delivery; its consumer never runs it
    assert first.open_pull(REPO, 7).status_code == 202
    assert first.queue.pending_count() == 1
    try:
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            port = busy.getsockname()[1]
            proc = _start(tmp_path, REVIEWGATE_WEBHOOK_SECRET="s", REVIEWGATE_PORT=str(port), REVIEWGATE_WORKERS="0")
        assert proc.returncode == 2
        assert "Traceback" not in proc.stderr
        assert proc.stderr.splitlines()[-1].startswith(f"reviewgate: cannot listen on 127.0.0.1:{port}: ")
        assert first.queue.pending_count() == 1
    finally:
        first.close()


PHASES = ("read", "verify", "parse", "wait", "write", "resume", "enqueue")


def _phase_count(phase: str) -> float:
    """Observations of `reviewgate_webhook_phase_seconds` for a phase (this process's registry)."""
    return REGISTRY.get_sample_value("reviewgate_webhook_phase_seconds_count", {"phase": phase}) or 0.0


def test_one_log_line_per_delivery(fakehub: FakeHub, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    fakehub.add_repo(REPO, installation_id=42)
    fakehub.add_pull(REPO, 7, author="alice", files=[FileChange("a.py", status="added", after="X = 1\n")])
    bot = make_app(fakehub, tmp_path)
    caplog.set_level(logging.INFO, logger="bot.web.webhooks")
    before = {phase: _phase_count(phase) for phase in PHASES}
    try:
        guid = str(uuid.uuid4())
        assert bot.open_pull(REPO, 7, guid=guid).status_code == 202
        assert bot.post("ping", {"zen": "x", "hook_id": 1}, guid="ping-1").status_code == 200
        hostile = "evil INFO forged\t[2J"
        assert bot.post("pull_request", {}, guid=hostile, signature="sha256=00").status_code == 401
        # A control character is not HTTP: the server refuses the request before the app sees it.
        assert bot.post("pull_request", {}, guid="evil\x1b[2J", signature="sha256=00").status_code == 400
    finally:
        bot.close()
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.web.webhooks"]
    assert len(lines) == 3, lines
    words = lines[0].split()
    assert words[:6] == ["delivery", guid, "pull_request.opened", f"{REPO}#7", "queued", "202"]
    assert words[7] == "ms" and float(words[6]) >= 0
    # Where the time went, phase by phase, and the batch the delivery was written in.
    phases = lines[0].split(" | ", 1)[1]
    named = phases.split(" (batch of ")[0].split()
    assert tuple(named[::2]) == PHASES, phases
    assert all(float(ms) >= 0 for ms in named[1::2])
    assert sum(float(ms) for ms in named[1::2]) <= float(words[6]) + 0.5
    assert phases.endswith("(batch of 1)")
    assert lines[1].split()[:6] == ["delivery", "ping-1", "ping", "-", "pong", "200"]
    # An unsigned request stops after the signature: its line says so, and no more.
    assert lines[2].split()[:6] == ["delivery", "evil?INFO?forged??2J", "pull_request", "-", "bad", "signature"]
    assert lines[2].split(" | ", 1)[1].split()[::2] == ["read"]
    timed = {phase: _phase_count(phase) - before[phase] for phase in PHASES}
    assert timed == {"read": 3, "verify": 2, "parse": 2, "wait": 2, "write": 2, "resume": 2, "enqueue": 1}
    assert all("\n" not in line for line in lines)


def test_an_app_not_configured_logs_one_line_per_evaluation(
    fakehub: FakeHub, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fakehub.add_repo(REPO, installation_id=42)
    fakehub.add_pull(REPO, 7, author="alice", files=[FileChange("a.py", status="added", after="X = 1\n")])
    bot = make_app(fakehub, tmp_path, app_id=None, private_key=None)
    caplog.set_level(logging.INFO)
    try:
        assert bot.open_pull(REPO, 7).status_code == 202
        assert comment(bot, 7, "bob", "/gate recheck")[1].status_code == 202
        bot.start()
        deadline = time.monotonic() + 30
        while sum("not run" in r.getMessage() for r in caplog.records) < 2:
            assert time.monotonic() < deadline, "the evaluation did not run"
            time.sleep(0.05)
        time.sleep(0.5)  # a retry, had there been one, would be under way by now
        bot.stop()
    finally:
        bot.close()
    problems = sorted(r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING)
    why = ("not run: The GitHub App is not configured: open /setup to register one, or set "
           "REVIEWGATE_APP_ID and REVIEWGATE_PRIVATE_KEY (PEM text) or REVIEWGATE_PRIVATE_KEY_PATH.")
    assert len(problems) == 2, problems
    assert problems[0] == f"evaluation of {REPO}#7 {why}"
    assert problems[1].startswith("gate job comment:") and problems[1].endswith(why)
    assert all(r.exc_info is None for r in caplog.records)
