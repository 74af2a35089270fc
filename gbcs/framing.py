"""APDU framing: General-Ciphering (DD), General-Signing (DF) with its grouping header.

Layout from the primer, sections 4.1-4.3. A MAC'd message is DD + empty header fields +
ciphered service (security header, the DF APDU, a 12-byte MAC). The DF APDU carries the
grouping header (CRA flag, originator counter, business originator and target, optional
date-time, other information), the payload, and an optional signature field.

Two readers, one layout. The construct Structs are the definition: encode builds with them
and general_*_parser() (their strict compiled parsers) decode. `read_general_signing` and
`read_general_ciphering` read the same bytes by hand for `gbcs.decode`, where construct's
per-message overhead (substreams, context dicts, BytesIO reads) was a quarter of the decode
time. Both use the constants below; tests/gbcs/test_framing.py checks that the two readers
give the same tree, or the same error at the same offset, on every RTDS message and on
mutations of them.
"""

from __future__ import annotations

import functools
import struct
from io import BytesIO
from typing import TYPE_CHECKING, Any, BinaryIO

from construct import (
    Byte,
    Const,
    Container,
    Enum,
    EnumInteger,
    GreedyBytes,
    If,
    Int16ub,
    Int32ub,
    Int64ub,
    StreamError,
    Struct,
    this,
)

from .errors import DecodeError
from .primitives import (
    COSEM_FIELDS,
    COSEM_STRUCT,
    Eui,
    LengthPrefixed,
    OptionalDateTime,
    SignatureField,
    encode_length,
    fail_at,
    long_form_value,
    read_length_form,
    read_optional_datetime,
)
from .strict import Construct, ExactBytes, TrailingOptional, compile_strict

if TYPE_CHECKING:
    from construct import CodeGen

    from .strict import Compiled

MAC_LENGTH = 12
SIGNATURE_LENGTH = 64

# --- the layout's facts, shared by the Structs and the hand readers -----------------------
DF_TAG = b"\xdf"
DD_TAG = b"\xdd"
TRANSACTION_ID_LENGTH = b"\x09"  # the DF header's transaction id: 09, CRA flag, counter
SYSTEM_TITLE_LENGTH = 8  # Eui: 08 + 8 bytes
SIGNATURE_LENGTHS = (0, SIGNATURE_LENGTH)  # SignatureField: absent, 00, or 40 + r || s
KEY_INFO_ABSENT = b"\x00"
# a DER certificate (30 81 .. / 30 82 ..) in place of the supplementary originator counter
CERTIFICATE_START = 0x30
CERTIFICATE_LENGTH_FORMS = (0x81, 0x82)

CraFlag = Enum(Byte, command=1, response=2, alert=3)

# Transaction id inside the DF header and the KDF's OtherInfo: length 09, CRA flag, counter.
TransactionId = Struct(Const(TRANSACTION_ID_LENGTH), "cra" / CraFlag, "counter" / Int64ub)


def _counter_unless_certificate(stream: BinaryIO) -> int | None:
    ahead = stream.read(2)
    stream.seek(-len(ahead), 1)
    if len(ahead) < 2 or ahead[0] == CERTIFICATE_START and ahead[1] in CERTIFICATE_LENGTH_FORMS:
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

    def _parse(self, stream: BytesIO, context: Container, path: str) -> int | None:
        return _counter_unless_certificate(stream)

    def _emitparse(self, code: CodeGen) -> str:
        code.append("from gbcs.framing import _counter_unless_certificate")
        return "_counter_unless_certificate(io)"

    def _build(self, obj: Any, stream: BytesIO, context: Container, path: str) -> Any:
        if obj is not None:
            Int64ub._build(obj, stream, context, path)
        return obj


# Other information: message code, then (depending on length) supplementary remote party id,
# its counter, the supplementary originator counter, and a DER certificate.
OtherInformation = Struct(
    "message_code" / Int16ub,
    "supplementary_remote_party" / TrailingOptional(ExactBytes(SYSTEM_TITLE_LENGTH)),
    "supplementary_remote_party_counter"
    / If(this.supplementary_remote_party != None, TrailingOptional(Int64ub)),  # noqa: E711
    "supplementary_originator_counter"
    / If(this.supplementary_remote_party_counter != None, _CounterUnlessCertificate()),  # noqa: E711
    "certificate" / GreedyBytes,
)

