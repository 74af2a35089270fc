"""One interface for a switch in a premises, whether a Python model or the real firmware.

The ESME talks to either over the HAN (ZCL); tests, the CLI and scenarios use this interface
for what a person at the premises would see or do: read the output, press the boost button,
and inject a fault (the switch stops answering its meter).
"""

from __future__ import annotations

import abc

from emulator.han.link import HanNodeLink

from .switch_zcl import SwitchState

ROLES = ("hcalcs", "plcs")


class Switch(abc.ABC):
    """A switch in slot `slot` of the ESME; `node` is what the HAN sees of it."""

    kind: str  # "model" | "board"

    def __init__(self, slot: int, role: str, ieee: str) -> None:
        if role not in ROLES:
            raise ValueError(f"switch role must be one of {ROLES}, not {role!r}")
        self.slot, self.role, self.ieee = slot, role, ieee

    @property
    @abc.abstractmethod
    def node(self) -> HanNodeLink: ...

    @abc.abstractmethod
    async def state(self) -> SwitchState:
        """The output as the device itself shows it (model state, or the board's console)."""

    @abc.abstractmethod
    async def press_boost(self) -> str | None:
        """The consumer presses boost: None if it started, else the reason it was refused."""

    @abc.abstractmethod
    async def set_fault(self, faulty: bool) -> None:
        """A faulty switch no longer answers its meter (lost pairing / dead application)."""

    @abc.abstractmethod
    async def config(self) -> dict:
        """What the meter configured in the device: {"boost_associated": bool, "label": str}
        (model state, or the board's console `status`)."""

    @abc.abstractmethod
    async def set_label(self, text: str) -> None:
        """Set the description label at the device itself (installer / console)."""

    async def close(self) -> None:
        """Release processes and files (nothing for a model)."""
        return None
