"""The feeder page in Debian's headless Chromium (`gbhan emulate --serve`, the default
scenario): started paused, stepped from the keyboard, run to its end at full speed from the
page; the load curve's samples and the SRV markers read off the page equal summary.json's.
The screenshot of the finished run is README.md's (docs/web-feeder.png is a copy)."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from browser_helpers import UNLABELLED, chromium, errors, live, shot
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait
from web_helpers import emulate_serve, stop_emulating

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

#: What the page shows, read as a person's eyes would meet it: the figures line's data, the
#: markers drawn on the chart, the samples' table, the chart's load line.
READ = """
const f = document.getElementById('figures').dataset;
return {
  samples: Number(f.samples), peak: Number(f.peak), minutesOver: Number(f.minutesOver),
  markers: [...document.querySelectorAll('#markers path')].map((m) => m.dataset.srv),
  failed: document.querySelectorAll('#markers path.m-bad').length,
  emergencies: document.querySelectorAll('#load-chart rect.emergency').length,
  declared: [...document.querySelectorAll('#emergencies li')].map((li) => li.textContent),
  rows: [...document.querySelectorAll('#points tbody td.kw')].map((td) => Number(td.textContent)),
  line: document.querySelector('#load-chart polyline.load').getAttribute('points').split(' ').length,
  checks: [...document.querySelectorAll('#checks li')].map((li) => li.textContent),
};
"""


def samples(driver) -> int:
    return int(driver.find_element(By.ID, "figures").get_attribute("data-samples") or 0)


def test_the_feeder_page_steps_runs_and_ends_showing_summary_json(tmp_path):
    running = emulate_serve(tmp_path / "out", "--paused")
    try:
        with chromium() as driver:
            driver.get(running.web_url + "feeder")
            WebDriverWait(driver, 30).until(lambda d: samples(d) == 1)
            live(driver)
            state = driver.find_element(By.ID, "run-state")
            assert state.get_attribute("data-state") == "paused"
            assert "sample 1" in state.text
            assert driver.execute_script(UNLABELLED) == []
            driver.find_element(By.ID, "run-step").send_keys(Keys.ENTER)  # the keyboard
            WebDriverWait(driver, 30).until(lambda d: samples(d) == 2)
            WebDriverWait(driver, 30).until(lambda d: "sample 2" in state.text)
            Select(driver.find_element(By.ID, "run-speed")).select_by_value("0")
            toggle = driver.find_element(By.ID, "run-toggle")
            assert toggle.text == "Run"
            toggle.send_keys(Keys.ENTER)
            WebDriverWait(driver, 240).until(
                lambda d: state.get_attribute("data-state") == "finished"
            )
            WebDriverWait(driver, 10).until(
                lambda d: d.find_elements(By.CSS_SELECTOR, "#checks li")
            )
            seen = driver.execute_script(READ)
            driver.execute_script("window.scrollTo(0, 0)")
            shot(driver, "feeder")
            assert errors(driver) == []
        summary = json.loads((running.out / "summary.json").read_text())
    finally:
        stop_emulating(running)
    expected_samples = round(summary["simulated_hours"] * 3600 / 30)  # the scenario's 30 s
    assert seen["samples"] == len(seen["rows"]) == seen["line"] == expected_samples
    assert seen["peak"] == max(seen["rows"]) == summary["feeder_peak_kw"]
    assert seen["minutesOver"] == summary["minutes_over_rating"]
    assert len(seen["markers"]) == summary["srv_count"]
    assert dict(Counter(seen["markers"])) == summary["srv_by_type"]
    assert seen["failed"] == summary["srv_failed"]
    assert seen["emergencies"] == len(seen["declared"]) == summary["interventions"] > 0
    assert all("declared at" in line for line in seen["declared"])
    assert len(seen["checks"]) >= 5 and all(c.startswith(("ok", "FAILED")) for c in seen["checks"])
