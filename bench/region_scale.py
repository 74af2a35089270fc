"""Scale of the region study: N feeders at tea-time (the built-in tea-time-north, one WAN
option), run window by window on local Dask workers, as `gbhan study region` runs them.

Prints, per size and worker count: wall time, feeders/s, windows and what a window costs
beyond the shards' own work, the coordinator's share, CPU and peak memory per worker; as the
reference measured in the same run, the same first feeders in this process with no engine
(``InlineExecutor``): the ratio says what Dask and the windows add. Then the scaling curve
and an extrapolation to a licence area of ~100,000 feeders on a cluster, with the
assumptions printed beside it.

    .venv/bin/python bench/region_scale.py [--sizes 100,1000] [--workers 1,2] [--option current]
    .venv/bin/python bench/region_scale.py --sizes 100,1000,10000 --workers 2   (about an hour)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulator.region import InlineExecutor, load, run_region, summarise_rows  # noqa: E402
from emulator.region.dask_engine import DaskExecutor  # noqa: E402

LICENCE_AREA = 100_000


def measure(region, executor) -> dict:
    start = time.perf_counter()
    run = run_region(region, executor)
    wall = time.perf_counter() - start
    stats = run.worker_stats
    shard_cpu = max(s["cpu_s"] for s in stats)
    summary = summarise_rows(run.rows)
    return {
        "feeders": region.feeders.count,
        "workers": run.workers,
        "wall_s": wall,
        "feeders_per_s": region.feeders.count / wall,
        "windows": run.windows,
        "start_s": run.start_s,
        "coordinator_s": run.coordinator_s,
        "shard_cpu_s_max": shard_cpu,
        "shard_cpu_s_total": sum(s["cpu_s"] for s in stats),
        # what is left of a window once the slowest shard's work and the coordinator's are
        # taken off: messaging, scheduling, waiting for the CPU
        "overhead_ms_per_window": 1000
        * max(0.0, wall - run.start_s - run.coordinator_s - shard_cpu)
        / max(1, run.windows),
        "rss_mb": sorted({round(s["max_rss_mb"]) for s in stats}),
        "pids": len({s["pid"] for s in stats}),
        "srvs": summary["srv_count"],
        "share_within_30s": summary["share_within_30s"],
    }


def line(m: dict, reference: dict | None) -> str:
    ratio = f"  {m['feeders_per_s'] / reference['feeders_per_s']:.2f}x ref" if reference else ""
    return (
        f"{m['feeders']:>6} feeders  {m['workers']} worker(s)  {m['wall_s']:7.1f} s wall  "
        f"{m['feeders_per_s']:6.2f} feeders/s{ratio}  {m['windows']} windows "
        f"({m['overhead_ms_per_window']:.1f} ms each beyond the work)  coordinator "
        f"{m['coordinator_s']:.1f} s  shard CPU max {m['shard_cpu_s_max']:.1f} s  "
        f"RSS/worker {m['rss_mb']} MB  {m['srvs']} SRVs, {100 * (m['share_within_30s'] or 0):.1f} % within 30 s"
    )


def extrapolate(points: list[dict]) -> list[str]:
    """A whole licence area on a cluster, from the largest run's per-feeder figures."""
    big = max(points, key=lambda m: (m["feeders"], m["workers"]))
    cpu_per_feeder = big["shard_cpu_s_total"] / big["feeders"]
    coord_per_feeder = big["coordinator_s"] / big["feeders"]
    small = min(points, key=lambda m: m["feeders"])
    mb_per_feeder = max(0.0, (max(big["rss_mb"]) - max(small["rss_mb"]))) / max(
        1, big["feeders"] / big["workers"] - small["feeders"] / small["workers"]
    )
    # a worker with no feeders: the small run's worker less its feeders' share
    start = max(small["rss_mb"]) - small["feeders"] / small["workers"] * mb_per_feeder
    windows = big["windows"]
    out = [
        "extrapolation to a licence area of "
        f"{LICENCE_AREA:,} feeders (from the {big['feeders']}-feeder run):",
        f"  per feeder: {cpu_per_feeder:.3f} s of shard CPU for the evening, "
        f"{1000 * coord_per_feeder:.2f} ms of coordinator, {mb_per_feeder:.2f} MB of worker memory "
        f"(a worker starts at ~{start:.0f} MB)",
    ]
    for workers in (16, 64, 256):
        shard_s = LICENCE_AREA * cpu_per_feeder / workers
        coord_s = LICENCE_AREA * coord_per_feeder
        net_s = windows * 0.005  # a window's gather over a LAN: assumed 5 ms whatever P
        mem = start + LICENCE_AREA / workers * mb_per_feeder
        out.append(
            f"  {workers:>3} workers: shards {shard_s / 60:5.1f} min + coordinator "
            f"{coord_s / 60:5.1f} min + windows {net_s / 60:4.1f} min = "
            f"{(shard_s + coord_s + net_s) / 60:5.1f} min per WAN option; {mem:,.0f} MB per worker"
        )
    out += [
        "  assumptions: shard CPU splits evenly (feeders dealt round-robin) and each worker has a",
        "  core to itself; the coordinator (one process: the shared path, the answers) does not",
        "  shard, so its per-feeder cost adds up in full and bounds the speed-up; the windows stay",
        f"  as many as here ({windows}: set by the WAN's least latency, not by the region's size);",
        "  a window costs 5 ms of network and scheduling on a LAN cluster (measured here on one",
        "  machine: see the overhead column); memory grows with feeders per worker.",
    ]
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,1000")
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--option", default="current")
    parser.add_argument("--reference-feeders", type=int, default=100)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    workers = [int(w) for w in args.workers.split(",")]
    base = load("tea-time-north")
    print(
        f"region tea-time-north, WAN option {args.option}, {base.duration_s / 3600:.0f} h evening"
    )
    ref_region = base.with_feeders(args.reference_feeders)
    reference = measure(ref_region, InlineExecutor())
    reference["workers"] = 0
    print("reference (in process, no engine): " + line(reference, None))
    points = []
    for size in sizes:
        for w in workers:
            m = measure(base.with_feeders(size), DaskExecutor(workers=w))
            points.append(m)
            print(line(m, reference), flush=True)
    print("scaling curve (feeders/s by size, per worker count):")
    for w in workers:
        curve = [(m["feeders"], round(m["feeders_per_s"], 2)) for m in points if m["workers"] == w]
        print(f"  {w} worker(s): {curve}")
    for w in workers[1:]:
        for size in sizes:
            one = next(m for m in points if m["feeders"] == size and m["workers"] == workers[0])
            many = next(m for m in points if m["feeders"] == size and m["workers"] == w)
            print(f"  {size} feeders: {w} workers {many['feeders_per_s'] / one['feeders_per_s']:.2f}x "
                  f"{workers[0]} worker(s)")  # fmt: skip
    for text in extrapolate(points):
        print(text)


if __name__ == "__main__":
    main()
