"""Headless Chromium (Debian's `chromium` and `chromium-driver`) through Selenium, one browser
for the whole run. `make test` installs both when missing; without them the tests fail."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.service import Service

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "var" / "screenshots"
DESKTOP = (1100, 900)
PHONE = (390, 844)
# As root Chromium needs --no-sandbox; the rest keep a closed network quiet (no update,
# sync or QUIC probes) and the profile fresh.
FLAGS = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--hide-scrollbars",
)

T = TypeVar("T")


def _find(*names: str) -> str | None:
    for name in names:
        found = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[webdriver.Chrome]:
    binary = _find("chromium", "chromium-browser")
    driver_path = _find("chromedriver")
    if binary is None or driver_path is None:
        pytest.fail("headless Chromium is missing: apt-get install chromium chromium-driver (make test does)")
    profile = tempfile.mkdtemp(prefix="reviewgate-chromium-")
    downloads = tempfile.mkdtemp(prefix="reviewgate-downloads-")
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={DESKTOP[0]},{DESKTOP[1]}")
    options.add_experimental_option("prefs", {
        "download.default_directory": downloads, "download.prompt_for_download": False,
    })
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})
    driver.downloads = Path(downloads)  # type: ignore[attr-defined]
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)
        shutil.rmtree(downloads, ignore_errors=True)


@pytest.fixture
def chromium(browser: webdriver.Chrome) -> webdriver.Chrome:
    """The shared browser, signed out and at desktop size."""
    browser.delete_all_cookies()
    browser.set_window_size(*DESKTOP)
    for old in browser.downloads.iterdir():  # type: ignore[attr-defined]
        old.unlink()
    return browser


def screenshot(driver: webdriver.Chrome, name: str, size: tuple[int, int] = DESKTOP, *, whole: bool = True) -> Path:
    """The page at `size` (the whole page at that width unless `whole` is False), into
    var/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    driver.set_window_size(size[0], size[1])
    if whole:
        height = int(driver.execute_script("return document.documentElement.scrollHeight"))
        driver.set_window_size(size[0], max(size[1], min(height + 120, 6000)))
    path = SCREENSHOTS / f"{name}.png"
    driver.save_screenshot(str(path))
    driver.set_window_size(*size)
    return path


def wait_for(check: Callable[[], T | None], timeout: float = 20.0) -> T:
    """Until `check()` is truthy. An element read while the browser replaces the page (after a
    click that submits a form) may be gone by the time it is read: that is "not yet"."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            found = check()
        except (StaleElementReferenceException, NoSuchElementException):
            found = None
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError("gave up waiting")
