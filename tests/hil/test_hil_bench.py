"""The physical path, for real over ptys: `gbhan hil run --dut serial://<radio pty> --power
usb-relay://<relay pty>` against the bench emulator (hil.bench: the firmware on the unix port
behind ptys, powered through an emulated USB relay board that SIGKILLs it on `off`).

The console comes from the bench's `.gbhan-rig.toml` in the working directory, so the command
line has only --dut and --power, as on a configured bench. The rig goes through its serial
channels and its usb-relay driver, not the virtual DUT. The whole suite runs (one role:
hcalcs, the default): the emulated board's clock stops once set, which its rig file says
(`clock = "simulated"`), so no test waits out a DRLC minute.
"""

from __future__ import annotations

import re

import pytest
from hil_helpers import junit_cases

from hil.bench import BenchEmulator
from tools import hil_cmd

#: The suite's tests that cut the board's supply once each.
CUTTING = ("test_power_cut_during_a_burst_of_", "test_mains_loss_and_return",
           "test_board_and_console_come_back_after_a_power_cycle",
           "test_the_board_reads_the_meters_time_after_power_up",
           "test_the_radio_is_checked_at_boot", "test_a_radio_in_transparent_mode",
           "test_a_silent_radio_is_reported")  # fmt: skip

#: The suite's tests a board behind serial ports skips, and why: only the virtual board's
#: flash counts its erases.
PHYSICAL_SKIPS = {"test_flash_erases_per_command_and_per_rejected_frame": "cannot count its flash"}


# a whole run of the switch suite through the bench: each runs in a fixture, which the per-test timeout (120 s) would cut short on
# a loaded 2-core machine (the suite's radio and watchdog tests wait on real timers)
pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("bench")
    with pytest.MonkeyPatch.context() as patch, BenchEmulator("hcalcs", work / "board") as bench:
        patch.chdir(work)
        for name in ("GBHAN_DUT_CONSOLE", "GBHAN_RIG", "GBHAN_POWER", "GBHAN_ROLE"):
            patch.delenv(name, raising=False)
        (work / ".gbhan-rig.toml").write_text(bench.rig_file_text())
        argv = ["hil", "run", "--dut", f"serial://{bench.radio_path}",
                "--power", bench.power_url(settle=0.1)]  # fmt: skip
        code = hil_cmd.main(argv)
        events = list(bench.events)
    out = work / "gbhan-out" / "hil"  # the default reports, in the caller's directory
    return (
        code,
        junit_cases(out / "switch-hcalcs.xml"),
        (out / "switch-hcalcs.html").read_text(),
        events,
        bench,
    )


def test_suite_passes_through_the_serial_channels_and_the_relay(bench_run):
    code, cases, html, _events, _bench = bench_run
    skipped = {n: c["message"] for n, c in cases.items() if c["outcome"] == "skipped"}
    assert {n: why for n, why in PHYSICAL_SKIPS.items() if why in skipped.get(n, "")} == (
        PHYSICAL_SKIPS
    ), skipped
    failed = {
        n: c["message"][-400:]
        for n, c in cases.items()
        if c["outcome"] != "passed" and n not in PHYSICAL_SKIPS
    }
    assert code == 0 and not failed, failed
    assert len(cases) >= 30
    # the physical-only test runs here: the virtual DUT skips it
    assert cases["test_board_and_console_come_back_after_a_power_cycle"]["outcome"] == "passed"
    assert "<span id='verdict'>PASSED</span>" in html


def test_the_relay_really_cut_the_board_once_per_power_cut(bench_run):
    _code, cases, _html, events, _bench = bench_run
    cutting = [n for n in cases if n.startswith(CUTTING)]
    assert len(cutting) == 11 and all(cases[n]["outcome"] == "passed" for n in cutting)
    assert not [e for e in events if e[0] == "noise"], events
    kinds = [kind for kind, _ in events]
    # switched on at the start, then off/on per cut: every off found the board running
    assert kinds == ["on"] + ["off", "on"] * len(cutting), kinds
    assert [detail for kind, detail in events if kind == "off"] == [-9] * len(cutting)
    pids = [detail for kind, detail in events if kind == "on"]
    assert None not in pids and len(set(pids)) == len(pids)  # a fresh process each time
    for name in cutting:
        values = dict(cases[name]["properties"])
        if name.startswith("test_power_cut_during"):
            assert int(values["power_cut.acked_before_cut"]) < int(values["power_cut.planned"])


def test_report_says_which_ports_and_where_the_console_came_from(bench_run):
    _code, _cases, html, _events, bench = bench_run
    meta = dict(re.findall(r"<tr><th>(\w+)</th><td>([^<]*)</td></tr>", html))
    assert meta["dut"] == f"serial://{bench.radio_path}"
    assert (meta["radio"], meta["console"]) == (bench.radio_path, bench.console_path)
    assert (
        meta["console_from"].startswith("rig file ") and ".gbhan-rig.toml" in meta["console_from"]
    )
    assert meta["power"].startswith(f"usb-relay://{bench.relay_path}?")
    assert meta["clock"] == "simulated"
