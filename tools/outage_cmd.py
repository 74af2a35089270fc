"""`gbhan outage ...`: the fleet model of outage alerts (emulator.outage). One run prints the
percentile table and writes the delivery-curve plot; `calibrate` prints ours against the
DCC's rows for 30,000 homes; `compare` puts every strategy against the SEC and DNO asks."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

OUT = Path("gbhan-out") / "outage"
REGIONS = ("north", "central-south")


def _homes(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if not 1 <= value <= 10_000_000:
        raise argparse.ArgumentTypeError(f"homes must be 1..10,000,000, got {value}")
    return value


def _minutes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 <= value <= 7 * 24 * 60:
        raise argparse.ArgumentTypeError(f"outage must be 0..10080 minutes, got {value}")
    return value


def register(sub) -> None:
    p = sub.add_parser(
        "outage",
        help="fleet model of Power Outage / Restoration Alerts (POA/PRA) for N homes",
        description=__doc__,
    )
    p.add_argument("--homes", type=_homes, default=30000, help="homes hit (default 30000)")
    p.add_argument("--region", choices=REGIONS, default="north", help="CSP region")
    p.add_argument("--strategy", default="current", help="current, option-a, option-b, ours ...")
    p.add_argument("--outage-min", type=_minutes, default=60.0, help="outage length (default 60)")
    p.add_argument("--seed", type=int, default=None, help="random seed (default: fixed)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--plot", type=Path, help=f"PNG path (default {OUT}/cdf-REGION-STRATEGY.png)")
    p.add_argument("--no-plot", action="store_true", help="do not write the plot")
    p.set_defaults(func=cmd_run)
    cmds = p.add_subparsers(dest="outage_command", required=False)

    keep = argparse.SUPPRESS  # so a subcommand's defaults never override the options above
    c = cmds.add_parser("calibrate", help="ours vs the DCC's rows (seed 003); exit 1 on a miss")
    c.add_argument("--homes", type=_homes, default=keep, help="homes (default: the DCC's 30000)")
    c.add_argument("--seed", type=int, default=keep)
    c.add_argument("--json", action="store_true", default=keep)
    c.set_defaults(func=cmd_calibrate)

    c = cmds.add_parser("compare", help="every strategy of a region against the SEC/DNO asks")
    c.add_argument("--region", choices=REGIONS, default=keep)
    c.add_argument("--homes", type=_homes, default=keep)
    c.add_argument("--outage-min", type=_minutes, default=keep)
    c.add_argument("--seed", type=int, default=keep)
    c.add_argument("--json", action="store_true", default=keep)
    c.add_argument("--plot", type=Path, default=keep, help="PNG of the chosen strategies' curves")
    c.add_argument(
        "--plot-strategies", default="current,option-a,option-b,ours,ours-on-b",
        help="comma-separated strategies drawn in --plot",
    )  # fmt: skip
    c.set_defaults(func=cmd_compare)


def _seed(args) -> int:
    from emulator.outage import DEFAULT_SEED

    return DEFAULT_SEED if getattr(args, "seed", None) is None else args.seed


def _dcc_points(region: str, configs: list[str]) -> dict:
    from emulator.outage.calibration import dcc_rows

    points: dict[str, list] = {"poa": [], "pra": []}
    for row in dcc_rows()[2]:
        if row.region == region and row.config in configs:
            points[row.alert].append((row.config, row.dcc_s, row.share))
    return points


def cmd_run(args) -> int:
    from emulator.outage import OutageParamError, model, simulate
    from emulator.outage.plot import write_cdf
    from emulator.outage.report import text, to_json

    try:
        m = model(args.region, args.strategy)
    except OutageParamError as exc:
        print(f"gbhan outage: {exc}", file=sys.stderr)
        return 2
    outcome = simulate(m, args.homes, args.outage_min * 60, _seed(args))
    plot = None
    if not args.no_plot:
        plot = args.plot or OUT / f"cdf-{args.region}-{args.strategy}.png"
        try:
            write_cdf([outcome], plot, _dcc_points(args.region, [args.strategy]))
        except OSError as exc:
            print(f"gbhan outage: cannot write the plot: {exc}", file=sys.stderr)
            return 2
    if args.json:
        print(json.dumps(to_json(outcome, str(plot) if plot else None)))
    else:
        print(text(outcome))
        if plot:
            print(f"\nplot: {plot}")
    return 0


def cmd_calibrate(args) -> int:
    from emulator.outage.calibration import calibrate, dcc_rows, table

    homes = getattr(args, "homes", None)
    _, source, _ = dcc_rows()

    def progress(done: int, total: int, what: str) -> None:
        print(f"\r  simulating {done}/{total}: {what:<24}", end="", file=sys.stderr, flush=True)

    results = calibrate(homes, _seed(args), progress=progress)
    print(file=sys.stderr)
    targets = [c for c in results if c.row.config == "current"]
    passed = sum(c.within for c in targets)
    if getattr(args, "json", False):
        print(json.dumps({
            "source": source,
            "homes": homes or dcc_rows()[0],
            "tolerance": 0.2,
            "rows": [
                {"region": c.row.region, "alert": c.row.alert, "share": c.row.share,
                 "config": c.row.config, "dcc_s": c.row.dcc_s, "ours_s": c.ours_s,
                 "ratio": c.ratio, "within": c.within}
                for c in results
            ],
            "current_passed": passed,
            "current_rows": len(targets),
        }))  # fmt: skip
    else:
        print(f"Ours vs the DCC ({source}), {homes or dcc_rows()[0]:,} homes\n")
        print(table(results))
        print(f"\n'current' rows within ±20 %: {passed}/{len(targets)}")
    return 0 if passed == len(targets) else 1


def cmd_compare(args) -> int:
    from emulator.outage import OutageParamError, model, simulate, strategies
    from emulator.outage.plot import write_cdf
    from emulator.outage.report import compare_table, to_json

    region = args.region
    minutes = args.outage_min
    outcomes = []
    names = strategies(region)
    for i, name in enumerate(names):
        print(f"\r  simulating {i + 1}/{len(names)}: {name:<20}", end="", file=sys.stderr)
        outcomes.append(simulate(model(region, name), args.homes, minutes * 60, _seed(args)))
    print(file=sys.stderr)
    plot = getattr(args, "plot", None)
    if plot:
        wanted = [s.strip() for s in args.plot_strategies.split(",") if s.strip()]
        try:
            for name in wanted:
                model(region, name)
        except OutageParamError as exc:
            print(f"gbhan outage compare: {exc}", file=sys.stderr)
            return 2
        drawn = [o for o in outcomes if o.model.strategy in wanted]
        write_cdf(drawn, plot, _dcc_points(region, ["current", "option-a", "option-b"]))
    if args.json:
        print(json.dumps([to_json(o) for o in outcomes]))
    else:
        print(f"{region}: {args.homes:,} homes, outage {minutes:g} min\n")
        print(compare_table(outcomes))
        if plot:
            print(f"\nplot: {plot}")
    return 0
