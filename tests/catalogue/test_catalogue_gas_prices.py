"""1.2.1 Update Price (Primary Element) and 1.1.1 Update Import Tariff (Primary Element) for
the gas meter (critical GCS01b, GCS01a): the DSP's GBZ pre-command, the Price cluster's
publish_tariff_information (publish_block_thresholds) and publish_price_matrix, for 1.1.1
after the Calendar cluster's calendar, day and week profiles, seasons and special days, from
each of the three templates (TOU now, block future-dated, its cancellation) is RTDS's byte for
byte, and the DSP picks GCS01b / GCS01a for a GSME and ECS01b for an ESME. The GSME carrying
the tariff out: test_catalogue_gas_tariffs.py."""

from __future__ import annotations

import pytest
from catalogue_helpers import CATALOGUE, RTDS, RTDS_TIME, read_hex

from emulator.backoffice import duis
from emulator.backoffice.transform import TransformError, device_use_case, transform
from gbcs import decode

VARIANTS = ("IMMEDIATE_TOU", "FUTURE_DATED_BLOCK", "CANCELLATION_BLOCK")
SRV = {"GCS01b": "1.2.1", "GCS01a": "1.1.1"}


def _precommand(variant: str, use_case: str = "GCS01b") -> bytes:
    srv = SRV[use_case]
    return read_hex(
        RTDS / f"{srv}_{use_case}" / f"{use_case}_{srv}_{variant}_SUCCESS_PRECOMMAND_GBCS.HEX"
    )


def _request(variant: str, edit=None, use_case: str = "GCS01b"):
    rtds = decode(_precommand(variant, use_case))
    name = f"{use_case}_{SRV[use_case]}_{variant}_SUCCESS_REQUEST_DUIS.XML"
    root = duis.parse((CATALOGUE / name).read_bytes())
    if edit is not None:
        edit(root)
    duis.set_originator(root, bytes(rtds.originator), rtds.counter)
    return duis.parse_request(root)


@pytest.mark.parametrize("use_case", SRV)
@pytest.mark.parametrize("variant", VARIANTS)
def test_the_precommand_from_the_template_is_rtds(use_case, variant):
    ours = transform(_request(variant, use_case=use_case), use_case=use_case, now=RTDS_TIME)
    assert ours.critical and ours.user_signs
    assert ours.precommand() == _precommand(variant, use_case)


def test_the_tariff_of_a_cancellation_starts_never():
    ours = decode(transform(_request("CANCELLATION_BLOCK", use_case="GCS01a"),
                            use_case="GCS01a", now=RTDS_TIME).precommand())  # fmt: skip
    starts = {c.body.frame.payload.command: c.body.frame.payload.get("start_time")
              for c in ours.payload.components}  # fmt: skip
    assert starts["publish_tariff_information"] == 0xFFFFFFFF
    assert starts["publish_calendar"] == starts["publish_block_thresholds"] == 0xFFFFFFFE


def test_a_week_profile_short_of_a_day_is_refused():
    def edit(root):
        week = root.find(f".//{{{duis.SR}}}WeekProfile")
        week.remove(week.find(f"{{{duis.SR}}}ReferencedDayName"))

    with pytest.raises(TransformError, match="7 days"):
        transform(_request("IMMEDIATE_TOU", edit, "GCS01a"), use_case="GCS01a", now=RTDS_TIME)


def test_a_cancellation_starts_never():
    ours = decode(transform(_request("CANCELLATION_BLOCK"), use_case="GCS01b",
                            now=RTDS_TIME).precommand())  # fmt: skip
    starts = [c.body.frame.payload.start_time for c in ours.payload.components]
    assert starts == [0xFFFFFFFF, 0xFFFFFFFE]  # RTDS's: the matrix's one second short


def test_the_dsp_picks_the_use_case_by_the_device():
    assert device_use_case("1.2.1", "gsme") == "GCS01b"
    assert device_use_case("1.2.1", "esme") == "ECS01b"
    assert device_use_case("1.2.1", "gpf").startswith("none")
    assert device_use_case("1.1.1", "gsme") == "GCS01a"
    assert device_use_case("1.1.1", "esme") == "ECS01a"


def _set(name: str, value: str):
    def edit(root):
        root.find(f".//{{{duis.SR}}}{name}").text = value

    return edit


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [("CurrencyUnits", "USD", "not GBP or ECB"), ("StandingCharge", "lots", "gas price")],
)
def test_bad_price_elements_are_refused(name, value, message):
    with pytest.raises(TransformError, match=message):
        transform(_request("IMMEDIATE_TOU", _set(name, value)), use_case="GCS01b", now=RTDS_TIME)


def test_a_tou_index_out_of_range_is_refused():
    def edit(root):
        root.find(f".//{{{duis.SR}}}TOUPrice").set("index", "49")

    with pytest.raises(TransformError, match="out of range"):
        transform(_request("IMMEDIATE_TOU", edit), use_case="GCS01b", now=RTDS_TIME)
