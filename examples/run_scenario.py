"""Run a feeder scenario from Python and read its outcome: the same run as `gbhan emulate`,
without the printing.

    .venv/bin/python examples/run_scenario.py [SCENARIO] [--boards N]

Default: `feeder-overload` with no firmware board (the fastest run). Prints the feeder's
peak against its rating, each named check, and where the report went.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from emulator.scenario import load, run


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", nargs="?", default="feeder-overload")
    parser.add_argument("--boards", type=int, default=0)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    out = args.out or Path(tempfile.mkdtemp(prefix="gbhan-example-"))
    outcome = run(load(args.scenario), out=out, boards=args.boards)
    summary = outcome.summary
    print(
        f"{summary.feeder}: peak {summary.peak_kw} kW against {summary.rating_kw} kW "
        f"({summary.peak_kw_without_curtailment} kW without the DNO), {summary.srv_count} SRVs"
    )
    for name, ok in outcome.checks.items():
        print(f"  [{'ok' if ok else 'FAILED'}] {name}")
    print(f"timeline: {len(outcome.timeline)} lines; report: {outcome.paths['report.html']}")
    return 0 if outcome.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
