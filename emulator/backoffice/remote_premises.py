"""Households run by another process (premises_host.py), seen by the DSP as `PremisesPort`s.

The DSP and the premises are different systems (the WAN is between them); running the
emulated households in a process of their own lets their device models use a second core
while the DSP's own process checks, journals, signs and delivers. The two processes talk
over the host's stdin/stdout: frames of a 4-byte big-endian length and a JSON object.

    DSP -> host   {"id": 7, "household": 3, "command": "<hex>"}
                  {"clock": {"utc": "<ISO 8601>", "epoch": 1.7e9, "speed": 600}}   (keep the
                   DSP's time: it read utc at unix time epoch, and runs at speed from now on)
                  {"id": 8, "household": 3, "firmware": "<image hex>", "devices": ["<EUI
                   hex>", ...]}   (11.1 / 11.4: an image for those devices)
                  {"watch": true}    (report the households' state from now on)
    host -> DSP   {"hello": [{"household": 3, "devices": {"<EUI hex>": "esme", ...}}, ...]}
                  {"id": 7, "execution": {"use_case", "outcome", "response", "alerts",
                                          "latency_s", "switch": {"<slot>": {"relay",
                                          "level"}}}}
                  {"id": 8, "distributed": {"<EUI hex>": "verified", ...}}   (how each took it)
                  {"alert": "<hex>", "household": 3}   (a device's unsolicited alert)
                  {"state": {...}, "household": 3}     (its devices' view, when it changed:
                                                        premises_host.view)

The host leaves when its stdin closes, so a DSP killed with SIGKILL takes it along. A host
that dies answers every command still out, and every later one, with no execution (the
DSP answers E21, as for a WAN loss).
"""

from __future__ import annotations

import asyncio
import json
import logging
import struct
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from emulator.clock import Clock, loop_seconds
from emulator.errors import EmulatorError

log = logging.getLogger(__name__)

_LENGTH = struct.Struct(">I")
MAX_FRAME = 16 << 20


class HostError(EmulatorError, RuntimeError):
    """The premises host could not be started or broke its protocol."""


def frame(message: dict) -> bytes:
    data = json.dumps(message, separators=(",", ":")).encode()
    return _LENGTH.pack(len(data)) + data


async def read_frame(reader: asyncio.StreamReader) -> dict | None:
    """The next frame; None at the end of the stream."""
    try:
        head = await reader.readexactly(_LENGTH.size)
    except asyncio.IncompleteReadError:
        return None
    (size,) = _LENGTH.unpack(head)
    if size > MAX_FRAME:
        raise HostError(f"a frame of {size} bytes is over the {MAX_FRAME} limit")
    try:
        message = json.loads(await reader.readexactly(size))
    except asyncio.IncompleteReadError:
        return None
    if not isinstance(message, dict):
        raise HostError("a frame is a JSON object")
    return message


@dataclass
class RemoteExecution:
    """What the host reported for one command (routing.ExecutionLike)."""

    use_case: str
    outcome: str
    response: bytes | None
    alerts: list[bytes] = field(default_factory=list)
    switch: dict = field(default_factory=dict)
    latency_s: float = 0.0

    @classmethod
    def from_json(cls, data: dict) -> RemoteExecution:
        response = data.get("response")
        return cls(
            str(data["use_case"]),
            str(data["outcome"]),
            None if response is None else bytes.fromhex(response),
            [bytes.fromhex(a) for a in data.get("alerts", [])],
            {int(slot): dict(state) for slot, state in (data.get("switch") or {}).items()},
            float(data.get("latency_s", 0.0)),
        )


class HostedPremises:
    """One household of a host: a `PremisesPort` for the DSP's router."""

    def __init__(self, host: PremisesHost, number: int, devices: dict[str, str]) -> None:
        self.host, self.number, self._devices = host, number, devices
        self._alert_sinks: list[Callable[[bytes], None]] = []
        #: what the host last reported of its devices (premises_host.view), None until then
        self.view: dict | None = None
        self._view_sinks: list[Callable[[HostedPremises], None]] = []

    @property
    def device_ids(self) -> dict[str, str]:
        return dict(self._devices)

    async def execute(self, command: bytes) -> RemoteExecution | None:
        execution = await self.host.execute(self.number, command)
        if execution is not None and execution.switch and self.view is not None:
            # the switches as the command left them, before the host's next report
            for shown in self.view.get("switches", []):
                after = execution.switch.get(shown.get("slot"))
                if after is not None:
                    shown.update({k: after[k] for k in ("relay", "level") if k in after})
            self._viewed()
        return execution

    async def distribute_firmware(self, image: bytes, devices: Iterable[bytes]) -> dict[bytes, str]:
        """routing.FirmwareReceiver: the image to the household's devices in the host; a
        host that is gone reports each device "lost"."""
        devices = [bytes(d) for d in devices]
        outcomes = await self.host.distribute(self.number, image, devices)
        return {d: "lost" for d in devices} if outcomes is None else outcomes

    def on_view(self, callback: Callable[[HostedPremises], None]) -> None:
        """`callback(self)` whenever `view` changes (the host reports only once asked)."""
        self._view_sinks.append(callback)
        self.host.watch()

    def _reported(self, view: dict) -> None:
        self.view = view
        self._viewed()

    def _viewed(self) -> None:
        for sink in self._view_sinks:
            sink(self)

    def on_alert(self, callback: Callable[[bytes], None]) -> None:
        self._alert_sinks.append(callback)

    def _alert(self, raw: bytes) -> None:
        for sink in self._alert_sinks:
            sink(raw)


