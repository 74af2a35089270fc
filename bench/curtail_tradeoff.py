"""What the minimal policy's plug-in cover costs and buys: shed/needed against minutes over
the rating as ``[dno] excursion_cost_kwh`` (what one sample over the rating is worth in kWh of
shedding) goes from infinite (the worst-case cover) down to 0 (no cover: only the forecast
margin). The default scenario sizes its cover by chance instead (``plug_in_risk`` > 0: its
rows say so, and ``--costs`` is not used then); ``--dno plug_in_risk=0`` gives the
excursion-cost rows.

A car plugging in is a step inside one 30 s sample that no forecast sees and no SRV answers
in time, so only headroom kept beforehand keeps the feeder inside its rating then; this prints
what that headroom costs. The reference, measured in the same run, is the infinite cost row:
each row's shed is also given as a fraction of it. Each run goes through the real path (DNO
client, DSP, WAN, one Premises per household; boards 0).

    .venv/bin/python bench/curtail_tradeoff.py [--scenario feeder-overload]
        [--costs inf,100,50,20,10,5,0] [--seeds 7 | --seeds 1-10] [--jobs 2] [--bounds]
        [--floors | --only-floors] [--dno key=value,...]

``--bounds`` adds what the same policy would shed knowing more than a DNO can (the cover
taken from the population's arrival times instead of the substation): ``out``, which cars
have not come yet (still the worst case of their sizes), and ``foresight``, each plug-in 90 s
before it happens (headroom only for the car about to come). Neither is a policy; they say
where the remaining shedding comes from.

``--floors`` adds the least any controller could shed (``emulator.grid.floors``: an oracle that
knows every load of the coming step and sheds fluidly) for three covers: none (the minimum,
about 1.0), for the cars still out that the DNO cannot hold off (declined, never asked or
unswitched), and for every car still out. The second is the floor of every policy that keeps
0 minutes over whatever the time a car plugs in.

With more than one seed the feeder is redrawn for each (the same scenario otherwise): the
pooled ratio is total shed over total needed, and seeds where no policy can keep the rating
(the uncurtailed peak passes the rating by more than all consenting chargers together, so
no policy could keep it) are counted apart.
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
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulator import scenario  # noqa: E402
from emulator.grid import floors, monitor  # noqa: E402
from emulator.grid.floors import FLOOR_COVERS  # noqa: E402
from emulator.scenario import engine  # noqa: E402


@dataclasses.dataclass(frozen=True)
class Row:
    knowledge: str  # dno: what the substation shows; out / foresight: bounds (--bounds)
    seed: int
    cost: float
    shed_kwh: float
    needed_kwh: float
    minutes_over: float
    kw_over_max: float
    srvs: int
    max_over_mean: float | None
    floor: float | None  # the run's floor_shed_to_needed_ratio (emulator.grid.floors)
    exhausted: bool  # the uncurtailed peak passes the rating by more than every consenting
    # charger together: no policy could keep the rating (the world, not the policy)


def knowing(run: scenario.Scenario, knowledge: str) -> None:
    """Replace the DNO's plug-in cover with one read from the population's truth (this worker
    process only): ``out`` the largest charger whose car has not come, ``foresight`` the
    largest whose car comes within the next 90 s."""
    population = engine.build_population(run)
    arrival = {p.premises_id: population.arrival_h[i] for i, p in enumerate(population.premises)}
    kw = {p.premises_id: p.charger_kw for p in population.premises if p.charger_kw > 0}
    ahead = 90.0 / 3600.0 if knowledge == "foresight" else math.inf

    def cover(self: monitor.DnoMonitor) -> float:
        hour = self.hour_of_day(self.now())
        held = {s.premises for s in self.switches.values() if s.state == "curtailed"}
        return max(
            (
                c
                for p, c in kw.items()
                if p not in held and hour - 1 / 60 < arrival[p] <= hour + ahead
            ),
            default=0.0,
        )

    monitor.DnoMonitor.plug_in_cover_kw = cover  # type: ignore[method-assign]


def one(job: tuple[str, int, float, str, tuple[tuple[str, str], ...]]) -> Row:
    name, seed, cost, knowledge, sets = job
    base = scenario.load(name)
    dno = dataclasses.replace(base.dno, excursion_cost_kwh=cost)
    changes: dict[str, Any] = {}
    for key, text in sets:  # --dno key=value: the scenario's [dno] changed for every run
        kind = type(getattr(dno, key))
        changes[key] = text.lower() in ("1", "true", "yes") if kind is bool else kind(text)
    dno = dataclasses.replace(dno, **changes)
    run = base.with_overrides(seed=seed, dno=dno)
    if knowledge != "dno":
        knowing(run, knowledge)
    with tempfile.TemporaryDirectory() as out:
        outcome = scenario.run(run, out=Path(out), boards=0)
    s = outcome.summary.data
    result = outcome.result
    capacity = sum(
        plan.charger_kw
        for plan in result.population.premises
        if plan.ev_switch is not None and plan.premises_id in result.consent.opted_in()
    )
    exhausted = s["feeder_peak_kw_without_curtailment"] - run.rating_kw > capacity
    return Row(
        knowledge,
        seed,
        cost,
        s["energy_shed_kwh"],
        s["energy_needed_kwh"],
        s["minutes_over_rating"],
        s["kw_over_rating_max"],
        s["srv_count"],
        s["curtailment_max_over_mean"],
        s["floor_shed_to_needed_ratio"],
        exhausted,
    )


def floor(job: tuple[str, int, str]) -> tuple[int, str, float, float]:
    """The oracle's shed and needed (kWh) on one feeder with one cover (``FLOOR_COVERS``)."""
    name, seed, cover = job
    run = scenario.load(name).with_overrides(seed=seed)
    population = engine.build_population(run)
    consent = engine.build_consent(run, population)
    found = floors.oracle_floor(
        population, run.households, start_hour=run.start_hour, seed=run.seed,
        consenting=set(consent.opted_in()), rating_kw=run.rating_kw, step_s=run.step_s,
        duration_s=run.duration_s, cover=cover,
    )  # fmt: skip
    return seed, cover, found.shed_kwh, found.needed_kwh


