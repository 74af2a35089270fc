"""11.1 Update Firmware through the DSP (nondevice.firmware_order, dsp.py, routing.py) to the
emulated premises, in simulated time: the catalogue's template from the Supplier is answered
I0 at once, the image reaches the meter over the WAN and its Comms Hub, the meter's
receipt (8F72, signed) reaches the Supplier as a DUIS DeviceAlertMessage, and the Supplier's
11.3 naming that image's hash then activates it (the device's CS06 success, the image's
version), which the Supplier's 11.2 then reads. Listed devices the DSP does not send to are
named in the answer's warning."""

from __future__ import annotations

import asyncio
import base64
import hashlib

import pytest
from backoffice_helpers import DCCBOXED
from dsp_helpers import GBCS_DATE, build_dsp, supplier_on_real_premises
from lxml import etree

from emulator import data
from emulator.backoffice import duis
from emulator.backoffice.premises_factory import (
    GeneratedHousehold,
    meter_certificate,
)
from emulator.backoffice.remote_premises import PremisesHost
from emulator.backoffice.state import DspState
from emulator.backoffice.users import Deliveries, InProcessTransport, make_user
from emulator.backoffice.wan import Wan
from emulator.clock import Clock
from gbcs import decode
from gbcs.keystore import Keystore

CATALOGUE = data.duis_catalogue()
TEMPLATE = CATALOGUE / "11.1_UPDATE_FIRMWARE_REQUEST_DUIS.XML"
ACTIVATE = CATALOGUE / "CS06_11.3_IMMEDIATE_SUCCESS_REQUEST_DUIS.XML"
READ_VERSION = CATALOGUE / "ECS52_11.2_SUCCESS_REQUEST_DUIS.XML"
ESME = "00-DB-12-34-56-78-90-A0"
SUPPLIER = bytes.fromhex("90B3D51F30010000")


@pytest.fixture(scope="module")
def gbcs_keys():
    return Keystore.open(DCCBOXED, clock=GBCS_DATE)


def _image(template: bytes) -> bytes:
    root = duis.parse(template)
    return base64.b64decode(root.findtext(f".//{{{duis.SR}}}FirmwareImage"))


def _with(path, **texts) -> bytes:
    """A template with some elements' text replaced (by local name)."""
    root = duis.parse(path.read_bytes())
    for name, text in texts.items():
        root.find(f".//{{{duis.SR}}}{name}").text = text
    return duis.to_bytes(root)


def run(schema, trusted, dsp, gbcs_keys, steps):
    """A DSP with the catalogue's premises on a simulated clock (WAN 0.5 s each way) and the
    Supplier; `steps(dsp, premises, supplier)`, a coroutine, does the rest and returns what it
    found."""
    return supplier_on_real_premises(schema, trusted, dsp, gbcs_keys, steps, wan_latency_s=0.5)


def test_the_image_reaches_the_meter_and_its_receipt_the_supplier(schema, trusted, dsp,
                                                                   gbcs_keys):  # fmt: skip
    image = _image(TEMPLATE.read_bytes())
    image_hash = hashlib.sha256(image[60:-66]).digest()  # the Manufacturer Image's

    async def steps(dsp_, premises, supplier):
        [ack] = await supplier.submit(supplier.prepare(TEMPLATE.read_bytes()))
        alert = await supplier.wait_for(None, duis.DocumentKind.DEVICE_ALERT, 60)
        activation = supplier.prepare(_with(ACTIVATE, FirmwareHash=image_hash.hex().upper()))
        answers = await supplier.run(activation, 60)
        read = await supplier.run(supplier.prepare(READ_VERSION.read_bytes(), 2001), 60)
        return ack, alert, answers + read, dsp_.stats.firmware, premises

    ack, alert, answers, sent, premises = run(schema, trusted, dsp, gbcs_keys, steps)
    assert ack.code == "I0" and ack.root.find(f".//{{{duis.SR}}}DSPUpdateFirmwareWarning") is None
    assert sent == {"verified": 1}
    assert alert.root.findtext(f".//{{{duis.SR}}}AlertCode") == "8F72"
    raw = base64.b64decode(alert.root.findtext(f".//{{{duis.SR}}}GBCSPayload"))
    receipt = decode(raw)
    assert receipt.message_code == 0x00CE and bytes(receipt.target) == SUPPLIER
    assert bytes(receipt.originator) == bytes.fromhex(ESME.replace("-", ""))
    assert bytes(receipt.payload.notification.value[2].value) == image_hash
    assert premises.verify(raw)  # signed with the meter's key, as its certificate says
    # 11.3: PreCommand, sent, the response; then 11.2 (ECS52): sent, the response
    assert [a.code for a in answers] == ["I0", "I99", "I0", "I99", "I0"]
    activated = decode(answers[2].gbcs_payload).payload.fields.value
    assert int(activated.response_code) == 0
    assert bytes(activated.firmware_version) == bytes.fromhex("ACDCACDC")
    assert premises.esme.firmware.version == bytes.fromhex("ACDCACDC")
    read = decode(answers[-1].gbcs_payload)
    assert bytes(read.payload.data[0].value) == bytes.fromhex("ACDCACDC")


