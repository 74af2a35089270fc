"""8.2 Read Inventory with every lookup key the DUIS 5.4 schema allows (DeviceID, UPRN, MPxN,
PropertyFilter) and every field DCC Boxed's own answer carries, over real HTTP: each answer
signed and schema-valid, Device children in the schema's order, DCC Boxed's preset devices
reporting DCC Boxed's own values field for field, unknown keys refused E19."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from backoffice_helpers import DCCBOXED, RESPONSES, RTDS, SCHEMA
from dsp_helpers import GBCS_DATE, RTDS_KEYSTORE, build_dsp
from lxml import etree

from emulator.backoffice import duis, service, xmlsig
from emulator.backoffice.assembly import make_dsp
from emulator.backoffice.inventory import (
    DCC_BOXED_DEVICES,
    ELECTRICITY_DISTRIBUTOR,
    RTDS_DEVICES,
    RTDS_PREMISES,
    SUPPLIER,
    Inventory,
    PremisesRecord,
    preset_devices,
)
from emulator.backoffice.state import DspState
from emulator.backoffice.users import HttpTransport, make_user
from emulator.clock import Clock
from gbcs.keystore import Keystore
from tools import cli

SR = duis.SR
DSP_EUI = "90-B3-D5-1F-30-00-00-02"
RTDS_MPXN = "1100000000001"  # a premises' import MPAN, declared for the test
DCC_BOXED_UPRN, DCC_BOXED_POSTCODE, DCC_BOXED_ADDRESS = "123456789012", "1111-111", "12334"
# the schema's sr:Device sequence (DUIS 5.4)
DEVICE_ORDER = [
    "DeviceID", "DeviceType", "DeviceStatus", "DeviceManufacturer", "DeviceModel",
    "SMETSCHTSVersion", "DeviceFirmwareVersion", "DeviceFirmwareVersionStatus", "CPLStatus",
    "DateCommissioned", "ImportMPxN", "SecondaryImportMPAN", "ExportMPAN", "ESMEVariant", "UPRN",
    "PropertyFilter", "CSPRegion", "DeviceGBCSVersion", "HANVariant", "S1SP", "Connectivity",
]  # fmt: skip


def read_inventory(key_xml: str, counter: int = 1) -> bytes:
    """An 8.2 request as a DCC Boxed client writes it (the user signs it on sending)."""
    return (f'<sr:Request xmlns:sr="{SR}" schemaVersion="5.4"><sr:Header>'
            f"<sr:RequestID>90-B3-D5-1F-30-01-00-00:{DSP_EUI}:{counter}</sr:RequestID>"
            "<sr:CommandVariant>8</sr:CommandVariant><sr:ServiceReference>8.2"
            "</sr:ServiceReference><sr:ServiceReferenceVariant>8.2</sr:ServiceReferenceVariant>"
            f"</sr:Header><sr:Body><sr:ReadInventory>{key_xml}</sr:ReadInventory></sr:Body>"
            "</sr:Request>").encode()  # fmt: skip


def property_filter(postcode: str, address: str) -> str:
    return (f"<sr:PropertyFilter><sr:PostCode>{postcode}</sr:PostCode>"
            f"<sr:AddressIdentifier>{address}</sr:AddressIdentifier></sr:PropertyFilter>")  # fmt: skip


@pytest.fixture(scope="module")
def gbcs_keys():
    return Keystore.open(DCCBOXED, clock=GBCS_DATE)


def ask(schema, trusted, dsp_signer, gbcs_keys, *key_xmls):
    """The answers of a DSP on the RTDS premises (given an MPxN) plus DCC Boxed's preset
    devices added as `gbhan dsp devices add --preset dccboxed` adds them."""

    async def run():
        dsp, _ = build_dsp(schema, trusted, dsp_signer)
        rtds = dsp.inventory.premises[RTDS_PREMISES]
        dsp.inventory.premises[RTDS_PREMISES] = dataclasses.replace(rtds, mpxn=RTDS_MPXN)
        for device in preset_devices("dccboxed"):
            dsp.inventory.declare(device.eui, device.device_type, device.premises)
        runner = await service.start(dsp, port=0)
        transport = HttpTransport(f"http://127.0.0.1:{service.bound_port(runner)}")
        user = make_user("supplier", gbcs_keys, schema, trusted, transport)
        try:
            return [(await user.submit(user.prepare(read_inventory(key, n))))[0]
                    for n, key in enumerate(key_xmls, 1)]  # fmt: skip
        finally:
            await transport.close()
            await runner.cleanup()

    return asyncio.run(run())


def devices_of(root) -> list[etree._Element]:
    return root.findall(f".//{{{SR}}}DSPInventory/{{{SR}}}Device")


def ids(root) -> list[str]:
    return [d.findtext(f"{{{SR}}}DeviceID").replace("-", "") for d in devices_of(root)]


def fields(device) -> list[str]:
    return [etree.QName(c).localname for c in device]


DCC_BOXED_KEYS = {
    "DeviceID": "<sr:DeviceID>BC-6E-76-FE-00-7C-B4-F3</sr:DeviceID>",
    "UPRN": f"<sr:UPRN>{DCC_BOXED_UPRN}</sr:UPRN>",
    "PropertyFilter": property_filter(DCC_BOXED_POSTCODE, DCC_BOXED_ADDRESS),
}


@pytest.mark.parametrize("key", sorted(DCC_BOXED_KEYS))
def test_dcc_boxed_premises_by_each_key(key, schema, trusted, dsp, gbcs_keys):
    (answer,) = ask(schema, trusted, dsp, gbcs_keys, DCC_BOXED_KEYS[key])
    assert (answer.source, answer.code) == ("serviceD", "I0")
    schema.validate(answer.root)
    assert sorted(ids(answer.root)) == sorted(DCC_BOXED_DEVICES)
    if key == "DeviceID":
        assert ids(answer.root)[0] == "BC6E76FE007CB4F3"  # the named device first


def test_dcc_boxed_devices_report_dcc_boxeds_own_values(schema, trusted, dsp, gbcs_keys):
    """Every preset device's sr:Device equals DCC Boxed's own, child for child and value
    for value, bar DCC Boxed's device order."""
    (answer,) = ask(schema, trusted, dsp, gbcs_keys, DCC_BOXED_KEYS["UPRN"])
    theirs = etree.fromstring((RESPONSES / "read-inventory-response-5.4.xml").read_bytes())

    def by_id(root):
        return {d.findtext(f"{{{SR}}}DeviceID"):
                [(etree.QName(e).localname, (e.text or "").strip()) for e in d.iter()]
                for d in devices_of(root)}  # fmt: skip

    assert by_id(answer.root) == by_id(theirs)
    assert len(by_id(theirs)) == 3


