"""`gbhan hil run --dut virtual`: the switch suite passes for both roles and writes JUnit and
HTML reports with the measurements; with a deliberately broken firmware (a timed on that
never times out) it fails, and the report says which test, why, and what the board logged."""

from __future__ import annotations

import re
import shutil

import pytest
from hil_helpers import REPO, junit_cases

from tools import hil_cmd

SWITCHING_MODULES = ("test_switching",)
SWITCHING_TESTS = (
    "test_event_log_records_commands_and_refusals",
    "test_power_cut_during_a_burst_of_commands",
)
TIMED_LINE = "until = 0 if on_time in (0, 0xFFFF) else now + (on_time + 9) // 10"

# three whole runs of the switch suite on virtual boards: each runs in a fixture, which the per-test timeout (120 s) would cut short on
# a loaded 2-core machine (the suite's radio and watchdog tests wait on real timers)
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def _run(tmp_path_factory, role: str, firmware=None):
    out = tmp_path_factory.mktemp(f"hil-{role}")
    junit, html = out / "report.xml", out / "report.html"
    code = hil_cmd.main(
        [
            "hil",
            "run",
            "--dut",
            "virtual",
            "--role",
            role,
            "--junit",
            str(junit),
            "--html",
            str(html),
        ]
        + (["--firmware", str(firmware)] if firmware else [])
    )
    return code, junit_cases(junit), html.read_text()


@pytest.fixture(scope="module", params=["hcalcs", "plcs"])
def good_run(request, tmp_path_factory):
    return request.param, *_run(tmp_path_factory, request.param)


@pytest.fixture(scope="module")
def broken_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("broken")
    shutil.copytree(
        REPO / "firmware", root / "firmware", ignore=shutil.ignore_patterns("__pycache__")
    )
    app = root / "firmware" / "switch" / "app.py"
    source = app.read_text()
    assert TIMED_LINE in source, "the firmware changed: update the deliberate break"
    app.write_text(source.replace(TIMED_LINE, "until = 0  # BROKEN: the timed on never ends"))
    return _run(tmp_path_factory, "hcalcs", firmware=root)


def test_suite_passes_on_the_virtual_board(good_run):
    role, code, cases, html = good_run
    assert code == 0, [n for n, c in cases.items() if c["outcome"] == "failed"]
    outcomes = {c["outcome"] for c in cases.values()}
    assert outcomes == {"passed", "skipped"}
    skipped = [n for n, c in cases.items() if c["outcome"] == "skipped"]
    assert skipped == ["test_board_and_console_come_back_after_a_power_cycle"]  # physical only
    assert len(cases) >= 30


def test_every_switching_test_measured_its_latency(good_run):
    role, _code, cases, _html = good_run
    switching = [
        n
        for n in cases
        if n.split("[")[0] in SWITCHING_TESTS
        or n.startswith(
            ("test_on_off", "test_timed", "test_drlc", "test_reset", "test_levels", "test_boost")
        )
    ]
    assert len(switching) >= 10
    for name in switching:
        props = cases[name]["properties"]
        output = [float(v) for k, v in props if k == "latency.command_to_output_us"]
        firmware = [float(v) for k, v in props if k == "latency.command_to_relay_fw_us"]
        answer = [float(v) for k, v in props if k == "latency.command_to_answer_ms"]
        assert output and len(output) == len(firmware) == len(answer), (name, props)
        # the firmware drives its relay before the rig can read the console line about it
        assert all(0 < f < o for f, o in zip(firmware, output, strict=True)), (name, props)
        assert all(a < 30_000 for a in answer)


def test_power_cuts_were_sigkills_in_the_middle_of_the_burst(good_run):
    _role, _code, cases, _html = good_run
    cuts = [c["properties"] for n, c in cases.items() if n.startswith("test_power_cut_during")]
    assert len(cuts) == 5
    for props in cuts:
        values = dict(props)
        assert values["power_cut.exit_code"] == "-9"
        assert int(values["power_cut.acked_before_cut"]) < int(values["power_cut.planned"])


def test_html_report_has_results_measurements_and_histogram(good_run):
    role, _code, cases, html = good_run
    assert "<span id='verdict'>PASSED</span>" in html
    assert f"<tr><th>role</th><td>{role}</td></tr>" in html
    assert len(re.findall(r"<tr class='test ", html)) == len(cases)
    latency_rows = re.findall(r"<tr><td>(command_to_\w+)</td><td>(\d+)</td>", html)
    assert {name for name, _ in latency_rows} == {
        "command_to_output_us",
        "command_to_relay_fw_us",
        "command_to_answer_ms",
    }
    samples = sum(
        1 for c in cases.values() for k, _ in c["properties"] if k == "latency.command_to_output_us"
    )
    assert dict(latency_rows)["command_to_output_us"] == str(samples)
    bars = re.findall(r"<rect class=\"bar\"[^>]*><title>[^<]*: (\d+)</title>", html)
    assert sum(int(n) for n in bars) == samples  # the histogram holds every sample
    assert "Failures" not in html


def test_broken_firmware_fails_the_suite_with_a_readable_report(broken_run):
    code, cases, html = broken_run
    assert code == 1
    failed = [n for n, c in cases.items() if c["outcome"] == "failed"]
    assert failed == ["test_timed_on_expires_back_to_the_calendar"]
    message = cases[failed[0]]["message"]
    assert "should be back on its calendar" in message
    assert "'source': 'remote'" in message  # what the switch showed instead
    assert "<span id='verdict'>FAILED</span>" in html
    failure = html.split("<h2>Failures</h2>", 1)[1]
    assert "test_timed_on_expires_back_to_the_calendar" in failure
    summary = re.search(r"<p class='summary'><b>([^<]*)</b>", failure).group(1)
    assert summary.startswith("AssertionError: 6 s after a 5 s timed on, the switch should be")
    assert "DUT event log (last 30 entries)" in failure
    assert "cause=on-off timed-on" in failure  # the board's own account of the command
    assert "remote-expired" not in failure
