"""The gas meter carries out the tariff (emulator/devices/gsme/commands.py): 1.2.1 (GCS01b:
tariff information and price matrix) and 1.1.1 (GCS01a: calendar, day and week profiles,
seasons, special days, tariff information, block thresholds, price matrix). RTDS's SUCCESS
commands answered with RTDS's header and payload, signed by the meter and verifying with its
certificate; its ERROR commands (the Price cluster's hardware failing, at GCS01a's second Price
command) answered as RTDS's: hardware_failure, then failure for the rest; the tariff kept as
sent. Parametrised by RTDS file name."""

from __future__ import annotations

import datetime as dt

import pytest
from catalogue_helpers import RTDS, read_hex

from emulator.clock import Clock
from emulator.devices.gsme import GasMeter
from emulator.devices.gsme.commands import PRICE
from emulator.devices.keys import PremisesKeys
from gbcs import decode
from gbcs.render import plain
from gbcs.security import check_message

GSME = bytes.fromhex("00DB1234567890A1")
RTDS_TIME = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
FOLDERS = ("1.2.1_GCS01b", "1.1.1_GCS01a")
COMMANDS = sorted(str(p.relative_to(RTDS)) for folder in FOLDERS
                  for p in RTDS.glob(f"{folder}/*_COMMAND_GBCS.HEX"))  # fmt: skip
#: the Price commands RTDS's ERROR cases carry out before the hardware fails
CARRIED = {"GCS01b": 0, "GCS01a": 1}


@pytest.fixture(scope="module")
def keys():
    return PremisesKeys.open()


@pytest.fixture
def meter(keys):
    return GasMeter(GSME, keys, Clock("simulated"), lambda: RTDS_TIME)


def test_every_variant_has_its_rtds_files():
    assert len(COMMANDS) == 8  # 3 SUCCESS and 1 ERROR each


@pytest.mark.parametrize("name", COMMANDS)
def test_rtds_command_is_answered_as_rtds(keys, meter, name):
    use_case = name.split("/")[0].split("_")[1]
    if "_ERROR_" in name:
        meter.commands.faults[PRICE] = CARRIED[use_case]
    result = meter.handle(read_hex(RTDS / name))
    assert result.outcome == "executed", result.outcome
    expected = decode(read_hex(RTDS / name.replace("_COMMAND_", "_RESPONSE_")))
    got = decode(result.response)
    assert plain(got.header) == plain(expected.header)
    assert plain(got.payload) == plain(expected.payload)
    assert check_message(got, keys.keystore).outcome == "verified"


def _sent(name: str) -> dict:
    """The command's payloads by command name (profiles: the last of each)."""
    message = decode(read_hex(RTDS / name))
    return {str(c.body.frame.payload.command): c.body.frame.payload
            for c in message.payload.components}  # fmt: skip


def test_the_prices_are_kept(meter):
    name = "1.2.1_GCS01b/GCS01b_1.2.1_IMMEDIATE_TOU_SUCCESS_COMMAND_GBCS.HEX"
    assert meter.commands.state.tariff.tariff_information is None
    assert meter.handle(read_hex(RTDS / name)).outcome == "executed"
    sent, tariff = _sent(name), meter.commands.state.tariff
    assert plain(tariff.tariff_information) == plain(sent["publish_tariff_information"])
    assert plain(tariff.price_matrix) == plain(sent["publish_price_matrix"])
    assert tariff.tariff_information.standing_charge == 22465
    assert tariff.calendar is None  # 1.2.1 leaves the calendar as it was


def test_the_calendar_and_block_tariff_are_kept(meter):
    name = "1.1.1_GCS01a/GCS01a_1.1.1_FUTURE_DATED_BLOCK_SUCCESS_COMMAND_GBCS.HEX"
    assert meter.handle(read_hex(RTDS / name)).outcome == "executed"
    sent, tariff = _sent(name), meter.commands.state.tariff
    for part in ("calendar", "seasons", "special_days", "tariff_information",
                 "block_thresholds", "price_matrix"):  # fmt: skip
        assert plain(getattr(tariff, part)) == plain(sent[f"publish_{part}"]), part
    message = decode(read_hex(RTDS / name))
    days = [c.body.frame.payload for c in message.payload.components
            if c.body.frame.payload.command == "publish_day_profile"]  # fmt: skip
    assert sorted(tariff.day_profiles) == sorted(int(d.day_id) for d in days)
    assert tariff.week_profiles


def test_a_failed_tariff_keeps_no_price_matrix(meter):
    meter.commands.faults[PRICE] = 0
    name = "1.2.1_GCS01b/GCS01b_1.2.1_FUTURE_DATED_BLOCK_ERROR_COMMAND_GBCS.HEX"
    assert meter.handle(read_hex(RTDS / name)).outcome == "executed"
    tariff = meter.commands.state.tariff
    assert tariff.tariff_information is None and tariff.price_matrix is None
