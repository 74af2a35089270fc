"""The flash wear budget on a running board (issue 16): at most 1.0 erase an On/Off command
and 0.02 a rejected frame. The virtual board's flash becomes a littlefs image of the Pico's
geometry that counts erases (firmware/hal/flashcount.py, the device bench/firmware_wear.py
uses), read with the console's `wear`; a physical board cannot count its erases."""

from __future__ import annotations

import pytest

from hil.suites.switch import steps
from hil.suites.switch.steps import ON_OFF

COMMANDS = 20
REJECTED = 500  # the first in full and the summary are fixed costs: spread them
WEAR_HEAP = "120K"  # the counting device's module takes the qstr pool past its step
# The counting device is littlefs over a block device written in Python, many times slower
# than the chip's flash: on a loaded host a commit can outlast the virtual board's short
# watchdog period and the rig's usual 5 s answer. Neither is what this test measures, so it
# runs with a Pico's watchdog period (8 s) and waits longer for each answer.
WEAR_WATCHDOG_MS = 8000
ANSWER_S = 15.0


def _command(dut, line: str) -> str:
    return dut.console.command(line, timeout=ANSWER_S)


def _erases(dut) -> int:
    reply = _command(dut, "wear")
    assert reply.startswith("wear erases="), reply
    return int(reply.split()[1].split("=")[1])


def test_flash_erases_per_command_and_per_rejected_frame(
    dut, han, power, tmp_path, record_property
):
    board = getattr(dut, "board", None)
    if board is None:
        pytest.skip("a physical board cannot count its flash erases (bench/firmware_wear.py)")
    heap, watchdog_ms = board.heap, board.watchdog_ms
    power.off()
    board.wear_image, board.heap = tmp_path / "flash.img", WEAR_HEAP
    board.watchdog_ms = max(watchdog_ms or 0, WEAR_WATCHDOG_MS)
    try:
        power.on()
        steps.confirm(han, timeout=ANSWER_S)
        assert _command(dut, "sync") == "ok sync"
        before = _erases(dut)
        for i in range(COMMANDS):
            han.request(
                ON_OFF, steps.on_off("on" if i % 2 else "off", han.next_tsn()), timeout=ANSWER_S
            )
            assert _command(dut, "sync") == "ok sync"  # each command's log on its own
        per_command = (_erases(dut) - before) / COMMANDS
        before = _erases(dut)
        rejected = dut.rejected().get("unauthorised", 0)
        for _ in range(REJECTED):
            han.send(ON_OFF, steps.on_off("on", han.next_tsn(han.stranger)), sender=han.stranger)
        assert _command(dut, "ping wear") == "pong wear"
        assert dut.rejected().get("unauthorised", 0) == rejected + REJECTED
        assert _command(dut, "advance 61000").startswith("ok advance")  # the summary
        assert _command(dut, "sync") == "ok sync"
        per_rejected = (_erases(dut) - before) / REJECTED
        record_property("wear.erases_per_command", per_command)
        record_property("wear.erases_per_rejected_frame", per_rejected)
        assert 0 < per_command <= 1.0, per_command
        assert per_rejected <= 0.02, per_rejected
    finally:
        power.off()
        board.wear_image, board.heap, board.watchdog_ms = None, heap, watchdog_ms
        power.on()
        steps.confirm(han)