def test_rtds_premises_by_mpxn(schema, trusted, dsp, gbcs_keys):
    (answer,) = ask(schema, trusted, dsp, gbcs_keys, f"<sr:MPxN>{RTDS_MPXN}</sr:MPxN>")
    assert answer.code == "I0"
    schema.validate(answer.root)
    assert sorted(ids(answer.root)) == sorted(RTDS_DEVICES)
    by_id = {d.findtext(f"{{{SR}}}DeviceID"): d for d in devices_of(answer.root)}
    esme, chf = by_id["00-DB-12-34-56-78-90-A0"], by_id["00-DB-12-34-56-78-90-A2"]
    assert esme.findtext(f"{{{SR}}}ImportMPxN") == RTDS_MPXN
    assert by_id["00-DB-12-34-56-78-90-A1"].find(f"{{{SR}}}ImportMPxN") is None  # gas: no MPAN
    assert (esme.findtext(f"{{{SR}}}DeviceManufacturer"), esme.findtext(f"{{{SR}}}DeviceModel"),
            esme.findtext(f"{{{SR}}}CSPRegion")) == ("gbhan", "emulated", "Unknown")  # fmt: skip
    assert (chf.findtext(f"{{{SR}}}HANVariant"), chf.findtext(f"{{{SR}}}Connectivity")) == (
        "Single Band", "Virtual")  # fmt: skip


