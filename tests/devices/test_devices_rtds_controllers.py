"""Every RTDS 7.13-7.16 command (auxiliary controllers: ECS47a, ECS61d, ECS61e, ECS47e)
through a premises with model switches: answered as RTDS's RESPONSE (header and payload field
by field, MAC'd ones byte for byte, signed ones verified with the meter's key), and the
scheduled period switches the controller's slot (or holds its input level) when it starts."""

from __future__ import annotations

import asyncio
import datetime as dt
import json

import pytest
from devices_helpers import RTDS, RTDS_TIME, VECTORS, command, expected_response

from emulator.clock import Clock
from emulator.devices.premises import PROFILE, Premises
from gbcs import decode
from gbcs.render import plain

CASES = {
    k: v
    for k, v in json.loads((VECTORS / "rtds_controllers.json").read_text()).items()
    if not k.startswith("_")
}
LOAD_CONTROLLER = bytes.fromhex("90B3D51F30010008")
PERIOD_START = dt.datetime(2015, 1, 3, tzinfo=dt.UTC)  # every RTDS ECS47a/ECS47e period
PERIOD_END = PERIOD_START + dt.timedelta(hours=1)
OPPOSITE = {"open": "7.5", "closed": "7.6"}  # drive the switch away from what is expected


def profile_for(case: dict) -> dict:
    profile = json.loads(PROFILE.read_text())
    for key, value in case.get("profile", {}).items():
        profile[key] = {**profile.get(key, {}), **value} if isinstance(value, dict) else value
    return profile


async def sleep_until(premises, when: dt.datetime) -> None:
    await asyncio.sleep((when - premises.esme.utc_now()).total_seconds())


def test_every_rtds_controller_command_has_a_case():
    found = {
        p.relative_to(RTDS).as_posix()
        for folder in ("7.13_ECS47a", "7.14_ECS61d", "7.15_ECS61e", "7.16_ECS47e")
        for p in (RTDS / folder).glob("*_COMMAND_GBCS.HEX")
        if "PRECOMMAND" not in p.name
    }
    assert found == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_rtds_controller_command(lc_keys, name):
    case = CASES[name]
    period = case.get("period", {})
    clock = Clock(start_utc=RTDS_TIME)

    async def main():
        premises = await Premises.start(clock, keys=lc_keys, switch="model")
        premises.reset_meter(profile_for(case))
        esme = premises.esme
        esme.set_time(RTDS_TIME)
        for slot, state in case.get("switches", {}).items():
            await esme.command_slot(int(slot), "7.5" if state == "closed" else "7.6", 3000)
        if "relay" in period:
            await esme.command_slot(period["controller"], OPPOSITE[period["relay"]], 3000)
        esme.object_faults = {bytes.fromhex(o) for o in case.get("fault", [])}
        execution = await premises.execute(command(name))
        esme.object_faults = set()
        before = await premises.switch_states()
        await sleep_until(premises, PERIOD_START + dt.timedelta(minutes=1))
        during = await premises.switch_states()
        held = {n: dict(s) for n, s in esme.controller_state.items()}
        await sleep_until(premises, PERIOD_END + dt.timedelta(minutes=1))
        after = {n: dict(s) for n, s in esme.controller_state.items()}
        await premises.close()
        return execution, dict(esme.stats), before, during, held, after

    execution, stats, before, during, held, after = clock.run(main)
    assert execution.outcome == "executed", execution.outcome
    expected = decode(expected_response(name))
    got = decode(execution.response)
    assert execution.response_verified is True
    assert got.kind == expected.kind
    assert plain(got.header) == plain(expected.header)
    assert plain(got.payload) == plain(expected.payload)
    if got.kind == "mac":
        assert execution.response == expected_response(name)
    if "relay" in period:
        slot = period["controller"]
        assert before[slot]["relay"] != period["relay"]  # nothing happens before the start
        assert during[slot]["relay"] == period["relay"]
        assert {s: during[s] for s in during if s != slot} == {
            s: before[s] for s in before if s != slot
        }
    elif "input" in period:
        assert held[period["controller"]]["inputState"] == period["input"]
        assert after[period["controller"]]["inputState"] == 0
        assert during == before  # an input level switches nothing
    else:
        assert stats.get("periods-scheduled", 0) == 0 and during == before


def test_limit_apc_level_from_an_untrusted_load_controller_is_refused(keys):
    """Default anchors and a meter no Load Controller was placed on (RTDS's household holds
    one: its profile's `load_controller` taken out), so ECS47e is refused (logged, counted)
    with no response and nothing scheduled."""
    name = "7.16_ECS47e/ECS47e_7.16_APC_OUTPUT_SUCCESS_COMMAND_GBCS.HEX"
    clock = Clock(start_utc=RTDS_TIME)
    profile = json.loads(PROFILE.read_text())
    assert profile.pop("load_controller") == LOAD_CONTROLLER.hex().upper()

    async def main():
        premises = await Premises.start(clock, keys=keys, switch="model", profile=profile)
        premises.esme.set_time(RTDS_TIME)
        before = await premises.switch_states()
        execution = await premises.execute(command(name))
        await sleep_until(premises, PERIOD_START + dt.timedelta(minutes=1))
        return execution, before, await premises.switch_states(), dict(premises.esme.stats)

    execution, before, during, stats = clock.run(main)
    assert execution.outcome == "rejected:unknown-originator" and execution.response is None
    assert during == before and stats["rejected:unknown-originator"] == 1
    assert stats.get("periods-scheduled", 0) == 0
