"""The console in a real browser: Debian's headless Chromium driven by Selenium through
chromedriver, against `gbhan dsp serve` as a process. Each page loads with no console errors
and every form control labelled; a 7.6 sent from the launcher opens the switch on a premises
page that was already open (live, not reloaded) within the 30 s target; its response opens in
the log with its signature verified; refused requests (wrong role, spoilt signature) show
their code and rule. Screenshots go to build/test-artefacts/web/ (or $GBHAN_ARTEFACTS/web/;
browser_helpers.py).
"""

from __future__ import annotations

import re
import time

import pytest
from browser_helpers import UNLABELLED, chromium, errors, live, shot
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait
from web_helpers import DNO, ESME, SUPPLIER, TEMPLATE_7_5, TEMPLATE_7_6, TEMPLATE_7_8

TARGET_S = 30.0  # the SRV response-time target (mission)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]


@pytest.fixture(scope="module")
def browser():
    with chromium() as driver:
        yield driver


READY = {
    "premises": (By.CSS_SELECTOR, "section.premises td.relay"),
    "log": (By.CSS_SELECTOR, "#log tbody tr"),
    "launcher": (By.CSS_SELECTOR, "#l-fields input[data-path]"),
}


ISO_SECONDS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


@pytest.mark.parametrize("page", ["premises", "log", "launcher"])
def test_each_page_loads_live_with_no_console_errors_and_labelled_controls(page, served, browser):
    # a request first, so the log has rows to show
    served.send("POST", "web/api/send", {"template": TEMPLATE_7_8, "user": DNO})
    browser.get_log("browser")  # drop what came before
    browser.get(served.web_url + page)
    WebDriverWait(browser, 20).until(ec.presence_of_element_located(READY[page]))
    live(browser)
    assert browser.execute_script(UNLABELLED) == []
    assert browser.find_element(By.CSS_SELECTOR, 'nav a[aria-current="page"]').text
    if page == "premises":  # the DSP's clock, which the page runs on at the DSP's speed
        clock = browser.find_element(By.ID, "dsp-clock")
        WebDriverWait(browser, 10).until(lambda d: ISO_SECONDS.fullmatch(clock.text))
        first = clock.get_attribute("datetime")
        WebDriverWait(browser, 5).until(lambda d: clock.get_attribute("datetime") > first)
        assert browser.find_element(By.ID, "dsp-speed").text == "(real time)"
    shot(browser, page)
    assert errors(browser) == []


def send_from_launcher(driver, served, template: str, user: str, *, tamper: str = "none",
                       fields: dict[str, str] | None = None) -> str:  # fmt: skip
    """Fill the launcher's form as a person would and send; the request id it reports."""
    driver.get(served.web_url + "launcher")
    WebDriverWait(driver, 20).until(ec.presence_of_element_located(READY["launcher"]))
    live(driver)
    Select(driver.find_element(By.ID, "l-template")).select_by_value(template)
    WebDriverWait(driver, 10).until(
        lambda d: (
            d.find_element(By.ID, "l-user").get_attribute("value") != ""
            and d.find_elements(By.CSS_SELECTOR, "#l-fields input, #l-fields p")
        )
    )
    time.sleep(0.3)  # the template's fields replace the last one's
    Select(driver.find_element(By.ID, "l-user")).select_by_value(user)
    Select(driver.find_element(By.ID, "l-target")).select_by_value(ESME)
    Select(driver.find_element(By.ID, "l-tamper")).select_by_value(tamper)
    for path, value in (fields or {}).items():
        box = driver.find_element(By.CSS_SELECTOR, f'#l-fields input[data-path="{path}"]')
        box.clear()
        box.send_keys(value)
    send = driver.find_element(By.ID, "l-send")
    send.send_keys(Keys.ENTER)  # the keyboard, not a click: the form works without a mouse
    status = driver.find_element(By.ID, "l-status")
    WebDriverWait(driver, 30).until(lambda d: status.get_attribute("data-request-id"))
    return status.get_attribute("data-request-id")


def relay(driver, slot: int) -> str | None:
    """The slot's relay as the live table shows it; read again if the table was redrawn
    between finding the cell and reading it (a live update)."""
    for _ in range(5):
        cells = driver.find_elements(By.CSS_SELECTOR, f'tr[data-slot="{slot}"] td.relay')
        try:
            return cells[0].get_attribute("data-relay") if cells else None
        except StaleElementReferenceException:
            continue
    return None


