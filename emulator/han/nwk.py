"""ZigBee NWK layer frames: header, auxiliary security header and network-key CCM* (primer 6.1)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from . import security

FRAME_TYPE_DATA = 0
FRAME_TYPE_COMMAND = 1
PROTOCOL_VERSION = 2
_DISCOVER_ROUTE = 0x0040
_SECURITY = 0x0200
_EXTENDED_SOURCE = 0x1000

BROADCAST_ALL = 0xFFFF
BROADCAST_RX_ON_WHEN_IDLE = 0xFFFD
BROADCAST_ROUTERS = 0xFFFC
DEFAULT_RADIUS = 30


@dataclass(frozen=True, slots=True)
class NwkFrame:
    dst: int
    src: int
    seq: int
    payload: bytes
    src_ieee_le: bytes
    radius: int = DEFAULT_RADIUS
    secured: bool = True
    frame_counter: int = 0
    key_seq: int = 0
    frame_type: int = FRAME_TYPE_DATA


def _header(frame: NwkFrame) -> bytes:
    fcf = frame.frame_type | PROTOCOL_VERSION << 2 | _DISCOVER_ROUTE | _EXTENDED_SOURCE
    if frame.secured:
        fcf |= _SECURITY
    return (
        struct.pack("<HHHBB", fcf, frame.dst, frame.src, frame.radius, frame.seq & 0xFF)
        + frame.src_ieee_le
    )


def encode(frame: NwkFrame, network_key: bytes | None) -> bytes:
    """The NWK frame as on the air; secured frames are encrypted with the network key."""
    header = _header(frame)
    if not frame.secured:
        return header + frame.payload
    if network_key is None:
        raise ValueError("a secured NWK frame needs the network key")
    aux = (
        bytes([security.security_control(security.KEY_ID_NETWORK)])
        + struct.pack("<I", frame.frame_counter)
        + frame.src_ieee_le
        + bytes([frame.key_seq])
    )
    nonce = security.nonce(frame.src_ieee_le, frame.frame_counter, security.KEY_ID_NETWORK)
    return header + aux + security.encrypt(network_key, nonce, header, aux, frame.payload)


def decode(data: bytes, network_key: bytes | None) -> NwkFrame:
    """Parse (and decrypt) a frame built by :func:`encode`; raises ValueError/SecurityError."""
    if len(data) < 8:
        raise ValueError("NWK frame shorter than its header")
    fcf, dst, src, radius, seq = struct.unpack_from("<HHHBB", data)
    offset = 8
    src_ieee = b""
    if fcf & _EXTENDED_SOURCE:
        src_ieee = data[offset : offset + 8]
        offset += 8
    header = data[:offset]
    if not fcf & _SECURITY:
        return NwkFrame(dst, src, seq, data[offset:], src_ieee, radius, False, 0, 0, fcf & 3)
    if network_key is None:
        raise security.SecurityError("secured NWK frame and no network key")
    aux = data[offset : offset + 14]
    if len(aux) < 14:
        raise ValueError("truncated NWK auxiliary header")
    (counter,) = struct.unpack_from("<I", aux, 1)
    aux_ieee = aux[5:13]
    nonce = security.nonce(aux_ieee, counter, security.KEY_ID_NETWORK)
    payload = security.decrypt(network_key, nonce, header, aux, data[offset + 14 :])
    return NwkFrame(dst, src, seq, payload, aux_ieee, radius, True, counter, aux[13], fcf & 3)
