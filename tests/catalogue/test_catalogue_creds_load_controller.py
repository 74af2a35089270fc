"""RTDS's household's ESME holds RTDS's Load Controller (90B3D51F30010008) in its Load
Controller cells, as RTDS's meter does (its CS02f, CS02g responses and ECS47e successes show
it), from the household's data (profile `load_controller`), not from the premises' default
anchors: 6.24.1 CS02fMAC then answers both roles it asks for (RTDS's SUCCESS, the counters
aside), CS02g's response names the cell the meter held (RTDS's byte for byte), ECS47e from
that Load Controller is carried out, and after CS02g replaced its cells it is refused.

Here the premises use the default keys (no Load Controller anchored), so what the meter
trusts comes from the household alone."""

from __future__ import annotations

import json

import pytest
from catalogue_helpers import RTDS, execute, read_hex, recounted

from emulator.devices.keys import PremisesKeys
from emulator.devices.premises import PROFILE
from gbcs import decode
from gbcs.render import plain
from gbcs.security import check_message

LOAD_CONTROLLER = bytes.fromhex("90B3D51F30010008")
LC_ROLE = 8
CS02F = "6.24.1_CS02fMAC/CS02fMAC_6.24.1_SUCCESS"
CS02G = (
    "6.15.1_CS02gLoadControllerBySupplier/CS02gLoadControllerBySupplier_6.15.1_IMMEDIATE_SUCCESS"
)
ECS47E = "7.16_ECS47e/ECS47e_7.16_APC_OUTPUT_SUCCESS"


@pytest.fixture(scope="module")
def keys():
    """The default keys: the Supplier, Network Operator, ACB and Transitional CoS party."""
    keys = PremisesKeys.open()
    assert LOAD_CONTROLLER not in keys.anchors
    return keys


def _file(stem: str, kind: str) -> bytes:
    return read_hex(RTDS / f"{stem}_{kind}_GBCS.HEX")


def _details(message) -> dict[int, dict]:
    """role -> the CS02a/CS02f entry (status, cells) of a response, counters taken out."""
    out = {}
    for entry in plain(message.payload)["tree"]["children"]:
        parts = entry["children"]
        role = int(parts[0]["value"], 16)
        out[role] = {"status": parts[1]["value"], "cells": parts[3] if len(parts) > 3 else None}
    return out


def test_the_household_names_rtds_load_controller():
    assert json.loads(PROFILE.read_text())["load_controller"] == LOAD_CONTROLLER.hex().upper()


def test_cs02f_reads_both_roles_as_rtds(keys):
    [execution], premises = execute(keys, [_file(CS02F, "COMMAND")])
    assert execution.outcome == "executed", execution.outcome
    got, expected = decode(execution.response), decode(_file(CS02F, "RESPONSE"))
    assert plain(got.header) == plain(expected.header)
    ours, theirs = _details(got), _details(expected)
    assert set(ours) == {2, LC_ROLE} and ours == theirs
    assert ours[LC_ROLE]["status"] == "00"  # success, not 25 trust_anchor_not_found
    assert check_message(got, keys.keystore).outcome == "verified"
    assert premises.esme.access.trust.role_of(LOAD_CONTROLLER) == LC_ROLE


def test_cs02g_names_the_cell_the_meter_held_as_rtds(keys):
    [execution], _ = execute(keys, [_file(CS02G, "COMMAND")])
    assert execution.outcome == "executed", execution.outcome
    got, expected = decode(execution.response), decode(_file(CS02G, "RESPONSE"))
    assert plain(got.header) == plain(expected.header)
    assert plain(got.payload) == plain(expected.payload)


def test_the_load_controller_commands_until_its_cells_are_replaced(keys):
    """RTDS's ECS47e from the Load Controller is carried out; after RTDS's CS02g put the
    Supplier's certificates in the Load Controller cells, the same command (next counter)
    is refused: the old Load Controller is no party of the meter's any more."""
    command = _file(ECS47E, "COMMAND")
    again = recounted(keys, command, decode(command).counter + 1)  # re-signed by the LC
    executions, premises = execute(keys, [command, _file(CS02G, "COMMAND"), again])
    first, replaced, after = executions
    assert first.outcome == "executed", first.outcome
    assert replaced.outcome == "executed", replaced.outcome
    assert after.outcome == "rejected:unknown-originator", after.outcome
    assert after.response is None
    assert premises.esme.access.trust.role_of(LOAD_CONTROLLER) is None


def test_without_the_household_entry_no_load_controller_is_held(keys):
    profile = json.loads(PROFILE.read_text())
    del profile["load_controller"]
    [execution], premises = execute(keys, [_file(CS02F, "COMMAND")], profile=profile)
    assert _details(decode(execution.response))[LC_ROLE]["status"] == "19"  # 25: not found
    assert premises.esme.access.trust.role_of(LOAD_CONTROLLER) is None
