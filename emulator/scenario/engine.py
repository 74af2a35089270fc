"""Run a scenario in simulated time: physics every step, the DNO monitor on every sample,
scripted consumer/Supplier/fault events, against whatever ``FeederHan`` it is given.

The engine does not choose the HAN: the runner gives it the real one (``world.FeederWorld``),
unit tests a double. Everything here runs on the emulator clock's event loop.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emulator.grid.consent import Consent, ConsentRegister, ConsentTerms
from emulator.grid.floors import oracle_floor
from emulator.grid.gateway import SRV_ADD_BOOST, SRV_RESTORE
from emulator.grid.governance import GuardedGateway, LastResortGuard, RecordingGateway
from emulator.grid.interventions import InterventionLog
from emulator.grid.loads import FeederPhysics
from emulator.grid.monitor import DnoMonitor
from emulator.grid.plant import FeederHan, SwitchingSeen
from emulator.grid.population import Population, generate
from emulator.grid.report import RunRecord
from emulator.scenario.spec import Scenario, ScenarioEvent

log = logging.getLogger(__name__)

#: The SECMP0046 target for these SRVs, end to end.
SRV_TARGET_S = 30.0


def build_population(scenario: Scenario) -> Population:
    return generate(
        scenario.premises, scenario.feeder_id, scenario.households, scenario.ev, scenario.seed
    )


def build_consent(scenario: Scenario, population: Population) -> ConsentRegister:
    """Consent for premises with an EV switch, drawn from the seed; explicit lists win."""
    register = ConsentRegister()
    rng = np.random.default_rng(scenario.seed + 2)
    terms_rng = np.random.default_rng(scenario.seed + 3)  # its own draws: consent unchanged
    spec = scenario.consent
    for plan in population.premises:
        if plan.ev_switch is None:
            continue
        number = plan.index + 1
        draw = rng.random()
        if number in spec.declined:
            status = Consent.DECLINED
        elif number in spec.opted_in:
            status = Consent.OPTED_IN
        elif draw < spec.opted_in_share:
            status = Consent.OPTED_IN
        elif draw < spec.opted_in_share + spec.declined_share:
            status = Consent.DECLINED
        else:
            continue  # not asked
        ev = plan.ev_switch
        level = ev.curtail_level if ev.kind == "plcs" else None  # known from the sign-up
        terms = None
        if status is Consent.OPTED_IN and terms_rng.random() < spec.terms_share:
            terms = ConsentTerms(
                spec.terms_max_event_min * 60.0 if spec.terms_max_event_min > 0 else None,
                (spec.terms_excluded_hours[0], spec.terms_excluded_hours[1])
                if spec.terms_excluded_hours
                else None,
            )
        register.set(plan.premises_id, status, 0.0, plan.charger_kw, plcs_level=level, terms=terms)
    return register


@dataclass
class EventResult:
    at: float
    kind: str
    target: str
    premises: str | None
    slot: int | None
    outcome: str


@dataclass
class RunResult:
    record: RunRecord
    monitor: DnoMonitor
    recorder: RecordingGateway
    guard: LastResortGuard
    consent: ConsentRegister
    population: Population
    events: list[EventResult] = field(default_factory=list)
    han_stats: dict[str, Any] = field(default_factory=dict)
    switching: list[SwitchingSeen] = field(default_factory=list)


#: ``on_step(step, t, load_kw, headroom_kw, monitor, recorder)``: a watcher of the run (the web
#: console) sees each step as it is sampled, the DNO's state and the SRVs sent so far; it may
#: take a hold on the simulated clock there (``Clock.hold``) to pause or pace the run.
StepHook = Callable[[int, float, float, float, DnoMonitor, RecordingGateway], None]


def _fmt(scenario: Scenario, t: float) -> str:
    total = int(scenario.start_hour * 3600 + t) % 86400
    return f"{total // 3600:02d}:{total % 3600 // 60:02d}:{total % 60:02d}"


async def run(
    scenario: Scenario,
    han: FeederHan,
    population: Population,
    consent: ConsentRegister,
    *,
    now: Callable[[], float],
    echo: Callable[[str], None] | None = None,
    progress: Callable[[float], None] | None = None,
    on_step: StepHook | None = None,
) -> RunResult:
    """Run ``scenario`` to its end on the running (simulated) loop; returns what happened.
    ``on_step`` sees each step once sampled, before the step's sleep (see ``StepHook``)."""
    wall_start = time.perf_counter()
    echo = echo or (lambda line: None)
    timeline: list[tuple[float, str]] = []
    t0 = now()

    def note(t: float, text: str) -> None:
        timeline.append((t - t0, text))
        echo(f"{_fmt(scenario, t - t0)}  {text}")

    physics = FeederPhysics(population, scenario.households, scenario.start_hour, scenario.seed)
    guard = LastResortGuard(
        scenario.feeder_id, consent, scenario.governance.market_flexibility_failed
    )
    recorder = RecordingGateway(han.gateway)
    gateway = GuardedGateway(recorder, guard, lambda: now() - t0)
    interventions = InterventionLog(scenario.feeder_id)
    monitor = DnoMonitor(
        scenario.feeder_id,
        scenario.rating_kw,
        gateway,
        guard,
        consent,
        interventions,
        now=lambda: now() - t0,
        params=scenario.dno,
        energy_probe=lambda: float(physics.curtailed_kwh.sum()),
        timeline=lambda t, text: note(t + t0, text),
        reason_context=scenario.governance.context,
        start_hour=scenario.start_hour,
        chargers={p.premises_id: p.charger_kw for p in population.premises if p.charger_kw > 0},
    )
    note(
        now(),
        f"scenario {scenario.name}: feeder {scenario.feeder_id}, {scenario.premises} "
        f"premises, rating {scenario.rating_kw:.0f} kW",
    )
    for text in han.notes:  # e.g. which premises runs the firmware
        note(now(), text)
    await monitor.discover()

    steps = int(round(scenario.duration_s / scenario.step_s))
    ts = np.zeros(steps)
    load = np.zeros(steps)
    demand = np.zeros(steps)
    headroom = np.zeros(steps)
    output = np.ones((steps, len(population.premises)))
    pending = list(scenario.events)
    results: list[EventResult] = []
    next_progress = 0.1
    for i in range(steps):
        t = now() - t0
        while pending and pending[0].at_s <= t:
            results.append(
                await _apply_event(pending.pop(0), han, monitor, consent, population, t, note, now)
            )
        output[i] = han.outputs()
        sample = physics.step(scenario.step_s, output[i])
        ts[i] = t
        load[i] = sample.total_kw
        demand[i] = sample.household_kw + sample.ev_demand_kw
        monitor.observe(t, sample.total_kw)
        headroom[i] = monitor.headroom_kw()
        if progress is not None and (i + 1) / steps >= next_progress:
            progress((i + 1) / steps)
            next_progress += 0.1
        if on_step is not None:
            on_step(i, t, float(load[i]), float(headroom[i]), monitor, recorder)
        await asyncio.sleep(scenario.step_s)
    await monitor.settle()
    monitor.close_open_event()
    han_stats = han.stats()
    switching = han.switching_seen()

    record = RunRecord(
        scenario=scenario.name,
        description=scenario.description,
        feeder=scenario.feeder_id,
        premises=scenario.premises,
        rating_kw=scenario.rating_kw,
        start_utc=scenario.start_utc.isoformat(),
        t=ts,
        load_kw=load,
        demand_kw=demand,
        interventions=interventions,
        summary={},
        timeline=timeline,
        output=output,
        premises_ids=[plan.premises_id for plan in population.premises],
        headroom_kw=headroom,
    )
    result = RunResult(
        record, monitor, recorder, guard, consent, population, results, han_stats, switching
    )
    record.summary = summarise(result, scenario, time.perf_counter() - wall_start)
    return result


