"""The values a catalogue template carries of its author's, which the user sending it puts in
as its own (emulator/backoffice/user_values.py, the catalogue run's `Carried.fill`).

2.2 (CS01a, CS01b): each template's UTRN is RTDS's Supplier's for the meter the template
names (reissuing it as that Supplier gives it back digit for digit), so a GSME commissioned
for the Gas Supplier refuses it (not authentic, nothing credited) and credits the same value
and counter the Gas Supplier mints itself, which 4.18 (GCS60) then reads; the meter's security
log (6.13 CS10b) holds each refusal's event (8F63 not authentic, 8F51 duplicate).

6.11 / 8.1.1 (GCS28): the template's CurrentDateTime is RTDS's test time; a meter whose
clock is unreliable stays so at a validity interval its time is not in (81C6 logged), and
takes the time from the sender's own now: reliable, 8145 clock adjusted in the event log,
which 6.13 (CS10a) reads back. Parametrised by template name."""

from __future__ import annotations

import datetime as dt

import pytest
from catalogue_helpers import CATALOGUE

from emulator.backoffice import duis, user_values
from emulator.backoffice.transform import device_use_case, transform
from emulator.clock import Clock
from emulator.devices.gsme import GasMeter
from emulator.devices.gsme.commands import CLOCK_ADJUSTED_EVENT, CLOCK_NOT_ADJUSTED_EVENT
from emulator.devices.gsme.prepayment import CREDIT_REMAINING
from gbcs import decode
from gbcs.primitives import datetime_to_seconds2000
from gbcs.security import check_message, mac_apdu, sign

GSME = bytes.fromhex("00DB1234567890A1")
RTDS_SUPPLIER = bytes.fromhex("90B3D51F30010000")
GAS_SUPPLIER = bytes.fromhex("90B3D51F30030000")  # the catalogue's, the household GSME's
#: the meter's time in these tests
NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
TOP_UPS = sorted(p.name for p in CATALOGUE.glob("*_2.2_*SUCCESS_REQUEST_DUIS.XML"))
CLOCKS = ["GCS28_6.11_SUCCESS_REQUEST_DUIS.XML", "GCS28Commission_8.1.1_SUCCESS_REQUEST_DUIS.XML"]


@pytest.fixture
def meter(keys):
    """RTDS's GSME as the catalogue's household has it: the Gas Supplier its Supplier."""
    return GasMeter(GSME, keys, Clock("simulated"), lambda: NOW, supplier=GAS_SUPPLIER)


def _target(xml: bytes) -> bytes:
    rid = duis.parse_request(duis.parse(xml)).request_id
    return bytes(rid.target)


def _command(keys, name: str, xml: bytes, counter: int) -> bytes:
    """The DSP's command from `xml` sent by the Gas Supplier: signed by it where critical,
    MAC'd."""
    root = duis.parse(xml)
    duis.set_originator(root, GAS_SUPPLIER, counter)
    request = duis.parse_request(root)
    srv = request.service_reference_variant
    ours = transform(request, use_case=device_use_case(srv, "gsme"), now=NOW)
    if ours.critical:
        return mac_apdu(sign(ours.precommand(), keys.signer(GAS_SUPPLIER)), keys.keystore)
    return mac_apdu(ours.unsigned_command(), keys.keystore)


def _answer(keys, meter, command: bytes):
    result = meter.handle(command)
    assert result.outcome == "executed", result.outcome
    message = decode(result.response)
    assert check_message(message, keys.keystore).outcome == "verified"
    return message


@pytest.mark.parametrize("name", TOP_UPS)
def test_the_template_utrn_is_rtds_suppliers_for_its_meter(name):
    xml = (CATALOGUE / name).read_bytes()
    named = duis.parse(xml).findtext(f".//{{{duis.SR}}}UTRN").strip()
    keys = user_values.users_keys()
    assert user_values.reissued_utrn(named, keys, RTDS_SUPPLIER, _target(xml)) == named
    assert user_values.fill("2.2", xml, RTDS_SUPPLIER, _target(xml)) == (xml, "")
    own, note = user_values.fill("2.2", xml, GAS_SUPPLIER, _target(xml))
    assert own != xml and note.startswith(f"UTRN {named} -> ")


def _top_up_result(message) -> tuple[int, int, int]:
    payload = message.payload.components[0].body.frame.payload
    return int(payload.result_type), int(payload.top_up_value), int(payload.credit_remaining)


def _credit_read(keys, meter, counter: int) -> int:
    """4.18 (GCS60, the catalogue's template) as the Gas Supplier sends it: the credit
    remaining."""
    name = "GCS60_4.18_SUCCESS_REQUEST_DUIS.XML"
    read = _answer(keys, meter, _command(keys, name, (CATALOGUE / name).read_bytes(), counter))
    records = [(int(c.cluster_id), r) for c in read.payload.components
               for r in c.body.frame.payload.records]  # fmt: skip
    return next(int(r.value) for cluster, r in records
                if (cluster, r.attribute_id) == CREDIT_REMAINING)  # fmt: skip


