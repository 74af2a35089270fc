"""The gbhan HIL pytest plugin: one suite, any DUT, chosen on the command line.

Options: `--dut virtual|/dev/ttyACM0|serial:///dev/ttyACM0?baud=115200|socket://host:port`,
`--dut-console URL` (physical boards, else `?console=` on --dut or the rig file), `--rig FILE`
(the bench's wiring, hil/rigfile.py), `--power virtual|manual|usb-relay:///dev/ttyUSB1?...`,
`--role hcalcs|plcs`, `--dut-firmware DIR` (virtual: run another firmware tree),
`--hil-html FILE`, `--hil-json FILE`.
Fixtures: `dut`, `han`, `power`, `clock`, `latency`. Markers: `physical` (needs a real board:
skipped on the virtual one), `switching` (must record a command-to-relay latency).

The plugin is inert unless a test asks for its fixtures or a report option is given, so it is
safe to have it auto-loaded (entry point `pytest11`) in every pytest run.
"""

from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

import pytest

from .clock import DutClock
from .dut import open_dut
from .han import HanRig
from .latency import LatencyProbe
from .power import UsbRelayPower, open_power
from .report import Outcome, write_html, write_json
from .rigfile import ClockMode, locate

_RESULTS = pytest.StashKey[dict]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hil", "gbhan hardware-in-the-loop rig")
    group.addoption(
        "--dut", default=os.environ.get("GBHAN_DUT", "virtual"),
        help="the DUT's radio UART: 'virtual', a device path, serial:///dev/ttyACM0?baud=N, "
        "socket://host:port (default: virtual, or $GBHAN_DUT)",
    )  # fmt: skip
    group.addoption(
        "--dut-console",
        default=os.environ.get("GBHAN_DUT_CONSOLE"),
        help="the console of a physical DUT (same address forms; default: "
        "$GBHAN_DUT_CONSOLE, console= on --dut, or the rig file)",
    )
    group.addoption(
        "--rig",
        default=os.environ.get("GBHAN_RIG"),
        help="rig file naming the bench's ports (default: $GBHAN_RIG, or "
        ".gbhan-rig.toml in the working directory)",
    )
    group.addoption(
        "--power", default=os.environ.get("GBHAN_POWER"),
        help="virtual | manual | usb-relay:///dev/ttyUSB1?on=A00101A2&off=A00100A1 "
        "(default: virtual for the virtual DUT, else the rig file's, else manual)",
    )  # fmt: skip
    group.addoption(
        "--role",
        default=os.environ.get("GBHAN_ROLE", "hcalcs"),
        choices=("hcalcs", "plcs"),
        help="the switch role under test",
    )
    group.addoption(
        "--dut-firmware",
        default=None,
        help="virtual DUT: the folder holding the firmware/ tree to run",
    )
    group.addoption("--dut-heap", default="104K", help="virtual DUT: MicroPython heap")
    group.addoption("--hil-html", default=None, help="write the HTML report here")
    group.addoption("--hil-json", default=None, help="write the results document here")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "physical: needs a physical board (skipped on virtual)")
    config.addinivalue_line(
        "markers", "switching: switches the output by a HAN command; must record its latency"
    )
    config.stash[_RESULTS] = {"tests": [], "started": time.time()}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--dut") != "virtual":
        return
    skip = pytest.mark.skip(reason="needs a physical board (--dut is virtual)")
    for item in items:
        if item.get_closest_marker("physical"):
            item.add_marker(skip)


# -- the rig ----------------------------------------------------------------------------------


class Rig:
    """DUT, power and HAN for a session, built in that order and closed in reverse."""

    def __init__(self, config: pytest.Config, tmp: Path):
        self.config = config
        dut_url = config.getoption("--dut")
        cwd = config.invocation_params.dir
        rig = None if dut_url == "virtual" else locate(config.getoption("--rig"), cwd)
        self.dut = open_dut(
            dut_url,
            config.getoption("--role"),
            console_url=config.getoption("--dut-console"),
            rig=rig,
            rig_cwd=cwd,
            state_dir=tmp / "flash",
            heap=config.getoption("--dut-heap"),
            firmware=Path(firmware) if (firmware := config.getoption("--dut-firmware")) else None,
        )
        self.power = self.han = None
        self.power_spec = "?"
        try:
            bench = self.dut.wiring.board if self.dut.wiring else None
            power = config.getoption("--power") or (bench.power if bench else None)
            self.power = open_power(power, self.dut, self._ask)
            self.power_spec = power or self.power.name
            if self.dut.virtual or isinstance(self.power, UsbRelayPower):
                # a relay left open by an aborted run must close: switching it on is harmless
                self.power.on()
            else:
                try:
                    self.dut.wait_boot(3.0)
                    self.power.powered = True
                    self.dut.after_boot()
                except RuntimeError:
                    self.power.on()
            self.dut.check_role()
            self.han = HanRig(self.dut)
        except BaseException:
            self.close()
            raise

    def _ask(self, message: str) -> None:
        """Prompt the operator on the terminal, with pytest's capture out of the way."""
        capture = self.config.pluginmanager.getplugin("capturemanager")
        if not sys.stdin.isatty():
            raise RuntimeError(f"manual power needs an operator at a terminal: {message}")
        with capture.global_and_fixture_disabled():
            input(f"\n[gbhan hil] {message} ")

    def close(self) -> None:
        for part in (self.han, self.power, self.dut):
            if part is not None:
                part.close()


