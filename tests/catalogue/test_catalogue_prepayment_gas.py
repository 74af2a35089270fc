"""Prepayment at the GSME (emulator/devices/gsme/prepayment.py): 1.6 Update Payment Mode
(critical GCS02 credit, GCS03 prepayment: change_payment_mode) and 2.2 Top Up Device (CS01b:
consumer_top_up). The DSP's commands from the seven templates are RTDS's (the pre-commands
byte for byte); RTDS's commands are answered with RTDS's header and payload (the top-up's
credit remaining aside: the meter's own), signed where critical, its ERROR cases as RTDS's (a
Prepayment cluster hardware failure; a top-up code that is no UTRN); the payment mode taking
effect now is what 6.2.9 (GCS21j) reads, a future-dated one at its time with RTDS's 8F66, a
cancellation leaves it; a valid UTRN adds its credit to what 4.18 (GCS60) reads, a replayed
or foreign one is refused, nothing credited."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from catalogue_helpers import CATALOGUE, RTDS, read_hex, recounted, rtds_success

from emulator.backoffice import duis
from emulator.backoffice.transform import device_use_case, transform
from emulator.clock import Clock
from emulator.devices import utrn
from emulator.devices.gsme import GasMeter
from emulator.devices.gsme.prepayment import CREDIT_REMAINING, PAYMENT_CONTROL, PREPAYMENT
from gbcs import decode
from gbcs.render import plain
from gbcs.security import check_message, mac_apdu, sign

GSME = bytes.fromhex("00DB1234567890A1")
SUPPLIER = bytes.fromhex("90B3D51F30010000")
RTDS_TIME = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
#: the meter's time when the future-dated commands arrive: a day before RTDS's dates
EVE = dt.datetime(2030, 1, 14, 0, 0, tzinfo=dt.UTC)
MODES = [(u, v) for u in ("GCS02", "GCS03") for v in ("IMMEDIATE", "FUTURE_DATED", "CANCELLATION")]
#: RTDS's starting configuration (prepayment), credit mode's, and the two templates' others
PREPAYMENT_3223, CREDIT, IMMEDIATE_GCS03, FUTURE_GCS03 = 3223, 3220, 2199, 151


def _file(use_case: str, name: str) -> bytes:
    srv = "1.6" if use_case.startswith("GCS") else "2.2"
    return read_hex(RTDS / f"{srv}_{use_case}/{use_case}_{srv}_{name}_GBCS.HEX")


def _request(use_case: str, variant: str, counter: int, edit=None):
    srv = "1.6" if use_case.startswith("GCS") else "2.2"
    name = f"{use_case}_{srv}_{variant + '_' if variant else ''}SUCCESS_REQUEST_DUIS.XML"
    root = duis.parse((CATALOGUE / name).read_bytes())
    if edit is not None:
        edit(root)
    duis.set_originator(root, SUPPLIER, counter)
    return duis.parse_request(root)


def _transform(request):
    """As the DSP does for the GSME: the device type's use case, the body then choosing."""
    srv = request.service_reference_variant
    return transform(request, use_case=device_use_case(srv, "gsme"), now=RTDS_TIME)


@pytest.mark.parametrize(("use_case", "variant"), MODES)
def test_the_payment_mode_precommand_from_the_template_is_rtds(use_case, variant):
    precommand = _file(use_case, f"{variant}_SUCCESS_PRECOMMAND")
    ours = _transform(_request(use_case, variant, decode(precommand).counter))
    assert ours.use_case.name == use_case and ours.critical and ours.user_signs
    assert ours.precommand() == precommand


def test_the_top_up_command_from_the_template_is_rtds():
    rtds = decode(_file("CS01b", "SUCCESS_COMMAND"))
    ours = _transform(_request("CS01b", "", rtds.counter))
    assert ours.use_case.name == "CS01b" and not ours.critical
    got = decode(ours.unsigned_command())
    assert plain(got.header) == plain(rtds.header) and plain(got.payload) == plain(rtds.payload)


