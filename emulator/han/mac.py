"""IEEE 802.15.4 MAC data frames, only as far as the capture needs them (ZigBee PRO adds no MAC
security). Short addressing with PAN-id compression, 2003 frame version."""

from __future__ import annotations

import struct

from crccheck.crc import CrcKermit

BROADCAST_SHORT = 0xFFFF

_FRAME_TYPE_DATA = 0x0001
_ACK_REQUEST = 0x0020
_PAN_ID_COMPRESSION = 0x0040
_DST_SHORT = 0x0800
_FRAME_VERSION_2003 = 0x0000
_SRC_SHORT = 0x8000


def data_frame(seq: int, pan_id: int, dst: int, src: int, payload: bytes) -> bytes:
    """A MAC data frame without FCS (pcap link type 230); unicast frames request a MAC ack."""
    fcf = _FRAME_TYPE_DATA | _PAN_ID_COMPRESSION | _DST_SHORT | _SRC_SHORT | _FRAME_VERSION_2003
    if dst != BROADCAST_SHORT:
        fcf |= _ACK_REQUEST
    return struct.pack("<HBHHH", fcf, seq & 0xFF, pan_id, dst, src) + payload


def fcs(frame: bytes) -> bytes:
    """CRC-16/KERMIT, little-endian, for link type 195 captures."""
    return CrcKermit.calc(frame).to_bytes(2, "little")
