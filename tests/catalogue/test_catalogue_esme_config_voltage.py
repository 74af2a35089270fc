"""6.5 with each phase's voltage settings (ECS29b resetting each phase's counters, ECS29d not):
the DSP's command from each template is RTDS's byte for byte (each in RTDS's own order). The
meter answers for the phases it has: RTDS's household's ESME, polyphase as RTDS's answers show
it (phases 2 and 3's objects in its profile), answers RTDS's commands with RTDS's responses byte
for byte, its ERROR cases too; a single-phase meter (the household without those objects)
carries out phase 1 (the single phase's objects) and the RMS monitors and answers
object_undefined for phases 2 and 3; what is set, 6.2.1 reads back. Parametrised by template
or RTDS file name."""

from __future__ import annotations

import json

import pytest
from catalogue_helpers import CATALOGUE, RTDS, execute, read_hex, recounted

from emulator.backoffice import duis
from emulator.backoffice.transform import TransformError, transform
from emulator.devices.premises import PROFILE
from gbcs import decode
from gbcs.message import encode_apdu
from gbcs.render import plain
from gbcs.security import mac_apdu

USE_CASES = ("ECS29b", "ECS29d")
NETWORK_OPERATOR = bytes.fromhex("90B3D51F30020000")
#: phase 2 and 3's objects (value group C 52 and 72, the profile's `cosem` keys): the average
#: voltage profile's capture period, the average over / under thresholds and counters
POLYPHASE_C = ("010034", "010048")
#: RTDS's ERROR command -> what fails: phase 3's under-voltage counter (ECS29b's 22nd
#: instruction); the voltage sag monitor's period, one attribute (ECS29d's 15th)
FAULTS = {"ECS29b": bytes.fromhex("010048200004"), "ECS29d": bytes.fromhex("0000110003FF06")}


def rtds(use_case: str, kind: str, outcome: str = "SUCCESS") -> bytes:
    [path] = RTDS.glob(f"6.5_{use_case}/*_{outcome}_{kind}_GBCS.HEX")
    return read_hex(path)


def polyphase() -> dict:
    """RTDS's household: its ESME holds phases 2 and 3's objects."""
    profile = json.loads(PROFILE.read_text())
    assert any(key.split("/")[1].startswith(POLYPHASE_C) for key in profile["cosem"])
    return profile


def single_phase() -> dict:
    """RTDS's household without phases 2 and 3's objects."""
    profile = json.loads(PROFILE.read_text())
    profile["cosem"] = {key: value for key, value in profile["cosem"].items()
                        if not key.split("/")[1].startswith(POLYPHASE_C)}  # fmt: skip
    return profile


def _request(use_case: str, counter: int, edit=None):
    root = duis.parse((CATALOGUE / f"{use_case}_6.5_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    if edit is not None:
        edit(root)
    duis.set_originator(root, NETWORK_OPERATOR, counter)
    return duis.parse_request(root)


@pytest.mark.parametrize("use_case", USE_CASES)
def test_the_command_from_the_template_is_rtds(use_case):
    message = decode(rtds(use_case, "COMMAND"))
    ours = transform(_request(use_case, message.counter), use_case="ECS29a")  # the body picks
    assert ours.use_case.name == use_case
    end = len(message.apdu) - (0 if message.signature is None else 1 + len(message.signature))
    content = message.apdu[message.content_offset - message.apdu_offset : end]
    assert ours.unsigned_command() == encode_apdu(message.header, content, b"")


@pytest.mark.parametrize("use_case", USE_CASES)
def test_a_polyphase_meter_answers_rtds_response(keys, use_case):
    [execution], _ = execute(keys, [rtds(use_case, "COMMAND")], profile=polyphase())
    assert execution.outcome == "executed", execution.outcome
    assert execution.response == rtds(use_case, "RESPONSE")


@pytest.mark.parametrize("use_case", USE_CASES)
def test_a_polyphase_meters_error_case_is_rtds(keys, use_case):
    async def fault(premises):
        premises.esme.object_faults = {FAULTS[use_case]}

    command = rtds(use_case, "COMMAND", "ERROR")
    [execution], _ = execute(keys, [command], profile=polyphase(), before=fault)
    assert execution.response == rtds(use_case, "RESPONSE", "ERROR")


def _results(response: bytes) -> list[str]:
    return [r["result"] for r in plain(decode(response).payload)["results"]]


@pytest.mark.parametrize("use_case", USE_CASES)
def test_a_single_phase_meter_answers_for_its_phase_only(keys, use_case):
    """Every instruction on phases 2 and 3 object_undefined, the rest (phase 1, the RMS
    monitors) carried out."""
    message = decode(rtds(use_case, "COMMAND"))
    [execution], premises = execute(keys, [rtds(use_case, "COMMAND")], profile=single_phase())
    assert execution.outcome == "executed"
    other_phases = [bytes(s.instance_id)[2] in (52, 72) for s in message.payload.specifications]
    assert _results(execution.response) == [
        "object_undefined" if other else "success" for other in other_phases
    ]
    assert sum(other_phases) == (10 if use_case == "ECS29b" else 6)
    assert premises.esme.stats["executed"] == 1


def test_phase_1_settings_are_what_6_2_1_reads_back_on_a_single_phase_meter(keys):
    def edit(root):
        phase_1 = root.find(f".//{{{duis.SR}}}PhaseVoltageSettings")
        phase_1.find(f"{{{duis.SR}}}AverageRMSOverVoltageThreshold").text = "262"
        root.find(f".//{{{duis.SR}}}RMSVoltageSagThreshold").text = "205"

    setting = transform(_request("ECS29d", 5001, edit))
    read = read_hex(next(RTDS.glob("6.2.1_ECS26b/*_SUCCESS_COMMAND_GBCS.HEX")))
    commands = [recounted(keys, read, 5000), mac_apdu(setting.unsigned_command(), keys.keystore),
                recounted(keys, read, 5002)]  # fmt: skip
    executions, _ = execute(keys, commands, profile=single_phase())
    before, after = ([int(d.value) for d in decode(e.response).payload.data]
                     for e in (executions[0], executions[2]))  # fmt: skip
    # monitors 1-4 (threshold, period), then the average over and under thresholds
    assert after == [287, 30, 180, 30, 205, 30, 253, 30, 262, 200] != before


@pytest.mark.parametrize(
    ("phase", "match"), [("4", "not one of 1, 2, 3"), ("x", "not a number"), ("1", "once each")]
)
def test_a_bad_phase_is_refused(phase, match):
    def edit(root):
        root.findall(f".//{{{duis.SR}}}Phase")[2].text = phase

    with pytest.raises(TransformError, match=match) as refused:
        transform(_request("ECS29b", 1, edit))
    assert refused.value.code == "E11"
