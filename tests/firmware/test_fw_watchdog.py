"""Console, watchdog, safe boot and Ctrl-C on the virtual board (the real unix port).

The virtual board is the unix board's hardware watchdog (emulator/virtual_board.py): the
firmware feeds it on a pipe, and when the feeds stop it kills the firmware and starts it
again with `--reset-cause watchdog`, as a reset would. `--test-hooks on` gives the console
`hang console` (the console task stops for good while the loop runs on: the per-task check
must stop feeding) and `hang loop` (the whole loop spins: only the watchdog can end it).
"""

from __future__ import annotations

import os
import select
import signal
import struct
import time

import pytest
from fw_constants import ESME
from fw_oracle import Meter, is_response_to

ON_OFF, DRLC = 0x0006, 0x0701
WATCHDOG_MS = 1500  # the tests' watchdog period (boards: 8 s)
HOOKS = {"extra": ["--test-hooks", "on"], "watchdog_ms": WATCHDOG_MS}


def boot_fields(board) -> dict[str, str]:
    reply = board.command("boot")
    assert reply.startswith("boot "), reply
    return dict(p.split("=", 1) for p in reply.split()[1:])


def wait_resets(board, count: int, timeout: float) -> float:
    """Seconds until the virtual board has restarted `count` times after a watchdog reset."""
    start = time.monotonic()
    while board.watchdog_resets < count:
        assert time.monotonic() - start < timeout, f"no watchdog reset within {timeout} s"
        time.sleep(0.02)
    return time.monotonic() - start


def wait_console(board, timeout: float = 10.0) -> None:
    """Until the restarted board answers (its console was mid-boot)."""
    deadline = time.monotonic() + timeout
    attempt = 0
    while True:
        attempt += 1
        board.drain()
        try:
            if board.command(f"ping up-{attempt}", timeout=0.5) == f"pong up-{attempt}":
                return
        except TimeoutError:
            pass
        assert time.monotonic() < deadline, "the board did not come back after its reset"


def on_off(meter: Meter, command: int) -> int:
    tsn = meter.next_tsn()
    meter.send(ON_OFF, bytes([0x01, tsn, command]))
    return tsn


def drlc_event(meter: Meter, issuer: int) -> int:
    """A 1-minute curtailment starting now (Load Control Event)."""
    tsn = meter.next_tsn()
    payload = struct.pack(
        "<IHBIHBBBhhbBB", issuer, 0x0400, 0, 0, 1, 7, 0xFF, 0xFF, -32768, -32768, -128, 0xFF, 0
    )
    meter.send(DRLC, bytes([0x09, tsn, 0x00]) + payload)
    return tsn


@pytest.mark.slow
def test_slow_typing_while_commands_arrive_never_trips_the_watchdog(make_board):
    """A line typed a character at a time, with pauses longer than the watchdog period,
    while On/Off and DRLC commands arrive on the radio: every command is answered, the
    typed line is one command when Enter comes, and no watchdog reset happens."""
    board = make_board("hcalcs", **HOOKS)
    meter = Meter(board, ESME)
    answered, sent = set(), []
    typed = "state\r"  # a terminal's Enter is CR
    for i, char in enumerate(typed):
        os.write(board.console_fd, char.encode())
        pause_end = time.monotonic() + WATCHDOG_MS / 1000 * 1.3
        while time.monotonic() < pause_end:
            tsn = drlc_event(meter, 0x100 + i) if len(sent) % 4 == 3 else on_off(meter, 1 + i % 2)
            sent.append(tsn)
            for frame in meter.receive(99, timeout=0.25):
                answered.update(t for t in sent if is_response_to(frame, t))
    for frame in meter.receive(99, timeout=1.0):
        answered.update(t for t in sent if is_response_to(frame, t))
    assert len(sent) >= 12
    assert answered == set(sent), f"unanswered: {sorted(set(sent) - answered)}"
    reply = board.read_console_line(timeout=2)
    assert reply.startswith("relay=") and " source=" in reply, reply
    assert board.watchdog_resets == 0 and board.alive()
    assert boot_fields(board) == {"reset_cause": "power", "watchdog_resets": "0"}


def test_console_line_editing_and_long_lines(make_board):
    """Backspace edits, CR LF is one Enter, an over-long line is cut and refused, and a
    half line waits without a reply until its Enter."""
    board = make_board("plcs")
    os.write(board.console_fd, b"pinx\x7fg a\r\n")
    assert board.read_console_line() == "pong a"
    os.write(board.console_fd, b"x" * 2000 + b"\n")
    assert board.read_console_line().startswith("error unknown xxxx")
    os.write(board.console_fd, b"pi")
    with pytest.raises(TimeoutError):
        board.read_console_line(timeout=0.3)
    os.write(board.console_fd, b"ng b\n")
    assert board.read_console_line() == "pong b"


