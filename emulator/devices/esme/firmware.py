"""The meter's firmware activation, 11.3 (CS06, critical, ASN.1): activate the image the meter
holds whose manufacturer hash the command names, now or at the command's execution date-time
(all 9s: cancel the one pending).

Now: the answer is the execution outcome, success with the new version, `no_image_held` or
`hash_mismatch` with the version still running. Future-dated: the answer is "command
accepted" and at the time the meter activates and alerts its outcome to the command's
originator (8F66 done, 8F67 not: the activate-firmware alert, 00CA, signed), as RTDS shows;
a new future date replaces a pending one, a cancellation drops it. ECS52 (11.2) reads the
version running.

The image arrives by 11.1 (firmware distribution: the DSP hands it to the premises, whose
Comms Hub passes it to the meter, `receive`). The meter starts holding RTDS's image (hash
AA7586…4556677) when its profile names none, whose version (RTDS's immediate activation) is
0123ABCE. A distributed image is a ZigBee OTA file: the OTA header (its file version is the
version the image runs), the Manufacturer Image, then a flag octet, the signature's length
(0x40) and the Supplier's ECDSA signature over the Manufacturer Image (the DCC catalogue's
11.1 image verifies so with the Supplier 90B3D51F30010000's key; our reading of GBCS 11.2).
The meter checks the header (its sizes; the hardware versions it names, where the profile
gives the meter's `hardware_version`) and that signature with its Supplier trust anchor, and
alerts the Supplier with the Firmware Distribution Receipt Alert (00CE, RTDS's FDRA-DLMS
layout: code, time stamp, the SHA-256 it calculated over the Manufacturer Image), signed:
8F72 and the image held (replacing any held before), or 8F1C and nothing changed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from construct import Container, ListContainer  # type: ignore[import-untyped]
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from emulator.clock import Clock
from emulator.errors import EmulatorError
from gbcs import asn1
from gbcs.keystore import DS
from gbcs.message import Message
from gbcs.payload import encode as encode_payload
from gbcs.roles import Role

from ..credentials import MANAGEMENT, TrustAnchors
from .instructions import datetime_octets, item

LOGGER = logging.getLogger(__name__)

ACTIVATE_FIRMWARE = 0x0012  # CS06
ACTIVATE_FIRMWARE_ALERT = 0x00CA
DONE, NOT_DONE = 0x8F66, 0x8F67  # the future-dated execution alerts
SUCCESS, NO_IMAGE_HELD, HASH_MISMATCH = 0, 1, 2  # gbcs.asn1's activate-firmware codes
OUTCOMES = {SUCCESS: "success", NO_IMAGE_HELD: "no_image_held", HASH_MISMATCH: "hash_mismatch"}
CANCEL = "99991231235959Z"
#: RTDS's image: its manufacturer hash, and the version it runs once activated
RTDS_IMAGE = (bytes.fromhex("AA758690730934FF0685AA758690730934FF0685657788990011223344556677"),
              bytes.fromhex("0123ABCE"))  # fmt: skip

FDRA = 0x00CE  # the Firmware Distribution Receipt Alert (DLMS)
VERIFIED, VERIFICATION_FAILED = 0x8F72, 0x8F1C
OTA_MAGIC = b"\x1e\xf1\xee\x0b"  # 0x0BEEF11E, little-endian
OTA_MIN_HEADER = 56  # the header's fields up to the total image size
SIGNATURE_LENGTH = 64
HARDWARE_VERSIONS = 0x04  # the header's field control bit: min and max hardware versions
#: (to, message code, the content, or what makes it from the alert's counter)
Alert = Callable[[bytes, int, bytes | Callable[[int], bytes]], Any]


class ImageRefused(EmulatorError, ValueError):
    """A distributed image the device does not take (the reason in the message)."""


@dataclass(frozen=True)
class OtaImage:
    """A firmware image as 11.1 / 11.4 carry it: the ZigBee OTA header's fields a device
    checks, the Manufacturer Image, and the Supplier's signature (None: the PPMID's form)."""

    manufacturer_code: int
    image_type: int
    file_version: int
    manufacturer_image: bytes
    signature: bytes | None
    #: the hardware versions the image is for (the header's optional pair), None: any
    hardware: tuple[int, int] | None = None

    def fits(self, hardware_version: int | None) -> bool:
        """Whether a device of `hardware_version` (None: not known) may take the image."""
        return (hardware_version is None or self.hardware is None
                or self.hardware[0] <= hardware_version <= self.hardware[1])  # fmt: skip

    @property
    def version(self) -> bytes:
        """The version the image runs once activated (the header's file version)."""
        return self.file_version.to_bytes(4, "big")

    @property
    def hash(self) -> bytes:
        """GBCS's Manufacturer Image Hash: what CS06 names to activate the image."""
        return hashlib.sha256(self.manufacturer_image).digest()

    @classmethod
    def parse(cls, raw: bytes, *, signed: bool) -> OtaImage:
        """ImageRefused when the bytes are no OTA file of their own stated sizes."""
        raw = bytes(raw)
        if len(raw) < OTA_MIN_HEADER or raw[:4] != OTA_MAGIC:
            raise ImageRefused("not a ZigBee OTA file")

        def le(at: int, size: int) -> int:
            return int.from_bytes(raw[at : at + size], "little")

        header_length, total = le(6, 2), le(52, 4)
        if total != len(raw) or not OTA_MIN_HEADER <= header_length <= len(raw):
            raise ImageRefused(f"sizes: header {header_length}, total {total}, {len(raw)} held")
        body, signature = raw[header_length:], None
        if signed:
            trailer = 2 + SIGNATURE_LENGTH
            if len(body) <= trailer or body[-trailer + 1] != SIGNATURE_LENGTH:
                raise ImageRefused("no Supplier signature after the Manufacturer Image")
            body, signature = body[:-trailer], body[-SIGNATURE_LENGTH:]
        if not body:
            raise ImageRefused("no Manufacturer Image")
        hardware = None
        if le(8, 2) & HARDWARE_VERSIONS:  # after the optional credential version, destination
            at = OTA_MIN_HEADER + (1 if le(8, 2) & 0x01 else 0) + (8 if le(8, 2) & 0x02 else 0)
            if at + 4 > header_length:
                raise ImageRefused("the header is shorter than its fields")
            hardware = (le(at, 2), le(at + 2, 2))
        return cls(le(10, 2), le(12, 2), le(14, 4), body, signature, hardware)

    def signed_by(self, key: ec.EllipticCurvePublicKey) -> bool:
        if self.signature is None:
            return False
        r, s = (int.from_bytes(self.signature[i : i + 32], "big") for i in (0, 32))
        try:
            key.verify(encode_dss_signature(r, s), self.manufacturer_image,
                       ec.ECDSA(hashes.SHA256()))  # fmt: skip
        except InvalidSignature:
            return False
        return True


def supplier_anchor(trust: TrustAnchors) -> tuple[bytes, ec.EllipticCurvePublicKey] | None:
    """The Supplier a device alerts its firmware receipt to and whose signature it checks:
    its Supplier digital-signing cell's certificate (EUI, key)."""
    anchor = trust.cells.get((int(Role.SUPPLIER), DS, MANAGEMENT))
    return None if anchor is None else (anchor.eui, anchor.public_key)


def receipt_alert(counter: int, code: int, when: dt.datetime, image_hash: bytes) -> bytes:
    """The FDRA's DLMS notification content (RTDS's FDRA-DLMS layout) for alert `counter`."""
    payload = Container(
        tag=b"\x0f",
        long_invoke_id_and_priority=0x20000000 | (counter & 0x0FFFFFFF),
        date_time=None,
        notification=item("structure", ListContainer([
            item("long-unsigned", code), item("octet-string", datetime_octets(when)),
            item("octet-string", image_hash)])),
    )  # fmt: skip
    return encode_payload("dlms-notification", payload)


def _outcome(code: int, version: bytes) -> Any:
    return asn1.sequence(asn1.integer(code), asn1.octet_string(version))


def _generalized(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y%m%d%H%M%SZ")


class Firmware:
    """What runs (`version`, shared with ECS52's read through `on_version`), the image held
    (hash, version) and the pending activation."""

    def __init__(self, profile: dict, version: bytes, clock: Clock,
                 now: Callable[[], dt.datetime], alert: Alert, stats: Counter,
                 on_version: Callable[[bytes], None]) -> None:  # fmt: skip
        self.version, self.clock, self.now, self.alert = version, clock, now, alert
        self.stats, self.on_version = stats, on_version
        image = profile.get("firmware_image")
        self.image: tuple[bytes, bytes] | None = (
            RTDS_IMAGE if image is None
            else (bytes.fromhex(image["hash"]), bytes.fromhex(image["version"])) if image
            else None
        )  # fmt: skip
        given = profile.get("hardware_version")  # hex; none: takes an image for any
        self.hardware_version = None if given is None else int(given, 16)
        #: the pending activation: (due, the command, its timer)
        self.pending: tuple[dt.datetime, Message, asyncio.TimerHandle] | None = None

    def answer(self, message: Message) -> bytes:
        """The DER response content to a CS06 command (module docstring)."""
        fields = message.payload.fields
        image_hash = bytes(fields.manufacturer_image_hash)
        when = fields.execution_date_time
        if self.pending is not None and when is not None:
            self.pending[2].cancel()
            self.pending = None
        if when is None:
            return asn1.encode_tree(_outcome(self._activate(image_hash), self.version))
        if str(when) != CANCEL:
            at = dt.datetime.strptime(str(when), "%Y%m%d%H%M%SZ").replace(tzinfo=dt.UTC)
            delay = max(0.0, (at - self.now()).total_seconds())
            timer = self.clock.call_later(delay, self._due, image_hash)
            self.pending = (at, message, timer)
            self.stats["firmware:scheduled"] += 1
        else:
            self.stats["firmware:cancelled"] += 1
        return asn1.encode_tree(asn1.null())  # command accepted

    def _activate(self, image_hash: bytes) -> int:
        """Run the held image if it is the one named; the activation's response code."""
        if self.image is None:
            code = NO_IMAGE_HELD
        elif self.image[0] != image_hash:
            code = HASH_MISMATCH
        else:
            code = SUCCESS
            self.version = self.image[1]
            self.on_version(self.version)
        self.stats[f"firmware:{OUTCOMES[code]}"] += 1
        return code

    def _due(self, image_hash: bytes) -> None:
        """A future-dated activation falls due: activate, alert the outcome."""
        if self.pending is None:
            return
        at, message, _timer = self.pending
        self.pending = None
        result = self._activate(image_hash)
        code = DONE if result == SUCCESS else NOT_DONE
        LOGGER.info("firmware activation at %s: %04X", at, code)
        content = asn1.encode_tree(asn1.sequence(
            asn1.integer(code), asn1.generalized_time(_generalized(at)),
            asn1.integer(int(message.payload.fields.originator_counter)),
            _outcome(result, self.version)))  # fmt: skip
        self.alert(bytes(message.originator), ACTIVATE_FIRMWARE_ALERT, content)

    def receive(self, raw: bytes, supplier: tuple[bytes, ec.EllipticCurvePublicKey] | None) -> int:
        """A distributed image (11.1) from the hub: checked, held if it verifies, and the
        receipt alerted to the Supplier; the alert code (8F72 or 8F1C)."""
        try:
            image = OtaImage.parse(raw, signed=True)
            if supplier is None or not image.signed_by(supplier[1]):
                raise ImageRefused("the Supplier's signature does not verify")
            if not image.fits(self.hardware_version):
                raise ImageRefused(f"not for hardware {self.hardware_version:04X}")
        except ImageRefused as exc:
            LOGGER.info("firmware image refused: %s", exc)
            self.stats["firmware:verification-failed"] += 1
            # the hash over what the meter took for the Manufacturer Image (all it got, when
            # it could not tell)
            body = bytes(raw)
            try:
                body = OtaImage.parse(raw, signed=True).manufacturer_image
            except ImageRefused:
                pass
            code, image_hash = VERIFICATION_FAILED, hashlib.sha256(body).digest()
        else:
            self.image = (image.hash, image.version)
            self.stats["firmware:verified"] += 1
            code, image_hash = VERIFIED, image.hash
        if supplier is not None:
            when = self.now()
            self.alert(supplier[0], FDRA,
                       lambda counter: receipt_alert(counter, code, when, image_hash))  # fmt: skip
        else:
            self.stats["firmware:no-supplier"] += 1
        return code

    def cancel(self) -> None:
        if self.pending is not None:
            self.pending[2].cancel()
            self.pending = None
