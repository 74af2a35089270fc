"""The simulated SM WAN between the DSP and the Comms Hubs: latency and loss on the emulator
clock (emulator.clock.Clock), so simulated runs jump over the waits and stay repeatable.

One exchange = command out, the premises executes it, response back. Each direction takes
`latency_s` plus uniform jitter and is lost with probability `loss`. A loss in either
direction means no response: the DSP gives up after `timeout_s` (the DSP cannot know which
way it was lost, and resending would reuse a counter the device may already have seen).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from emulator.clock import Clock


@dataclass
class WanStats:
    sent: int = 0
    lost_out: int = 0
    lost_back: int = 0
    answered: int = 0


@dataclass
class Wan:
    """Latency/loss model for one DSP's WAN; `seed` makes loss and jitter repeatable."""

    clock: Clock
    latency_s: float = 0.5
    jitter_s: float = 0.0
    loss: float = 0.0
    timeout_s: float = 25.0
    seed: int = 0
    stats: WanStats = field(default_factory=WanStats)

    def __post_init__(self):
        if not 0.0 <= self.loss <= 1.0:
            raise ValueError(f"loss {self.loss} is not a probability")
        if self.latency_s < 0 or self.jitter_s < 0 or self.timeout_s <= 0:
            raise ValueError("latency and jitter must be >= 0 and the timeout > 0")
        self._random = random.Random(self.seed)

    def _delay(self) -> float:
        return self.latency_s + (self._random.uniform(0, self.jitter_s) if self.jitter_s else 0.0)

    async def exchange(self, premises, command: bytes):
        """Carry one command to `premises` (a PremisesPort) and its Execution back; None
        when either leg is lost (after waiting out the timeout)."""
        self.stats.sent += 1
        started = self.clock.now()
        await self.clock.sleep(self._delay())
        if self._random.random() < self.loss:
            self.stats.lost_out += 1
            await self.clock.sleep(max(0.0, self.timeout_s - (self.clock.now() - started)))
            return None
        execution = await premises.execute(command)
        await self.clock.sleep(self._delay())
        if self._random.random() < self.loss:
            self.stats.lost_back += 1
            await self.clock.sleep(max(0.0, self.timeout_s - (self.clock.now() - started)))
            return None
        self.stats.answered += 1
        return execution
