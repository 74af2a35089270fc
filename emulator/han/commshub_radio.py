"""The XBee 3 on a Comms Hub board, played by the emulator: the coordinator's radio.

`emulator/han/xbee_standin.py` plays the radio of a router/end device (a switch). A hub's
radio is the network's coordinator and trust centre instead, so it does three more things,
modelled here from the Digi XBee 3 Zigbee user guide:

- 0x24 Register Joining Device (EUI-64, install code) fills the trust centre's key table and is
  answered by 0xA4 Register Joining Device Status (0x00 success; 0xB2 invalid key for an
  install code of the wrong length); a registration with no key removes the entry.
- A device joins only if its EUI-64 is in that table: the radio then hands the board the
  device's ZDO Device_annce as a 0x91 Explicit Rx Indicator (with AO=3, ZDO passthrough).
  An unregistered joiner cannot get the network key, so nothing reaches the board. `join(...,
  bypass_trust_centre=True)` models a device that got on anyway (a stale radio table, a
  second coordinator's key): then the hub firmware's own device-log check must refuse it.
- Transmit requests (0x11) are recorded for the test and answered with 0x8B (success when
  the destination has joined, else 0x24 address not found).

It is synchronous and drives any object with `write_radio(bytes)` / `read_radio(timeout)`
(`emulator.virtual_board.VirtualBoard`), so the tests can step it between console commands.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Protocol

from emulator.han.xbee_standin import FrameDecoder, encode_frame

AT_COMMAND, AT_RESPONSE, TX_EXPLICIT, TX_STATUS = 0x08, 0x88, 0x11, 0x8B
REGISTER_JOINING, REGISTER_STATUS, RX_EXPLICIT = 0x24, 0xA4, 0x91
STATUS_INVALID_KEY = 0xB2
TX_ADDRESS_NOT_FOUND = 0x24
PROFILE_ZDO, PROFILE_SE = 0x0000, 0x0109
DEVICE_ANNCE, MGMT_LEAVE_REQ, MGMT_LEAVE_RSP = 0x0013, 0x0034, 0x8034


@dataclass
class SentFrame:
    """A 0x11 Explicit Addressing Command the board sent."""

    frame_id: int
    dest64: bytes
    dest16: int
    src_ep: int
    dst_ep: int
    cluster: int
    profile: int
    data: bytes


class RadioPort(Protocol):
    """The board's radio UART (`emulator.virtual_board.VirtualBoard` has it)."""

    def write_radio(self, data: bytes) -> None: ...

    def read_radio(self, timeout: float = 0.0) -> bytes: ...


@dataclass
class CoordinatorRadio:
    board: RadioPort
    eui64: bytes = bytes.fromhex("0013a20041a7b001")
    registered: dict[bytes, bytes] = field(default_factory=dict)  # EUI -> install code
    joined: dict[bytes, int] = field(default_factory=dict)  # EUI -> NWK address
    sent: list[SentFrame] = field(default_factory=list)
    at_commands: list[tuple[str, bytes]] = field(default_factory=list)
    refused_joins: list[bytes] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.decoder = FrameDecoder()

    # -- board -> radio ----------------------------------------------------------------------
    def pump(self, timeout: float = 0.2) -> list[SentFrame]:
        """Read and answer what the board sent; returns the new 0x11 frames."""
        new: list[SentFrame] = []
        data = self.board.read_radio(timeout)
        for frame in self.decoder.feed(data):
            kind = frame[0]
            if kind == AT_COMMAND:
                self._at(frame)
            elif kind == REGISTER_JOINING:
                self._register(frame)
            elif kind == TX_EXPLICIT:
                frame_id, dest64, dest16, src_ep, dst_ep, cluster, profile = struct.unpack_from(
                    ">B8sHBBHH", frame, 1
                )
                sent = SentFrame(frame_id, dest64, dest16, src_ep, dst_ep, cluster, profile,
                                 frame[20:])  # fmt: skip
                new.append(sent)
                status = (
                    0
                    if sent.dest64 in self.joined or sent.profile == PROFILE_ZDO
                    else (TX_ADDRESS_NOT_FOUND)
                )
                self._send(
                    struct.pack(">BBHBBB", TX_STATUS, sent.frame_id, sent.dest16, 0, status, 0)
                )
                if sent.profile == PROFILE_ZDO and sent.cluster == MGMT_LEAVE_REQ:
                    self._leave(sent)
        self.sent += new
        return new

    def _at(self, frame: bytes) -> None:
        frame_id, command, param = frame[1], frame[2:4].decode(), frame[4:]
        self.at_commands.append((command, param))
        answers = {"SH": self.eui64[:4], "SL": self.eui64[4:], "AI": b"\x00", "VR": b"\x10\x0b"}
        self._send(
            bytes([AT_RESPONSE, frame_id]) + command.encode() + b"\x00" + answers.get(command, b"")
        )

    def _register(self, frame: bytes) -> None:
        frame_id, eui, _reserved, _options = struct.unpack_from(">B8sHB", frame, 1)
        key = frame[13:]
        if not key:
            self.registered.pop(eui, None)
            status = 0
        elif len(key) in (8, 10, 14, 18):  # install code lengths with their CRC
            self.registered[eui] = key
            status = 0
        else:
            status = STATUS_INVALID_KEY
        self._send(bytes([REGISTER_STATUS, frame_id, status]))

    def _leave(self, sent: SentFrame) -> None:
        nwk = self.joined.pop(sent.dest64, None)
        if nwk is not None:  # the device obeys and answers before it goes
            tsn = sent.data[0] if sent.data else 0
            self.deliver(
                sent.dest64,
                nwk,
                MGMT_LEAVE_RSP,
                bytes([tsn, 0x00]),
                profile=PROFILE_ZDO,
                src_ep=0,
                dst_ep=0,
            )

    # -- radio -> board ----------------------------------------------------------------------
    def _send(self, frame_data: bytes) -> None:
        self.board.write_radio(encode_frame(frame_data))

    def deliver(
        self,
        src64: bytes,
        src16: int,
        cluster: int,
        data: bytes,
        profile: int = PROFILE_SE,
        src_ep: int = 1,
        dst_ep: int = 1,
        options: int = 0x01,
    ) -> None:
        self._send(
            bytes([RX_EXPLICIT])
            + src64
            + struct.pack(">HBBHHB", src16, src_ep, dst_ep, cluster, profile, options)
            + data
        )

    def join(self, eui: bytes, nwk: int, bypass_trust_centre: bool = False) -> bool:
        """A device tries to join; True if the radio let it on (and announced it)."""
        if eui not in self.registered and not bypass_trust_centre:
            self.refused_joins.append(eui)
            return False
        self.joined[eui] = nwk
        annce = bytes([0x00]) + struct.pack("<H", nwk) + eui[::-1] + b"\x8e"
        self.deliver(eui, nwk, DEVICE_ANNCE, annce, profile=PROFILE_ZDO, src_ep=0, dst_ep=0)
        return True
