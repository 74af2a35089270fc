"""DUIS XML signatures: enveloped XMLDSig, exclusive c14n, ECDSA-SHA256, SHA-256 digest, and a
`KeyInfo/X509Data/X509IssuerSerial` naming the signer's XML-signing certificate.

Verification is signxml's (on lxml and cryptography); this module decides which certificate
a signature must verify against (by issuer and serial, from certificates the caller trusts)
and turns every failure into a typed error. Signing builds the same Signature element signxml
builds, byte for byte but the ECDSA value (tests/backoffice/test_backoffice_signing.py holds
it to `sign_with_signxml` on every template), straight from lxml's exclusive c14n and
cryptography: a third of the cost, and the DSP signs every answer it sends.
"""

from __future__ import annotations

import base64
import copy
import functools
import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from lxml import etree
from signxml import (
    CanonicalizationMethod,
    DigestAlgorithm,
    SignatureConfiguration,
    SignatureMethod,
    XMLSigner,
    XMLVerifier,
)
from signxml.exceptions import InvalidInput, InvalidSignature

from emulator.errors import EmulatorError
from gbcs.keystore import Keystore

from .response_codes import FailedCheck, ResponseCode

DS = "http://www.w3.org/2000/09/xmldsig#"
XML_SIGNING_ROLES = frozenset({0x87, 0x89})  # a user's DUIS signing cert, the DSP's


class XmlSignatureError(EmulatorError, ValueError):
    """A signature that cannot be accepted; `reason` is the short text the CLI prints."""

    code = ResponseCode.XML_SIGNATURE_FAILED
    reason = FailedCheck.SIGNATURE


class NoSignature(XmlSignatureError):
    reason = FailedCheck.NO_SIGNATURE


class UnknownCertificate(XmlSignatureError):
    reason = FailedCheck.UNKNOWN_CERTIFICATE


class SignatureInvalid(XmlSignatureError):
    reason = FailedCheck.SIGNATURE


def _ds(name: str) -> str:
    return f"{{{DS}}}{name}"


_RDN = re.compile(r"\s*([A-Za-z0-9.]+)\s*=\s*((?:\\.|[^,\\])*)")


def normalise_name(text: str) -> frozenset[tuple[str, str]]:
    """An X509IssuerName as a set of (attribute, value): `CN=Z1,OU=07` and `OU=07, CN=Z1`
    name the same issuer (signers differ in order and spacing)."""
    return frozenset((m.group(1).upper(), m.group(2).strip()) for m in _RDN.finditer(text))


def issuer_text(certificate: x509.Certificate) -> str:
    return certificate.issuer.rfc4514_string()


@dataclass(frozen=True)
class Signer:
    """A private key and the XML-signing certificate that names it in KeyInfo."""

    private_key: ec.EllipticCurvePrivateKey
    certificate: x509.Certificate


class TrustedCertificates:
    """XML-signing certificates a verifier accepts, found by (issuer, serial)."""

    def __init__(self, certificates: Iterable[x509.Certificate] = ()):
        self._by_id: dict[tuple[frozenset, int], x509.Certificate] = {}
        for certificate in certificates:
            self.add(certificate)

    def add(self, certificate: x509.Certificate) -> None:
        key = (normalise_name(issuer_text(certificate)), certificate.serial_number)
        self._by_id[key] = certificate

    def add_pem_file(self, path: str | Path) -> None:
        for block in re.findall(
            rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----",
            Path(path).read_bytes(),
            re.S,
        ):
            self.add(x509.load_pem_x509_certificate(block))

    @classmethod
    def from_keystore(cls, keystore: Keystore) -> TrustedCertificates:
        """Every XML-signing certificate (OU 87 users, OU 89 DSP) the keystore holds."""
        return cls(
            entry.certificate
            for entry in keystore.all_entries()
            if entry.role in XML_SIGNING_ROLES and entry.certificate is not None
        )

    def find(self, issuer: str, serial: int) -> x509.Certificate | None:
        return self._by_id.get((normalise_name(issuer), serial))

    def __len__(self) -> int:
        return len(self._by_id)


def signer_from_keystore(keystore: Keystore, eui: bytes | str) -> Signer:
    """The XML-signing key pair of a user or the DSP held in the DCC Boxed keystore."""
    for entry in keystore.xml_signing_entries(eui):
        private_key = keystore.private_key_of(entry)
        if private_key is not None and entry.certificate is not None:
            return Signer(private_key, entry.certificate)
    raise UnknownCertificate(f"no XML-signing key pair for {eui!r} in the keystore")


def _key_info(certificate: x509.Certificate) -> etree._Element:
    """A fresh copy of the certificate's KeyInfo (built once per certificate: its issuer
    name's RFC 4514 text is costly to make on every signature)."""
    return copy.deepcopy(_key_info_template(certificate))


@functools.lru_cache(maxsize=64)
def _key_info_template(certificate: x509.Certificate) -> etree._Element:
    key_info = etree.Element(_ds("KeyInfo"), nsmap={"ds": DS})
    serial = etree.SubElement(etree.SubElement(key_info, _ds("X509Data")), _ds("X509IssuerSerial"))
    etree.SubElement(serial, _ds("X509IssuerName")).text = issuer_text(certificate)
    etree.SubElement(serial, _ds("X509SerialNumber")).text = str(certificate.serial_number)
    return key_info


def remove_signature(root: etree._Element) -> etree._Element:
    """A copy of the document without its enveloped signature(s)."""
    duplicate = copy.deepcopy(root)  # the same tree as a serialise-parse round, cheaper
    for node in duplicate.findall(_ds("Signature")):
        duplicate.remove(node)
    return duplicate


