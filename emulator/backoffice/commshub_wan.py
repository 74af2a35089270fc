"""The Comms Hub's WAN link, DSP side: the same framing as `firmware/commshub/wan.py`.

A frame is ``'G' 'W' | type u8 | seq u16 BE | length u16 BE | payload | CRC-32 u32 BE`` with
the CRC (zlib's) over type, seq, length and payload; no byte stuffing, so the reader
resynchronises by skipping one byte after any bad magic, length or CRC. Written from
docs/commshub.md, not from the firmware; the tests run both on the same bytes.

`power_outage_alert` turns the hub's outage notification into the DUIS `DCCAlertMessage`
(AD1) with its `PowerOutageEvent` body the DSP sends to the Electricity Distributor.
"""

from __future__ import annotations

import datetime as _dt
import struct
import zlib
from dataclasses import dataclass
from enum import IntEnum

from lxml import etree

from emulator.clock import ZIGBEE_EPOCH
from emulator.errors import EmulatorError

from .duis import SR, build_dcc_alert, eui_text

MAGIC = b"GW"
HEADER = struct.Struct(">2sBHH")
MAX_PAYLOAD = 600
POWER_OUTAGE_ALERT = "AD1"


class FrameType(IntEnum):
    GBCS_DOWN = 0x01
    GBCS_UP = 0x02
    OUTAGE = 0x10
    RESTORED = 0x11
    DEVICE_EVENT = 0x12
    HELLO = 0x13
    ACK = 0x20
    LOG_ADD = 0x30
    LOG_REMOVE = 0x31
    TIME = 0x40


class AckStatus(IntEnum):
    OK = 0
    UNKNOWN_TYPE = 1
    LAYOUT = 2
    NOT_IN_LOG = 3
    NOT_JOINED = 4
    LOG_FULL = 5
    TOO_LONG = 6


class DeviceEvent(IntEnum):
    JOINED = 1
    LEFT = 2
    REFUSED = 3


FLAG_LATE = 0x01


class WanError(EmulatorError, ValueError):
    """A WAN frame or payload that breaks the layout; `offset` is the byte in the payload."""

    def __init__(self, message: str, offset: int = 0):
        super().__init__(f"wan: {message} at payload byte {offset}")
        self.offset = offset


@dataclass(frozen=True)
class Frame:
    kind: int
    seq: int
    payload: bytes


def encode(kind: int, seq: int, payload: bytes = b"") -> bytes:
    if len(payload) > MAX_PAYLOAD:
        raise WanError(f"payload of {len(payload)} bytes exceeds {MAX_PAYLOAD}", MAX_PAYLOAD)
    head = struct.pack(">BHH", kind, seq & 0xFFFF, len(payload))
    return MAGIC + head + payload + struct.pack(">I", zlib.crc32(head + payload))


class Decoder:
    """Incremental reader: feed bytes, take whole frames; skipped bytes are counted by reason."""

    def __init__(self) -> None:
        self.buffer = bytearray()
        self.skipped: dict[str, int] = {}

    def _skip(self, reason: str, count: int) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + count
        del self.buffer[:count]

    def feed(self, data: bytes) -> list[Frame]:
        self.buffer += data
        frames = []
        while self.buffer:
            at = self.buffer.find(MAGIC)
            if at < 0:
                keep = 1 if self.buffer[-1:] == MAGIC[:1] else 0
                if len(self.buffer) - keep:
                    self._skip("noise", len(self.buffer) - keep)
                break
            if at:
                self._skip("noise", at)
                continue
            if len(self.buffer) < HEADER.size:
                break
            _, kind, seq, length = HEADER.unpack_from(self.buffer)
            if length > MAX_PAYLOAD:
                self._skip("bad-length", 1)
                continue
            total = HEADER.size + length + 4
            if len(self.buffer) < total:
                break
            body = bytes(self.buffer[2 : HEADER.size + length])
            (crc,) = struct.unpack_from(">I", self.buffer, HEADER.size + length)
            if zlib.crc32(body) != crc:
                self._skip("bad-crc", 1)
                continue
            frames.append(Frame(kind, seq, body[5:]))
            del self.buffer[:total]
        return frames


