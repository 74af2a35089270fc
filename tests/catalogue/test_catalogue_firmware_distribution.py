"""11.1 Update Firmware at the ESME (emulator/devices/esme/firmware.py `receive`, premises.py
`distribute_firmware`): the catalogue's image, handed to the premises as the WAN does, is
checked by the meter (the OTA file's sizes, the Supplier's signature over the Manufacturer
Image) and its receipt alerted to the Supplier as RTDS's Firmware Distribution Receipt Alert
(FDRA-DLMS, 8F72, signed: RTDS's header and payload byte for byte but the hash, which is
the one the meter calculated); 11.3 (CS06) then activates that image and 11.2 (ECS52) reads
its version. A tampered or malformed image is alert 8F1C and nothing changes."""

from __future__ import annotations

import base64
import copy
import hashlib
import json

import pytest
from catalogue_helpers import CATALOGUE, RTDS, execute, read_hex, recounted
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from emulator.backoffice import duis
from emulator.backoffice.transform import transform
from emulator.devices.esme.firmware import OtaImage
from emulator.devices.premises import ESME_EUI, PROFILE
from gbcs import decode
from gbcs.render import plain
from gbcs.security import check_message, mac_apdu, sign

TEMPLATE = CATALOGUE / "11.1_UPDATE_FIRMWARE_REQUEST_DUIS.XML"
FDRA = RTDS / "NA_FDRA-DLMS" / "FDRA-DLMS_NA_8F72_ALERT_GBCS.HEX"
SUPPLIER = bytes.fromhex("90B3D51F30010000")
RUNNING = bytes.fromhex("0123ABCD")  # what the RTDS meter runs (ECS52)


def catalogue_image() -> bytes:
    request = duis.parse_request(duis.parse(TEMPLATE.read_bytes()))
    return base64.b64decode(request.body.findtext(f"{{{duis.SR}}}FirmwareImage"))


IMAGE = catalogue_image()
OTA = OtaImage.parse(IMAGE, signed=True)


def _flip(at: int) -> bytes:
    changed = bytearray(IMAGE)
    changed[at] ^= 0x01
    return bytes(changed)


#: ways an image fails the meter's check, by name
TAMPERED = {
    "manufacturer-image-changed": _flip(100),
    "signature-changed": _flip(len(IMAGE) - 1),
    "total-size-wrong": IMAGE[:52] + (len(IMAGE) + 1).to_bytes(4, "little") + IMAGE[56:],
    "truncated": IMAGE[:-10],
    "not-an-ota-file": b"\x00" * len(IMAGE),
    "no-signature": IMAGE[:-66],
}


def _profile(**changes) -> dict:
    profile = copy.deepcopy(json.loads(PROFILE.read_text()))
    profile.update(changes)
    return profile


def distribute(keys, image: bytes, commands: list[bytes] = (), profile: dict | None = None):
    """The image to a fresh RTDS premises' meter, then the commands: (the distribution's
    outcome, the alerts raised, the executions, the premises)."""
    found: dict = {}

    async def before(premises):
        alerts: list[bytes] = []
        premises.on_alert(alerts.append)
        found["alerts"] = alerts
        found["outcome"] = await premises.distribute_firmware(image, [ESME_EUI])

    executions, premises = execute(keys, list(commands), profile=profile, before=before)
    return found["outcome"][ESME_EUI], found["alerts"], executions, premises


