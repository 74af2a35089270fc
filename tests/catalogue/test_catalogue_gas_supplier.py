"""Gas in RTDS's household, commissioned for DCC Boxed's Gas Supplier: the RTDS profile puts
RTDS's GSME and its GPF on the premises; both trust the Gas Supplier 90B3D51F30030000 as
their Supplier (what a gas meter commissioned for that supplier holds), so the DCC's gas
templates, sent as the GS role, are answered with a response MAC'd for the Gas Supplier;
RTDS's own gas command, from the electricity Supplier, is an unknown originator there; the
ESME's anchors do not change. Feeder and generated households leave the gas out (their
EUIs are RTDS's household's). Parametrised by RTDS file name."""

from __future__ import annotations

import json

import pytest
from catalogue_helpers import RTDS, execute, read_hex

from emulator.backoffice.premises_factory import GeneratedHousehold
from emulator.devices.premises import PROFILE
from emulator.grid.population import PremisesPlan, SwitchPlan
from emulator.scenario.world import _profile
from gbcs import decode
from gbcs.message import encode_apdu
from gbcs.security import mac_apdu, verify_message_mac

GAS_SUPPLIER = bytes.fromhex("90B3D51F30030000")
GSME, GPF = bytes.fromhex("00DB1234567890A1"), bytes.fromhex("00DB1234567890A3")
TO_GPF = "4.18_GCS60a/GCS60a_4.18_SUCCESS_RELIABLE_GPF_COMMAND_GBCS.HEX"
TO_GSME = "7.4_GCS33/GCS33_7.4_SUCCESS_COMMAND_GBCS.HEX"
ESME_READ = "11.2_ECS52/ECS52_11.2_SUCCESS_COMMAND_GBCS.HEX"


def as_sender(keys, raw: bytes, originator: bytes) -> bytes:
    """An RTDS (clear, unsigned) command as `originator` sends it: MAC'd with its KA key."""
    message = decode(raw)
    assert not message.signature
    header = message.header
    header.originator = originator
    end = len(message.apdu) - (0 if message.signature is None else 1)  # its empty signature
    content = bytes(message.apdu[message.content_offset - message.apdu_offset : end])
    return mac_apdu(encode_apdu(header, content, b""), keys.keystore)


def test_the_rtds_profile_puts_gas_on_the_premises_for_the_gas_supplier():
    gas = json.loads(PROFILE.read_text())["gas"]
    assert (bytes.fromhex(gas["gsme"]), bytes.fromhex(gas["gpf"])) == (GSME, GPF)
    assert bytes.fromhex(gas["supplier"]) == GAS_SUPPLIER
    assert 0 < gas["wake_interval_s"] <= 5  # a catalogue run waits for each wake-up


@pytest.mark.parametrize("name", [TO_GPF, TO_GSME])
def test_the_gas_supplier_is_answered_and_the_electricity_supplier_refused(keys, name):
    rtds = read_hex(RTDS / name)
    ours = as_sender(keys, rtds, GAS_SUPPLIER)
    executions, premises = execute(keys, [ours, rtds])
    answered, refused = executions
    assert answered.outcome == "executed", answered.outcome
    response = decode(answered.response)
    assert bytes(response.target) == GAS_SUPPLIER and response.counter == decode(ours).counter
    verify_message_mac(response, keys.keystore)  # MAC'd for the Gas Supplier
    assert refused.outcome == "rejected:unknown-originator" and refused.response is None
    assert premises.device_ids[GSME.hex().upper()] == "GSME"


def test_the_esme_still_refuses_the_gas_supplier(keys):
    command = as_sender(keys, read_hex(RTDS / ESME_READ), GAS_SUPPLIER)
    (execution,), _premises = execute(keys, [command])
    assert execution.outcome == "rejected:unknown-originator"


def test_feeder_and_generated_households_have_no_gas():
    base = json.loads(PROFILE.read_text())
    plan = PremisesPlan(1, "LV-TEST-P001", 7.0, (SwitchPlan(2, "hcalcs", "EV charger"),))
    feeder = _profile(base, plan)
    generated = GeneratedHousehold(7).profile()
    assert "gas" in base and "gas" not in feeder and "gas" not in generated
    assert feeder["gbcs_devices"] == {} and "gbcs_devices" not in generated