@pytest.mark.parametrize("role", ["hcalcs", "commshub"])
def test_a_hung_task_resets_the_board(make_board, role):
    """`hang console` stops one task while the rest of the loop runs: the per-task check
    stops feeding, the watchdog resets the board within the task's deadline (2 s) plus its
    period, and it comes back saying why, with the reset counted in flash."""
    switch = role != "commshub"
    board = make_board(role, **HOOKS, **({} if switch else {"esme": None, "label": None}))
    if switch:
        meter = Meter(board, ESME)
        tsn = on_off(meter, 0x01)  # relay closed, committed
        assert any(is_response_to(f, tsn) for f in meter.until(lambda f: is_response_to(f, tsn)))
        assert board.state()["relay"] == "closed"
    assert board.command("hang console") == "ok hang console"
    took = wait_resets(board, 1, timeout=2 + WATCHDOG_MS / 1000 + 5)
    wait_console(board)
    assert boot_fields(board) == {"reset_cause": "watchdog", "watchdog_resets": "1"}
    log = [" ".join(e.split()[3:]) for e in board.log(40)]
    # The loop was alive: it named the late task before the reset; the boot after counted it.
    assert "watchdog console" in log, log
    assert log.index("watchdog console") < log.index("reset watchdog n=1")
    if switch:
        # After the reset: fail-safe (open) until the meter is heard, then the committed state.
        assert board.state() == {"relay": "open", "level": "0", "source": "failsafe"}
        meter = Meter(board, ESME)
        meter.request(ON_OFF, bytes([0x00, meter.next_tsn(), 0x00, 0x00, 0x00]))
        assert board.state()["relay"] == "closed"
    assert took >= 2.0  # not before the task's deadline had passed


def test_a_spinning_loop_resets_the_board_and_the_count_survives(make_board):
    """`hang loop` stops everything (no task runs, nothing logs): only the watchdog, which
    runs beside the loop, can end it. Two resets count 2."""
    board = make_board("plcs", **HOOKS)
    for n in (1, 2):
        assert board.command("hang loop") == "ok hang loop"
        took = wait_resets(board, n, timeout=WATCHDOG_MS / 1000 + 5)
        wait_console(board)
        assert boot_fields(board) == {"reset_cause": "watchdog", "watchdog_resets": str(n)}
        assert took >= WATCHDOG_MS / 1000 * 0.9
    assert board.state() == {"relay": "open", "level": "0", "source": "failsafe"}


def test_the_hang_hook_is_off_by_default(make_board):
    board = make_board("hcalcs", watchdog_ms=WATCHDOG_MS)
    assert board.command("hang loop") == "error unknown hang"
    time.sleep(WATCHDOG_MS / 1000 * 1.5)  # fed all along: no reset
    assert board.command("ping still") == "pong still"
    assert board.watchdog_resets == 0


def test_a_power_cut_is_not_a_watchdog_reset(make_board):
    board = make_board("hcalcs", **HOOKS)
    board.power_cut()
    time.sleep(WATCHDOG_MS / 1000 * 1.5)
    assert not board.alive() and board.watchdog_resets == 0  # nobody restarts a dead board
    board.power_on()
    assert boot_fields(board) == {"reset_cause": "power", "watchdog_resets": "0"}


def _read_until(fd: int, marker: bytes, timeout: float = 10.0) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while marker not in seen:
        left = deadline - time.monotonic()
        assert left > 0, f"no {marker!r} on the console: {seen!r}"
        if select.select([fd], [], [], left)[0]:
            seen += os.read(fd, 4096)
    return seen


def test_safe_boot_reaches_the_repl_without_starting_the_app(make_board, tmp_path):
    """A `safeboot` file in the flash: the firmware says so, starts neither radio nor
    watchdog, and the console is MicroPython's REPL; without the file the app runs again."""
    flash = tmp_path / "safe-flash"
    flash.mkdir()
    (flash / "safeboot").write_text("")
    board = make_board("hcalcs", state_dir=flash, power_on=False, **HOOKS)
    board.power_on()
    assert board.at_repl
    banner = board._console_buf + _read_until(board.console_fd, b">>> ")
    assert b"MicroPython" in banner
    os.write(board.console_fd, b"print(6 * 7)\r")
    assert b"42" in _read_until(board.console_fd, b">>> ")
    assert board.read_radio(0.5) == b""  # no AT command, no Time read: the radio untouched
    time.sleep(WATCHDOG_MS / 1000 * 1.5)
    assert board.watchdog_resets == 0 and board.alive()  # no watchdog at the REPL
    assert not (flash / "log").exists()  # the app never ran: nothing logged
    board.power_cut()
    (flash / "safeboot").unlink()
    board.power_on()
    assert not board.at_repl
    assert board.state() == {"relay": "open", "level": "0", "source": "failsafe"}


def test_ctrl_c_releases_the_relay_and_stops_the_watchdog(make_board):
    """SIGINT is Ctrl-C on the unix port: the app stops, says so, the relay is released and
    the watchdog stopped, so the board is not reset under a developer."""
    board = make_board("hcalcs", **HOOKS)
    meter = Meter(board, ESME)
    tsn = on_off(meter, 0x01)
    meter.until(lambda f: is_response_to(f, tsn))
    board.command("watch on")
    proc = board.proc
    proc.send_signal(signal.SIGINT)
    code = proc.wait(timeout=10)
    printed = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    assert code == 0, f"exit {code}; the firmware printed: {printed}"
    output, _ = board.read_output_line()
    assert output.startswith("output relay=open level=0")
    assert board.read_console_line() == "stopped: relay released, watchdog off"
    time.sleep(WATCHDOG_MS / 1000 * 1.5)
    assert board.watchdog_resets == 0
