import numpy as np

from emulator.grid.loads import MIN_CHARGING_FRACTION, FeederPhysics
from emulator.grid.population import EvParams, HouseholdParams, generate

ALL_HOME_AT_FOUR = EvParams(share=1.0, arrival_sd_h=0.01, arrival_hour=16.0)


def _physics(ev=ALL_HOME_AT_FOUR, n=20, start=16.0):
    households = HouseholdParams(noise=0.0)
    pop = generate(n, "F", households, ev, seed=1)
    return FeederPhysics(pop, households, start_hour=start, seed=1), pop


def test_household_demand_peaks_in_the_evening():
    physics, _ = _physics()
    assert physics.household_kw(18.0).sum() > 1.5 * physics.household_kw(14.0).sum()


def test_curtailed_charging_is_deferred_not_lost():
    free, pop = _physics()
    held, _ = _physics()
    n = len(pop.premises)
    for _ in range(120):  # one hour: 'held' is switched off
        free.step(30, np.ones(n))
        held.step(30, np.zeros(n))
    assert held.delivered_kwh.sum() == 0.0
    assert held.curtailed_kwh.sum() > 0.0
    for _ in range(8 * 120):  # then both run free until every car is full
        free.step(30, np.ones(n))
        held.step(30, np.ones(n))
    assert np.allclose(held.delivered_kwh, pop.energy_kwh, atol=1e-6)
    assert np.allclose(free.delivered_kwh, pop.energy_kwh, atol=1e-6)


def test_feeder_sum_is_households_plus_chargers():
    physics, pop = _physics()
    sample = physics.step(30, np.ones(len(pop.premises)))
    assert sample.total_kw == sample.household_kw + sample.ev_kw
    assert sample.ev_kw == sample.ev_demand_kw > 0


def test_a_level_below_the_ev_minimum_current_stops_charging():
    physics, pop = _physics()
    n = len(pop.premises)
    low = physics.step(30, np.full(n, MIN_CHARGING_FRACTION * 0.9))
    assert low.ev_kw == 0.0
    half = physics.step(30, np.full(n, 0.5))
    assert abs(half.ev_kw - 0.5 * half.ev_demand_kw) < 1e-9


def test_preview_is_the_next_step_and_changes_nothing():
    """The floors' oracle reads the next step before choosing its outputs: what it reads is
    what that step then does, and reading it leaves the feeder's course as it was."""
    ev = EvParams(share=1.0, arrival_hour=16.5, arrival_sd_h=0.3)
    households = HouseholdParams()  # with noise: the preview must not consume a draw
    pop = generate(20, "F", households, ev, seed=3)
    looked = FeederPhysics(pop, households, start_hour=16.0, seed=3)
    plain = FeederPhysics(pop, households, start_hour=16.0, seed=3)
    n = len(pop.premises)
    outputs = np.ones(n)
    outputs[::3] = 0.0  # some held back, so the EV demand depends on what was deferred
    arrived = 0
    for _ in range(240):
        house, ev_demand = looked.preview(30)
        sample = looked.step(30, outputs)
        assert sample.household_kw == float(house.sum())
        assert sample.ev_demand_kw == float(ev_demand.sum())
        assert plain.step(30, outputs) == sample
        arrived = max(arrived, int((ev_demand > 0).sum()))
    assert arrived > 10  # cars came during the window
