"""`gbhan study region`: a licence area's tea-time curtailment study (the library is
`emulator.region`; this parses, shows progress, prints the answer and maps exit codes).

    gbhan study region [SCENARIO] [--feeders N] [--workers N] [--address ADDR] [--out DIR]
                       [--options current,option-a,option-b] [--quiet] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

#: 0 done; 2 bad arguments or scenario; 3 the run could not go on (engine, lost shards).
EXIT_OK, EXIT_USAGE, EXIT_RUN_FAILED = 0, 2, 3


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def register(sub) -> None:
    p = sub.add_parser("study", help="studies over many feeders (a licence area)",
                       description=__doc__)  # fmt: skip
    studies = p.add_subparsers(dest="study", required=True)
    r = studies.add_parser(
        "region",
        help="N feeders at tea-time, every SRV through one DSP and the region's WAN",
        description="Run a region scenario for each WAN option and write summary.json, "
        "a CSV per option (one row per feeder) and report.html with plots.",
    )
    r.add_argument("scenario", nargs="?", default=None,
                   help="a built-in region scenario or a .toml path (default tea-time-north)")  # fmt: skip
    r.add_argument(
        "--feeders", type=_positive, help="feeders in the region (default: the scenario's)"
    )
    r.add_argument("--workers", type=_positive, default=2,
                   help="local Dask worker processes (default 2; 0 runs in this process)")  # fmt: skip
    r.add_argument("--address", help="a running Dask scheduler (tcp://host:8786) instead")
    r.add_argument("--out", type=Path, help="output folder (default gbhan-out/study-SCENARIO)")
    r.add_argument("--options", help="comma-separated WAN options (default: the scenario's)")
    r.add_argument("--quiet", action="store_true", help="no progress bar")
    r.add_argument("--json", action="store_true", help="print summary.json's figures as JSON")
    r.set_defaults(func=cmd_region)


class _Bar:
    """A progress bar on stderr: redrawn in place on a terminal, a line per tenth otherwise."""

    def __init__(self, label: str, quiet: bool) -> None:
        self.label, self.quiet = label, quiet
        self.tty = sys.stderr.isatty()
        self.next_tenth = 0.1

    def __call__(self, seen) -> None:
        if self.quiet:
            return
        done = int(seen.fraction * 30)
        late = f"{100 * seen.srvs_late / seen.srvs_answered:.1f} %" if seen.srvs_answered else "-"
        line = (f"{self.label:>10} [{'#' * done}{'.' * (30 - done)}] {seen.fraction * 100:3.0f} %"
                f"  {seen.until / 3600:.2f} h simulated  {seen.wall_s:.0f} s  window {seen.index}"
                f"  SRVs {seen.srvs_answered} ({late} over 30 s)")  # fmt: skip
        if self.tty:
            print("\r" + line, end="", file=sys.stderr, flush=True)
        elif seen.fraction >= self.next_tenth:
            print(line, file=sys.stderr, flush=True)
            self.next_tenth += 0.1

    def close(self) -> None:
        if self.tty and not self.quiet:
            print(file=sys.stderr)


def cmd_region(args) -> int:
    from emulator import region as rg
    from emulator.region.dask_engine import DaskExecutor
    from emulator.region.report import STUDY_HEADERS, study_rows, write_study

    try:
        region = rg.load(args.scenario)
    except rg.RegionError as err:
        print(f"error: {err}")
        return EXIT_USAGE
    if args.feeders is not None:
        if args.feeders < 1:
            print("error: --feeders must be 1 or more")
            return EXIT_USAGE
        region = region.with_feeders(args.feeders)
    options = args.options.split(",") if args.options else list(region.wan.options)
    known = rg.spec.strategies(region.wan.region)
    unknown = [o for o in options if o not in known]
    if unknown:
        print(f"error: --options {','.join(unknown)}: {region.wan.region} has {', '.join(known)}")
        return EXIT_USAGE
    out = args.out if args.out is not None else Path("gbhan-out") / f"study-{region.name}"
    runs = []
    started = time.perf_counter()
    for option in options:
        bar = _Bar(option, args.quiet)
        try:
            executor = (rg.InlineExecutor() if args.workers == 0 and args.address is None
                        else DaskExecutor(workers=args.workers or 1, address=args.address))  # fmt: skip
            runs.append(rg.run_region(region, executor, option=option, on_window=bar))
        except (rg.RegionRunError, OSError, TimeoutError) as err:
            bar.close()
            print(f"error: the {option} run could not go on: {err}")
            return EXIT_RUN_FAILED
        bar.close()
    meta = {"wall_s": round(time.perf_counter() - started, 2), "workers": args.workers,
            "address": args.address}  # fmt: skip
    paths = write_study(runs, out, meta)
    summary = json.loads(paths["summary.json"].read_text())
    if args.json:
        print(json.dumps(summary, indent=1))
        return EXIT_OK
    print(f"{region.name}: {region.feeders.count} feeders, {region.wan.region}, "
          f"{meta['wall_s']:.0f} s wall on {args.address or f'{args.workers} local worker(s)'}")  # fmt: skip
    rows = study_rows(summary)
    widths = [
        max(len(str(h)), *(len(str(r[i])) for r in rows)) for i, h in enumerate(STUDY_HEADERS)
    ]
    print("  ".join(str(h).ljust(w) for h, w in zip(STUDY_HEADERS, widths, strict=True)))
    for row in rows:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))
    for name, path in paths.items():
        print(f"  {name}: {path}")
    return EXIT_OK


if __name__ == "__main__":
    from .cli import run_group

    sys.exit(run_group(register))
