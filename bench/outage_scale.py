"""Fleet model at the DCC's scale: wall time to simulate one outage hitting 30,000 homes, per
region and strategy, against a reference measured in the same run.

    .venv/bin/python bench/outage_scale.py [--homes 30000] [--repeat 3] [--strategies all]

The goal (issue #9) is ≤ 30 s for 30,000 homes. The reference is the least work any
per-home simulation of the same run must do: draw as many uniform random numbers as the run
drew events (six per home plus one per radio frame sent) and sort them once, in plain numpy.
Each figure is the best of --repeat runs (the machine is shared).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from emulator.outage import REGIONS, model, simulate, strategies  # noqa: E402
from emulator.outage.calibration import calibrate  # noqa: E402

GOAL_S = 30.0
DRAWS_PER_HOME = 6  # holdup, boot/attach, dither, window and cell for each home


def best_of(repeat: int, fn) -> tuple[float, object]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


def reference(draws: int, repeat: int) -> float:
    rng = np.random.default_rng(1)
    return best_of(repeat, lambda: np.sort(rng.uniform(0, 3600, draws)))[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--homes", type=int, default=30000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--strategies", default="all", help="comma-separated, or 'all'")
    args = parser.parse_args()

    print(f"fleet model, {args.homes:,} homes, best of {args.repeat}; goal ≤ {GOAL_S:g} s\n")
    print(f"{'region':<14} {'strategy':<16} {'model s':>8} {'frames':>8} {'ref s':>8} "
          f"{'model/ref':>9} {'of goal':>8}")  # fmt: skip
    worst = 0.0
    for region in REGIONS:
        names = strategies(region) if args.strategies == "all" else args.strategies.split(",")
        for name in names:
            m = model(region, name)
            took, outcome = best_of(args.repeat, lambda m=m: simulate(m, args.homes))
            ref = reference(DRAWS_PER_HOME * args.homes + outcome.frames, args.repeat)
            worst = max(worst, took)
            print(f"{region:<14} {name:<16} {took:8.3f} {outcome.frames:8d} {ref:8.4f} "
                  f"{took / ref:9.1f} {took / GOAL_S:8.1%}", flush=True)  # fmt: skip
    took, _ = best_of(1, lambda: calibrate(args.homes))
    print(f"\nthe whole calibration (2 regions × 3 DCC configurations): {took:.2f} s")
    print(f"slowest single run: {worst:.3f} s = {worst / GOAL_S:.1%} of the {GOAL_S:g} s goal")
    return 0 if worst <= GOAL_S else 1


if __name__ == "__main__":
    sys.exit(main())