def _meter(keys, now=lambda: RTDS_TIME, clock=None) -> GasMeter:
    return GasMeter(GSME, keys, clock or Clock("simulated"), now)


@pytest.mark.parametrize(
    "name",
    [f"{v}_SUCCESS" for _u, v in MODES[:3]] + ["IMMEDIATE_ERROR"],
)
@pytest.mark.parametrize("use_case", ["GCS02", "GCS03"])
def test_rtds_payment_mode_command_is_answered_as_rtds(keys, use_case, name):
    meter = _meter(keys)
    if name.endswith("ERROR"):  # RTDS's: the Prepayment cluster's hardware fails
        meter.commands.faults = {PREPAYMENT: 0}
    result = meter.handle(_file(use_case, f"{name}_COMMAND"))
    assert result.outcome == "executed", result
    got, want = decode(result.response), decode(_file(use_case, f"{name}_RESPONSE"))
    assert plain(got.header) == plain(want.header)
    assert plain(got.payload) == plain(want.payload)
    assert got.signature is not None and check_message(got, keys.keystore).outcome == "verified"
    if name.endswith("ERROR"):
        assert meter.attributes[PAYMENT_CONTROL][1] == PREPAYMENT_3223  # unchanged


@pytest.mark.parametrize("case", ["SUCCESS", "ERROR"])
def test_rtds_top_up_is_answered_as_rtds(keys, case):
    meter = _meter(keys)
    before = meter.attributes[CREDIT_REMAINING][1]
    result = meter.handle(_file("CS01b", f"{case}_COMMAND"))
    got, want = decode(result.response), decode(_file("CS01b", f"{case}_RESPONSE"))
    assert plain(got.header) == plain(want.header)
    assert check_message(got, keys.keystore).outcome == "verified"
    ours, theirs = (plain(m.payload)["components"][0]["body"]["frame"] for m in (got, want))
    if case == "SUCCESS":  # the credit remaining is the meter's own: ours started elsewhere
        assert ours["payload"].pop("credit_remaining") == before + 1250000
        theirs["payload"].pop("credit_remaining")
    else:  # RTDS's code is no UTRN (its check digit): invalid, nothing credited
        assert result.response == _file("CS01b", "ERROR_RESPONSE")
        assert meter.attributes[CREDIT_REMAINING][1] == before
    assert ours == theirs


def _read(keys, meter, use_case: str, counter: int, attribute: tuple | None = None) -> int:
    """An attribute (default the first) RTDS's read `use_case` asks for, as the meter
    answers it."""
    response = decode(meter.handle(recounted(keys, read_hex(rtds_success(use_case)),
                                             counter)).response)  # fmt: skip
    records = [(int(c.cluster_id), r) for c in response.payload.components
               for r in c.body.frame.payload.records]  # fmt: skip
    return int(next(r.value for cluster, r in records
                    if attribute in (None, (cluster, r.attribute_id))))  # fmt: skip


def _signed(keys, request) -> bytes:
    return mac_apdu(sign(_transform(request).precommand(), keys.signer(SUPPLIER)), keys.keystore)


def test_the_mode_now_is_what_the_payment_mode_read_shows(keys):
    meter = _meter(keys)
    assert _read(keys, meter, "GCS21j", 5000) == PREPAYMENT_3223
    assert meter.handle(_signed(keys, _request("GCS02", "IMMEDIATE", 5001))).outcome == "executed"
    assert _read(keys, meter, "GCS21j", 5002) == CREDIT
    assert meter.handle(_signed(keys, _request("GCS03", "IMMEDIATE", 5003))).outcome == "executed"
    assert _read(keys, meter, "GCS21j", 5004) == IMMEDIATE_GCS03


