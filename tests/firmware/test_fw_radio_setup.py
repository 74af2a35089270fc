"""The radio bring-up on the virtual board (firmware/lib/radio_setup.py): at boot the switch
reads the XBee's settings with local AT commands, sets what differs and saves once, finds a
factory-fresh radio in transparent mode at 9600 baud with "+++", and reports a silent radio on
the console, counted, without going on as if joined.

The radio is the tests' `Meter` (a joined XBee in API mode that answers AT frames) or the
emulator's `XBeeStandIn` (which also plays transparent and command mode, and hears only at its
BD rate: the unix board sets the pty's termios speed as it would a UART's).
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from fw_constants import ESME
from fw_oracle import Meter, frames_in

from emulator.clock import Clock
from emulator.han.medium import Medium
from emulator.han.xbee_standin import GB_SETTINGS, XBeeStandIn

TIME = 0x000A
SPEC = "AP=2 AO=1 EE=1 EO=2 ZS=2"
FACTORY = {"AP": 0, "AO": 0, "EE": 0, "EO": 0, "ZS": 0, "BD": 3}  # Digi's defaults


def radio_lines_until(board, predicate, timeout: float):
    """The board's `radio:` console lines, once one satisfies `predicate`."""
    deadline = time.monotonic() + timeout
    while not any(predicate(line) for line in board.radio_lines):
        if time.monotonic() > deadline:
            raise AssertionError(f"no such radio line; got {board.radio_lines}")
        board.command("ping wait")  # reads the console, collecting radio lines
        time.sleep(0.2)
    return board.radio_lines


def test_a_radio_that_is_right_gets_no_writes(make_board):
    board = make_board("hcalcs")
    meter = Meter(board, ESME)
    frames = meter.until(lambda f: f["cluster"] == TIME, timeout=10.0)
    assert frames  # the app went on: it asked the meter for the time
    reads = [command for command, parameter in meter.at_log if not parameter]
    writes = [command for command, parameter in meter.at_log if parameter]
    assert reads[:5] == ["AP", "AO", "EE", "EO", "ZS"]
    assert writes == [] and "WR" not in reads  # nothing to set: no flash wear on the radio
    assert radio_lines_until(board, lambda line: line.startswith("radio: ok"), 5.0) == [
        f"radio: ok {SPEC}"
    ]
    assert board.command("radio") == "radio state=ok silent=0 refused=0"


def test_settings_that_differ_are_set_saved_once_and_read_again(make_board):
    board = make_board("plcs", power_on=False)
    meter = Meter(board, ESME)
    meter.radio.update(AO=0, EE=0, EO=0, ZS=0)  # in API mode, nothing else set up
    board.power_on()
    meter.until(lambda f: f["cluster"] == TIME, timeout=15.0)
    assert meter.at_log[:20] == [
        ("AP", b""),  # the check every boot makes, all at once: AO and more are wrong,
        ("AO", b""),  # so radio_setup takes over, one setting at a time
        ("EE", b""),
        ("EO", b""),
        ("ZS", b""),
        ("AP", b""),
        ("AO", b""),
        ("AO", b"\x01"),
        ("EE", b""),
        ("EE", b"\x01"),
        ("EO", b""),
        ("EO", b"\x02"),
        ("ZS", b""),
        ("ZS", b"\x02"),
        ("WR", b""),  # one save for all four
        ("AP", b""),
        ("AO", b""),
        ("EE", b""),
        ("EO", b""),
        ("ZS", b""),
    ]
    assert meter.radio == {"AP": 2, "AO": 1, "EE": 1, "EO": 2, "ZS": 2, "AI": 0}
    lines = radio_lines_until(board, lambda line: line.startswith("radio: ok"), 5.0)
    assert lines == [
        "radio: AO=0 -> set AO=1",
        "radio: EE=0 -> set EE=1",
        "radio: EO=0 -> set EO=2",
        "radio: ZS=0 -> set ZS=2",
        "radio: right now; restarting without the setup",  # then boots the normal way
        f"radio: ok {SPEC}",
    ]
    assert any(line.endswith("radio set AO EE EO ZS") for line in board.log(20))  # flushed


def test_a_silent_radio_never_stops_the_board(make_board):
    """The first report of a silent radio, within seconds: the board stays up and answers,
    counts, and sends no ZCL frame. (Had it no memory to load radio_setup, it says so.)"""
    board = make_board("hcalcs")
    heard = b""
    lines = []
    deadline = time.monotonic() + 15.0
    while not lines:
        heard += board.read_radio(0.2)  # nobody answers
        board.command("ping wait")
        lines = [line for line in board.radio_lines if "retry in" in line]
        assert time.monotonic() < deadline, board.radio_lines
    if lines[0] == (
        "radio: no answer to AT (check wiring, API mode; no memory to look for it in command"
        " mode); retry in 5 s"
    ):
        assert board.command("radio") == "radio state=wait silent=1 refused=0"
    else:
        assert lines[0].startswith("radio: no answer on uart at 115200/9600 baud"), lines
    assert {frame[0] for frame in frames_in(heard)} == {0x08}  # no ZCL frame went out
    assert board.command("ping alive") == "pong alive"


