"""Independent CPython oracles for the firmware's wire formats, and frame builders.

The XBee framer here is written from the Digi user guide, not from the firmware: it splits a
stream at every unescaped 0x7E and takes at most one frame from the start of each piece.
zigpy-xbee cannot be the oracle for dirty streams (it does not resynchronise).
"""

from __future__ import annotations

import struct

START, ESCAPE = 0x7E, 0x7D
SPECIAL = {0x7E, 0x7D, 0x11, 0x13}
MAX_FRAME_DATA = 300
PROFILE_SE = 0x0109
RADIO_EUI = "0013a200417e1113"  # the XBee the tests play


def escape_frame(frame_data: bytes) -> bytes:
    raw = struct.pack(">H", len(frame_data)) + frame_data
    raw += bytes([0xFF - (sum(frame_data) & 0xFF)])
    out = bytearray([START])
    for b in raw:
        out += bytes([ESCAPE, b ^ 0x20]) if b in SPECIAL else bytes([b])
    return bytes(out)


def frames_in(stream: bytes) -> list[bytes]:
    """Every complete, well-formed frame in a stream, in order (the oracle)."""
    frames = []
    pieces = stream.split(bytes([START]))
    for index, piece in enumerate(pieces[1:], start=1):
        last = index == len(pieces) - 1
        raw = bytearray()
        i = 0
        ok = True
        while i < len(piece):
            b = piece[i]
            if b == ESCAPE:
                if i + 1 >= len(piece) or piece[i + 1] ^ 0x20 not in SPECIAL:
                    ok = False
                    break
                raw.append(piece[i + 1] ^ 0x20)
                i += 2
            else:
                raw.append(b)
                i += 1
            if len(raw) >= 2:
                length = (raw[0] << 8) | raw[1]
                if length == 0 or length > MAX_FRAME_DATA:
                    ok = False
                    break
                if len(raw) == length + 3:
                    break
        if not ok or len(raw) < 2:
            continue
        length = (raw[0] << 8) | raw[1]
        if len(raw) < length + 3:
            if last:
                continue  # incomplete at the end of the stream: more bytes would finish it
            continue
        data, checksum = bytes(raw[2 : 2 + length]), raw[2 + length]
        if (sum(data) + checksum) & 0xFF == 0xFF:
            frames.append(data)
    return frames


def rx_explicit(
    src64: str,
    zcl: bytes,
    cluster: int,
    src16: int = 0x0000,
    src_ep: int = 1,
    dst_ep: int = 1,
    profile: int = PROFILE_SE,
    options: int = 0x21,
) -> bytes:
    """Frame data of a 0x91 Explicit Rx Indicator, as the radio hands it to the board;
    by default acked and APS-encrypted (0x21), as the meter's commands arrive."""
    return (
        bytes([0x91])
        + bytes.fromhex(src64)
        + struct.pack(">HBBHHB", src16, src_ep, dst_ep, cluster, profile, options)
        + zcl
    )


def parse_tx_explicit(frame_data: bytes) -> dict:
    fields = struct.unpack(">BB8sHBBHHBB", frame_data[:20])
    keys = (
        "type",
        "frame_id",
        "dest64",
        "dest16",
        "src_ep",
        "dst_ep",
        "cluster",
        "profile",
        "radius",
        "options",
    )
    out = dict(zip(keys, fields, strict=True))
    out["dest64"] = out["dest64"].hex()
    out["data"] = frame_data[20:]
    return out


def zcl_frames(stream: bytes) -> list[dict]:
    """The 0x11 frames in what the firmware sent, parsed."""
    return [parse_tx_explicit(f) for f in frames_in(stream) if f[0] == 0x11]


