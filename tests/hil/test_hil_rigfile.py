"""A physical DUT's two ports: from --dut-console, `?console=` on --dut, or the bench's rig
file, so a configured bench needs only --dut and --power; when the console cannot be found
the error says what is missing and where the rig looked."""

from __future__ import annotations

import os
import select
import time
import tty

import pytest

from hil import rigfile
from hil.dut import DutError, open_dut
from hil.rigfile import RigError, wire
from tools import hil_cmd

BENCH = """
[[board]]
name = "rp2-a"
radio = "/dev/ttyUSB0"
console = "serial:///dev/ttyACM0?baud=115200"
power = "usb-relay:///dev/ttyUSB1"

[[board]]
name = "esp32-b"
radio = "socket://rig:4001"
console = "socket://rig:4002"
clock = "simulated"
"""


@pytest.fixture
def bench(tmp_path):
    path = tmp_path / rigfile.RIG_FILE_NAME
    path.write_text(BENCH)
    return path


@pytest.fixture(autouse=True)
def _no_bench_environment(monkeypatch):
    for name in ("GBHAN_DUT_CONSOLE", "GBHAN_RIG"):
        monkeypatch.delenv(name, raising=False)


def test_rig_file_gives_the_console_of_the_named_radio_port(bench):
    wiring = wire("serial:///dev/ttyUSB0", None, bench)
    assert (wiring.radio.url, wiring.console.url) == ("/dev/ttyUSB0", "/dev/ttyACM0")
    assert wiring.board.name == "rp2-a" and wiring.board.power == "usb-relay:///dev/ttyUSB1"
    assert wiring.source == f"rig file {bench} (rp2-a)"
    wiring = wire("socket://rig:4001", None, bench)
    assert (wiring.console.url, wiring.board.clock) == ("socket://rig:4002", "simulated")


def test_dut_may_name_the_boards_console_port(bench):
    """The issue's `--dut serial:///dev/ttyACM0`: the board's USB serial names the board."""
    wiring = wire("serial:///dev/ttyACM0", None, bench)
    assert (wiring.radio.url, wiring.console.url) == ("/dev/ttyUSB0", "/dev/ttyACM0")


def test_a_link_to_the_port_is_the_same_port(tmp_path):
    """/dev/serial/by-id/... links in the rig file, /dev/ttyACM0 on the command line."""
    master, slave = os.openpty()
    try:
        link = tmp_path / "usb-MicroPython_Board-if00"
        link.symlink_to(os.ttyname(slave))
        path = tmp_path / "rig.toml"
        path.write_text(f'[[board]]\nradio = "/dev/ttyUSB7"\nconsole = "{link}"\n')
        assert wire(os.ttyname(slave), None, path).radio.url == "/dev/ttyUSB7"
    finally:
        os.close(master)
        os.close(slave)


def test_command_line_console_wins_and_conflicts_are_refused(bench):
    wiring = wire("/dev/ttyUSB0", "/dev/ttyACM5", bench)
    assert (wiring.console.url, wiring.source) == ("/dev/ttyACM5", "--dut-console")
    assert wiring.board.name == "rp2-a"  # still the board's power and clock defaults
    wiring = wire("serial:///dev/ttyUSB0?console=/dev/ttyACM6", None, bench)
    assert (wiring.console.url, wiring.source) == ("/dev/ttyACM6", "--dut ?console=")
    with pytest.raises(RigError, match="two consoles given.*ttyACM5.*ttyACM6"):
        wire("serial:///dev/ttyUSB0?console=/dev/ttyACM6", "/dev/ttyACM5", None)


def test_missing_console_without_a_rig_file_says_where_it_looked(tmp_path):
    with pytest.raises(RigError) as info:
        wire("serial:///dev/ttyUSB0", None, None, tmp_path)
    message = str(info.value)
    assert message.startswith("serial:///dev/ttyUSB0: the board's console port is missing")
    for what in (
        "--dut-console PORT",
        "$GBHAN_DUT_CONSOLE",
        "serial:///dev/ttyUSB0?console=PORT",
        f"no .gbhan-rig.toml in {tmp_path}",
        "--rig FILE",
        "$GBHAN_RIG",
    ):
        assert what in message, what


def test_missing_console_with_a_rig_file_lists_its_boards(bench):
    with pytest.raises(RigError) as info:
        wire("/dev/ttyUSB3", None, bench)
    message = str(info.value)
    assert f"rig file {bench} lists no board with the port /dev/ttyUSB3" in message
    assert "rp2-a: radio /dev/ttyUSB0, console /dev/ttyACM0" in message