def print_floors(name: str, seeds: list[int], jobs: int) -> None:
    with ProcessPoolExecutor(max(1, jobs)) as pool:
        found = list(pool.map(floor, [(name, s, c) for s in seeds for c in FLOOR_COVERS]))
    table = {(seed, cover): (shed, needed) for seed, cover, shed, needed in found}
    print(
        "floors (an oracle's fluid shedding, no SRVs): shed/needed with room kept for "
        "no car | the cars out it cannot hold off | every car out"
    )
    pooled = dict.fromkeys(FLOOR_COVERS, (0.0, 0.0))
    for seed in seeds:
        cells = []
        for cover in FLOOR_COVERS:
            shed, needed = table[seed, cover]
            cells.append(f"{shed / needed:.2f}" if needed > 0 else "-")
            total = pooled[cover]
            pooled[cover] = (total[0] + shed, total[1] + needed)
        print(f"  seed {seed}: " + " | ".join(cells))
    print(
        "  pooled: "
        + " | ".join(f"{s / n:.2f}" if n > 0 else "-" for s, n in (pooled[c] for c in FLOOR_COVERS))
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
    ap.add_argument("--bounds", action="store_true", help="add the out and foresight bounds")
    ap.add_argument("--floors", action="store_true", help="add the oracle's floors")
    ap.add_argument("--dno", default="", help="[dno] changes for every run: key=value,...")
    ap.add_argument("--only-floors", action="store_true", help="the floors, no policy runs")
    args = ap.parse_args()
    costs = [float(c) for c in args.costs.split(",")]
    if math.inf not in costs:
        costs.insert(0, math.inf)  # the reference
    seeds = seeds_arg(args.seeds) if args.seeds else [scenario.load(args.scenario).seed]
    if args.only_floors:
        print_floors(args.scenario, seeds, args.jobs)
        return
    sets = tuple(tuple(kv.split("=", 1)) for kv in args.dno.split(",") if kv)
    risk = dict(sets).get("plug_in_risk", str(scenario.load(args.scenario).dno.plug_in_risk))
    sized = float(risk) > 0  # the cover is sized by chance: excursion costs are not used
    jobs = [(args.scenario, seed, cost, "dno", sets) for cost in costs for seed in seeds]
    if args.bounds:
        jobs += [
            (args.scenario, seed, math.inf, k, sets) for k in ("out", "foresight") for seed in seeds
        ]
    start = time.perf_counter()
    with ProcessPoolExecutor(max(1, args.jobs)) as pool:
        rows = list(pool.map(one, jobs))
    wall = time.perf_counter() - start
    needy = {r.seed for r in rows if r.needed_kwh > 0}
    lost = {r.seed for r in rows if r.knowledge == "dno" and r.cost == math.inf and r.exhausted}
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
        "| cover | shed/needed | shed vs worst-case cover | minutes over | "
        "runs over | max kW over | SRVs | per-customer max/mean |"
    )
    print("|---|---|---|---|---|---|---|---|")
    reference = sum(
        r.shed_kwh for r in rows if r.knowledge == "dno" and r.cost == math.inf and r.seed in judged
    )
    kinds = [("dno", c) for c in costs] + [(k, math.inf) for k in ("out", "foresight")]
    for knowledge, cost in kinds:
        mine = [r for r in rows if (r.knowledge, r.cost) == (knowledge, cost) and r.seed in judged]
        if not mine:
            continue
        label = (
            (
                f"risk-sized cover, {float(risk):g} a decision"
                if sized
                else f"excursion cost {cost:g} kWh"
            )
            if knowledge == "dno"
            else {"out": "bound: knows which cars are out", "foresight": "bound: 90 s foresight"}[
                knowledge
            ]
        )
        shed = sum(r.shed_kwh for r in mine)
        needed = sum(r.needed_kwh for r in mine)
        fair = [r.max_over_mean for r in mine if r.max_over_mean is not None]
        print(
            f"| {label} | {shed / needed:.2f} | {shed / reference:.2f} | "
            f"{sum(r.minutes_over for r in mine):.1f} | "
            f"{sum(1 for r in mine if r.minutes_over > 0)}/{len(mine)} | "
            f"{max(r.kw_over_max for r in mine):.1f} | {sum(r.srvs for r in mine)} | "
            f"{max(fair):.2f} |"
        )
    if len(seeds) > 1:  # each feeder at the worst-case cover, the default's setting
        print(
            f"per seed, {'risk-sized' if sized else 'worst-case'} cover: "
            + "; ".join(
                f"{r.seed}: {r.shed_kwh / r.needed_kwh if r.needed_kwh else 0:.2f} "
                f"(floor {r.floor}), {r.minutes_over:g} min over, max/mean {r.max_over_mean}, "
                f"{r.srvs} SRVs" + (" (too few consenting chargers)" if r.exhausted else "")
                for r in rows
                if r.knowledge == "dno" and r.cost == math.inf
            )
        )
    print(f"{len(rows)} runs in {wall:.0f} s wall ({args.jobs} jobs)")
    if args.floors:
        print_floors(args.scenario, seeds, args.jobs)


if __name__ == "__main__":
    main()
