"""Every DUIS template of SRVs 6.14.x, 7.5-7.16, 8.7.x, 8.8.x and 11.2 through the DSP over real HTTP
on 127.0.0.1: Supplier client → serviceT/serviceS → schema, signature, eligibility →
pre-command byte-identical to RTDS → the user's GBCS signature → MAC as ACB → premises →
the device response POSTed, signed, to the Supplier's own endpoint. Parametrised by file."""

from __future__ import annotations

import asyncio

import pytest
from backoffice_helpers import DUIS, RTDS, TEMPLATES
from dsp_helpers import GBCS_DATE, build_dsp

from emulator.backoffice import duis, service
from emulator.backoffice.eligibility import IS, Eligibility
from emulator.backoffice.users import Endpoint, HttpTransport, make_user
from gbcs import decode
from gbcs.keystore import Keystore

SRVS = ("6.14.1", "6.14.2", "6.14.3", "7.5", "7.6", "7.7", "7.8", "7.9", "7.10", "7.11", "7.13",
        "7.14", "7.15", "8.7.1", "8.7.2", "8.8.1", "8.8.2", "11.2")  # fmt: skip
SERVED = [p.name for p in TEMPLATES if p.name.split("_")[1] in SRVS]
# 7.16 (ECS47e) is the Load Controller's: sent here by the Supplier where a DCC lets it
LOAD_CONTROLLER = bytes.fromhex("90B3D51F30010008")
LIMIT_APC = [p.name for p in TEMPLATES if p.name.split("_")[1] == "7.16"]


def rtds(name: str, kind: str) -> bytes | None:
    """The RTDS file of the template's own variant (…_APC_INPUT_SUCCESS_…), else the folder's
    first SUCCESS file of that kind."""
    use_case, srv = name.split("_")[:2]
    folder = RTDS / f"{srv}_{use_case}"
    same = folder / name.replace("_REQUEST_DUIS.XML", f"_{kind}_GBCS.HEX")
    found = [same] if same.exists() else sorted(folder.glob(f"*_SUCCESS_{kind}_GBCS.HEX"))
    return bytes.fromhex(found[0].read_text().strip()) if found else None


@pytest.fixture(scope="module")
def gbcs_keys():
    from backoffice_helpers import DCCBOXED

    return Keystore.open(DCCBOXED, clock=GBCS_DATE)


async def http_round_trip(schema, trusted, dsp_signer, gbcs_keys, who: str, body_of, **kwargs):
    """Start a DSP and the user's endpoint on ephemeral ports; run one request."""
    dsp, premises = build_dsp(schema, trusted, dsp_signer, delivery=service.HttpDelivery(),
                              **kwargs)  # fmt: skip
    runner = await service.start(dsp, port=0)
    url = f"http://127.0.0.1:{service.bound_port(runner)}"
    transport = HttpTransport(url)
    user = make_user(who, gbcs_keys, schema, trusted, transport)
    endpoint = Endpoint(user)
    dsp.users.set_endpoint(user.eui, await endpoint.start())
    try:
        answers = await user.run(user.prepare(body_of()), timeout_s=10)
        await dsp.drain()
    finally:
        await transport.close()
        await dsp.delivery.close()
        await endpoint.stop()
        await runner.cleanup()
    return dsp, premises, user, answers


@pytest.mark.parametrize("name", SERVED + LIMIT_APC)
def test_template_goes_through_over_http(name, schema, trusted, dsp, gbcs_keys):
    template = (DUIS / name).read_bytes()
    extra = {"eligibility": Eligibility(extra=(("7.16", IS),))} if name in LIMIT_APC else {}
    dsp_, premises, user, answers = asyncio.run(
        http_round_trip(schema, trusted, dsp, gbcs_keys, "supplier", lambda: template, **extra)
    )
    critical = duis.parse_request(duis.parse(template)).command_variant == 4
    codes = [(a.source, a.code) for a in answers]
    expected = [("serviceS", "I99"), ("endpoint", "I0")]
    assert codes == ([("serviceT", "I0")] if critical else []) + expected
    if critical:
        precommand = answers[0].root.find(f".//{{{duis.SR}}}PreCommand/{{{duis.SR}}}GBCSPayload")
        issued = __import__("base64").b64decode(precommand.text)
        reference = rtds(name, "PRECOMMAND")
        if name in LIMIT_APC:  # RTDS's sender is the Load Controller; here the Supplier
            reference = reference.replace(LOAD_CONTROLLER, bytes(user.eui), 1)
        assert reference is not None and issued == reference
        # what reached the premises is that pre-command, signed by the user and MAC'd
        sent = decode(premises.received[0])
        assert sent.is_mac_protected and len(sent.signature) == 64
        assert sent.signed_data == issued[1:]
    assert len(premises.received) == 1
    final = answers[-1]
    assert final.kind == "response" and final.request_id == str(
        duis.parse_request(duis.parse(user.prepare(template))).request_id
    )
    assert final.gbcs_payload == rtds(name, "RESPONSE")
    assert dsp_.times.completed() and dsp_.times.late() == []


def test_served_templates_cover_every_srv():
    assert {name.split("_")[1] for name in SERVED} == set(SRVS)
    assert len(LIMIT_APC) == 2


@pytest.mark.parametrize("name", LIMIT_APC)
def test_limit_apc_level_is_refused_e2_by_default(name, schema, trusted, dsp, gbcs_keys):
    """Transformed like the others, but the Supplier may not send 7.16 (the Load Controller's)."""
    template = (DUIS / name).read_bytes()
    dsp_, premises, _, answers = asyncio.run(
        http_round_trip(schema, trusted, dsp, gbcs_keys, "supplier", lambda: template)
    )
    assert [(a.source, a.code) for a in answers] == [("serviceT", "E2")]
    assert premises.received == [] and dsp_.stats.accepted == 0


def test_non_xml_content_type_and_unknown_path(schema, trusted, dsp):
    async def run():
        dsp_, _ = build_dsp(schema, trusted, dsp)
        runner = await service.start(dsp_, port=0)
        base = f"http://127.0.0.1:{service.bound_port(runner)}/api/v1/"
        import aiohttp

        try:
            async with aiohttp.ClientSession() as session:
                async with session.post(
                    base + "serviceS", data=b"{}", headers={"Content-Type": "application/json"}
                ) as r:
                    json_status = r.status
                async with session.post(
                    base + "serviceX", data=b"<a/>", headers={"Content-Type": "application/xml"}
                ) as r:
                    unknown_status = r.status
        finally:
            await runner.cleanup()
        return json_status, unknown_status, dsp_.sent_to_premises

    json_status, unknown_status, sent = asyncio.run(run())
    assert (json_status, unknown_status, sent) == (415, 404, [])


def test_hostile_xml_over_http_gets_a_signed_e40(schema, trusted, dsp):
    laughs = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
              b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><sr:Request '
              b'xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway">&b;</sr:Request>')  # fmt: skip

    async def run():
        dsp_, premises = build_dsp(schema, trusted, dsp)
        runner = await service.start(dsp_, port=0)
        transport = HttpTransport(f"http://127.0.0.1:{service.bound_port(runner)}")
        try:
            return await transport.post("serviceS", laughs), premises
        finally:
            await transport.close()
            await runner.cleanup()

    answer, premises = asyncio.run(run())
    from emulator.backoffice import document

    checked = document.check(answer, schema, trusted, require_signature=True)
    assert duis.response_code_of(checked.root) == "E40" and premises.received == []
