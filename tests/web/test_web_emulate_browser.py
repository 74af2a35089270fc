"""The whole console of `gbhan emulate --serve` in Debian's headless Chromium: beside the
feeder page, the premises and DUIS log pages over the scenario's own DSP (the default
scenario, on the same port). A premises page opened before the run shows a switch open once
the DNO has curtailed it (live, not reloaded); once the run ends the log lists one 7.6 request
and one response per 7.6 of summary.json, and a response opens with its XML signature and the
ESME's GBCS signature verified. Screenshots: emulate-premises.png, emulate-log.png."""

from __future__ import annotations

import json

import pytest
from browser_helpers import UNLABELLED, chromium, errors, live, shot
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait
from web_helpers import emulate_serve, stop_emulating

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

NAV = "return [...document.querySelectorAll('nav a')].map((a) => a.textContent);"
#: the switches the premises page shows open: (premises, slot)
OPEN = """
return [...document.querySelectorAll('td.relay[data-relay="open"]')].map((td) =>
  [td.closest('section.premises').dataset.name, Number(td.closest('tr').dataset.slot)]);
"""
SHOW_OPEN = """
document.querySelector('td.relay[data-relay="open"]').closest('section.premises').scrollIntoView();
"""
#: the log's rows as shown (filters applied): seq, the document cell, device, outcome
ROWS = """
return [...document.querySelectorAll('#log tbody tr')].filter((r) => !r.hidden).map((r) => ({
  seq: Number(r.dataset.seq), document: r.cells[2].textContent, device: r.cells[4].textContent,
  srv: r.cells[5].textContent, outcome: r.dataset.outcome}));
"""


def test_a_served_run_shows_its_curtailed_switch_open_and_its_7_6s_verified_in_the_log(
    tmp_path,
):
    running = emulate_serve(tmp_path / "out", "--paused")
    try:
        with chromium() as driver:
            driver.get(running.web_url + "feeder")
            live(driver, 30)
            feeder_nav = driver.execute_script(NAV)
            link = driver.find_element(By.CSS_SELECTOR, 'nav a[href="/premises"]')
            link.send_keys(Keys.ENTER)  # to the premises page by keyboard, from the nav
            WebDriverWait(driver, 60).until(
                lambda d: d.find_elements(By.CSS_SELECTOR, "section.premises td.relay")
            )
            live(driver, 30)
            premises_nav = driver.execute_script(NAV)
            unlabelled = driver.execute_script(UNLABELLED)
            open_before = driver.execute_script(OPEN)
            cards = len(driver.find_elements(By.CSS_SELECTOR, "section.premises"))
            assert running.control({"action": "speed", "speed": 600})[0] == 200
            assert running.control({"action": "run"})[0] == 200
            WebDriverWait(driver, 150).until(lambda d: d.execute_script(OPEN))
            running.control({"action": "pause"})
            open_seen = driver.execute_script(OPEN)
            driver.execute_script(SHOW_OPEN)
            shot(driver, "emulate-premises")
            premises_errors = errors(driver)
            assert running.control({"action": "speed", "speed": 0})[0] == 200
            assert running.control({"action": "run"})[0] == 200
            last = running.until(lambda s: s["finished"] is not None, 240)

            driver.get(running.web_url + "log")
            WebDriverWait(driver, 30).until(
                lambda d: d.find_elements(By.CSS_SELECTOR, "#log tbody tr")
            )
            live(driver, 30)
            log_nav = driver.execute_script(NAV)
            Select(driver.find_element(By.ID, "f-srv")).select_by_value("7.6")
            rows = driver.execute_script(ROWS)
            response = next(r for r in rows if r["document"].startswith("response"))
            button = driver.find_element(By.CSS_SELECTOR, f"#entry-{response['seq']} button.open")
            button.send_keys(Keys.ENTER)
            detail = driver.find_element(By.ID, "detail")
            WebDriverWait(driver, 30).until(
                lambda d: detail.get_attribute("data-seq") == str(response["seq"])
            )
            verdicts = {
                (v.get_attribute("data-check"), v.get_attribute("data-status"))
                for v in detail.find_elements(By.CSS_SELECTOR, ".verdict")
            }
            shot(driver, "emulate-log")
            log_errors = errors(driver)
        summary = json.loads((running.out / "summary.json").read_text())
        premises = {p["name"]: p for p in running.get("web/api/premises")["premises"]}
    finally:
        stop_emulating(running)

    assert feeder_nav == premises_nav == log_nav == ["Feeder", "Premises", "DUIS log"]
    assert unlabelled == [] and premises_errors == [] and log_errors == []
    assert cards == summary["han"]["premises_on_han"] and open_before == []
    # the switch open is one the DNO curtailed with a 7.6 its ESME answered, in the log
    curtailed = {(s["premises"], s["slot"]) for s in last["srvs"] if s["srv"] == "7.6"}
    assert open_seen and {tuple(pair) for pair in open_seen} <= curtailed
    name = open_seen[0][0]
    esme = premises[name]["live"]["meter"]["eui"]
    assert any(r["device"] == esme and r["document"].startswith("response") for r in rows)
    # one 7.6 request to serviceT (then its variant 5 to serviceS) and one response per 7.6
    count = summary["srv_by_type"]["7.6"]
    failed = sum(1 for s in last["srvs"] if s["srv"] == "7.6" and not s["ok"])
    kinds = [r["document"] for r in rows]
    assert {r["srv"] for r in rows} == {"7.6"}
    assert kinds.count("request to serviceT") == kinds.count("request to serviceS") == count
    assert kinds.count("response to dno") == count - failed > 0
    assert ("xml-signature", "verified") in verdicts and ("signature", "verified") in verdicts
    assert not any(status == "failed" for _check, status in verdicts)
