"""The emulator's test PKI: a root, a Device CA, and real device certificates at speed.

Devices the emulator creates need certificates that verify as a chain (device -> test DCA
-> test root). `cryptography`'s CertificateBuilder costs well over 100 µs a certificate in
Python; a national-size repository wants a million of them. So the builder makes one
*template* per usage and batch, and each device certificate is that template's
TBSCertificate with three fixed-length fields replaced (serial, EUI, public key) and then
really signed by the DCA's key (ECDSA P-256, SHA-256). Every certificate is an ordinary
X.509 certificate that `cryptography` parses and verifies against the DCA.

Device private keys are derived from the PKI's secret seed (HMAC-SHA256 of EUI and usage),
so any generated device can sign as itself later without a million keys being stored.
Test material only: the CA keys sit in the repository's database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import os
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .errors import SmkiError

HARDWARE_MODULE_NAME = x509.ObjectIdentifier("1.3.6.1.5.5.7.8.4")
# hwType of GB smart-metering device certificates, as in the RTDS device certificates.
DEVICE_HW_TYPE = bytes.fromhex("060D2A863A0001848FB90F01020201")
DEVICE_POLICY = x509.ObjectIdentifier("1.2.826.0.1.1800000.1.2.1.4")
END_OF_TIME = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC)
ROOT_EUI = bytes.fromhex("90B3D51F30FF0000")
DCA_EUI = bytes.fromhex("90B3D51F30FF0007")
# Generated devices live under this prefix (5 bytes of counter after it).
DEVICE_PREFIX = bytes.fromhex("00DB13")
_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551  # P-256 n
_ECDSA_SHA256 = bytes.fromhex("300a06082a8648ce3d040302")


def _der_length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(raw),)) + raw


def _der(tag: int, content: bytes) -> bytes:
    return bytes((tag,)) + _der_length(len(content)) + content


def new_serial() -> int:
    """A random positive 16-byte serial whose DER form is always 16 bytes long."""
    raw = bytearray(os.urandom(16))
    raw[0] = (raw[0] & 0x3F) | 0x40
    return int.from_bytes(raw, "big")


def device_eui(number: int) -> bytes:
    if not 0 <= number < 1 << 40:
        raise SmkiError(f"generated device number out of range: {number}")
    return DEVICE_PREFIX + number.to_bytes(5, "big")


def _point(public_key: ec.EllipticCurvePublicKey) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


@dataclass
class _Template:
    """A device TBSCertificate with the byte offsets of its variable fields."""

    tbs: bytes
    serial_at: int
    eui_at: int
    point_at: int


class TestPki:
    """Root + Device CA of the emulator, able to issue device certificates quickly."""

    __test__ = False  # not a pytest test class despite the name

    def __init__(self, root_key, root_cert, dca_key, dca_cert, seed: bytes):
        self.root_key: ec.EllipticCurvePrivateKey = root_key
        self.root_cert: x509.Certificate = root_cert
        self.dca_key: ec.EllipticCurvePrivateKey = dca_key
        self.dca_cert: x509.Certificate = dca_cert
        self.seed = seed
        self._templates: dict[tuple[str, int], _Template] = {}

    # --- creation and persistence ------------------------------------------------------
    @classmethod
    def create(cls, now: dt.datetime) -> TestPki:
        root_key = ec.generate_private_key(ec.SECP256R1())
        dca_key = ec.generate_private_key(ec.SECP256R1())
        root_name = _ca_name("gbhan test root", 0)
        dca_name = _ca_name("gbhan test DCA", 7)
        start = now - dt.timedelta(days=1)
        root_cert = (
            _ca_builder(root_name, root_name, root_key.public_key(), start, 1)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()), False)
            .sign(root_key, hashes.SHA256())
        )
        dca_cert = (
            _ca_builder(dca_name, root_name, dca_key.public_key(), start, 0)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(dca_key.public_key()), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()), False
            )
            .sign(root_key, hashes.SHA256())
        )
        return cls(root_key, root_cert, dca_key, dca_cert, os.urandom(32))

    def to_blobs(self) -> dict[str, bytes]:
        pem = serialization.Encoding.PEM
        pkcs8 = serialization.PrivateFormat.PKCS8
        none = serialization.NoEncryption()
        return {
            "root_key": self.root_key.private_bytes(pem, pkcs8, none),
            "root_cert": self.root_cert.public_bytes(serialization.Encoding.DER),
            "dca_key": self.dca_key.private_bytes(pem, pkcs8, none),
            "dca_cert": self.dca_cert.public_bytes(serialization.Encoding.DER),
            "seed": self.seed,
        }

    @classmethod
    def from_blobs(cls, blobs: dict[str, bytes]) -> TestPki:
        try:
            return cls(
                serialization.load_pem_private_key(blobs["root_key"], None),
                x509.load_der_x509_certificate(blobs["root_cert"]),
                serialization.load_pem_private_key(blobs["dca_key"], None),
                x509.load_der_x509_certificate(blobs["dca_cert"]),
                blobs["seed"],
            )
        except (KeyError, ValueError, TypeError) as exc:
            raise SmkiError(f"stored test PKI is unusable: {exc}") from None

    # --- device keys and certificates ---------------------------------------------------
    def device_key(self, eui: bytes, usage: str) -> ec.EllipticCurvePrivateKey:
        """The private key of a generated device (derived, so it is never stored)."""
        digest = hmac.new(self.seed, eui + usage.encode(), hashlib.sha256).digest()
        scalar = int.from_bytes(digest, "big") % (_ORDER - 1) + 1
        return ec.derive_private_key(scalar, ec.SECP256R1())

    def issue_device(
        self,
        eui: bytes,
        usage: str,
        not_before: dt.datetime,
        public_key: ec.EllipticCurvePublicKey | None = None,
        serial: int | None = None,
    ) -> tuple[int, bytes]:
        """(serial, DER) of a device certificate for this EUI and usage (DS or KA)."""
        if len(eui) != 8:
            raise SmkiError(f"an EUI-64 is 8 bytes, not {len(eui)}")
        if public_key is None:
            public_key = self.device_key(eui, usage).public_key()
        serial = new_serial() if serial is None else serial
        raw_serial = serial.to_bytes(16, "big")
        if not raw_serial[0] & 0x40 or raw_serial[0] & 0x80:
            raise SmkiError("device serials must be 16 bytes with the top bits 01")
        template = self._template(usage, not_before)
        tbs = bytearray(template.tbs)
        tbs[template.serial_at : template.serial_at + 16] = raw_serial
        tbs[template.eui_at : template.eui_at + 8] = eui
        tbs[template.point_at : template.point_at + 65] = _point(public_key)
        signature = self.dca_key.sign(bytes(tbs), ec.ECDSA(hashes.SHA256()))
        body = _der(0x30, bytes(tbs) + _ECDSA_SHA256 + _der(0x03, b"\x00" + signature))
        return serial, body

    def _template(self, usage: str, not_before: dt.datetime) -> _Template:
        if usage not in ("DS", "KA"):
            raise SmkiError(f"usage must be DS or KA, not {usage!r}")
        stamp = int(not_before.timestamp())
        key = (usage, stamp)
        cached = self._templates.get(key)
        if cached is not None:
            return cached
        marker_serial = new_serial()
        marker_eui = os.urandom(8)
        marker_key = ec.generate_private_key(ec.SECP256R1()).public_key()
        hardware_name = _der(0x30, DEVICE_HW_TYPE + _der(0x04, marker_eui))
        dca_ski = self.dca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
        builder = (
            x509.CertificateBuilder()
            .serial_number(marker_serial)
            .issuer_name(self.dca_cert.subject)
            .subject_name(x509.Name([]))
            .public_key(marker_key)
            .not_valid_before(dt.datetime.fromtimestamp(stamp, dt.UTC))
            .not_valid_after(END_OF_TIME)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=usage == "DS",
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=usage == "KA",
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectAlternativeName([x509.OtherName(HARDWARE_MODULE_NAME, hardware_name)]),
                critical=True,
            )
            .add_extension(
                x509.CertificatePolicies([x509.PolicyInformation(DEVICE_POLICY, None)]),
                critical=True,
            )
            .add_extension(
                x509.AuthorityKeyIdentifier(dca_ski.value.digest, None, None), critical=False
            )
        )
        tbs = builder.sign(self.dca_key, hashes.SHA256()).tbs_certificate_bytes
        offsets = []
        for marker in (marker_serial.to_bytes(16, "big"), marker_eui, _point(marker_key)):
            at = tbs.find(marker)
            if at < 0 or tbs.find(marker, at + 1) >= 0:
                raise SmkiError("device certificate template: a field is not unique")
            offsets.append(at)
        template = _Template(tbs, *offsets)
        self._templates[key] = template
        return template


def _ca_name(common_name: str, role: int) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"{role:02X}"),
        ]
    )


def _ca_builder(subject, issuer, public_key, start, path_length) -> x509.CertificateBuilder:
    return (
        x509.CertificateBuilder()
        .serial_number(new_serial())
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .not_valid_before(start)
        .not_valid_after(END_OF_TIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    )
