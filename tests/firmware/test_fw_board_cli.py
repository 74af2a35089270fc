"""`gbhan board run`: two ptys announced on stdout, the firmware behind them, killed = power
cut, --state-dir = flash. Driven the way a user would: pyserial on the printed paths."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import serial
from fw_constants import ESME, FIRMWARE_HEAP, REPO
from fw_oracle import escape_frame, rx_explicit, zcl_frames

RUN = (
    "import argparse, sys\n"
    "from tools import board_cmd\n"
    "parser = argparse.ArgumentParser(prog='gbhan')\n"
    "board_cmd.register(parser.add_subparsers(dest='command', required=True))\n"
    "args = parser.parse_args(sys.argv[1:])\n"
    "sys.exit(args.func(args))\n"
)


def start(state_dir, *options: str) -> tuple[subprocess.Popen, str, str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            RUN,
            "board",
            "run",
            "--role",
            "plcs",
            "--esme",
            ESME,
            "--state-dir",
            str(state_dir),
            "--label",
            "Heat Pump",
            "--heap",
            FIRMWARE_HEAP,
            *options,
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    radio = proc.stdout.readline().strip()
    console = proc.stdout.readline().strip()
    assert radio.startswith("radio: /dev/") and console.startswith("console: /dev/")
    return proc, radio.split(": ", 1)[1], console.split(": ", 1)[1]


def ask(port: serial.Serial, line: str) -> str:
    port.write(line.encode() + b"\n")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        reply = port.readline().decode().strip()
        if reply:
            return reply
    raise AssertionError(f"no reply to {line!r}")


def test_board_run_speaks_on_both_ptys_and_survives_a_kill(tmp_path):
    proc, radio_path, console_path = start(tmp_path / "flash")
    try:
        console = serial.Serial(console_path, 115200, timeout=1)
        radio = serial.Serial(radio_path, 115200, timeout=0.2)
        assert ask(console, "version").startswith("version gbhan-switch")
        assert ask(console, "state") == "relay=open level=0 source=failsafe"
        radio.write(escape_frame(rx_explicit(ESME, bytes([0x01, 0x05, 0x04, 127, 0, 0]), 0x0008)))
        received = b""
        deadline = time.monotonic() + 5
        while not any(f["data"][2] == 0x0B for f in zcl_frames(received)):
            assert time.monotonic() < deadline, received.hex()
            received += radio.read(256)
        assert ask(console, "state") == "relay=closed level=50 source=remote"
        console.close()
        radio.close()
    finally:
        pids = firmware_pids(proc)
        os.kill(proc.pid, signal.SIGKILL)  # the power cut: the firmware dies with it
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert len(pids) == 1
    gone(pids)
    proc, radio_path, console_path = start(tmp_path / "flash")
    try:
        console = serial.Serial(console_path, 115200, timeout=1)
        radio = serial.Serial(radio_path, 115200, timeout=0.2)
        radio.write(
            escape_frame(rx_explicit(ESME, bytes([0x00, 0x06, 0x00, 0x00, 0x00]), 0x0006))
        )  # a read: the meter is there
        deadline = time.monotonic() + 5
        while ask(console, "state").endswith("failsafe"):
            assert time.monotonic() < deadline
        assert ask(console, "state") == "relay=closed level=50 source=remote"
        assert "label=Heat_Pump" in ask(console, "status")
        console.close()
        radio.close()
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()


def firmware_pids(board_run: subprocess.Popen) -> list[int]:
    """The MicroPython processes (firmware, or the safe-boot REPL) `gbhan board run` runs."""
    pids = []
    for entry in os.listdir("/proc"):
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmdline = f.read()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == board_run.pid and b"micropython" in cmdline:
            pids.append(int(entry))
    return pids


def gone(pids: list[int], timeout: float = 5.0) -> None:
    """Every one of `pids` has ended (a zombie counts as ended: it runs no more)."""
    deadline = time.monotonic() + timeout

    def running() -> list[int]:
        alive = []
        for pid in pids:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] != "Z":
                        alive.append(pid)
            except OSError:
                pass
        return alive

    while running():
        assert time.monotonic() < deadline, f"firmware outlived its board: {running()}"
        time.sleep(0.05)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["sigkill", "sigterm"])
def test_killing_board_run_is_a_power_cut_of_its_firmware(tmp_path, sig):
    """The firmware is a child of `gbhan board run` now (its supervisor is the board's
    watchdog): killing the parent, even with SIGKILL, must take the firmware with it."""
    flash = tmp_path / "flash"
    proc, _radio, console_path = start(flash)
    try:
        console = serial.Serial(console_path, 115200, timeout=1)
        assert ask(console, "state") == "relay=open level=0 source=failsafe"
        pids = firmware_pids(proc)
        assert len(pids) == 1
        console.close()
    finally:
        os.kill(proc.pid, sig)
        proc.wait(10)
    gone(pids)
    assert proc.returncode in (-sig, 128 + sig)


def test_board_run_has_the_watchdog_of_the_virtual_board(tmp_path):
    proc, _radio, console_path = start(tmp_path / "flash", "--test-hooks", "--watchdog-ms", "1500")
    try:
        console = serial.Serial(console_path, 115200, timeout=1)
        assert ask(console, "boot") == "boot reset_cause=power watchdog_resets=0"
        assert ask(console, "hang loop") == "ok hang loop"
        deadline = time.monotonic() + 20
        while True:  # reset by its watchdog, then booted again
            console.write(b"boot\n")
            reply = console.readline().decode().strip()
            if reply == "boot reset_cause=watchdog watchdog_resets=1":
                break
            assert time.monotonic() < deadline, reply
        console.close()
        pids = firmware_pids(proc)  # the one started again after the reset
        assert len(pids) == 1
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    gone(pids)


def test_board_run_safe_boot_reaches_the_repl(tmp_path):
    flash = tmp_path / "flash"
    flash.mkdir()
    (flash / "safeboot").write_text("")
    proc, _radio, console_path = start(flash)
    try:
        console = serial.Serial(console_path, 115200, timeout=0.5)
        seen = b""
        deadline = time.monotonic() + 15
        while b">>> " not in seen:  # the port's REPL, on the console
            assert time.monotonic() < deadline, seen
            seen += console.read(256)
        assert b"safe boot" in seen
        console.write(b"print(6 * 7)\r\n")
        seen = b""
        while b"42" not in seen:
            assert time.monotonic() < deadline, seen
            seen += console.read(256)
        console.close()
        pids = firmware_pids(proc)  # the REPL
        assert len(pids) == 1
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    gone(pids)


def test_firmware_opens_tty_paths_raw_and_non_blocking(tmp_path):
    """Wiring A: the firmware opens the pty paths itself (--radio/--console PATH), puts them
    in raw mode with VMIN=0 and still answers both while the radio stays silent."""
    import select

    from emulator.virtual_board import firmware_command

    pairs = [os.openpty() for _ in range(2)]
    (radio_master, radio_slave), (console_master, console_slave) = pairs
    argv, env, cwd = firmware_command(
        "hcalcs",
        tmp_path / "flash",
        os.ttyname(radio_slave),
        os.ttyname(console_slave),
        ESME,
        "Heat Pump",
        FIRMWARE_HEAP,
    )
    proc = subprocess.Popen(argv, env=env, cwd=cwd, stdout=subprocess.PIPE)
    try:

        def console(line: str) -> str:
            os.write(console_master, line.encode() + b"\n")
            got = b""
            deadline = time.monotonic() + 10
            while not got.endswith(b"\n"):
                assert time.monotonic() < deadline, got
                if select.select([console_master], [], [], 0.5)[0]:
                    got += os.read(console_master, 4096)
            return got.decode().strip()

        time.sleep(0.3)
        assert console("state") == "relay=open level=0 source=failsafe"
        # The meter's NWK address 0x130D: 0x0D would arrive as 0x0A in cooked mode (ICRNL);
        # the reply goes back to the address the firmware saw.
        zcl = bytes([0x00, 0x11, 0x00, 0x00, 0x00])  # a read with TSN 0x11
        os.write(radio_master, escape_frame(rx_explicit(ESME, zcl, 0x0006, src16=0x130D)))
        received = b""
        deadline = time.monotonic() + 5
        while not any(f["data"][1] == 0x11 and f["dest16"] == 0x130D for f in zcl_frames(received)):
            assert time.monotonic() < deadline, received.hex()
            if select.select([radio_master], [], [], 0.5)[0]:
                received += os.read(radio_master, 4096)
        assert console("state") == "relay=closed level=100 source=calendar"
    finally:
        proc.kill()
        proc.wait()
        for fd in (radio_master, radio_slave, console_master, console_slave):
            os.close(fd)
