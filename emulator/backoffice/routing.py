"""From the DSP to the premises: the seam a premises (Comms Hub, meter, switches) plugs into,
and which premises serves which device.

`PremisesPort` is the interface `emulator.devices.premises.Premises` offers; the DSP needs
nothing else from it, so a real HAN premises, a firmware board or a test double all fit.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

from emulator.errors import EmulatorError

from .wan import Wan

log = logging.getLogger(__name__)


class ExecutionOutcome(StrEnum):
    """How a premises says one command ended. A refusal carries the device's reason after
    a colon: "rejected:<reason>"."""

    EXECUTED = "executed"
    REJECTED = "rejected"


@runtime_checkable
class ExecutionLike(Protocol):
    """What a premises reports for one command: the use case it ran, its outcome
    (`ExecutionOutcome.EXECUTED` or "rejected:<reason>"), the GBCS response (MAC'd or signed
    by the device) if any, alerts the command raised, the switch states after it, and how
    long the premises took."""

    use_case: str
    outcome: str
    response: bytes | None
    alerts: list[bytes]
    switch: dict
    latency_s: float


@runtime_checkable
class PremisesPort(Protocol):
    """A premises as the DSP sees it over the WAN."""

    @property
    def device_ids(self) -> Iterable[bytes | str]:
        """The EUIs it serves: bytes, or hex text (a dict of hex -> device type)."""
        ...

    async def execute(self, command: bytes) -> ExecutionLike: ...

    def on_alert(self, callback: Callable[[bytes], None]) -> None: ...


@runtime_checkable
class FirmwareReceiver(Protocol):
    """A premises that takes a firmware image over the WAN (11.1, 11.4): its Comms Hub
    passes it to the devices named, which check it and alert their receipt (on_alert).
    Device EUI -> how it went ("verified", "verification-failed", ...)."""

    async def distribute_firmware(
        self, image: bytes, devices: Iterable[bytes]
    ) -> dict[bytes, str]: ...


class NoRoute(EmulatorError, LookupError):
    """No premises serves the device (it is in the inventory but not connected)."""


@dataclass
class Routed:
    """The result of one routed command: the execution, or None when the WAN lost it."""

    device: bytes
    execution: ExecutionLike | None
    wan_s: float


class InOrder:
    """A premises that runs the commands it is given one after another, in arrival order.

    A Comms Hub passes its devices' commands on in order and a meter executes one at a time;
    `Premises.execute` hands a command to the HAN and takes the next result the devices
    report, so two commands at one premises at once could each take the other's response.
    The WAN legs of many commands still overlap, and different premises never wait on each
    other: each has a lock of its own."""

    def __init__(self, premises: PremisesPort) -> None:
        self.premises = premises
        self._lock = asyncio.Lock()

    @property
    def device_ids(self) -> Iterable[bytes | str]:
        return self.premises.device_ids

    async def execute(self, command: bytes) -> ExecutionLike:
        async with self._lock:
            return await self.premises.execute(command)

    def on_alert(self, callback: Callable[[bytes], None]) -> None:
        self.premises.on_alert(callback)

    async def distribute_firmware(self, image: bytes, devices: Iterable[bytes]) -> dict[bytes, str]:
        """The image to the premises' devices, in turn with its commands; a premises that
        takes no image reports each device "unsupported"."""
        if not isinstance(self.premises, FirmwareReceiver):
            return {bytes(d): "unsupported" for d in devices}
        async with self._lock:
            return await self.premises.distribute_firmware(image, devices)


class AtOnce:
    """A device of an InOrder premises whose commands do not go through the HAN's results
    queue (the premises names them `unqueued_ids`: the Comms Hub Function itself, the GPF,
    and the GSME behind the GPF's own queue): they are executed as they come, so a GPF mirror
    read is not held for half an hour behind a command waiting for the sleeping GSME."""

    def __init__(self, in_order: InOrder) -> None:
        self.in_order = in_order

    @property
    def device_ids(self) -> Iterable[bytes | str]:
        return self.in_order.device_ids

    async def execute(self, command: bytes) -> ExecutionLike:
        return await self.in_order.premises.execute(command)

    def on_alert(self, callback: Callable[[bytes], None]) -> None:
        self.in_order.on_alert(callback)

    async def distribute_firmware(self, image: bytes, devices: Iterable[bytes]) -> dict[bytes, str]:
        return await self.in_order.distribute_firmware(image, devices)


class Router:
    """Which premises serves which device EUI, and the WAN to reach them."""

    def __init__(self, wan: Wan):
        self.wan = wan
        self._by_device: dict[bytes, InOrder | AtOnce] = {}
        self.premises: list[PremisesPort] = []

    def attach(self, premises: PremisesPort, alert_sink: Callable[[bytes], None]) -> None:
        """Connect a premises: its devices become routable, its alerts go to `alert_sink`."""
        self.premises.append(premises)
        in_order = InOrder(premises)
        at_once = AtOnce(in_order)
        unqueued = {bytes(e) for e in getattr(premises, "unqueued_ids", ())}
        for eui in premises.device_ids:  # EUI bytes, or hex text (a dict of hex -> type)
            device = bytes.fromhex(eui) if isinstance(eui, str) else bytes(eui)
            self._by_device[device] = at_once if device in unqueued else in_order
        premises.on_alert(alert_sink)

    def serves(self, device: bytes) -> bool:
        return bytes(device) in self._by_device

    async def send(self, device: bytes, command: bytes) -> Routed:
        premises = self._by_device.get(bytes(device))
        if premises is None:
            raise NoRoute(f"no premises serves {bytes(device).hex().upper()}")
        started = self.wan.clock.now()
        execution = await self.wan.exchange(premises, command)
        return Routed(bytes(device), execution, self.wan.clock.now() - started)

    async def distribute_firmware(self, device: bytes, image: bytes) -> str:
        """Carry a firmware image over the WAN (one leg's latency; an image is sent, not
        exchanged) to the premises serving `device`, for that device; how it went there.
        NoRoute when no premises serves it."""
        premises = self._by_device.get(bytes(device))
        if premises is None:
            raise NoRoute(f"no premises serves {bytes(device).hex().upper()}")
        await self.wan.clock.sleep(self.wan.latency_s)
        outcomes = await premises.distribute_firmware(image, [bytes(device)])
        return outcomes.get(bytes(device), "not-here")
