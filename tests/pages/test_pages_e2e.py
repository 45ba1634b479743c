"""What the pages say, over real HTTP against fakehub: the gate page of a blocked pull request,
hostile text from every user-controlled field shown as text on every page, the audit export
(streamed, filtered, spreadsheet-safe) and a failed evaluation retried from /status."""

from __future__ import annotations

import csv
import io

import requests

from bot.store.db import GateVerdict
from tests.bot.harness import Bot
from tests.gate_e2e.gatehub import comment, review
from tests.gate_e2e.test_rendering import HOSTILE
from tests.pages.site import (
    ADMIN_TOKEN,
    REPO,
    assert_accessible,
    assert_only_our_markup,
    blocked_pull,
    csrf_of,
    sign_in,
)

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
HOSTILE_PATH = "app/<img src=x onerror=alert(1)>[x](javascript:alert(1)).py"


def test_the_gate_page_says_what_blocks_and_what_unblocks_it(site: Bot) -> None:
    head = blocked_pull(site)
    comment(site, 7, "alice", "/gate waive RG101 mine")  # refused: the author
    site.hub.add_collaborator(REPO, "rita", "read")
    review(site, 7, "rita")
    site.wait()
    page = sign_in(site, "bob").get(f"{site.url}/{REPO}/pull/7", timeout=30)
    text = assert_only_our_markup(page.text)
    assert_accessible(page.text)
    assert f"Blocked: needs 1 peer approval on {head[:7]}" in text
    # Every condition, met or not, and the command that unblocks an unmet one.
    assert f"Not met: 1 peer approval of the latest commit {head[:7]}: none yet To unblock:" in text
    assert "comments /gate waive RG101 <reason>" in text
    assert "Met: Not on hold" in text
    # Each reviewer's latest review and why it does not count.
    assert f"rita approved {head[:7]} ✗ not counted has read permission, write needed" in text
    # The finding with its line of code and its rule's documentation.
    assert 'record["at"] = datetime.now()' in text
    assert "#rg101-naive-now" in page.text
    # The waiver: who, why, what it covers; the command history in order.
    assert "RG201 by bob" in text and "the caller retries" in text and "covers 1 finding now" in text
    assert text.index("/gate waive RG201 the caller retries") < text.index("/gate waive RG101 mine")
    assert "refused: @alice, the author of a pull request may not waive" in text


def test_hostile_text_shows_as_text_on_every_page(site: Bot) -> None:
    reason = " ; ".join(HOSTILE) + " ; \u202ereversed"
    blocked_pull(site, path=HOSTILE_PATH, reason=reason)
    comment(site, 7, "bob", "/gate hold " + HOSTILE[2] + " " + HOSTILE[3])
    site.wait()
    with site.runtime.db.session() as session:  # a failure reason quoting GitHub, shown on /status
        session.merge(GateVerdict(repo=REPO, number=8, installation_id=42, head_sha=None, conclusion="error",
                                  title="x", data="{}", error="<script>alert(2)</script>", trigger="t"))
    olga = sign_in(site, "olga")
    gate = olga.get(f"{site.url}/{REPO}/pull/7", timeout=30)
    status = olga.get(f"{site.url}/status", timeout=30)
    for page in (gate, status):
        assert page.status_code == 200
        assert "Content-Security-Policy" in page.headers and "script-src" not in page.headers["Content-Security-Policy"]
    gate_text = assert_only_our_markup(gate.text)
    status_text = assert_only_our_markup(status.text)
    assert HOSTILE_PATH in gate_text
    assert "\u202e" not in gate.text and "\ufffdreversed" in gate_text  # no direction override
    for hostile in HOSTILE:
        assert " ".join(hostile.split()) in gate_text, hostile
    assert "<script>alert(2)</script>" in status_text
    exported = requests.get(f"{site.url}/audit.json", headers=ADMIN, timeout=30)
    assert exported.headers["Content-Type"].startswith("application/json")
    assert any(row["reason"] == reason for row in exported.json())