GeneralSigning = Struct(
    "tag" / Const(DF_TAG),
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
    "tag" / Const(DD_TAG),
    "transaction_id" / LengthPrefixed(GreedyBytes),
    "originator_system_title" / LengthPrefixed(GreedyBytes),
    "recipient_system_title" / LengthPrefixed(GreedyBytes),
    "date_time" / LengthPrefixed(GreedyBytes),
    "other_information" / LengthPrefixed(GreedyBytes),
    # key-info presence flag: only 'absent' occurs in GBCS MAC'd and GBT messages
    "key_info_present" / Const(KEY_INFO_ABSENT),
    "ciphered_service"
    / LengthPrefixed(
        Struct(
            "security_control" / Byte,
            "invocation_counter" / Int32ub,
            "information" / GreedyBytes,
        ),
    ),
)


# The compiled, strict parsers (gbcs.security's apdu_layout, and the reference the hand
# readers are held to), made on first use: a check decodes with the hand readers and never
# needs them, and loading them was a millisecond of every process's start.
@functools.cache
def general_ciphering_parser() -> Compiled:
    return compile_strict(GeneralCiphering, "framing.GeneralCiphering")


@functools.cache
def general_signing_parser() -> Compiled:
    return compile_strict(GeneralSigning, "framing.GeneralSigning")


# --- the hand readers used by gbcs.decode -------------------------------------------------
# Each mirrors the compiled parser field by field, including its error texts and offsets
# (a short fixed-size read fails where the stream ends; a short sized region where it
# begins), so gbcs.decode reports exactly what general_*_parser() would.

# big-endian counters read in place, without slicing them out first: the 8-byte originator
# and supplementary counters, the ciphered service's 4-byte invocation counter
_COUNTER_AT = struct.Struct(">Q").unpack_from
_INVOCATION_COUNTER_AT = struct.Struct(">I").unpack_from

# the same EnumIntegerString objects construct's Enum parses to (an unknown flag: EnumInteger)
_CRA_VALUES = {value: CraFlag.parse(bytes((value,))) for value in CraFlag.decmapping}


def _sized(data: bytes, pos: int) -> tuple[int, int]:
    """A length form and the region it announces: (start, end); short: fails where it starts."""
    if pos < len(data):
        length = data[pos]
        if length < 0x80 and pos + 1 + length <= len(data):  # the usual one-byte form
            return pos + 1, pos + 1 + length
    length, pos = read_length_form(data, pos)
    end = pos + length
    if end > len(data):
        raise fail_at(f"needs {length} byte(s), only {len(data) - pos} left", pos)
    return pos, end


def _fixed(data: bytes, pos: int, size: int) -> int:
    """Where a fixed-size integer of `size` bytes ends; short: fails where the data ends."""
    end = pos + size
    if end > len(data):
        raise fail_at(f"unpack requires a buffer of {size} bytes", len(data))
    return end


def _octets(data: bytes, pos: int, size: int, what: str) -> int:
    """Where `size` bytes of `what` end (primitives' wording when they are cut short)."""
    end = pos + size
    if end > len(data):
        raise fail_at(f"{what}: stream ended after {len(data) - pos} of {size} bytes", len(data))
    return end


def _system_title(data: bytes, pos: int) -> tuple[bytes, int]:
    _octets(data, pos, 1, "system title")
    if data[pos] != SYSTEM_TITLE_LENGTH:
        raise fail_at("system title: length must be 08", pos + 1)
    end = _octets(data, pos + 1, SYSTEM_TITLE_LENGTH, "system title")
    return data[pos + 1 : end], end


