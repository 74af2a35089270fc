"""Shared pieces of the device tests: the RTDS command table, running one command through a
premises with its faults, and comparing the answer with the RTDS response."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from emulator.devices import households
from gbcs import decode
from gbcs.render import plain

ROOT = Path(__file__).resolve().parents[2]
RTDS = ROOT.parent / "shared" / "rtds" / "RTDS-4.5.0"
RTDS_KEYSTORE = ROOT.parent / "shared" / "rtds" / "keystore"
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


async def run_case(premises, name: str):
    """Apply the case's faults, execute the RTDS command, clear the faults; returns
    (execution, states before)."""
    case = CASES[name]
    fault = case.get("fault", {})
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
