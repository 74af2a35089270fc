"""What the DNO learns of cars plugging in from the substation alone (``policy.attribute``,
``policy.PlugInLedger``), and the safety it buys: the plug-in cover never forgets a charger
whose car has not come yet."""

from __future__ import annotations

import dataclasses
import math

import pytest
from grid_helpers import run_with_double

from emulator.grid.consent import Consent
from emulator.grid.policy import (
    PlugInLedger,
    arrival_chance,
    attribute,
    cover_kw,
    risk_cover_kw,
)
from emulator.scenario import spec


def test_a_car_plugging_in_as_the_dno_curtails_is_not_hidden_by_it():
    # a 7.4 kW switch curtailed (drawing) and an 11 kW car arriving in the same sample: +3.6
    found = attribute(3.6, [7.4], [], [7.4, 11.0, 22.0])
    assert found is not None and found.confident
    assert found.curtailed_drawing == (1.0,) and found.plug_in_kw == 11.0


def test_a_restored_car_and_a_plug_in_are_told_apart():
    found = attribute(7.4 + 22.0 + 0.3, [], [7.4], [22.0])
    assert found is not None and found.restored_drawing == (1.0,) and found.plug_in_kw == 22.0
    quiet = attribute(0.2, [], [7.4], [22.0])  # the restored charger had no car
    assert quiet is not None and quiet.restored_drawing == (0.0,) and quiet.plug_in_kw is None


def test_of_two_alike_switches_one_drawing_neither_counts_as_seen():
    found = attribute(-7.4, [7.4, 7.4], [], [])
    assert found is not None and found.curtailed_drawing == (0.5, 0.5)


def test_a_change_nothing_known_explains_teaches_nothing():
    # an 11 kW restore plus 6.75 kW more, and only 11 and 22 kW chargers left unseen
    found = attribute(17.75, [], [11.0], [11.0, 22.0])
    assert found is not None and not found.confident and found.plug_in_kw is None


def test_too_many_changes_at_once_are_not_enumerated():
    assert attribute(-20.0, [7.4] * 8, [7.4] * 3, []) is None


def test_identifying_a_charger_never_makes_another_of_its_size_seen():
    ledger = PlugInLedger({"A": 11.0, "B": 11.0, "C": 7.4})
    ledger.step(11.0, at=10.0)
    assert set(ledger.unseen()) == {"A", "B", "C"}  # one 11 kW car came: which, unknown
    ledger.identify("A", at=20.0)  # A drawing: the step may have been A's own arrival
    assert set(ledger.unseen()) == {"B", "C"}
    ledger.identify("C", at=30.0)
    assert ledger.unseen() == {"B": 11.0}


def test_a_step_after_a_charger_was_seen_drawing_is_another_one():
    ledger = PlugInLedger({"A": 11.0, "B": 11.0})
    ledger.identify("A", at=5.0)
    ledger.step(11.0, at=10.0)  # A was in already: this is B
    assert ledger.unseen() == {}


def test_a_step_is_not_given_to_a_charger_the_dno_held_off_then():
    ledger = PlugInLedger({"A": 7.4, "B": 7.4})
    ledger.step(7.4, at=10.0, excluded={"A", "B"})  # nobody who could have: not a plug-in
    assert set(ledger.unseen()) == {"A", "B"}
    ledger.step(7.4, at=20.0, excluded={"A"})
    ledger.identify("B", at=30.0)  # B may be that step: A still out
    assert ledger.unseen() == {"A": 7.4}


def worst_case(scenario):
    """The scenario with the worst-case cover (its risk-sized cover off)."""
    return scenario.with_overrides(dno=dataclasses.replace(scenario.dno, plug_in_risk=0.0))


@pytest.mark.parametrize("name", ["feeder-overload", "forecast-error"])
def test_the_cover_never_forgets_a_car_that_has_not_come(name):
    """Judged on the population's truth: at every decision, the worst-case cover is at least
    the largest charger the DNO cannot hold off (not opted in) whose car has not plugged in
    yet."""
    scenario = worst_case(spec.load(name))
    result, _ = run_with_double(scenario)
    pop, consent = result.population, result.consent
    free = [
        (pop.arrival_h[i], plan.charger_kw)
        for i, plan in enumerate(pop.premises)
        if plan.charger_kw > 0 and consent.status(plan.premises_id) is not Consent.OPTED_IN
    ]
    covers = result.monitor.covers_used
    assert covers
    for t, cover in covers:
        hour = scenario.start_hour + t / 3600.0
        out = [kw for arrival, kw in free if arrival > hour]  # not come by the decision
        assert cover >= max(out, default=0.0), (t, cover, out)
    assert max(c for _, c in covers) == 22.0 and min(c for _, c in covers) < 22.0


def test_the_worst_case_cover_is_the_largest_charger_still_out():
    out = {"A": 7.4, "B": 11.0, "C": 22.0}
    assert cover_kw(out, rate_per_h=0.0, excursion_cost_kwh=math.inf) == 22.0
    assert cover_kw({}, rate_per_h=10.0, excursion_cost_kwh=math.inf) == 0.0