def decode_all(data: bytes) -> list[Frame]:
    return Decoder().feed(data)


# -- payloads -------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutageNotification:
    """The hub's own notification that the mains has been off for 3 minutes (-> AD1)."""

    hub: bytes
    start: int  # ZigBee UTC seconds (2000 epoch)
    sent_at: int
    late: bool  # sent after the hub restarted, not during the outage

    @property
    def start_time(self) -> _dt.datetime:
        return zigbee_time(self.start)


@dataclass(frozen=True)
class RestorationNotification:
    """The hub's own restoration alert: 8F35/8F36 with both times and ECS80-shaped GBCS."""

    hub: bytes
    code: int
    start: int
    end: int
    gbcs: bytes


def zigbee_time(seconds: int) -> _dt.datetime:
    return ZIGBEE_EPOCH + _dt.timedelta(seconds=seconds)


def _need(payload: bytes, size: int, what: str, exact: bool = True) -> None:
    if len(payload) < size or (exact and len(payload) != size):
        raise WanError(
            f"{what} payload of {len(payload)} bytes, expected {size}", min(len(payload), size)
        )


def parse_outage(payload: bytes) -> OutageNotification:
    _need(payload, 17, "outage")
    start, sent_at, flags = struct.unpack_from(">IIB", payload, 8)
    return OutageNotification(payload[:8], start, sent_at, bool(flags & FLAG_LATE))


def parse_restored(payload: bytes) -> RestorationNotification:
    _need(payload, 18, "restored", exact=False)
    code, start, end = struct.unpack_from(">HII", payload, 8)
    return RestorationNotification(payload[:8], code, start, end, payload[18:])


def outage_payload(hub: bytes, start: int, sent_at: int, late: bool = False) -> bytes:
    return hub + struct.pack(">IIB", start, sent_at, FLAG_LATE if late else 0)


def ack(seq: int, status: int = AckStatus.OK) -> bytes:
    return encode(FrameType.ACK, seq, bytes([status]))


def gbcs_down(seq: int, target: bytes, gbcs: bytes) -> bytes:
    return encode(FrameType.GBCS_DOWN, seq, target + gbcs)


def log_add(seq: int, device: bytes, install_code: bytes) -> bytes:
    return encode(FrameType.LOG_ADD, seq, device + install_code)


def log_remove(seq: int, device: bytes) -> bytes:
    return encode(FrameType.LOG_REMOVE, seq, device)


def set_time(seq: int, zigbee_seconds: int) -> bytes:
    return encode(FrameType.TIME, seq, struct.pack(">I", zigbee_seconds))


# -- the DSP's AD1 ---------------------------------------------------------------------------


def power_outage_event(notification: OutageNotification, mpxn: str):
    """The `PowerOutageEvent` DCCAlert body (CommsHubDeviceID, StartDateTime, MPxN)."""
    body = etree.Element(f"{{{SR}}}PowerOutageEvent", nsmap={"sr": SR})
    for name, text in (
        ("CommsHubDeviceID", eui_text(notification.hub)),
        ("StartDateTime", notification.start_time.strftime("%Y-%m-%dT%H:%M:%S.000Z")),
        ("MPxN", mpxn),
    ):
        etree.SubElement(body, f"{{{SR}}}{name}").text = text
    return body


def power_outage_alert(notification: OutageNotification, mpxn: str, when: _dt.datetime):
    """The unsigned DUIS `DCCAlertMessage` AD1 the DSP sends the Electricity Distributor."""
    return build_dcc_alert(
        alert_code=POWER_OUTAGE_ALERT,
        body=power_outage_event(notification, mpxn),
        when=when,
        request_id=None,
    )
