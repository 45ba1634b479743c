"""`python -m bot.replay PAYLOAD.json --event EVENT`: a sample payload, signed with the secret
of `.env`, reaches the local server as GitHub's delivery would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from bot.store.db import Delivery
from tests.bot.harness import make_app
from tests.fakehub import FakeHub

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "docs" / "samples"


def _replay(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVIEWGATE_")}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "bot.replay", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=60)


def test_replay_signs_the_samples_with_the_env_files_secret(fakehub: FakeHub, tmp_path: Path) -> None:
    bot = make_app(fakehub, tmp_path / "var")
    try:
        (tmp_path / ".env").write_text(f"REVIEWGATE_WEBHOOK_SECRET={fakehub.webhook_secret}\n")
        url = f"{bot.url}/webhook"
        ping = _replay(tmp_path, str(SAMPLES / "ping.json"), "--event", "ping", "--url", url)
        assert (ping.returncode, ping.stdout.split()[0]) == (0, "200"), ping.stderr
        pr = _replay(tmp_path, str(SAMPLES / "pull_request.opened.json"), "--event", "pull_request",
                     "--url", url, "--guid", "replayed-1")
        assert (pr.returncode, pr.stdout.split()[0]) == (0, "202"), pr.stderr
        comment = _replay(tmp_path, str(SAMPLES / "issue_comment.created.json"), "--event", "issue_comment",
                          "--url", url, "--guid", "replayed-2")
        assert (comment.returncode, comment.stdout.split()[0]) == (0, "202"), comment.stderr
        with bot.runtime.db.session() as session:
            recorded = {d.guid: (d.event, d.repo, d.pr) for d in session.query(Delivery)}
        assert recorded["replayed-1"] == ("pull_request", "Codertocat/Hello-World", 2)
        assert recorded["replayed-2"][:2] == ("issue_comment", "Codertocat/Hello-World")

        (tmp_path / ".env").write_text("REVIEWGATE_WEBHOOK_SECRET=not-the-servers\n")
        refused = _replay(tmp_path, str(SAMPLES / "ping.json"), "--event", "ping", "--url", url)
        assert (refused.returncode, refused.stdout.split()[0]) == (1, "401")
    finally:
        bot.close()
