"""The checks every DUIS document goes through, in order, before anything acts on it:
hardened parse → DUIS schema → XML signature (unless the document may be unsigned).

Shared by `gbhan duis verify` and the DSP so both judge a document the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

from cryptography import x509
from lxml import etree

from emulator.errors import EmulatorError

from . import duis, xmlsig
from .response_codes import FailedCheck, ResponseCode


@dataclass(frozen=True)
class Checked:
    """A document that passed: its signed content, and the signer's certificate if signed."""

    root: etree._Element
    certificate: x509.Certificate | None

    @property
    def signed(self) -> bool:
        return self.certificate is not None


class Refused(EmulatorError, ValueError):
    """Why a document was refused: `reason` the check that failed (its text is for people),
    `code` the DUIS response code to answer with."""

    def __init__(self, reason: FailedCheck, detail: str, code: ResponseCode):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.code = code


def may_be_unsigned(root: etree._Element) -> bool:
    """Only an error acknowledgement (a response with an E code) may come unsigned, as DCC
    Boxed sends them; requests, successes and alerts must be signed."""
    code = duis.response_code_of(root)
    return code is not None and code.startswith("E")


def check(
    data: bytes,
    schema: duis.DuisSchema,
    trusted: xmlsig.TrustedCertificates,
    *,
    require_signature: bool | None = None,
) -> Checked:
    """Parse, validate and verify one DUIS document; Refused says which check failed.
    `require_signature` None applies `may_be_unsigned`; True or False forces it."""
    try:
        root = duis.parse(data)
    except duis.DuisError as exc:
        raise Refused(FailedCheck.XML, str(exc), exc.code) from None
    try:
        schema.validate(root)
    except duis.SchemaInvalid as exc:
        raise Refused(FailedCheck.SCHEMA, str(exc), exc.code) from None
    required = not may_be_unsigned(root) if require_signature is None else require_signature
    try:
        verified = xmlsig.verify(root, trusted)
    except xmlsig.NoSignature as exc:
        if required:
            raise Refused(exc.reason, str(exc), exc.code) from None
        return Checked(root, None)
    except xmlsig.XmlSignatureError as exc:
        raise Refused(exc.reason, str(exc), exc.code) from None
    return Checked(verified.signed_root, verified.certificate)
