"""Building blocks shared by every layer: the length form, system titles, date-times, and
the helper that runs a construct over bytes and turns its failures into DecodeError.

GBCS, A-XDR and DER share one length form (section 3.1 of the primer): one byte below 0x80,
else 0x81/0x82 followed by one or two big-endian bytes. The shortest form is always written,
which is what makes decode-then-encode byte-identical on RTDS; a longer one is read, and
counted (note_noncanonical), so that the strict check knows when a re-encode can differ.
"""

from __future__ import annotations

import datetime as _dt
import struct
from _thread import _local as _thread_local  # threading.local, without importing threading
from io import BytesIO
from typing import TYPE_CHECKING, Any, BinaryIO

from construct import (
    Byte,
    ConstructError,
    Container,
    Int16sb,
    Int16ub,
    Prefixed,
    SizeofError,
    StreamError,
    Struct,
    stream_write,
)

from .errors import EncodeError
from .strict import Construct, parse_strict

if TYPE_CHECKING:
    from construct import CodeGen


class _ThreadCounts(_thread_local):
    """Per thread: how many forms decode has read that encode writes otherwise (see
    note_noncanonical). A decode runs in one thread, so a caller that reads its thread's
    count before and after one and sees it unchanged knows that decode read none; another
    thread's decodes, counted in that thread, cannot hide one."""

    noncanonical = 0


_counts = _ThreadCounts()


def note_noncanonical() -> None:
    """Count a form a reader accepted but a writer would not write (its bytes then differ
    after a re-encode): gbcs.check skips its re-encode only when no reader counted one."""
    _counts.noncanonical += 1


def noncanonical_reads() -> int:
    """How many non-canonical forms decode has read in this thread (see note_noncanonical)."""
    return _counts.noncanonical


def long_form_value(raw: bytes) -> int:
    """The value of a long length form's bytes (after its 0x8n), counted as non-canonical
    when the short form or fewer bytes would hold it."""
    value = int.from_bytes(raw, "big")
    if value < 0x80 or raw[0] == 0:
        note_noncanonical()
    return value


def parse_length_form(io: BinaryIO) -> int:
    """Read one length form from a stream; StreamError when it is cut short or invalid."""
    raw = io.read(1)
    if not raw:
        raise StreamError("stream ended inside a length")
    first = raw[0]
    if first < 0x80:
        return first
    count = first & 0x7F
    if count == 0 or count > 4:
        raise StreamError(f"invalid length form 0x{first:02X}")
    raw = io.read(count)
    if len(raw) != count:
        raise StreamError("stream ended inside a length")
    return long_form_value(raw)


def fail_at(message: str, position: int) -> StreamError:
    """A StreamError carrying the `position` (in the bytes read) where a hand-written
    reader found the problem; the layer turns it into DecodeError(layer, offset)."""
    error = StreamError(message)
    error.position = position
    return error