class Meter:
    """The rig's side of a virtual board's radio: speaks as the commissioned ESME (or not)."""

    def __init__(self, board, eui64: str):
        self.board = board
        self.eui64 = eui64
        self.tsn = 0
        self.pending = b""
        self.backlog: list[dict] = []  # parsed, not yet handed out
        #: the radio's AT settings (set up for a GB HAN; AI=0: joined) and the commands seen
        self.radio = {"AP": 2, "AO": 1, "EE": 1, "EO": 2, "ZS": 2, "AI": 0}
        self.at_log: list[tuple[str, bytes]] = []

    def answer_at(self, frame: bytes) -> None:
        """Answer a local AT command (0x08) as a joined XBee 3 set up for a GB HAN does:
        reads from `self.radio`, sets stored there (the radio's side of the bring-up)."""
        frame_id, command, parameter = frame[1], frame[2:4].decode(), frame[4:]
        self.at_log.append((command, parameter))
        value = b""
        if command in self.radio and parameter:
            self.radio[command] = parameter[0]
        elif command in self.radio:
            value = bytes([self.radio[command]])
        elif command in ("SH", "SL"):
            value = (
                bytes.fromhex(RADIO_EUI)[:4] if command == "SH" else bytes.fromhex(RADIO_EUI)[4:]
            )
        elif command == "VR":
            value = b"\x10\x0a"
        self.board.write_radio(
            escape_frame(bytes([0x88, frame_id]) + command.encode() + b"\x00" + value)
        )

    def send(self, cluster: int, zcl: bytes, src64: str | None = None, **kw) -> None:
        self.board.write_radio(escape_frame(rx_explicit(src64 or self.eui64, zcl, cluster, **kw)))

    def next_tsn(self) -> int:
        self.tsn = (self.tsn + 1) & 0xFF
        return self.tsn

    def receive(self, count: int, timeout: float = 3.0) -> list[dict]:
        """The ZCL frames (0x11) the board has sent, once there are `count` (or on timeout)."""
        import time

        deadline = time.monotonic() + timeout
        frames, self.backlog = self.backlog, []
        while len(frames) < count:
            self.pending += self.board.read_radio(0.02)
            last = self.pending.rfind(bytes([START]))
            tail = self.pending[last:] if last >= 0 else b""
            if tail and not frames_in(tail):
                complete, self.pending = self.pending[:last], tail  # keep a partial frame
            else:
                complete, self.pending = self.pending, b""
            for frame in frames_in(complete):
                if frame[0] == 0x08 and len(frame) >= 4:
                    self.answer_at(frame)
                elif frame[0] == 0x11:
                    frames.append(parse_tx_explicit(frame))
            if time.monotonic() > deadline:
                break
        return frames

    def until(self, predicate, timeout: float = 5.0) -> list[dict]:
        """Every frame the board sends until one satisfies `predicate` (that one included)."""
        import time

        deadline = time.monotonic() + timeout
        frames: list[dict] = []
        while True:
            batch = self.receive(1, timeout=0.2)
            for i, frame in enumerate(batch):
                frames.append(frame)
                if predicate(frame):
                    self.backlog = batch[i + 1 :] + self.backlog  # for the next caller
                    return frames
            if time.monotonic() > deadline:
                raise AssertionError(f"no matching frame; got {frames}")

    def request(self, cluster: int, zcl: bytes, timeout: float = 5.0, **kw) -> list[dict]:
        """Send a ZCL frame from the meter; return what the board sends up to its answer
        (Default, Read or Write Attributes Response with the same TSN). The board queues
        reports and DRLC statuses before that answer, so they are in the list too."""
        tsn = zcl[3] if zcl[0] & 0x04 else zcl[1]
        self.send(cluster, zcl, **kw)
        return self.until(lambda f: is_response_to(f, tsn), timeout)


def zcl_parts(frame: dict) -> tuple[int, int, int, bytes]:
    """(frame control, tsn, command, payload) of a ZCL frame, manufacturer code skipped."""
    data = frame["data"]
    if data[0] & 0x04:
        return data[0], data[3], data[4], data[5:]
    return data[0], data[1], data[2], data[3:]


def is_response_to(frame: dict, tsn: int) -> bool:
    fc, frame_tsn, command, _ = zcl_parts(frame)
    return fc & 0x03 == 0 and frame_tsn == tsn and command in (0x01, 0x04, 0x0B)