def test_the_risk_based_cover_keeps_a_size_only_if_it_is_likely_enough_to_come():
    # 10 chargers out: eight 7.4 kW, one 11, one 22; six plug-ins an hour seen lately
    out = {f"S{i}": 7.4 for i in range(8)} | {"M": 11.0, "L": 22.0}
    # 22 kW: 6/h x 1/10 x cost >= 22 needs cost >= 36.7 kWh; 11 kW: >= 18.3; 7.4: >= 1.5
    assert cover_kw(out, 6.0, 40.0) == 22.0
    assert cover_kw(out, 6.0, 30.0) == 11.0
    assert cover_kw(out, 6.0, 10.0) == 7.4
    assert cover_kw(out, 6.0, 1.0) == 0.0
    assert cover_kw(out, 6.0, 0.0) == 0.0


@pytest.mark.parametrize("cost", [0.0, 10.0])
def test_a_finite_excursion_cost_sheds_less_and_is_stated(cost):
    """The trade-off is the scenario's to choose ([dno] excursion_cost_kwh): a cheaper
    excursion keeps less cover, so the DNO sheds less; at 0 the cover is gone altogether."""
    scenario = worst_case(spec.load("feeder-overload"))
    risky = scenario.with_overrides(dno=dataclasses.replace(scenario.dno, excursion_cost_kwh=cost))
    worst = run_with_double(scenario)[0]
    result = run_with_double(risky)[0]
    assert result.record.summary["energy_shed_kwh"] < 0.9 * worst.record.summary["energy_shed_kwh"]
    covers = [c for _, c in result.monitor.covers_used]
    kept = [c for _, c in worst.monitor.covers_used]
    if cost == 0.0:
        assert max(covers) == 0.0
    else:  # some cover, less of it: sizes unlikely to come next are left to chance
        assert 0.0 < sum(covers) / len(covers) < 0.75 * sum(kept) / len(kept)


def test_the_worst_case_is_not_changed_by_what_a_caller_does_with_it():
    """``unseen()`` is kept between pieces of evidence: a caller's edit must not stick."""
    ledger = PlugInLedger({"A": 7.4, "B": 11.0})
    ledger.unseen().pop("A")
    assert ledger.unseen() == {"A": 7.4, "B": 11.0}
    ledger.identify("B", at=5.0)
    assert ledger.unseen() == {"A": 7.4}


def test_the_chance_of_a_plug_in_follows_the_evenings_arrivals():
    lead = 60.0 / 3600.0
    peak = arrival_chance(17.6, lead, 17.6, 0.7)
    assert peak == pytest.approx(lead / (0.7 * math.sqrt(2 * math.pi)), rel=0.01)
    assert arrival_chance(19.0, lead, 17.6, 0.7) < 0.2 * peak
    assert arrival_chance(20.5, lead, 17.6, 0.7) < 1e-5
    assert arrival_chance(16.0, 0.0, 17.6, 0.7) == 0.0


def test_the_risk_sized_cover_keeps_a_size_while_its_chance_passes_the_risk():
    out = {f"S{i}": 7.4 for i in range(8)} | {"M": 11.0, "L": 22.0}
    # one 22 kW charger at 1 % a lead: kept under a 0.5 % risk, dropped under 2 %
    assert risk_cover_kw(out, 0.01, 0.005) == 22.0
    # above 7.4 kW: two chargers, 1 - 0.99^2 = 1.99 % > 1.5 %: 11 kW kept
    assert risk_cover_kw(out, 0.01, 0.015) == 11.0
    # above 0: ten chargers, 9.6 %: 7.4 kW kept under 5 %, nothing under 10 %
    assert risk_cover_kw(out, 0.01, 0.05) == 7.4
    assert risk_cover_kw(out, 0.01, 0.10) == 0.0
    assert risk_cover_kw(out, 0.0, 1e-9) == 0.0  # nobody can come: no room
    assert risk_cover_kw({}, 0.5, 1e-9) == 0.0


def test_the_default_scenarios_risk_sized_cover_is_the_worst_case_at_the_peak_of_arrivals():
    """feeder-overload's cover (``plug_in_risk``): the worst case's while cars are arriving,
    less once the evening's arrivals thin out, and less shed for it, within the rating."""
    scenario = spec.load("feeder-overload")
    assert scenario.dno.plug_in_risk > 0
    risky, _ = run_with_double(scenario)
    worst, _ = run_with_double(worst_case(scenario))
    kept = dict(worst.monitor.covers_used)
    cover = dict(risky.monitor.covers_used)
    hour = {t: scenario.start_hour + t / 3600.0 for t in cover}
    assert all(c <= kept.get(t, c) for t, c in cover.items() if t in kept)
    peak = [t for t in cover if abs(hour[t] - scenario.dno.arrival_hour) < 0.5 and t in kept]
    assert peak and all(cover[t] == kept[t] for t in peak)
    late = [t for t in cover if hour[t] > 20.0]
    assert late and max(cover[t] for t in late) == 0.0  # under 1 in 2000 a decision by then
    summary, reference = risky.record.summary, worst.record.summary
    assert summary["energy_shed_kwh"] < reference["energy_shed_kwh"]
    assert summary["minutes_over_rating"] == 0
