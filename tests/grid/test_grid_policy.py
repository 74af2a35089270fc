"""The minimal policy against a small closed-loop feeder: a flat household load plus the EV
chargers the monitor has not curtailed, measured every 30 s, SRVs that take 4 s. What it must
do: nothing when the feeder never passes its rating, one curtailment for one charger over,
rotation within the per-customer bound, and every customer's consent terms kept."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from emulator.clock import Clock
from emulator.grid.consent import Consent, ConsentRegister, ConsentTerms
from emulator.grid.gateway import GatewayAlert, SrvOutcome, SrvResult, SwitchLabel
from emulator.grid.governance import GuardedGateway, LastResortGuard
from emulator.grid.interventions import InterventionLog
from emulator.grid.monitor import DnoMonitor, MonitorParams
from emulator.grid.policy import MarginEstimator, Option, choose
from emulator.grid.population import EV_LABEL

RATING = 100.0
STEP = 30.0


@dataclass
class LoopFeeder:
    """Chargers that draw their kW unless curtailed (7.6 until its duration ends or a 7.8)."""

    chargers: dict[str, float]
    latency_s: float = 4.0
    idle: frozenset[str] = frozenset()  # chargers with no car: they draw nothing
    until: dict[str, float] = field(default_factory=dict)  # premises -> curtailed until
    held: list[tuple[float, str, bool]] = field(default_factory=list)  # (t, premises, held)

    def now(self) -> float:
        return asyncio.get_running_loop().time()

    def drawing_kw(self) -> float:
        now = self.now()
        return sum(
            kw
            for p, kw in self.chargers.items()
            if self.until.get(p, -1.0) <= now and p not in self.idle
        )

    def is_held(self, premises: str) -> bool:
        return self.until.get(premises, -1.0) > self.now()

    async def _answer(self, srv: str, premises: str, slot: int | None, **kw) -> SrvOutcome:
        sent = self.now()
        await asyncio.sleep(self.latency_s)
        return SrvOutcome(srv, premises, slot, SrvResult.EXECUTED, sent, self.latency_s, **kw)

    async def read_labels(self, premises: str) -> SrvOutcome:
        label = SwitchLabel(1, EV_LABEL, "hcalcs", closed=not self.is_held(premises))
        return await self._answer("7.7", premises, None, labels=(label,))

    async def curtail(self, premises: str, slot: int, duration_s: int, level=None):
        outcome = await self._answer("7.6", premises, slot)
        self.until[premises] = outcome.sent_at + duration_s
        return outcome

    async def restore(self, premises: str, slot: int) -> SrvOutcome:
        outcome = await self._answer("7.8", premises, slot)
        self.until[premises] = -1.0
        return outcome

    async def remove_boost(self, premises: str, slot: int) -> SrvOutcome:
        return await self._answer("7.10", premises, slot)

    async def add_boost(self, premises: str, slot: int) -> SrvOutcome:
        return await self._answer("7.9", premises, slot)

    def on_alert(self, callback) -> None:  # no alerts here
        self._callback: object = callback

    alert_type = GatewayAlert


def run_loop(
    house_kw, chargers, params, hours=3.0, terms=None, start_hour=17.0, latency_s=4.0, idle=()
):
    """Step ``house_kw(t)`` + the uncurtailed chargers for ``hours``; every charger is opted
    in (``terms``: premises -> ConsentTerms); each SRV takes ``latency_s``. Returns
    (monitor, feeder, [(t, load)])."""
    consent = ConsentRegister()
    for premises, kw in chargers.items():
        consent.set(premises, Consent.OPTED_IN, 0.0, kw, terms=(terms or {}).get(premises))
    feeder = LoopFeeder(dict(chargers), latency_s, frozenset(idle))
    samples: list[tuple[float, float]] = []

    async def main():
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        guard = LastResortGuard("F", consent, True)
        now = lambda: loop.time() - t0  # noqa: E731
        monitor = DnoMonitor(
            "F", RATING, GuardedGateway(feeder, guard, now), guard, consent,
            InterventionLog("F"), now=now, params=params, start_hour=start_hour,
        )  # fmt: skip
        await monitor.discover()
        for _ in range(int(hours * 3600 / STEP)):
            t = now()
            load = house_kw(t) + feeder.drawing_kw()
            samples.append((t, load))
            for p in chargers:
                feeder.held.append((t, p, feeder.is_held(p)))
            monitor.observe(t, load)
            await asyncio.sleep(STEP)
        await monitor.settle()
        return monitor

    monitor = Clock().run(main)
    return monitor, feeder, samples


def minimal(**changes) -> MonitorParams:
    base = dict(policy="minimal", margin_kw=0.0, margin_sigmas=0.0, plug_in_cover=False)
    return MonitorParams(**{**base, **changes})


def srvs(monitor: DnoMonitor, srv: str) -> list:
    return [r for e in monitor.log.events for r in e.srvs if r.srv == srv]


def test_a_feeder_that_never_exceeds_its_rating_gets_no_srv():
    chargers = {f"P{i}": 7.4 for i in range(6)}
    monitor, _, samples = run_loop(lambda t: 50.0, chargers, minimal(margin_kw=1.0))
    assert max(load for _, load in samples) == pytest.approx(50.0 + 6 * 7.4)
    assert monitor.log.events == []
    sent = [r.srv for r in monitor.log.all_srvs()]
    assert sent == ["7.7"] * 6  # discovery only: no emergency, no switching


def test_one_charger_over_the_rating_gets_exactly_one_curtailment():
    chargers = {f"P{i}": 7.4 for i in range(6)}
    house = RATING + 7.4 - 6 * 7.4  # all six charging: exactly one charger over
    monitor, feeder, samples = run_loop(lambda t: house, chargers, minimal(), hours=0.5)
    curtailed = [r for r in srvs(monitor, "7.6") if r.purpose != "renew"]
    assert len(curtailed) == 1 and curtailed[0].ok
    assert {r.premises for r in srvs(monitor, "7.6")} == {curtailed[0].premises}  # renewed
    assert srvs(monitor, "7.8") == []
    late = [load for t, load in samples if t > 60.0]
    assert max(late) <= RATING + 1e-9


def test_switches_are_added_as_the_load_rises_and_restored_as_soon_as_it_falls():
    chargers = {f"P{i}": 7.4 for i in range(6)}
    base = RATING - 6 * 7.4

    def house(t):  # one charger over for 20 min, two for 20, then back under
        return base + (7.4 if t < 1200 else 14.8 if t < 2400 else -10.0)

    params = minimal(hysteresis_kw=0.5, rotate_after_s=7200.0)  # no rotation here
    monitor, _, samples = run_loop(house, chargers, params, hours=1.2)
    added = [r for r in srvs(monitor, "7.6") if r.purpose != "renew"]
    assert added[0].sent_at < 1200 and len(added) >= 2  # one, then more as the load rose
    assert all(r.sent_at > 1200 for r in added[1:])
    restored = srvs(monitor, "7.8")
    assert {r.premises for r in restored} == {r.premises for r in added}  # all back...
    assert all(r.sent_at >= 2400 for r in restored)  # ...once the load fell, not before
    # over only in the sample where the load stepped up (no margin was asked for here)
    over = [t for t, load in samples if load > RATING + 1e-9 and t > 60.0]
    assert over == [t for t, _ in samples if 1200 <= t < 1200 + STEP]


def test_rotation_hands_the_curtailment_to_another_customer_within_the_bound():
    chargers = {f"P{i}": 7.4 for i in range(6)}
    house = RATING + 7.4 - 6 * 7.4
    params = minimal(rotate_after_s=900.0, max_event_curtail_s=1200.0)
    monitor, feeder, samples = run_loop(lambda t: house, chargers, params, hours=1.5)
    held_s: dict[str, float] = {}
    for _, premises, held in feeder.held:
        held_s[premises] = held_s.get(premises, 0.0) + (STEP if held else 0.0)
    assert len([p for p, s in held_s.items() if s > 0]) >= 4  # handed on, not one customer
    # every stint ended within the rotation slice plus the time to hand over
    assert max(held_s.values()) <= 1200.0 + STEP
    rotations = [r for r in srvs(monitor, "7.6") if r.purpose == "rotate"]
    assert rotations and all(r.ok for r in rotations)
    assert max(load for t, load in samples if t > 60.0) <= RATING + 1e-9


def test_rotation_still_shares_once_everyone_is_past_the_bound():
    """Two chargers over for two hours among four customers with a 20-minute bound: the
    rating outranks the bound, so everyone passes it, and the stints are still handed on
    (to a customer curtailed half a stint less) instead of staying where they are."""
    chargers = {f"P{i}": 7.4 for i in range(4)}
    house = RATING + 2 * 7.4 - 4 * 7.4
    params = minimal(rotate_after_s=900.0, max_event_curtail_s=1200.0)
    monitor, feeder, samples = run_loop(lambda t: house, chargers, params, hours=2.0)
    held_s = dict.fromkeys(chargers, 0.0)
    for _, premises, held in feeder.held:
        held_s[premises] += STEP if held else 0.0
    assert min(held_s.values()) > 1200.0  # the bound could not hold for anyone
    mean = sum(held_s.values()) / len(held_s)
    assert max(held_s.values()) <= 1.25 * mean, held_s
    assert max(load for t, load in samples if t > 60.0) <= RATING + 1e-9


@pytest.mark.parametrize(
    "terms",
    [
        ConsentTerms(max_event_s=600.0),
        ConsentTerms(excluded_hours=(17.25, 17.75)),
        ConsentTerms(max_event_s=900.0, excluded_hours=(23.5, 0.5)),
    ],
    ids=["max-10-min", "excluded-17:15-17:45", "max-15-min-and-excluded-over-midnight"],
)
def test_a_customers_consent_terms_are_never_broken(terms):
    chargers = {f"P{i}": 7.4 for i in range(4)}
    house = RATING + 7.4 - 4 * 7.4
    limited = {p: terms for p in chargers}  # everyone, so nobody can carry it for them
    params = minimal(rotate_after_s=3600.0, max_event_curtail_s=7200.0)
    monitor, feeder, _ = run_loop(lambda t: house, chargers, params, hours=1.5, terms=limited)
    assert srvs(monitor, "7.6"), "the feeder needed curtailing"
    for premises in chargers:
        held = [t for t, p, h in feeder.held if p == premises and h]
        if terms.max_event_s is not None:
            assert len(held) * STEP <= terms.max_event_s
        for t in held:
            assert not terms.excluded_at(17.0 + t / 3600.0), (premises, t)
    # the 7.6 duration itself never reaches past the terms (the meter would end it)
    for r in srvs(monitor, "7.6"):
        assert r.ok


def test_choose_prefers_the_least_curtailed_then_the_closest_fit():
    options = [
        Option(("A", 1), 7.4, 600.0),
        Option(("B", 1), 7.4, 0.0),
        Option(("C", 1), 11.0, 0.0),
    ]
    assert [o.key for o in choose(options, 7.0, 1.5)] == [("B", 1)]
    assert [o.key for o in choose(options, 9.0, 1.5)] == [("C", 1)]  # one SRV, 2 kW over
    assert {o.key for o in choose(options, 15.0, 1.5)} == {("B", 1), ("C", 1)}
    assert choose(options, 0.0, 1.5) == []


def test_the_margin_grows_with_the_forecast_error():
    quiet, noisy = MarginEstimator(1.0, 2.0, 60.0), MarginEstimator(1.0, 2.0, 60.0)
    for i in range(60):
        quiet.observe(i * STEP, 100.0, 0.0, False)
        noisy.observe(i * STEP, 100.0 + (3.0 if i % 2 else -3.0), 0.0, False)
    assert quiet.margin_kw == pytest.approx(1.0)
    assert noisy.margin_kw > 1.0 + 2.0 * 5.0  # 6 kW swings, scaled to the 60 s lead


@pytest.mark.parametrize("latency_s", [4.0, 27.0], ids=["4s-srvs", "27s-srvs"])
def test_a_restore_forced_by_terms_does_not_clash_with_a_regular_restore(latency_s):
    """P0 off first, then P1 (10 min per event), nobody left to take over from P1. The load
    falls by room for one switch just after P1's handover window opened: the room goes to P1
    (due anyway), not to P0 (curtailed longer), whose 7.8 would leave P1's forced one to land
    on a full feeder (at 27 s SRVs, one charger over, as slow-wan was). No 7.7 + 7.6 renews P1
    either: its terms cap any renewal at the running 7.6's own end."""
    chargers = {"P0": 7.4, "P1": 7.4}
    terms = {"P1": ConsentTerms(max_event_s=600.0)}

    def house(t):  # one charger over, two from 2 min, room for one again from 9 min
        return 90.0 if t < 120 else 99.0 if t < 540 else 90.0

    params = minimal(rotate_after_s=7200.0, max_event_curtail_s=7200.0)
    monitor, feeder, samples = run_loop(
        house, chargers, params, hours=0.4, terms=terms, latency_s=latency_s
    )
    sent = [(r.srv, r.premises, r.purpose) for r in monitor.log.all_srvs() if r.srv != "7.7"]
    assert sent == [("7.6", "P0", "curtail"), ("7.6", "P1", "curtail"), ("7.8", "P1", "restore")]
    assert max(load for t, load in samples if t > 200.0) <= RATING + 1e-9
    held = [t for t, p, h in feeder.held if p == "P1" and h]
    assert len(held) * STEP <= 600.0


