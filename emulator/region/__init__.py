"""A licence area: many feeders at tea-time, every SRV through one DSP and the region's WAN,
run window by window on a distributed engine (Dask). See docs/region.md.

    region = load("tea-time-north").with_feeders(100)
    run = run_region(region, InlineExecutor())   # or DaskExecutor(workers=2)
    summarise_rows(run.rows)["share_within_30s"]
"""

from emulator.region.coordinator import (
    InlineExecutor,
    RegionRun,
    RegionRunError,
    WindowSeen,
    run_region,
    shard_indices,
    summarise_rows,
)
from emulator.region.light import DelayHan, run_feeder
from emulator.region.spec import (
    DEFAULT_REGION,
    Region,
    RegionError,
    available,
    draw_feeder,
    load,
)
from emulator.region.wan import SRV_TARGET_S, SharedPath, Submission, WanParams, md1_wait_s

__all__ = [
    "DEFAULT_REGION",
    "SRV_TARGET_S",
    "DelayHan",
    "InlineExecutor",
    "Region",
    "RegionError",
    "RegionRun",
    "RegionRunError",
    "SharedPath",
    "Submission",
    "WanParams",
    "WindowSeen",
    "available",
    "draw_feeder",
    "load",
    "md1_wait_s",
    "run_feeder",
    "run_region",
    "shard_indices",
    "summarise_rows",
]