def test_the_audit_export_streams_waivers_and_commands_filtered_and_spreadsheet_safe(site: Bot) -> None:
    blocked_pull(site, reason="=HYPERLINK(\"https://evil.example\") checked by hand")
    site.hub.add_repo("other/repo", installation_id=43)
    site.hub.add_collaborator("other/repo", "bob", "write")
    site.hub.add_pull("other/repo", 1, author="alice", files=[])
    comment(site, 1, "bob", "/gate hold elsewhere", repo="other/repo")
    site.wait()

    rows = requests.get(f"{site.url}/audit.json", headers=ADMIN, timeout=30).json()
    assert {(r["kind"], r["repo"]) for r in rows} == {("waiver", REPO), ("command", REPO), ("command", "other/repo")}
    only = requests.get(f"{site.url}/audit.json", params={"repo": REPO}, headers=ADMIN, timeout=30).json()
    assert {r["repo"] for r in only} == {REPO}
    later = requests.get(f"{site.url}/audit.json", params={"since": "2999-01-01"}, headers=ADMIN, timeout=30).json()
    assert later == []
    bad = requests.get(f"{site.url}/audit.json", params={"since": "yesterday"}, headers=ADMIN, timeout=30)
    assert bad.status_code == 400

    answer = requests.get(f"{site.url}/audit.csv", headers=ADMIN, stream=True, timeout=30)
    assert answer.headers.get("Transfer-Encoding") == "chunked" or "Content-Length" not in answer.headers
    table = list(csv.DictReader(io.StringIO(answer.content.decode())))
    waiver = next(r for r in table if r["kind"] == "waiver")
    assert waiver["reason"].startswith("'=HYPERLINK(")  # a spreadsheet shows it, never runs it
    assert waiver["actor"] == "bob" and waiver["outcome"] == "active"

    # An admin of octo sees octo's audit only.
    olga = sign_in(site, "olga")
    assert {r["repo"] for r in olga.get(f"{site.url}/audit.json", timeout=30).json()} == {REPO}
    assert olga.get(f"{site.url}/audit.json", params={"repo": "other/repo"}, timeout=30).status_code == 404


def test_a_failed_evaluation_is_listed_on_status_and_retried_from_there(site: Bot) -> None:
    site.stop()
    site.hub.add_repo(REPO, installation_id=42)
    site.hub.add_org_member("octo", "olga", "admin")
    site.hub.add_pull(REPO, 7, author="alice", files=[])
    site.hub.fail("GET", rf"^/repos/{REPO}/pulls/7$", 500, times=None)
    assert site.open_pull(REPO, 7).status_code == 202
    site.wait()
    olga = sign_in(site, "olga")
    status = olga.get(f"{site.url}/status", timeout=30)
    assert f"{REPO}#7" in status.text and "failed" in status.text and "Retry" in status.text
    assert_accessible(status.text)

    site.hub.clear_faults()
    done = olga.post(f"{site.url}/status/retry", data={"repo": REPO, "number": "7", "csrf": csrf_of(status.text)},
                     timeout=30)
    assert done.status_code == 200 and f"Queued again: {REPO}#7" in done.text
    site.wait()
    with site.runtime.db.session() as session:
        verdict = session.get(GateVerdict, (REPO, 7))
        assert verdict is not None and verdict.conclusion != "error" and verdict.trigger == "retry"
    again = olga.get(f"{site.url}/status", timeout=30)
    assert f"{REPO}#7" not in again.text


def test_retry_queues_an_evaluation_whose_job_the_queue_lost(site: Bot) -> None:
    site.stop()
    site.hub.add_repo(REPO, installation_id=42)
    site.hub.add_org_member("octo", "olga", "admin")
    site.hub.add_pull(REPO, 7, author="alice", files=[])
    assert site.open_pull(REPO, 7).status_code == 202
    site.queue.huey.flush()  # the queued job is gone; the database still says it waits
    olga = sign_in(site, "olga")
    status = olga.get(f"{site.url}/status", timeout=30)
    assert f"{REPO}#7" in status.text and "owed" in status.text
    olga.post(f"{site.url}/status/retry", data={"repo": REPO, "number": "7", "csrf": csrf_of(status.text)}, timeout=30)
    site.wait()
    assert site.latest_run(REPO, site.hub.pull(REPO, 7).head_sha)["status"] == "completed"