def test_every_device_in_schema_order(schema, trusted, dsp, gbcs_keys):
    answers = ask(schema, trusted, dsp, gbcs_keys, f"<sr:MPxN>{RTDS_MPXN}</sr:MPxN>",
                  DCC_BOXED_KEYS["UPRN"])  # fmt: skip
    for answer in answers:
        for device in devices_of(answer.root):
            names = fields(device)
            assert names == sorted(names, key=DEVICE_ORDER.index)
            assert names[:2] == ["DeviceID", "DeviceType"]
            assert {"DeviceManufacturer", "DeviceModel"} <= set(names)


@pytest.mark.parametrize("key_xml", [
    "<sr:DeviceID>11-22-33-44-55-66-77-88</sr:DeviceID>",
    "<sr:UPRN>123456789013</sr:UPRN>",
    "<sr:MPxN>9999999999999</sr:MPxN>",
    property_filter(DCC_BOXED_POSTCODE, "99999"),  # right postcode, other address
    property_filter("2222-222", DCC_BOXED_ADDRESS),
], ids=["device", "uprn", "mpxn", "address", "postcode"])  # fmt: skip
def test_unknown_keys_are_e19(key_xml, schema, trusted, dsp, gbcs_keys):
    (answer,) = ask(schema, trusted, dsp, gbcs_keys, key_xml)
    assert (answer.source, answer.code) == ("serviceD", "E19")


def test_uprn_matches_as_a_number(schema, trusted, dsp, gbcs_keys):
    """The schema types UPRN as a positiveInteger: leading zeros name the same premises."""
    (answer,) = ask(schema, trusted, dsp, gbcs_keys, f"<sr:UPRN>0{DCC_BOXED_UPRN[1:]}</sr:UPRN>")
    assert answer.code == "E19"  # 023456789012 is another number
    (answer,) = ask(schema, trusted, dsp, gbcs_keys, f"<sr:UPRN>{DCC_BOXED_UPRN}</sr:UPRN>")
    assert answer.code == "I0"


def test_preset_added_by_the_cli_is_found_by_uprn_after_a_restart(tmp_path, supplier):
    """`gbhan dsp devices add --preset dccboxed` then `dsp serve` on that state: the state keeps
    the devices only, and the premises' address comes back with them."""
    folder = tmp_path / "state"
    assert cli.main(["dsp", "devices", "add", "--preset", "dccboxed",
                     "--state-dir", str(folder)]) == 0  # fmt: skip
    state = DspState.open(folder, [RTDS_KEYSTORE, DCCBOXED], GBCS_DATE)
    clock = Clock("wall", start_utc=GBCS_DATE)
    body = xmlsig.sign(duis.parse(read_inventory(property_filter("1111-111", "12334"), 7)),
                       supplier)  # fmt: skip

    async def main():
        dsp = make_dsp(schema_dir=SCHEMA, dccboxed=DCCBOXED, rtds=RTDS,
                       rtds_keystore=RTDS_KEYSTORE, clock=clock, state=state)  # fmt: skip
        return duis.parse(await dsp.handle("serviceD", duis.to_bytes(body)))

    try:
        root = clock.run(main)
    finally:
        state.close()
    assert root.findtext(f".//{{{SR}}}ResponseCode") == "I0"
    assert sorted(ids(root)) == sorted(DCC_BOXED_DEVICES)


def test_postcode_matches_ignoring_case_and_spaces():
    """A UK postcode is written with or without its space, in either case."""
    inventory = Inventory()
    inventory.add_premises(PremisesRecord("flat-2", SUPPLIER, ELECTRICITY_DISTRIBUTOR,
                                          postcode="SW1A 1AA", address_identifier="Flat 2"))  # fmt: skip
    assert (
        inventory.premises_where(postcode="sw1a1aa", address_identifier="Flat 2").name == "flat-2"
    )
    assert inventory.premises_where(postcode="SW1A 1AA", address_identifier="Flat 3") is None
    assert inventory.premises_where(postcode="SW1A 1AB", address_identifier="Flat 2") is None
