"""Commands the meter must refuse, with no switch change and no response; and the Network
Operator's SRV 7.5-7.8, re-originated from RTDS, against the SECMP0046 switch."""

from __future__ import annotations

import pytest
from devices_helpers import RTDS_TIME, command

from emulator.clock import Clock
from emulator.devices.keys import NETWORK_OPERATOR
from emulator.devices.outcomes import Outcome, RejectReason
from emulator.devices.premises import Premises
from emulator.devices.reoriginate import reoriginate

ACTIVATE = "7.5_ECS47Activate/ECS47Activate_7.5_SUCCESS_COMMAND_GBCS.HEX"
DEACTIVATE = "7.6_ECS47Deactivate/ECS47Deactivate_7.6_SUCCESS_COMMAND_GBCS.HEX"
DEACTIVATE_LATER = "7.6_ECS47Deactivate/ECS47Deactivate_7.6_ERROR_COMMAND_GBCS.HEX"  # ctr 1004
READ = "7.7_ECS61a/ECS61a_7.7_ALL_OPTIONALS_SUCCESS_COMMAND_GBCS.HEX"
RESET = "7.8_ECS47Reset/ECS47Reset_7.8_SUCCESS_COMMAND_GBCS.HEX"
#: a party RTDS's meter holds no cell of: DCC Boxed's Gas Supplier (its keys are in the keystore)
UNKNOWN_PARTY = bytes.fromhex("90B3D51F30030000")


def run(keys, commands, **options):
    """Execute commands in order on one fresh premises; returns (executions, states before)."""
    clock = Clock(start_utc=RTDS_TIME)

    async def main():
        premises = await Premises.start(clock, keys=keys, **options)
        before = await premises.switch_states()
        return [await premises.execute(c) for c in commands], before

    return clock.run(main)


def as_network_operator(keys, name: str) -> bytes:
    return reoriginate(
        command(name), NETWORK_OPERATOR, keys.signer(NETWORK_OPERATOR), keys.keystore
    )


def refused(execution, before, reason: str) -> None:
    assert execution.outcome == f"rejected:{reason}"
    assert execution.status is Outcome.REJECTED and execution.reason is RejectReason(reason)
    assert execution.as_json()["outcome"] == f"rejected:{reason}"
    assert execution.response is None
    assert execution.switch == before


@pytest.mark.parametrize("name", [DEACTIVATE, READ, RESET])
def test_network_operator_commands_accepted_with_secmp0046(keys, name):
    (execution,), _ = run(keys, [as_network_operator(keys, name)], secmp0046_hcalcs=True)
    assert execution.outcome == "executed" == execution.status == Outcome.EXECUTED
    assert execution.reason is None
    assert execution.response_verified is True


@pytest.mark.parametrize("name", [DEACTIVATE, READ, RESET])
def test_network_operator_commands_refused_without_secmp0046(keys, name):
    (execution,), before = run(keys, [as_network_operator(keys, name)], secmp0046_hcalcs=False)
    refused(execution, before, "role-not-permitted")


def test_network_operator_may_never_activate(keys):
    (execution,), before = run(keys, [as_network_operator(keys, ACTIVATE)], secmp0046_hcalcs=True)
    refused(execution, before, "role-not-permitted")


def test_network_operator_deactivation_opens_the_switch(keys):
    (execution,), before = run(keys, [as_network_operator(keys, DEACTIVATE)])
    assert before[3]["relay"] == "closed"
    assert execution.switch[3] == {"relay": "open", "level": 0}


def test_unknown_originator_is_refused(keys):
    forged = reoriginate(
        command(DEACTIVATE), UNKNOWN_PARTY, keys.signer(UNKNOWN_PARTY), keys.keystore
    )
    (execution,), before = run(keys, [forged])
    refused(execution, before, "unknown-originator")


def test_bad_signature_is_refused(keys):
    # signed by the Network Operator's key but naming the Supplier as originator
    forged = reoriginate(
        command(DEACTIVATE),
        bytes.fromhex("90B3D51F30010000"),
        keys.signer(NETWORK_OPERATOR),
        keys.keystore,
    )
    (execution,), before = run(keys, [forged])
    refused(execution, before, "bad-signature")


def test_bad_mac_is_refused(keys):
    data = bytearray(command(DEACTIVATE))
    data[-1] ^= 0x01
    (execution,), before = run(keys, [bytes(data)])
    refused(execution, before, "bad-mac")


def replay_after_reset(keys, first_command: bytes, second_command: bytes):
    """Execute `first_command` (7.6: slot 3 opens), put slot 3 back to closed (7.8), then
    `second_command`: a refused 7.6 must leave it closed and reach no switch at all."""
    clock = Clock(start_utc=RTDS_TIME)

    async def main():
        premises = await Premises.start(clock, keys=keys)
        first = await premises.execute(first_command)
        await premises.esme.command_slot(3, "7.8")
        reset = await premises.switch_states()
        received = {slot: unit.received for slot, unit in premises.switches.items()}
        second = await premises.execute(second_command)
        frames = {slot: unit.received - received[slot] for slot, unit in premises.switches.items()}
        return first, reset, second, frames

    return clock.run(main)


def test_replay_is_refused(keys):
    first, reset, second, frames = replay_after_reset(
        keys, command(DEACTIVATE), command(DEACTIVATE)
    )
    assert first.outcome == "executed" and first.switch[3]["relay"] == "open"
    assert reset[3]["relay"] == "closed"  # a replay that ran would open it again
    refused(second, reset, "replay")
    assert frames == {slot: 0 for slot in frames}  # no ZCL frame reached any switch


def test_old_counter_is_refused(keys):
    first, reset, second, frames = replay_after_reset(
        keys, command(DEACTIVATE_LATER), command(DEACTIVATE)
    )
    assert first.outcome == "executed" and first.switch[3]["relay"] == "open"
    assert reset[3]["relay"] == "closed"
    refused(second, reset, "old-counter")
    assert frames == {slot: 0 for slot in frames}


def test_unknown_target_is_refused(keys):
    # the RTDS file names ...90A6, RTDS's other ESME: not in this (the ...A0) hub's device log
    name = "6.14.3_ECS46d/ECS46d_6.14.3_CANCELLATION_APC_OUTPUT_SUCCESS_COMMAND_GBCS.HEX"
    (execution,), before = run(keys, [command(name)])
    refused(execution, before, "unknown-target")


def test_slot_without_switch_is_refused(keys):
    (execution,), before = run(keys, [command(ACTIVATE)], slots=(2, 3))
    refused(execution, before, "no-switch")
    assert set(execution.switch) == {2, 3}


def test_malformed_command_is_refused(keys):
    (execution,), before = run(keys, [command(DEACTIVATE)[:40]])
    refused(execution, before, "malformed")
