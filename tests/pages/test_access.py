"""Who sees what, over real HTTP: sign-in through GitHub's OAuth web flow (fakehub), 404 for a
repository the user may not read, admins only on /status and the export, CSRF on every POST."""

from __future__ import annotations

from pathlib import Path

import requests

from tests.bot.harness import Bot
from tests.fakehub import FakeHub
from tests.pages.site import ADMIN_TOKEN, REPO, blocked_pull, csrf_of, make_site, sign_in


def test_the_check_runs_details_link_is_the_gate_page(site: Bot) -> None:
    head = blocked_pull(site)
    run = site.latest_run(REPO, head)
    assert run["details_url"] == f"{site.url}/{REPO}/pull/7"


def test_a_reader_of_the_repository_sees_its_gate_page_and_others_get_404(site: Bot) -> None:
    blocked_pull(site)
    site.hub.add_user("carol")  # no access to the private octo/demo

    anonymous = requests.get(f"{site.url}/{REPO}/pull/7", allow_redirects=False, timeout=30)
    assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/login?")

    bob = sign_in(site, "bob", f"/{REPO}/pull/7")
    page = bob.get(f"{site.url}/{REPO}/pull/7", timeout=30)
    assert page.status_code == 200
    assert "Blocked: needs 1 peer approval" in page.text
    # No secret reaches the browser: not the App's, not the user's GitHub token.
    user_tokens = list(site.hub._user_tokens)
    assert user_tokens
    cookie = bob.cookies.get("reviewgate_session") or ""
    for secret in (*user_tokens, site.hub.client_secret, site.hub.webhook_secret, ADMIN_TOKEN):
        assert secret not in page.text and secret not in cookie

    carol = sign_in(site, "carol")
    hidden = carol.get(f"{site.url}/{REPO}/pull/7", timeout=30)
    missing = carol.get(f"{site.url}/octo/nothing-here/pull/7", timeout=30)
    unknown_pull = bob.get(f"{site.url}/{REPO}/pull/8", timeout=30)
    assert hidden.status_code == missing.status_code == unknown_pull.status_code == 404
    assert hidden.text == missing.text  # nothing tells a hidden repository from a missing one

    # GitHub is asked once per user and repository, then the answer is reused.
    asked = len(site.hub.requests_to("GET", rf"^/repos/{REPO}$"))
    carol.get(f"{site.url}/{REPO}/pull/7", timeout=30)
    assert len(site.hub.requests_to("GET", rf"^/repos/{REPO}$")) == asked


def test_status_and_audit_need_an_admin_of_the_account_or_the_admin_token(site: Bot) -> None:
    blocked_pull(site)
    bob = sign_in(site, "bob")  # a writer, not an admin of octo
    assert bob.get(f"{site.url}/status", timeout=30).status_code == 403
    assert bob.get(f"{site.url}/audit.csv", timeout=30).status_code == 403
    olga = sign_in(site, "olga")  # admin of the octo organisation
    status = olga.get(f"{site.url}/status", timeout=30)
    assert status.status_code == 200
    assert "Verdict latency, from a delivery to the verdict that answered it: the slowest per hour, last 24 hours; at most" in status.text
    assert olga.get(f"{site.url}/audit.json", timeout=30).status_code == 200
    scripted = requests.get(f"{site.url}/audit.json", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}, timeout=30)
    assert scripted.status_code == 200
    # A user account's own user administers its installation.
    site.hub.add_repo("alice/tool", installation_id=44)
    site.hub.add_pull("alice/tool", 1, author="alice", files=[])
    assert site.open_pull("alice/tool", 1).status_code == 202
    site.wait()
    alice = sign_in(site, "alice")
    assert alice.get(f"{site.url}/status", timeout=30).status_code == 200
    assert {r["repo"] for r in alice.get(f"{site.url}/audit.json", timeout=30).json()} <= {"alice/tool"}
    wrong = requests.get(f"{site.url}/audit.json", headers={"Authorization": "Bearer guess"}, timeout=30)
    assert wrong.status_code == 401


def test_a_post_without_the_sessions_csrf_token_is_refused(site: Bot) -> None:
    blocked_pull(site)
    olga = sign_in(site, "olga")
    token = csrf_of(olga.get(f"{site.url}/status", timeout=30).text)
    form = {"repo": REPO, "number": "7"}
    assert olga.post(f"{site.url}/status/retry", data=form, allow_redirects=False, timeout=30).status_code == 400
    forged = {**form, "csrf": token[:-2] + "xx"}
    assert olga.post(f"{site.url}/status/retry", data=forged, allow_redirects=False, timeout=30).status_code == 400
    # Another signed-in user's token is no good either: it belongs to their session.
    other = sign_in(site, "olga")
    theirs = csrf_of(other.get(f"{site.url}/status", timeout=30).text)
    assert olga.post(f"{site.url}/status/retry", data={**form, "csrf": theirs}, allow_redirects=False,
                     timeout=30).status_code == 400
    assert olga.post(f"{site.url}/logout", allow_redirects=False, timeout=30).status_code == 400
    done = olga.post(f"{site.url}/status/retry", data={**form, "csrf": token}, allow_redirects=False, timeout=30)
    assert done.status_code == 303


def test_a_sign_in_code_is_good_once_and_the_state_must_match(site: Bot) -> None:
    site.hub.browser_user = "bob"
    session = requests.Session()
    first = session.get(f"{site.url}/login", allow_redirects=False, timeout=30)
    authorize = session.get(first.headers["Location"], allow_redirects=False, timeout=30)
    callback = authorize.headers["Location"]
    forged = session.get(callback.replace("state=", "state=x"), allow_redirects=False, timeout=30)
    assert forged.status_code == 400
    # The state was used up by the refused attempt; a fresh sign-in works.
    assert sign_in(site, "bob").get(f"{site.url}/login/done", timeout=30).status_code == 200


def test_a_user_token_github_no_longer_accepts_signs_the_user_out(fakehub: FakeHub, tmp_path: Path) -> None:
    site = make_site(fakehub, tmp_path, access_cache_seconds=0)
    try:
        blocked_pull(site)
        bob = sign_in(site, "bob")
        assert bob.get(f"{site.url}/{REPO}/pull/7", timeout=30).status_code == 200
        fakehub.revoke_user_tokens()  # expired after GitHub's eight hours, or revoked by bob
        again = bob.get(f"{site.url}/{REPO}/pull/7", allow_redirects=False, timeout=30)
        assert again.status_code == 302 and again.headers["Location"].startswith("/login?")
    finally:
        site.close()


def test_the_session_cookie_is_httponly_samesite_lax_and_secure_behind_https(fakehub: FakeHub, tmp_path: Path) -> None:
    for public_url, secure in (("https://gate.example", True), ("http://localhost:3000", False)):
        site = make_site(fakehub, tmp_path / public_url.split(":")[0], public_url=public_url)
        try:
            app = site._server.app
            answer = app.test_client().get("/login", base_url=public_url)
            cookie = answer.headers["Set-Cookie"]
            assert cookie.startswith("reviewgate_session=") and "HttpOnly" in cookie and "SameSite=Lax" in cookie
            assert ("Secure" in cookie) == secure
        finally:
            site.close()
