"""Payload dispatch: which layer decodes a message's content, and back.

Order (primer section 7): the use-case registry's declared encoding first (ASN.1 use cases),
then the content's first bytes: 01 09 GBZ (alert layout when CRA = 3), D9 / DA DLMS access
request / response, 0F DLMS data-notification, 30 / 02 / 04 / 05 DER.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from construct import Container, EnumIntegerString

from . import asn1, dlms, gbz
from .errors import DecodeError, EncodeError

if TYPE_CHECKING:
    from .usecases import UseCase

DLMS_KINDS = {0xD9: "dlms-access-request", 0xDA: "dlms-access-response", 0x0F: "dlms-notification"}
ASN1_FIRST_BYTES = frozenset((0x30, 0x02, 0x04, 0x05))
GBZ_KINDS = ("gbz", "gbz-alert")
# the kinds whose payloads can hold encrypted fragments (encrypted_fragments)
FRAGMENT_KINDS = frozenset((*DLMS_KINDS.values(), *GBZ_KINDS))


class Deferred:
    """A payload whose form is proved but whose tree is not built yet. A check proves every
    payload but reads few of their trees, and building them was most of decoding: an
    ASN.1 payload (~50 nodes a certificate; asn1.check_tree) and a DLMS access request's
    or response's data items (dlms.check, which also keeps the APDU's head: `invoke_id`).
    Message.payload builds it on first read, as decoding would have."""

    __slots__ = ("kind", "content", "base", "code", "cra", "invoke_id")

    def __init__(
        self, kind: str, content: bytes, base: int, code: int, cra: int, invoke_id: int | None
    ) -> None:
        self.kind, self.content, self.base = kind, content, base
        self.code, self.cra, self.invoke_id = code, cra, invoke_id

    def build(self) -> Container:
        if self.kind == "asn1":
            return asn1.decode(self.content, self.base, self.code, self.cra)
        return dlms.decode(self.kind, self.content, self.base)


def decode(
    content: bytes,
    base: int,
    header: Container,
    use_case: UseCase | None,
    *,
    defer: bool = False,
) -> tuple[str, Container | Deferred]:
    """(payload kind, decoded payload) for a message's content bytes. `defer`: an ASN.1
    payload, or a DLMS access request or response, is proved here as decoding it would
    (the same errors, the same non-canonical forms counted) and given as a Deferred."""
    if not content:
        raise DecodeError("payload", "empty content", base)
    declared = use_case.encoding if use_case is not None else None
    first = content[0]
    code = header["other_information"]["message_code"]
    cra = header["transaction_id"]["cra"]
    # the flag's number without a call to EnumIntegerString.__int__ (an unknown flag: an int)
    cra = cra.intvalue if cra.__class__ is EnumIntegerString else int(cra)
    if declared == "asn1" or (declared is None and first in ASN1_FIRST_BYTES):
        if defer:
            asn1.check_tree(content, base)
            return "asn1", Deferred("asn1", content, base, code, cra, None)
        return "asn1", asn1.decode(content, base, code, cra)
    if content[:2] == b"\x01\x09":
        if cra == 3:
            return "gbz-alert", gbz.decode_alert(content, base, code)
        return "gbz", gbz.decode(content, base)
    kind = DLMS_KINDS.get(first)
    if kind is not None:
        head = dlms.check(kind, content, base) if defer else None
        if head is not None:
            invoke_id = head["long_invoke_id_and_priority"]
            return kind, Deferred(kind, content, base, code, cra, invoke_id)
        return kind, dlms.decode(kind, content, base)
    raise DecodeError("payload", f"no payload layer starts with 0x{first:02X}", base)


def encode(kind: str, value: Container) -> bytes:
    if kind == "asn1":
        return asn1.encode(value)
    if kind == "gbz":
        return gbz.encode(value)
    if kind == "gbz-alert":
        return gbz.encode_alert(value)
    if kind in DLMS_KINDS.values():
        return dlms.encode(kind, value)
    raise EncodeError("payload", f"unknown payload kind {kind!r}")


def encrypted_fragments(kind: str, value: Container) -> list[bytes]:
    """Every encrypted fragment (31 00 00 00 00 + ciphertext + 12-byte tag) in a payload."""
    if kind in DLMS_KINDS.values():
        return dlms.encrypted_fragments(value)
    if kind in GBZ_KINDS:  # a GBZ alert with components (GCS53) encrypts them as a response
        return gbz.encrypted_fragments(value)
    return []


def decode_plaintexts(
    kind: str, value: Container, plaintexts: list[bytes | None]
) -> list[Container | None]:
    """Decrypted fragments (in encrypted_fragments order) decoded as their layer reads them:
    an A-XDR item for DLMS, the ZCL command for GBZ; None where not decrypted."""
    if kind in DLMS_KINDS.values():
        return [None if p is None else dlms.decode_data(p) for p in plaintexts]
    if kind in GBZ_KINDS:
        encrypted = [c for c in value.get("components") or () if c.body.encrypted_frame is not None]
        return [
            None if p is None else gbz.decode_plaintext(component, p)
            for component, p in zip(encrypted, plaintexts, strict=False)
        ]
    return [None for _ in plaintexts]
