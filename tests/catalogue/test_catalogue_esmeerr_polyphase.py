"""RTDS's household's ESME is polyphase, as RTDS's answers from …90A0 show it: its ECS29b and
ECS29d SUCCESS responses carry out every instruction on phases 2 and 3, its ECS26k reads them
and its ECS29f resets their counters. So the catalogue's 6.5 templates with each phase's
settings (ECS29b, ECS29d) are carried out whole, the meter's phase 2 and 3 settings change,
and RTDS's ECS26k reads them back; ECS29f zeroes the phase counters. Parametrised by RTDS
file name."""

from __future__ import annotations

import pytest
from catalogue_helpers import CATALOGUE, RTDS, execute, read_hex, recounted

from emulator.backoffice import duis
from emulator.backoffice.transform import transform
from emulator.devices.esme.instructions import item
from gbcs import decode
from gbcs.render import plain
from gbcs.security import mac_apdu

NETWORK_OPERATOR = bytes.fromhex("90B3D51F30020000")
#: RTDS's commands on the polyphase objects that RTDS's ESME answers SUCCESS to
POLYPHASE_COMMANDS = (
    "6.5_ECS29b/ECS29b_6.5_SUCCESS",
    "6.5_ECS29d/ECS29d_6.5_SUCCESS",
    "6.27_ECS29f/ECS29f_6.27_SUCCESS",
    "6.2.1_ECS26k/ECS26k_6.2.1_SUCCESS",
)
ECS26K = "6.2.1_ECS26k/ECS26k_6.2.1_SUCCESS"
#: phase 2 and 3's average voltage counters (IC 3, value group C 52 and 72)
PHASE_COUNTERS = [bytes.fromhex(f"0100{c:02X}{d:02X}0004") for c in (52, 72) for d in (32, 36)]


def rtds(name: str, kind: str) -> bytes:
    return read_hex(RTDS / f"{name}_{kind}_GBCS.HEX")


def results(response: bytes) -> list[str]:
    return [r["result"] for r in plain(decode(response).payload)["results"]]


@pytest.mark.parametrize("name", POLYPHASE_COMMANDS)
def test_rtds_household_carries_out_rtds_polyphase_command(keys, name):
    """Every instruction succeeds, as in RTDS's response, header and results alike."""
    [execution], _ = execute(keys, [rtds(name, "COMMAND")])
    assert execution.outcome == "executed", execution.outcome
    ours, theirs = decode(execution.response), decode(rtds(name, "RESPONSE"))
    assert plain(ours.header) == plain(theirs.header)
    assert results(execution.response) == results(rtds(name, "RESPONSE"))
    assert set(results(execution.response)) == {"success"}


def test_ecs26k_reads_phases_2_and_3_as_rtds(keys):
    """Phases 2 and 3's thresholds read as RTDS's ECS26k has them (phase 1's are the meter's
    own, from RTDS's ECS26b: RTDS's two reads of phase 1 disagree)."""
    [execution], _ = execute(keys, [rtds(ECS26K, "COMMAND")])
    ours = [int(d.value) for d in decode(execution.response).payload.data]
    theirs = [int(d.value) for d in decode(rtds(ECS26K, "RESPONSE")).payload.data]
    assert ours[10:] == theirs[10:] == [96, 126, 96, 126]


def _template_request(use_case: str, counter: int, phases: dict[str, tuple[str, str]]):
    """The catalogue's 6.5 template from the Network Operator, each phase's over / under
    thresholds as given."""
    root = duis.parse((CATALOGUE / f"{use_case}_6.5_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    for block in root.iter(f"{{{duis.SR}}}PolyPhaseVoltageSettings"):
        over, under = phases[block.findtext(f"{{{duis.SR}}}Phase").strip()]
        settings = block.find(f"{{{duis.SR}}}PhaseVoltageSettings")
        settings.find(f"{{{duis.SR}}}AverageRMSOverVoltageThreshold").text = over
        settings.find(f"{{{duis.SR}}}AverageRMSUnderVoltageThreshold").text = under
    duis.set_originator(root, NETWORK_OPERATOR, counter)
    return duis.parse_request(root)


@pytest.mark.parametrize("use_case", ["ECS29b", "ECS29d"])
def test_each_phase_setting_from_the_template_is_what_ecs26k_reads_back(keys, use_case):
    phases = {"1": ("265", "201"), "2": ("250", "210"), "3": ("251", "211")}
    setting = transform(_template_request(use_case, 6001, phases))
    assert setting.use_case.name == use_case
    read = rtds(ECS26K, "COMMAND")
    commands = [recounted(keys, read, 6000), mac_apdu(setting.unsigned_command(), keys.keystore),
                recounted(keys, read, 6002)]  # fmt: skip
    executions, _ = execute(keys, commands)
    assert set(results(executions[1].response)) == {"success"}
    before, after = ([int(d.value) for d in decode(e.response).payload.data[8:]]
                     for e in (executions[0], executions[2]))  # fmt: skip
    # phase 1 over, under; phase 2 under, over; phase 3 under, over (RTDS's ECS26k order)
    assert before == [264, 200, 96, 126, 96, 126]
    assert after == [265, 201, 210, 250, 211, 251]


def test_ecs29f_zeroes_the_phase_counters(keys):
    counted_before: list[int] = []

    async def counted(premises):
        for counter in PHASE_COUNTERS:
            assert premises.esme.store.set(3, counter, 2, item("double-long-unsigned", 17))
            counted_before.append(int(premises.esme.store.get(3, counter, 2).value))

    command = rtds("6.27_ECS29f/ECS29f_6.27_SUCCESS", "COMMAND")
    [execution], premises = execute(keys, [command], before=counted)
    assert set(results(execution.response)) == {"success"}
    assert counted_before == [17] * 4
    assert [int(premises.esme.store.get(3, c, 2).value) for c in PHASE_COUNTERS] == [0] * 4


#: RTDS's ERROR command -> the object whose storage fails: phase 3's average under-voltage
#: threshold (ECS26k's 13th get), phase 3's under-voltage counter (ECS29f's 5th reset)
ERRORS = {
    "6.2.1_ECS26k/ECS26k_6.2.1_ERROR": "0100481F0004",
    "6.27_ECS29f/ECS29f_6.27_ERROR": "010048200004",
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_rtds_error_case_is_answered_as_rtds(keys, name):
    """The failing object hardware_fault, every later instruction other_reason, as RTDS's;
    the reset's response byte for byte (the read's phase 1 values are the meter's own)."""

    async def fault(premises):
        premises.esme.object_faults = {bytes.fromhex(ERRORS[name])}

    [execution], _ = execute(keys, [rtds(name, "COMMAND")], before=fault)
    assert execution.outcome == "executed", execution.outcome
    assert results(execution.response) == results(rtds(name, "RESPONSE"))
    assert "hardware_fault" in results(execution.response)
    if "ECS29f" in name:
        assert execution.response == rtds(name, "RESPONSE")
