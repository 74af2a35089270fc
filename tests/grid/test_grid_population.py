import numpy as np
import pytest

from emulator.grid.population import (
    EV_LABEL,
    EvParams,
    HouseholdParams,
    PopulationError,
    generate,
)


@pytest.mark.parametrize("n", [1, 251, 0])
def test_premises_outside_2_to_250_are_refused(n):
    with pytest.raises(PopulationError, match="2..250"):
        generate(n, "F", HouseholdParams(), EvParams(), seed=1)


def test_same_seed_same_feeder_other_seed_other_feeder():
    a = generate(36, "F", HouseholdParams(), EvParams(), seed=3)
    b = generate(36, "F", HouseholdParams(), EvParams(), seed=3)
    c = generate(36, "F", HouseholdParams(), EvParams(), seed=4)
    assert a.premises == b.premises
    assert np.array_equal(a.arrival_h, b.arrival_h, equal_nan=True)
    assert a.premises != c.premises


def test_ev_switches_carry_the_ev_label_and_other_switches_do_not():
    pop = generate(250, "F", HouseholdParams(), EvParams(share=0.5, other_switch_share=0.3), 9)
    ev = [p for p in pop.premises if p.ev_switch is not None]
    others = [s for p in pop.premises for s in p.switches if s.label != EV_LABEL]
    assert ev and others
    assert all(p.charger_kw > 0 for p in ev)
    assert all(1 <= s.slot <= 5 for p in pop.premises for s in p.switches)
    # no premises has two switches in one slot
    assert all(len({s.slot for s in p.switches}) == len(p.switches) for p in pop.premises)


def test_mostly_single_phase_7_4_kw_chargers_some_larger():
    pop = generate(250, "F", HouseholdParams(), EvParams(share=1.0), 2)
    kw = pop.charger_kw
    assert (kw == 7.4).mean() > 0.6
    assert (kw > 7.4).any()


def test_plcs_share_one_puts_every_ev_behind_a_plcs():
    pop = generate(60, "F", HouseholdParams(), EvParams(share=0.8, plcs_share=1.0), 5)
    assert {p.ev_switch.kind for p in pop.premises if p.ev_switch} == {"plcs"}
