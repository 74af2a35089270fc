"""The real switch firmware (virtual board) inside a simulated-time premises: the meter's ZCL
exchanges wait for the board in real time while simulated time stands still, and the
firmware's own clock follows the emulator's, so a 7.6 duration runs out in simulated time."""

from __future__ import annotations

import asyncio

import pytest
from devices_helpers import command

from emulator.clock import Clock
from emulator.devices.premises import Premises
from emulator.devices.switch_zcl import SwitchError
from gbcs import decode

DEACTIVATE = "7.6_ECS47Deactivate/ECS47Deactivate_7.6_SUCCESS_COMMAND_GBCS.HEX"
SLOT = 3  # the slot RTDS's 7.6 names
BOARD_ZCL_TIMEOUT_S = 2.0  # the meter's ZCL timeout with a board in the premises (default)


def _log_times(unit, needle: str) -> list[int]:
    """Unix times of the firmware's event-log lines containing ``needle``."""
    return [int(line.split()[2]) for line in unit.board.log(50) if needle in line]


def test_rtds_7_6_opens_the_board_relay_and_its_duration_expires_in_simulated_time(keys):
    clock = Clock()

    async def main():
        premises = await Premises.start(clock, keys=keys, board_slots=[SLOT])
        unit = premises.switches[SLOT]
        try:
            assert unit.kind == "board" and premises.switches[2].kind == "model"
            execution = await premises.execute(command(DEACTIVATE))
            started = int(clock.epoch_seconds())
            shown_after_command = unit.output()
            minutes = int(decode(command(DEACTIVATE)).payload.data[0].value)  # ECS47 Duration
            await asyncio.sleep(minutes * 60 - 60)
            shown_before_end = unit.output()
            await asyncio.sleep(120)
            shown_after_end = unit.output()
            return (execution, started, minutes, shown_after_command, shown_before_end,
                    shown_after_end, _log_times(unit, "drlc start"),
                    _log_times(unit, "drlc completed"), dict(unit.radio.stats))  # fmt: skip
        finally:
            await premises.close()

    (execution, started, minutes, after_command, before_end, after_end, starts, completions,
     radio) = clock.run(main)  # fmt: skip
    assert execution.outcome == "executed" and execution.response_verified is True
    assert execution.switch[SLOT] == {"relay": "open", "level": 0}  # from the console
    assert after_command == (False, 0, "remote")
    assert minutes == 60
    assert before_end == (False, 0, "remote")  # a simulated minute before the end: held
    assert after_end[0] is True and after_end[2] != "remote"  # the firmware's timer ran out
    # The firmware's clock is the emulator's: the event started at the simulated instant of
    # the command; it completed when a read after the end set the firmware's clock, i.e.
    # one simulated minute after the duration ran out (the board's timer, not ours).
    assert len(starts) == 1 and abs(starts[0] - started) <= 1
    assert completions == [started + minutes * 60 + 60]
    assert radio["answer_holds"] > 0 and radio.get("answer_hold_expired", 0) == 0


def test_a_silent_board_costs_its_guard_then_the_meter_times_out(keys):
    clock = Clock()

    async def main():
        premises = await Premises.start(clock, keys=keys, slots=[SLOT], board_slots=[SLOT])
        unit = premises.switches[SLOT]
        unit.radio.answer_guard_s = 0.2
        try:
            await unit.set_fault(True)  # commissioned to another meter: ignores ours
            sent = clock.now()
            with pytest.raises(SwitchError):
                await premises.esme.command_slot(SLOT, "7.6", 30)
            return clock.now() - sent, dict(unit.radio.stats), unit.board.command("rejected")
        finally:
            await premises.close()

    elapsed, radio, rejected = clock.run(main)
    assert elapsed >= BOARD_ZCL_TIMEOUT_S - 0.01  # the meter waited its own (simulated) timeout
    assert radio["answer_hold_expired"] >= 1
    assert "unauthorised=" in rejected  # the firmware counted what it refused
