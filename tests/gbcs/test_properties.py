"""Property tests: whatever happens to the bytes, the codec raises only GbcsError subclasses,
and a signed command with any single bit flipped no longer verifies."""

from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rtds_vectors import read_vector, rtds_files, rtds_keystore

from gbcs import decode, encode
from gbcs.errors import GbcsError
from gbcs.security import VERIFIED, check_message

# One vector per payload layer and shape, so mutations reach every decoder.
SAMPLES = [
    "ECS47Deactivate_7.6_SUCCESS_COMMAND_GBCS.HEX",  # DD + DF + DLMS request, signed
    "ECS61a_7.7_ALL_OPTIONALS_SUCCESS_RESPONSE_GBCS.HEX",  # 82 lengths, big DLMS response
    "ECS61c_7.11_SUCCESS_RESPONSE_GBCS.HEX",  # compact array
    "ECS80_NA_8F36_ALERT_GBCS.HEX",  # DLMS data-notification
    "GCS13a_4.1.1_SUCCESS_RELIABLE_GSME_RESPONSE_GBCS.HEX",  # GBZ with encryption
    "GCS33_7.4_SUCCESS_COMMAND_GBCS.HEX",  # GBZ clear
    "GCA-ZigBee_NA_8F30_ALERT_GBCS.HEX",  # GBZ alert
    "CS03CCritical_8.7.1_SUCCESS_COMMAND_GBCS.HEX",  # ASN.1 with a certificate
    "ECS21b_4.14_URP_SUCCESS_COMMAND_GBCS.HEX",  # other information with a certificate
]


@cache
def sample(name: str) -> bytes:
    (path,) = [p for p in rtds_files() if p.name == name]
    return read_vector(path)


def decode_or_gbcs_error(data: bytes) -> None:
    try:
        message = decode(data)
    except GbcsError as exc:
        assert exc.layer
        if exc.offset is not None:
            assert 0 <= exc.offset <= len(data)
        return
    # whatever decodes must encode again (to the same bytes: the codec keeps everything)
    assert encode(message) == data


mutation = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10**6), st.integers(0, 7)),
    st.tuples(st.just("truncate"), st.integers(0, 10**6), st.just(0)),
    st.tuples(st.just("extend"), st.binary(min_size=1, max_size=16), st.just(0)),
    st.tuples(st.just("set"), st.integers(0, 10**6), st.integers(0, 255)),
    st.tuples(st.just("delete"), st.integers(0, 10**6), st.integers(1, 8)),
)


def mutate(data: bytes, op) -> bytes:
    kind, a, b = op
    if kind == "extend":
        return data + a
    position = a % len(data)
    if kind == "flip":
        return data[:position] + bytes([data[position] ^ (1 << b)]) + data[position + 1 :]
    if kind == "truncate":
        return data[:position]
    if kind == "set":
        return data[:position] + bytes([b]) + data[position + 1 :]
    return data[:position] + data[position + b :]


@pytest.mark.slow
@pytest.mark.parametrize("name", SAMPLES)
@settings(max_examples=300)
@given(ops=st.lists(mutation, min_size=1, max_size=3))
def test_mutations_raise_only_gbcs_errors(name, ops):
    data = sample(name)
    for op in ops:
        data = mutate(data, op) or b"\x00"
    decode_or_gbcs_error(data)


@settings(max_examples=200)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_gbcs_errors(data):
    decode_or_gbcs_error(data)


SIGNED = "ECS47Deactivate_7.6_SUCCESS_COMMAND_GBCS.HEX"


@settings(max_examples=300)
@given(bit=st.integers(min_value=0))
def test_any_single_bit_flip_breaks_a_signed_command(bit):
    data = sample(SIGNED)
    assert check_message(decode(data), rtds_keystore()).signature.status == VERIFIED
    bit %= len(data) * 8
    flipped = bytearray(data)
    flipped[bit // 8] ^= 1 << (bit % 8)
    try:
        message = decode(bytes(flipped))
    except GbcsError:
        return  # rejected by the decoder: also not accepted
    report = check_message(message, rtds_keystore())
    assert report.signature.status != VERIFIED or report.mac.status != VERIFIED
    assert report.failed or report.outcome != VERIFIED
