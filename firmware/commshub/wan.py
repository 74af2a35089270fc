# The WAN link between the Comms Hub and the DSP (ours: GBCS defines no bytes for it).
#
# On a board this is the modem UART; on the virtual board a pty. One frame:
#   'G' 'W' | type u8 | seq u16 BE | length u16 BE | payload | CRC-32 u32 BE
# The CRC-32 (binascii.crc32, the zlib polynomial) covers type, seq, length and payload.
# There is no byte stuffing: the reader looks for the magic, checks the length and the CRC,
# and on any failure skips one byte and looks again, so it resynchronises after noise.
# docs/commshub.md has the frame types and their payloads; emulator/backoffice/commshub_wan.py is the
# same codec for the DSP side.
from micropython import const
import binascii
import struct

MAGIC0 = const(0x47)  # 'G'
MAGIC1 = const(0x57)  # 'W'
HEADER_LEN = const(7)
TRAILER_LEN = const(4)
MAX_PAYLOAD = const(600)  # an ECS80 alert is 152 bytes; larger GBCS goes by GBT segments

# Frame types. Down = DSP to hub, up = hub to DSP.
GBCS_DOWN = const(0x01)  # target EUI-64 (8) + GBCS message: tunnel it to that HAN device
GBCS_UP = const(0x02)  # source EUI-64 (8) + GBCS message a HAN device tunnelled to the hub
OUTAGE = const(0x10)  # hub EUI (8), outage start u32, sent-at u32, flags u8 (bit 0: late)
RESTORED = const(0x11)  # hub EUI (8), alert code u16, start u32, end u32, ECS80-shaped GBCS
DEVICE_EVENT = const(0x12)  # device EUI (8), event u8 (1 joined, 2 left, 3 refused)
HELLO = const(0x13)  # hub EUI (8), boot count u32: the hub (re)started
ACK = const(0x20)  # payload: status u8; seq = the seq of the frame it answers
LOG_ADD = const(0x30)  # device EUI (8) + install code (16, or 18 with its CRC)
LOG_REMOVE = const(0x31)  # device EUI (8)
TIME = const(0x40)  # ZigBee UTC seconds u32: set the hub's clock

# ACK statuses.
OK = const(0)
ERR_UNKNOWN_TYPE = const(1)
ERR_LAYOUT = const(2)
ERR_NOT_IN_LOG = const(3)
ERR_NOT_JOINED = const(4)
ERR_LOG_FULL = const(5)
ERR_TOO_LONG = const(6)

FLAG_LATE = const(0x01)  # the outage notification was sent after a restart, not during it

SKIP_NOISE = "noise"
SKIP_LENGTH = "bad-length"
SKIP_CRC = "bad-crc"


class WanError(ValueError):
    """A WAN payload that does not fit its frame type's layout."""


def encode(kind, seq, payload=b""):
    n = len(payload)
    if n > MAX_PAYLOAD:
        raise WanError("payload length")
    head = struct.pack(">BHH", kind, seq & 0xFFFF, n)
    crc = binascii.crc32(payload, binascii.crc32(head)) & 0xFFFFFFFF
    return bytes((MAGIC0, MAGIC1)) + head + payload + struct.pack(">I", crc)


def decode(buf, start=0, end=-1):
    """Find one frame in buf[start:end].

    Returns (used, frame, reason): used == 0 means "need more bytes"; frame is
    (kind, seq, payload) or None with the reason the `used` bytes were skipped.
    """
    if end < 0:
        end = len(buf)
    if start >= end:
        return 0, None, None
    if buf[start] != MAGIC0:
        i = start + 1
        while i < end and buf[i] != MAGIC0:
            i += 1
        return i - start, None, SKIP_NOISE
    if end - start < 2:
        return 0, None, None
    if buf[start + 1] != MAGIC1:
        return 1, None, SKIP_NOISE
    if end - start < HEADER_LEN:
        return 0, None, None
    kind, seq, n = struct.unpack_from(">BHH", buf, start + 2)
    if n > MAX_PAYLOAD:
        return 1, None, SKIP_LENGTH
    total = HEADER_LEN + n + TRAILER_LEN
    if end - start < total:
        return 0, None, None
    body = memoryview(buf)[start + 2:start + 7 + n]
    crc = struct.unpack_from(">I", buf, start + 7 + n)[0]
    if binascii.crc32(body) & 0xFFFFFFFF != crc:
        return 1, None, SKIP_CRC
    return total, (kind, seq, bytes(body[5:])), None


def outage(hub, start, sent_at, flags):
    return hub + struct.pack(">IIB", start, sent_at, flags)


def parse_outage(payload):
    if len(payload) != 17:
        raise WanError("outage")
    return (payload[:8],) + struct.unpack(">IIB", payload[8:])


def restored(hub, code, start, end, gbcs):
    return hub + struct.pack(">HII", code, start, end) + gbcs


def parse_restored(payload):
    if len(payload) < 18:
        raise WanError("restored")
    return (payload[:8],) + struct.unpack(">HII", payload[8:18]) + (bytes(payload[18:]),)
