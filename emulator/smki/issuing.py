"""Device certificates issued for a device's own PKCS #10 request, as the SMKI's Device CA
issues a replacement: the device made a new key pair (GBCS CS02c, DUIS 6.17) and its
Supplier asks for a certificate of that key, then places it on the device (CS02d, 6.15.2).

The request must be signed by the key it names (proof that the device holds it), certify one
usage (digitalSignature or keyAgreement) and name the device by GBCS's hardwareModuleName,
as the device's own requests do. The certificate is issued by the repository's test PKI
(its Device CA), valid from the repository's now, and lodged In Use with the parties the
repository records for that device, so a DCC user finds it by the device's EUI.
"""

from __future__ import annotations

import datetime as dt

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from .errors import SmkiError
from .population import load_test_pki
from .records import DEVICE, IN_USE, Record, epoch
from .store import Repository
from .testpki import HARDWARE_MODULE_NAME


class RequestRefused(SmkiError):
    """A certificate signing request the SMKI will not issue for (says why)."""


def _usage(request: x509.CertificateSigningRequest) -> str:
    try:
        usage = request.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise RequestRefused("the request asks for no key usage") from None
    wanted = [u for u, on in (("DS", usage.digital_signature), ("KA", usage.key_agreement)) if on]
    if len(wanted) != 1:
        raise RequestRefused("a device certificate certifies one usage, DS or KA")
    return wanted[0]


def _device(request: x509.CertificateSigningRequest) -> bytes:
    """The EUI in the request's hardwareModuleName (its hwSerialNum, an 8-byte OCTET STRING)."""
    try:
        names = request.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        raise RequestRefused("the request names no device (no subjectAltName)") from None
    for name in names.get_values_for_type(x509.OtherName):
        value = bytes(name.value) if name.type_id == HARDWARE_MODULE_NAME else b""
        if len(value) >= 10 and value[-10:-8] == b"\x04\x08":
            return value[-8:]
    raise RequestRefused("the request names no device by hardwareModuleName")


def issue_for_request(repo: Repository, request_der: bytes, now: dt.datetime) -> Record:
    """Issue and lodge (In Use) the device certificate `request_der` asks for, valid from
    `now`; RequestRefused when the request is unreadable, not signed by its own key, or not
    a device's request for one usage."""
    try:
        request = x509.load_der_x509_csr(request_der)
        public_key = request.public_key()
    except ValueError as exc:
        raise RequestRefused(f"not a PKCS #10 request: {exc}") from None
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or not isinstance(
        public_key.curve, ec.SECP256R1
    ):
        raise RequestRefused("the request's key is not a P-256 key")
    if not request.is_signature_valid:
        raise RequestRefused("the request is not signed by the key it names")
    usage, eui = _usage(request), _device(request)
    held = [r for r in repo.search(eui, device=True) if r.kind == DEVICE]
    owner = next((r for r in held if r.party is not None), None)
    pki = load_test_pki(repo, now)
    serial, body = pki.issue_device(eui, usage, now.replace(microsecond=0), public_key)
    record = Record(
        serial=serial, kind=DEVICE, eui=eui, role=None, usage=usage, status=IN_USE,
        manufacturing=False, body=body,
        party=None if owner is None else owner.party,
        network_party=None if owner is None else owner.network_party,
    )  # fmt: skip
    repo.add(record, max(epoch(now), repo.last_change_at() or 0), source="device-csr")
    return record


__all__ = ["RequestRefused", "issue_for_request"]
