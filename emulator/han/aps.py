"""ZigBee APS layer frames: data, acknowledgement and command (Transport Key) frames, with
optional link-key CCM* security (primer 6.2)."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from . import security

FRAME_DATA = 0
FRAME_COMMAND = 1
FRAME_ACK = 2
DELIVERY_UNICAST = 0
DELIVERY_BROADCAST = 2
_SECURITY = 0x20
_ACK_REQUEST = 0x40

CMD_TRANSPORT_KEY = 0x05
KEY_TYPE_STANDARD_NETWORK_KEY = 0x01


@dataclass(frozen=True, slots=True)
class ApsData:
    dst_ep: int
    cluster_id: int
    profile_id: int
    src_ep: int
    counter: int
    payload: bytes
    ack_request: bool = True
    broadcast: bool = False


def _data_header(frame: ApsData, secured: bool) -> bytes:
    fc = FRAME_DATA | (DELIVERY_BROADCAST if frame.broadcast else DELIVERY_UNICAST) << 2
    if frame.ack_request and not frame.broadcast:
        fc |= _ACK_REQUEST
    if secured:
        fc |= _SECURITY
    return struct.pack(
        "<BBHHBB",
        fc,
        frame.dst_ep,
        frame.cluster_id,
        frame.profile_id,
        frame.src_ep,
        frame.counter & 0xFF,
    )


def _aux(key_id: int, frame_counter: int, src_ieee_le: bytes) -> bytes:
    return (
        bytes([security.security_control(key_id)]) + struct.pack("<I", frame_counter) + src_ieee_le
    )


def _secure(header: bytes, payload: bytes, key: bytes, key_id: int, counter: int, ieee: bytes):
    aux = _aux(key_id, counter, ieee)
    nonce = security.nonce(ieee, counter, key_id)
    return header + aux + security.encrypt(key, nonce, header, aux, payload)


def encode_data(
    frame: ApsData,
    link_key: bytes | None = None,
    frame_counter: int = 0,
    src_ieee_le: bytes = b"",
) -> bytes:
    """An APS data frame; with a link key it is APS-secured (key id 0, data key)."""
    header = _data_header(frame, link_key is not None)
    if link_key is None:
        return header + frame.payload
    return _secure(
        header, frame.payload, link_key, security.KEY_ID_DATA, frame_counter, src_ieee_le
    )


def encode_ack(data: ApsData) -> bytes:
    """The APS acknowledgement of a unicast data frame: endpoints swapped, same counter."""
    return struct.pack(
        "<BBHHBB",
        FRAME_ACK,
        data.src_ep,
        data.cluster_id,
        data.profile_id,
        data.dst_ep,
        data.counter & 0xFF,
    )


def encode_transport_key(
    counter: int,
    network_key: bytes,
    key_seq: int,
    dst_ieee_le: bytes,
    src_ieee_le: bytes,
    link_key: bytes,
    frame_counter: int,
) -> bytes:
    """Transport Key (standard network key) secured with the key-transport key of ``link_key``."""
    header = bytes([FRAME_COMMAND | _SECURITY, counter & 0xFF])
    payload = (
        bytes([CMD_TRANSPORT_KEY, KEY_TYPE_STANDARD_NETWORK_KEY])
        + bytes(network_key)
        + bytes([key_seq])
        + dst_ieee_le
        + src_ieee_le
    )
    return _secure(
        header,
        payload,
        security.key_transport_key(link_key),
        security.KEY_ID_KEY_TRANSPORT,
        frame_counter,
        src_ieee_le,
    )


def decode_transport_key(data: bytes, link_key: bytes) -> tuple[bytes, int]:
    """The joiner's side: recover (network key, key sequence) or raise SecurityError/ValueError."""
    if len(data) < 2 + 13 or data[0] != FRAME_COMMAND | _SECURITY:
        raise ValueError("not a secured APS command frame")
    header, aux = data[:2], data[2:15]
    if aux[0] & 0x18 != security.KEY_ID_KEY_TRANSPORT << 3:
        raise ValueError("Transport Key not secured with the key-transport key")
    (counter,) = struct.unpack_from("<I", aux, 1)
    ieee = aux[5:13]
    nonce = security.nonce(ieee, counter, security.KEY_ID_KEY_TRANSPORT)
    key = security.key_transport_key(link_key)
    plain = security.decrypt(key, nonce, header, aux, data[15:])
    if len(plain) < 35 or plain[0] != CMD_TRANSPORT_KEY:
        raise ValueError("APS command is not a Transport Key")
    if plain[1] != KEY_TYPE_STANDARD_NETWORK_KEY:
        raise ValueError(f"unsupported key type {plain[1]}")
    return plain[2:18], plain[18]
