"""4.13 Read Prepayment Configuration at the gas meter (GCS21b): the Prepayment attributes (debt
recovery, caps, thresholds), the price's trailing digit and the tariff calendar (each day and
week profile, the seasons, the special days: one Calendar publish each). The DSP's command
from the template is RTDS's byte for byte; RTDS's SUCCESS, ERROR (the Calendar cluster's
hardware failing at the seasons) and NOT_FOUND (a meter with no calendar) answered as RTDS's
byte for byte; what 2.1 (GCS05: the friendly credit calendar) and 2.3 (GCS04) set, 4.13 reads
back, and 1.1.1's tariff calendar is not its. Parametrised by RTDS
file name."""

from __future__ import annotations

import datetime as dt

import pytest
from catalogue_helpers import CATALOGUE, RTDS, read_hex, recounted

from emulator.backoffice import duis
from emulator.backoffice.transform import transform, use_case_for
from emulator.clock import Clock
from emulator.devices.gsme import GasMeter
from emulator.devices.gsme.commands import CALENDAR, GasTariff
from gbcs import decode
from gbcs.message import encode_apdu

GSME = bytes.fromhex("00DB1234567890A1")
RTDS_TIME = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
COMMANDS = sorted(str(p.relative_to(RTDS)) for p in RTDS.glob("4.13_GCS21b/*_COMMAND_GBCS.HEX"))
READ = "4.13_GCS21b/GCS21b_4.13_SUCCESS_COMMAND_GBCS.HEX"
TARIFF = "1.1.1_GCS01a/GCS01a_1.1.1_IMMEDIATE_TOU_SUCCESS_COMMAND_GBCS.HEX"
FRIENDLY = "2.1_GCS05/GCS05_2.1_IMMEDIATE_SUCCESS_COMMAND_GBCS.HEX"
DEBT = "2.3_GCS04/GCS04_2.3_SUCCESS_COMMAND_GBCS.HEX"


@pytest.fixture
def meter(keys):
    return GasMeter(GSME, keys, Clock("simulated"), lambda: RTDS_TIME)


def _read(keys, meter, counter: int):
    """4.13's response payloads: the attributes by (cluster, id), and the publish commands."""
    result = meter.handle(recounted(keys, read_hex(RTDS / READ), counter))
    assert result.outcome == "executed", result.outcome
    attributes, published = {}, []
    for component in decode(result.response).payload.components:
        payload = component.body.frame.payload
        if payload.command == "read_attributes_response":
            attributes.update({(int(component.cluster_id), r.attribute_id): r.value
                               for r in payload.records})  # fmt: skip
        else:
            published.append(payload)
    return attributes, published


def test_the_command_from_the_template_is_rtds():
    rtds = decode(read_hex(RTDS / READ))
    root = duis.parse((CATALOGUE / "GCS21b_4.13_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    duis.set_originator(root, bytes(rtds.originator), rtds.counter)
    ours = transform(duis.parse_request(root), use_case="GCS21b", now=RTDS_TIME)
    end = len(rtds.apdu) - (0 if rtds.signature is None else 1 + len(rtds.signature))
    content = rtds.apdu[rtds.content_offset - rtds.apdu_offset : end]
    assert ours.precommand() == encode_apdu(rtds.header, content, None)
    assert use_case_for("4.13", "gsme") == "GCS21b" and use_case_for("4.13", "esme") == "ECS26a"


@pytest.mark.parametrize("name", COMMANDS)
def test_rtds_command_is_answered_as_rtds(meter, name):
    """RTDS's ERROR: the Calendar cluster fails at its third get (the seasons), the special
    days not carried out; its NOT_FOUND: a meter holding no calendar, each get not_found and
    the rest read on."""
    if "_ERROR_" in name:
        meter.commands.faults[CALENDAR] = 2
    if "_NOT_FOUND_" in name:
        meter.commands.state.friendly_credit = GasTariff()
    result = meter.handle(read_hex(RTDS / name))
    assert result.outcome == "executed", result.outcome
    assert result.response == read_hex(RTDS / name.replace("_COMMAND_", "_RESPONSE_"))


def test_a_new_friendly_credit_calendar_replaces_the_old_one_and_a_tariff_s_does_not(keys, meter):
    """2.1's calendar (type 3) is what 4.13 reads next, whole; 1.1.1's (the tariff's, type 0)
    leaves it as it was."""
    _attributes, before = _read(keys, meter, 9000)
    assert [p.command for p in before].count("publish_day_profile") == 4
    assert meter.handle(recounted(keys, read_hex(RTDS / TARIFF), 9001)).outcome == "executed"
    _attributes, unchanged = _read(keys, meter, 9002)
    assert [dict(p) for p in unchanged] == [dict(p) for p in before]
    assert meter.handle(recounted(keys, read_hex(RTDS / FRIENDLY), 9003)).outcome == "executed"
    _attributes, after = _read(keys, meter, 9004)
    sent = [c.body.frame.payload for c in decode(read_hex(RTDS / FRIENDLY)).payload.components]
    for kind in ("publish_day_profile", "publish_week_profile", "publish_seasons",
                 "publish_special_days"):  # fmt: skip
        ours = [p for p in after if p.command == kind]
        theirs = [p for p in sent if p.command == kind]
        assert [dict(p) for p in ours] == [dict(p) for p in theirs], kind
    assert {p.issuer_calendar_id for p in after} == {473385600}  # none of the old calendar's
    assert {int(p.calendar_type) for p in after if "calendar_type" in p} == {3}


def test_the_debts_set_are_read_back(keys, meter):
    sent = [c.body.frame.payload for c in decode(read_hex(RTDS / DEBT)).payload.components]
    assert meter.handle(read_hex(RTDS / DEBT)).outcome == "executed"
    attributes, _published = _read(keys, meter, 9005)
    time_based = {int(p.debt_amount_type): p for p in sent if p.debt_recovery_method == 0}
    assert (attributes[(0x0705, 0x0216)], attributes[(0x0705, 0x0217)]) == (
        time_based[1].debt_recovery_frequency, time_based[1].debt_recovery_amount)  # fmt: skip
    assert (attributes[(0x0705, 0x0226)], attributes[(0x0705, 0x0227)]) == (
        time_based[3].debt_recovery_frequency, time_based[3].debt_recovery_amount)  # fmt: skip
    payment = next(p for p in sent if p.debt_recovery_method == 1)
    assert attributes[(0x0705, 0x0239)] == payment.debt_recovery_balance_percentage