def test_the_gas_supplier_tops_up_with_its_own_utrn(keys, meter):
    name = "CS01b_2.2_SUCCESS_REQUEST_DUIS.XML"
    xml = (CATALOGUE / name).read_bytes()
    before = _credit_read(keys, meter, 1 << 40)
    refused = _answer(keys, meter, _command(keys, name, xml, (1 << 40) + 1))
    assert _top_up_result(refused) == (1, -1, -1)  # invalid: RTDS's Supplier's, not ours
    assert meter.commands.prepayment.stats["utrn:refused:8F63"] == 1
    at = datetime_to_seconds2000(NOW)
    assert _event_log(keys, meter, (1 << 40) + 2, "Security")[-1] == (0x8F63, at)
    own, _note = user_values.fill("2.2", xml, GAS_SUPPLIER, GSME)
    credited = _answer(keys, meter, _command(keys, name, own, (1 << 40) + 3))
    assert _top_up_result(credited) == (0, 1250000, before + 1250000)  # £12.50, as RTDS's
    assert _credit_read(keys, meter, (1 << 40) + 4) == before + 1250000
    again = _answer(keys, meter, _command(keys, name, own, (1 << 40) + 5))
    assert _top_up_result(again) == (2, -1, -1)  # the same UTRN again: a duplicate
    assert meter.attributes[CREDIT_REMAINING][1] == before + 1250000
    assert _event_log(keys, meter, (1 << 40) + 6, "Security")[-2:] == [(0x8F63, at),
                                                                        (0x8F51, at)]  # fmt: skip


def _event_log(keys, meter, counter: int, log: str = "Event") -> list[tuple[int, int]]:
    """6.13 (the catalogue's CS10a template, its LogToRead `log`) as the Gas Supplier sends
    it: (event, time) of each entry."""
    xml = (CATALOGUE / "CS10a_6.13_SUCCESS_REQUEST_DUIS.XML").read_bytes()
    root = duis.parse(xml)
    root.find(f".//{{{duis.SR}}}LogToRead").text = log
    duis.set_originator(root, GAS_SUPPLIER, counter)
    ours = transform(duis.parse_request(root), use_case="CS10a", now=NOW)
    frame = _answer(keys, meter, mac_apdu(ours.unsigned_command(), keys.keystore))
    payload = frame.payload.components[0].body.frame.payload
    return [(int(e.event_id), int(e.event_time)) for e in payload.events]


@pytest.mark.parametrize("name", CLOCKS)
def test_an_unreliable_clock_takes_the_senders_now(keys, meter, name):
    xml = (CATALOGUE / name).read_bytes()
    meter.commands.state.clock_reliable = False
    stale = _answer(keys, meter, _command(keys, name, xml, 1 << 40)).payload.fields
    assert int(stale.device_time_status) == 2 and not meter.commands.state.clock_reliable
    sent = NOW - dt.timedelta(seconds=3)  # the user's clock, a moment before the meter runs it
    own, note = user_values.fill(name.split("_")[1], xml, GAS_SUPPLIER, GSME, now=lambda: sent)
    assert note == f"CurrentDateTime 2014-12-31T23:30:00.00Z -> {sent:%Y-%m-%dT%H:%M:%S}.00Z, " \
                   "the sender's own"  # fmt: skip
    taken = _answer(keys, meter, _command(keys, name, own, (1 << 40) + 1)).payload.fields
    assert int(taken.device_time_status) == 0 and meter.commands.state.clock_reliable
    assert str(taken.device_time) == f"{NOW:%Y%m%d%H%M%S}Z"
    at = datetime_to_seconds2000(NOW)
    assert _event_log(keys, meter, (1 << 40) + 2)[-2:] == [
        (CLOCK_NOT_ADJUSTED_EVENT, at), (CLOCK_ADJUSTED_EVENT, at)]  # fmt: skip


@pytest.mark.parametrize(
    ("utrn", "user"),
    [
        ("73950067887105178604", GAS_SUPPLIER),  # its check digit wrong: no UTRN
        ("1234", GAS_SUPPLIER),  # too short
        ("73950067887105178605", bytes.fromhex("90B3D51F30000004")),  # no KA key at all
    ],
)
def test_a_utrn_the_sender_cannot_reissue_goes_as_it_is(utrn, user):
    """The meter, not the sender, refuses what is no UTRN or what the sender holds no
    key agreement key for (the Transitional CoS party signs only)."""
    root = duis.parse((CATALOGUE / "CS01b_2.2_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    root.find(f".//{{{duis.SR}}}UTRN").text = utrn
    xml = duis.to_bytes(root)
    assert user_values.fill("2.2", xml, user, GSME) == (xml, "")


def test_the_senders_now_is_utc_whole_seconds():
    xml = (CATALOGUE / "ECS70_6.11_SUCCESS_REQUEST_DUIS.XML").read_bytes()
    local = dt.datetime(2026, 6, 1, 13, 0, 5, 987654, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    own, _note = user_values.fill("6.11", xml, RTDS_SUPPLIER, GSME, now=lambda: local)
    body = duis.parse(own).find(f".//{{{duis.SR}}}SynchroniseClock")
    assert body.findtext(f"{{{duis.SR}}}CurrentDateTime") == "2026-06-01T12:00:05.00Z"
    assert body.findtext(f"{{{duis.SR}}}TolerancePeriod") == "60"  # the template's, kept
