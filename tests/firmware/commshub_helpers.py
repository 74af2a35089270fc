"""The rig around a Comms Hub virtual board: its radio played by the emulator's coordinator
stand-in, its WAN link read with the DSP-side codec, and simulated time stepped from T0."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from fw_constants import FIRMWARE_HEAP, HERE, MICROPYTHON

from emulator import data
from emulator.backoffice import commshub_wan as wan
from emulator.han.commshub_radio import CoordinatorRadio
from emulator.virtual_board import VirtualBoard
from emulator.clock import ZIGBEE_EPOCH_UNIX

T0 = 1_800_000_000  # unix seconds: 2027-01-15 08:00 UTC
HUB_RADIO = bytes.fromhex("0013a20041a7b001")
METER = bytes.fromhex("00db1234567890a0")  # the RTDS ESME
METER_CODE = bytes.fromhex("83fed3407a939723a5c639b26916d505")  # a 16-byte install code
STRANGER = bytes.fromhex("00124b0001ffee01")
RTDS_KEYSTORE = data.rtds_keystore()
ECS80_FILE = data.rtds() / "NA_ECS80" / "ECS80_NA_8F36_ALERT_GBCS.HEX"


def zigbee(unix: int) -> int:
    return unix - ZIGBEE_EPOCH_UNIX


class Hub:
    """One hub board plus the rig's radio and DSP ends."""

    def __init__(self, state_dir: Path, boot_args: list[str] | None = None, **settings: int):
        extra = []
        for name, value in settings.items():
            extra += [f"--{name.replace('_', '-')}", str(value)]
        self.board = VirtualBoard("commshub", state_dir, heap=FIRMWARE_HEAP, extra=extra)
        self.radio = CoordinatorRadio(self.board, eui64=HUB_RADIO)
        self.decoder = wan.Decoder()
        self.frames: list[wan.Frame] = []  # every WAN frame the hub sent, in order
        self.now = T0
        self.boot(boot_args or ["--clock", str(T0)])

    def boot(self, boot_args: list[str]) -> None:
        self.board.power_on(boot_args=boot_args)
        self.radio.decoder = type(self.radio.decoder)()
        self.radio.pump(0.3)  # AT commands and registrations answered
        self.pump()

    def power_on_at(self, unix: int) -> None:
        """Power back at `unix`: the board boots with its clock already there."""
        self.now = unix
        self.boot(["--clock", str(unix)])

    def command(self, line: str) -> str:
        return self.board.command(line)

    def pump(self, timeout: float = 0.02) -> list[wan.Frame]:
        """New WAN frames from the hub (the radio is answered as well)."""
        self.radio.pump(0)
        new = self.decoder.feed(self.board.read_wan(timeout))
        self.frames += new
        return new

    def at(self, unix: int) -> list[wan.Frame]:
        """Set the hub's clock to `unix` (it ticks at once); the WAN frames it then sent."""
        self.now = unix
        reply = self.command(f"clock {unix}")
        assert reply == f"ok clock {unix}", reply
        return self.pump()

    def run_until(self, end: int, step: int = 1, ack: bool = True) -> list[wan.Frame]:
        """Step the clock second by second (or `step`) to `end`, acking notifications."""
        got = []
        t = self.now
        while t < end:
            t = min(end, t + step)
            for frame in self.at(t):
                got.append(frame)
                if ack and frame.kind in (wan.FrameType.OUTAGE, wan.FrameType.RESTORED):
                    self.ack(frame)
        for frame in self.pump(0.1):  # late bytes of the last step
            got.append(frame)
            if ack and frame.kind in (wan.FrameType.OUTAGE, wan.FrameType.RESTORED):
                self.ack(frame)
        return got

    def wait_wan(self, kind: int, timeout: float = 3.0) -> list[wan.Frame]:
        """Pump until the hub has sent a frame of `kind` (robust on a loaded machine)."""
        got: list[wan.Frame] = []
        deadline = time.monotonic() + timeout
        while not any(f.kind == kind for f in got):
            if time.monotonic() > deadline:
                raise AssertionError(f"no WAN frame of type {kind:#x}; got {got}")
            got += self.pump(0.05)
        return got

    def wait_radio(self, predicate, since: int, timeout: float = 3.0) -> list:
        """Pump the radio until a 0x11 frame after `since` (an index into radio.sent)
        matches `predicate`; returns the frames since then."""
        deadline = time.monotonic() + timeout
        while not any(predicate(f) for f in self.radio.sent[since:]):
            if time.monotonic() > deadline:
                raise AssertionError(f"no matching radio frame; got {self.radio.sent[since:]}")
            self.radio.pump(0.05)
        return self.radio.sent[since:]

    def expect(self, kind: int, since: int = 0) -> list[wan.Frame]:
        """The unique frames of `kind` in self.frames[since:], waiting (up to 3 s) for the
        first one if none has been read yet: a loaded machine may deliver it late."""
        if not of_kind(self.frames[since:], kind):
            try:
                self.wait_wan(kind)
            except AssertionError:
                return []
        return unique(of_kind(self.frames[since:], kind))

    def ack(self, frame: wan.Frame, status: int = wan.AckStatus.OK) -> None:
        self.board.write_wan(wan.ack(frame.seq, status))

    def send(self, data: bytes) -> list[wan.Frame]:
        """Write a WAN frame; the frames up to the hub's ACK."""
        self.board.write_wan(data)
        return self.wait_wan(wan.FrameType.ACK)

    def mains(self, on: bool) -> list[wan.Frame]:
        word = "on" if on else "off"
        assert self.command(f"mains {word}") == f"ok mains {word}"
        return self.pump()

    def listing(self, command: str) -> list[str]:
        self.board.send_console(command)
        lines = []
        while (line := self.board.read_console_line()) != "end":
            lines.append(line)
        return lines

    def counters(self, command: str = "outage") -> dict[str, str]:
        return dict(p.split("=", 1) for p in self.command(command).split()[1:])

    def close(self) -> None:
        self.board.close()


def of_kind(frames: list[wan.Frame], kind: int) -> list[wan.Frame]:
    return [f for f in frames if f.kind == kind]


def unique(frames: list[wan.Frame]) -> list[wan.Frame]:
    """One frame per seq (resends repeat the seq; the DSP keeps the first)."""
    seen: dict[int, wan.Frame] = {}
    for f in frames:
        seen.setdefault(f.seq, f)
    return list(seen.values())


class HubCodecPort:
    """The hub's codecs on the unix port (tests/firmware/port/commshub_driver.py)."""

    def __init__(self, tree: Path):
        self.proc = subprocess.Popen(
            [str(MICROPYTHON), "-X", "heapsize=1M", str(HERE / "port" / "commshub_driver.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=dict(os.environ, MICROPYPATH=f".frozen:{tree}"),
            text=True,
            bufsize=1,
            cwd=tree,
        )

    def call(self, name: str, *args):
        self.proc.stdin.write(json.dumps({"call": name, "args": [_js(a) for a in args]}) + "\n")
        self.proc.stdin.flush()
        reply = json.loads(self.proc.stdout.readline())
        if "error" in reply:
            raise RuntimeError(f"{reply['error']}: {reply['message']}")
        return _py(reply["ok"])

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def _js(value):
    if isinstance(value, bytes | bytearray):
        return "hex:" + bytes(value).hex()
    if isinstance(value, list | tuple):
        return [_js(v) for v in value]
    return value


def _py(value):
    if isinstance(value, str) and value.startswith("hex:"):
        return bytes.fromhex(value[4:])
    if isinstance(value, list):
        return [_py(v) for v in value]
    return value
