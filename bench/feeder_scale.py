"""Scale of the main job: a 250-premises feeder over a 4-hour evening through the real path
(DNO client → DSP → WAN → Premises with model switches), goal ≤ 60 s wall on this machine.

Prints the wall time, the simulated/wall ratio, the SRVs and their response times, and as a
reference measured in the same run the physics alone (households + EVs + feeder sum, the same
steps, no DNO): the ratio says what the back office and the HANs add.

    .venv/bin/python bench/feeder_scale.py [--premises 250] [--hours 4]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from emulator.clock import Clock  # noqa: E402
from emulator.grid.loads import FeederPhysics  # noqa: E402
from emulator.scenario import engine, spec  # noqa: E402
from emulator.scenario.world import build_world  # noqa: E402


def physics_only(scenario) -> float:
    population = engine.build_population(scenario)
    physics = FeederPhysics(population, scenario.households, scenario.start_hour, scenario.seed)
    ones = np.ones(len(population.premises))
    start = time.perf_counter()
    for _ in range(int(scenario.duration_s / scenario.step_s)):
        physics.step(scenario.step_s, ones)
    return time.perf_counter() - start


def real_path(scenario):
    clock = Clock()
    marks = {}

    async def main():
        population = engine.build_population(scenario)
        consent = engine.build_consent(scenario, population)
        t = time.perf_counter()
        han = await build_world(scenario, population, consent, clock, boards=0, pcap=None)
        marks["build"] = time.perf_counter() - t
        try:
            return await engine.run(
                scenario, han, population, consent, now=clock.now,
                progress=lambda f: print(f"  [{f * 100:3.0f} %] {time.perf_counter() - t:.1f} s",
                                         file=sys.stderr, flush=True),
            )  # fmt: skip
        finally:
            await han.close()

    start = time.perf_counter()
    result = clock.run(main)
    return result, time.perf_counter() - start, marks["build"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--premises", type=int, default=250)
    parser.add_argument("--hours", type=float, default=4.0)
    args = parser.parse_args()
    base = spec.load("feeder-overload")
    scenario = base.with_overrides(
        name=f"feeder-scale-{args.premises}",
        premises=args.premises,
        rating_kw=base.rating_kw * args.premises / base.premises,
        duration_s=args.hours * 3600.0,
    )
    reference = physics_only(scenario)
    result, wall, build = real_path(scenario)
    s = result.record.summary
    print(
        f"feeder: {scenario.premises} premises, {args.hours:g} h simulated, "
        f"step {scenario.step_s:g} s, {s['han']['premises_on_han']} households on a HAN"
    )
    print(
        f"wall (real path, incl. building the HANs): {wall:.2f} s   goal <= 60 s: "
        f"{'met' if wall <= 60 else 'NOT met'}"
    )
    print(f"  building DSP + premises: {build:.2f} s")
    print(f"  simulated/wall: {scenario.duration_s / wall:.0f}x")
    print(
        f"SRVs: {s['srv_count']} ({s['srv_by_type']}), response p50 {s['srv_response_s_p50']} s "
        f"max {s['srv_response_s_max']} s, over 30 s: {s['srv_over_30s']}"
    )
    print(
        f"feeder: rating {s['feeder_rating_kw']:.0f} kW, peak without DNO "
        f"{s['feeder_peak_kw_without_curtailment']:.0f} kW, after first curtailment "
        f"{s['feeder_peak_kw_after_first_curtailment']} kW"
    )
    print(
        f"reference, physics alone (same steps, no DNO): {reference * 1000:.1f} ms; "
        f"real path / physics = {wall / reference:.0f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