def activate(keys, image_hash: bytes, counter: int) -> bytes:
    """The catalogue's 11.3 (now) naming `image_hash`, as the DSP builds it, signed by the
    Supplier and MAC'd for the meter."""
    root = duis.parse((CATALOGUE / "CS06_11.3_IMMEDIATE_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    root.find(f".//{{{duis.SR}}}FirmwareHash").text = image_hash.hex().upper()
    duis.set_originator(root, SUPPLIER, counter)
    transformed = transform(duis.parse_request(root), use_case="CS06")
    return mac_apdu(sign(transformed.precommand(), keys.signer(SUPPLIER)), keys.keystore)


def read_version(keys, counter: int) -> bytes:
    return recounted(keys, read_hex(next(RTDS.glob("11.2_ECS52/*_SUCCESS_COMMAND_GBCS.HEX"))),
                     counter)  # fmt: skip


def _version(execution) -> bytes:
    return bytes(decode(execution.response).payload.data[0].value)


def test_the_catalogue_image_is_signed_by_the_supplier_over_its_manufacturer_image(keys):
    [entry] = keys.keystore.ds_public_keys(SUPPLIER)[:1]
    assert OTA.signed_by(entry.public_key)
    assert OTA.version == bytes.fromhex("ACDCACDC")  # the OTA header's file version
    assert OTA.hash == hashlib.sha256(IMAGE[60:-66]).digest()


def test_the_receipt_is_rtds_fdra_but_the_hash(keys):
    """A meter at RTDS's alert count (2000) alerts RTDS's header byte for byte, and RTDS's
    payload with the hash it calculated over the catalogue's image in place of RTDS's."""
    outcome, [alert], _, premises = distribute(keys, IMAGE, profile=_profile(alert_counter=2000))
    assert outcome == "verified"
    ours, theirs = decode(alert), decode(read_hex(FDRA))
    assert plain(ours.header) == plain(theirs.header)
    assert check_message(ours, keys.keystore).outcome == "verified"
    got, expected = plain(ours.payload), plain(theirs.payload)
    assert got["notification"]["value"][2]["value"] == OTA.hash.hex().upper()
    got["notification"]["value"][2] = expected["notification"]["value"][2]
    assert got == expected
    assert premises.esme.firmware.image == (OTA.hash, OTA.version)
    assert premises.esme.stats["firmware:verified"] == 1


def test_11_3_then_activates_the_distributed_image(keys):
    commands = [activate(keys, OTA.hash, 1001), read_version(keys, 1002)]
    outcome, _alerts, (activated, read), premises = distribute(keys, IMAGE, commands)
    assert outcome == "verified" and activated.outcome == "executed"
    fields = decode(activated.response).payload.fields
    assert int(fields.value.response_code) == 0  # success
    assert bytes(fields.value.firmware_version) == OTA.version
    assert _version(read) == OTA.version and premises.esme.firmware.version == OTA.version


def test_11_3_naming_the_image_replaced_is_a_hash_mismatch(keys):
    """The distributed image replaces the one held before (RTDS's): activating that one now
    is hash_mismatch, and the meter runs what it ran."""
    commands = [activate(keys, bytes.fromhex("AA758690730934FF0685AA758690730934FF0685"
                                             "657788990011223344556677"), 1001),
                read_version(keys, 1002)]  # fmt: skip
    _outcome, _alerts, (activated, read), premises = distribute(keys, IMAGE, commands)
    assert int(decode(activated.response).payload.fields.value.response_code) == 2
    assert _version(read) == RUNNING


@pytest.mark.parametrize("name", sorted(TAMPERED))
def test_a_bad_image_alerts_8f1c_and_changes_nothing(keys, name):
    image = TAMPERED[name]
    commands = [activate(keys, hashlib.sha256(image[60:-66]).digest(), 1001),
                read_version(keys, 1002)]  # fmt: skip
    outcome, [alert], (activated, read), premises = distribute(keys, image, commands)
    assert outcome == "verification-failed"
    message = decode(alert)
    assert message.message_code == 0x00CE and bytes(message.target) == SUPPLIER
    assert check_message(message, keys.keystore).outcome == "verified"
    [code, _when, calculated] = (item.value for item in message.payload.notification.value)
    # the hash over what the meter took for the Manufacturer Image (all of it, unparsed)
    taken = image[60:-66] if name in ("manufacturer-image-changed", "signature-changed") else image
    assert code == 0x8F1C and bytes(calculated) == hashlib.sha256(taken).digest()
    assert premises.esme.firmware.image[1] == bytes.fromhex("0123ABCE")  # RTDS's, still held
    assert int(decode(activated.response).payload.fields.value.response_code) == 2
    assert _version(read) == RUNNING
    assert premises.esme.stats["firmware:verification-failed"] == 1


@pytest.mark.parametrize(
    ("hardware", "outcome"),
    [("2000", "verification-failed"), ("1111", "verified"), ("1211", "verified")],
)
def test_the_meter_takes_an_image_for_its_hardware_only(keys, hardware, outcome):
    """The image's header names hardware 1111-1211: a meter of another refuses it (8F1C)."""
    got, [alert], _, premises = distribute(keys, IMAGE, profile=_profile(hardware_version=hardware))
    assert got == outcome
    held = premises.esme.firmware.image[0] == OTA.hash
    assert held == (outcome == "verified")
    assert decode(alert).payload.notification.value[0].value == (
        0x8F72 if outcome == "verified" else 0x8F1C
    )


def test_an_image_signed_by_another_party_is_refused(keys):
    """The catalogue's header and Manufacturer Image, signed by the Network Operator: the
    meter checks its Supplier's signature, so 8F1C."""
    der = keys.signer(bytes.fromhex("90B3D51F30020000")).sign(
        OTA.manufacturer_image, ec.ECDSA(hashes.SHA256())
    )
    r, s = decode_dss_signature(der)
    image = IMAGE[:-64] + r.to_bytes(32, "big") + s.to_bytes(32, "big")
    outcome, [alert], _, premises = distribute(keys, image)
    assert outcome == "verification-failed" and premises.esme.firmware.image[0] != OTA.hash
    assert decode(alert).payload.notification.value[0].value == 0x8F1C


# --- 11.4: the PPMID's image ------------------------------------------------------------------

PPMID = bytes.fromhex("00DB1234567890A4")
PPMID_TEMPLATE = CATALOGUE / "11.4_UPDATE_PPMID_FIRMWARE_REQUEST_DUIS.XML"
#: RTDS's alerts of a PPMID's image: the hub's transfer (CCS08), the PPMID's activation (CS09)
PPMID_ALERTS = (RTDS / "NA_CCS08" / "CCS08_NA_NA_ALERT_GBCS.HEX",
                RTDS / "NA_CS09" / "CS09_NA_8F8B_ALERT_GBCS.HEX")  # fmt: skip


def ppmid_image() -> bytes:
    request = duis.parse_request(duis.parse(PPMID_TEMPLATE.read_bytes()))
    return base64.b64decode(request.body.findtext(f"{{{duis.SR}}}FirmwareImage"))


def to_ppmid(keys, image: bytes):
    """The image to a fresh RTDS premises' PPMID, then RTDS's CS08 (11.2) read of its
    version: (the outcome, the alerts, the read's version, the premises)."""
    found: dict = {}

    async def before(premises):
        alerts: list[bytes] = []
        premises.on_alert(alerts.append)
        found["alerts"] = alerts
        found["outcome"] = await premises.distribute_firmware(image, [PPMID])

    read = read_hex(RTDS / "11.2_CS08" / "CS08_11.2_SUCCESS_COMMAND_GBCS.HEX")
    [execution], premises = execute(keys, [read], before=before)
    version = bytes(decode(execution.response).payload.fields.firmware_version)
    return found["outcome"][PPMID], found["alerts"], version, premises


def test_the_ppmid_activates_its_image_and_hub_and_ppmid_alert_as_rtds(keys):
    """The hub's CCS08 (8F8A) and the PPMID's CS09 (8F8B), each RTDS's header byte for byte
    and RTDS's payload but the version (the catalogue image's, ACDCACDC), signed; CS08 then
    reads that version."""
    image = ppmid_image()
    outcome, alerts, version, premises = to_ppmid(keys, image)
    assert outcome == "activated" and len(alerts) == 2
    ours_version = OtaImage.parse(image, signed=False).version
    assert ours_version == version == bytes.fromhex("ACDCACDC")
    for raw, path in zip(alerts, PPMID_ALERTS, strict=True):
        ours, theirs = decode(raw), decode(read_hex(path))
        assert plain(ours.header) == plain(theirs.header), path.name
        assert check_message(ours, keys.keystore).outcome == "verified"
        got, expected = plain(ours.payload)["fields"], plain(theirs.payload)["fields"]
        assert got.pop("firmware_version") == "ACDCACDC"
        expected.pop("firmware_version")
        assert got == expected, path.name
    assert premises.gbcs_devices[PPMID].stats["firmware:activated"] == 1


def test_a_broken_ppmid_image_is_a_failed_transfer_and_nothing_changes(keys):
    image = ppmid_image()[:-10]  # shorter than its header says
    outcome, [alert], version, premises = to_ppmid(keys, image)
    assert outcome == "transfer-failed" and version == bytes.fromhex("0123ABCD")
    fields = plain(decode(alert).payload)["fields"]
    assert (
        fields["alert_code"] == 0x8F89 and fields["response_code_name"] == "file_transfer_failure"
    )
    assert fields["entity_id"] == PPMID.hex().upper()


def test_a_ppmid_outside_the_images_hardware_versions_keeps_its_firmware(keys):
    """The catalogue's image is for hardware 1111-1211 (its OTA header): a PPMID of hardware
    2000 does not take it (CCS08 8F89 hardware_version_mismatch, no CS09); one of 1200 does."""
    assert OtaImage.parse(ppmid_image(), signed=False).hardware == (0x1111, 0x1211)
    for hardware, expected in (("2000", "hardware-version-mismatch"), ("1200", "activated")):
        profile = _profile()
        profile["gbcs_devices"][PPMID.hex().upper()]["hardware_version"] = hardware
        found: dict = {}

        async def before(premises, found=found):
            premises.on_alert(found.setdefault("alerts", []).append)
            found["outcome"] = await premises.distribute_firmware(ppmid_image(), [PPMID])

        _executions, premises = execute(keys, [], profile=profile, before=before)
        assert found["outcome"][PPMID] == expected
        fields = plain(decode(found["alerts"][0]).payload)["fields"]
        running = premises.gbcs_devices[PPMID].firmware_version
        if expected == "activated":
            assert fields["alert_code"] == 0x8F8A and running == bytes.fromhex("ACDCACDC")
        else:
            assert len(found["alerts"]) == 1 and fields["alert_code"] == 0x8F89
            assert fields["response_code_name"] == "hardware_version_mismatch"
            assert running == bytes.fromhex("0123ABCD")
