"""Every DUIS template through the DSP over real HTTP on 127.0.0.1 to the real emulated
premises (premises_factory.build_premises: Comms Hub, ESME, model HCALCS on the HAN), wall
clock: what the Supplier's own endpoint receives is the device's response (the ESME's, or for
joins, unjoins and CS08 at the HCALCS ...A5 / PPMID ...A4 theirs), verified with the device's
key, saying the command executed (RTDS's header and payload where the premises holds RTDS's
household), with the switch the SRV names changed and the answering device's log updated;
templates whose target the premises does not model are answered E20 (no route), those the
ESME refuses E21.
`vectors/real_premises.json` says which is which. Then the ESME's own alert: a future-dated
calendar activation raises 8F66, which reaches the Supplier's endpoint as a DeviceAlertMessage."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from pathlib import Path

import pytest
from backoffice_helpers import DCCBOXED, DUIS, RTDS, TEMPLATES
from dsp_helpers import GBCS_DATE, build_dsp

from emulator.backoffice import duis, service
from emulator.backoffice.eligibility import IS, Eligibility
from emulator.backoffice.premises_factory import build_premises
from emulator.backoffice.routing import Router
from emulator.backoffice.users import Endpoint, HttpTransport, make_user
from emulator.clock import Clock
from gbcs import decode
from gbcs.alerts import interpret_dlms
from gbcs.keystore import Keystore
from gbcs.render import plain
from gbcs.security import check_message

CASES = {
    k: v
    for k, v in json.loads((Path(__file__).parent / "vectors" / "real_premises.json")
                           .read_text()).items()
    if not k.startswith("_")
}  # fmt: skip
#: the time RTDS's future-datable responses carry: the meter's clock is pinned to it
RTDS_TIME = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
CODES = {"executed": "I0", "no-route": "E20", "device-refused": "E21"}


@pytest.fixture(scope="module")
def gbcs_keys():
    return Keystore.open(DCCBOXED, clock=GBCS_DATE)


def rtds_response(name: str) -> bytes:
    """The RTDS RESPONSE of the template's own case, else its folder's first SUCCESS one."""
    use_case, srv = name.split("_")[:2]
    folder = RTDS / f"{srv}_{use_case}"
    same = folder / name.replace("_REQUEST_DUIS.XML", "_RESPONSE_GBCS.HEX")
    found = [same] if same.exists() else sorted(folder.glob("*_SUCCESS_RESPONSE_GBCS.HEX"))
    return bytes.fromhex(found[0].read_text().strip())


async def with_real_premises(schema, trusted, dsp_signer, gbcs_keys, clock, scenario, **kwargs):
    """A DSP on HTTP (ephemeral port) with only the real premises attached, the Supplier's
    endpoint registered; runs `scenario(dsp, premises, supplier)` and tears it all down."""
    dsp, _double = build_dsp(schema, trusted, dsp_signer, clock=clock,
                             delivery=service.HttpDelivery(), **kwargs)  # fmt: skip
    dsp.router = Router(dsp.router.wan)  # the RTDS test double is not attached
    premises = await build_premises(clock)
    premises.esme.set_time(RTDS_TIME)
    dsp.attach(premises)
    runner = await service.start(dsp, port=0)
    transport = HttpTransport(f"http://127.0.0.1:{service.bound_port(runner)}")
    supplier = make_user("supplier", gbcs_keys, schema, trusted, transport)
    endpoint = Endpoint(supplier)
    dsp.users.set_endpoint(supplier.eui, await endpoint.start())
    try:
        return await scenario(dsp, premises, supplier)
    finally:
        await transport.close()
        await dsp.delivery.close()
        await endpoint.stop()
        await runner.cleanup()
        await premises.close()


def test_every_template_has_a_case():
    assert set(CASES) == {p.name for p in TEMPLATES}


@pytest.mark.parametrize("name", sorted(CASES))
def test_template_against_the_real_premises(name, schema, trusted, dsp, gbcs_keys):
    case = CASES[name]
    extra = {}
    if case.get("eligibility"):
        extra["eligibility"] = Eligibility(extra=((case["eligibility"], IS),))
    template = (DUIS / name).read_bytes()

    async def scenario(dsp_, premises, supplier):
        before = await premises.switch_states()
        body = supplier.prepare(template)
        answers = await supplier.run(body, timeout_s=20)
        await dsp_.drain()
        request = duis.parse_request(duis.parse(body)).request_id
        sent = [c for _rid, c in dsp_.sent_to_premises]
        return (answers, before, await premises.switch_states(), premises, request,
                supplier.eui, sent)  # fmt: skip

    clock = Clock("wall", start_utc=GBCS_DATE)
    answers, before, after, premises, request, user, sent = clock.run(
        lambda: with_real_premises(schema, trusted, dsp, gbcs_keys, clock, scenario, **extra)
    )
    final = answers[-1]
    assert (final.source, final.kind, final.code) == ("endpoint", "response",
                                                      CODES[case["outcome"]])  # fmt: skip
    esme = premises.esme
    #: the device that answers: the ESME, an HCALCS / PPMID answering its own joins and CS08,
    #: the Comms Hub Function its own 8.11, or the GSME what it is sent
    answering = {premises.hub.eui: premises.hub_function, **premises.gbcs_devices,
                 premises.gas.gsme.eui: premises.gas.gsme}  # fmt: skip
    device = esme if "device" not in case else answering[bytes.fromhex(case["device"])]
    if case["outcome"] != "executed":
        assert final.gbcs_payload is None and after == before
        if case["outcome"] == "device-refused":
            assert device.stats[f"rejected:{case['reason']}"] == 1, dict(device.stats)
        else:
            assert sum(v for k, v in esme.stats.items() if k.startswith("rejected")) == 0
        return
    raw = final.gbcs_payload
    response = decode(raw)
    assert response.cra == "response" and premises.verify(raw)  # signed or MAC'd by the device
    assert check_message(response, premises.keys.keystore).outcome == "verified"
    assert response.originator == device.eui and device.stats["executed"] == 1
    other = response.header.other_information
    if other.supplementary_remote_party is None:  # the Supplier's own command
        assert response.target == user and response.counter == request.counter
    else:  # sent by the DSP as ACB on the Supplier's behalf
        assert other.supplementary_remote_party == user
        assert other.supplementary_remote_party_counter == request.counter
    if response.payload_kind == "dlms-access-response":
        assert {r["result"] for r in plain(response.payload)["results"]} == {"success"}
    elif "response_code" in response.payload.fields:  # CS08: firmware version and a code
        assert response.payload.fields.response_code == 0
    else:  # a join / unjoin code
        assert int(response.payload.fields.value if hasattr(response.payload.fields, "value")
                   else response.payload.fields) == 0  # fmt: skip
    if case.get("rtds"):
        expected = decode(rtds_response(name))
        assert plain(response.payload) == plain(expected.payload)
        got, want = plain(response.header), plain(expected.header)
        if case["rtds"] == "acb-counter":  # the DSP's own ACB counter, not RTDS's
            assert response.counter == decode(sent[-1]).counter
            got.pop("transaction_id"), want.pop("transaction_id")
        assert got == want
    slot = case.get("slot")
    if slot is not None:
        assert after[slot]["relay"] == case["relay"]
    assert {s: after[s] for s in after if s != slot} == {s: before[s] for s in before if s != slot}
    if "scheduled" in case:
        assert tuple(case["scheduled"]) in esme.periods
    if "joined" in case:
        assert bytes.fromhex(case["joined"]) in device.device_log
    if "unjoined" in case:
        assert bytes.fromhex(case["unjoined"]) not in device.device_log


def test_future_dated_calendar_alert_reaches_the_supplier(schema, trusted, dsp, gbcs_keys):
    """ECS46c FUTURE_DATED (2030-01-15 09:00) with the meter's clock 2 s before: the response,
    then both 8F66 alerts as DeviceAlertMessages on the Supplier's endpoint."""
    template = DUIS / "ECS46c_6.14.2_FUTURE_DATED_ALL_OPTIONALS_SUCCESS_REQUEST_DUIS.XML"
    due = dt.datetime(2030, 1, 15, 9, 0, tzinfo=dt.UTC)

    async def scenario(dsp_, premises, supplier):
        premises.esme.set_time(due - dt.timedelta(seconds=2))
        answers = await supplier.run(supplier.prepare(template.read_bytes()), timeout_s=20)
        early = [a for a in supplier.received if a.kind == "device-alert"]
        async with asyncio.timeout(20):
            while len([a for a in supplier.received if a.kind == "device-alert"]) < 2:
                await asyncio.sleep(0.1)
        await dsp_.drain()
        received = [a for a in supplier.received if a.kind == "device-alert"]
        return answers, early, received, premises, dsp_

    clock = Clock("wall", start_utc=GBCS_DATE)
    answers, early, received, premises, dsp_ = clock.run(
        lambda: with_real_premises(schema, trusted, dsp, gbcs_keys, clock, scenario)
    )
    assert answers[-1].code == "I0" and early == []
    delivered = [a for a in dsp_.delivered if a.kind == "device-alert"]
    assert len(delivered) == 2 and dsp_.stats.alerts_delivered == 2
    assert {a.user for a in delivered} == {bytes.fromhex("90B3D51F30010000")}  # the Supplier
    obis = []
    for answer in received:  # as the Supplier's endpoint took them (schema + DSP signature)
        assert answer.root.findtext(f".//{{{duis.SR}}}AlertCode") == "8F66"
        raw = answer.gbcs_payload
        alert = decode(raw)
        assert alert.cra == "alert" and premises.verify(raw)
        fields = interpret_dlms(alert.message_code, alert.payload.notification.value)
        assert fields.alert_code == 0x8F66
        obis.append(fields.executed_command.instance_id)
    assert obis == ["0-0:94.44.128.26", "0-0:94.44.128.35"]
