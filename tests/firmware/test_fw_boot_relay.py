"""The relay at boot on the rp2 and esp32 boards: the board's constructor (the real
firmware/hal code on the unix port, with a recording stand-in for `machine`, which the unix
port lacks) drives the relay pin first, at its released level from the moment it becomes an
output, never on, and starts no watchdog (main.py starts it once the loop runs)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from fw_constants import HERE, MICROPYTHON

DRIVER = HERE / "port" / "boot_relay_driver.py"
RELAY_PIN = {"rp2": 15, "esp32": 26}


def boot(mpy_tree, board: str, config: dict) -> list[list]:
    done = subprocess.run(
        [str(MICROPYTHON), str(DRIVER), board, json.dumps(config)],
        cwd=mpy_tree,
        env=dict(os.environ, MICROPYPATH=f".frozen:{mpy_tree}"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("board", ["rp2", "esp32"])
@pytest.mark.parametrize("active_low", [True, False])
def test_the_relay_is_released_first_and_never_driven_on(mpy_tree, board, active_low):
    log = boot(mpy_tree, board, {"relay_active_low": active_low})
    pin = RELAY_PIN[board]
    released = 1 if active_low else 0
    assert log[0] == ["pin", pin, 1, released], log  # OUT, at the released level at once
    relay_writes = [e for e in log if e[0] == "set" and e[1] == pin]
    assert all(e[2] == released for e in relay_writes), relay_writes
    first_other = next(
        i for i, e in enumerate(log) if e[0] in ("uart", "irq") or (e[0] == "pin" and e[1] != pin)
    )
    assert first_other > 0
    built = log.index(next(e for e in log if e[0] == "built"))
    assert not any(e[0] == "wdt" for e in log[:built]), "watchdog started while booting"
    assert log[built + 1] == ["wdt", 8000]  # main.py starts it after boot


@pytest.mark.parametrize("board", ["rp2", "esp32"])
def test_ctrl_c_stops_the_watchdog_where_the_chip_can(mpy_tree, board):
    """rp2: the WATCHDOG CTRL ENABLE bit (30) cleared through the RP2040's atomic-clear
    alias (0x40058000 + 0x3000); esp32: no way to stop it, and the board says so."""
    log = boot(mpy_tree, board, {})
    after = log[log.index(["wdt", 8000]) + 1 :]
    if board == "rp2":
        assert after == [["mem32", 0x40058000 + 0x3000, 1 << 30], ["stopped", True]]
    else:
        assert after == [["stopped", False]]


def test_a_safe_pin_held_low_is_seen(mpy_tree):
    """config "safe_pin": the stand-in's pins read high unless set; a pin constructed with
    PULL_UP and never driven reads 1, so the board is not in safe boot."""
    log = boot(mpy_tree, "rp2", {"safe_pin": 22})
    assert ["built", "power", False, False] in log  # not safe boot; test hooks off
    assert ["pin", 22, 0, None] in log


def test_test_hooks_only_when_the_config_says_so(mpy_tree):
    assert ["built", "power", False, True] in boot(mpy_tree, "esp32", {"test_hooks": True})
    assert ["built", "power", False, False] in boot(mpy_tree, "esp32", {"test_hooks": "yes"})
