# The radio's side of the XBee API frames: building what the radio sends (0x91 Explicit Rx,
# 0x88 AT Command Response) and reading what it is sent (0x11, 0x08). The xbee3 board, where
# the firmware runs on the radio and plays its own UART, needs them, and so do the tests; the
# UART boards never do, so they are not in xbee.py (code and names cost a small board's heap).
from micropython import const
import struct

from firmware.lib.xbee import (AT_COMMAND, AT_RESPONSE, RX_EXPLICIT, TX_EXPLICIT, FrameError,
                               _RX_HEADER, _TX_HEADER)

_TX_HEADER_LEN = const(20)  # struct.calcsize(_TX_HEADER)


def parse_tx_explicit(frame_data):
    """(frame_id, dest64, dest16, src_ep, dst_ep, cluster, profile, radius, options, data)."""
    if len(frame_data) < _TX_HEADER_LEN or frame_data[0] != TX_EXPLICIT:
        raise FrameError("tx explicit")
    f = struct.unpack(_TX_HEADER, frame_data[:_TX_HEADER_LEN])
    return f[1:] + (bytes(frame_data[_TX_HEADER_LEN:]),)


def rx_explicit(src64, src16, src_ep, dst_ep, cluster, profile, options, data):
    """Frame data of an Explicit Rx Indicator (0x91), as the radio would send it."""
    return bytes((RX_EXPLICIT,)) + struct.pack(_RX_HEADER, src64, src16, src_ep, dst_ep,
                                                cluster, profile, options) + data


def parse_at_command(frame_data):
    """(frame_id, command, parameter) of a 0x08 frame."""
    if len(frame_data) < 4 or frame_data[0] != AT_COMMAND:
        raise FrameError("at command")
    return frame_data[1], bytes(frame_data[2:4]).decode(), bytes(frame_data[4:])


def at_response(frame_id, command, status, data=b""):
    """Frame data of an AT Command Response (0x88), as the radio sends it."""
    return bytes((AT_RESPONSE, frame_id)) + command.encode() + bytes((status,)) + data
