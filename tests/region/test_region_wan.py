"""The shared DSP/WAN path: its queue against the closed form, and what capacity does to the
share of SRVs within 30 s in a region run."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from region_helpers import single_feeder, small

from emulator.region import (
    InlineExecutor,
    SharedPath,
    Submission,
    WanParams,
    md1_wait_s,
    run_region,
    summarise_rows,
)


def params(**changes) -> WanParams:
    base = WanParams(
        region="north", option="current", title="test", capacity_per_s=10.0, latency_s=0.0,
        radio_latency_s=(0.0, 0.0), han_latency_s=0.0, loss=0.0, background_per_s=0.0,
        dsp_per_s=0.0, dsp_latency_s=0.0, timeout_s=30.0,
    )  # fmt: skip
    return dataclasses.replace(base, **changes)


@pytest.mark.parametrize("load", [0.5, 0.8, 0.9])
def test_poisson_traffic_waits_as_md1_says(load):
    """Poisson arrivals, deterministic service: the mean wait is Pollaczek-Khinchine's."""
    path = SharedPath(params(background_per_s=10.0 * load), seed=3)
    path.process([], until=40 * 3600.0)
    expected = md1_wait_s(10.0 * load, 10.0)
    assert path.background > 10.0 * load * 40 * 3600 * 0.98
    assert path.background_wait_s / path.background == pytest.approx(expected, rel=0.06)


def test_past_saturation_the_wait_grows_without_bound():
    assert math.isinf(md1_wait_s(12.0, 10.0))
    path = SharedPath(params(background_per_s=12.0), seed=3)
    first = path.process([Submission(600.0, 0, 0, "7.6")], until=601.0)[0]
    later = path.process([Submission(3000.0, 0, 1, "7.6")], until=3001.0)[0]
    assert later.queued_s > first.queued_s + 300  # ~0.2 s more for every second of backlog


def test_an_srv_is_two_messages_and_takes_every_latency():
    p = params(capacity_per_s=4.0, latency_s=2.0, radio_latency_s=(1.0, 1.0),
               han_latency_s=0.5, dsp_per_s=100.0, dsp_latency_s=0.25)  # fmt: skip
    path = SharedPath(p, seed=1)
    a, b = path.process([Submission(10.0, 0, 0, "7.6"), Submission(10.0, 1, 0, "7.6")], 11.0)
    # DSP 0.01 + 0.25 latency, CSP 2 messages at 4/s = 0.5, + 2 s, radio 1 s, HAN 0.5 s
    assert a.executed_at == pytest.approx(10.0 + 0.01 + 0.25 + 0.5 + 2.0 + 1.0 + 0.5)
    assert a.responded_at == pytest.approx(a.executed_at + 0.5 + 1.0 + 2.0 + 0.25)
    assert b.queued_s == pytest.approx(0.5)  # 0.01 behind a at the DSP, 0.49 on the CSP link
    assert p.lookahead_s == pytest.approx(0.25 + 2.0 + 1.0 + 0.5)


def test_submissions_past_the_window_are_refused():
    path = SharedPath(params(), seed=1)
    with pytest.raises(ValueError, match="past the window"):
        path.process([Submission(12.0, 0, 0, "7.6")], until=11.0)


def test_no_capacity_limit_gives_every_srv_within_30s_and_a_tight_one_does_not():
    free = small(4, capacity_per_s=0.0, background_per_s=50.0)
    tight = small(4, capacity_per_s=0.3, background_per_s=0.15)
    free_run, tight_run = (run_region(r, InlineExecutor(), shards=2) for r in (free, tight))
    f, t = summarise_rows(free_run.rows), summarise_rows(tight_run.rows)
    assert f["srv_count"] > 100
    assert f["share_within_30s"] == 1.0 and f["srv_unanswered"] == 0
    assert f["response_s"]["max"] <= 30.0
    # the same feeders on a saturated link: late SRVs, and less shed while it was needed
    assert t["share_within_30s"] < 0.9 and t["srv_unanswered"] > 0
    assert t["shed_in_time_share"] < f["shed_in_time_share"]


@pytest.mark.parametrize("lam", [7.0, 9.0])
def test_a_loaded_link_in_a_region_run_queues_as_md1(lam):
    """One feeder on a link loaded by Poisson background: the link's waits are M/D/1's at
    the total load (the feeder's SRVs add two messages each), and the SRVs - sent in bursts,
    a step's decisions at once - wait at least that long on average."""
    mu = 10.0
    run = run_region(single_feeder(capacity_per_s=mu, background_per_s=lam), InlineExecutor())
    stats = run.path_stats
    total = lam + 2 * stats["srvs"] / run.region.duration_s
    expected = md1_wait_s(total, mu)  # 0.12 s at 0.7, 0.47 s at 0.9
    assert stats["background"] > lam * 4 * 3600 * 0.98
    assert stats["background_wait_s_mean"] == pytest.approx(expected, rel=0.1)
    queued = np.array([q for row in run.rows for q in row["queued_s"]])
    # arrivals see the time-average wait, and a burst only adds to it: the SRVs' mean is at
    # least M/D/1's, short of it by no more than sampling noise (three standard errors)
    assert queued.size > 60
    assert queued.mean() >= expected - 3 * queued.std() / np.sqrt(queued.size)
