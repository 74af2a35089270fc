"""The DNO's feeder monitor: forecast the overload, curtail EV chargers, restore when it passes.

Each new substation sample is observed by the forecaster; one decision runs at a time (the SRVs
it sends take simulated time, the physics keeps stepping meanwhile). The order of things:

1. discovery before any trouble: SRV 7.7 to every opted-in premises; a slot whose label is
   'Electric Vehicle Charger' becomes a controllable switch (nothing else is ever touched);
2. when the forecast risk passes ``trigger`` x rating: declare the emergency (the guard refuses
   curtailment without one) and open an intervention;
3. curtail (7.6 with a duration; a PLCS goes to its configured level) until the expected reduction covers
   risk - ``target`` x rating; a switch that fails to respond is dropped and the next consented
   one is used at once (escalation); optionally remove the boost (7.10);
4. renew curtailments before their duration runs out (reading 7.7 first: a switch the consumer
   boosted is left to the consumer);
5. restore (7.8) one switch at a time, oldest first, once the risk plus its charger stays under
   ``restore`` x rating; end the emergency when all are restored and the feeder is quiet, and
   give back the boost (7.9).
A Supplier unjoining an HCALCS (DSP alert N65) takes that switch out of the pool; what it was
expected to hold back is made up from other switches.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from emulator.grid.consent import Consent, ConsentRegister
from emulator.grid.forecast import Forecast, TrendForecaster
from emulator.grid.gateway import (
    ALERT_ALCS_CONFIGURATION_CHANGE,
    GatewayAlert,
    SrvGateway,
    SrvOutcome,
    SrvResult,
)
from emulator.grid.governance import GovernanceError, LastResortGuard
from emulator.grid.interventions import InterventionLog
from emulator.grid.population import EV_LABEL

log = logging.getLogger(__name__)

#: When a customer declared no charger size, assume the common single-phase 7.4 kW.
DEFAULT_CHARGER_KW = 7.4


@dataclass(frozen=True)
class MonitorParams:
    horizon_s: float = 600.0
    window_s: float = 600.0
    trigger_fraction: float = 0.95
    target_fraction: float = 0.85
    restore_fraction: float = 0.80
    hold_s: float = 300.0
    end_quiet_s: float = 900.0
    curtail_duration_s: int = 1800
    renew_margin_s: float = 180.0
    remove_boost: bool = False
    use_levels: bool = False  # reckon each PLCS at its configured level (else as if off)
    expected_draw_fraction: float = 1.0
    max_parallel_srvs: int = 16


@dataclass
class ControlledSwitch:
    premises: str
    slot: int
    kind: str
    declared_kw: float
    state: str = "available"  # available | curtailed | failed | lost | withdrawn | overridden
    level: int | None = None  # None: open (binary); else the PLCS level in %
    configured_level: int | None = None  # a PLCS's commissioning level (consent sign-up)
    curtailed_at: float | None = None
    expires_at: float | None = None
    boost_removed: bool = False
    times_curtailed: int = 0

    @property
    def key(self) -> tuple[str, int]:
        return (self.premises, self.slot)

    def held_back_kw(self, draw_fraction: float) -> float:
        """What this switch is expected to hold back at its current setting."""
        if self.state != "curtailed":
            return 0.0
        fraction = 1.0 if self.level is None else 1.0 - self.level / 100.0
        return self.declared_kw * fraction * draw_fraction


@dataclass
class MonitorStats:
    emergencies_declared: int = 0
    declarations_refused: int = 0
    curtail_failures: int = 0
    escalations: int = 0
    alerts: list[GatewayAlert] = field(default_factory=list)
    overrides_seen: int = 0


class DnoMonitor:
    def __init__(
        self,
        feeder: str,
        rating_kw: float,
        gateway: SrvGateway,
        guard: LastResortGuard,
        consent: ConsentRegister,
        interventions: InterventionLog,
        now: Callable[[], float],
        params: MonitorParams | None = None,
        energy_probe: Callable[[], float] | None = None,
        timeline: Callable[[float, str], None] | None = None,
        reason_context: str = "",
    ) -> None:
        self.feeder = feeder
        self.rating_kw = rating_kw
        self.gateway = gateway
        self.guard = guard
        self.consent = consent
        self.log = interventions
        self.now = now
        self.params = params or MonitorParams()
        self.forecaster = TrendForecaster(self.params.horizon_s, self.params.window_s)
        self.energy_probe = energy_probe or (lambda: 0.0)
        self.timeline = timeline or (lambda t, text: None)
        self.reason_context = reason_context
        self.switches: dict[tuple[str, int], ControlledSwitch] = {}
        self.stats = MonitorStats()
        self.first_curtailment_at: float | None = None
        self._compensation_kw = 0.0
        self._last_action = -1e9
        self._energy_at_start = 0.0
        self._deciding: asyncio.Task | None = None
        self._exhausted_noted = False
        self._semaphore = asyncio.Semaphore(self.params.max_parallel_srvs)
        gateway.on_alert(self._on_alert)

    # -- discovery -------------------------------------------------------------------------
    async def discover(self) -> int:
        """Read labels (SRV 7.7) at every opted-in premises; keep the EV charger slots."""
        outcomes = await asyncio.gather(
            *(self._send(self.gateway.read_labels(p), "discover") for p in self.consent.opted_in())
        )
        for outcome in outcomes:
            if not outcome.ok:
                continue
            for label in outcome.labels:
                if label.label.strip().lower() != EV_LABEL.lower():
                    continue
                declared = self.consent.declared_kw(outcome.premises) or DEFAULT_CHARGER_KW
                sw = ControlledSwitch(
                    outcome.premises,
                    label.slot,
                    label.kind,
                    declared,
                    configured_level=self.consent.plcs_level(outcome.premises),
                )
                self.switches[sw.key] = sw
        self.timeline(
            self.now(),
            f"discovered {len(self.switches)} EV charger switches "
            f"at {len(self.consent.opted_in())} consented premises (SRV 7.7)",
        )
        return len(self.switches)

    # -- samples -----------------------------------------------------------------------------
    def observe(self, t: float, kw: float) -> None:
        """A new substation sample; starts a decision unless one is still running."""
        self.forecaster.observe(t, kw)
        if self._deciding is None or self._deciding.done():
            self._deciding = asyncio.ensure_future(self._decide_safely())

    async def settle(self) -> None:
        if self._deciding is not None:
            await self._deciding

    async def _decide_safely(self) -> None:
        try:
            await self.decide()
        except Exception:  # a bug in a decision must not stop the feeder
            log.exception("DNO decision failed")

    async def decide(self) -> None:
        fc = self.forecaster.forecast()
        risk = fc.risk_kw + self._compensation_kw
        p = self.params
        if self.guard.active is None:
            if risk <= self.rating_kw * p.trigger_fraction:
                return
            if not self._declare(fc):
                return
        await self._handle_withdrawals()
        await self._renew_expiring()
        fc = self.forecaster.forecast()
        needed = fc.risk_kw + self._compensation_kw - self.rating_kw * p.target_fraction
        if needed > 0:
            await self._curtail(needed)
        else:
            await self._maybe_restore(fc)
            await self._maybe_end(fc)

    def _declare(self, fc: Forecast) -> bool:
        reason = (
            f"forecast {fc.predicted_kw:.1f} kW in {fc.horizon_s / 60:.0f} min "
            f"(now {fc.now_kw:.1f} kW) against rating {self.rating_kw:.1f} kW"
        )
        if self.reason_context:
            reason += f"; {self.reason_context}"
        try:
            self.guard.declare(self.feeder, reason, self.now())
        except GovernanceError as err:
            self.stats.declarations_refused += 1
            self.timeline(self.now(), f"overload risk but no emergency declared: {err}")
            return False
        self.stats.emergencies_declared += 1
        self._energy_at_start = self.energy_probe()
        self.log.open(reason, self.now())
        self.timeline(self.now(), f"EMERGENCY declared on {self.feeder}: {reason}")
        return True

    # -- actions -------------------------------------------------------------------------------
    async def _send(self, coro: Awaitable[SrvOutcome], purpose: str) -> SrvOutcome:
        async with self._semaphore:
            outcome = await coro
        self.log.record(outcome, purpose)
        return outcome

    def candidates(self) -> list[ControlledSwitch]:
        """Switches that may be curtailed now: fewest curtailments this run, biggest first."""
        ready = [
            s
            for s in self.switches.values()
            if s.state == "available" and self.consent.status(s.premises) is Consent.OPTED_IN
        ]
        return sorted(ready, key=lambda s: (s.times_curtailed, -s.declared_kw, s.premises, s.slot))

    def _first_level(self, sw: ControlledSwitch) -> int | None:
        """The level a 7.6 gives this switch: a PLCS goes to the level its meter was
        configured with at commissioning (the DNO cannot choose it), an HCALCS off."""
        if not self.params.use_levels or sw.kind != "plcs":
            return None
        return sw.configured_level if sw.configured_level is not None else 0

    def _expected(self, sw: ControlledSwitch, level: int | None) -> float:
        fraction = 1.0 if level is None else 1.0 - level / 100.0
        return sw.declared_kw * fraction * self.params.expected_draw_fraction

    async def _curtail(self, needed: float) -> None:
        remaining = needed
        purpose = "curtail"
        tried: set[tuple[str, int]] = set()
        any_ok = False
        while remaining > 0:
            batch: list[tuple[ControlledSwitch, int | None, float]] = []
            for sw in self.candidates():
                level = self._first_level(sw)
                gain = self._expected(sw, level)
                batch.append((sw, level, gain))
                remaining -= gain
                if remaining <= 0:
                    break
            if not batch:
                if not self._exhausted_noted:
                    self.timeline(
                        self.now(), f"no switch left to curtail ({remaining:.1f} kW short)"
                    )
                    self._exhausted_noted = True
                return
            self._exhausted_noted = False
            results = await asyncio.gather(
                *(self._curtail_one(sw, level, purpose) for sw, level, _ in batch)
            )
            failed = 0
            for (sw, _level, gain), ok in zip(batch, results, strict=True):
                tried.add(sw.key)
                any_ok = any_ok or ok
                if ok:
                    self._compensation_kw = max(0.0, self._compensation_kw - gain)
                else:
                    remaining += gain
                    failed += 1
            if failed:
                self.stats.escalations += 1
                purpose = "escalate"
                self.timeline(self.now(), f"{failed} switch(es) did not respond: escalating")
            else:
                break
        if any_ok:
            self.forecaster.discontinuity()
            self._last_action = self.now()
            if self.first_curtailment_at is None:
                self.first_curtailment_at = self.now()

    async def _curtail_one(self, sw: ControlledSwitch, level: int | None, purpose: str) -> bool:
        """One SRV 7.6 to a switch not yet curtailed (a PLCS goes to its configured level)."""
        outcome = await self._send(
            self.gateway.curtail(sw.premises, sw.slot, self.params.curtail_duration_s, level),
            purpose,
        )
        if not outcome.ok:
            self.stats.curtail_failures += 1
            if outcome.kind is SrvResult.REFUSED:
                sw.state = "withdrawn" if "withdrawn" in outcome.reason else "failed"
            else:
                sw.state = "failed"
            self.timeline(self.now(), f"SRV 7.6 to {sw.premises} slot {sw.slot}: {outcome.status}")
            return False
        now = self.now()
        sw.state = "curtailed"
        sw.level = level
        sw.curtailed_at = now
        sw.expires_at = outcome.sent_at + self.params.curtail_duration_s
        sw.times_curtailed += 1
        what = "off" if level is None else f"to {level} %"
        self.timeline(
            now,
            f"SRV 7.6 {sw.premises} slot {sw.slot} {what} for {self.params.curtail_duration_s // 60}"
            f" min ({purpose}, {outcome.response_s:.1f} s)",
        )
        if self.params.remove_boost and not sw.boost_removed:
            rb = await self._send(self.gateway.remove_boost(sw.premises, sw.slot), "remove-boost")
            sw.boost_removed = rb.ok
        return True

    async def _renew_expiring(self) -> None:
        now = self.now()
        due = [
            s
            for s in self.switches.values()
            if s.state == "curtailed"
            and s.expires_at is not None
            and s.expires_at - now <= self.params.renew_margin_s
        ]
        for sw in due:
            status = await self._send(self.gateway.read_labels(sw.premises), "renew-check")
            slot = next((lb for lb in status.labels if lb.slot == sw.slot), None)
            if status.ok and slot is not None and slot.closed and sw.level is None:
                # The consumer boosted it: a new 7.6 would cancel their override. Leave it.
                sw.state = "overridden"
                self.stats.overrides_seen += 1
                self._compensation_kw += self._expected(sw, None)
                self.timeline(
                    now,
                    f"{sw.premises} slot {sw.slot} boosted by the consumer; "
                    "left to them, curtailing elsewhere",
                )
                continue
            await self._curtail_one_renew(sw)

    async def _curtail_one_renew(self, sw: ControlledSwitch) -> None:
        outcome = await self._send(
            self.gateway.curtail(sw.premises, sw.slot, self.params.curtail_duration_s, sw.level),
            "renew",
        )
        if outcome.ok:
            sw.expires_at = outcome.sent_at + self.params.curtail_duration_s
        else:
            sw.state = "failed"
            self._compensation_kw += self._expected(sw, sw.level)

    async def _restore_one(self, sw: ControlledSwitch, purpose: str) -> bool:
        outcome = await self._send(self.gateway.restore(sw.premises, sw.slot), purpose)
        self.timeline(
            self.now(),
            f"SRV 7.8 {sw.premises} slot {sw.slot} restored ({purpose}, {outcome.status})",
        )
        if outcome.ok:
            sw.state = "available"
            sw.level = None
            sw.expires_at = None
        return outcome.ok

    async def _handle_withdrawals(self) -> None:
        for sw in list(self.switches.values()):
            if self.consent.status(sw.premises) is not Consent.WITHDRAWN:
                continue
            if sw.state == "curtailed":
                self._compensation_kw += self._expected(sw, sw.level)
                await self._restore_one(sw, "consent-withdrawn")
            if sw.boost_removed:
                rb = await self._send(self.gateway.add_boost(sw.premises, sw.slot), "restore-boost")
                sw.boost_removed = not rb.ok
            sw.state = "withdrawn"

    async def _maybe_restore(self, fc: Forecast) -> None:
        if self.now() - self._last_action < self.params.hold_s or fc.slope_kw_per_s > 0:
            return  # never release load while the feeder is still climbing
        curtailed = [s for s in self.switches.values() if s.state == "curtailed"]
        if not curtailed:
            return
        sw = min(curtailed, key=lambda s: (s.curtailed_at or 0.0, s.premises, s.slot))
        limit = self.rating_kw * self.params.restore_fraction
        if fc.risk_kw + sw.held_back_kw(self.params.expected_draw_fraction) > limit:
            return
        if await self._restore_one(sw, "restore"):
            self.forecaster.discontinuity()
            self._last_action = self.now()

    async def _maybe_end(self, fc: Forecast) -> None:
        if self.guard.active is None:
            return
        if any(s.state == "curtailed" for s in self.switches.values()):
            return
        if self.now() - self._last_action < self.params.end_quiet_s:
            return
        if fc.risk_kw > self.rating_kw * self.params.restore_fraction:
            return
        await self.end("risk passed")

    async def end(self, reason: str) -> None:
        """Close the emergency: restore whatever is still curtailed, give the boost back."""
        for sw in self.switches.values():
            if sw.state == "curtailed":
                await self._restore_one(sw, "end-of-event")
        for sw in self.switches.values():
            if sw.boost_removed:
                rb = await self._send(self.gateway.add_boost(sw.premises, sw.slot), "restore-boost")
                sw.boost_removed = not rb.ok
            if sw.state == "overridden":
                sw.state = "available"
        event = self.log.current
        if event is not None:
            event.end = self.now()
            event.end_reason = reason
            event.energy_curtailed_kwh = self.energy_probe() - self._energy_at_start
        self.guard.end(self.now(), reason)
        self._compensation_kw = 0.0
        self.timeline(self.now(), f"emergency on {self.feeder} ended: {reason}")

    def close_open_event(self) -> None:
        """At the end of a run: account the energy of an event still in progress."""
        event = self.log.current
        if event is not None:
            event.energy_curtailed_kwh = self.energy_probe() - self._energy_at_start

    # -- alerts ---------------------------------------------------------------------------------
    def _on_alert(self, alert: GatewayAlert) -> None:
        self.stats.alerts.append(alert)
        if self.log.current is not None:
            self.log.current.alerts.append(
                {
                    "code": alert.code,
                    "premises": alert.premises,
                    "slot": alert.slot,
                    "at": alert.at,
                    "detail": alert.detail,
                }
            )
        if alert.code != ALERT_ALCS_CONFIGURATION_CHANGE:
            return
        for sw in self.switches.values():
            if sw.premises != alert.premises or (alert.slot is not None and sw.slot != alert.slot):
                continue
            if sw.state == "curtailed":
                # Whatever it held back may come back at any moment: make it up elsewhere.
                self._compensation_kw += self._expected(sw, sw.level)
            sw.state = "lost"
            self.timeline(
                alert.at,
                f"DSP alert {alert.code}: {sw.premises} slot {sw.slot} "
                "unjoined by its Supplier; no longer controllable",
            )
