"""4.11.1 Read Tariff (Primary Element) at the gas meter (GCS21f): the Price attributes (block
thresholds, block and tier prices, currency, standing charge), the tariff's calendar (type 0:
each day and week profile, the seasons, the special days) and the current price (publish_price
at the meter's time). The DSP's command from the template is RTDS's byte for byte; RTDS's
SUCCESS, ERROR (the Calendar cluster failing at the special days) and NOT_FOUND (a meter with
no tariff calendar nor price) answered as RTDS's byte for byte; what 1.1.1 (GCS01a) and 1.2.1
(GCS01b: the standing charge) publish, 4.11.1 reads back, and 4.13's friendly credit calendar
is not touched. RTDS's files for this use case are in vectors/. Parametrised by RTDS file name."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from catalogue_helpers import CATALOGUE, RTDS, read_hex, recounted

from emulator.backoffice import duis
from emulator.backoffice.transform import transform, use_case_for
from emulator.clock import Clock
from emulator.devices.gsme import GasMeter
from emulator.devices.gsme.commands import CALENDAR, GasTariff
from gbcs import decode
from gbcs.message import encode_apdu

VECTORS = Path(__file__).parent / "vectors" / "RTDS-4.5.0"
GSME = bytes.fromhex("00DB1234567890A1")
RTDS_TIME = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
COMMANDS = sorted(
    str(p.relative_to(VECTORS)) for p in VECTORS.glob("4.11.1_GCS21f/*_COMMAND_GBCS.HEX")
)
READ = "4.11.1_GCS21f/GCS21f_4.11.1_SUCCESS_COMMAND_GBCS.HEX"
TARIFF = "1.1.1_GCS01a/GCS01a_1.1.1_IMMEDIATE_TOU_SUCCESS_COMMAND_GBCS.HEX"
PRICES = "1.2.1_GCS01b/GCS01b_1.2.1_IMMEDIATE_TOU_SUCCESS_COMMAND_GBCS.HEX"


def _meter(keys, now=lambda: RTDS_TIME) -> GasMeter:
    return GasMeter(GSME, keys, Clock("simulated"), now)


def _read(keys, meter, counter: int):
    """4.11.1's answer: the attributes by id, and the publish commands."""
    result = meter.handle(recounted(keys, read_hex(VECTORS / READ), counter))
    assert result.outcome == "executed", result.outcome
    attributes, published = {}, []
    for component in decode(result.response).payload.components:
        payload = component.body.frame.payload
        if payload.command == "read_attributes_response":
            attributes.update({r.attribute_id: r.value for r in payload.records})
        else:
            published.append(payload)
    return attributes, published


def test_the_command_from_the_template_is_rtds():
    rtds = decode(read_hex(VECTORS / READ))
    root = duis.parse((CATALOGUE / "GCS21f_4.11.1_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    duis.set_originator(root, bytes(rtds.originator), rtds.counter)
    ours = transform(duis.parse_request(root), use_case="GCS21f", now=RTDS_TIME)
    end = len(rtds.apdu) - (0 if rtds.signature is None else 1 + len(rtds.signature))
    content = rtds.apdu[rtds.content_offset - rtds.apdu_offset : end]
    assert ours.precommand() == encode_apdu(rtds.header, content, None)
    assert use_case_for("4.11.1", "gsme") == "GCS21f" and use_case_for("4.11.1", "esme") == "ECS24"


@pytest.mark.parametrize("name", COMMANDS)
def test_rtds_command_is_answered_as_rtds(keys, name):
    meter = _meter(keys)
    if "_ERROR_" in name:
        meter.commands.faults[CALENDAR] = 3  # the special days fail, the price not carried out
    if "_NOT_FOUND_" in name:
        meter.commands.state.tariff, meter.commands.state.current_price = GasTariff(), None
    result = meter.handle(read_hex(VECTORS / name))
    assert result.outcome == "executed", result.outcome
    assert result.response == read_hex(VECTORS / name.replace("_COMMAND_", "_RESPONSE_"))


def test_the_price_is_published_at_the_meter_s_time(keys):
    meter = _meter(keys, now=lambda: RTDS_TIME + dt.timedelta(hours=5))
    _attributes, published = _read(keys, meter, 9000)
    [price] = [p for p in published if p.command == "publish_price"]
    assert EPOCH + dt.timedelta(seconds=price.current_time) == RTDS_TIME + dt.timedelta(hours=5)


def test_what_the_tariff_publishes_4_11_1_reads_back(keys):
    meter = _meter(keys)
    friendly = [dict(p) for p in meter.commands.state.friendly_credit.day_profiles.values()]
    meter.attributes[(0x0700, 0x0301)] = ("uint32", 1)  # another standing charge before
    assert meter.handle(recounted(keys, read_hex(RTDS / TARIFF), 9001)).outcome == "executed"
    assert meter.handle(recounted(keys, read_hex(RTDS / PRICES), 9002)).outcome == "executed"
    attributes, published = _read(keys, meter, 9003)
    sent = {str(c.body.frame.payload.command): c.body.frame.payload
            for c in decode(read_hex(RTDS / PRICES)).payload.components}  # fmt: skip
    assert attributes[0x0301] == sent["publish_tariff_information"].standing_charge
    tariff = [c.body.frame.payload for c in decode(read_hex(RTDS / TARIFF)).payload.components]
    days = [dict(p) for p in published if p.command == "publish_day_profile"]
    assert days == [dict(p) for p in tariff if p.command == "publish_day_profile"]
    assert {int(d["calendar_type"]) for d in days} == {0}
    # 4.13's friendly credit calendar is not the tariff's
    kept = [dict(p) for p in meter.commands.state.friendly_credit.day_profiles.values()]
    assert kept == friendly