def test_a_forced_restore_curtails_its_cover_first_and_waits_for_it():
    """P0's terms (10 min per event) force its restore while the feeder has no room, and the
    DNO's own per-event bound (400 s) leaves nobody for a voluntary handover. At 27 s SRVs a
    7.8 sent first and the cover after it would land a sample apart (one charger over): the
    DNO curtails the cover first, waits for it, then restores P0."""
    chargers = {"P0": 7.4, "P1": 7.4, "P2": 7.4}
    terms = {"P0": ConsentTerms(max_event_s=600.0)}
    house = RATING + 7.4 - 3 * 7.4 - 0.5  # one charger over, less 0.5 kW
    params = minimal(rotate_after_s=7200.0, max_event_curtail_s=400.0)
    monitor, feeder, samples = run_loop(
        lambda t: house, chargers, params, hours=0.4, terms=terms, latency_s=27.0
    )
    sent = [r for r in monitor.log.all_srvs() if r.srv != "7.7"]
    forced = [i for i, r in enumerate(sent) if (r.srv, r.purpose) == ("7.8", "consent-terms")]
    assert forced and sent[forced[0]].premises == "P0"
    cover = sent[forced[0] - 1]
    assert (cover.srv, cover.premises, cover.ok) == ("7.6", "P1", True)
    assert cover.sent_at + 27.0 <= sent[forced[0]].sent_at  # answered before the 7.8 left
    held = [t for t, p, h in feeder.held if p == "P0" and h]
    assert len(held) * STEP <= 600.0
    assert max(load for t, load in samples if t > 60.0) <= RATING + 1e-9