@pytest.mark.parametrize("text, error", [
    ("[[board]]\nradio = '/dev/ttyUSB0'\n", "board 1 (board 1): 'console' is missing"),
    ("[[board]]\nname='x'\nconsole = '/dev/ttyACM0'\n", "board 1 (x): 'radio' is missing"),
    ("[[board]]\nradio='/dev/ttyUSB0'\nconsole='/dev/ttyUSB0'\n", "are the same port"),
    ("[[board]]\nradio='/dev/a'\nconsole='/dev/b'\nclock='fast'\n", "clock must be one of"),
    ("[[board]]\nradio='/dev/a'\nconsole='/dev/b'\nconsol='/dev/c'\n", "unknown keys ['consol']"),
    ("[[board]]\nradio='/dev/a'\nconsole='/dev/b'\npower='pdu://x'\n", "power: pdu://x"),
    ("[[board]]\nradio='/dev/a'\nconsole='virtual'\n", "console must be one serial port"),
    ("radio = '/dev/ttyUSB0'\n", "no [[board]] tables"),
    ("[[board]\n", "cannot read it"),
], ids=["no-console", "no-radio", "same-port", "bad-clock", "typo", "bad-power", "virtual",
        "no-table", "not-toml"])  # fmt: skip
def test_bad_rig_files_are_refused_naming_the_file_and_the_fault(tmp_path, text, error):
    path = tmp_path / "rig.toml"
    path.write_text(text)
    with pytest.raises(RigError) as info:
        rigfile.load(path)
    assert str(path) in str(info.value) and error in str(info.value)


def test_rig_file_is_found_in_the_working_directory_or_named(tmp_path, bench):
    assert rigfile.locate(None, tmp_path) == bench
    assert rigfile.locate(None, tmp_path / "elsewhere") is None
    assert rigfile.locate(str(bench), tmp_path / "elsewhere") == bench
    with pytest.raises(RigError, match="rig file .*nope.toml .*does not exist"):
        rigfile.locate("nope.toml", tmp_path)


def test_open_dut_uses_the_rig_files_ports(tmp_path):
    """Over real ptys: the DUT named by its console opens the rig file's radio port, and
    what the board prints on its console reaches the rig's console."""
    pairs = [os.openpty() for _ in range(2)]
    for master, _slave in pairs:
        tty.setraw(master)
    (radio_m, radio_s), (console_m, console_s) = pairs
    radio, console = os.ttyname(radio_s), os.ttyname(console_s)
    path = tmp_path / "rig.toml"
    path.write_text(
        f'[[board]]\nradio = "serial://{radio}"\nconsole = "{console}"\nclock = "simulated"\n'
    )
    dut = open_dut(f"serial://{console}", "plcs", rig=path)
    try:
        assert (dut.radio.url, dut.console.channel.url) == (radio, console)
        assert dut.clock_mode == "simulated" and not dut.virtual
        dut.console.send("ping rig-file")
        assert select.select([console_m], [], [], 5)[0]
        assert os.read(console_m, 64) == b"ping rig-file\n"
        os.write(console_m, b"pong rig-file\n")
        deadline = time.monotonic() + 5
        while "< pong rig-file" not in dut.console.transcript:  # the board's answer, read
            assert time.monotonic() < deadline, list(dut.console.transcript)
            time.sleep(0.01)
    finally:
        dut.close()
        for fd in (radio_m, radio_s, console_m, console_s):
            os.close(fd)


def test_open_dut_without_a_console_is_a_dut_error_saying_so(tmp_path):
    with pytest.raises(DutError, match="the board's console port is missing"):
        open_dut("/dev/ttyUSB0", "hcalcs", rig=None, rig_cwd=tmp_path)


def test_hil_run_stops_before_pytest_when_the_console_is_missing(tmp_path, monkeypatch, capsys):
    """One clear error and exit status 2, not an error in each of the suite's tests."""
    monkeypatch.chdir(tmp_path)
    code = hil_cmd.main(
        ["hil", "run", "--dut", "serial:///dev/ttyUSB0", "--power", "usb-relay:///dev/ttyUSB1"]
    )
    out = capsys.readouterr().out
    assert code == 2
    assert out.startswith("error: serial:///dev/ttyUSB0: the board's console port is missing")
    assert f"no .gbhan-rig.toml in {tmp_path}" in out
    assert not (tmp_path / "gbhan-out").exists()
