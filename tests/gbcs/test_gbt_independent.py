"""GBT cross-checked against a reader and writer written here from the layout the primer
(section 4.4) gives, not from gbcs/gbt.py, and the 63-segment limit of the use-case tables."""

from pathlib import Path

import pytest

from emulator import data
from gbcs import gbt
from gbcs.errors import DecodeError, EncodeError
from gbcs.message import decode

RTDS = data.rtds()
# the three largest RTDS messages: only they need more than one 1,149-octet segment
LARGE_FILES = sorted(RTDS.glob("*/*.HEX"), key=lambda p: p.stat().st_size)[-3:]
BLOCK_SIZES = [64, 500, 1000]
files = pytest.mark.parametrize("path", LARGE_FILES, ids=[p.name for p in LARGE_FILES])
block_sizes = pytest.mark.parametrize("block_size", BLOCK_SIZES, ids=lambda n: f"block-{n}")


def read(path: Path) -> bytes:
    return bytes.fromhex(path.read_text().strip())


def identity(message: bytes) -> dict:
    decoded = decode(message)
    return dict(
        originator=decoded.originator,
        recipient=decoded.target,
        cra=decoded.cra_flag,
        counter=decoded.counter,
        message_code=decoded.message_code,
    )


# --- our own reading of the layout (primer 4.4), byte by byte ------------------------------
def read_length(raw: bytes, pos: int) -> tuple[int, int]:
    """A DER-style length: 00-7F itself, 81 nn, 82 nn nn."""
    first = raw[pos]
    if first < 0x80:
        return first, pos + 1
    count = first & 0x7F
    assert count in (1, 2), f"length form {first:#x} at {pos}"
    return int.from_bytes(raw[pos + 1 : pos + 1 + count], "big"), pos + 1 + count


def read_segment(raw: bytes) -> dict:
    """Every field of one segment; asserts each fixed byte and that nothing is left over."""
    assert raw[0] == 0xDD and raw[1] == 0x09
    cra, counter = raw[2], int.from_bytes(raw[3:11], "big")
    assert raw[11] == 0x08
    originator = raw[12:20]
    assert raw[20] == 0x08
    recipient = raw[21:29]
    assert raw[29] == 0x00  # date-time empty
    assert raw[30] == 0x02
    code = int.from_bytes(raw[31:33], "big")
    assert raw[33] == 0x00  # key-info absent
    service_length, pos = read_length(raw, 34)
    assert len(raw) - pos == service_length
    security_control, invocation = raw[pos], int.from_bytes(raw[pos + 1 : pos + 5], "big")
    pos += 5
    assert raw[pos] == 0xE0
    control = raw[pos + 1]
    number = int.from_bytes(raw[pos + 2 : pos + 4], "big")
    ack = int.from_bytes(raw[pos + 4 : pos + 6], "big")
    data_length, pos = read_length(raw, pos + 6)
    block = raw[pos : pos + data_length]
    assert pos + data_length == len(raw), "bytes after the block data (no MAC in GBT)"
    return dict(
        cra=cra,
        counter=counter,
        originator=originator,
        recipient=recipient,
        message_code=code,
        security_control=security_control,
        invocation_counter=invocation,
        last=bool(control & 0x80),
        streaming=bool(control & 0x40),
        window=control & 0x3F,
        number=number,
        ack=ack,
        block=block,
    )


def write_length(n: int) -> bytes:
    if n < 0x80:
        return bytes((n,))
    if n < 0x100:
        return bytes((0x81, n))
    return bytes((0x82,)) + n.to_bytes(2, "big")