def run_past_the_date(keys, commands):
    """The commands on the eve of RTDS's date, then two days on the meter's clock:
    (the configuration before and after, the meter's alerts)."""
    clock = Clock("simulated")

    async def main():
        start = clock.now()
        meter = _meter(keys, lambda: EVE + dt.timedelta(seconds=clock.now() - start), clock)
        for command in commands:
            assert meter.handle(command(meter)).outcome == "executed"
        before = meter.attributes[PAYMENT_CONTROL][1]
        await asyncio.sleep(2 * 86400)
        return before, meter.attributes[PAYMENT_CONTROL][1], meter.alerts

    return clock.run(main)


@pytest.mark.parametrize(("use_case", "after"), [("GCS02", CREDIT), ("GCS03", FUTURE_GCS03)])
def test_a_future_dated_mode_takes_effect_at_its_time_and_alerts(keys, use_case, after):
    counter = decode(_file(use_case, "FUTURE_DATED_SUCCESS_PRECOMMAND")).counter
    command = _signed(keys, _request(use_case, "FUTURE_DATED", counter))
    before, later, alerts = run_past_the_date(keys, [lambda _meter: command])
    assert (before, later) == (PREPAYMENT_3223, after)
    [ours] = [decode(a) for a in alerts]
    [theirs] = [decode(read_hex(p)) for p in RTDS.glob(f"1.6_{use_case}/*_8F66_*")]
    assert check_message(ours, keys.keystore).outcome == "verified"
    assert plain(ours.payload) == plain(theirs.payload)


def test_a_cancellation_leaves_the_mode(keys):
    counter = decode(_file("GCS02", "FUTURE_DATED_SUCCESS_PRECOMMAND")).counter
    future = _signed(keys, _request("GCS02", "FUTURE_DATED", counter))
    cancel = _signed(keys, _request("GCS02", "CANCELLATION", counter + 1))
    before, later, alerts = run_past_the_date(keys, [lambda _m: future, lambda _m: cancel])
    assert (before, later, alerts) == (PREPAYMENT_3223, PREPAYMENT_3223, [])


def _top_up(keys, code: str, counter: int) -> bytes:
    def edit(root):
        root.find(f".//{{{duis.SR}}}UTRN").text = code

    return mac_apdu(_transform(_request("CS01b", "", counter, edit)).unsigned_command(),
                    keys.keystore)  # fmt: skip


def _top_up_result(response: bytes) -> tuple[int, int]:
    payload = decode(response).payload.components[0].body.frame.payload
    return int(payload.result_type), int(payload.top_up_value)


def test_a_top_up_is_credited_once_and_read_back(keys):
    meter = _meter(keys)
    start = _read(keys, meter, "GCS60", 100, CREDIT_REMAINING)
    code = utrn.mint(keys.keystore, SUPPLIER, GSME, 7 << 32, 20)  # £20
    first = meter.handle(_top_up(keys, code, 7 << 32))
    again = meter.handle(_top_up(keys, code, 8 << 32))
    assert _top_up_result(first.response) == (0, 2000000)
    assert _top_up_result(again.response) == (2, -1)  # duplicate
    assert _read(keys, meter, "GCS60", 9 << 32, CREDIT_REMAINING) == start + 2000000
    assert meter.commands.prepayment.stats["utrn:refused:8F51"] == 1


@pytest.mark.parametrize(
    ("name", "meter_eui", "pounds", "result"),
    [
        ("another meter's", bytes.fromhex("00DB1234567890A0"), 20, 1),
        ("more than one top-up may add", GSME, 60, 6),
    ],  # fmt: skip
)
def test_a_bad_top_up_is_refused(keys, name, meter_eui, pounds, result):
    meter = _meter(keys)
    before = meter.attributes[CREDIT_REMAINING][1]
    code = utrn.mint(keys.keystore, SUPPLIER, meter_eui, 7 << 32, pounds)
    answered = meter.handle(_top_up(keys, code, 7 << 32))
    assert _top_up_result(answered.response) == (result, -1), name
    assert meter.attributes[CREDIT_REMAINING][1] == before