def read_length_form(data: bytes, pos: int) -> tuple[int, int]:
    """parse_length_form over bytes: (length, position after it); the same failures at the
    same positions (a StreamError with `position`, see fail_at)."""
    if pos >= len(data):
        raise fail_at("stream ended inside a length", len(data))
    first = data[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    if count == 0 or count > 4:
        raise fail_at(f"invalid length form 0x{first:02X}", pos + 1)
    end = pos + 1 + count
    if end > len(data):
        raise fail_at("stream ended inside a length", len(data))
    return long_form_value(data[pos + 1 : end]), end


class LengthForm(Construct):
    """A-XDR / DER length: 0x00-0x7F itself, 0x81 nn, 0x82 nn nn (up to 0x84 accepted)."""

    def _parse(self, stream: BytesIO, context: Container, path: str) -> int:
        return parse_length_form(stream)

    def _build(self, obj: Any, stream: BytesIO, context: Container, path: str) -> Any:
        raw = encode_length(obj)
        stream_write(stream, raw, len(raw), path)
        return obj

    def _sizeof(self, context: Container, path: str) -> int:
        raise SizeofError("variable-size length form", path=path)

    def _emitparse(self, code: CodeGen) -> str:
        code.append("from gbcs.primitives import parse_length_form")
        return "parse_length_form(io)"


def LengthPrefixed(subcon: Construct) -> Prefixed:  # noqa: N802 (reads like a construct)
    """Prefixed by the GBCS / A-XDR length form (compile with strict.compile_strict)."""
    return Prefixed(Length, subcon)


def encode_length(n: int) -> bytes:
    """The shortest length form for n."""
    if n < 0:
        raise ValueError("negative length")
    if n < 0x80:
        return bytes((n,))
    size = (n.bit_length() + 7) // 8
    return bytes((0x80 | size,)) + n.to_bytes(size, "big")


Length = LengthForm()


def _read_exact(stream: BinaryIO, n: int, what: str) -> bytes:
    raw = stream.read(n)
    if len(raw) != n:
        raise StreamError(f"{what}: stream ended after {len(raw)} of {n} bytes")
    return raw


def parse_system_title(stream: BinaryIO) -> bytes:
    if _read_exact(stream, 1, "system title") != b"\x08":
        raise StreamError("system title: length must be 08")
    return _read_exact(stream, 8, "system title")


class SystemTitleField(Construct):
    """An EUI-64 on the wire as an octet string, 08 + 8 bytes; the value is the 8 bytes."""

    def _parse(self, stream: BytesIO, context: Container, path: str) -> bytes:
        return parse_system_title(stream)

    def _build(self, obj: Any, stream: BytesIO, context: Container, path: str) -> Any:
        if len(obj) != 8:
            raise StreamError("system title must be 8 bytes", path=path)
        stream_write(stream, b"\x08" + bytes(obj), 9, path)
        return obj

    def _sizeof(self, context: Container, path: str) -> int:
        return 9

    def _emitparse(self, code: CodeGen) -> str:
        code.append("from gbcs.primitives import parse_system_title")
        return "parse_system_title(io)"


Eui = SystemTitleField()


def parse_signature_field(stream: BinaryIO) -> bytes | None:
    first = stream.read(1)
    if not first:
        return None
    if first[0] not in (0, 64):
        raise StreamError(f"signature field length must be 0 or 64, not {first[0]}")
    return _read_exact(stream, first[0], "signature")


class SignatureField(Construct):
    """The DF APDU's last field: absent (pre-command, None), 00 (b""), or 40 + r || s."""

    def _parse(self, stream: BytesIO, context: Container, path: str) -> bytes | None:
        return parse_signature_field(stream)

    def _build(self, obj: Any, stream: BytesIO, context: Container, path: str) -> Any:
        if obj is not None:
            if len(obj) not in (0, 64):
                raise StreamError("signature must be empty or 64 bytes", path=path)
            stream_write(stream, bytes((len(obj),)) + bytes(obj), 1 + len(obj), path)
        return obj

    def _emitparse(self, code: CodeGen) -> str:
        code.append("from gbcs.primitives import parse_signature_field")
        return "parse_signature_field(io)"


# COSEM date-time, 12 bytes; kept field by field so 'unspecified' (FF) and the deviation
# round-trip exactly.
CosemDateTime = Struct(
    "year" / Int16ub,
    "month" / Byte,
    "day" / Byte,
    "day_of_week" / Byte,
    "hour" / Byte,
    "minute" / Byte,
    "second" / Byte,
    "hundredths" / Byte,
    "deviation" / Int16sb,
    "clock_status" / Byte,
)

COSEM_FIELDS = tuple(sc.name for sc in CosemDateTime.subcons)
COSEM_STRUCT = struct.Struct(">HBBBBBBBhB")


def parse_optional_datetime(stream: BinaryIO) -> Container | None:
    first = _read_exact(stream, 1, "date-time length")[0]
    if first == 0:
        return None
    if first != 12:
        raise StreamError(f"date-time length must be 0 or 12, not {first}")
    values = COSEM_STRUCT.unpack(_read_exact(stream, 12, "date-time"))
    return Container(zip(COSEM_FIELDS, values, strict=True))


def read_optional_datetime(data: bytes, pos: int) -> tuple[Container | None, int]:
    """parse_optional_datetime over bytes: (None or the date-time, position after it),
    failing with the same texts at the same positions as the stream reader."""
    if pos >= len(data):
        raise fail_at("date-time length: stream ended after 0 of 1 bytes", len(data))
    first = data[pos]
    if first == 0:
        return None, pos + 1
    if first != COSEM_STRUCT.size:
        raise fail_at(f"date-time length must be 0 or 12, not {first}", pos + 1)
    end = pos + 1 + COSEM_STRUCT.size
    if end > len(data):
        raise fail_at(f"date-time: stream ended after {len(data) - pos - 1} of 12 bytes", len(data))
    return Container(zip(COSEM_FIELDS, COSEM_STRUCT.unpack_from(data, pos + 1), strict=True)), end


class OptionalDateTime(Construct):
    """An octet string that is empty (00) or holds a 12-byte COSEM date-time (0C + 12)."""

    def _parse(self, stream: BytesIO, context: Container, path: str) -> Container | None:
        return parse_optional_datetime(stream)

    def _build(self, obj: Any, stream: BytesIO, context: Container, path: str) -> Any:
        if obj is None:
            stream_write(stream, b"\x00", 1, path)
        else:
            stream_write(stream, b"\x0c", 1, path)
            CosemDateTime._build(obj, stream, context, path)
        return obj

    def _emitparse(self, code: CodeGen) -> str:
        code.append("from gbcs.primitives import parse_optional_datetime")
        return "parse_optional_datetime(io)"


GBCS_EPOCH = _dt.datetime(2000, 1, 1, tzinfo=_dt.UTC)


def cosem_to_datetime(value: Container) -> _dt.datetime | None:
    """A Python datetime for a fully specified COSEM date-time, else None."""
    try:
        return _dt.datetime(
            value.year,
            value.month,
            value.day,
            value.hour,
            value.minute,
            value.second,
            (value.hundredths if value.hundredths != 0xFF else 0) * 10000,
            tzinfo=_dt.UTC,
        )
    except (ValueError, TypeError):
        return None


def datetime_to_seconds2000(when: _dt.datetime) -> int:
    """GBZ / ZCL and some DLMS times count seconds since 2000-01-01 00:00:00 UTC."""
    return int((when - GBCS_EPOCH).total_seconds())


def eui_text(eui: bytes) -> str:
    """EUI-64 as 16 upper-case hex digits, the way RTDS and logs print it."""
    return eui.hex().upper()


def parse_layer(construct: Construct, data: bytes, layer: str, base: int = 0) -> Any:
    """Parse all of `data` with `construct` (ideally from strict.compile_strict); failures
    become DecodeError(layer, offset). `base` is where `data` starts in the whole message,
    so offsets point into the bytes the user gave, not into a slice."""
    return parse_strict(construct, data, layer, base)


def build_layer(construct: Construct, value: Any, layer: str) -> bytes:
    """Build bytes from a parsed (or hand-made) value; failures become EncodeError."""
    try:
        return construct.build(value)
    except ConstructError as exc:
        raise EncodeError(layer, _construct_reason(exc)) from None
    except (ValueError, TypeError, KeyError, AttributeError, OverflowError, struct.error) as exc:
        raise EncodeError(layer, f"{type(exc).__name__}: {exc}") from None


def _construct_reason(exc: ConstructError) -> str:
    text = str(exc)
    return text.split("\n")[0] if text else type(exc).__name__