def strip_insignificant_whitespace(root: etree._Element) -> etree._Element:
    """Drops whitespace-only text between elements, in place. DUIS has no mixed content, and
    DCC Boxed parses with element-content whitespace ignored (schema-aware DOM) before it
    signs or checks a digest, so a signature only interoperates over the stripped form."""
    for element in root.iter():
        if len(element) and element.text is not None and not element.text.strip():
            element.text = None
        if element.tail is not None and not element.tail.strip():
            element.tail = None
    return root


_EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
_ALGORITHMS = (
    ("CanonicalizationMethod", _EXC_C14N),
    ("SignatureMethod", "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"),
)
_TRANSFORMS = ("http://www.w3.org/2000/09/xmldsig#enveloped-signature", _EXC_C14N)
_SHA256 = "http://www.w3.org/2001/04/xmlenc#sha256"


def sign(root: etree._Element, signer: Signer) -> etree._Element:
    """The document signed as DCC Boxed signs (any earlier signature replaced; indentation
    between elements removed, see strip_insignificant_whitespace): an enveloped signature,
    the document's exclusive c14n digested with SHA-256, the SignedInfo's exclusive c14n
    signed with ECDSA P-256 / SHA-256 (r || s, 32 bytes each)."""
    unsigned = strip_insignificant_whitespace(remove_signature(root))
    digest = hashlib.sha256(etree.tostring(unsigned, method="c14n", exclusive=True)).digest()
    signature = etree.Element(_ds("Signature"), nsmap={"ds": DS})
    signed_info = etree.SubElement(signature, _ds("SignedInfo"))
    for name, algorithm in _ALGORITHMS:
        etree.SubElement(signed_info, _ds(name), Algorithm=algorithm)
    reference = etree.SubElement(signed_info, _ds("Reference"), URI="")
    transforms = etree.SubElement(reference, _ds("Transforms"))
    for algorithm in _TRANSFORMS:
        etree.SubElement(transforms, _ds("Transform"), Algorithm=algorithm)
    etree.SubElement(reference, _ds("DigestMethod"), Algorithm=_SHA256)
    etree.SubElement(reference, _ds("DigestValue")).text = base64.b64encode(digest).decode()
    canonical = etree.tostring(signed_info, method="c14n", exclusive=True)
    r, s = decode_dss_signature(signer.private_key.sign(canonical, ec.ECDSA(hashes.SHA256())))
    value = r.to_bytes(32, "big") + s.to_bytes(32, "big")
    etree.SubElement(signature, _ds("SignatureValue")).text = base64.b64encode(value).decode()
    signature.append(_key_info(signer.certificate))
    unsigned.append(signature)
    return unsigned


def sign_with_signxml(root: etree._Element, signer: Signer) -> etree._Element:
    """`sign` done by signxml: the reference `sign` is held to (same bytes but the value)."""
    unsigned = strip_insignificant_whitespace(remove_signature(root))
    xml_signer = XMLSigner(
        signature_algorithm=SignatureMethod.ECDSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    xml_signer.namespaces = {"ds": DS}
    return xml_signer.sign(
        unsigned,
        key=signer.private_key,
        key_info=_key_info(signer.certificate),
    )


_EXPECT = SignatureConfiguration(
    require_x509=True,
    location="./",  # the enveloped signature is a child of the root, nowhere else
    expect_references=1,
    signature_methods=frozenset({SignatureMethod.ECDSA_SHA256}),
    digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
    # DCC Boxed lists only the enveloped transform; XMLDSig then digests with inclusive C14N
    # 1.0. gbhan's own signatures list the exclusive c14n transform explicitly.
    default_reference_c14n_method=CanonicalizationMethod.CANONICAL_XML_1_0,
)


@dataclass(frozen=True)
class Verified:
    """A checked signature: who signed (their certificate) and the XML the signature covers."""

    certificate: x509.Certificate
    signed_root: etree._Element


def issuer_serial(root: etree._Element) -> tuple[str, int]:
    """The (issuer, serial) a document's signature names; NoSignature if it has none."""
    signatures = root.findall(_ds("Signature"))
    if not signatures:
        raise NoSignature("no ds:Signature")
    if len(signatures) > 1:
        raise SignatureInvalid("more than one ds:Signature")
    name = signatures[0].find(f"{_ds('KeyInfo')}/{_ds('X509Data')}/{_ds('X509IssuerSerial')}")
    if name is None:
        raise UnknownCertificate("KeyInfo has no X509IssuerSerial")
    issuer = name.findtext(_ds("X509IssuerName"), "").strip()
    serial = name.findtext(_ds("X509SerialNumber"), "").strip()
    if not serial.isdigit():
        raise UnknownCertificate(f"X509SerialNumber {serial!r} is not a number")
    return issuer, int(serial)


def verify(root: etree._Element, trusted: TrustedCertificates) -> Verified:
    """Checks the enveloped signature against the trusted certificate it names; the returned
    `signed_root` is what the signature covers (read that, not the input, afterwards)."""
    issuer, serial = issuer_serial(root)
    root = strip_insignificant_whitespace(copy.deepcopy(root))
    certificate = trusted.find(issuer, serial)
    if certificate is None:
        raise UnknownCertificate(f"no trusted certificate issuer {issuer!r} serial {serial}")
    try:
        result = XMLVerifier().verify(root, x509_cert=certificate, expect_config=_EXPECT)
    except (InvalidSignature, InvalidInput) as exc:
        raise SignatureInvalid(f"signature does not verify: {exc}") from None
    # one reference is expected, so signxml answers with one result
    if isinstance(result, list) or result.signed_xml is None:
        raise SignatureInvalid("the signature does not cover exactly one document")
    return Verified(certificate, result.signed_xml)
