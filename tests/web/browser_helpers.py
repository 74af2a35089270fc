"""Debian's headless Chromium through Selenium and chromedriver, for the browser tests:
the driver, screenshots as test artefacts, the browser console's errors, unlabelled controls."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait
from web_helpers import REPO

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
# the machine's network is closed: without these Chromium waits on refused connections
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--window-size=1400,1000")  # fmt: skip
ARTEFACTS = Path(os.environ.get("GBHAN_ARTEFACTS", REPO / "build" / "test-artefacts")) / "web"


@contextmanager
def chromium() -> Iterator[webdriver.Chrome]:
    """A fresh headless Chromium (its own profile), its console's messages kept."""
    for tool in (CHROMIUM, CHROMEDRIVER):  # a missing tool is a failure, not a skip
        assert tool.exists(), f"{tool} missing: apt-get install chromium chromium-driver"
    profile = tempfile.mkdtemp(prefix="gbhan-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def shot(driver, name: str) -> Path:
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTEFACTS / f"{name}.png"
    driver.save_screenshot(str(path))
    return path


def errors(driver) -> list[dict]:
    return [e for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def live(driver, timeout: float = 15) -> None:
    WebDriverWait(driver, timeout).until(
        lambda d: d.find_element(By.ID, "stream").get_attribute("data-state") == "live"
    )


UNLABELLED = """
return [...document.querySelectorAll('input, select, textarea')].filter((c) =>
  !c.getAttribute('aria-label') && !(c.id && document.querySelector(`label[for="${c.id}"]`))
).map((c) => c.outerHTML);
"""
