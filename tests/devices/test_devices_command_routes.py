"""The meter's command route (`command_route`: drlc | onoff | both) for RTDS's 7.5, 7.6 and
7.8: the same GBCS answer and switch state whichever ZCL carries it, on model switches (HCALCS
and a PLCS) and on the real firmware."""

from __future__ import annotations

import pytest
from devices_helpers import RTDS_TIME, check_against_rtds, command, household, run_case

from emulator.clock import Clock
from emulator.devices.premises import Premises

ACTIVATE = "7.5_ECS47Activate/ECS47Activate_7.5_SUCCESS_COMMAND_GBCS.HEX"  # slot 1
DEACTIVATE = "7.6_ECS47Deactivate/ECS47Deactivate_7.6_SUCCESS_COMMAND_GBCS.HEX"  # slot 3
RESET = "7.8_ECS47Reset/ECS47Reset_7.8_SUCCESS_COMMAND_GBCS.HEX"  # slot 5
SLOT = {ACTIVATE: 1, DEACTIVATE: 3, RESET: 5}
ROUTES = ("drlc", "onoff", "both")
#: cluster commands each route sends (On/Off 0x0006, DRLC 0x0701)
SENDS = {"drlc": {0x0701}, "onoff": {0x0006}, "both": {0x0006, 0x0701}}


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("name", [ACTIVATE, DEACTIVATE, RESET], ids=["7.5", "7.6", "7.8"])
def test_route_on_model_switches(keys, route, name):
    clock = Clock(start_utc=RTDS_TIME)
    slot = SLOT[name]

    async def main():
        premises = await Premises.start(
            clock, keys=keys, switch="model", command_route=route,
            **household(name).premises_kwargs(),
        )  # fmt: skip
        if name != DEACTIVATE:  # open the slot first, so activating or resetting shows
            await premises.esme.command_slot(slot, "7.6", 30)
            assert (await premises.switches[slot].state()).relay == "open"
        unit = premises.switches[slot]
        unit.commands.clear()
        execution, before = await run_case(premises, name)
        return execution, before, set(unit.commands)

    execution, before, clusters = clock.run(main)
    check_against_rtds(name, execution, before)
    assert clusters == SENDS[route]


@pytest.mark.parametrize("route", ROUTES)
def test_route_on_a_plcs_holds_its_curtail_level(keys, route):
    clock = Clock(start_utc=RTDS_TIME)

    async def main():
        premises = await Premises.start(
            clock, keys=keys, switch="model", command_route=route, plcs_slots=(3,),
            plcs_curtail_levels={3: 40},
        )  # fmt: skip
        unit = premises.switches[3]
        states = []
        for srv in ("7.6", "7.5", "7.6", "7.8"):
            await premises.esme.command_slot(3, srv, 30)
            states.append((await unit.state()).as_dict())
        return states, set(unit.commands)

    states, clusters = clock.run(main)
    assert states == [
        {"relay": "closed", "level": 40},
        {"relay": "closed", "level": 100},
        {"relay": "closed", "level": 40},
        {"relay": "closed", "level": 100},
    ]
    level_or_onoff = {"drlc": {0x0701}, "onoff": {0x0008}, "both": {0x0008, 0x0701}}
    assert clusters == level_or_onoff[route]


def test_onoff_route_on_the_firmware(keys):
    """RTDS's 7.6, then 7.5 and 7.8, over On/Off to a real board: its console shows the relay
    and its event log the On/Off commands (no DRLC event)."""
    clock = Clock(start_utc=RTDS_TIME)
    slot = 3

    async def main():
        premises = await Premises.start(
            clock, keys=keys, slots=(1, 2, 3, 4, 5), board_slots=[slot], command_route="onoff",
        )  # fmt: skip
        unit = premises.switches[slot]
        try:
            premises.esme.set_time(RTDS_TIME)
            before = await premises.switch_states()
            deactivated = await premises.execute(command(DEACTIVATE))
            after_7_6 = unit.board.state()
            await premises.esme.command_slot(slot, "7.8")
            after_7_8 = unit.board.state()
            await premises.esme.command_slot(slot, "7.6", 30)
            await premises.esme.command_slot(slot, "7.5", 30)
            after_7_5 = unit.board.state()
            log = unit.board.log(40)
            return before, deactivated, after_7_6, after_7_8, after_7_5, log
        finally:
            await premises.close()

    before, deactivated, after_7_6, after_7_8, after_7_5, log = clock.run(main)
    check_against_rtds(DEACTIVATE, deactivated, before)
    assert before[slot]["relay"] == "closed"
    assert (after_7_6["relay"], after_7_6["source"]) == ("open", "remote")
    assert after_7_8["relay"] == "closed"
    assert after_7_5["relay"] == "closed"
    causes = [line for line in log if " transition " in line]
    assert any("relay=open" in line and "cause=on-off off" in line for line in causes)
    assert any("relay=closed" in line and "cause=on-off on" in line for line in causes)
    assert not any(" drlc " in line for line in log)


def test_unknown_route_is_refused(keys):
    clock = Clock()

    async def main():
        with pytest.raises(ValueError, match="command_route"):
            await Premises.start(clock, keys=keys, command_route="zigbee-magic")

    clock.run(main)
