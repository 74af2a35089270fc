"""The hand-written DD / DF readers gbcs.decode uses agree with the construct definitions'
compiled parsers: the same tree (same keys in the same order, same value types), or the same
DecodeError (layer, offset and text), on every RTDS message and on mutations of them."""

import random

import pytest
from construct import Container
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
    header = parse_layer(framing.general_signing_parser(), apdu, "general-signing", base)
    return header, header.pop("content"), header.pop("signature")


def reference_ciphering(data: bytes, base: int):
    envelope = parse_layer(framing.general_ciphering_parser(), data, "general-ciphering", base)
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


# --- the hand writers gbcs.encode uses agree with the Structs' build --------------------------
def built(struct, value):
    """What the Struct builds from `value`, or the kind of error it raises."""
    try:
        return struct.build(value)
    except Exception as exc:  # construct's errors and the plain ones its fields raise
        return type(exc).__name__


def assert_writers_agree(header, content, signature) -> None:
    """The DF writer writes what GeneralSigning builds, or declines (None) for a value
    outside decode's shapes; either way the Struct still builds or refuses it."""
    value = Container(header)
    value.content, value.signature = content, signature
    written = framing.write_general_signing(header, content, signature)
    if written is not None:
        assert written == built(framing.GeneralSigning, value)


def assert_envelope_agrees(envelope, information) -> None:
    value = Container(envelope)
    service = Container(envelope["ciphered_service"])
    service.information = information
    value.ciphered_service = service
    written = framing.write_general_ciphering(envelope, information)
    if written is not None:
        assert written == built(framing.GeneralCiphering, value)


@pytest.mark.parametrize("path", params(rtds_files()))
def test_writers_write_what_the_structs_build_on_rtds(path):
    data = read_vector(path)
    apdu, start = apdu_of(data)
    header, content, signature = framing.read_general_signing(apdu)
    # decode's own shapes: the writer always writes, and exactly the original bytes
    assert framing.write_general_signing(header, content, signature) == apdu
    for other_signature in (None, b"", bytes(range(64))):
        assert_writers_agree(header, content, other_signature)
        assert framing.write_general_signing(header, content, other_signature) is not None
    if start:
        envelope, _ = framing.read_general_ciphering(data)
        information = data[start:]
        assert framing.write_general_ciphering(envelope, information) == data
        assert_envelope_agrees(envelope, information)


def test_writers_decline_what_decode_never_gives():
    (path,) = rtds_files("ECS21b_4.14_URP_SUCCESS_COMMAND_GBCS")
    header, content, signature = framing.read_general_signing(apdu_of(read_vector(path))[0])
    odd = [
        {"transaction_id": Container(cra="commando", counter=1)},
        {"transaction_id": Container(cra=1, counter=-1)},
        {"originator": b"\x00" * 7},
        {"target": bytearray(8)},
        {"tag": b"\xdd"},
        {"date_time": Container(year=70000)},
    ]
    for change in odd:
        changed = Container(header, **change)
        assert framing.write_general_signing(changed, content, signature) is None
        assert_writers_agree(changed, content, signature)
    assert framing.write_general_signing(header, bytearray(content), signature) is None
    assert framing.write_general_signing(header, content, b"\x01" * 63) is None
    # a counter after a missing field: the Struct's If fields decide, not the writer
    other = Container(header["other_information"], supplementary_remote_party=None)
    changed = Container(header, other_information=other)
    assert framing.write_general_signing(changed, content, signature) is None
    # the CRA flag by name, as construct's Enum takes it, and an unnamed one
    for cra in ("response", 3, 7):
        named = Container(header, transaction_id=Container(cra=cra, counter=5))
        assert framing.write_general_signing(named, content, signature) is not None
        assert_writers_agree(named, content, signature)


EUIS = st.binary(min_size=7, max_size=9)
COUNTERS = st.one_of(st.none(), st.integers(-1, 1 << 64), st.just(True))


@settings(max_examples=300)
@given(
    cra=st.one_of(st.integers(-1, 256), st.sampled_from(("command", "alert", "x"))),
    counter=st.integers(-1, 1 << 64),
    originator=EUIS,
    target=EUIS,
    date_time=st.one_of(
        st.none(),
        st.tuples(*[st.integers(-1, 70000)] * 10).map(
            lambda v: Container(zip(framing.COSEM_FIELDS, v, strict=True))
        ),
    ),
    code=st.integers(-1, 0x10000),
    party=st.one_of(st.none(), st.binary(min_size=7, max_size=9)),
    party_counter=COUNTERS,
    originator_counter=COUNTERS,
    certificate=st.binary(max_size=300),
    content=st.binary(max_size=300),
    signature=st.one_of(st.none(), st.binary(max_size=65)),
)
def test_writers_agree_on_random_headers(
    cra,
    counter,
    originator,
    target,
    date_time,
    code,
    party,
    party_counter,
    originator_counter,
    certificate,
    content,
    signature,
):
    header = Container(
        transaction_id=Container(cra=cra, counter=counter),
        originator=originator,
        target=target,
        date_time=date_time,
        other_information=Container(
            message_code=code,
            supplementary_remote_party=party,
            supplementary_remote_party_counter=party_counter,
            supplementary_originator_counter=originator_counter,
            certificate=certificate,
        ),
    )
    assert_writers_agree(header, content, signature)


@settings(max_examples=200)
@given(
    fields=st.lists(st.binary(max_size=200), min_size=5, max_size=5),
    control=st.integers(-1, 256),
    invocation=st.integers(-1, 1 << 32),
    information=st.binary(max_size=400),
)
def test_envelope_writer_agrees_on_random_envelopes(fields, control, invocation, information):
    envelope = Container(
        zip(
            (
                "transaction_id",
                "originator_system_title",
                "recipient_system_title",
                "date_time",
                "other_information",
            ),
            fields,
            strict=True,
        ),
        ciphered_service=Container(security_control=control, invocation_counter=invocation),
    )
    assert_envelope_agrees(envelope, information)
