"""Whole-fleet behaviour: reproducible, scales with the outage, and the mechanisms the DCC
names move the figures the way the seed says."""

from __future__ import annotations

import numpy as np
import pytest
from outage_helpers import REPO  # noqa: F401

from emulator.outage import delivered, model, percentiles, simulate


def test_same_seed_same_answer_other_seed_other_draws():
    m = model("north", "current")
    a, b, c = simulate(m, 3000, seed=1), simulate(m, 3000, seed=1), simulate(m, 3000, seed=2)
    assert np.array_equal(a.poa_s, b.poa_s, equal_nan=True)
    assert not np.array_equal(a.poa_s, c.poa_s, equal_nan=True)


@pytest.mark.parametrize("homes", [1, 37, 3000])
def test_any_fleet_size_gives_one_time_per_home(homes):
    for region in ("north", "central-south"):
        o = simulate(model(region, "current"), homes)
        assert o.poa_s.shape == o.pra_s.shape == (homes,)
        assert 0.0 <= delivered(o.poa_s) <= 1.0


def test_bad_sizes_are_refused():
    with pytest.raises(ValueError, match="homes"):
        simulate(model("north"), 0)
    with pytest.raises(ValueError, match="outage_s"):
        simulate(model("north"), 10, -1)


def test_north_channel_saturates_with_outage_size():
    """The CSP's fixed alert windows draw out a small outage's POAs too; what a big outage adds
    is collisions (lost alerts) and the throttle's slow tail."""
    m = model("north", "current")
    small, big = simulate(m, 300).poa_s, simulate(m, 30000).poa_s
    assert delivered(small) > delivered(big) + 0.02
    assert percentiles(small)["p95"] < percentiles(big)["p95"] - 200


def test_north_loses_about_five_percent_to_collisions_today():
    """Footnote 2 of the seed: 'a maximum 95% Alert message delivery due to message collision
    and data loss'."""
    poa = simulate(model("north", "current"), 30000).poa_s
    assert 0.95 <= delivered(poa) <= 0.97


def test_each_dcc_option_is_faster_than_today():
    for region in ("north", "central-south"):
        p = {s: percentiles(simulate(model(region, s), 30000).poa_s) for s in
             ("current", "option-a", "option-b")}  # fmt: skip
        assert p["option-a"]["p50"] < p["current"]["p50"]
        assert p["option-b"]["p50"] <= p["option-a"]["p50"] * 1.05


def test_hub_pra_is_what_fixes_the_north_pra():
    """The DNO: the North PRA improves because the DCC uses the Comms Hub PRA, not the ESME's."""
    esme = percentiles(simulate(model("north", "current"), 30000).pra_s)
    hub = percentiles(simulate(model("north", "hub-pra"), 30000).pra_s)
    assert hub["p50"] < esme["p50"] / 2
