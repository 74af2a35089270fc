# XBee API mode 2 (escaped) framing and the frame types the switch uses.
#
# Digi XBee 3 Zigbee RF module user guide, "API frame format" and "API frames":
#   0x7E | length (u16 BE, unescaped frame data) | frame data | checksum
#   checksum = 0xFF - (sum(frame data) & 0xFF)
#   mode 2: after the start byte, 0x7E 0x7D 0x11 0x13 travel as 0x7D, byte ^ 0x20.
# Multi-byte fields inside XBee frames are big-endian; only the RF data (ZCL) is little-endian.
#
# The framer is a pure function over a buffer (no I/O), so the unix board, the real boards
# and the tests feed it the same bytes.
from micropython import const
import struct

START = const(0x7E)
_ESCAPE = const(0x7D)
_XON = const(0x11)
_XOFF = const(0x13)
_ESCAPE_XOR = const(0x20)

# Longest frame data we accept: an explicit Rx with a full ZCL payload fits easily; anything
# longer is a corrupt length field, and resyncing early keeps the receive buffer small.
MAX_FRAME_DATA = const(300)

# Frame types (user guide, "Frame descriptions").
AT_COMMAND = const(0x08)
TX_EXPLICIT = const(0x11)
AT_RESPONSE = const(0x88)
MODEM_STATUS = const(0x8A)
TX_STATUS = const(0x8B)
RX_EXPLICIT = const(0x91)

# 0x11 fixed part: type, frame id, dest64, dest16, src ep, dst ep, cluster, profile,
# radius, options.
_TX_HEADER = ">BB8sHBBHHBB"
_TX_HEADER_LEN = const(20)
# 0x91 fixed part after the type byte: src64, src16, src ep, dst ep, cluster, profile, options.
_RX_HEADER = ">8sHBBHHB"
_RX_HEADER_LEN = const(17)

# Receive options (0x91) and transmit options (0x11).
RX_OPT_ACKED = const(0x01)
RX_OPT_BROADCAST = const(0x02)
RX_OPT_APS_ENCRYPTED = const(0x20)
TX_OPT_APS_ENCRYPTION = const(0x20)

UNKNOWN_NWK = const(0xFFFE)


class FrameError(ValueError):
    """Frame data that does not fit the frame type's layout."""


def _needs_escape(b):
    return b == START or b == _ESCAPE or b == _XON or b == _XOFF


def encode(frame_data):
    """Wrap frame data in an escaped API mode 2 frame."""
    n = len(frame_data)
    if n == 0 or n > 0xFFFF:
        raise FrameError("frame length")
    checksum = 0xFF - (sum(frame_data) & 0xFF)
    out = bytearray()
    out.append(START)
    for b in (n >> 8, n & 0xFF):
        if _needs_escape(b):
            out.append(_ESCAPE)
            b ^= _ESCAPE_XOR
        out.append(b)
    for b in frame_data:
        if _needs_escape(b):
            out.append(_ESCAPE)
            b ^= _ESCAPE_XOR
        out.append(b)
    if _needs_escape(checksum):
        out.append(_ESCAPE)
        checksum ^= _ESCAPE_XOR
    out.append(checksum)
    return bytes(out)


# Reasons decode() gives for bytes it skips; the device counts and logs them.
SKIP_NOISE = "noise"  # bytes before a start delimiter
SKIP_TRUNCATED = "truncated"  # a new start delimiter arrived inside a frame
SKIP_LENGTH = "bad-length"  # zero or longer than MAX_FRAME_DATA
SKIP_CHECKSUM = "bad-checksum"
SKIP_ESCAPE = "bad-escape"  # 0x7D followed by a byte that is not an escaped special


def decode(buf, start=0, end=-1):
    """Find one frame in buf[start:end].

    Returns (used, frame_data, reason): used == 0 means "need more bytes"; used > 0 with
    frame_data None means that many bytes were skipped, for the reason given.
    """
    if end < 0:
        end = len(buf)
    if start >= end:
        return 0, None, None
    if buf[start] != START:
        i = start + 1
        while i < end and buf[i] != START:
            i += 1
        return i - start, None, SKIP_NOISE
    # Unescape the length, frame data and checksum as they come.
    i = start + 1
    length = -1
    header = 0
    header_bytes = 0
    data = bytearray()
    filled = 0
    total = 0
    while i < end:
        b = buf[i]
        if b == START:
            return i - start, None, SKIP_TRUNCATED
        if b == _ESCAPE:
            if i + 1 >= end:
                return 0, None, None
            if buf[i + 1] == START:
                return i + 1 - start, None, SKIP_TRUNCATED
            b = buf[i + 1] ^ _ESCAPE_XOR
            if not _needs_escape(b):
                return i + 2 - start, None, SKIP_ESCAPE
            i += 2
        else:
            i += 1
        if length < 0:
            header = (header << 8) | b
            header_bytes += 1
            if header_bytes == 2:
                length = header
                if length == 0 or length > MAX_FRAME_DATA:
                    # Skip only the delimiter: the real next frame may start in these bytes.
                    return 1, None, SKIP_LENGTH
                data = bytearray(length)
            continue
        if filled < length:
            data[filled] = b
            filled += 1
            total += b
            continue
        # b is the checksum.
        if (total + b) & 0xFF != 0xFF:
            return i - start, None, SKIP_CHECKSUM
        return i - start, bytes(data), None
    return 0, None, None


def tx_explicit(frame_id, dest64, dest16, src_ep, dst_ep, cluster, profile, data,
                radius=0, options=0):
    """Frame data of an Explicit Addressing Command (0x11); dest64 is 8 bytes, MSB first."""
    return struct.pack(_TX_HEADER, TX_EXPLICIT, frame_id, dest64, dest16, src_ep, dst_ep,
                       cluster, profile, radius, options) + data


def parse_rx_explicit(frame_data):
    """(src64, src16, src_ep, dst_ep, cluster, profile, options, data) of a 0x91 frame."""
    if len(frame_data) < 1 + _RX_HEADER_LEN or frame_data[0] != RX_EXPLICIT:
        raise FrameError("rx explicit")
    f = struct.unpack(_RX_HEADER, frame_data[1:1 + _RX_HEADER_LEN])
    return f + (bytes(frame_data[1 + _RX_HEADER_LEN:]),)


def at_command(frame_id, command, parameter=b""):
    """Frame data of a local AT Command (0x08); command is two ASCII letters."""
    return bytes((AT_COMMAND, frame_id)) + command.encode() + parameter


def parse_at_response(frame_data):
    """(frame_id, command, status, data) of a 0x88 frame."""
    if len(frame_data) < 5 or frame_data[0] != AT_RESPONSE:
        raise FrameError("at response")
    return (frame_data[1], bytes(frame_data[2:4]).decode(), frame_data[4],
            bytes(frame_data[5:]))


def parse_tx_status(frame_data):
    """(frame_id, dest16, retries, delivery_status, discovery_status) of a 0x8B frame."""
    if len(frame_data) != 7 or frame_data[0] != TX_STATUS:
        raise FrameError("tx status")
    return struct.unpack(">BHBBB", frame_data[1:])


def parse_modem_status(frame_data):
    """The status byte of a 0x8A frame (0x00 reset, 0x02 joined, 0x03 left, ...)."""
    if len(frame_data) != 2 or frame_data[0] != MODEM_STATUS:
        raise FrameError("modem status")
    return frame_data[1]