@pytest.mark.slow
def test_a_silent_radio_is_reported_counted_and_nothing_goes_out_as_if_joined(make_board):
    board = make_board("hcalcs")
    heard = b""
    deadline = time.monotonic() + 30.0
    while not any("no answer on uart" in line for line in board.radio_lines):
        heard += board.read_radio(0.2)  # nobody answers
        board.command("ping wait")
        assert time.monotonic() < deadline, board.radio_lines
    assert board.radio_lines[-1] == (
        "radio: no answer on uart at 115200/9600 baud (check wiring, API mode); retry in 5 s"
    )
    assert board.command("radio") == "radio state=quiet silent=1 refused=0"
    sent = frames_in(heard)
    assert sent and {frame[0] for frame in sent} == {0x08}  # AT commands, not one ZCL frame
    assert b"+++" in heard  # it looked for a radio in transparent mode too
    assert board.state()["source"] == "failsafe"
    assert any(line.endswith("radio quiet") for line in board.log(10))
    # The radio comes to life: the next try finds it, and only then does the app go on.
    meter = Meter(board, ESME)
    meter.until(lambda f: f["cluster"] == TIME, timeout=20.0)
    # (after a restart: the count was in RAM, the log's "radio quiet" is on flash)
    assert board.command("radio") == "radio state=ok silent=0 refused=0"
    assert board.command("boot") == "boot reset_cause=soft watchdog_resets=0"
    assert any(line.endswith("radio quiet") for line in board.log(10))


class StandInRadio:
    """The emulator's XBee stand-in on the board's radio pty, on an event loop of its own."""

    def __init__(self, board, **kw):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

        async def build():
            medium = Medium(Clock(mode="wall"), seed=3)
            radio = XBeeStandIn("00:13:a2:00:41:7e:11:13", bytes(16), medium, [], **kw)
            radio.attach_fd(board.radio_fd)
            return radio

        self.radio = asyncio.run_coroutine_threadsafe(build(), self.loop).result(5)

    def close(self):
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("settings", "found"),
    [
        (
            FACTORY,
            [
                "radio: AP=0 -> set AP=2 (command mode, 9600 baud)",
                "radio: BD=3 -> set BD=7 (command mode, 9600 baud)",
                "radio: AO=0 -> set AO=1",
                "radio: EE=0 -> set EE=1",
                "radio: EO=0 -> set EO=2",
                "radio: ZS=0 -> set ZS=2",
            ],
        ),
        ({"AP": 0}, ["radio: AP=0 -> set AP=2 (command mode, 115200 baud)"]),
    ],
    ids=["factory-fresh-9600", "transparent-115200"],
)
def test_a_radio_in_transparent_mode_is_found_set_and_used(make_board, settings, found):
    board = make_board("hcalcs", power_on=False)
    board.power_on()
    radio = StandInRadio(board, settings=settings)
    try:
        lines = radio_lines_until(board, lambda line: line.startswith("radio: ok"), 40.0)
        stand_in = radio.radio
        assert lines == [
            *found,
            "radio: right now; restarting without the setup",
            f"radio: ok {SPEC}",
        ]
        assert board.command("boot") == "boot reset_cause=soft watchdog_resets=0"
        assert stand_in.stats["command_mode_entered"] == 1
        # one save in command mode, one in API mode if anything was left to set there
        assert stand_in.stats["nv_writes"] == (2 if len(found) > 1 else 1)
        assert stand_in.settings == GB_SETTINGS and stand_in.saved == GB_SETTINGS
        # then used: the app's start-up requests (Time, scheduled events) reach the radio
        deadline = time.monotonic() + 5.0
        while stand_in.stats["tx_requests"] < 2:
            assert time.monotonic() < deadline, dict(stand_in.stats)
            time.sleep(0.05)
        assert board.command("radio") == "radio state=ok silent=0 refused=0"
        # the API probe was no command to it: payload to send, or noise at another baud
        assert stand_in.stats["transparent_bytes"] + stand_in.stats["from_board_wrong_baud"] > 0
    finally:
        radio.close()


def test_a_board_that_set_its_radio_up_restarts_and_then_has_the_memory_of_a_fresh_boot(
    make_board,
):
    """Loading and dropping radio_setup left the 104 KB heap fragmented: a later label write
    (a 640-byte commit) failed with MemoryError until the next boot. So after a setup that
    changed the radio the board resets itself (the virtual board starts it again, as a real
    board's machine.reset() does) and boots on the resident path."""
    board = make_board("hcalcs", power_on=False)
    meter = Meter(board, ESME)
    meter.radio.update(AO=0, EE=0, EO=0, ZS=0)
    board.power_on()
    meter.until(lambda f: f["cluster"] == TIME, timeout=20.0)
    lines = radio_lines_until(board, lambda line: line.startswith("radio: ok"), 10.0)
    assert lines[-2:] == ["radio: right now; restarting without the setup", f"radio: ok {SPEC}"]
    assert board.command("boot") == "boot reset_cause=soft watchdog_resets=0"
    assert meter.radio == {"AP": 2, "AO": 1, "EE": 1, "EO": 2, "ZS": 2, "AI": 0}
    for label in ("heat pump", "storage heater", "electric vehicle charger"):
        assert board.command(f"label {label}") == f"ok label {label.title()}"
    assert not any("MemoryError" in entry for entry in board.log(20))
