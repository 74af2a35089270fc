"""General Block Transfer (GBT): a large GBCS message cut into DD-headed E0 blocks (primer 4.4).

RTDS has no GBT vector, so this follows the layout gbcs-parser-js expects (primer 4.4) and is
self-tested only; docs/gbt.md lists the assumptions. Each segment is a General-Ciphering APDU
whose header fields are populated (transaction id = CRA + originator counter, originator and
recipient system titles, empty date-time, other information = the message code), a 5-byte
security header, then the GBT APDU: E0, block control (bit 7 last block, bit 6 streaming,
bits 0-5 window), block number (from 1), block-number-ack, block-data length, block data.
No MAC follows. Joining the block data in block-number order gives back the whole message.
"""

from __future__ import annotations

import io
from collections.abc import Iterable

from construct import (
    Byte,
    Const,
    ConstructError,
    Container,
    GreedyBytes,
    Int16ub,
    Int64ub,
    Prefixed,
    Struct,
)

from . import framing
from .errors import DecodeError, EncodeError
from .primitives import Length

LAYER = "gbt"
GBT_TAG = 0xE0
DEFAULT_SECURITY_CONTROL = 0x11
# The use-case tables size large attributes for "63 GBT messages each containing 1,149 octets".
USE_CASE_SEGMENT_SIZE = 1149
USE_CASE_MAX_SEGMENTS = 63
MAX_BLOCK_NUMBER = 0xFFFF
MAX_WINDOW = 0x3F


def parse_block_control(value: int) -> Container:
    return Container(
        last_block=bool(value & 0x80), streaming=bool(value & 0x40), window=value & 0x3F
    )


def build_block_control(control: Container) -> int:
    window = int(control.window)
    if not 0 <= window <= MAX_WINDOW:
        raise EncodeError(LAYER, f"window {window} does not fit 6 bits")
    return (0x80 if control.last_block else 0) | (0x40 if control.streaming else 0) | window


GbtApdu = Struct(
    "tag" / Const(bytes((GBT_TAG,))),
    "block_control" / Byte,
    "block_number" / Int16ub,
    "block_number_ack" / Int16ub,
    "block_data" / Prefixed(Length, GreedyBytes),
)

TransactionId = Struct("cra" / Byte, "counter" / Int64ub)


def _check_identity(cra: int, counter: int, originator: bytes, recipient: bytes) -> None:
    if len(originator) != 8 or len(recipient) != 8:
        raise EncodeError(LAYER, "originator and recipient must be 8-byte EUIs")
    if cra not in (1, 2, 3):
        raise EncodeError(LAYER, f"CRA flag must be 1, 2 or 3, not {cra}")
    if not 0 <= counter < 1 << 64:
        raise EncodeError(LAYER, "originator counter must fit 8 bytes")