def test_a_tampered_image_alerts_8f1c_and_activates_nothing(schema, trusted, dsp, gbcs_keys):
    image = bytearray(_image(TEMPLATE.read_bytes()))
    image[100] ^= 0x01
    tampered = _with(TEMPLATE, FirmwareImage=base64.b64encode(bytes(image)).decode())

    async def steps(dsp_, premises, supplier):
        [ack] = await supplier.submit(supplier.prepare(tampered))
        alert = await supplier.wait_for(None, duis.DocumentKind.DEVICE_ALERT, 60)
        return ack, alert, dsp_.stats.firmware, premises

    ack, alert, sent, premises = run(schema, trusted, dsp, gbcs_keys, steps)
    assert ack.code == "I0" and sent == {"verification-failed": 1}
    assert alert.root.findtext(f".//{{{duis.SR}}}AlertCode") == "8F1C"
    assert premises.esme.firmware.image[1] == bytes.fromhex("0123ABCE")  # RTDS's, still held


def test_devices_not_sent_to_are_named_in_the_warning(schema, trusted, dsp, gbcs_keys):
    """An unknown device, a PPMID (11.4's, not 11.1's) and the GSME (gbhan's takes no image
    yet) are named; the ESME alone gets the image."""
    listed = ",".join([ESME, "00-DB-12-34-56-78-99-99", "00-DB-12-34-56-78-90-A4",
                       "00-DB-12-34-56-78-90-A3"])  # fmt: skip

    async def steps(dsp_, premises, supplier):
        [ack] = await supplier.submit(supplier.prepare(_with(TEMPLATE, DeviceIDList=listed)))
        await asyncio.sleep(5)
        return ack, dsp_.stats.firmware

    ack, sent = run(schema, trusted, dsp, gbcs_keys, steps)
    warning = ack.root.find(f".//{{{duis.SR}}}DSPUpdateFirmwareWarning")
    assert ack.code == "I0" and warning is not None
    lists = {etree.QName(n).localname: n.text for n in warning}
    assert lists == {
        "InvalidDeviceIDList": "00-DB-12-34-56-78-99-99",
        "NotApplicableFirmwareDeviceIDList": "00-DB-12-34-56-78-90-A4,00-DB-12-34-56-78-90-A3",
    }
    assert sent == {"verified": 1}


PPMID_TEMPLATE = CATALOGUE / "11.4_UPDATE_PPMID_FIRMWARE_REQUEST_DUIS.XML"
PPMID = bytes.fromhex("00DB1234567890A4")


def test_11_4_the_ppmid_takes_its_image_and_runs_it(schema, trusted, dsp, gbcs_keys):
    """The catalogue's 11.4 is answered I0, the PPMID activates the image (its version now
    the image's); the hub's CCS08 and the PPMID's CS09 reach the DSP, addressed to its ACB
    (no DUIS DCC alert is made of them yet: counted undeliverable)."""

    async def steps(dsp_, premises, supplier):
        [ack] = await supplier.submit(supplier.prepare(PPMID_TEMPLATE.read_bytes()))
        await asyncio.sleep(5)
        return ack, dsp_.stats, premises

    ack, stats, premises = run(schema, trusted, dsp, gbcs_keys, steps)
    assert ack.code == "I0" and ack.root.find(f".//{{{duis.SR}}}Body//{{{duis.SR}}}"
                                              "DSPUpdatePPMIDFirmwareWarning") is None  # fmt: skip
    assert stats.firmware == {"activated": 1} and stats.alerts_undeliverable == 2
    assert premises.gbcs_devices[PPMID].firmware_version == bytes.fromhex("ACDCACDC")


