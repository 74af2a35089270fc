"""A test double for the HAN side of a feeder: switch behaviour as in docs/firmware.md
(remote state with a duration, boost override unless the association is removed, a newer
remote command ends a boost), SRVs answered after a fixed simulated latency; a silent switch
or an unjoined slot is answered as the real meter answers (hardware_fault after its ZCL
timeout, object_unavailable).

Only for unit tests of the monitor and the engine; the runner uses the real world
(``emulator.scenario.world``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import numpy as np

from emulator.grid.gateway import (
    ALERT_ALCS_CONFIGURATION_CHANGE,
    SRV_ADD_BOOST,
    SRV_CURTAIL,
    SRV_READ_LABELS,
    SRV_REMOVE_BOOST,
    SRV_RESTORE,
    GatewayAlert,
    SrvOutcome,
    SrvResult,
    SwitchLabel,
)
from emulator.grid.plant import SwitchingSeen
from emulator.grid.population import Population

BOOST_S = 3600.0
METER_ZCL_TIMEOUT_S = 5.0  # the ESME's wait for a switch (Premises.start's default)


@dataclass
class DoubleSwitch:
    premises: str
    index: int
    slot: int
    kind: str
    label: str
    level: float = 1.0  # remote level (0..1) while remote_until
    remote_until: float = -1.0
    boost_until: float = -1.0
    boost_associated: bool = True
    silent: bool = False
    joined: bool = True
    commands: list[str] = field(default_factory=list)

    def output(self, now: float) -> float:
        if now < self.boost_until:
            return 1.0
        if now < self.remote_until:
            return self.level
        return 1.0  # calendar: closed / 100 %


class DoubleGateway:
    def __init__(self, han: DoubleFeederHan, latency_s: float, timeout_s: float = 30.0):
        self.han = han
        self.latency_s = latency_s
        self.timeout_s = timeout_s
        self.callbacks = []

    def on_alert(self, callback) -> None:
        self.callbacks.append(callback)

    def _now(self) -> float:
        return asyncio.get_running_loop().time()

    async def _exchange(self, srv, premises, slot, action, level=None) -> SrvOutcome:
        sent = self._now()
        switches = [
            s for s in self.han.by_premises.get(premises, []) if slot is None or s.slot == slot
        ]
        if not switches:
            await asyncio.sleep(self.timeout_s)
            return SrvOutcome(srv, premises, slot, SrvResult.TIMEOUT, sent - self.han.t0, None)
        broken = None
        if any(s.silent for s in switches):  # the meter waits out its ZCL timeout
            broken, wait = "hardware_fault", self.latency_s + METER_ZCL_TIMEOUT_S
        elif not all(s.joined for s in switches):
            broken, wait = "object_unavailable", self.latency_s
        if broken is not None:
            await asyncio.sleep(wait)
            return SrvOutcome(srv, premises, slot, SrvResult.REJECTED, sent - self.han.t0,
                              self._now() - sent, broken)  # fmt: skip
        await asyncio.sleep(self.latency_s)
        labels = action(switches)
        if srv != SRV_READ_LABELS:  # what the double's "meter" executed
            for s in switches:
                self.han.seen.append(
                    SwitchingSeen(self._now() - self.han.t0, premises, s.slot, "meter", srv)
                )
        return SrvOutcome(
            srv,
            premises,
            slot,
            SrvResult.EXECUTED,
            sent - self.han.t0,
            self._now() - sent,
            labels=labels or (),
            level=level,
        )

    async def read_labels(self, premises):
        now = self._now

        def read(switches):
            return tuple(
                SwitchLabel(s.slot, s.label, s.kind, closed=s.output(now()) >= 1.0)
                for s in switches
            )

        return await self._exchange(SRV_READ_LABELS, premises, None, read)

    async def curtail(self, premises, slot, duration_s, level=None):
        def act(switches):
            for s in switches:
                s.commands.append(SRV_CURTAIL)
                s.level = 0.0 if level is None or s.kind == "hcalcs" else level / 100.0
                s.remote_until = self._now() + duration_s
                s.boost_until = -1.0  # latest deliberate action wins

        return await self._exchange(SRV_CURTAIL, premises, slot, act, level)

    async def restore(self, premises, slot):
        def act(switches):
            for s in switches:
                s.commands.append(SRV_RESTORE)
                s.remote_until = -1.0

        return await self._exchange(SRV_RESTORE, premises, slot, act)

    async def remove_boost(self, premises, slot):
        def act(switches):
            for s in switches:
                s.commands.append(SRV_REMOVE_BOOST)
                s.boost_associated = False

        return await self._exchange(SRV_REMOVE_BOOST, premises, slot, act)

    async def add_boost(self, premises, slot):
        def act(switches):
            for s in switches:
                s.commands.append(SRV_ADD_BOOST)
                s.boost_associated = True

        return await self._exchange(SRV_ADD_BOOST, premises, slot, act)


class DoubleFeederHan:
    def __init__(self, population: Population, latency_s: float = 3.0, alert_delay_s: float = 5.0):
        self.population = population
        self.t0 = asyncio.get_running_loop().time()
        self.by_premises: dict[str, list[DoubleSwitch]] = {}
        self.ev_switch_at: dict[int, DoubleSwitch] = {}
        for plan in population.premises:
            for sw in plan.switches:
                d = DoubleSwitch(plan.premises_id, plan.index, sw.slot, sw.kind, sw.label)
                self.by_premises.setdefault(plan.premises_id, []).append(d)
                if sw.label == "Electric Vehicle Charger":
                    self.ev_switch_at[plan.index] = d
        self.gateway = DoubleGateway(self, latency_s)
        self.alert_delay_s = alert_delay_s
        self.boosts_refused = 0
        self.seen: list[SwitchingSeen] = []
        self.notes: list[str] = []

    def switching_seen(self) -> list[SwitchingSeen]:
        return list(self.seen)

    def _switch(self, premises, slot) -> DoubleSwitch:
        return next(s for s in self.by_premises[premises] if s.slot == slot)

    def outputs(self) -> np.ndarray:
        now = asyncio.get_running_loop().time()
        out = np.ones(len(self.population.premises))
        for index, sw in self.ev_switch_at.items():
            out[index] = sw.output(now)
        return out

    async def press_boost(self, premises, slot) -> bool:
        sw = self._switch(premises, slot)
        if not sw.boost_associated:
            self.boosts_refused += 1
            return False
        sw.boost_until = asyncio.get_running_loop().time() + BOOST_S
        return True

    def silence_switch(self, premises, slot) -> None:
        self._switch(premises, slot).silent = True

    async def supplier_unjoin(self, premises, slot) -> None:
        sw = self._switch(premises, slot)
        sw.joined = False
        await asyncio.sleep(self.alert_delay_s)
        alert = GatewayAlert(
            ALERT_ALCS_CONFIGURATION_CHANGE,
            premises,
            slot,
            asyncio.get_running_loop().time() - self.t0,
        )
        for callback in self.gateway.callbacks:
            callback(alert)
        return True

    def stats(self) -> dict:
        return {"boosts_refused": self.boosts_refused}

    async def close(self) -> None:
        return None