def _other_information(data: bytes, pos: int, end: int) -> Container:
    """OtherInformation in data[pos:end]; a cut-short field fails at `end`, as in a substream."""
    if pos + 2 > end:
        raise fail_at("unpack requires a buffer of 2 bytes", end)
    message_code = data[pos] << 8 | data[pos + 1]
    pos += 2
    party = party_counter = originator_counter = None
    if pos < end:
        # exactly 8 bytes (ExactBytes): a short one fails where it begins
        if pos + SYSTEM_TITLE_LENGTH > end:
            raise fail_at(f"needs 8 byte(s), only {end - pos} left", pos)
        party = data[pos : pos + SYSTEM_TITLE_LENGTH]
        pos += SYSTEM_TITLE_LENGTH
        if pos < end:
            if pos + 8 > end:
                raise fail_at("unpack requires a buffer of 8 bytes", end)
            party_counter = _COUNTER_AT(data, pos)[0]
            pos += 8
            if pos + 2 <= end and not (
                data[pos] == CERTIFICATE_START and data[pos + 1] in CERTIFICATE_LENGTH_FORMS
            ):
                if pos + 8 > end:
                    raise fail_at("supplementary originator counter: stream ended", end)
                originator_counter = _COUNTER_AT(data, pos)[0]
                pos += 8
    return Container(
        message_code=message_code,
        supplementary_remote_party=party,
        supplementary_remote_party_counter=party_counter,
        supplementary_originator_counter=originator_counter,
        certificate=data[pos:end],
    )


# The fixed-size start of a DF APDU: tag, 09, CRA flag, counter, 08 + originator, 08 + target
_DF_START = DF_TAG + TRANSACTION_ID_LENGTH
_ORIGINATOR = len(_DF_START) + 1 + 8 + 1  # after the 08 of the originator's system title
_TARGET = _ORIGINATOR + SYSTEM_TITLE_LENGTH + 1
_DATE_TIME = _TARGET + SYSTEM_TITLE_LENGTH


def _general_signing_start(apdu: bytes) -> tuple[int, int, bytes, bytes, int]:
    """(CRA flag, counter, originator, target, position after them), field by field: the
    general path, taken when the fast check in _general_signing fails, to fail exactly."""
    if apdu[:1] != DF_TAG:
        raise fail_at("ConstError", min(1, len(apdu)))
    if apdu[1:2] != TRANSACTION_ID_LENGTH:
        raise fail_at("ConstError", min(2, len(apdu)))
    _fixed(apdu, 2, 1)
    pos = _fixed(apdu, 3, 8)
    originator, pos = _system_title(apdu, pos)
    target, pos = _system_title(apdu, pos)
    return apdu[2], int.from_bytes(apdu[3:11], "big"), originator, target, pos


def _general_signing(apdu: bytes) -> tuple[Container, bytes, bytes | None]:
    if (
        len(apdu) > _DATE_TIME
        and apdu[:2] == _DF_START
        and apdu[_ORIGINATOR - 1] == SYSTEM_TITLE_LENGTH
        and apdu[_TARGET - 1] == SYSTEM_TITLE_LENGTH
    ):
        cra = apdu[2]
        counter = _COUNTER_AT(apdu, 3)[0]
        originator = apdu[_ORIGINATOR : _TARGET - 1]
        target = apdu[_TARGET:_DATE_TIME]
        pos = _DATE_TIME
    else:
        cra, counter, originator, target, pos = _general_signing_start(apdu)
    transaction_id = Container(cra=_CRA_VALUES.get(cra) or EnumInteger(cra), counter=counter)
    if apdu[pos : pos + 1] == b"\x00":  # no date-time
        date_time, pos = None, pos + 1
    else:
        date_time, pos = read_optional_datetime(apdu, pos)
    size = len(apdu)
    # other information and content: their one-byte length forms read here, others by _sized
    length = apdu[pos] if pos < size else 0x80
    if length < 0x80 and pos + 1 + length <= size:
        start, pos = pos + 1, pos + 1 + length
    else:
        start, pos = _sized(apdu, pos)
    other_information = _other_information(apdu, start, pos)
    length = apdu[pos] if pos < size else 0x80
    if length < 0x80 and pos + 1 + length <= size:
        start, pos = pos + 1, pos + 1 + length
    else:
        start, pos = _sized(apdu, pos)
    content = apdu[start:pos]
    signature = None
    if pos < len(apdu):
        length = apdu[pos]
        if length not in SIGNATURE_LENGTHS:
            raise fail_at(f"signature field length must be 0 or 64, not {length}", pos + 1)
        pos = _octets(apdu, pos + 1, length, "signature")
        signature = apdu[pos - length : pos]
    if pos != len(apdu):
        raise fail_at(f"{len(apdu) - pos} unexpected trailing byte(s)", pos)
    header = Container(
        tag=DF_TAG,
        transaction_id=transaction_id,
        originator=originator,
        target=target,
        date_time=date_time,
        other_information=other_information,
    )
    return header, content, signature


