"""The HAN side of a feeder, as the scenario engine drives it.

The physics needs one number per premises each step: what the EV charger's switch lets
through (0..1). The scenario needs to do what consumers and Suppliers do (press boost, unjoin
a switch) and to break things (a switch that stops answering). The DNO gets its ``SrvGateway``.
``emulator.scenario.world`` builds the real one: Premises (Comms Hub, ESME, switches as models
or firmware on virtual boards) behind the DSP.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from emulator.grid.gateway import SrvGateway


@dataclass(frozen=True)
class SwitchingSeen:
    """Switching observed where it happens, not where it was asked for: a switching SRV the
    meter executed (``where="meter"``, ``srv`` set) or a switch taking a remote command from
    its meter (``where="switch"``). The run judges these against consent at the time, so a
    switched declined premises shows whatever path the command took."""

    at: float  # simulated seconds since the run started
    premises: str
    slot: int | None
    where: str  # "meter" | "switch"
    srv: str | None = None
    detail: str = ""


class FeederHan(Protocol):
    @property
    def gateway(self) -> SrvGateway:
        """What the DNO monitor sends its SRVs through."""
        ...

    @property
    def notes(self) -> Sequence[str]:
        """Lines for the run's timeline before it starts (e.g. which premises has a board)."""
        ...

    def outputs(self) -> np.ndarray:
        """EV switch output per premises in population order: 0..1 (1.0 where no switch)."""
        ...

    async def press_boost(self, premises: str, slot: int) -> bool:
        """The consumer presses the boost button; True if the switch accepted it."""
        ...

    def silence_switch(self, premises: str, slot: int) -> None:
        """Fault: from now on the switch never answers (dead radio, power loss at the socket)."""
        ...

    async def supplier_unjoin(self, premises: str, slot: int) -> bool:
        """The premises' Supplier unjoins the HCALCS from the ESME (SRV 8.8.x via the DSP);
        True if the meter executed it."""
        ...

    def switching_seen(self) -> list[SwitchingSeen]:
        """Every switching observed at the premises' meters and switches so far."""
        ...

    def stats(self) -> dict[str, Any]:
        """Counters worth reporting (rejected frames, refused boosts, HAN frames ...)."""
        ...

    async def close(self) -> None:
        """Stop devices and boards, flush the capture."""
        ...