def _resolve(target: str, monitor: DnoMonitor, population: Population) -> tuple[str, int] | None:
    kind, _, number = target.partition(":")
    if kind in ("curtailed", "candidate"):
        index = int(number or 0)
        if kind == "curtailed":
            pool = sorted(
                (s for s in monitor.switches.values() if s.state == "curtailed"),
                key=lambda s: (s.curtailed_at or 0.0, s.premises),
            )
        else:
            pool = monitor.candidates()
        return pool[index].key if index < len(pool) else None
    number_str = target.lstrip("Pp")
    if number_str.isdigit() and 1 <= int(number_str) <= len(population.premises):
        plan = population.premises[int(number_str) - 1]
        if plan.ev_switch is not None:
            return plan.premises_id, plan.ev_switch.slot
    return None


async def _apply_event(
    event: ScenarioEvent, han: FeederHan, monitor: DnoMonitor, consent: ConsentRegister,
    population: Population, t: float, note: Callable[[float, str], None],
    now: Callable[[], float],
) -> EventResult:  # fmt: skip
    target = _resolve(event.target, monitor, population)
    if target is None:
        note(now(), f"scripted {event.kind} on {event.target}: no such switch now (skipped)")
        return EventResult(t, event.kind, event.target, None, None, "no-target")
    premises, slot = target
    if event.kind == "boost":
        accepted = await han.press_boost(premises, slot)
        outcome = "accepted" if accepted else "refused"
        note(now(), f"consumer at {premises} presses boost: {outcome}")
    elif event.kind == "silence":
        han.silence_switch(premises, slot)
        outcome = "silenced"
        note(now(), f"fault: switch at {premises} slot {slot} stops responding")
    elif event.kind == "unjoin":
        done = await han.supplier_unjoin(premises, slot)
        outcome = "unjoined" if done else "unjoin-rejected"
        note(now(), f"Supplier unjoins the HCALCS at {premises} slot {slot} (SRV 8.8.1): {outcome}")
    else:  # withdraw
        consent.withdraw(premises, t)
        outcome = "withdrawn"
        note(now(), f"customer at {premises} withdraws consent")
    return EventResult(t, event.kind, event.target, premises, slot, outcome)


