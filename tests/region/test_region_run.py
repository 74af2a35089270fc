"""Region runs: a region of one equals the feeder scenario on the same light path, the windows
and the sharding change nothing, and a killed worker changes no result."""

from __future__ import annotations

import dataclasses
import os
import signal

import pytest
from region_helpers import single_feeder, small, without_srv_times

from emulator.region import (
    InlineExecutor,
    RegionRunError,
    WanParams,
    run_feeder,
    run_region,
    summarise_rows,
)
from emulator.region.dask_engine import DaskExecutor
from emulator.region.shard import Shard


def test_a_region_of_one_equals_the_feeder_scenario_on_the_light_path():
    """The windowed region (SRVs answered a window later, by the coordinator) against the
    feeder scenario run by the feeder engine with each SRV answered at once."""
    region = single_feeder()
    run = run_region(region, InlineExecutor())
    alone = run_feeder(region.feeder, WanParams.for_region(region), region.seed)
    row, summary = run.rows[0], alone.record.summary
    assert row["feeder"] == region.feeder.feeder_id == summary["feeder"]
    # discovery (7.7s) was done before the evening: answered at once, counted apart
    assert row["discovery_srvs"] == summary["srv_by_type"]["7.7"] - _renewal_reads(alone) > 0
    assert row["srv_count"] + row["discovery_srvs"] == summary["srv_count"]
    assert row["srv_count"] > 50
    for key in ("peak_kw", "minutes_over_rating", "kw_over_rating_max", "energy_shed_kwh",
                "customers_affected", "srv_over_30s"):  # fmt: skip
        assert row[key] == summary.get(key, summary.get(f"feeder_{key}")), key
    responses = sorted(round(o.response_s, 4) for o in alone.recorder.outcomes if o.response_s)
    assert sorted(row["response_s"]) == responses
    assert run.windows > 400  # it did run window by window


def _renewal_reads(result) -> int:
    return sum(1 for o in result.recorder.outcomes if o.srv == "7.7" and o.sent_at > 0)


def test_the_number_of_shards_changes_nothing():
    region = small(6)
    one = run_region(region, InlineExecutor(), shards=1)
    three = run_region(region, InlineExecutor(), shards=3)
    assert one.rows == three.rows and one.windows == three.windows
    assert summarise_rows(one.rows)["srv_count"] > 200


def test_the_seed_matters():
    """The identity above is not vacuous: another seed draws another region."""
    a = run_region(small(3), InlineExecutor())
    b = run_region(dataclasses.replace(small(3), seed=21), InlineExecutor())
    assert without_srv_times(a.rows) != without_srv_times(b.rows)


def test_a_window_longer_than_the_lookahead_is_caught():
    """A shard refuses an answer that lands before its window's start (the lookahead broken)."""
    shard = Shard(small(1), [0])
    until, step = 0.0, None
    while step is None or not step.submissions:  # run to the DNO's first SRV of the evening
        until += 5.0
        step = shard.advance(until, [])
        assert until < 4 * 3600
    t, feeder, seq, _ = step.submissions[0]
    with pytest.raises(ValueError, match="lookahead was broken"):
        shard.advance(until + 5.0, [(feeder, seq, until - 1.0, until + 3.0, 0.0)])
    shard.close()


@pytest.mark.slow
def test_one_and_two_dask_workers_give_the_same_answers():
    region = small(6)
    one = run_region(region, DaskExecutor(workers=1))
    two = run_region(region, DaskExecutor(workers=2))
    assert one.rows == two.rows
    assert {s["pid"] for s in two.worker_stats} != {s["pid"] for s in one.worker_stats}
    assert len({s["pid"] for s in two.worker_stats}) == 2  # two processes really ran it
    assert one.rows == run_region(region, InlineExecutor()).rows


@pytest.mark.slow
def test_a_killed_worker_changes_no_result():
    region = small(6)
    reference = run_region(region, InlineExecutor(), shards=2)
    killed: list[int] = []

    def kill_one(window):
        if window.index == 300 and not killed:
            os.kill(window.pids[0], signal.SIGKILL)  # mid-run, a shard's worker process
            killed.append(window.pids[0])

    run = run_region(region, DaskExecutor(workers=2), on_window=kill_one)
    assert killed and run.rebuilt and run.rebuilt[0][0] in (300, 301)
    assert run.rows == reference.rows  # nothing lost, nothing counted twice
    assert run.path_stats["srvs"] == reference.path_stats["srvs"]
    assert killed[0] not in {s["pid"] for s in run.worker_stats}


def test_progress_counts_the_srvs_as_they_are_answered():
    """What the progress bar shows while the run goes on adds up to the final rows."""
    seen = []
    run = run_region(small(3, capacity_per_s=0.3, background_per_s=0.15), InlineExecutor(),
                     on_window=seen.append)  # fmt: skip
    last = seen[-1]
    assert [w.index for w in seen] == list(range(1, run.windows + 1))
    assert last.srvs_answered == sum(r["srv_count"] for r in run.rows)
    assert last.srvs_late == sum(r["srv_over_30s"] for r in run.rows) > 0
    assert seen[0].srvs_answered <= seen[len(seen) // 2].srvs_answered <= last.srvs_answered


@pytest.mark.parametrize(
    ("wan", "why"),
    [
        (
            {"latency_s": 0.0, "radio_latency_s": (0.0, 1.0), "han_latency_s": 0.0},
            "positive lookahead",
        ),
        ({"latency_s": 40.0}, "over the DNO's timeout"),
    ],
)
def test_a_path_windows_cannot_run_on_is_refused(wan, why):
    region = dataclasses.replace(
        small(1, **wan), dsp=dataclasses.replace(small(1).dsp, latency_s=0.0)
    )
    with pytest.raises(RegionRunError, match=why):
        run_region(region, InlineExecutor())
