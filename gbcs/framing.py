"""APDU framing: General-Ciphering (DD), General-Signing (DF) with its grouping header.

Layout from the primer, sections 4.1-4.3. A MAC'd message is DD + empty header fields +
ciphered service (security header, the DF APDU, a 12-byte MAC). The DF APDU carries the
grouping header (CRA flag, originator counter, business originator and target, optional
date-time, other information), the payload, and an optional signature field.
"""

from construct import (
    Byte,
    Bytes,
    Const,
    Construct,
    Enum,
    GreedyBytes,
    If,
    Int16ub,
    Int32ub,
    Int64ub,
    StreamError,
    Struct,
    this,
)

from .primitives import Eui, LengthPrefixed, OptionalDateTime, SignatureField
from .strict import TrailingOptional, compile_strict

MAC_LENGTH = 12
SIGNATURE_LENGTH = 64

CraFlag = Enum(Byte, command=1, response=2, alert=3)

# Transaction id inside the DF header and the KDF's OtherInfo: length 09, CRA flag, counter.
TransactionId = Struct(Const(b"\x09"), "cra" / CraFlag, "counter" / Int64ub)


def _counter_unless_certificate(stream):
    ahead = stream.read(2)
    stream.seek(-len(ahead), 1)
    if len(ahead) < 2 or ahead[0] == 0x30 and ahead[1] in (0x81, 0x82):
        return None
    raw = stream.read(8)
    if len(raw) != 8:
        raise StreamError("supplementary originator counter: stream ended")
    return int.from_bytes(raw, "big")


class _CounterUnlessCertificate(Construct):
    """The supplementary originator counter, present unless a DER certificate comes next.

    RTDS shows both a 26-byte other information (SRP id, SRP counter, originator counter)
    and SRP id + SRP counter + certificate with no originator counter between (URP commands).
    """

    def _parse(self, stream, context, path):
        return _counter_unless_certificate(stream)

    def _emitparse(self, code):
        code.append("from gbcs.framing import _counter_unless_certificate")
        return "_counter_unless_certificate(io)"

    def _build(self, obj, stream, context, path):
        if obj is not None:
            Int64ub._build(obj, stream, context, path)
        return obj


# Other information: message code, then (depending on length) supplementary remote party id,
# its counter, the supplementary originator counter, and a DER certificate.
OtherInformation = Struct(
    "message_code" / Int16ub,
    "supplementary_remote_party" / TrailingOptional(Bytes(8)),
    "supplementary_remote_party_counter"
    / If(this.supplementary_remote_party != None, TrailingOptional(Int64ub)),  # noqa: E711
    "supplementary_originator_counter"
    / If(this.supplementary_remote_party_counter != None, _CounterUnlessCertificate()),  # noqa: E711
    "certificate" / GreedyBytes,
)

GeneralSigning = Struct(
    "tag" / Const(b"\xdf"),
    "transaction_id" / TransactionId,
    "originator" / Eui,
    "target" / Eui,
    "date_time" / OptionalDateTime(),
    "other_information" / LengthPrefixed(OtherInformation),
    "content" / LengthPrefixed(GreedyBytes),
    # absent (pre-command), 00 (unsigned), or 40 + r || s
    "signature" / SignatureField(),
)

GeneralCiphering = Struct(
    "tag" / Const(b"\xdd"),
    "transaction_id" / LengthPrefixed(GreedyBytes),
    "originator_system_title" / LengthPrefixed(GreedyBytes),
    "recipient_system_title" / LengthPrefixed(GreedyBytes),
    "date_time" / LengthPrefixed(GreedyBytes),
    "other_information" / LengthPrefixed(GreedyBytes),
    # key-info presence flag: only 'absent' occurs in GBCS MAC'd and GBT messages
    "key_info_present" / Const(b"\x00"),
    "ciphered_service"
    / LengthPrefixed(
        Struct(
            "security_control" / Byte,
            "invocation_counter" / Int32ub,
            "information" / GreedyBytes,
        ),
    ),
)

# The compiled, strict parsers every decoder of these APDUs uses (gbcs.message, gbcs.security).
GENERAL_CIPHERING_PARSER = compile_strict(GeneralCiphering)
GENERAL_SIGNING_PARSER = compile_strict(GeneralSigning)