@pytest.fixture(scope="session")
def hil_rig(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    rig = Rig(request.config, tmp_path_factory.mktemp("hil"))
    request.config.stash[_RESULTS]["rig"] = rig
    yield rig
    rig.close()


@pytest.fixture
def dut(hil_rig):
    """The device under test (`hil.dut.Dut`); powered, booted, console watching outputs."""
    if not hil_rig.power.powered:  # an earlier test stopped while the board was off
        hil_rig.power.on()
    else:  # or while the board was resetting itself
        hil_rig.dut.rehook_if_reset()
    return hil_rig.dut


@pytest.fixture
def power(hil_rig, dut):
    """The DUT's power driver: `off()` cuts the supply at once, `on()` restores and boots."""
    return hil_rig.power


@pytest.fixture
def han(hil_rig, dut):
    """The HAN around the DUT: hub, commissioned meter (`han.esme`), `han.stranger`."""
    return hil_rig.han


@pytest.fixture
def clock(dut, han):
    """Simulated time on the virtual board, the wall clock on a physical one; the rig's
    meter answers the board's Time cluster reads from it."""
    board_clock = DutClock(dut, simulated=dut.clock_mode == ClockMode.SIMULATED)
    han.time_source = board_clock.now
    yield board_clock
    han.time_source = lambda: int(time.time())
    board_clock.close()


@pytest.fixture
def latency(dut, han, record_property):
    """Send switching commands and record their command-to-relay latency."""
    return LatencyProbe(dut, han, record_property)


# -- results and reports ----------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if call.when == "call" and report.passed and item.get_closest_marker("switching"):
        if not any(name.startswith("latency.") for name, _ in item.user_properties):
            report.outcome = "failed"
            report.longrepr = (
                "switching test recorded no command-to-relay latency (use the `latency` fixture)"
            )
    if report.failed and "dut" in getattr(item, "fixturenames", ()):
        # (fixturenames, not funcargs: a setup that fails has not filled funcargs yet)
        rig = item.config.stash[_RESULTS].get("rig")
        if rig is not None:
            report.sections.append(("DUT event log (last 30 entries)", _log_excerpt(rig)))
            report.sections.append(
                ("DUT console transcript (tail)", "\n".join(list(rig.dut.console.transcript)[-40:]))
            )
    return report


def _log_excerpt(rig) -> str:
    board = rig.dut.board
    if board is not None and not board.alive():
        return "(the virtual board is not running: powered off or crashed)"
    return rig.dut.log_excerpt(30)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    config = getattr(report, "config", None) or _CONFIG.get("config")
    if config is None:
        return
    results = config.stash[_RESULTS]
    if (
        report.when == "call"
        or (report.when == "setup" and not report.passed)
        or (report.when == "teardown" and report.failed)
    ):
        outcome = Outcome(report.outcome)
        if report.when != "call" and report.failed:
            outcome = Outcome.ERROR
        message = summary = ""
        if report.failed:
            message = report.longreprtext
            crash = getattr(report.longrepr, "reprcrash", None)
            summary = crash.message if crash is not None else message.strip().splitlines()[-1]
        elif report.skipped and isinstance(report.longrepr, tuple):
            message = str(report.longrepr[2])
        results["tests"].append(
            {
                "nodeid": report.nodeid,
                "outcome": outcome,
                "duration": report.duration,
                "message": message,
                "summary": summary,
                "sections": [[t, s] for t, s in report.sections if t.startswith("DUT ")],
                "properties": [[k, v] for k, v in report.user_properties],
            }
        )


_CONFIG: dict = {}


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    _CONFIG["config"] = session.config


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    html_path, json_path = config.getoption("--hil-html"), config.getoption("--hil-json")
    if not (html_path or json_path):
        return
    stash = config.stash[_RESULTS]
    rig = stash.get("rig")
    meta = {
        "dut": config.getoption("--dut"),
        "role": config.getoption("--role"),
        "power": rig.power_spec if rig else config.getoption("--power") or "?",
        "clock": rig.dut.clock_mode if rig else "?",
        "firmware": config.getoption("--dut-firmware") or "installed tree",
    }
    if rig and rig.dut.wiring:
        wiring = rig.dut.wiring
        meta.update(radio=wiring.radio.url, console=wiring.console.url,
                    console_from=wiring.source)  # fmt: skip
    meta |= {
        "host": platform.node(),
        "python": platform.python_version(),
        "duration_s": round(time.time() - stash["started"], 2),
        "exit_status": int(exitstatus),
    }
    results = {"meta": meta, "tests": stash["tests"]}
    if json_path:
        write_json(Path(json_path), results)
    if html_path:
        write_html(Path(html_path), results)
