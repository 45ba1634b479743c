"""The pages in a real browser (headless Chromium): sign in with GitHub (fakehub), follow the
check run's Details link to a blocked pull request's page and read it, also on a phone-sized
screen; press Retry on a failed evaluation and see it run; download the audit as CSV.
Screenshots go to var/screenshots/ on every run."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.common.by import By

from bot.store.db import GateVerdict
from tests.bot.harness import Bot
from tests.gate_e2e.test_rendering import HOSTILE
from tests.pages.browser import PHONE, screenshot, wait_for
from tests.pages.site import REPO, blocked_pull

HOSTILE_REASON = "checked by hand <img src=x onerror=alert(1)> " + HOSTILE[3]


def _text(driver: webdriver.Chrome, css: str) -> list[str]:
    return [e.text for e in driver.find_elements(By.CSS_SELECTOR, css)]


def _no_alert(driver: webdriver.Chrome) -> bool:
    try:
        driver.switch_to.alert  # noqa: B018
    except NoAlertPresentException:
        return True
    return False


def test_sign_in_from_the_check_runs_link_and_read_the_blocked_page(site: Bot, chromium: webdriver.Chrome) -> None:
    head = blocked_pull(site, reason=HOSTILE_REASON)
    site.hub.browser_user = "bob"
    details = site.latest_run(REPO, head)["details_url"]

    chromium.get(details)  # signed out: to GitHub's authorize page and straight back
    wait_for(lambda: chromium.current_url == details)
    heading = chromium.find_element(By.TAG_NAME, "h1").text
    assert heading.startswith("✗") and f"Blocked: needs 1 peer approval on {head[:7]}" in heading
    unmet = _text(chromium, ".conditions li.unmet")
    assert any("error finding on the changed lines not waived (RG101)" in c and "/gate waive RG101 <reason>" in c
               for c in unmet)
    assert any("Not on hold" in c for c in _text(chromium, ".conditions li.met"))
    snippets = _text(chromium, ".finding pre")
    assert any('record["at"] = datetime.now()' in s for s in snippets)
    link = chromium.find_element(By.PARTIAL_LINK_TEXT, "RG101 naive-now").get_attribute("href")
    assert link is not None and link.endswith("#rg101-naive-now")
    (waiver,) = _text(chromium, ".waivers li")
    assert "RG201 by bob" in waiver and HOSTILE_REASON in waiver  # shown as text, never run
    assert not chromium.find_elements(By.CSS_SELECTOR, "main img") and _no_alert(chromium)
    assert "Signed in as bob" in chromium.find_element(By.TAG_NAME, "header").text
    screenshot(chromium, "gate-page")
    screenshot(chromium, "gate-page-top", (900, 760), whole=False)

    # A phone: nothing wider than the screen but the code, which scrolls inside its box.
    chromium.set_window_size(*PHONE)
    chromium.refresh()
    overflow = chromium.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    screenshot(chromium, "gate-page-phone", PHONE)


def test_retry_a_failed_evaluation_from_status(site: Bot, chromium: webdriver.Chrome) -> None:
    site.hub.add_repo(REPO, installation_id=42)
    site.hub.add_org_member("octo", "olga", "admin")
    site.hub.add_pull(REPO, 7, author="alice", files=[])
    site.hub.fail("GET", rf"^/repos/{REPO}/pulls/7$", 502, times=None)
    assert site.open_pull(REPO, 7).status_code == 202
    site.wait()
    site.hub.browser_user = "olga"

    chromium.get(f"{site.url}/status")
    wait_for(lambda: chromium.current_url == f"{site.url}/status")
    row = chromium.find_element(By.XPATH, f"//tr[td/a[text()='{REPO}#7']]")
    assert "failed" in row.text and "502" in row.text
    screenshot(chromium, "status")

    site.hub.clear_faults()
    row.find_element(By.TAG_NAME, "button").click()
    wait_for(lambda: "Queued again" in chromium.find_element(By.TAG_NAME, "main").text)
    site.wait()
    with site.runtime.db.session() as session:
        verdict = session.get(GateVerdict, (REPO, 7))
        assert verdict is not None and verdict.trigger == "retry" and verdict.title.startswith("Blocked: needs 1 peer")
    chromium.get(f"{site.url}/status")
    assert not chromium.find_elements(By.XPATH, f"//tr[td/a[text()='{REPO}#7']]")


def test_download_the_audit_as_csv(site: Bot, chromium: webdriver.Chrome) -> None:
    blocked_pull(site, reason="=1+1 a formula is shown, not run")
    site.hub.browser_user = "olga"
    chromium.get(f"{site.url}/status")
    wait_for(lambda: chromium.current_url == f"{site.url}/status")
    chromium.find_element(By.ID, "repo").send_keys(REPO)
    chromium.find_element(By.XPATH, "//button[text()='Download CSV']").click()
    folder: Path = chromium.downloads  # type: ignore[attr-defined]
    done = wait_for(lambda: [p for p in folder.glob("*.csv")])
    rows = list(csv.DictReader(io.StringIO(done[0].read_text())))
    assert [(r["kind"], r["actor"], r["repo"]) for r in rows] == [("waiver", "bob", REPO), ("command", "bob", REPO)]
    assert rows[0]["reason"] == "'=1+1 a formula is shown, not run"
