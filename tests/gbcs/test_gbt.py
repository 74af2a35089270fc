"""GBT segmentation and reassembly, self-tested on the largest RTDS messages (no GBT vectors)."""

import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator import data
from gbcs import framing, gbt
from gbcs.errors import DecodeError, EncodeError, GbcsError

RTDS = data.rtds()

# The three largest RTDS messages (3,986 / 1,882 / 1,869 bytes) plus a small one.
LARGE_FILES = sorted(RTDS.glob("*/*.HEX"), key=lambda p: p.stat().st_size)[-3:]
SMALL_FILE = next(RTDS.glob("*/ECS47Deactivate_7.6_SUCCESS_COMMAND_GBCS.HEX"))
MESSAGE_FILES = [*LARGE_FILES, SMALL_FILE]
# block-data sizes, and the use-case tables' whole-segment size (1,149 octets)
SIZES = [
    {"block_size": 16},
    {"block_size": 64},
    {"block_size": 500},
    {"segment_size": gbt.USE_CASE_SEGMENT_SIZE},
    {"block_size": 100_000},
]
SIZE_IDS = ["block-16", "block-64", "block-500", "segment-1149", "one-block"]


def read(path: Path) -> bytes:
    return bytes.fromhex(path.read_text().strip())


def identity(message: bytes) -> dict:
    """The header values for a message's segments, taken from its own grouping header."""
    apdu = message
    if message[0] == 0xDD:
        apdu = framing.GeneralCiphering.parse(message).ciphered_service.information[:-12]
    header = framing.GeneralSigning.parse(apdu)
    return dict(
        originator=header.originator,
        recipient=header.target,
        cra=int(header.transaction_id.cra),
        counter=header.transaction_id.counter,
        message_code=header.other_information.message_code,
    )


def cut(path: Path, **sizes) -> tuple[bytes, list[bytes]]:
    message = read(path)
    return message, gbt.segment(message, **identity(message), **sizes)


files = pytest.mark.parametrize("path", MESSAGE_FILES, ids=[p.name for p in MESSAGE_FILES])
sizes = pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)


def test_the_largest_rtds_message_is_the_cs02b_recovery_command():
    assert LARGE_FILES[-1].name.startswith("CS02bAnyExceptAbnormalRootByRecovery")
    assert len(read(LARGE_FILES[-1])) == 3986


@files
@sizes
def test_round_trip_in_order(path, size):
    message, segments = cut(path, **size)
    assert gbt.reassemble(segments) == message


@files
@sizes
def test_round_trip_shuffled_and_concatenated(path, size):
    message, segments = cut(path, **size)
    shuffled = segments[:]
    random.Random(len(segments)).shuffle(shuffled)
    assert gbt.reassemble(shuffled) == message
    assert gbt.reassemble(b"".join(shuffled)) == message


@files
def test_segments_carry_the_primer_header(path):
    message, segments = cut(path, block_size=256)
    ids = identity(message)
    for number, raw in enumerate(segments, start=1):
        assert raw[:2] == b"\xdd\x09"  # General-Ciphering with a 9-byte transaction id
        assert raw[2] == ids["cra"]
        parsed = gbt.parse_segment(raw)
        assert parsed.header.originator == ids["originator"]
        assert parsed.header.recipient == ids["recipient"]
        assert parsed.header.message_code == ids["message_code"]
        assert parsed.header.transaction_id.counter == ids["counter"]
        assert parsed.block_number == number
        assert parsed.block_control.last_block == (number == len(segments))
        assert raw.endswith(parsed.block_data)  # no MAC after the block


def test_use_case_segment_size_is_respected_and_filled():
    message, segments = cut(LARGE_FILES[-1], segment_size=gbt.USE_CASE_SEGMENT_SIZE)
    assert all(len(s) <= gbt.USE_CASE_SEGMENT_SIZE for s in segments)
    assert len(segments[0]) == gbt.USE_CASE_SEGMENT_SIZE
    assert len(segments) == 4 <= gbt.USE_CASE_MAX_SEGMENTS


def test_streaming_and_window_bits():
    message = read(SMALL_FILE)
    segments = gbt.segment(message, **identity(message), block_size=40, streaming=True, window=5)
    controls = [gbt.parse_segment(s).block_control for s in segments]
    assert [c.streaming for c in controls] == [True] * (len(controls) - 1) + [False]
    assert {c.window for c in controls} == {5}
    assert segments[0][segments[0].index(b"\xe0") + 1] == 0x45  # streaming bit + window 5