def write_segments(message: bytes, block_size: int, ids: dict) -> list[bytes]:
    """Our own writer: window 1, no streaming, ack 0, security header 11 00000000."""
    chunks = [message[i : i + block_size] for i in range(0, len(message), block_size)]
    out = []
    for number, chunk in enumerate(chunks, 1):
        control = (0x80 if number == len(chunks) else 0) | 1
        apdu = bytes((0xE0, control)) + number.to_bytes(2, "big") + bytes(2)
        apdu += write_length(len(chunk)) + chunk
        service = bytes((0x11,)) + bytes(4) + apdu
        head = bytes((0xDD, 0x09, ids["cra"])) + ids["counter"].to_bytes(8, "big")
        head += b"\x08" + ids["originator"] + b"\x08" + ids["recipient"]
        head += b"\x00\x02" + ids["message_code"].to_bytes(2, "big") + b"\x00"
        out.append(head + write_length(len(service)) + service)
    return out


@files
@block_sizes
def test_our_segments_read_by_the_independent_reader(path, block_size):
    message = read(path)
    ids = identity(message)
    segments = gbt.segment(message, **ids, block_size=block_size)
    fields = [read_segment(raw) for raw in segments]
    assert [f["number"] for f in fields] == list(range(1, len(segments) + 1))
    assert [f["last"] for f in fields] == [False] * (len(segments) - 1) + [True]
    for f in fields:
        assert (f["cra"], f["counter"], f["message_code"]) == (
            ids["cra"],
            ids["counter"],
            ids["message_code"],
        )
        assert (f["originator"], f["recipient"]) == (ids["originator"], ids["recipient"])
        assert (f["security_control"], f["invocation_counter"], f["ack"]) == (0x11, 0, 0)
        assert f["window"] == 1 and not f["streaming"]
    assert b"".join(f["block"] for f in fields) == message


@files
@block_sizes
def test_independent_writer_is_byte_identical_and_reassembles(path, block_size):
    message = read(path)
    ids = identity(message)
    ours = write_segments(message, block_size, ids)
    assert ours == gbt.segment(message, **ids, block_size=block_size)
    assert gbt.reassemble(list(reversed(ours))) == message


@files
def test_use_case_segments_read_by_the_independent_reader(path):
    message = read(path)
    segments = gbt.segment(
        message,
        **identity(message),
        segment_size=gbt.USE_CASE_SEGMENT_SIZE,
        max_segments=gbt.USE_CASE_MAX_SEGMENTS,
    )
    assert all(len(raw) <= gbt.USE_CASE_SEGMENT_SIZE for raw in segments)
    assert b"".join(read_segment(raw)["block"] for raw in segments) == message


# --- the 63-segment limit ----------------------------------------------------------------
LIMIT = gbt.USE_CASE_MAX_SEGMENTS
BIGGEST = LARGE_FILES[-1]


@pytest.mark.parametrize("count", [LIMIT - 1, LIMIT], ids=["62-segments", "63-segments"])
def test_up_to_the_limit_segments_and_joins(count):
    message = read(BIGGEST)[: count * 10]
    ids = identity(read(BIGGEST))
    segments = gbt.segment(message, **ids, block_size=10, max_segments=LIMIT)
    assert len(segments) == count
    assert gbt.reassemble(segments, max_segments=LIMIT) == message


def test_one_segment_over_the_limit_is_refused_both_ways():
    message = read(BIGGEST)[: LIMIT * 10 + 1]
    ids = identity(read(BIGGEST))
    with pytest.raises(EncodeError, match="need 64 segments, more than the 63 allowed") as raised:
        gbt.segment(message, **ids, block_size=10, max_segments=LIMIT)
    assert raised.value.layer == "gbt"
    segments = gbt.segment(message, **ids, block_size=10)  # no limit asked for
    assert len(segments) == LIMIT + 1
    with pytest.raises(DecodeError, match="block 64 exceeds the 63-segment limit") as raised:
        gbt.reassemble(segments, max_segments=LIMIT)
    assert raised.value.layer == "gbt"
    # the offset points at the block number inside the 64th segment
    at = raised.value.offset
    assert read_segment(segments[-1])["number"] == 64
    assert segments[-1][at : at + 2] == (64).to_bytes(2, "big")
    assert segments[-1][at - 2] == 0xE0
