"""The decoded message: every layer of a GBCS message as one typed tree, and back to bytes.

decode() peels the layers in order: General-Ciphering envelope (if MAC'd), General-Signing
APDU with its grouping header, then the payload, which one of the payload layers (DLMS,
GBZ, ASN.1) decodes according to the use-case registry and the payload's first bytes.
encode() builds the same layers back; decode() then encode() is byte-identical.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from construct import Container

from . import framing, payload
from .errors import DecodeError, EncodeError
from .outcomes import FRAGMENT_HEADER, SecurityInputs
from .primitives import build_layer, encode_length
from .record import Record
from .usecases import USE_CASES, UseCase


class Message(Record):
    """A GBCS message. Layers: `envelope` (DD, None when not MAC'd), `header` (the grouping
    header of the DF APDU), `payload` (decoded content, see `payload_kind`), `signature`
    (None: no field, as in a pre-command; b"": unsigned; 64 bytes: r || s)."""

    FIELDS = (
        "header",
        "payload_kind",
        "payload",
        "signature",
        "envelope",
        "mac",
        "use_case",
        "apdu",
        "apdu_offset",
        "content_offset",
        "decrypted",
    )

    def __init__(
        self,
        header: Container,
        payload_kind: str,
        payload: Container | payload.Deferred,
        signature: bytes | None,
        envelope: Container | None = None,
        mac: bytes | None = None,
        use_case: UseCase | None = None,
        # wire facts kept from decoding, used by the security checks
        apdu: bytes = b"",
        apdu_offset: int = 0,
        content_offset: int = 0,
        decrypted: list[bytes | None] | None = None,  # None: not decrypted
    ) -> None:
        self.header = header
        self.payload_kind = payload_kind
        self._payload = payload
        self.signature = signature
        self.envelope = envelope
        self.mac = mac
        self.use_case = use_case
        self.apdu = apdu
        self.apdu_offset = apdu_offset
        self.content_offset = content_offset
        self.decrypted: list[bytes | None] = [] if decrypted is None else decrypted

    @property
    def payload(self) -> Container:
        """The decoded payload (built here when first read, if decode deferred it:
        payload.Deferred)."""
        value = self._payload
        if value.__class__ is payload.Deferred:
            value = self._payload = value.build()
        return value

    @payload.setter
    def payload(self, value: Container) -> None:
        self._payload = value

    @property
    def invoke_id(self) -> int | None:
        """A DLMS payload's long-invoke-id-and-priority (None for other payloads), read
        without building a deferred payload."""
        value = self._payload
        if value.__class__ is payload.Deferred:
            found = value.invoke_id
        else:
            found = value.get("long_invoke_id_and_priority") if isinstance(value, dict) else None
        return found if isinstance(found, int) else None

    # --- the grouping header, by name -------------------------------------------------
    @property
    def cra(self) -> str:
        return str(self.header["transaction_id"]["cra"])

    @property
    def cra_flag(self) -> int:
        return int(self.header["transaction_id"]["cra"])

    @property
    def counter(self) -> int:
        counter: int = self.header["transaction_id"]["counter"]
        return counter

    @property
    def originator(self) -> bytes:
        originator: bytes = self.header["originator"]
        return originator

    @property
    def target(self) -> bytes:
        target: bytes = self.header["target"]
        return target

    @property
    def message_code(self) -> int:
        code: int = self.header["other_information"]["message_code"]
        return code

    @property
    def other_information(self) -> Container:
        return self.header.other_information

    @property
    def is_mac_protected(self) -> bool:
        return self.envelope is not None

    @property
    def is_precommand(self) -> bool:
        return self.signature is None and self.envelope is None

    @property
    def signed_data(self) -> bytes:
        """The bytes a signature covers: after the DF tag through the end of the content."""
        sig_field = 0 if self.signature is None else 1 + len(self.signature)
        return self.apdu[1 : len(self.apdu) - sig_field]

    def security_inputs(self, fragments: Sequence[bytes] | None = None) -> SecurityInputs:
        """What the security checks read of this message (gbcs.security.check_inputs).

        `fragments`: its encrypted parts, by default gbcs.payload.encrypted_fragments of
        its payload; that walk of the tree is skipped where no fragment header occurs in
        the APDU at all (every fragment starts with one), as in most messages, or the
        payload is of a kind that holds none (an ASN.1 one, whose tree a check then never
        builds: payload.Deferred)."""
        if fragments is None:
            fragments = (
                payload.encrypted_fragments(self.payload_kind, self.payload)
                if FRAGMENT_HEADER in self.apdu and self.payload_kind in payload.FRAGMENT_KINDS
                else ()
            )
        header = self.header
        transaction = header["transaction_id"]
        signature, mac, envelope = self.signature, self.mac, self.envelope
        mac_header = None
        if envelope is not None:
            service = envelope["ciphered_service"]
            mac_header = (service["security_control"], service["invocation_counter"])
        return SecurityInputs(
            bytes(self.apdu),
            None if signature is None else bytes(signature),
            bytes(header["originator"]),
            bytes(header["target"]),
            int(transaction["cra"]),
            transaction["counter"],
            None if mac is None else bytes(mac),
            mac_header,
            tuple(bytes(fragment) for fragment in fragments) if fragments else (),
            self.encryption_parameters() if fragments else None,
        )

    def encryption_parameters(self) -> tuple[bytes, int, bytes]:
        """(originator, counter, recipient) for this message's encrypted fragments (primer
        5.3): a supplementary remote party replaces the recipient, and a supplementary
        originator counter replaces the counter."""
        info = self.other_information
        recipient = _field(info, "supplementary_remote_party") or self.target
        counter = _field(info, "supplementary_originator_counter")
        return (
            bytes(self.originator),
            self.counter if counter is None else counter,
            bytes(recipient),
        )

    @property
    def kind(self) -> str:
        """Which of the four shapes: precommand, signed, mac, or unsigned."""
        if self.envelope is not None:
            return "mac"
        if self.signature:
            return "signed"
        return "precommand" if self.signature is None else "unsigned"


def decode(data: bytes, *, defer: bool = False) -> Message:
    """Decode a whole GBCS message (DD-wrapped or bare DF) into a Message.

    `defer` (what a check asks): an ASN.1 payload, or a DLMS access request's or
    response's, is proved here, with the same errors and non-canonical counts as decoding
    it, and built only if `payload` is read (payload.Deferred). A check reads few; proving
    then building costs more than building, so a caller that reads the tree decodes it
    now (the default)."""
    data = bytes(data)
    if not data:
        raise DecodeError("framing", "empty message", 0)
    envelope = mac = None
    apdu_offset = 0
    if data[0] == 0xDD:
        envelope, apdu_offset = framing.read_general_ciphering(data)
        # the ciphered information, data[apdu_offset:], is the APDU and the MAC
        if data[apdu_offset : apdu_offset + 1] == b"\xe0":
            raise DecodeError(
                "general-ciphering",
                "a GBT block: reassemble segments with gbcs.gbt before decoding",
                apdu_offset,
            )
        if len(data) - apdu_offset < framing.MAC_LENGTH + 1:
            raise DecodeError("general-ciphering", "too short for an APDU and a MAC", apdu_offset)
        apdu, mac = data[apdu_offset : -framing.MAC_LENGTH], data[-framing.MAC_LENGTH :]
    elif data[0] == 0xDF:
        apdu = data
    else:
        raise DecodeError("framing", f"unknown APDU tag 0x{data[0]:02X}", 0)

    header, content, signature = framing.read_general_signing(apdu, apdu_offset)
    content_offset = apdu_offset + _content_start(apdu, len(content), signature)
    # item access, not attributes: construct's Container.__getattr__ costs ~1 µs a hop
    use_case = USE_CASES.get(header["other_information"]["message_code"])  # lookup(), inline
    kind, value = payload.decode(content, content_offset, header, use_case, defer=defer)
    return Message(
        header=header,
        payload_kind=kind,
        payload=value,
        signature=signature,
        envelope=envelope,
        mac=mac,
        use_case=use_case,
        apdu=apdu,
        apdu_offset=apdu_offset,
        content_offset=content_offset,
    )


def _field(container: Container | None, name: str) -> Any:
    if container is None:
        return None
    try:
        return container[name]
    except (KeyError, TypeError):
        return getattr(container, name, None)


def encode(message: Message) -> bytes:
    """Build the bytes of a Message: payload, then the DF APDU, then the DD envelope."""
    content = payload.encode(message.payload_kind, message.payload)
    apdu = encode_apdu(message.header, content, message.signature)
    if message.envelope is None:
        return apdu
    if message.mac is None or len(message.mac) != framing.MAC_LENGTH:
        raise EncodeError("general-ciphering", "a MAC'd message needs a 12-byte mac")
    written = framing.write_general_ciphering(message.envelope, apdu + bytes(message.mac))
    if written is not None:
        return written
    envelope = Container(message.envelope)
    service = Container(envelope.ciphered_service)
    service.information = apdu + message.mac
    envelope.ciphered_service = service
    return build_layer(framing.GeneralCiphering, envelope, "general-ciphering")


def encode_apdu(header: Container, content: bytes, signature: bytes | None) -> bytes:
    """The DF APDU for a grouping header, payload bytes and signature field: written by hand
    when the values are of decode's shapes, else built by the Struct (the definition)."""
    written = framing.write_general_signing(header, content, signature)
    if written is not None:
        return written
    value = Container(header)
    value.content = content
    value.signature = signature
    return build_layer(framing.GeneralSigning, value, "general-signing")


def _content_start(apdu: bytes, content_length: int, signature: bytes | None) -> int:
    sig_field = 0 if signature is None else 1 + len(signature)
    return len(apdu) - sig_field - content_length


def wrap_for_mac(apdu: bytes, mac: bytes = bytes(framing.MAC_LENGTH)) -> bytes:
    """A DD envelope (empty header fields, security control 0x11) around a DF APDU."""
    service = b"\x11\x00\x00\x00\x00" + apdu + mac
    return b"\xdd" + bytes(6) + encode_length(len(service)) + service