def test_a_7_6_from_the_launcher_opens_the_switch_live_then_its_response_verifies(served, browser):
    _status, reset = served.send("POST", "web/api/send", {"template": TEMPLATE_7_8, "user": DNO})
    served.log_for(reset["request_id"], "response")
    browser.get(served.web_url + "premises")
    WebDriverWait(browser, 20).until(lambda d: relay(d, 3) == "closed")
    live(browser)
    premises_tab = browser.current_window_handle
    browser.switch_to.new_window("tab")
    sent_at = time.monotonic()
    request_id = send_from_launcher(browser, served, TEMPLATE_7_6, DNO,
                                    fields={"0.0": "45"})  # fmt: skip
    launcher_tab = browser.current_window_handle
    browser.switch_to.window(premises_tab)
    WebDriverWait(browser, TARGET_S).until(lambda d: relay(d, 3) == "open")
    opened_s = time.monotonic() - sent_at
    assert opened_s < TARGET_S
    assert relay(browser, 1) == "closed"  # only the slot the 7.6 named
    shot(browser, "premises-after-7.6")
    assert errors(browser) == []

    browser.switch_to.window(launcher_tab)
    response = WebDriverWait(browser, TARGET_S).until(
        ec.presence_of_element_located(
            (By.CSS_SELECTOR, '#l-trace tr[data-code="I0"][data-direction="response"] a')
        )  # fmt: skip
    )
    codes = [r.get_attribute("data-code")
             for r in browser.find_elements(By.CSS_SELECTOR, "#l-trace tbody tr")]  # fmt: skip
    assert codes == ["I0", "I99", "I0"], codes
    assert request_id.startswith(DNO)
    shot(browser, "launcher-7.6-answered")
    response.send_keys(Keys.ENTER)  # follow it into the log
    WebDriverWait(browser, 30).until(ec.presence_of_element_located(
        (By.CSS_SELECTOR, '#detail .gbcs li[data-check="signature"]')))  # fmt: skip
    signature = browser.find_element(By.CSS_SELECTOR, '#detail .gbcs li[data-check="signature"]')
    assert signature.get_attribute("data-status") == "verified", signature.text
    xml = browser.find_element(By.CSS_SELECTOR, '#detail [data-check="xml-signature"]')
    assert xml.get_attribute("data-status") == "verified"
    assert "ECS47" in browser.find_element(By.CSS_SELECTOR, "#detail .gbcs h4").text
    shot(browser, "log-7.6-response")
    assert errors(browser) == []
    browser.close()
    browser.switch_to.window(premises_tab)


@pytest.mark.parametrize(
    "template, user, tamper, code, rule",
    [(TEMPLATE_7_5, DNO, "none", "E2", "role ED may not send SRV 7.5"),
     (TEMPLATE_7_6, SUPPLIER, "signature", "E41", "signature does not verify")],
    ids=["wrong-role", "bad-signature"],
)  # fmt: skip
def test_a_refused_request_shows_its_code_and_rule(served, browser, template, user, tamper,
                                                   code, rule):  # fmt: skip
    send_from_launcher(browser, served, template, user, tamper=tamper)
    row = WebDriverWait(browser, 20).until(ec.presence_of_element_located(
        (By.CSS_SELECTOR, f'#l-trace tr[data-code="{code}"]')))  # fmt: skip
    assert rule in row.find_element(By.CSS_SELECTOR, ".reason").text
    assert rule in browser.find_element(By.ID, "l-status").text
    row.find_element(By.TAG_NAME, "a").send_keys(Keys.ENTER)
    refusal = WebDriverWait(browser, 20).until(ec.presence_of_element_located((By.ID, "refusal")))
    assert code in refusal.text and rule in refusal.text
    # the log lists it as refused under the filters a person would pick
    Select(browser.find_element(By.ID, "f-outcome")).select_by_value("refused")
    shown = [r for r in browser.find_elements(By.CSS_SELECTOR, "#log tbody tr") if r.is_displayed()]
    assert shown and all(r.get_attribute("data-outcome") == "refused" for r in shown)
    shot(browser, f"log-refused-{code}")
    assert errors(browser) == []
