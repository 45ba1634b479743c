"""The gate page of a pull request with 300 findings: server time per request.

Runs a real evaluation against tests/fakehub (a PR adding 300 naive `now()` calls, one RG101
finding each, with a waiver given by a reviewer and a few commands), then asks for its gate
page 50 times: in the process (Flask's test client: the server's own time, no socket) and
over loopback HTTP. The target is under 200 ms of server time.

Usage: .venv/bin/python bench/gate_page.py [--findings 300] [--runs 50]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakehub import FakeHub  # noqa: E402
from tests.fakehub.model import FileChange  # noqa: E402
from tests.gate_e2e.gatehub import comment  # noqa: E402
from tests.pages.site import ADMIN_TOKEN, make_site  # noqa: E402

REPO = "octo/demo"


def _source(findings: int) -> str:
    body = "".join(f"    record['at{i}'] = datetime.now()\n" for i in range(findings))
    return f"from datetime import datetime\n\n\ndef stamp(record):\n{body}    return record\n"


def _stats(label: str, seconds: list[float]) -> None:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    print(f"{label:<28} median {statistics.median(ms):6.1f} ms   p95 {p95:6.1f} ms   max {ms[-1]:6.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--findings", type=int, default=300)
    parser.add_argument("--runs", type=int, default=50)
    args = parser.parse_args()
    with FakeHub() as hub, tempfile.TemporaryDirectory() as data:
        bot = make_site(hub, Path(data), analysis_isolation=False)
        try:
            hub.add_repo(REPO, installation_id=42)
            hub.set_file(REPO, "main", ".github/reviewgate.yml", "rules:\n  severity:\n    RG101: error\n")
            hub.add_collaborator(REPO, "bob", "write")
            hub.add_pull(REPO, 7, author="alice", files=[FileChange("app/stamps.py", before="", after=_source(args.findings))])
            bot.open_pull(REPO, 7)
            bot.wait(timeout=300)
            comment(bot, 7, "bob", "/gate waive RG101 displayed only, never stored")
            comment(bot, 7, "bob", "/gate recheck")
            bot.wait(timeout=300)
            url = f"/{REPO}/pull/7"
            headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
            client = bot._server.app.test_client()
            first = client.get(url, headers=headers)
            assert first.status_code == 200, first.status_code
            shown = first.get_data(as_text=True).count('class="finding ')
            print(f"gate page of {REPO}#7: {shown} findings listed, {len(first.get_data()) // 1024} KiB of HTML")
            inside = []
            for _ in range(args.runs):
                start = time.perf_counter()
                answer = client.get(url, headers=headers)
                answer.get_data()
                inside.append(time.perf_counter() - start)
            over_http = []
            with requests.Session() as session:
                for _ in range(args.runs):
                    start = time.perf_counter()
                    session.get(f"{bot.url}{url}", headers=headers, timeout=30).raise_for_status()
                    over_http.append(time.perf_counter() - start)
            _stats("server time (in process)", inside)
            _stats("over loopback HTTP", over_http)
        finally:
            bot.close()


if __name__ == "__main__":
    main()