def test_a_rotation_keeps_both_customers_off_for_one_sample_only():
    """A handover curtails the replacement first and restores the outgoing customer once the
    substation shows the replacement's effect: the next sample, not one more for the restore
    hold (both off sheds a charger twice over)."""
    chargers = {f"P{i}": 7.4 for i in range(6)}
    house = RATING + 7.4 - 6 * 7.4
    params = minimal(rotate_after_s=600.0, max_event_curtail_s=3600.0, restore_hold_s=30.0)
    monitor, feeder, _ = run_loop(lambda t: house, chargers, params, hours=1.0)
    sent = [r for r in monitor.log.all_srvs() if r.srv in ("7.6", "7.8")]
    rotations = [r for r in sent if r.srv == "7.6" and r.purpose == "rotate"]
    assert len(rotations) >= 3
    for r in rotations:
        back = [x for x in sent if x.srv == "7.8" and x.sent_at > r.sent_at]
        assert back and back[0].sent_at - r.sent_at <= STEP + 2 * feeder.latency_s, r
    both_off = sum(
        1
        for t in sorted({t for t, _, _ in feeder.held})
        if sum(h for t2, _, h in feeder.held if t2 == t) > 1
    )
    assert both_off <= len(rotations)  # one sample per handover at most


def test_a_stint_at_the_dnos_bound_is_handed_over_even_when_the_first_replacement_is_idle():
    """P0 carries a one-charger need; at the DNO's per-event bound (15 min) the replacement
    chosen first, P1, has no car, so curtailing it makes no room for P0. The handover is tried
    again with another replacement instead of leaving P0 off for the evening."""
    chargers = {f"P{i}": 7.4 for i in range(5)}
    house = RATING + 7.4 - 4 * 7.4  # four drawing (P1 has no car): one charger over
    params = minimal(rotate_after_s=7200.0, max_event_curtail_s=900.0)
    monitor, feeder, samples = run_loop(lambda t: house, chargers, params, hours=0.75, idle={"P1"})
    sent = [(r.srv, r.premises) for r in monitor.log.all_srvs() if r.srv in ("7.6", "7.8")]
    assert sent[0] == ("7.6", "P0") and ("7.6", "P1") in sent  # P1 first: no car to see
    held = [t for t, p, h in feeder.held if p == "P0" and h]
    assert len(held) * STEP <= 900.0 + 4 * STEP  # released at its bound, give or take
    assert max(load for t, load in samples if t > 60.0) <= RATING + 1e-9


def test_the_margin_median_stays_exact_as_old_errors_leave_the_window():
    """The estimator keeps its errors' sizes sorted rather than sorting them per sample: its
    spread must equal a fresh median of the errors still in the window, steps and all."""
    margin = MarginEstimator(1.0, 2.0, 60.0, window=7)
    kws = [50.0 + (i % 5) * 1.7 - (i % 3) * 0.9 + (7.4 if i % 11 == 0 else 0.0) for i in range(60)]
    for i, kw in enumerate(kws):
        margin.observe(i * STEP, kw, 0.01 * (i % 4 - 1.5), disturbed=i % 9 == 0)
        sizes = sorted(abs(e) for e in margin._errors)
        expected = 1.4826 * sizes[len(sizes) // 2] if sizes else 0.0
        assert margin.rms_kw == expected
    assert len(margin._errors) == 7