def read_general_signing(apdu: bytes, base: int = 0) -> tuple[Container, bytes, bytes | None]:
    """(grouping header, content, signature) of a DF APDU: general_signing_parser()'s value
    split in three, or its DecodeError (layer general-signing, offset plus `base`)."""
    try:
        return _general_signing(apdu)
    except StreamError as exc:
        raise DecodeError("general-signing", str(exc), base + exc.position) from None


# GBCS's DD header: five empty fields (transaction id, system titles, date-time, other
# information) and key info absent
_EMPTY_DD_HEADER = DD_TAG + b"\x00" * 5 + KEY_INFO_ABSENT


def _general_ciphering(data: bytes) -> tuple[Container, int]:
    if data[: len(_EMPTY_DD_HEADER)] == _EMPTY_DD_HEADER:
        fields = [b""] * 5
        pos = len(_EMPTY_DD_HEADER) - 1
    else:
        if data[:1] != DD_TAG:
            raise fail_at("ConstError", min(1, len(data)))
        fields = []
        pos = 1
        for _ in range(5):  # transaction id, originator, recipient, date-time, other info
            start, pos = _sized(data, pos)
            fields.append(data[start:pos])
    if data[pos : pos + 1] != KEY_INFO_ABSENT:
        raise fail_at("ConstError", min(pos + 1, len(data)))
    # the ciphered service's length: 81 nn / 82 nn nn (an APDU and a MAC) read here
    length = data[pos + 1] if pos + 1 < len(data) else 0
    start = pos + 2 + (length & 0x7F)
    if length in (0x81, 0x82) and start <= len(data):
        end = start + long_form_value(data[pos + 2 : start])
    else:
        end = len(data) + 1
    if end > len(data):  # anything else, or too long: _sized, which fails where it should
        start, end = _sized(data, pos + 1)
    pos = end
    if start + 1 > pos:
        raise fail_at("unpack requires a buffer of 1 bytes", pos)
    if start + 5 > pos:
        raise fail_at("unpack requires a buffer of 4 bytes", pos)
    if pos != len(data):
        raise fail_at(f"{len(data) - pos} unexpected trailing byte(s)", pos)
    envelope = Container(
        tag=DD_TAG,
        transaction_id=fields[0],
        originator_system_title=fields[1],
        recipient_system_title=fields[2],
        date_time=fields[3],
        other_information=fields[4],
        key_info_present=KEY_INFO_ABSENT,
        ciphered_service=Container(
            security_control=data[start],
            invocation_counter=_INVOCATION_COUNTER_AT(data, start + 1)[0],
        ),
    )
    return envelope, start + 5


def read_general_ciphering(data: bytes, base: int = 0) -> tuple[Container, int]:
    """(envelope, where the ciphered information starts) of a DD message: what
    general_ciphering_parser() gives minus ciphered_service.information (data[start:]), or its
    DecodeError (layer general-ciphering)."""
    try:
        return _general_ciphering(data)
    except StreamError as exc:
        raise DecodeError("general-ciphering", str(exc), base + exc.position) from None


# --- the hand writers used by gbcs.encode ------------------------------------------------
# Each writes what its construct Struct builds, for values of the shapes decode gives
# (bytes, ints in range, None, Containers with every field); for anything else it returns
# None and the caller builds with the Struct, whose error texts and leniencies stay the
# definition. construct's interpreted build was a fifth of the strict check's time.
# tests/gbcs/test_framing.py holds them byte-identical to the Structs.

_CRA_BY_NAME: dict[str, int] = dict(CraFlag.encmapping)
_PACK_COUNTER = struct.Struct(">Q").pack
_U64 = 1 << 64
# the DD envelope's header fields, in order: GBCS leaves each empty (gbcs.judge's rule)
DD_HEADER_FIELDS = (
    "transaction_id",
    "originator_system_title",
    "recipient_system_title",
    "date_time",
    "other_information",
)


def _cra_byte(value: object) -> int | None:
    """The CRA flag's byte as construct's Enum builds it: by name (an EnumIntegerString is
    a str) or as a number."""
    if isinstance(value, str):
        return _CRA_BY_NAME.get(value)
    if isinstance(value, int) and 0 <= value < 0x100:
        return int(value)
    return None


