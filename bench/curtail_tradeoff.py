"""What the minimal policy's plug-in cover costs and buys: shed/needed against minutes over
the rating as ``[dno] excursion_cost_kwh`` (what one sample over the rating is worth in kWh of
shedding) goes from infinite (the worst-case cover, the default scenario's) down to 0 (no
cover: only the forecast margin).

A car plugging in is a step inside one 30 s sample that no forecast sees and no SRV answers
in time, so only headroom kept beforehand keeps the feeder inside its rating then; this prints
what that headroom costs. The reference, measured in the same run, is the infinite cost row:
each row's shed is also given as a fraction of it. Each run goes through the real path (DNO
client, DSP, WAN, one Premises per household; boards 0).

    .venv/bin/python bench/curtail_tradeoff.py [--scenario feeder-overload]
        [--costs inf,100,50,20,10,5,0] [--seeds 7 | --seeds 1-10] [--jobs 2]

With more than one seed the feeder is redrawn for each (the same scenario otherwise): the
pooled ratio is total shed over total needed, and seeds where no policy can keep the rating
(over the rating at the worst-case cover with no switch left to curtail: the consenting
chargers do not add up to the excess) are counted apart.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulator import scenario  # noqa: E402


@dataclasses.dataclass(frozen=True)
class Row:
    seed: int
    cost: float
    shed_kwh: float
    needed_kwh: float
    minutes_over: float
    kw_over_max: float
    srvs: int
    max_over_mean: float | None
    exhausted: bool  # the DNO ran out of switches at some point (the world, not the policy)


def one(job: tuple[str, int, float]) -> Row:
    name, seed, cost = job
    base = scenario.load(name)
    run = base.with_overrides(seed=seed, dno=dataclasses.replace(base.dno, excursion_cost_kwh=cost))
    with tempfile.TemporaryDirectory() as out:
        outcome = scenario.run(run, out=Path(out), boards=0)
    s = outcome.summary.data
    exhausted = any("no switch left to curtail" in line for line in outcome.timeline)
    return Row(
        seed,
        cost,
        s["energy_shed_kwh"],
        s["energy_needed_kwh"],
        s["minutes_over_rating"],
        s["kw_over_rating_max"],
        s["srv_count"],
        s["curtailment_max_over_mean"],
        exhausted,
    )


def seeds_arg(text: str) -> list[int]:
    if "-" in text:
        first, last = text.split("-")
        return list(range(int(first), int(last) + 1))
    return [int(x) for x in text.split(",")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scenario", default="feeder-overload")
    ap.add_argument("--costs", default="inf,100,50,20,10,5,0")
    ap.add_argument("--seeds", default=None, help="default: the scenario's own seed")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    costs = [float(c) for c in args.costs.split(",")]
    if math.inf not in costs:
        costs.insert(0, math.inf)  # the reference
    seeds = seeds_arg(args.seeds) if args.seeds else [scenario.load(args.scenario).seed]
    jobs = [(args.scenario, seed, cost) for cost in costs for seed in seeds]
    start = time.perf_counter()
    with ProcessPoolExecutor(max(1, args.jobs)) as pool:
        rows = list(pool.map(one, jobs))
    wall = time.perf_counter() - start
    needy = {r.seed for r in rows if r.needed_kwh > 0}
    lost = {r.seed for r in rows if r.cost == math.inf and r.exhausted and r.minutes_over > 0}
    judged = sorted(needy - lost)
    print(
        f"{args.scenario}: seeds {','.join(map(str, seeds))}; judged on "
        f"{','.join(map(str, judged)) or 'none'}"
        + (f" (apart: {','.join(map(str, sorted(lost)))} ran out of switches)" if lost else "")
        + (
            f" (no need: {','.join(map(str, sorted(set(seeds) - needy)))})"
            if set(seeds) - needy
            else ""
        )
    )
    print(
        "| excursion cost kWh | shed/needed | shed vs worst-case cover | minutes over | "
        "runs over | max kW over | SRVs | per-customer max/mean |"
    )
    print("|---|---|---|---|---|---|---|---|")
    reference = sum(r.shed_kwh for r in rows if r.cost == math.inf and r.seed in judged)
    for cost in costs:
        mine = [r for r in rows if r.cost == cost and r.seed in judged]
        if not mine:
            continue
        shed = sum(r.shed_kwh for r in mine)
        needed = sum(r.needed_kwh for r in mine)
        fair = [r.max_over_mean for r in mine if r.max_over_mean is not None]
        print(
            f"| {cost:g} | {shed / needed:.2f} | {shed / reference:.2f} | "
            f"{sum(r.minutes_over for r in mine):.1f} | "
            f"{sum(1 for r in mine if r.minutes_over > 0)}/{len(mine)} | "
            f"{max(r.kw_over_max for r in mine):.1f} | {sum(r.srvs for r in mine)} | "
            f"{max(fair):.2f} |"
        )
    print(f"{len(rows)} runs in {wall:.0f} s wall ({args.jobs} jobs)")


if __name__ == "__main__":
    main()
