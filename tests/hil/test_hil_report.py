"""The HTML report from a results document (a file of the plugin's format): verdict, tests,
failure sections, latency table and histogram."""

from __future__ import annotations

import json
import re

from hil_helpers import VECTORS

from hil import report


def _results() -> dict:
    return json.loads((VECTORS / "results_failed.json").read_text())


def test_failed_run_renders_verdict_failures_and_event_log():
    html = report.render(_results())
    assert "<span id='verdict'>FAILED</span>" in html
    assert html.count("<tr class='test ") == 3
    failure = html.split("<h2>Failures</h2>", 1)[1]
    assert "<b>AssertionError: relay stayed closed</b>" in failure
    assert "log 7 1800000000 transition relay=closed" in failure
    assert "&lt;script&gt;" in html and "<script>" not in html  # test output is escaped


def test_latency_table_and_histogram_hold_every_sample():
    results = _results()
    html = report.render(results)
    samples = report.latency_values(results, "command_to_output_us")
    assert len(samples) == 4
    row = re.search(r"<tr><td>command_to_output_us</td><td>(\d+)</td><td>([\d.]+)</td>", html)
    assert row.group(1) == "4" and float(row.group(2)) == sorted(samples)[2]  # p50
    bars = re.findall(r"<title>[^<]*: (\d+)</title>", html)
    assert sum(map(int, bars)) == 4


def test_no_samples_and_one_sample_do_not_break_the_histogram():
    assert "No samples" in report.histogram_svg([], "µs")
    svg = report.histogram_svg([250.0], "µs")
    assert sum(map(int, re.findall(r"<title>[^<]*: (\d+)</title>", svg))) == 1
