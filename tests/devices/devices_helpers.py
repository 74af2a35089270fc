"""Shared pieces of the device tests: the RTDS command table, running one command through a
premises with its faults, and comparing the answer with the RTDS response."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from emulator import data
from emulator.devices import households
from gbcs import decode
from gbcs.render import plain

ROOT = Path(__file__).resolve().parents[2]
RTDS = data.rtds()
RTDS_KEYSTORE = data.rtds_keystore()
VECTORS = Path(__file__).with_name("vectors")
CASES: dict = {
    k: v
    for k, v in json.loads((VECTORS / "rtds_commands.json").read_text()).items()
    if not k.startswith("_")
}
#: RTDS responses of the future-datable use cases carry this date-time
RTDS_TIME = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)


def read_hex(path: Path) -> bytes:
    return bytes.fromhex(path.read_text().strip())


def command(name: str) -> bytes:
    return read_hex(RTDS / name)


def household(name: str) -> households.Household:
    """The household the command's target picks (as `gbhan emulate command` does); it must be
    the one the case names (default RTDS's ESME ...A0)."""
    chosen = households.for_command(command(name))
    assert chosen is not None, f"{name}: no RTDS household has its target"
    wanted = CASES[name].get("household", "00DB1234567890A0")
    assert chosen.esme_eui == bytes.fromhex(wanted), (name, chosen.esme_eui.hex())
    return chosen


def expected_response(name: str) -> bytes:
    return read_hex(RTDS / name.replace("_COMMAND_", "_RESPONSE_"))


BOOST_SLOT = bytes.fromhex("00005E2C06")  # + slot: the boost association (ECS62)
LABEL = bytes.fromhex("00005E2C00")  # + 10 + slot: the description label (ECS46a)
OTHER_LABEL = "Heat Pump"


def config_writes(name: str) -> list[tuple[int, str, object]]:
    """(slot, config key, value) the command writes to switches, in instruction order
    (7.9/7.10 boost associations, 6.14.1 labels)."""
    message = decode(command(name))
    if message.payload_kind != "dlms-access-request":
        return []
    writes = []
    for spec, item in zip(message.payload.specifications, message.payload.data, strict=True):
        obis = bytes(spec.instance_id)
        if str(spec.kind) != "set":
            continue
        if obis[:5] == BOOST_SLOT and 1 <= obis[5] <= 5:
            writes.append((obis[5], "boost_associated", bool(item.value)))
        elif obis[:5] == LABEL and 11 <= obis[5] <= 15:
            writes.append((obis[5] - 10, "label", str(item.value)))
    return writes


def _opposite(key: str, value):
    return (not value) if key == "boost_associated" else OTHER_LABEL


async def run_case(premises, name: str):
    """Apply the case's faults, execute the RTDS command, clear the faults; returns
    (execution, states before). Switches the command configures are first set to the
    opposite (so a write that never happened shows); `execution.config` holds each
    switch's configuration afterwards."""
    case = CASES[name]
    fault = case.get("fault", {})
    for slot, key, value in config_writes(name):
        if key == "boost_associated":
            await premises.esme.set_boost_association(slot, not value)
        else:
            await premises.switches[slot].set_label(OTHER_LABEL)
    for slot in fault.get("switch_slots", []):
        await premises.switches[slot].set_fault(True)
    premises.esme.object_faults = {bytes.fromhex(o) for o in fault.get("esme_objects", [])}
    premises.esme.set_time(RTDS_TIME)
    before = await premises.switch_states()
    try:
        execution = await premises.execute(command(name))
    finally:
        for slot in fault.get("switch_slots", []):
            await premises.switches[slot].set_fault(False)
        premises.esme.object_faults = set()
    execution.config = {slot: await unit.config() for slot, unit in premises.switches.items()}
    return execution, before


def check_against_rtds(name: str, execution, before: dict) -> None:
    """The assertions of the Done-when: state, decoding, MAC/signature, RTDS payload."""
    case = CASES[name]
    assert execution.outcome == "executed", execution.outcome
    expected = decode(expected_response(name))
    got = decode(execution.response)  # decodes with gbcs
    assert execution.response_verified is True
    assert got.kind == expected.kind  # signed where RTDS signs, MAC'd where RTDS MACs
    assert plain(got.payload) == plain(expected.payload)
    assert plain(got.header) == plain(expected.header)
    if got.kind == "mac":  # deterministic: byte for byte, MAC included
        assert execution.response == expected_response(name)
    slot = case.get("slot")
    for number, state in execution.switch.items():
        if number != slot or case["expect"] == "unchanged":
            assert state == before[number], (number, state, before[number])
        else:
            assert state["relay"] == case["expect"], (number, state)
    check_config_writes(name, execution)


def check_config_writes(name: str, execution) -> None:
    """Every boost association / label the command sets reached its switch, up to the first
    faulty switch; from there on (hardware_fault, then other_reason) none did."""
    faulty = set(CASES[name].get("fault", {}).get("switch_slots", []))
    failed = False
    for slot, key, value in config_writes(name):
        failed = failed or slot in faulty
        expected = _opposite(key, value) if failed else value
        shown = execution.config[slot][key]
        if key == "label":  # a board's console shows spaces as _
            expected, shown = str(expected).replace(" ", "_"), str(shown).replace(" ", "_")
        assert shown == expected, (name, slot, key, shown, expected)
