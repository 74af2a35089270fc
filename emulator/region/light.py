"""The light SRV path: a feeder's HAN as a delay model, so a region of a thousand feeders runs
the real feeder physics and the DNO monitor without the DSP, HTTP and the ZigBee HAN.

``DelayHan`` is a ``FeederHan`` (what ``emulator.scenario.engine.run`` drives): the monitor's
SRVs go to ``submit``, which queues them for the shared path (``wan.SharedPath``); the answer
says when the switch acts and when the DNO hears back. The switch then does what the real
one does: a 7.6 opens an HCALCS (a PLCS goes to its commissioning level) for the 7.6's
duration, a 7.8 closes it, a 7.7 reads the labels and the switch's state.

``run_feeder`` runs one feeder scenario on this path with each SRV answered at once: the
sequential reference the windowed region must equal.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from emulator.clock import SimulatedEventLoop
from emulator.grid import (
    SRV_ADD_BOOST,
    SRV_CURTAIL,
    SRV_READ_LABELS,
    SRV_REMOVE_BOOST,
    SRV_RESTORE,
    SWITCHING_SRVS,
    GatewayAlert,
    Population,
    SrvOutcome,
    SrvResult,
    SwitchingSeen,
    SwitchLabel,
)
from emulator.region.wan import Answer, SharedPath, Submission, WanParams
from emulator.scenario import Scenario, engine

#: submit(srv) -> (seq, future of its Answer)
Submit = Callable[[str], "tuple[int, asyncio.Future[Answer]]"]


class RegionLoop(SimulatedEventLoop):
    """A simulated loop that lands exactly on the next timer's time when it jumps, rather
    than on ``now + (when - now)`` (which can be a rounding off ``when``): the time a feeder
    sees then does not depend on which other feeders' events the loop stopped at on the way,
    so a feeder's run is the same bit for bit whichever shard runs it."""

    def _advance(self, seconds: float) -> None:
        scheduled = self._scheduled  # type: ignore[attr-defined]
        if scheduled and seconds < 86400.0:
            self._sim_now = max(self._sim_now, scheduled[0].when())
        else:
            self._sim_now += seconds


async def wait_until(t: float) -> None:
    """Sleep until the absolute simulated time ``t`` (no rounding of a relative delay)."""
    loop = asyncio.get_running_loop()
    if t > loop.time():
        future: asyncio.Future[None] = loop.create_future()
        loop.call_at(t, future.set_result, None)
        await future


@dataclass
class _Switch:
    premises: str
    index: int  # in population order
    slot: int
    kind: str
    label: str
    curtail_level: int
    output: float = 1.0
    generation: int = 0  # bumped by every command that takes effect (a 7.6's timer checks it)
    silent: bool = False


class LightGateway:
    """``SrvGateway`` over the delay model."""

    def __init__(self, han: DelayHan) -> None:
        self.han = han
        self._callbacks: list[Callable[[GatewayAlert], None]] = []

    def on_alert(self, callback: Callable[[GatewayAlert], None]) -> None:
        self._callbacks.append(callback)

    async def read_labels(self, premises: str) -> SrvOutcome:
        return await self.han.send(SRV_READ_LABELS, premises, None)

    async def curtail(
        self, premises: str, slot: int, duration_s: int, level: int | None = None
    ) -> SrvOutcome:
        return await self.han.send(SRV_CURTAIL, premises, slot, duration_s=duration_s, level=level)

    async def restore(self, premises: str, slot: int) -> SrvOutcome:
        return await self.han.send(SRV_RESTORE, premises, slot)

    async def remove_boost(self, premises: str, slot: int) -> SrvOutcome:
        return await self.han.send(SRV_REMOVE_BOOST, premises, slot)

    async def add_boost(self, premises: str, slot: int) -> SrvOutcome:
        return await self.han.send(SRV_ADD_BOOST, premises, slot)