@files
def test_missing_segment_names_the_missing_block(path):
    message, segments = cut(path, block_size=len(read(path)) // 5)
    del segments[2]
    with pytest.raises(DecodeError, match=r"missing block\(s\) 3 of") as info:
        gbt.reassemble(segments)
    assert info.value.layer == "gbt"


def test_several_missing_blocks_are_listed_as_ranges():
    message, segments = cut(LARGE_FILES[-1], block_size=100)
    kept = [s for i, s in enumerate(segments, start=1) if i not in (2, 5, 6, 7)]
    with pytest.raises(DecodeError, match=r"missing block\(s\) 2, 5-7 of 40"):
        gbt.reassemble(kept)


def test_missing_last_block_is_named():
    message, segments = cut(LARGE_FILES[-1], block_size=1000)
    with pytest.raises(DecodeError, match="last block missing"):
        gbt.reassemble(segments[:-1])


def test_duplicate_segments_are_ignored():
    message, segments = cut(LARGE_FILES[-1], block_size=700)
    assert gbt.reassemble(segments + segments[1:3]) == message


def test_duplicate_block_with_other_data_is_rejected():
    message, segments = cut(LARGE_FILES[-1], block_size=700)
    other = bytearray(segments[1])
    other[-1] ^= 0xFF
    with pytest.raises(DecodeError, match="block 2 repeated with other data"):
        gbt.reassemble(segments + [bytes(other)])


def test_inconsistent_header_is_rejected():
    message, segments = cut(LARGE_FILES[-1], block_size=700)
    ids = identity(message)
    ids["counter"] += 1
    stranger = gbt.segment(message, **ids, block_size=700)
    with pytest.raises(DecodeError, match="header differs from segment 0 in transaction_id"):
        gbt.reassemble(segments[:2] + stranger[2:])


@files
def test_truncated_segment_is_a_typed_error(path):
    message, segments = cut(path, block_size=len(read(path)) // 3)
    for cut_at in (1, 10, 40, len(segments[1]) - 1):
        broken = segments[:]
        broken[1] = segments[1][:cut_at]
        with pytest.raises(DecodeError) as info:
            gbt.reassemble(broken)
        assert info.value.layer == "gbt"
        assert "segment 1" in str(info.value)


def test_a_mac_message_is_not_a_gbt_segment():
    with pytest.raises(DecodeError, match="segment 0"):
        gbt.reassemble([read(SMALL_FILE)])


@pytest.mark.parametrize(
    "bad",
    [{"block_size": 0}, {"segment_size": 40}, {"block_size": 10, "segment_size": 10}, {}],
    ids=["zero-block", "segment-too-small", "both-sizes", "no-size"],
)
def test_bad_segment_parameters_are_encode_errors(bad):
    message = read(SMALL_FILE)
    with pytest.raises(EncodeError):
        gbt.segment(message, **identity(message), **bad)


@settings(max_examples=150)
@given(st.data())
def test_mutated_segments_raise_only_gbcs_errors(data):
    message, segments = cut(SMALL_FILE, block_size=data.draw(st.integers(8, 80)))
    index = data.draw(st.integers(0, len(segments) - 1))
    raw = bytearray(segments[index])
    for _ in range(data.draw(st.integers(1, 3))):
        raw[data.draw(st.integers(0, len(raw) - 1))] ^= 1 << data.draw(st.integers(0, 7))
    segments[index] = bytes(raw)
    try:
        result = gbt.reassemble(segments)
    except GbcsError as exc:
        assert exc.layer == "gbt"
    else:
        # a flip that only touched the security header or ack keeps the data intact, or a
        # flip inside block data changes exactly that data
        assert len(result) == len(message)


@settings(max_examples=100)
@given(
    st.binary(min_size=1, max_size=3000),
    st.integers(1, 2000),
    st.randoms(use_true_random=False),
)
def test_any_message_round_trips_in_any_order(message, block_size, rng):
    segments = gbt.segment(
        message,
        originator=bytes(8),
        recipient=bytes.fromhex("00DB1234567890A0"),
        cra=2,
        counter=7,
        message_code=0x0055,
        block_size=block_size,
    )
    assert len(segments) == -(-len(message) // block_size)
    rng.shuffle(segments)
    assert gbt.reassemble(segments) == message
