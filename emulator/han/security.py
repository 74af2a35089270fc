"""ZigBee NWK/APS security primitives: AES-CCM* (level 5), HMAC-MMO key derivation, install codes.

The maths is ``cryptography``'s AES-CCM and zigpy's AES-MMO hash; this module only fixes the
ZigBee conventions (13-byte nonce, 4-byte MIC, security level sent as 0 on the air).
"""

from __future__ import annotations

import struct

import zigpy.util
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from emulator.errors import EmulatorError

#: ENC-MIC-32: what ZigBee PRO computes with, although the frame carries level 0.
SECURITY_LEVEL = 5
MIC_LENGTH = 4

KEY_ID_DATA = 0  # APS link key
KEY_ID_NETWORK = 1
KEY_ID_KEY_TRANSPORT = 2
KEY_ID_KEY_LOAD = 3

EXTENDED_NONCE = 0x20


class SecurityError(EmulatorError, ValueError):
    """A secured frame failed authentication (wrong key, tampering) or is malformed."""


def security_control(key_id: int, level: int = 0) -> int:
    """The auxiliary header's first byte; on the air ``level`` is 0, in the nonce/AAD it is 5."""
    return (level & 0x07) | (key_id & 0x03) << 3 | EXTENDED_NONCE


def nonce(source_ieee_le: bytes, frame_counter: int, key_id: int) -> bytes:
    """CCM* nonce: source IEEE (LE) | frame counter (LE) | security control with the true level."""
    return (
        source_ieee_le
        + struct.pack("<I", frame_counter)
        + bytes([security_control(key_id, SECURITY_LEVEL)])
    )


def with_true_level(aux_header: bytes) -> bytes:
    """The AAD uses the auxiliary header as if the level had been transmitted."""
    return bytes([(aux_header[0] & ~0x07) | SECURITY_LEVEL]) + aux_header[1:]


def encrypt(key: bytes, nonce_: bytes, header: bytes, aux_header: bytes, payload: bytes) -> bytes:
    """Encrypted payload followed by the encrypted 4-byte MIC."""
    aad = header + with_true_level(aux_header)
    return AESCCM(bytes(key), tag_length=MIC_LENGTH).encrypt(nonce_, payload, aad)


def decrypt(key: bytes, nonce_: bytes, header: bytes, aux_header: bytes, secured: bytes) -> bytes:
    if len(secured) < MIC_LENGTH:
        raise SecurityError("secured payload shorter than its MIC")
    aad = header + with_true_level(aux_header)
    try:
        return AESCCM(bytes(key), tag_length=MIC_LENGTH).decrypt(nonce_, secured, aad)
    except InvalidTag as exc:
        raise SecurityError("MIC check failed (wrong key or altered frame)") from exc


def hmac_mmo(key: bytes, message: bytes) -> bytes:
    """HMAC over the AES-MMO hash (16-byte block), as ZigBee uses to derive key-transport keys."""
    if len(key) != 16:
        raise ValueError("HMAC-MMO key must be 16 bytes")
    inner = zigpy.util.aes_mmo_hash(bytes(b ^ 0x36 for b in key) + message)
    return bytes(zigpy.util.aes_mmo_hash(bytes(b ^ 0x5C for b in key) + bytes(inner)))


def key_transport_key(link_key: bytes) -> bytes:
    return hmac_mmo(link_key, b"\x00")


def key_load_key(link_key: bytes) -> bytes:
    return hmac_mmo(link_key, b"\x02")


def link_key_from_install_code(install_code: bytes) -> bytes:
    """Install-code link key. Accepts the code with its CRC, or a 16-byte code without (GBCS CCS01).

    GBCS carries the 16-byte install code without its CRC-16/X-25, so the CRC is recomputed
    before hashing; codes that already carry a CRC are checked by zigpy (a bad CRC raises).
    """
    code = bytes(install_code)
    if len(code) == 16:
        from crccheck.crc import CrcX25

        code += CrcX25.calc(code).to_bytes(2, "little")
    return bytes(zigpy.util.convert_install_code(code))