def encode_segment(header: Container, block: Container) -> bytes:
    """One segment from its header (as parse_segment returns it) and block fields."""
    try:
        apdu = GbtApdu.build(
            dict(
                block_control=build_block_control(block.block_control),
                block_number=block.block_number,
                block_number_ack=block.block_number_ack,
                block_data=bytes(block.block_data),
            )
        )
        envelope: bytes = framing.GeneralCiphering.build(
            dict(
                transaction_id=TransactionId.build(header.transaction_id),
                originator_system_title=header.originator,
                recipient_system_title=header.recipient,
                date_time=header.date_time,
                other_information=Int16ub.build(header.message_code),
                ciphered_service=dict(
                    security_control=header.security_control,
                    invocation_counter=header.invocation_counter,
                    information=apdu,
                ),
            )
        )
    except (ConstructError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise EncodeError(LAYER, f"{type(exc).__name__}: {str(exc).splitlines()[0]}") from None
    return envelope


def segment(
    message: bytes,
    *,
    originator: bytes,
    recipient: bytes,
    cra: int,
    counter: int,
    message_code: int,
    block_size: int | None = None,
    segment_size: int | None = None,
    window: int = 1,
    streaming: bool = False,
    security_control: int = DEFAULT_SECURITY_CONTROL,
    invocation_counter: int = 0,
    max_segments: int | None = None,
) -> list[bytes]:
    """Cut a whole GBCS message into GBT segments, blocks numbered from 1.

    Give either `block_size` (block-data bytes per segment) or `segment_size` (the most
    bytes a whole segment may take, e.g. USE_CASE_SEGMENT_SIZE). With `streaming`, every
    block but the last has the streaming bit set (the receiver need not ack each one).
    `max_segments` (e.g. USE_CASE_MAX_SEGMENTS, as `gbhan gbcs gbt split` uses) refuses a
    message that needs more segments than a use case may send.
    """
    message = bytes(message)
    if not message:
        raise EncodeError(LAYER, "nothing to segment")
    if (block_size is None) == (segment_size is None):
        raise EncodeError(LAYER, "give exactly one of block_size and segment_size")
    if not 0 <= window <= MAX_WINDOW:
        raise EncodeError(LAYER, f"window {window} does not fit 6 bits")
    _check_identity(cra, counter, originator, recipient)
    header = Container(
        transaction_id=Container(cra=cra, counter=counter),
        originator=bytes(originator),
        recipient=bytes(recipient),
        date_time=b"",
        message_code=message_code,
        security_control=security_control,
        invocation_counter=invocation_counter,
    )
    if block_size is None:
        assert segment_size is not None  # exactly one of the two is given (checked above)
        block_size = _largest_block(header, segment_size)
    if block_size < 1:
        raise EncodeError(LAYER, f"block size {block_size} leaves no room for data")
    count = -(-len(message) // block_size)
    if count > MAX_BLOCK_NUMBER:
        raise EncodeError(LAYER, f"{count} blocks exceed the 16-bit block number")
    if max_segments is not None and count > max_segments:
        raise EncodeError(
            LAYER,
            f"{len(message)} bytes in blocks of {block_size} need {count} segments, "
            f"more than the {max_segments} allowed",
        )
    segments: list[bytes] = []
    for index in range(count):
        last = index == count - 1
        block = Container(
            block_control=Container(
                last_block=last, streaming=streaming and not last, window=window
            ),
            block_number=index + 1,
            block_number_ack=0,
            block_data=message[index * block_size : (index + 1) * block_size],
        )
        segments.append(encode_segment(header, block))
    if segment_size is not None and max(map(len, segments)) > segment_size:
        raise EncodeError(LAYER, f"a segment exceeds {segment_size} bytes")
    return segments


def _largest_block(header: Container, segment_size: int) -> int:
    """The most block data that keeps a whole segment within segment_size bytes."""
    probe = Container(
        block_control=Container(last_block=False, streaming=False, window=0),
        block_number=1,
        block_number_ack=0,
        block_data=b"",
    )
    best = 0
    low, high = 1, segment_size
    while low <= high:  # segment length grows with the data, so bisect on it
        middle = (low + high) // 2
        probe.block_data = bytes(middle)
        if len(encode_segment(header, probe)) <= segment_size:
            best, low = middle, middle + 1
        else:
            high = middle - 1
    if best == 0:
        raise EncodeError(LAYER, f"segment size {segment_size} leaves no room for block data")
    return best


def parse_segment(data: bytes, index: int = 0, base: int = 0) -> Container:
    """Header and block of one segment (`apdu_at`: where its E0 APDU starts); `index` and
    `base` place it for error messages."""
    data = bytes(data)
    stream = io.BytesIO(data)
    try:
        envelope = framing.GeneralCiphering.parse_stream(stream)
    except (ConstructError, ValueError, IndexError, OverflowError) as exc:
        raise DecodeError(
            LAYER, f"segment {index}: {str(exc).splitlines()[0]}", base + stream.tell()
        ) from None
    if stream.tell() != len(data):
        raise DecodeError(
            LAYER,
            f"segment {index}: {len(data) - stream.tell()} trailing byte(s)",
            base + stream.tell(),
        )
    information = envelope.ciphered_service.information
    apdu_at = base + len(data) - len(information)
    if information[:1] != bytes((GBT_TAG,)):
        raise DecodeError(LAYER, f"segment {index}: no E0 block APDU", apdu_at)
    apdu_stream = io.BytesIO(information)
    try:
        apdu = GbtApdu.parse_stream(apdu_stream)
    except (ConstructError, ValueError, IndexError, OverflowError) as exc:
        raise DecodeError(
            LAYER, f"segment {index}: {str(exc).splitlines()[0]}", apdu_at + apdu_stream.tell()
        ) from None
    if apdu_stream.tell() != len(information):
        raise DecodeError(
            LAYER, f"segment {index}: bytes after the block data", apdu_at + apdu_stream.tell()
        )
    header = _check_header(envelope, index, base)
    return Container(
        header=header,
        block_control=parse_block_control(apdu.block_control),
        block_number=apdu.block_number,
        block_number_ack=apdu.block_number_ack,
        block_data=apdu.block_data,
        apdu_at=apdu_at - base,
    )


def _check_header(envelope: Container, index: int, base: int) -> Container:
    """The populated GBT header fields, each with the size the layout needs."""
    sizes = (
        ("transaction_id", 9),
        ("originator_system_title", 8),
        ("recipient_system_title", 8),
        ("other_information", 2),
    )
    for name, size in sizes:
        if len(envelope[name]) != size:
            raise DecodeError(
                LAYER,
                f"segment {index}: {name} must be {size} bytes, not {len(envelope[name])}",
                base,
            )
    if envelope.transaction_id[0] not in (1, 2, 3):
        raise DecodeError(
            LAYER, f"segment {index}: CRA flag {envelope.transaction_id[0]}", base + 2
        )
    return Container(
        transaction_id=Container(
            cra=envelope.transaction_id[0],
            counter=int.from_bytes(envelope.transaction_id[1:], "big"),
        ),
        originator=envelope.originator_system_title,
        recipient=envelope.recipient_system_title,
        date_time=envelope.date_time,
        message_code=int.from_bytes(envelope.other_information, "big"),
        security_control=envelope.ciphered_service.security_control,
        invocation_counter=envelope.ciphered_service.invocation_counter,
    )


def split_segments(data: bytes | bytearray | memoryview) -> list[bytes]:
    """Segments sent back to back in one buffer, each as its own bytes."""
    data = bytes(data)
    segments: list[bytes] = []
    pos = 0
    while pos < len(data):
        stream = io.BytesIO(data[pos:])
        try:
            framing.GeneralCiphering.parse_stream(stream)
        except (ConstructError, ValueError, IndexError, OverflowError) as exc:
            raise DecodeError(
                LAYER, f"segment {len(segments)}: {str(exc).splitlines()[0]}", pos + stream.tell()
            ) from None
        segments.append(data[pos : pos + stream.tell()])
        pos += stream.tell()
    return segments


def reassemble(
    segments: Iterable[bytes] | bytes | bytearray | memoryview,
    *,
    max_segments: int | None = None,
) -> bytes:
    """The whole message from its segments, in any order.

    With `max_segments`, a transfer whose last block number exceeds it is refused, as
    soon as a block beyond it is seen (a use case sends at most USE_CASE_MAX_SEGMENTS).

    A repeated block with the same data is ignored; one with different data, a segment
    whose header differs from the first, a missing block or a missing last block is a
    DecodeError(layer='gbt') that says which. `segments` may also be one buffer holding
    segments back to back.
    """
    if isinstance(segments, (bytes, bytearray, memoryview)):
        segments = split_segments(segments)
    segments = list(segments)
    if not segments:
        raise DecodeError(LAYER, "no segments to reassemble", 0)
    blocks: dict[int, bytes] = {}
    first_header = None
    last_number = None
    for index, raw in enumerate(segments):
        parsed = parse_segment(raw, index)
        if first_header is None:
            first_header = parsed.header
        elif parsed.header != first_header:
            differing = sorted(k for k in first_header if parsed.header.get(k) != first_header[k])
            raise DecodeError(
                LAYER,
                f"segment {index}: header differs from segment 0 in {', '.join(differing)}",
                0,
            )
        number = parsed.block_number
        if number == 0:
            raise DecodeError(LAYER, f"segment {index}: block number 0 (blocks count from 1)", 0)
        if max_segments is not None and number > max_segments:
            raise DecodeError(
                LAYER,
                f"segment {index}: block {number} exceeds the {max_segments}-segment limit",
                parsed.apdu_at + 2,
            )
        if parsed.block_control.last_block:
            if last_number is not None and last_number != number:
                raise DecodeError(
                    LAYER, f"segment {index}: second last block ({number} after {last_number})", 0
                )
            last_number = number
        previous = blocks.get(number)
        if previous is not None and previous != parsed.block_data:
            raise DecodeError(LAYER, f"segment {index}: block {number} repeated with other data", 0)
        blocks[number] = parsed.block_data
    highest = max(blocks)
    if last_number is None:
        raise DecodeError(LAYER, f"last block missing (highest block received: {highest})", 0)
    if highest > last_number:
        raise DecodeError(LAYER, f"block {highest} comes after the last block {last_number}", 0)
    missing = [n for n in range(1, last_number + 1) if n not in blocks]
    if missing:
        raise DecodeError(LAYER, f"missing block(s) {_ranges(missing)} of {last_number}", 0)
    return b"".join(blocks[n] for n in range(1, last_number + 1))


def _ranges(numbers: list[int]) -> str:
    """'2, 5-7' for [2, 5, 6, 7]: readable even when many blocks are missing."""
    parts = []
    start = previous = numbers[0]
    for number in numbers[1:]:
        if number != previous + 1:
            parts.append(str(start) if start == previous else f"{start}-{previous}")
            start = number
        previous = number
    parts.append(str(start) if start == previous else f"{start}-{previous}")
    return ", ".join(parts)
