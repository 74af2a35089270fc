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

That is ``policy = "all-consenting"``, the first policy. ``policy = "minimal"`` sheds what the
short-lead forecast needs over ``rating - margin`` (the margin: a stated floor plus the
measured forecast error over the lead the DNO needs to act, ``policy.MarginEstimator``), adds
switches as the forecast rises, restores (7.8) as soon as a switch fits back under the margin
less ``hysteresis_kw``, and shares the curtailment: each stint lasts at most
``rotate_after_s`` before it is handed to the least-curtailed customer, no customer is
curtailed longer than ``max_event_curtail_s`` per event or ``max_week_curtail_s`` per week,
and a customer's consent terms (the longest curtailment per event, excluded hours) are never
broken: the 7.6 duration is capped at what the terms allow, and the switch is handed over
``release_margin_s`` before its allowance runs out.
"""

from __future__ import annotations

import asyncio
import logging
import math
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
from emulator.grid.policy import (
    POLICIES,
    MarginEstimator,
    Option,
    PlugInLedger,
    arrival_chance,
    attribute,
    choose,
    cover_kw,
    risk_cover_kw,
)
from emulator.grid.population import EV_LABEL

log = logging.getLogger(__name__)

#: When a customer declared no charger size, assume the common single-phase 7.4 kW.
#: How long before a customer's terms end the DNO curtails the switch taking over (the
#: substation then shows whether it sheds before the term ends and the switch is restored).
HANDOVER_S = 90.0
#: A handover whose replacement has not made room for the outgoing switch within this long
#: (two samples and an SRV) is tried again with another replacement.
STUCK_HANDOVER_S = 75.0
DEFAULT_CHARGER_KW = 7.4
#: Once every customer is past the DNO's own per-event bound, a stint is still handed over,
#: to a customer curtailed at least this many stints (``rotate_after_s``) less: half a stint
#: held the largest per-customer time within 1.45 x the mean on seeds 1-10, a whole one did
#: not (1.55), for 9 % more SRVs (docs/grid.md).
SHARE_GAP = 0.5


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
    policy: str = "all-consenting"  # or "minimal" (see the module docstring)
    # -- the minimal policy -------------------------------------------------------------------
    lead_s: float = 60.0  # one physics step + the 30 s SRV budget: how far ahead it must see
    margin_kw: float = 1.0  # the margin's stated floor under the rating
    margin_sigmas: float = 1.0  # plus this many RMS forecast errors over the lead
    hysteresis_kw: float = 0.5  # a switch is restored when it fits back under margin + this
    restore_hold_s: float = 30.0  # no restore sooner than this after the last change
    rotate_after_s: float = 1800.0  # a stint longer than this is handed to another customer
    max_event_curtail_s: float = 3600.0  # per customer per event (the DNO's own bound)
    max_week_curtail_s: float = 4 * 3600.0  # per customer per week (across this run's events)
    release_margin_s: float = 120.0  # hand a switch over this long before its bound
    srv_cost_kw: float = 1.5  # an extra SRV is worth this much over-shedding
    #: keep room for the largest notified charger not yet seen plugging in (a car plugging in
    #: is a step within one sample: no forecast sees it, only headroom survives it)
    plug_in_cover: bool = True
    #: what one sample over the rating is worth in kWh of shedding: infinite keeps the cover
    #: for the largest charger that may still plug in (worst case, 0 minutes over); finite
    #: covers only sizes likely enough to come (``policy.cover_kw``), trading excursions
    #: for less shedding
    excursion_cost_kwh: float = math.inf
    plug_in_rate_prior_per_h: float = 2.0  # plug-ins an hour assumed until more are seen
    #: > 0: size the cover from the chance of a plug-in within ``lead_s`` (the evening's
    #: arrival-time distribution below, from the DNO's own history) and keep room only for
    #: sizes whose chance of coming passes this per-decision risk (``policy.risk_cover_kw``)
    plug_in_risk: float = 0.0
    arrival_hour: float = 17.6  # UTC
    arrival_sd_h: float = 0.7
    forecast_error_kw: float = 0.0  # a scenario's forecast error: amplitude of a sine, kW
    forecast_error_period_s: float = 2400.0

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"policy must be one of {', '.join(POLICIES)}, not {self.policy!r}")
        if self.rotate_after_s <= 0 or self.max_event_curtail_s <= 0:
            raise ValueError("rotate_after_s and max_event_curtail_s must be positive")


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
    event_curtailed_s: float = 0.0  # closed stints this event
    week_curtailed_s: float = 0.0  # closed stints this run (the week)
    changed_at: float = -1e9  # when the DNO last changed this switch
    observed_kw: float | None = None  # the substation's step when this 7.6 took effect
    handing_over: bool = False  # another switch was curtailed to take over from this one
    handover_at: float = 0.0  # when that replacement was curtailed
    handover_why: str = ""  # rotate | bound | consent-terms

    def stint_s(self, now: float) -> float:
        return now - self.curtailed_at if self.state == "curtailed" and self.curtailed_at else 0.0

    def close_stint(self, now: float) -> None:
        stint = self.stint_s(now)
        self.event_curtailed_s += stint
        self.week_curtailed_s += stint

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
        start_hour: float = 0.0,
        chargers: dict[str, float] | None = None,
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
        self.start_hour = start_hour
        self.margin = MarginEstimator(
            self.params.margin_kw, self.params.margin_sigmas, self.params.lead_s
        )
        self._disturbed = False
        self._restored_since: list[tuple[float, float]] = []  # (when, kW) for pending releases
        self._last_sample: tuple[float, float] | None = None
        self._restored_log: list[tuple[float, float, str]] = []  # (when, kW, premises)
        #: the chargepoints notified to the DNO on this feeder (premises -> kW), not yet seen
        #: plugging in: a step up of about their size in one sample marks one as seen
        self.plug_ins = PlugInLedger(dict(chargers or {}))
        self.margins_used: list[float] = []
        self.covers_used: list[tuple[float, float]] = []  # (t, plug-in cover kW) per decision
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
        self._learn(t, kw)
        self.forecaster.observe(t, kw)
        fc = self.forecaster.forecast()
        self.margin.observe(t, kw, fc.slope_kw_per_s, self._disturbed, self._error_kw(t))
        self._disturbed = False
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
        if self.params.policy == "minimal":
            await self._decide_minimal()
            return
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

    def _note_exhausted(self, short_kw: float) -> None:
        """Say once, until a curtailment succeeds again, that no switch was left to take."""
        if not self._exhausted_noted:
            self.timeline(self.now(), f"no switch left to curtail ({short_kw:.1f} kW short)")
            self._exhausted_noted = True

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
                self._note_exhausted(remaining)
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
        duration = self._duration_s(sw)
        outcome = await self._send(
            self.gateway.curtail(sw.premises, sw.slot, duration, level), purpose
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
        sw.changed_at = now
        sw.observed_kw = None
        self._disturbed = True
        sw.expires_at = outcome.sent_at + duration
        sw.times_curtailed += 1
        what = "off" if level is None else f"to {level} %"
        self.timeline(
            now,
            f"SRV 7.6 {sw.premises} slot {sw.slot} {what} for {duration // 60}"
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
            and not self._renewal_pointless(s, now)
        ]
        for sw in due:
            status = await self._send(self.gateway.read_labels(sw.premises), "renew-check")
            slot = next((lb for lb in status.labels if lb.slot == sw.slot), None)
            if status.ok and slot is not None and slot.closed and sw.level is None:
                # The consumer boosted it: a new 7.6 would cancel their override. Leave it.
                sw.close_stint(self.now())
                sw.state = "overridden"
                self.stats.overrides_seen += 1
                if self.params.policy != "minimal":  # minimal sees the boost in the load
                    self._compensation_kw += self._expected(sw, None)
                self.timeline(
                    now,
                    f"{sw.premises} slot {sw.slot} boosted by the consumer; "
                    "left to them, curtailing elsewhere",
                )
                continue
            await self._curtail_one_renew(sw)

    def _renewal_pointless(self, sw: ControlledSwitch, now: float) -> bool:
        """A renewal the customer's terms cap at or before the running 7.6's own end would
        extend nothing (the terms' release restores the switch first): no 7.7 + 7.6 for it."""
        if self.params.policy != "minimal" or sw.expires_at is None:
            return False
        return now + self._duration_s(sw) <= sw.expires_at + 60.0

    async def _curtail_one_renew(self, sw: ControlledSwitch) -> None:
        duration = self._duration_s(sw)
        outcome = await self._send(
            self.gateway.curtail(sw.premises, sw.slot, duration, sw.level), "renew"
        )
        if outcome.ok:
            sw.expires_at = outcome.sent_at + duration
        else:
            sw.close_stint(self.now())
            sw.state = "failed"
            self._compensation_kw += self._expected(sw, sw.level)

    async def _restore_one(self, sw: ControlledSwitch, purpose: str) -> bool:
        outcome = await self._send(self.gateway.restore(sw.premises, sw.slot), purpose)
        self.timeline(
            self.now(),
            f"SRV 7.8 {sw.premises} slot {sw.slot} restored ({purpose}, {outcome.status})",
        )
        if outcome.ok:
            now = self.now()
            kw = sw.held_back_kw(self.params.expected_draw_fraction)
            self._restored_since.append((now, kw))
            self._restored_log.append((now, kw, sw.premises))
            del self._restored_log[:-32]
            sw.close_stint(now)
            sw.state = "available"
            sw.level = None
            sw.expires_at = None
            sw.handing_over = False
            sw.changed_at = now
            self._disturbed = True
        return outcome.ok

    async def _handle_withdrawals(self) -> None:
        for sw in list(self.switches.values()):
            if self.consent.status(sw.premises) is not Consent.WITHDRAWN:
                continue
            if sw.state == "curtailed":
                if self.params.policy != "minimal":  # minimal counts the restore as pending
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
            sw.event_curtailed_s = 0.0
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
                sw.close_stint(alert.at)
            sw.state = "lost"
            self.timeline(
                alert.at,
                f"DSP alert {alert.code}: {sw.premises} slot {sw.slot} "
                "unjoined by its Supplier; no longer controllable",
            )

    # -- the minimal policy ----------------------------------------------------------------------
    def _learn(self, t: float, kw: float) -> None:
        """Read the substation's change since the last sample (its trend taken out): what
        each 7.6 executed since then held back (a charger with no car, or a full one, sheds
        nothing, and the DNO can tell only this way), whether each 7.8 brought a drawing car
        back, and whether a notified charger plugged in meanwhile (``policy.attribute``: all
        three at once, so a car plugging in as the DNO curtails is not hidden by it)."""
        last = self._last_sample
        self._last_sample = (t, kw)
        if last is None:
            return
        t0, kw0 = last
        fresh = [
            s
            for s in self.switches.values()
            if s.state == "curtailed" and t0 < s.changed_at <= t and s.observed_kw is None
        ]
        back = [(p, k) for when, k, p in self._restored_log if t0 < when <= t]
        delta = kw - kw0 - self.forecaster.forecast().slope_kw_per_s * (t - t0)
        held = {s.premises for s in self.switches.values() if s.state == "curtailed"}
        quiet = held | {p for p, _ in back}  # these cannot have plugged in unseen
        unseen = [c for p, c in self.plug_ins.unseen().items() if p not in quiet]
        found = attribute(delta, [s.declared_kw for s in fresh], [k for _, k in back], unseen)
        if found is None:  # too many changes at once to tell apart: shares in proportion
            declared = sum(s.declared_kw for s in fresh)
            share = min(1.0, max(0.0, -delta / declared)) if declared > 0 else 0.0
            for sw in fresh:
                sw.observed_kw = sw.declared_kw * share
            return
        for sw, drawing in zip(fresh, found.curtailed_drawing, strict=True):
            sw.observed_kw = sw.declared_kw * drawing
            if drawing >= 0.75 and found.confident:  # drawing: its car is in, no step to come
                self.plug_ins.identify(sw.premises, t)
        if not found.confident:  # something unforeseen moved the load: learn nothing more
            return
        for (premises, _), drawing in zip(back, found.restored_drawing, strict=True):
            if drawing >= 0.75:
                self.plug_ins.identify(premises, t)
        if found.plug_in_kw is not None:
            self.plug_ins.step(found.plug_in_kw, t, quiet)

    def plug_in_cover_kw(self) -> float:
        """The largest notified charger that could still plug in unforeseen: not seen yet, and
        not held off by one of the DNO's own curtailments."""
        if not self.params.plug_in_cover:
            return 0.0
        held = {s.premises for s in self.switches.values() if s.state == "curtailed"}
        out = {p: c for p, c in self.plug_ins.unseen().items() if p not in held}
        p = self.params
        if p.plug_in_risk > 0:
            chance = arrival_chance(
                self.hour_of_day(self.now()), p.lead_s / 3600.0, p.arrival_hour, p.arrival_sd_h
            )
            return risk_cover_kw(out, chance, p.plug_in_risk)
        return cover_kw(out, self.plug_in_rate_per_h(), p.excursion_cost_kwh)

    def plug_in_rate_per_h(self) -> float:
        """Plug-ins an hour on this feeder: the steps seen in the last hour, or the prior."""
        now = self.now()
        recent = sum(1 for _, at, _ in self.plug_ins.steps if at > now - 3600.0)
        return max(float(recent), self.params.plug_in_rate_prior_per_h)

    def hour_of_day(self, t: float) -> float:
        return (self.start_hour + t / 3600.0) % 24.0

    def allowance_s(self, sw: ControlledSwitch, now: float) -> float:
        """How much longer this switch may stay curtailed from ``now``: the DNO's per-event and
        per-week bounds and the customer's consent terms (their longest curtailment per event,
        the time until their excluded hours begin). Unbounded under all-consenting but for the
        customer's terms."""
        p = self.params
        left = self.terms_allowance_s(sw, now)
        if p.policy == "minimal":
            stint = sw.stint_s(now)
            left = min(
                left,
                p.max_event_curtail_s - (sw.event_curtailed_s + stint),
                p.max_week_curtail_s - (sw.week_curtailed_s + stint),
            )
        return left

    def terms_allowance_s(self, sw: ControlledSwitch, now: float) -> float:
        """How much longer the customer's consent terms allow this switch to stay curtailed."""
        terms = self.consent.terms(sw.premises)
        left = math.inf  # asked for every candidate on every decision: no lists built
        if terms.max_event_s is not None:
            left = terms.max_event_s - (sw.event_curtailed_s + sw.stint_s(now))
        if terms.excluded_hours is not None:
            until = terms.hours_until_excluded(self.hour_of_day(now))
            if until is not None:
                left = min(left, until * 3600.0)
        return left

    def _duration_s(self, sw: ControlledSwitch) -> int:
        """The 7.6 duration: the scenario's, capped (whole minutes, the ESME's unit) at what
        the customer's consent terms leave, so the meter ends it even if the DNO did not."""
        if self.params.policy != "minimal":  # the first policy knew no consent terms
            return self.params.curtail_duration_s
        allowed = self.terms_allowance_s(sw, self.now())
        duration = min(float(self.params.curtail_duration_s), allowed)
        return max(60, int(duration // 60) * 60)

    def _error_kw(self, t: float) -> float:
        p = self.params
        if not p.forecast_error_kw:
            return 0.0
        return p.forecast_error_kw * math.sin(2 * math.pi * t / p.forecast_error_period_s)

    def short_risk_kw(self, fc: Forecast) -> float:
        """The load the DNO must expect within ``lead_s``, its pending changes included: a
        7.6 executed or 7.8 sent after the last sample does not show in it yet."""
        now_kw = self._last_sample[1] if self._last_sample is not None else fc.now_kw
        risk = now_kw + max(0.0, fc.slope_kw_per_s) * self.params.lead_s
        risk += self._error_kw(fc.t) + self._compensation_kw
        draw = self.params.expected_draw_fraction
        for sw in self.switches.values():
            if sw.state == "curtailed" and sw.changed_at > fc.t:
                risk -= sw.held_back_kw(draw)
        self._restored_since = [(t, kw) for t, kw in self._restored_since if t > fc.t]
        risk += sum(kw for _, kw in self._restored_since)
        return risk

    def target_kw(self) -> float:
        return self.rating_kw - self.margin.margin_kw - self.plug_in_cover_kw()

    def headroom_kw(self) -> float:
        """The headroom the policy keeps under the rating now (the report draws it): the
        minimal policy's margin and plug-in cover, the first policy's 1 - target fraction."""
        if self.params.policy == "minimal":
            return self.rating_kw - self.target_kw()
        return self.rating_kw * (1.0 - self.params.target_fraction)

    def _options(
        self,
        exclude: set[tuple[str, int]] | None = None,
        bounded: bool = True,
        below_s: float = math.inf,
    ) -> list[Option]:
        """Switches the minimal policy may curtail now: available, opted in, with enough of
        their allowance left to be worth an SRV (``bounded=False``: of their consent terms'
        only, when the DNO's own bounds leave nobody), curtailed less than ``below_s`` this
        week."""
        now = self.now()
        floor = self.params.release_margin_s + 300.0
        allowance = self.allowance_s if bounded else self.terms_allowance_s
        return [
            Option(sw.key, self._expected(sw, self._first_level(sw)), sw.week_curtailed_s)
            for sw in self.candidates()
            if (exclude is None or sw.key not in exclude)
            and sw.week_curtailed_s < below_s
            and allowance(sw, now) >= floor
        ]

    def _any_option(self, exclude: tuple[str, int]) -> bool:
        """Whether ``_options({exclude})`` is not empty: the bound's handover asks only that,
        so the first candidate found answers without costing every one."""
        now = self.now()
        floor = self.params.release_margin_s + 300.0
        return any(
            sw.key != exclude and self.allowance_s(sw, now) >= floor
            for sw in self.switches.values()
            if sw.state == "available" and self.consent.status(sw.premises) is Consent.OPTED_IN
        )

    def _least_curtailed_s(self, bounded: bool = True) -> float:
        """This week's curtailment of the least-curtailed ``_options(bounded=...)`` (inf:
        nobody), which is all a rotation asks of them."""
        now = self.now()
        floor = self.params.release_margin_s + 300.0
        allowance = self.allowance_s if bounded else self.terms_allowance_s
        return min(
            (
                sw.week_curtailed_s
                for sw in self.switches.values()
                if sw.state == "available"
                and self.consent.status(sw.premises) is Consent.OPTED_IN
                and allowance(sw, now) >= floor
            ),
            default=math.inf,
        )

    async def _shed(
        self,
        need_kw: float,
        purpose: str,
        exclude: set[tuple[str, int]],
        below_s: float | None = None,
    ) -> float:
        """Curtail the chosen switches for ``need_kw``; failures escalate to the next choice at
        once. Returns what the switches that executed are expected to hold back. A rotation
        (``below_s``: the outgoing customer's curtailment less ``SHARE_GAP`` stints) goes past the
        DNO's own bounds only to customers curtailed less than that: once everyone is past
        them, sharing is what is left of fairness."""
        got = 0.0
        tried = set(exclude)
        while need_kw - got > 0:
            picked = choose(self._options(tried), need_kw - got, self.params.srv_cost_kw)
            if sum(o.expected_kw for o in picked) < need_kw - got and (
                purpose != "rotate" or below_s is not None
            ):
                # the DNO's own bounds leave too few: the rating outranks them, the terms do not
                picked = choose(
                    self._options(
                        tried, bounded=False, below_s=math.inf if below_s is None else below_s
                    ),
                    need_kw - got,
                    self.params.srv_cost_kw,
                )
            if not picked:
                self._note_exhausted(need_kw - got)
                break
            self._exhausted_noted = False
            chosen = [self.switches[o.key] for o in picked]
            results = await asyncio.gather(
                *(self._curtail_one(sw, self._first_level(sw), purpose) for sw in chosen)
            )
            failed = 0
            for option, ok in zip(picked, results, strict=True):
                tried.add(option.key)
                if ok:
                    got += option.expected_kw
                    self._compensation_kw = max(0.0, self._compensation_kw - option.expected_kw)
                else:
                    failed += 1
            if failed:
                self.stats.escalations += 1
                purpose = "escalate"
                self.timeline(self.now(), f"{failed} switch(es) did not respond: escalating")
            else:
                break
        if got > 0:
            self.forecaster.discontinuity()
            self._last_action = self.now()
            if self.first_curtailment_at is None:
                self.first_curtailment_at = self.now()
        return got

    async def _hand_over(self, sw: ControlledSwitch, why: str, must: bool) -> bool:
        """Hand ``sw``'s curtailment to others in two steps: first curtail them for what it
        was seen to hold back; it is restored once the substation shows the room
        (``_restore_fitting``, handovers first), so a replacement whose car was not charging
        does not let the feeder over. ``must``: the customer's terms end now, restore it
        whatever the measurement says. One that held nothing back is restored at once."""
        if must:
            await self._make_room_for(sw, why)
            await self._restore_one(sw, why)
            self._last_action = self.now()
            return True
        if sw.handing_over:
            return False
        held = sw.held_back_kw(self.params.expected_draw_fraction)
        if sw.observed_kw is not None:  # what it was seen to hold back, not what it might
            held = min(held, sw.observed_kw)
        if held <= 0.5:
            # it held nothing back when curtailed, but a car may have plugged in behind it
            # since: restored at once only if the feeder has room for its whole charger
            kw = sw.held_back_kw(self.params.expected_draw_fraction)
            if self.short_risk_kw(self.forecaster.forecast()) + kw <= self.target_kw():
                await self._restore_one(sw, why)
                self._last_action = self.now()
                return True
            if why == "rotate":
                return False  # an idle switch costs nobody energy: rotate another one now
            held = kw
        below = None
        if why == "rotate":  # past the bounds, only to someone curtailed clearly less
            total = sw.week_curtailed_s + sw.stint_s(self.now())
            below = total - SHARE_GAP * self.params.rotate_after_s
        if await self._shed(held, "rotate", {sw.key}, below) > 0:
            sw.handing_over = True
            sw.handover_at = self.now()
            sw.handover_why = why
            return True
        return False

    async def _make_room_for(self, sw: ControlledSwitch, why: str) -> None:
        """Before a restore the customer's terms force: if the load the DNO must expect (the
        last sample, with every 7.6 executed and 7.8 answered since) plus what ``sw`` holds
        back would pass the target, curtail the difference first and wait for it, so the
        7.8 never lands on a feeder that other restores in flight have already filled. The
        terms still win: ``sw`` is restored whether or not a replacement was found."""
        # its whole charger: one seen idle when curtailed may have a car behind it by now
        kw = sw.held_back_kw(self.params.expected_draw_fraction)
        over = self.short_risk_kw(self.forecaster.forecast()) + kw - self.target_kw()
        if over > 0:
            await self._shed(over, why, {sw.key})

    def terms_due(self, sw: ControlledSwitch, now: float) -> bool:
        """The customer's terms will force this switch's restore within the handover window."""
        return self.terms_allowance_s(sw, now) <= self.params.release_margin_s + HANDOVER_S

    async def _release_due(self) -> None:
        """Hand over every switch whose allowance is about to end (the customer's terms: the
        replacement ``handover_s`` before ``release_margin_s``, the restore at it, whatever
        happens; the DNO's own bounds: only when someone can take it), then rotate the
        longest stint past ``rotate_after_s`` when a less-curtailed customer can take it."""
        p = self.params
        now = self.now()
        curtailed = [s for s in self.switches.values() if s.state == "curtailed"]
        for sw in curtailed:
            stuck = sw.handing_over and now - sw.handover_at > STUCK_HANDOVER_S
            ending = self.allowance_s(sw, now) <= p.release_margin_s + HANDOVER_S
            if stuck and (sw.handover_why != "rotate" or ending):
                # a bound or the terms end its stint, and its replacement made no room (its
                # car was not charging either): find another (a rotation alone may wait: it
                # is fairness only, and what fills the room may be a consumer's boost)
                sw.handing_over = False
            terms_left = self.terms_allowance_s(sw, now)
            if terms_left <= p.release_margin_s:
                await self._hand_over(sw, "consent-terms", must=True)
            elif terms_left <= p.release_margin_s + HANDOVER_S:
                await self._hand_over(sw, "consent-terms", must=False)
            elif self.allowance_s(sw, now) <= p.release_margin_s and self._any_option(sw.key):
                # The DNO's own bound: handed over when someone can take it, else kept (the
                # feeder's rating outranks the DNO's fairness target; the terms do not).
                await self._hand_over(sw, "bound", must=False)
        now = self.now()
        due = [
            s
            for s in self.switches.values()
            if s.state == "curtailed" and not s.handing_over and s.stint_s(now) >= p.rotate_after_s
        ]
        if not due or any(s.handing_over for s in self.switches.values()):
            return  # one handover at a time: the substation must show each one's effect
        # the least-curtailed customer who could take over: it changes only across an await
        least: float | None = None
        for sw in sorted(due, key=lambda s: (-s.stint_s(now), s.premises, s.slot)):
            stint = sw.stint_s(now)
            if least is None:
                least = self._least_curtailed_s()
                if math.isinf(least):  # everyone is past the DNO's own bound: share anyway
                    least = self._least_curtailed_s(bounded=False) + SHARE_GAP * p.rotate_after_s
            if least < sw.week_curtailed_s + stint:
                if await self._hand_over(sw, "rotate", must=False):
                    return  # one handover at a time
                least = None

    async def _decide_minimal(self) -> None:
        fc = self.forecaster.forecast()
        if self.guard.active is None:
            if self.short_risk_kw(fc) <= self.target_kw():
                return
            if not self._declare(fc):
                return
        await self._handle_withdrawals()
        await self._release_due()
        await self._renew_expiring()
        fc = self.forecaster.forecast()
        risk = self.short_risk_kw(fc)
        target = self.target_kw()
        self.margins_used.append(self.rating_kw - target)
        self.covers_used.append((self.now(), self.plug_in_cover_kw()))
        if risk > target:
            await self._shed(risk - target, "curtail", set())
            return
        await self._restore_fitting(fc, risk, target)
        if (
            self.guard.active is not None
            and not any(s.state == "curtailed" for s in self.switches.values())
            and self.now() - self._last_action >= self.params.end_quiet_s
            and risk <= target - self.params.hysteresis_kw
        ):
            await self.end("risk passed")

    async def _restore_fitting(self, fc: Forecast, risk: float, target: float) -> None:
        """Restore (7.8), most-curtailed customer first, every switch that fits back under the
        target less the hysteresis; never while the last change is still settling."""
        settling = self.now() - self._last_action < self.params.restore_hold_s
        if settling and any(s.changed_at > fc.t for s in self.switches.values()):
            return  # a change the substation has not shown yet
        draw = self.params.expected_draw_fraction
        now = self.now()
        curtailed = sorted(
            # while settling, only handovers: their replacement shows in the last sample
            (
                s
                for s in self.switches.values()
                if s.state == "curtailed" and (s.handing_over or not settling)
            ),
            key=lambda s: (
                not (s.handing_over or self.terms_due(s, now)),
                -(s.event_curtailed_s + s.stint_s(now)),
                s.premises,
                s.slot,
            ),
        )
        room = target - risk
        restored = False
        for sw in curtailed:
            kw = sw.held_back_kw(draw)
            # a handover's replacement was sized for it: no hysteresis to clear
            if kw > room - (0.0 if sw.handing_over else self.params.hysteresis_kw):
                if self.terms_due(sw, now):
                    # its terms will restore it soon whatever the room: keep that room for it,
                    # or a restore now would leave the forced one to take the feeder over
                    room -= kw
                continue
            if await self._restore_one(sw, "restore"):
                room -= kw
                restored = True
        if restored:
            self.forecaster.discontinuity()
            self._last_action = self.now()
