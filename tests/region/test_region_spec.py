"""Region scenarios: the built-in ones load, bad files are refused naming the place, and the
feeders drawn follow the stated distributions, each feeder independent of the region's size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from emulator.region import RegionError, available, draw_feeder, load
from emulator.region.wan import WanParams

BAD = sorted((Path(__file__).parent / "bad_regions").glob("*.toml"))


@pytest.mark.parametrize("name", available())
def test_built_in_regions_load_with_their_wan(name):
    region = load(name)
    assert region.feeders.count == 1000
    assert region.feeder.dno.policy == "minimal"
    for option in region.wan.options:
        params = WanParams.for_region(region, option)
        assert params.lookahead_s > 0.5  # windows of at least half a second
        assert params.dsp_per_s == 170.0


def test_north_options_change_the_throttle_and_latency_as_the_outage_model_says():
    region = load("tea-time-north")
    today, a, b = (WanParams.for_region(region, o) for o in ("current", "option-a", "option-b"))
    assert (today.capacity_per_s, a.capacity_per_s, b.capacity_per_s) == (12.0, 400.0, 400.0)
    assert (today.latency_s, a.latency_s, b.latency_s) == (5.0, 5.0, 2.0)


@pytest.mark.parametrize("path", BAD, ids=[p.stem for p in BAD])
def test_bad_regions_are_refused_with_the_place_named(path):
    expected = path.read_text().splitlines()[0].removeprefix("# expect: ")
    with pytest.raises(RegionError) as err:
        load(path)
    assert expected in str(err.value)
    assert path.name in str(err.value)


def test_unknown_region_names_the_built_in_ones():
    with pytest.raises(RegionError, match="tea-time-north"):
        load("no-such-region")


def test_premises_per_feeder_average_gb_and_stay_in_range():
    region = load("tea-time-north")
    sizes = np.array([draw_feeder(region, i).scenario.premises for i in range(3000)])
    assert sizes.min() >= 2 and sizes.max() <= 250
    assert 33 <= sizes.mean() <= 39  # GB's mean of ~36 (clipping moves it a little)
    assert (sizes > 100).any() and (sizes < 10).any()  # a spread, not 36 everywhere


def test_a_feeder_is_the_same_whatever_the_region_size():
    small, large = load("tea-time-north").with_feeders(3), load("tea-time-north").with_feeders(500)
    for i in range(3):
        assert draw_feeder(small, i) == draw_feeder(large, i)
    assert draw_feeder(small, 0).scenario.seed != draw_feeder(small, 1).scenario.seed


def test_the_cold_evening_raises_every_feeders_peak():
    region = load("tea-time-north")
    base = region.feeder.households.evening_peak_kw
    for i in range(5):
        households = draw_feeder(region, i).scenario.households
        assert households.evening_peak_kw == pytest.approx(base * 1.15)
        assert abs(households.peak_hour - 17.9) <= 0.25


def test_central_south_options_leave_the_srv_path_as_today():
    """The DCC's options change the Central/South's AD1 processing and hub reboot/dither,
    nothing an SRV crosses: the study's rows for A and B would equal today's."""
    region = load("tea-time-central-south")
    today, a, b = (WanParams.for_region(region, o) for o in ("current", "option-a", "option-b"))
    assert today.capacity_per_s == 0.0 and today.latency_s == 10.0  # no throttle, 10 s each way
    same = {"option", "title"}
    for other in (a, b):
        assert {k: v for k, v in vars(other).items() if k not in same} == {
            k: v for k, v in vars(today).items() if k not in same
        }