def test_11_4_names_a_meter_not_applicable_and_sends_it_nothing(schema, trusted, dsp,
                                                                 gbcs_keys):  # fmt: skip
    async def steps(dsp_, premises, supplier):
        request = _with(PPMID_TEMPLATE, DeviceIDList=ESME)
        [ack] = await supplier.submit(supplier.prepare(request))
        await asyncio.sleep(5)
        return ack, dsp_.stats.firmware, premises

    ack, sent, premises = run(schema, trusted, dsp, gbcs_keys, steps)
    warning = ack.root.find(f".//{{{duis.SR}}}DSPUpdatePPMIDFirmwareWarning")
    assert ack.code == "I0" and warning is not None
    assert warning.findtext(f"{{{duis.SR}}}NotApplicableFirmwareDeviceIDList") == ESME
    assert sent == {} and premises.esme.firmware.image[1] == bytes.fromhex("0123ABCE")


def test_a_household_in_the_premises_host_takes_the_image(tmp_path):
    """The image over the host's pipe (remote_premises.py) to a generated household's meter
    in another process: verified there, its 8F72 receipt back as the household's alert."""
    state = DspState.open(tmp_path, [data.rtds_keystore(), DCCBOXED], GBCS_DATE)
    household = GeneratedHousehold(2)
    meter_certificate(household, state.identities)  # issued before the host reads them
    state.close()
    image = _image(TEMPLATE.read_bytes())

    async def main():
        host = await PremisesHost.start(tmp_path, [2], gbcs_date=GBCS_DATE.isoformat())
        try:
            premises = host.households[2]
            alerts: list[bytes] = []
            premises.on_alert(alerts.append)
            outcomes = await premises.distribute_firmware(image, [household.esme])
            for _ in range(100):
                if alerts:
                    break
                await asyncio.sleep(0.05)
            return outcomes, alerts
        finally:
            await host.close()

    outcomes, [alert] = asyncio.run(main())
    assert outcomes == {household.esme: "verified"}
    receipt = decode(alert)
    assert receipt.message_code == 0x00CE and bytes(receipt.originator) == household.esme
    assert receipt.payload.notification.value[0].value == 0x8F72
    assert (
        bytes(receipt.payload.notification.value[2].value) == hashlib.sha256(image[60:-66]).digest()
    )


@pytest.mark.parametrize("template", [TEMPLATE, PPMID_TEMPLATE], ids=lambda p: p.name[:4])
def test_a_network_operator_may_not_send_firmware(schema, trusted, dsp, gbcs_keys, template):
    """11.1 and 11.4 are the Suppliers' (IS, GS): the DNO is refused E2 and nothing is sent."""

    async def steps(dsp_, premises, supplier):
        dno = make_user("dno", gbcs_keys, schema, trusted, InProcessTransport(dsp_))
        [answer] = await dno.submit(dno.prepare(template.read_bytes()))
        await asyncio.sleep(5)
        return answer, dsp_.stats.firmware, premises

    answer, sent, premises = run(schema, trusted, dsp, gbcs_keys, steps)
    assert answer.code == "E2" and sent == {}
    assert premises.esme.firmware.image[1] == bytes.fromhex("0123ABCE")


def test_a_premises_that_takes_no_image_and_a_device_no_premises_serves(schema, trusted, dsp,
                                                                         gbcs_keys):  # fmt: skip
    """RTDS's replaying double (a PremisesPort with no distribute_firmware) reports the
    meter "unsupported"; with no premises at all the DSP counts "no-route"; neither alerts."""

    def attempt(keep_double: bool):
        clock = Clock("simulated", start_utc=GBCS_DATE)

        async def go():
            dsp_, _double = build_dsp(schema, trusted, dsp, wan=Wan(clock, latency_s=0.0),
                                      clock=clock)  # fmt: skip
            if not keep_double:
                dsp_.router = type(dsp_.router)(dsp_.router.wan)
            supplier = make_user("supplier", gbcs_keys, schema, trusted,
                                 InProcessTransport(dsp_))  # fmt: skip
            dsp_.delivery = Deliveries(supplier)
            [ack] = await supplier.submit(supplier.prepare(TEMPLATE.read_bytes()))
            await dsp_.drain()
            return ack.code, dict(dsp_.stats.firmware), supplier.received

        return clock.run(go)

    assert attempt(True) == ("I0", {"unsupported": 1}, [])
    assert attempt(False) == ("I0", {"no-route": 1}, [])
