"""NWK/APS security: install-code keys, CCM* round trips, and tampering detected."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from emulator.han import aps, nwk, security

IEEE_LE = bytes.fromhex("a5000000006f0d00")
NETWORK_KEY = bytes.fromhex("01030507090b0d0f00020406080a0c0d")


def test_install_code_vector_from_the_primer():
    key = security.link_key_from_install_code(bytes.fromhex("83FED3407A939723A5C639B26916D505C3B5"))
    assert key.hex() == "66b6900981e1ee3ca4206b6b861c02bb"


def test_gbcs_install_code_without_crc_gets_its_crc_recomputed():
    with_crc = bytes.fromhex("83FED3407A939723A5C639B26916D505C3B5")
    assert security.link_key_from_install_code(with_crc[:16]) == (
        security.link_key_from_install_code(with_crc)
    )


def test_install_code_with_a_bad_crc_is_refused():
    with pytest.raises(ValueError):
        security.link_key_from_install_code(bytes.fromhex("83FED3407A939723A5C639B26916D505C3B6"))


def test_key_transport_and_key_load_keys_differ_and_are_deterministic():
    link_key = bytes(range(16))
    ktk = security.key_transport_key(link_key)
    assert ktk == security.key_transport_key(link_key)
    assert ktk != security.key_load_key(link_key) and len(ktk) == 16 and ktk != link_key


@given(
    payload=st.binary(min_size=0, max_size=80),
    counter=st.integers(0, 0xFFFFFFFF),
    dst=st.integers(0, 0xFFFF),
    src=st.integers(0, 0xFFF7),
    seq=st.integers(0, 255),
)
def test_nwk_frames_round_trip_through_encryption(payload, counter, dst, src, seq):
    frame = nwk.NwkFrame(dst, src, seq, payload, IEEE_LE, frame_counter=counter, key_seq=3)
    wire = nwk.encode(frame, NETWORK_KEY)
    if len(payload) >= 8:  # encrypted: the plaintext does not show (short ones may by chance)
        assert payload not in wire
    assert nwk.decode(wire, NETWORK_KEY) == frame


def test_nwk_security_control_is_sent_with_level_zero():
    wire = nwk.encode(
        nwk.NwkFrame(0x1234, 0, 1, b"\x40\x01", IEEE_LE, frame_counter=9), NETWORK_KEY
    )
    assert wire[0:2] == bytes.fromhex("4812")  # data, version 2, discover route, secured, ext src
    assert wire[16] == 0x28  # network key, extended nonce, level bits 0


def test_tampered_or_wrongly_keyed_nwk_frames_fail_authentication():
    wire = bytearray(
        nwk.encode(nwk.NwkFrame(1, 0, 1, b"hello", IEEE_LE, frame_counter=5), NETWORK_KEY)
    )
    with pytest.raises(security.SecurityError):
        nwk.decode(bytes(wire), bytes(16))
    wire[-6] ^= 0x01
    with pytest.raises(security.SecurityError):
        nwk.decode(bytes(wire), NETWORK_KEY)
    with pytest.raises(ValueError):
        nwk.decode(bytes(wire[:5]), NETWORK_KEY)


def test_transport_key_only_opens_with_the_matching_link_key():
    link_key = security.link_key_from_install_code(
        bytes.fromhex("83FED3407A939723A5C639B26916D505C3B5")
    )
    frame = aps.encode_transport_key(
        counter=1,
        network_key=NETWORK_KEY,
        key_seq=4,
        dst_ieee_le=IEEE_LE,
        src_ieee_le=bytes(8),
        link_key=link_key,
        frame_counter=77,
    )
    assert aps.decode_transport_key(frame, link_key) == (NETWORK_KEY, 4)
    with pytest.raises(security.SecurityError):
        aps.decode_transport_key(frame, bytes(16))
    with pytest.raises(ValueError):
        aps.decode_transport_key(frame[:10], link_key)
