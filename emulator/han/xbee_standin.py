"""The XBee stand-in: the emulator plays a board's XBee 3 radio (API mode 2) on its radio UART.

From the board's side it is a joined XBee: it answers the local AT commands the firmware sends
at boot, turns 0x11 Explicit Addressing Commands into HAN frames (and reports each with a 0x8B
Transmit Status), hands HAN frames to the board as 0x91 Explicit Rx Indicators, announces the
join with a 0x8A Modem Status, and — as a real XBee does with AO bit 1 clear — answers ZDO
descriptor requests itself. From the HAN's side it is a node like any other (`HanNodeLink`).

Framing is our own (escaped API mode 2, resynchronising on every unescaped 0x7E); the tests
cross-check it against zigpy-xbee's encoder and decoder.

Its AT settings (`settings`: AP, AO, EE, EO, ZS, BD, D6, D7) start as a radio already set up
for a GB HAN, or as given (`XBeeStandIn(..., settings={"AP": 0, "BD": 3})` is a factory-fresh
XBee 3: transparent mode at 9600 baud), and it answers as Digi documents: API-mode 0x08 frames
read or set (and apply) a setting, ``WR`` saves (counted in ``stats["nv_writes"]``: a radio's
flash wears too); in transparent mode (AP=0) API frames are radio payload, not commands, and
only ``+++`` with a guard time (GT, 1 s) of silence before and after enters command mode,
answered ``OK\r``, where ``ATxx\r`` reads (hex), ``ATxx v\r`` sets, ``WR`` saves and ``CN``
leaves (applying AP and BD), or CT (10 s) without a command. When it can read the line's speed
(`line_baud`; `attach_fd` reads the pty's termios speed, which the unix board sets) it hears
and answers only at its BD rate. ``silent=True`` is a radio that never answers (unwired,
unpowered).

On a simulated clock the board is a real process working in real time: each ZCL request handed
to it takes a ``clock.hold`` (simulated time stands still) that its answer — the board's 0x11
with the same cluster and TSN, opposite direction — releases; ``answer_guard_s`` real seconds
bound the wait for a board that never answers (counted as ``answer_hold_expired``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import struct
import termios
import time
from collections.abc import Callable

import zigpy.types as t
import zigpy.zdo.types as zdo_t

from emulator.clock import Hold

from . import zcl, zdo
from .link import GLOBAL_RESPONSES, HanNodeLink, is_response, make_node_descriptor
from .medium import PROFILE_ZDO, DeliveryStatus, Medium, packet_to, source_nwk

LOGGER = logging.getLogger(__name__)

START = 0x7E
ESCAPE = 0x7D
XON = 0x11
XOFF = 0x13
_ESCAPED = {START, ESCAPE, XON, XOFF}
MAX_FRAME_DATA = 300

FRAME_AT = 0x08
FRAME_TX_EXPLICIT = 0x11
FRAME_AT_RESPONSE = 0x88
FRAME_MODEM_STATUS = 0x8A
FRAME_TX_STATUS = 0x8B
FRAME_RX_EXPLICIT = 0x91

#: A radio set up for a GB HAN switch: API mode 2, explicit Rx, encryption with a centralised
#: trust centre (EE=1, EO bit 1), ZigBee PRO stack profile, 115200 baud, CTS flow (D7=1, the
#: XBee 3 default). Digi's factory defaults differ: AP=0, AO=0, EE=0, EO=0, ZS=0, BD=3 (9600).
GB_SETTINGS = {"AP": 2, "AO": 1, "EE": 1, "EO": 2, "ZS": 2, "BD": 7, "D6": 0, "D7": 1}
#: the largest value each setting takes (Digi's parameter ranges)
SETTING_MAX = {"AP": 2, "AO": 3, "EE": 1, "EO": 0xFF, "ZS": 2, "BD": 8, "D6": 1, "D7": 7}
BD_RATES = {3: 9600, 4: 19200, 5: 38400, 6: 57600, 7: 115200, 8: 230400}
GUARD_TIME_S = 1.0  # GT default 0x3E8 ms
COMMAND_TIMEOUT_S = 10.0  # CT default 0x64 x 100 ms
_TERMIOS_RATES = {
    getattr(termios, f"B{rate}"): rate for rate in BD_RATES.values() if hasattr(termios, f"B{rate}")
}

AT_OK = 0x00
AT_ERROR = 0x01
AT_INVALID_COMMAND = 0x02
AT_INVALID_PARAMETER = 0x03

MODEM_JOINED = 0x02
MODEM_DISASSOCIATED = 0x03

TX_OPTION_APS_ENCRYPTION = 0x20
RX_OPTION_ACKNOWLEDGED = 0x01
RX_OPTION_BROADCAST = 0x02
RX_OPTION_APS_ENCRYPTED = 0x20

BROADCAST_IEEE = 0x000000000000FFFF
UNKNOWN_NWK = 0xFFFE

#: Transmit Status delivery codes (Digi XBee 3 Zigbee manual).
TX_STATUS = {
    DeliveryStatus.SUCCESS: 0x00,
    DeliveryStatus.NO_ACK: 0x21,  # network ACK failure
    DeliveryStatus.NOT_JOINED: 0x22,
    DeliveryStatus.NO_ROUTE: 0x25,
    DeliveryStatus.NO_LINK_KEY: 0xBB,  # key not authorised
}
TX_STATUS_ADDRESS_NOT_FOUND = 0x24
#: Real seconds a simulated clock waits for the board's answer to one request (it takes
#: about a millisecond; the guard only matters for a board that never answers). A loaded
#: host can keep a board off the CPU for over a second (CI: two test workers, each with
#: boards): at 1 s a run once took a live board's late answer for silence.
ANSWER_GUARD_S = 5.0


def encode_frame(frame_data: bytes) -> bytes:
    """Frame data -> 0x7E, escaped length, data and checksum."""
    if not 0 < len(frame_data) <= 0xFFFF:
        raise ValueError("XBee frame data must be 1..65535 bytes")
    checksum = 0xFF - (sum(frame_data) & 0xFF)
    body = len(frame_data).to_bytes(2, "big") + frame_data + bytes([checksum])
    out = bytearray([START])
    for byte in body:
        if byte in _ESCAPED:
            out += bytes([ESCAPE, byte ^ 0x20])
        else:
            out.append(byte)
    return bytes(out)


def pty_baud(fd: int) -> int | None:
    """The speed a pty's termios holds (shared by both ends: the unix board sets it)."""
    try:
        return _TERMIOS_RATES.get(termios.tcgetattr(fd)[5])
    except (termios.error, OSError):
        return None