def _counter(value: object) -> bool:
    return type(value) is int and 0 <= value < _U64


def _other_information_bytes(other: Any) -> bytes | None:
    try:
        code = other["message_code"]
        party = other["supplementary_remote_party"]
        party_counter = other["supplementary_remote_party_counter"]
        originator_counter = other["supplementary_originator_counter"]
        certificate = other["certificate"]
    except (KeyError, TypeError, IndexError):
        return None
    if type(code) is not int or not 0 <= code < 0x10000 or type(certificate) is not bytes:
        return None
    out = code.to_bytes(2, "big")
    # a later field without the one before it is a shape decode never gives: the Struct's
    # If fields decide what to write then
    if party is None:
        if party_counter is not None or originator_counter is not None:
            return None
    elif type(party) is not bytes or len(party) != SYSTEM_TITLE_LENGTH:
        return None
    else:
        out += party
        if party_counter is None:
            if originator_counter is not None:
                return None
        elif not _counter(party_counter):
            return None
        else:
            out += _PACK_COUNTER(party_counter)
            if originator_counter is not None:
                if not _counter(originator_counter):
                    return None
                out += _PACK_COUNTER(originator_counter)
    return out + certificate


def _system_title_bytes(value: object) -> bool:
    return type(value) is bytes and len(value) == SYSTEM_TITLE_LENGTH


def write_general_signing(header: Any, content: bytes, signature: bytes | None) -> bytes | None:
    """The DF APDU GeneralSigning builds from this header, content and signature field, or
    None when a value is not of the shape decode gives (then build with the Struct)."""
    try:
        if header.get("tag", None) not in (None, DF_TAG):
            return None
        transaction_id = header["transaction_id"]
        cra = _cra_byte(transaction_id["cra"])
        counter = transaction_id["counter"]
        originator = header["originator"]
        target = header["target"]
        date_time = header["date_time"]
        other = _other_information_bytes(header["other_information"])
    except (AttributeError, KeyError, TypeError, IndexError):
        return None
    if (
        cra is None
        or other is None
        or not _counter(counter)
        or not _system_title_bytes(originator)
        or not _system_title_bytes(target)
        or type(content) is not bytes
    ):
        return None
    if signature is None:
        signature_field = b""
    elif type(signature) is bytes and len(signature) in SIGNATURE_LENGTHS:
        signature_field = bytes((len(signature),)) + signature
    else:
        return None
    if date_time is None:
        date_time_field = b"\x00"
    else:
        try:
            values = [date_time[name] for name in COSEM_FIELDS]
            date_time_field = b"\x0c" + COSEM_STRUCT.pack(*values)
        except (KeyError, TypeError, IndexError, struct.error):
            return None
    return b"".join(
        (
            _DF_START,
            bytes((cra,)),
            _PACK_COUNTER(counter),
            b"\x08",
            originator,
            b"\x08",
            target,
            date_time_field,
            encode_length(len(other)),
            other,
            encode_length(len(content)),
            content,
            signature_field,
        )
    )


def write_general_ciphering(envelope: Any, information: bytes) -> bytes | None:
    """The DD message GeneralCiphering builds from this envelope around `information` (the
    APDU and its MAC), or None when a value is not of the shape decode gives."""
    try:
        if envelope.get("tag", None) not in (None, DD_TAG):
            return None
        if envelope.get("key_info_present", None) not in (None, KEY_INFO_ABSENT):
            return None
        fields = [envelope[name] for name in DD_HEADER_FIELDS]
        service = envelope["ciphered_service"]
        control = service["security_control"]
        invocation = service["invocation_counter"]
    except (AttributeError, KeyError, TypeError, IndexError):
        return None
    if (
        any(type(value) is not bytes for value in fields)
        or type(control) is not int
        or not 0 <= control < 0x100
        or type(invocation) is not int
        or not 0 <= invocation < 1 << 32
        or type(information) is not bytes
    ):
        return None
    parts = [DD_TAG]
    for value in fields:
        parts += (encode_length(len(value)), value)
    service_length = 5 + len(information)
    parts += (
        KEY_INFO_ABSENT,
        encode_length(service_length),
        bytes((control,)),
        invocation.to_bytes(4, "big"),
        information,
    )
    return b"".join(parts)
