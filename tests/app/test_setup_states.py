"""The manifest flow's `state`: a callback with a state this server did not hand to this browser
within the hour, or one used already, is refused (400) before the code is sent to GitHub."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests

from bot.store import setup_states
from bot.store.db import Database, SetupState, utcnow
from tests.app.setup_flow import read_page, register_on_github
from tests.bot.harness import Bot, make_app
from tests.fakehub import FakeHub

CONVERSIONS = r"^/app-manifests/.*/conversions$"


@pytest.fixture
def unconfigured(fakehub: FakeHub, tmp_path: Path) -> Iterator[Bot]:
    """The app as a fresh checkout runs it: a webhook secret, no App."""
    bot = make_app(
        fakehub, tmp_path / "var", app_id=None, private_key=None, webhook_secret="made-up-by-make-run",
        github_url=fakehub.url,
    )
    bot.runtime.env_file = tmp_path / ".env"
    bot.runtime.env_file.write_text("REVIEWGATE_WEBHOOK_SECRET=made-up-by-make-run\n")
    try:
        yield bot
    finally:
        bot.close()


def _callback(bot: Bot, browser: requests.Session, back: str) -> requests.Response:
    """Follow GitHub's redirect (to the public URL) to this app's callback."""
    path_and_query = back.split("/setup/callback", 1)[1]
    return browser.get(f"{bot.url}/setup/callback{path_and_query}", timeout=30)


def test_a_forged_state_is_refused_and_the_code_is_not_sent(unconfigured: Bot) -> None:
    browser = requests.Session()
    _action, _manifest, back = register_on_github(browser, f"{unconfigured.url}/setup?token={unconfigured.settings.setup_token()}")
    code = back.split("code=")[1].split("&")[0]
    forged = browser.get(f"{unconfigured.url}/setup/callback?code={code}&state=" + "A" * 43, timeout=10)
    assert forged.status_code == 400
    missing = browser.get(f"{unconfigured.url}/setup/callback?code={code}", timeout=10)
    assert missing.status_code == 400
    assert unconfigured.hub.requests_to("POST", CONVERSIONS) == []
    assert unconfigured.runtime.settings.app_id is None
    assert not (unconfigured.runtime.env_file.read_text()).count("REVIEWGATE_APP_ID")


def test_a_state_works_once(unconfigured: Bot) -> None:
    hub = unconfigured.hub
    browser = requests.Session()
    _action, _manifest, back = register_on_github(browser, f"{unconfigured.url}/setup?token={unconfigured.settings.setup_token()}")
    spent = back.replace("code=", "code=deadbeef")  # GitHub does not know this code
    assert _callback(unconfigured, browser, spent).status_code == 502
    assert len(hub.requests_to("POST", CONVERSIONS)) == 1
    again = _callback(unconfigured, browser, back)  # the right code, the same state
    assert again.status_code == 400
    assert len(hub.requests_to("POST", CONVERSIONS)) == 1
    assert unconfigured.runtime.settings.app_id is None


def test_a_state_from_another_browser_is_refused(unconfigured: Bot) -> None:
    _action, _manifest, back = register_on_github(requests.Session(), f"{unconfigured.url}/setup?token={unconfigured.settings.setup_token()}")
    assert _callback(unconfigured, requests.Session(), back).status_code == 400
    assert unconfigured.hub.requests_to("POST", CONVERSIONS) == []


def test_an_organisation_registers_on_its_page_and_names_are_escaped(unconfigured: Bot) -> None:
    browser = requests.Session()
    action, _manifest, back = register_on_github(browser, f"{unconfigured.url}/setup?token={unconfigured.settings.setup_token()}&org=octo-org")
    assert action.startswith(f"{unconfigured.hub.url}/organizations/octo-org/settings/apps/new?state=")
    assert _callback(unconfigured, browser, back).status_code == 200
    assert unconfigured.hub.registered_manifests[0]["_org"] == "octo-org"
    assert unconfigured.runtime.settings.app_id == unconfigured.hub.app_id


def test_a_bad_organisation_name_is_refused_unreflected(unconfigured: Bot) -> None:
    page = requests.get(f"{unconfigured.url}/setup?token={unconfigured.settings.setup_token()}", params={"org": '"><script>alert(1)</script>'}, timeout=10)
    assert page.status_code == 400
    assert "<script>" not in page.text and "alert(1)" not in page.text


def test_the_setup_page_works_without_script(unconfigured: Bot) -> None:
    page = requests.get(f"{unconfigured.url}/setup?token={unconfigured.settings.setup_token()}", timeout=10)
    assert "<script" not in page.text.lower()
    assert "script-src" not in page.headers["Content-Security-Policy"]  # default-src 'none' covers it
    assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")
    posts = [f for f in read_page(page.text).forms if f["method"] == "post"]
    assert len(posts) == 1 and "manifest" in posts[0]["inputs"]
    cookie = page.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/setup" in cookie


def test_once_configured_setup_answers_404(fakehub: FakeHub, tmp_path: Path) -> None:
    bot = make_app(fakehub, tmp_path)
    try:
        assert requests.get(f"{bot.url}/setup", timeout=10).status_code == 404
        assert requests.get(f"{bot.url}/setup/callback?code=x&state=y", timeout=10).status_code == 404
    finally:
        bot.close()


def test_a_state_expires_after_an_hour_and_is_single_use(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'states.db'}")
    nonce = "n" * 43
    old = setup_states.issue(db, nonce, now=utcnow() - timedelta(hours=1, seconds=1))
    assert not setup_states.consume(db, old, nonce)
    fresh = setup_states.issue(db, nonce)
    assert not setup_states.consume(db, fresh, "m" * 43)  # another browser's cookie
    assert setup_states.consume(db, fresh, nonce)
    assert not setup_states.consume(db, fresh, nonce)
    db.dispose()


def test_the_states_kept_are_bounded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """/setup answers anyone while no App is set: asking again and again keeps a bounded table."""
    monkeypatch.setattr(setup_states, "MAX_LIVE", 3)
    db = Database(f"sqlite:///{tmp_path / 'states.db'}")
    nonce = "n" * 43
    states = [setup_states.issue(db, nonce) for _ in range(10)]
    with db.session() as session:
        assert session.query(SetupState).count() == 3
    assert not setup_states.consume(db, states[0], nonce)
    assert setup_states.consume(db, states[-1], nonce)
    db.dispose()