class FrameDecoder:
    """Byte-stream to frame data; every bad run (noise, bad escape, length, checksum) counted."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._in_frame = False
        self._escape_next = False
        self.rejected = 0

    def _drop(self, why: str) -> None:
        self.rejected += 1
        LOGGER.info("XBee stand-in dropped input: %s", why)
        self._buffer.clear()
        self._in_frame = False
        self._escape_next = False

    def feed(self, data: bytes) -> list[bytes]:
        frames: list[bytes] = []
        noise = False
        for byte in data:
            if byte == START:
                if noise:
                    self._drop("bytes before a start delimiter")
                    noise = False
                elif self._in_frame and self._buffer:
                    self._drop("truncated frame")
                self._buffer.clear()
                self._in_frame = True
                self._escape_next = False
                continue
            if not self._in_frame:
                noise = True
                continue
            if self._escape_next:
                byte ^= 0x20
                self._escape_next = False
            elif byte == ESCAPE:
                self._escape_next = True
                continue
            elif byte in (XON, XOFF):
                self._drop("unescaped flow-control byte")
                continue
            self._buffer.append(byte)
            if len(self._buffer) >= 2:
                length = int.from_bytes(self._buffer[:2], "big")
                if length == 0 or length > MAX_FRAME_DATA:
                    self._drop(f"frame length {length}")
                    continue
                if len(self._buffer) == length + 3:
                    frame = bytes(self._buffer[2:-1])
                    if (sum(frame) + self._buffer[-1]) & 0xFF != 0xFF:
                        self._drop("bad checksum")
                        continue
                    frames.append(frame)
                    self._buffer.clear()
                    self._in_frame = False
        if noise:
            self._drop("bytes before a start delimiter")
        return frames


class XBeeStandIn(HanNodeLink):
    """One board's radio. ``write`` sends bytes to the board (its radio UART, e.g. a pty)."""

    def __init__(
        self,
        ieee: t.EUI64 | str,
        link_key: bytes,
        medium: Medium,
        endpoints: list[zdo_t.SimpleDescriptor],
        *,
        write: Callable[[bytes], None] | None = None,
        node_descriptor: zdo_t.NodeDescriptor | None = None,
        firmware_version: int = 0x100A,
        settings: dict[str, int] | None = None,
        silent: bool = False,
    ) -> None:
        super().__init__(ieee, link_key, medium)
        self.endpoints: dict[int, zdo_t.SimpleDescriptor] = {d.endpoint: d for d in endpoints}
        self.zdo = zdo.ZdoResponder(node_descriptor or make_node_descriptor(), self.endpoints)
        self._write = write
        self._decoder = FrameDecoder()
        self._tsn = 0
        self.firmware_version = firmware_version
        #: AT settings in force; `saved` is what WR last wrote (what a power cycle restores)
        self.settings = dict(GB_SETTINGS, **(settings or {}))
        self.saved = dict(self.settings)
        self.silent = silent
        #: the line's speed in baud now (None: unknown, every byte is heard)
        self.line_baud: Callable[[], int | None] | None = None
        self._command_mode = False
        self._command_buf = b""
        self._command_since = 0.0  # host monotonic seconds of the last command-mode line
        self._pending: dict[str, int] = {}  # AP/BD set in command mode, applied on CN/AC
        self._last_rx = -GUARD_TIME_S  # host monotonic seconds of the last byte heard
        self._plus = 0  # '+' characters since a guard time of silence
        self._tasks: set[asyncio.Task] = set()
        #: called just before a frame goes to the board (BoardSwitch sets the firmware clock)
        self.before_deliver: Callable[[], None] | None = None
        self.answer_guard_s = ANSWER_GUARD_S
        self._holds: dict[tuple[int, int], tuple[Hold, bool]] = {}

    @property
    def api_options(self) -> int:
        """AO, as last set by the board."""
        return self.settings["AO"]

    @property
    def api_mode(self) -> int:
        return self.settings["AP"]

    def power_cycle(self) -> None:
        """The radio loses power: what WR saved is in force again, command mode is over."""
        self.settings = dict(self.saved)
        self._command_mode = False

    def _hears_line(self) -> bool:
        """True unless the line runs at a speed other than BD (then bytes are garbage)."""
        if self.line_baud is None:
            return True
        baud = self.line_baud()
        return baud is None or baud == BD_RATES.get(self.settings["BD"])

    # -- to the board ---------------------------------------------------------------------------

    def attach(self, write: Callable[[bytes], None]) -> None:
        self._write = write

    def _send_to_board(self, frame_data: bytes) -> None:
        if self._write is None:
            self.stats["to_board_dropped_unattached"] += 1
            return
        if self.silent or self.settings["AP"] == 0 or self._command_mode:
            self.stats["to_board_dropped_not_api"] += 1  # no API frames out of this radio
            return
        if not self._hears_line():
            self.stats["to_board_dropped_wrong_baud"] += 1
            return
        self._write(encode_frame(frame_data))
        self.stats["to_board_frames"] += 1

    def _send_text(self, text: bytes) -> None:
        """A command-mode answer (``OK\\r``, a value in hex)."""
        if self._write is not None and self._hears_line():
            self._write(text)

    def next_tsn(self) -> int:
        self._tsn = (self._tsn + 1) & 0xFF
        return self._tsn

    async def announce(self) -> None:
        await super().announce()
        self._send_to_board(bytes([FRAME_MODEM_STATUS, MODEM_JOINED]))

    def deliver(self, packet: t.ZigbeePacket) -> None:
        data = bytes(packet.data.serialize())
        if packet.profile_id == PROFILE_ZDO and not self.api_options & 0x02:
            self._answer_zdo(packet, data)
            return
        src_nwk = source_nwk(packet)
        sender = self.medium.node_by_nwk(src_nwk)
        src_ieee = (
            int.from_bytes(sender.ieee.serialize(), "little") if sender else 0xFFFFFFFFFFFFFFFF
        )
        options = 0
        if packet.dst is not None and packet.dst.addr_mode == t.AddrMode.Broadcast:
            options |= RX_OPTION_BROADCAST
        else:
            options |= RX_OPTION_ACKNOWLEDGED
        if t.TransmitOptions.APS_Encryption in t.TransmitOptions(packet.tx_options):
            options |= RX_OPTION_APS_ENCRYPTED
        frame = (
            bytes([FRAME_RX_EXPLICIT])
            + struct.pack(
                ">QHBBHHB",
                src_ieee,
                src_nwk,
                packet.src_ep,
                packet.dst_ep,
                packet.cluster_id,
                packet.profile_id,
                options,
            )
            + data
        )
        if self.before_deliver is not None:
            self.before_deliver()
        if options & RX_OPTION_ACKNOWLEDGED and self._write is not None:
            self._hold_for_answer(packet.cluster_id, packet.profile_id, data)
        self._send_to_board(frame)

    def _hold_for_answer(self, cluster: int, profile: int, data: bytes) -> None:
        """A ZCL request to the board: keep simulated time still until the board answers."""
        if profile == PROFILE_ZDO:
            return
        try:
            header = zcl.peek_header(data)
        except zcl.ZclDecodeError:
            return  # the board will reject it (counted there); nothing to wait for
        if not header.cluster_specific and header.command_id in GLOBAL_RESPONSES:
            return  # a response to the board's own request: it will not answer it
        key = (cluster, header.tsn)
        old = self._holds.pop(key, None)
        if old is not None:
            old[0].release()
        hold = self.medium.clock.hold(
            self.answer_guard_s,
            f"{self.ieee} cluster 0x{cluster:04X} tsn {header.tsn}",
            self._hold_expired,
        )
        self._holds[key] = (hold, header.from_server)
        self.stats["answer_holds"] += 1

    def _hold_expired(self, hold: Hold) -> None:
        self.stats["answer_hold_expired"] += 1
        for key, (held, _direction) in list(self._holds.items()):
            if held is hold:
                del self._holds[key]

    def _answered(self, cluster: int, profile: int, data: bytes) -> None:
        """The board sent a ZCL frame: if it answers a held request, time may move again."""
        if profile == PROFILE_ZDO or not self._holds:
            return
        try:
            header = zcl.peek_header(data)
        except zcl.ZclDecodeError:
            return
        entry = self._holds.get((cluster, header.tsn))
        if entry is not None and entry[1] != header.from_server and is_response(header, cluster):
            del self._holds[(cluster, header.tsn)]
            entry[0].release()

    def release_holds(self) -> None:
        """The board is gone (EOF, closed): nothing it owes will come."""
        for hold, _direction in self._holds.values():
            hold.release()
        self._holds.clear()

    def _answer_zdo(self, packet: t.ZigbeePacket, data: bytes) -> None:
        if self.nwk is None:
            self.stats["rx_rejected_not_joined"] += 1
            return
        try:
            answer = self.zdo.answer(int(self.nwk), packet.cluster_id, data)
        except (ValueError, KeyError):
            self.stats["rx_rejected_malformed_zdo"] += 1
            return
        if answer is None:
            return
        cluster, frame = answer
        self._spawn(
            self.send(
                packet_to(source_nwk(packet), 0, cluster, frame, src_ep=0, profile_id=PROFILE_ZDO)
            )
        )

    # -- from the board -------------------------------------------------------------------------

    def feed(self, data: bytes) -> None:
        """Bytes the board wrote to its radio UART."""
        if self.silent:
            self.stats["from_board_unheard"] += len(data)
            return
        if not self._hears_line():
            self.stats["from_board_wrong_baud"] += len(data)
            self._last_rx = time.monotonic()  # noise on the line breaks a guard time too
            self._plus = 0
            return
        if self.settings["AP"] == 0 or self._command_mode:
            self._feed_transparent(data)
            return
        before = self._decoder.rejected
        for frame in self._decoder.feed(data):
            self._handle_frame(frame)
        self.stats["from_board_rejected"] += self._decoder.rejected - before

    def _feed_transparent(self, data: bytes) -> None:
        """AP=0: bytes are radio payload, except ``+++`` between guard times; in command
        mode, ``AT`` lines ended by a carriage return."""
        now = time.monotonic()
        quiet = now - self._last_rx >= GUARD_TIME_S
        self._last_rx = now
        if self._command_mode and quiet and now - self._command_since >= COMMAND_TIMEOUT_S:
            self._leave_command_mode()  # CT passed without a command
        if self._command_mode:
            self._command_buf += data
            while b"\r" in self._command_buf:
                line, self._command_buf = self._command_buf.split(b"\r", 1)
                self._command_since = now
                self._command_line(line.decode(errors="replace").strip().upper())
            return
        for index, byte in enumerate(data):
            if byte == ord("+") and (self._plus or (index == 0 and quiet)) and self._plus < 3:
                self._plus += 1
            else:
                self._plus = 0
                self.stats["transparent_bytes"] += 1  # sent over the air as payload
        if self._plus == 3:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return
            loop.call_later(GUARD_TIME_S, self._guard_after, now)

    def _guard_after(self, plus_at: float) -> None:
        if self._plus == 3 and self._last_rx == plus_at and not self._command_mode:
            self._plus = 0
            self._command_mode = True
            self._command_since = time.monotonic()
            self._command_buf = b""
            self.stats["command_mode_entered"] += 1
            self._send_text(b"OK\r")

    def _leave_command_mode(self) -> None:
        self._command_mode = False
        self._command_buf = b""
        self._pending.clear()  # CT ran out: what was not applied is forgotten

    def _command_line(self, line: str) -> None:
        """One command-mode line: ATxx (read, hex), ATxx v (set), WR, AC, CN."""
        if line == "AT":
            self._send_text(b"OK\r")
            return
        name, arg = line[2:4], line[4:].strip()
        if not line.startswith("AT") or len(name) != 2:
            self._send_text(b"ERROR\r")
            return
        if name in ("WR", "AC", "CN") and not arg:
            self._send_text(b"OK\r")
            if name == "WR":
                self._write_nv()
            else:
                self.settings.update(self._pending)
                self._pending.clear()
            if name == "CN":
                self._leave_command_mode()
            return
        if name not in self.settings:
            self._send_text(b"ERROR\r")
            return
        if not arg:
            value = self._pending.get(name, self.settings[name])
            self._send_text(f"{value:X}\r".encode())
            return
        try:
            value = int(arg, 16)
        except ValueError:
            value = -1
        if not 0 <= value <= SETTING_MAX[name]:
            self._send_text(b"ERROR\r")
            return
        if name in ("AP", "BD"):
            self._pending[name] = value  # the mode and speed change on CN or AC
        else:
            self.settings[name] = value
        self.stats["at_sets"] += 1
        self._send_text(b"OK\r")

    def _write_nv(self) -> None:
        self.saved = dict(self.settings, **self._pending)
        self.stats["nv_writes"] += 1

    def _handle_frame(self, frame: bytes) -> None:
        kind = frame[0]
        if kind == FRAME_AT and len(frame) >= 4:
            self._handle_at(frame[1], frame[2:4], frame[4:])
        elif kind == FRAME_TX_EXPLICIT and len(frame) >= 20:
            cluster, profile = struct.unpack_from(">HH", frame, 14)
            self._answered(cluster, profile, frame[20:])
            self._spawn(self._handle_tx(frame))
        else:
            self.stats["from_board_rejected"] += 1
            LOGGER.info("%s: unsupported or short frame from the board: %s", self.ieee, frame.hex())

    def _handle_at(self, frame_id: int, command: bytes, parameter: bytes) -> None:
        self.stats["at_commands"] += 1
        ieee = int.from_bytes(self.ieee.serialize(), "little")
        status, value = AT_OK, b""
        name = command.decode(errors="replace")
        applied: tuple[str, int] | None = None
        if name in self.settings:
            if not parameter:
                value = bytes([self.settings[name]])
            elif len(parameter) != 1 or parameter[0] > SETTING_MAX[name]:
                status = AT_INVALID_PARAMETER
            elif name in ("AP", "BD"):
                applied = (name, parameter[0])  # after the answer, in the old mode and speed
                self.stats["at_sets"] += 1
            else:
                self.settings[name] = parameter[0]
                self.stats["at_sets"] += 1
        elif command == b"WR":
            self._write_nv()
        elif command == b"AC":
            pass
        elif command == b"SH":
            value = (ieee >> 32).to_bytes(4, "big")
        elif command == b"SL":
            value = (ieee & 0xFFFFFFFF).to_bytes(4, "big")
        elif command == b"MY":
            nwk = int(self.nwk) if self.joined and self.nwk is not None else UNKNOWN_NWK
            value = nwk.to_bytes(2, "big")
        elif command == b"AI":
            value = bytes([0x00 if self.joined else 0xFF])
        elif command == b"VR":
            value = self.firmware_version.to_bytes(2, "big")
        else:
            status = AT_INVALID_COMMAND
            self.stats["at_unsupported"] += 1
        if frame_id:
            self._send_to_board(
                bytes([FRAME_AT_RESPONSE, frame_id]) + command + bytes([status]) + value
            )
        if applied is not None:
            self.settings[applied[0]] = applied[1]

    async def _handle_tx(self, frame: bytes) -> None:
        frame_id = frame[1]
        dst_ieee, dst_nwk, src_ep, dst_ep, cluster, profile, _radius, options = struct.unpack_from(
            ">QHBBHHBB", frame, 2
        )
        data = frame[20:]
        self.stats["tx_requests"] += 1
        if dst_ieee == BROADCAST_IEEE:
            target_nwk = dst_nwk if dst_nwk >= 0xFFF8 else 0xFFFF
        else:
            by_nwk = self.medium.node_by_nwk(dst_nwk) if dst_nwk != UNKNOWN_NWK else None
            eui = t.EUI64(dst_ieee.to_bytes(8, "little"))
            if by_nwk is not None and by_nwk.ieee == eui:
                target_nwk = dst_nwk
            else:
                target = self.medium.find(eui)
                if target is None or target.nwk is None:
                    self._tx_status(frame_id, UNKNOWN_NWK, TX_STATUS_ADDRESS_NOT_FOUND)
                    return
                target_nwk = int(target.nwk)
        status = await self.send(
            packet_to(
                target_nwk,
                dst_ep,
                cluster,
                data,
                src_ep=src_ep,
                profile_id=profile,
                ack=target_nwk < 0xFFF8,
                aps_encryption=bool(options & TX_OPTION_APS_ENCRYPTION),
            )
        )
        self._tx_status(frame_id, target_nwk, TX_STATUS[status])

    def _tx_status(self, frame_id: int, nwk_addr: int, delivery: int) -> None:
        if delivery:
            self.stats["tx_failed"] += 1
        if frame_id:
            self._send_to_board(
                bytes([FRAME_TX_STATUS, frame_id])
                + nwk_addr.to_bytes(2, "big")
                + bytes([0, delivery, 0])
            )

    # -- plumbing -------------------------------------------------------------------------------

    def _spawn(self, coro) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.stats["task_errors"] += 1
            LOGGER.error("%s: radio task failed", self.ieee, exc_info=task.exception())

    def attach_fd(self, fd: int, loop: asyncio.AbstractEventLoop | None = None) -> None:
        """Serve a board on a file descriptor (the master side of its radio pty)."""
        loop = loop or asyncio.get_running_loop()
        os.set_blocking(fd, False)
        self.line_baud = lambda: pty_baud(fd)

        def readable() -> None:
            try:
                chunk = os.read(fd, 4096)
            except BlockingIOError:
                return
            except OSError:
                chunk = b""
            if not chunk:
                loop.remove_reader(fd)
                self.stats["board_disconnected"] += 1
                self.release_holds()
                return
            self.feed(chunk)

        def write(data: bytes) -> None:
            try:
                os.write(fd, data)
            except OSError:
                self.stats["to_board_write_errors"] += 1

        self.attach(write)
        loop.add_reader(fd, readable)
