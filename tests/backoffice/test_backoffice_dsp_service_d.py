"""serviceD over real HTTP: 8.2 Read Inventory by DeviceID answered at once with the DSP's
inventory of that premises, signed and schema-valid (the shape of DCC Boxed's own answer);
other non-device services, other search keys and unknown devices refused with their code."""

from __future__ import annotations

import asyncio

import pytest
from backoffice_helpers import DCCBOXED, RESPONSES
from dsp_helpers import GBCS_DATE, build_dsp
from lxml import etree

from emulator.backoffice import duis, service, xmlsig
from emulator.backoffice.inventory import RTDS_DEVICES
from emulator.backoffice.users import HttpTransport, make_user
from gbcs.keystore import Keystore

SR = duis.SR
DSP_EUI = "90-B3-D5-1F-30-00-00-02"


def request(srv: str, body_xml: str, counter: int = 1, target: str = DSP_EUI) -> bytes:
    """A variant 8 request as a DCC Boxed client writes it (the user signs it on sending)."""
    return (f'<sr:Request xmlns:sr="{SR}" schemaVersion="5.4"><sr:Header>'
            f"<sr:RequestID>90-B3-D5-1F-30-01-00-00:{target}:{counter}</sr:RequestID>"
            f"<sr:CommandVariant>8</sr:CommandVariant><sr:ServiceReference>{srv}"
            f"</sr:ServiceReference><sr:ServiceReferenceVariant>{srv}</sr:ServiceReferenceVariant>"
            f"</sr:Header><sr:Body>{body_xml}</sr:Body></sr:Request>").encode()  # fmt: skip


def read_inventory(device: str) -> bytes:
    return request("8.2", f"<sr:ReadInventory><sr:DeviceID>{device}</sr:DeviceID>"
                          "</sr:ReadInventory>")  # fmt: skip


@pytest.fixture(scope="module")
def gbcs_keys():
    return Keystore.open(DCCBOXED, clock=GBCS_DATE)


def over_http(schema, trusted, dsp_signer, gbcs_keys, *bodies):
    async def run():
        dsp, premises = build_dsp(schema, trusted, dsp_signer)
        runner = await service.start(dsp, port=0)
        transport = HttpTransport(f"http://127.0.0.1:{service.bound_port(runner)}")
        user = make_user("supplier", gbcs_keys, schema, trusted, transport)
        try:
            answers = [await user.submit(user.prepare(body)) for body in bodies]
        finally:
            await transport.close()
            await runner.cleanup()
        return answers, premises

    return asyncio.run(run())


def test_read_inventory_by_device_id(schema, trusted, dsp, gbcs_keys):
    (answers,), premises = over_http(schema, trusted, dsp, gbcs_keys,
                                     read_inventory("00-DB-12-34-56-78-90-A0"))  # fmt: skip
    (answer,) = answers  # synchronous: no endpoint delivery
    assert (answer.source, answer.code) == ("serviceD", "I0")
    devices = answer.root.findall(f".//{{{SR}}}DSPInventory/{{{SR}}}Device")
    ids = [d.findtext(f"{{{SR}}}DeviceID").replace("-", "") for d in devices]
    assert ids[0] == "00DB1234567890A0" and sorted(ids) == sorted(RTDS_DEVICES)
    types = {d.findtext(f"{{{SR}}}DeviceID"): d.findtext(f"{{{SR}}}DeviceType") for d in devices}
    assert types["00-DB-12-34-56-78-90-A0"] == "ESME" and types["00-DB-12-34-56-78-90-A2"] == "CHF"
    assert premises.received == []


def test_answer_has_dcc_boxed_shape(schema, trusted, dsp, gbcs_keys):
    """Same element path and Device children order as DCC Boxed's 8.2 response."""
    (answers,), _ = over_http(schema, trusted, dsp, gbcs_keys,
                              read_inventory("00-DB-12-34-56-78-90-A4"))  # fmt: skip
    ours = answers[0].root
    theirs = etree.fromstring((RESPONSES / "read-inventory-response-5.4.xml").read_bytes())

    def shape(root):
        device = root.find(f".//{{{SR}}}DSPInventory/{{{SR}}}Device")
        path = [etree.QName(e).localname for e in device.iterancestors()][::-1]
        return path, [etree.QName(c).localname for c in device][:5]

    assert shape(ours) == shape(theirs)
    assert ours.findtext(f".//{{{SR}}}ServiceReferenceVariant") == "8.2"
    header = [etree.QName(e).localname for e in ours.find(f"{{{SR}}}Header")]
    assert header == [etree.QName(e).localname for e in theirs.find(f"{{{SR}}}Header")]
    assert "ResponseID" not in header  # DCC Boxed's 8.2 answer has none


@pytest.mark.parametrize("body,code", [
    (read_inventory("11-22-33-44-55-66-77-88"), "E19"),  # not in the inventory
    (request("8.2", "<sr:ReadInventory><sr:UPRN>123456789012</sr:UPRN></sr:ReadInventory>"), "E19"),
    (request("8.2", "<sr:ReadInventory><sr:DeviceID>00-DB-12-34-56-78-90-A0</sr:DeviceID>"
             "</sr:ReadInventory>", target="00-DB-12-34-56-78-90-A0"), "E19"),  # not to the DSP
    (request("8.6", "<sr:ServiceOptIn><sr:DeviceID>00-DB-12-34-56-78-90-A2</sr:DeviceID>"
             "<sr:DeviceType>ESME</sr:DeviceType><sr:MPxNs><sr:ImportMPxN>1312345678111"
             "</sr:ImportMPxN></sr:MPxNs><sr:OptInDate>2015-02-01</sr:OptInDate>"
             "</sr:ServiceOptIn>"), "E11"),  # Service Opt In is a meter's: the hub is none
])  # fmt: skip
def test_refusals(body, code, schema, trusted, dsp, gbcs_keys):
    (answers,), premises = over_http(schema, trusted, dsp, gbcs_keys, body)
    assert [(a.source, a.code) for a in answers] == [("serviceD", code)]
    assert premises.received == []


def test_replayed_read_inventory_is_e42(schema, trusted, dsp, gbcs_keys):
    body = read_inventory("00-DB-12-34-56-78-90-A0")
    answers, _ = over_http(schema, trusted, dsp, gbcs_keys, body, body)
    assert [a[0].code for a in answers] == ["I0", "E42"]


def test_read_inventory_at_service_s_is_e13(schema, trusted, dsp, gbcs_keys):
    async def run():
        dsp_, _ = build_dsp(schema, trusted, dsp)
        signer = xmlsig.signer_from_keystore(Keystore.open(DCCBOXED), "90B3D51F30010000")
        body = duis.to_bytes(xmlsig.sign(duis.parse(read_inventory("00-DB-12-34-56-78-90-A0")),
                                         signer))  # fmt: skip
        return duis.response_code_of(duis.parse(await dsp_.handle("serviceS", body)))

    assert asyncio.run(run()) == "E13"
