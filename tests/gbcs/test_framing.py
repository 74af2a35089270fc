"""The hand-written DD / DF readers gbcs.decode uses agree with the construct definitions'
compiled parsers: the same tree (same keys in the same order, same value types), or the same
DecodeError (layer, offset and text), on every RTDS message and on mutations of them."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rtds_vectors import params, read_vector, rtds_files

from gbcs import framing
from gbcs.errors import DecodeError
from gbcs.message import decode, wrap_for_mac
from gbcs.primitives import parse_layer, read_length_form


def shape(value):
    """A value with its exact types and key order made explicit (Container == ignores both)."""
    if isinstance(value, dict):
        return (type(value).__name__, [(key, shape(item)) for key, item in value.items()])
    return (type(value).__name__, value)


def outcome(read):
    try:
        return ("ok", *map(shape, read()))
    except DecodeError as exc:
        return ("error", exc.layer, exc.offset, exc.detail)


def reference_signing(apdu: bytes, base: int):
    header = parse_layer(framing.GENERAL_SIGNING_PARSER, apdu, "general-signing", base)
    return header, header.pop("content"), header.pop("signature")


def reference_ciphering(data: bytes, base: int):
    envelope = parse_layer(framing.GENERAL_CIPHERING_PARSER, data, "general-ciphering", base)
    information = envelope["ciphered_service"].pop("information")
    return envelope, len(data) - len(information)


def assert_readers_agree(data: bytes, base: int = 0) -> None:
    fast = outcome(lambda: framing.read_general_signing(data, base))
    assert fast == outcome(lambda: reference_signing(data, base))
    fast = outcome(lambda: framing.read_general_ciphering(data, base))
    assert fast == outcome(lambda: reference_ciphering(data, base))


def apdu_of(data: bytes) -> tuple[bytes, int]:
    """The DF APDU of an RTDS message and where it starts."""
    if data[0] != 0xDD:
        return data, 0
    _, start = framing.read_general_ciphering(data)
    return data[start : -framing.MAC_LENGTH], start


def mutations(data: bytes, rng: random.Random, count: int):
    """Truncations, bit flips, byte changes, insertions and deletions, mostly in the header."""
    for _ in range(count):
        position = min(int(rng.expovariate(1 / 40)), len(data) - 1)
        kind = rng.randrange(5)
        if kind == 0:
            yield data[:position]
        elif kind == 1:
            yield (
                data[:position]
                + bytes([data[position] ^ 1 << rng.randrange(8)])
                + data[position + 1 :]
            )
        elif kind == 2:
            yield (
                data[:position]
                + bytes([rng.choice((0, 0x30, 0x7F, 0x80, 0x82, 0xFF))])
                + data[position + 1 :]
            )
        elif kind == 3:
            yield data[:position] + bytes([rng.randrange(256)]) + data[position:]
        else:
            yield data[:position] + data[position + 1 + rng.randrange(3) :]


@pytest.mark.parametrize("path", params(rtds_files()))
def test_readers_agree_on_rtds_and_its_mutations(path):
    data = read_vector(path)
    apdu, start = apdu_of(data)
    assert_readers_agree(data)
    assert_readers_agree(apdu, start)
    rng = random.Random(path.name)
    for mutated in mutations(data, rng, 20):
        assert_readers_agree(mutated)
    for mutated in mutations(apdu, rng, 20):
        assert_readers_agree(mutated, start)


def test_readers_agree_on_every_truncation_and_bit_flip_of_a_header():
    (path,) = rtds_files("ECS21b_4.14_URP_SUCCESS_COMMAND_GBCS")  # certificate in other info
    data = read_vector(path)
    for end in range(len(data)):
        assert_readers_agree(data[:end])
    for bit in range(8 * 200):
        flipped = bytearray(data)
        flipped[bit // 8] ^= 1 << bit % 8
        assert_readers_agree(bytes(flipped))


@settings(max_examples=300)
@given(head=st.binary(max_size=80), tag=st.sampled_from((b"\xdd", b"\xdf\x09", b"")))
def test_readers_agree_on_random_bytes(head, tag):
    assert_readers_agree(tag + head, 7)


def with_other_information(apdu: bytes, other_information: bytes) -> tuple[bytes, int]:
    """The DF APDU with its other-information field replaced, and where the new field's
    contents start."""
    header, _, _ = framing.read_general_signing(apdu)
    pos = 29 + (1 if header["date_time"] is None else 13)  # DF 09 flag counter 2 x (08 EUI)
    length, after = read_length_form(apdu, pos)  # this vector's has a certificate: 82 nn nn
    rest = apdu[after + length :]
    return apdu[:pos] + bytes((len(other_information),)) + other_information + rest, pos + 1


@pytest.mark.parametrize("party_length", range(1, 8))
def test_a_short_supplementary_remote_party_is_an_error_at_its_start(party_length):
    # other information 3-9 bytes long: message code, then fewer than 8 bytes of the
    # supplementary remote party id, which must be read whole (never taken short)
    (path,) = rtds_files("ECS21b_4.14_URP_SUCCESS_COMMAND_GBCS")
    data = read_vector(path)
    apdu, start = apdu_of(data)
    party = bytes(range(0xA1, 0xA1 + party_length))
    crafted, field = with_other_information(apdu, b"\x00\x8b" + party)
    expected = ("general-signing", start + field + 2, f"needs 8 byte(s), only {party_length} left")
    for read in (
        lambda: framing.read_general_signing(crafted, start),
        lambda: reference_signing(crafted, start),
    ):
        with pytest.raises(DecodeError) as caught:
            read()
        assert (caught.value.layer, caught.value.offset, caught.value.detail) == expected
    assert_readers_agree(crafted, start)
    # and through gbcs.decode, for the bare APDU and inside a DD envelope
    with pytest.raises(DecodeError) as caught:
        decode(crafted)
    assert (caught.value.layer, caught.value.offset) == ("general-signing", field + 2)
    wrapped = wrap_for_mac(crafted)
    with pytest.raises(DecodeError) as caught:
        decode(wrapped)
    offset = len(wrapped) - framing.MAC_LENGTH - len(crafted) + field + 2
    assert (caught.value.layer, caught.value.offset) == ("general-signing", offset)


def test_an_eight_byte_supplementary_remote_party_alone_still_decodes():
    (path,) = rtds_files("ECS21b_4.14_URP_SUCCESS_COMMAND_GBCS")
    apdu, _ = apdu_of(read_vector(path))
    crafted, _ = with_other_information(apdu, b"\x00\x8b" + bytes(range(8)))
    header, _, _ = framing.read_general_signing(crafted)
    assert header["other_information"]["supplementary_remote_party"] == bytes(range(8))
    assert header["other_information"]["supplementary_remote_party_counter"] is None
    assert_readers_agree(crafted)
