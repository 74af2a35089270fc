"""The RTDS households (emulator/devices/households.py): each ESME's data file names a meter
the RTDS keystore knows (so its commands' MACs verify), no two households share a HAN EUI
(a DSP may attach both), and a command that names no household or does not decode picks none."""

from __future__ import annotations

from devices_helpers import RTDS_KEYSTORE, command

from emulator.devices import households
from emulator.devices.premises import slot_eui

A6_CANCEL = "6.14.3_ECS46d/ECS46d_6.14.3_CANCELLATION_APC_OUTPUT_SUCCESS_COMMAND_GBCS.HEX"
A0_DEACTIVATE = "7.6_ECS47Deactivate/ECS47Deactivate_7.6_SUCCESS_COMMAND_GBCS.HEX"


def han_euis(home: households.Household) -> set[bytes]:
    slots = {slot_eui(home.esme_eui, n, home.profile) for n in range(1, 6)}
    assert len(slots) == 5
    return {home.esme_eui, home.hub_eui} | slots


def test_every_household_esme_has_rtds_keys():
    for home in households.all_households():
        eui = home.esme_eui.hex()
        assert (RTDS_KEYSTORE / f"{eui}-ka.pem").is_file(), eui
        assert (RTDS_KEYSTORE / f"{eui}-ds.pem").is_file(), eui


def test_households_share_no_han_eui():
    homes = households.all_households()
    assert [h.esme_eui.hex().upper() for h in homes] == ["00DB1234567890A0", "00DB1234567890A6"]
    a0, a6 = (han_euis(h) for h in homes)
    assert a0.isdisjoint(a6)


def test_the_command_target_picks_the_household():
    assert households.for_command(command(A6_CANCEL)).esme_eui.hex() == "00db1234567890a6"
    assert households.for_command(command(A0_DEACTIVATE)) == households.default()


def test_no_household_for_an_unknown_or_malformed_command():
    assert households.for_target(bytes.fromhex("00DB1234567890A5")) is None  # RTDS's HCALCS
    assert households.for_command(command(A6_CANCEL)[:40]) is None


def test_premises_kwargs_are_a_fresh_copy():
    home = households.default()
    first = home.premises_kwargs()
    first["profile"]["labels"]["1"] = "changed"
    assert home.premises_kwargs()["profile"]["labels"]["1"] == "ALCS_1_Description"
