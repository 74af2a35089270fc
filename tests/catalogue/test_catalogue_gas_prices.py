"""1.2.1 Update Price (Primary Element) for the gas meter (critical GCS01b): the DSP's GBZ
pre-command, the Price cluster's publish_tariff_information and publish_price_matrix, from
each of the three templates (TOU now, block future-dated, its cancellation) is RTDS's byte for
byte, and the DSP picks GCS01b for a GSME and ECS01b for an ESME. The GSME does not carry the
tariff out yet (it refuses the two Price commands, E21)."""

from __future__ import annotations

import pytest
from catalogue_helpers import CATALOGUE, RTDS, RTDS_TIME, read_hex

from emulator.backoffice import duis
from emulator.backoffice.transform import TransformError, device_use_case, transform
from gbcs import decode

FOLDER = RTDS / "1.2.1_GCS01b"
VARIANTS = ("IMMEDIATE_TOU", "FUTURE_DATED_BLOCK", "CANCELLATION_BLOCK")


def _precommand(variant: str) -> bytes:
    return read_hex(FOLDER / f"GCS01b_1.2.1_{variant}_SUCCESS_PRECOMMAND_GBCS.HEX")


def _request(variant: str, edit=None):
    rtds = decode(_precommand(variant))
    name = f"GCS01b_1.2.1_{variant}_SUCCESS_REQUEST_DUIS.XML"
    root = duis.parse((CATALOGUE / name).read_bytes())
    if edit is not None:
        edit(root)
    duis.set_originator(root, bytes(rtds.originator), rtds.counter)
    return duis.parse_request(root)


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_precommand_from_the_template_is_rtds(variant):
    ours = transform(_request(variant), use_case="GCS01b", now=RTDS_TIME)
    assert ours.critical and ours.user_signs
    assert ours.precommand() == _precommand(variant)


def test_a_cancellation_starts_never():
    ours = decode(transform(_request("CANCELLATION_BLOCK"), use_case="GCS01b",
                            now=RTDS_TIME).precommand())  # fmt: skip
    starts = [c.body.frame.payload.start_time for c in ours.payload.components]
    assert starts == [0xFFFFFFFF, 0xFFFFFFFE]  # RTDS's: the matrix's one second short


def test_the_dsp_picks_the_use_case_by_the_device():
    assert device_use_case("1.2.1", "gsme") == "GCS01b"
    assert device_use_case("1.2.1", "esme") == "ECS01b"
    assert device_use_case("1.2.1", "gpf").startswith("none")


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