def unconsented(
    seen: list[SwitchingSeen], consent: ConsentRegister
) -> list[tuple[Consent, SwitchingSeen]]:
    """The switching seen at premises whose consent did not allow it at that moment: declined
    or never asked (anything at all), withdrawn (anything but undoing: 7.8, 7.9 at the meter;
    a switch-side note cannot tell a restore from a curtailment, so it is not judged there)."""
    found: list[tuple[Consent, SwitchingSeen]] = []
    for s in seen:
        status = consent.status_at(s.premises, s.at)
        if status in (Consent.DECLINED, Consent.NOT_ASKED):
            found.append((status, s))
        elif (
            status is Consent.WITHDRAWN
            and s.where == "meter"
            and s.srv not in (SRV_RESTORE, SRV_ADD_BOOST)
        ):
            found.append((status, s))
    return found


def curtailment_minutes(record: RunRecord, step_s: float) -> dict[str, float]:
    """Minutes each premises' EV switch was held below full output by a remote command,
    read from the switch outputs the physics stepped with (what the customer lived)."""
    held = (record.output < 1.0).sum(axis=0) * step_s / 60.0
    return {p: float(m) for p, m in zip(record.premises_ids, held, strict=True) if m > 0}


def broken_terms(result: RunResult, scenario: Scenario) -> list[str]:
    """Every consent term broken, judged on the switch outputs (not the DNO's own log): a
    customer curtailed for longer than their per-event limit, or during their excluded hours.
    The empty list when none was."""
    record = result.record
    step = scenario.step_s
    end_of_run = float(record.t[-1]) + step if record.t.size else 0.0
    spans = [
        (e.start, e.end if e.end is not None else end_of_run) for e in record.interventions.events
    ]
    hours = (scenario.start_hour + record.t / 3600.0) % 24.0
    found: list[str] = []
    for index, premises in enumerate(record.premises_ids):
        terms = result.consent.terms(premises)
        held = record.output[:, index] < 1.0
        if not held.any():
            continue
        if terms.excluded_hours is not None:
            inside = held & np.array([terms.excluded_at(h) for h in hours])
            if inside.any():
                found.append(
                    f"{premises}: curtailed {inside.sum() * step / 60:.1f} min inside its "
                    f"excluded hours ({terms.describe()})"
                )
        if terms.max_event_s is not None:
            for start, end in spans:
                in_event = held & (record.t >= start) & (record.t < end + step)
                minutes = in_event.sum() * step / 60.0
                if minutes * 60.0 > terms.max_event_s:
                    found.append(
                        f"{premises}: curtailed {minutes:.1f} min in one event ({terms.describe()})"
                    )
    return found