class DelayHan:
    """One feeder's premises as switches behind the shared path's delays."""

    def __init__(
        self, population: Population, submit: Submit, timeout_s: float = 30.0,
        discovery_on_path: bool = False,
    ) -> None:  # fmt: skip
        self.population = population
        self.timeout_s = timeout_s  # the DNO stops waiting for a response
        #: before the first physics step the DNO is discovering its switches (7.7s); unless
        #: discovery is on the path they are answered at once, as if sent earlier in the day
        self.discovering = not discovery_on_path
        self.discovery_srvs = 0
        self._submit = submit
        self.switches: dict[tuple[str, int], _Switch] = {}
        self._by_premises: dict[str, list[_Switch]] = {}
        for plan in population.premises:
            for sw in plan.switches:
                unit = _Switch(plan.premises_id, plan.index, sw.slot, sw.kind, sw.label,
                               sw.curtail_level)  # fmt: skip
                self.switches[(plan.premises_id, sw.slot)] = unit
                self._by_premises.setdefault(plan.premises_id, []).append(unit)
        self._ev = [
            self.switches[(p.premises_id, p.ev_switch.slot)]
            for p in population.premises
            if p.ev_switch is not None
        ]
        self._gateway = LightGateway(self)
        self.seen: list[SwitchingSeen] = []
        self.sent = 0
        self.timeouts = 0
        self.delivery_s: list[float] = []  # command sent -> switch acted, per SRV that arrived
        self.queued_s: list[float] = []

    # --- FeederHan ----------------------------------------------------------------------
    @property
    def gateway(self) -> LightGateway:
        return self._gateway

    @property
    def notes(self) -> Sequence[str]:
        return ("SRVs through the light path: the region's shared DSP/WAN delay model",)

    def outputs(self) -> np.ndarray:
        self.discovering = False  # the engine's first step: the evening has begun
        out = np.ones(len(self.population.premises))
        for sw in self._ev:
            out[sw.index] = sw.output
        return out

    async def press_boost(self, premises: str, slot: int) -> bool:
        return False  # the light path has no Boost Button: a region scripts no consumers

    def silence_switch(self, premises: str, slot: int) -> None:
        self.switches[(premises, slot)].silent = True

    async def supplier_unjoin(self, premises: str, slot: int) -> bool:
        return False

    def switching_seen(self) -> list[SwitchingSeen]:
        return list(self.seen)

    def stats(self) -> dict[str, Any]:
        return {"light_path": True, "srvs_sent": self.sent, "srv_timeouts": self.timeouts,
                "discovery_srvs_off_path": self.discovery_srvs}  # fmt: skip

    async def close(self) -> None:
        return None

    # --- the delay model ----------------------------------------------------------------
    async def send(
        self, srv: str, premises: str, slot: int | None, *, duration_s: int = 0,
        level: int | None = None,
    ) -> SrvOutcome:  # fmt: skip
        loop = asyncio.get_running_loop()
        sent = loop.time()
        if self.discovering:
            self.discovery_srvs += 1
            labels = self._labels(premises) if srv == SRV_READ_LABELS else ()
            return SrvOutcome(srv, premises, slot, SrvResult.EXECUTED, sent, 0.0, labels=labels)
        self.sent += 1
        _, future = self._submit(srv)
        answer = await future
        unit = self.switches.get((premises, slot)) if slot is not None else None
        silent = unit is not None and unit.silent
        executed = math.nan if silent else answer.executed_at
        responded = math.nan if silent else answer.responded_at
        self.queued_s.append(answer.queued_s)
        if not math.isnan(executed):
            self.delivery_s.append(executed - sent)
            await wait_until(executed)
            self._execute(srv, premises, unit, duration_s)
        if math.isnan(responded):
            await wait_until(sent + self.timeout_s)
            self.timeouts += 1
            return SrvOutcome(srv, premises, slot, SrvResult.TIMEOUT, sent, None, level=level)
        await wait_until(responded)
        labels = self._labels(premises) if srv == SRV_READ_LABELS else ()
        return SrvOutcome(srv, premises, slot, SrvResult.EXECUTED, sent, responded - sent,
                          labels=labels, level=level)  # fmt: skip

    def _execute(self, srv: str, premises: str, unit: _Switch | None, duration_s: int) -> None:
        now = asyncio.get_running_loop().time()
        if unit is not None and srv in SWITCHING_SRVS:
            self.seen.append(SwitchingSeen(now, premises, unit.slot, "meter", srv,
                                           "light path: meter executed"))  # fmt: skip
        if unit is None or unit.label == "" or srv not in (SRV_CURTAIL, SRV_RESTORE):
            return
        unit.generation += 1
        if srv == SRV_RESTORE:
            unit.output = 1.0
            return
        unit.output = unit.curtail_level / 100.0 if unit.kind == "plcs" else 0.0
        generation = unit.generation

        def expire() -> None:  # the 7.6's duration ran out: back to the calendar (on)
            if unit.generation == generation:
                unit.output = 1.0

        asyncio.get_running_loop().call_later(max(1, duration_s // 60) * 60.0, expire)

    def _labels(self, premises: str) -> tuple[SwitchLabel, ...]:
        return tuple(
            SwitchLabel(u.slot, u.label, u.kind, closed=u.output >= 1.0)
            for u in sorted(self._by_premises.get(premises, []), key=lambda u: u.slot)
        )


class ImmediatePath:
    """Answers each SRV the moment it is sent, from one ``SharedPath``: a sequential run."""

    def __init__(self, params: WanParams, seed: int, feeder: int = 0) -> None:
        self.path = SharedPath(params, seed)
        self.feeder = feeder
        self.seq = 0

    def submit(self, srv: str) -> tuple[int, asyncio.Future[Answer]]:
        loop = asyncio.get_running_loop()
        seq, self.seq = self.seq, self.seq + 1
        t = loop.time()
        answer = self.path.process(
            [Submission(t, self.feeder, seq, srv)], math.nextafter(t, math.inf)
        )
        future: asyncio.Future[Answer] = loop.create_future()
        future.set_result(answer[0])
        return seq, future


def run_feeder(
    scenario: Scenario, params: WanParams, path_seed: int, *, feeder: int = 0,
    discovery_on_path: bool = False,
) -> engine.RunResult:  # fmt: skip
    """Run one feeder scenario on the light path, each SRV answered at once (no windows)."""
    population = engine.build_population(scenario)
    consent = engine.build_consent(scenario, population)
    path = ImmediatePath(params, path_seed, feeder)
    loop = RegionLoop(0.0)
    han = DelayHan(population, path.submit, scenario.han.srv_timeout_s, discovery_on_path)
    try:
        return loop.run_until_complete(
            engine.run(scenario, han, population, consent, now=loop.time)
        )
    finally:
        loop.close()
