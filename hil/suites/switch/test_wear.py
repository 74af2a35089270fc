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


def _erases(dut) -> int:
    reply = dut.console.command("wear")
    assert reply.startswith("wear erases="), reply
    return int(reply.split()[1].split("=")[1])


def test_flash_erases_per_command_and_per_rejected_frame(
    dut, han, power, tmp_path, record_property
):
    board = getattr(dut, "board", None)
    if board is None:
        pytest.skip("a physical board cannot count its flash erases (bench/firmware_wear.py)")
    heap = board.heap
    power.off()
    board.wear_image, board.heap = tmp_path / "flash.img", WEAR_HEAP
    try:
        power.on()
        steps.confirm(han)
        assert dut.console.command("sync") == "ok sync"
        before = _erases(dut)
        for i in range(COMMANDS):
            han.request(ON_OFF, steps.on_off("on" if i % 2 else "off", han.next_tsn()))
            assert dut.console.command("sync") == "ok sync"  # each command's log on its own
        per_command = (_erases(dut) - before) / COMMANDS
        before = _erases(dut)
        rejected = dut.rejected().get("unauthorised", 0)
        for _ in range(REJECTED):
            han.send(ON_OFF, steps.on_off("on", han.next_tsn(han.stranger)), sender=han.stranger)
        assert dut.console.command("ping wear") == "pong wear"
        assert dut.rejected().get("unauthorised", 0) == rejected + REJECTED
        assert dut.console.command("advance 61000").startswith("ok advance")  # the summary
        assert dut.console.command("sync") == "ok sync"
        per_rejected = (_erases(dut) - before) / REJECTED
        record_property("wear.erases_per_command", per_command)
        record_property("wear.erases_per_rejected_frame", per_rejected)
        assert 0 < per_command <= 1.0, per_command
        assert per_rejected <= 0.02, per_rejected
    finally:
        power.off()
        board.wear_image, board.heap = None, heap
        power.on()
        steps.confirm(han)