def summarise(result: RunResult, scenario: Scenario, wall_seconds: float) -> dict[str, Any]:
    record = result.record
    sent = result.recorder.outcomes
    answered = [o for o in sent if not o.unanswered]
    responses = np.array([o.response_s for o in answered], dtype=float)
    unanswered = len(sent) - len(answered)
    first = result.monitor.first_curtailment_at
    after = record.load_kw[record.t >= first] if first is not None else np.array([])
    declined = result.consent.ever_declined()
    bad = unconsented(result.switching, result.consent)
    declined_switched = {s.premises for status, s in bad if status is not Consent.NOT_ASKED}
    not_asked_switched = {s.premises for status, s in bad if status is Consent.NOT_ASKED}
    events = record.interventions.events
    over = np.maximum(record.demand_kw - scenario.rating_kw, 0.0)
    needed = float(over.sum() * scenario.step_s / 3600.0)
    shed = float(sum(e.energy_curtailed_kwh for e in events))
    minutes = curtailment_minutes(record, scenario.step_s)
    held = np.array(list(minutes.values()), dtype=float)
    event_srvs = sum(len(e.srvs) for e in events)
    margins = np.array(result.monitor.margins_used, dtype=float)
    floor = oracle_floor(
        result.population,
        scenario.households,
        start_hour=scenario.start_hour,
        seed=scenario.seed,
        consenting={
            plan.premises_id
            for plan in result.population.premises
            if result.consent.status_at(plan.premises_id, 0.0) is Consent.OPTED_IN
        },
        rating_kw=scenario.rating_kw,
        step_s=scenario.step_s,
        duration_s=scenario.duration_s,
    )
    covers = np.array([c for _, c in result.monitor.covers_used], dtype=float)
    return {
        "scenario": scenario.name,
        "feeder": scenario.feeder_id,
        "premises": scenario.premises,
        "simulated_hours": round(scenario.duration_s / 3600.0, 3),
        "feeder_rating_kw": round(scenario.rating_kw, 3),
        "feeder_peak_kw": round(float(record.load_kw.max()), 3),
        "feeder_peak_kw_without_curtailment": round(float(record.demand_kw.max()), 3),
        "first_curtailment_s": None if first is None else round(first, 1),
        "feeder_peak_kw_after_first_curtailment": (
            round(float(after.max()), 3) if after.size else None
        ),
        "srv_count": len(sent),
        "srv_by_type": {
            srv: sum(1 for o in sent if o.srv == srv) for srv in sorted({o.srv for o in sent})
        },
        "srv_failed": sum(1 for o in sent if not o.ok),
        "srv_response_s_p50": round(float(np.median(responses)), 3) if responses.size else None,
        "srv_response_s_max": round(float(responses.max()), 3) if responses.size else None,
        "srv_over_30s": int((responses > SRV_TARGET_S).sum()) + unanswered,
        "srv_unanswered": unanswered,
        "srv_refused_by_guard": len(result.guard.refusals),
        "declined_premises": len(declined),
        "declined_premises_switched": len(declined_switched),
        "not_asked_premises_switched": len(not_asked_switched),
        "switching_without_consent": [
            f"{s.at:.0f}s {s.premises} slot {s.slot} ({status.value}): {s.detail}"
            + (f" SRV {s.srv}" if s.srv else "")
            for status, s in bad[:20]
        ],
        "han_switching_seen": len(result.switching),
        "consented_premises": len(result.consent.opted_in()),
        "ev_switches_discovered": len(result.monitor.switches),
        "interventions": len(events),
        "customers_affected": len(
            {r.premises for e in events for r in e.srvs if r.srv == "7.6" and r.ok}
        ),
        "energy_curtailed_kwh": round(shed, 3),
        "policy": scenario.dno.policy,
        "energy_needed_kwh": round(needed, 3),
        "energy_shed_kwh": round(shed, 3),
        "shed_to_needed_ratio": round(shed / needed, 3) if needed > 0 else None,
        # the least any policy keeping 0 minutes over whenever a car comes could shed here
        # (emulator.grid.floors: an oracle's, room kept for the cars it cannot hold off)
        "floor_shed_to_needed_ratio": None if floor.ratio is None else round(floor.ratio, 3),
        # in kWh too: deferred charging comes back later, so a policy that sheds early
        # raises its own energy_needed_kwh; the oracle's run is the reference for both
        "floor_shed_kwh": round(floor.shed_kwh, 3),
        "floor_needed_kwh": round(floor.needed_kwh, 3),
        "minutes_over_rating": round(
            float((record.load_kw > scenario.rating_kw).sum() * scenario.step_s / 60.0), 1
        ),
        "kw_over_rating_max": round(
            float(max(0.0, (record.load_kw - scenario.rating_kw).max())), 3
        ),
        "margin_kw_mean": round(float(margins.mean()), 3) if margins.size else None,
        "margin_kw_max": round(float(margins.max()), 3) if margins.size else None,
        "plug_in_cover_kw_mean": round(float(covers.mean()), 3) if covers.size else None,
        "excursion_cost_kwh": (
            None if math.isinf(scenario.dno.excursion_cost_kwh) else scenario.dno.excursion_cost_kwh
        ),
        "curtailment_minutes_max": round(float(held.max()), 1) if held.size else 0.0,
        "curtailment_minutes_mean": round(float(held.mean()), 1) if held.size else 0.0,
        "curtailment_max_over_mean": (
            round(float(held.max() / held.mean()), 3) if held.size else None
        ),
        "curtailment_minutes_by_customer": {p: round(m, 1) for p, m in sorted(minutes.items())},
        # an event the run ended inside: its sharing is not finished, so not judged yet
        "event_open_at_end": any(e.end is None for e in events),
        "event_srvs": event_srvs,
        "srvs_per_kwh_shed": round(event_srvs / shed, 3) if shed > 0 else None,
        "consent_terms": {
            p: result.consent.terms(p).describe()
            for p in result.consent.opted_in()
            if result.consent.terms(p).describe() != "none"
        },
        "consent_terms_broken": broken_terms(result, scenario),
        "escalations": result.monitor.stats.escalations,
        "dsp_alerts": len(result.monitor.stats.alerts),
        "scripted_events": [
            {
                "at_s": e.at,
                "kind": e.kind,
                "target": e.target,
                "premises": e.premises,
                "outcome": e.outcome,
            }
            for e in result.events
        ],
        "han": result.han_stats,
        "wall_seconds": round(wall_seconds, 3),
    }
