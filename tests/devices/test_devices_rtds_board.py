"""Every RTDS 7.5-7.11, 6.14 and 11.2 ECS52 command with the real switch firmware in every
slot: five virtual boards (MicroPython unix port) behind XBee stand-ins, booted once for the
module per household (the one whose ESME the command targets); a fresh meter (counters,
labels, calendars) for each command, as a fresh premises would have."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from devices_helpers import CASES, check_against_rtds, household, run_case

from emulator.clock import Clock
from emulator.devices.premises import Premises


class BoardPremises:
    """One wall-clock loop in a thread, kept for the module, running one premises of boards."""

    def __init__(self, keys, state_dir, home) -> None:
        self.clock = Clock(mode="wall")
        self.loop = self.clock.new_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.premises = self.call(
            Premises.start(
                self.clock,
                keys=keys,
                switch="board",
                state_dir=state_dir,
                zcl_timeout_s=1.0,
                **home.premises_kwargs(),
            )
        )

    def call(self, coro, timeout: float = 120.0):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.call(self.premises.close())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def rigs(keys, tmp_path_factory):
    """household ESME EUI -> its premises of boards, booted when a case first needs it."""
    booted: dict[bytes, BoardPremises] = {}

    def rig_for(home) -> BoardPremises:
        if home.esme_eui not in booted:
            where = tmp_path_factory.mktemp(f"boards-{home.esme_eui.hex()}")
            booted[home.esme_eui] = BoardPremises(keys, where, home)
        return booted[home.esme_eui]

    yield rig_for
    for rig in booted.values():
        rig.close()


@pytest.mark.parametrize("name", sorted(CASES))
def test_rtds_command_on_firmware_boards(rigs, name):
    # Pace the cases: ~30 frames each from the meter, and a receiver takes a repeated 8-bit
    # APS counter seen within 7.4 s for a duplicate (docs/han.md): at most ~34 frames/s.
    started = time.monotonic()
    boards = rigs(household(name))
    premises = boards.premises
    assert premises.esme.eui == household(name).esme_eui
    premises.reset_meter()
    # the boards keep their state between cases: RTDS's household has every slot on boost
    # and following its calendar (run_case then sets the opposite association or another
    # label on the switches the command configures, so its write must show)
    for slot in premises.switches:
        boards.call(premises.esme.set_boost_association(slot, True))
        boards.call(premises.esme.command_slot(slot, "7.8"))
    execution, before = boards.call(run_case(premises, name))
    check_against_rtds(name, execution, before)
    assert all(unit.kind == "board" for unit in premises.switches.values())
    time.sleep(max(0.0, 1.0 - (time.monotonic() - started)))