class PremisesHost:
    """A premises_host process and the households it runs."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.households: dict[int, HostedPremises] = {}
        self._pending: dict[int, asyncio.Future] = {}
        self._next_id = 0
        self._reader: asyncio.Task | None = None
        self._closed = False
        self._watched = False

    def watch(self) -> None:
        """Ask the host to report its households' state as it changes (once; a host nobody
        watches spends nothing on it)."""
        if self._watched or self._closed or self.process.stdin is None:
            return
        self._watched = True
        try:
            self.process.stdin.write(frame({"watch": True}))
        except (ConnectionError, RuntimeError) as exc:
            log.warning("premises host unreachable: %s", exc)

    def pace(self, clock: Clock) -> None:
        """Tell the host the DSP clock's new pace (its anchor and speed) to keep to."""
        if self._closed or self.process.stdin is None:
            return
        utc, epoch = clock.anchor()
        message = {"clock": {"utc": utc.isoformat(), "epoch": epoch, "speed": clock.speed}}
        try:
            self.process.stdin.write(frame(message))
        except (ConnectionError, RuntimeError) as exc:
            log.warning("premises host unreachable: %s", exc)

    @classmethod
    async def start(
        cls,
        state_dir: Path,
        numbers: Iterable[int],
        *,
        gbcs_date: str,
        han_latency_s: float | None = None,
        boost_switch: bool = False,
        clock: Clock | None = None,
    ) -> PremisesHost:
        """Start a host running generated households `numbers` with the device identities
        of `state_dir` (issue them first: the host only reads the repository). Given the
        DSP's `clock`, the host's devices keep its time and speed."""
        numbers = list(numbers)
        command = [sys.executable, "-m", "emulator.backoffice.premises_host",
                   "--state-dir", str(state_dir), "--gbcs-date", gbcs_date,
                   "--households", ",".join(str(n) for n in numbers)]  # fmt: skip
        if han_latency_s is not None:
            command += ["--han-latency", repr(han_latency_s)]
        if boost_switch:
            command.append("--boost-switch")
        if clock is not None and clock.paced:
            now, epoch = clock.anchor()
            command += ["--start", now.isoformat(), "--anchor-epoch", repr(epoch),
                        "--speed", repr(clock.speed)]  # fmt: skip
        process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, limit=MAX_FRAME
        )
        self = cls(process)
        assert process.stdout is not None
        hello = await read_frame(process.stdout)
        if hello is None or "hello" not in hello:
            await self.close()
            raise HostError(f"the premises host did not start (exit {process.returncode})")
        for entry in hello["hello"]:
            number = int(entry["household"])
            self.households[number] = HostedPremises(self, number, dict(entry["devices"]))
        self._reader = asyncio.get_running_loop().create_task(self._read())
        return self

    async def execute(self, number: int, command: bytes) -> RemoteExecution | None:
        return await self._ask({"household": number, "command": bytes(command).hex()})

    async def distribute(
        self, number: int, image: bytes, devices: list[bytes]
    ) -> dict[bytes, str] | None:
        """An 11.1 / 11.4 image to household `number`'s `devices`: how each took it (None:
        the host is gone)."""
        return await self._ask({"household": number, "firmware": bytes(image).hex(),
                                "devices": [d.hex() for d in devices]})  # fmt: skip

    async def _ask(self, message: dict):
        """Send one numbered request; its answer, or None when the host is gone."""
        if self._closed or self.process.stdin is None:
            return None
        self._next_id += 1
        ident = self._next_id
        future: asyncio.Future = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        try:
            self.process.stdin.write(frame({"id": ident, **message}))
            await self.process.stdin.drain()
        except (ConnectionError, RuntimeError) as exc:
            self._pending.pop(ident, None)
            log.warning("premises host unreachable: %s", exc)
            return None
        return await future

    async def _read(self) -> None:
        assert self.process.stdout is not None
        try:
            while True:
                message = await read_frame(self.process.stdout)
                if message is None:
                    break
                if "alert" in message:
                    household = self.households.get(int(message.get("household", -1)))
                    if household is not None:
                        household._alert(bytes.fromhex(message["alert"]))
                    continue
                if "state" in message:
                    household = self.households.get(int(message.get("household", -1)))
                    if household is not None and isinstance(message["state"], dict):
                        household._reported(message["state"])
                    continue
                future = self._pending.pop(int(message.get("id", -1)), None)
                if future is not None and not future.done() and "distributed" in message:
                    outcomes = message["distributed"]
                    future.set_result({bytes.fromhex(k): str(v) for k, v in outcomes.items()})
                elif future is not None and not future.done():
                    data = message.get("execution")
                    future.set_result(None if data is None else RemoteExecution.from_json(data))
        except (HostError, ValueError, KeyError) as exc:
            log.warning("premises host broke its protocol: %s", exc)
        finally:
            self._closed = True
            for future in self._pending.values():
                if not future.done():
                    future.set_result(None)
            self._pending.clear()

    async def close(self) -> None:
        self._closed = True
        if self.process.stdin is not None and not self.process.stdin.is_closing():
            self.process.stdin.close()
        try:
            await asyncio.wait_for(self.process.wait(), loop_seconds(10))
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
        if self._reader is not None:
            await self._reader
