"""The dry run, over real HTTP: `python -m bot simulate` as an operator runs it (a process of its
own on the App's settings) and `GET /api/simulate/...` for admins. Both read live data from
fakehub and write nothing to GitHub."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import requests

from tests.bot.harness import Bot
from tests.fakehub import FakeHub
from tests.pages.site import ADMIN_TOKEN, REPO, blocked_pull, sign_in

ROOT = Path(__file__).resolve().parents[2]
WRITES = ("POST", "PATCH", "PUT", "DELETE")



def _writes(hub: FakeHub) -> list[str]:
    """Requests that change something on GitHub. An installation token is asked for with a POST
    that changes nothing of a repository."""
    return [
        f"{r.method} {r.path}" for r in hub.requests
        if r.method in WRITES and not r.path.endswith("/access_tokens")
    ]


def _cli(bot: Bot, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REVIEWGATE_")}
    env.update(
        REVIEWGATE_WEBHOOK_SECRET=bot.hub.webhook_secret,
        REVIEWGATE_APP_ID=str(bot.hub.app_id),
        REVIEWGATE_PRIVATE_KEY=bot.hub.private_key_pem,
        REVIEWGATE_GITHUB_API_URL=bot.hub.url,
        REVIEWGATE_DATA_DIR=str(data_dir),
    )
    return subprocess.run(
        [sys.executable, "-m", "bot", "simulate", *args], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=120, check=False,
    )


def test_the_command_line_dry_run_prints_the_verdict_and_writes_nothing(site: Bot, tmp_path: Path) -> None:
    hub = site.hub
    head = blocked_pull(site)
    runs_before = hub.check_runs(REPO, head)
    comments_before = hub.comments(REPO, 7)
    hub.clear_log()

    # On the server's data: the waiver of RG201 given with `/gate waive` is honoured.
    data = site.settings.data_dir
    as_is = _cli(site, data, f"{REPO}#7")
    assert as_is.returncode == 1, as_is.stderr
    assert f"{REPO}#7 at {head[:7]}: failure" in as_is.stdout
    assert f"✗ 1 peer approval of the latest commit `{head[:7]}`: none yet" in as_is.stdout
    assert "✗ 1 error finding on the changed lines not waived (RG101)" in as_is.stdout
    assert "to unblock: 1 reviewer with write permission" in as_is.stdout
    # Elsewhere (no database of the server's), the installation is asked of GitHub with the App's JWT.
    elsewhere = _cli(site, tmp_path / "operator", f"{REPO}#7")
    assert elsewhere.returncode == 1 and "(RG101, RG201)" in elsewhere.stdout
    assert hub.requests_to("GET", rf"^/repos/{REPO}/installation$")

    config = tmp_path / "proposed.yml"
    config.write_text("findings:\n  on_error: warn\n")
    approved = _cli(site, data, f"{REPO}#7", "--approve", "bob", "--config", str(config), "--json")
    assert approved.returncode == 0, approved.stdout + approved.stderr
    body = json.loads(approved.stdout)
    assert body["conclusion"] == "success"
    assert body["head_sha"] == head
    assert body["simulated_approvals"] == ["bob"]
    assert body["config"] == str(config)
    assert {c["key"]: c["met"] for c in body["conditions"]}["approvals"] is True

    # The author's own approval never counts, simulated or not.
    own = _cli(site, data, f"{REPO}#7", "--approve", "alice", "--config", str(config))
    assert own.returncode == 1
    assert "✗ 1 peer approval of the latest commit" in own.stdout

    assert _writes(hub) == []
    assert hub.check_runs(REPO, head) == runs_before
    assert hub.comments(REPO, 7) == comments_before
    assert hub.requests_to("GET", rf"^/repos/{REPO}/pulls/7/files")  # live data was read

    bad = _cli(site, tmp_path / "operator", "octo/demo#x")
    assert bad.returncode == 2 and "OWNER/REPO#NUMBER" in bad.stderr
    config.write_text("approvals:\n  required: many\n")
    invalid = _cli(site, data, f"{REPO}#7", "--config", str(config))
    assert invalid.returncode == 2 and "approvals.required" in invalid.stderr


def test_the_web_dry_run_is_for_admins_and_writes_nothing(site: Bot) -> None:
    hub = site.hub
    head = blocked_pull(site)
    bob = sign_in(site, "bob")  # a writer, not an admin of octo
    olga = sign_in(site, "olga")  # admin of the octo organisation
    hub.clear_log()  # signing in posts to GitHub's OAuth endpoint; the dry run must not write
    url = f"{site.url}/api/simulate/{REPO}/7"

    assert requests.get(url, timeout=30).status_code == 401
    assert requests.get(url, headers={"Authorization": "Bearer guess"}, timeout=30).status_code == 401
    assert bob.get(url, timeout=30).status_code == 403

    scripted = requests.get(url, params={"approve": "bob"}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
                            timeout=60)
    assert scripted.status_code == 200, scripted.text
    body = scripted.json()
    assert body["head_sha"] == head
    assert body["conclusion"] == "failure"  # RG101 is neither fixed nor waived
    met = {c["key"]: c["met"] for c in body["conditions"]}
    assert met["approvals"] is True and met["findings"] is False

    plain = olga.get(url, timeout=60)
    assert plain.status_code == 200
    assert {c["key"]: c["met"] for c in plain.json()["conditions"]}["approvals"] is False
    assert olga.get(f"{site.url}/api/simulate/{REPO}/99", timeout=60).status_code == 404

    assert _writes(hub) == []
