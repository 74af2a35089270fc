"""`gbhan emulate`: run emulated premises (the library is `emulator.scenario`; this prints
and maps outcomes to exit codes).

    gbhan emulate command FILE_OR_HEX --keystore DIR [--switch model|board] [--repeat N]
                                      [--pcap FILE] [--secmp0046-boost] [--no-secmp0046]
    gbhan emulate [SCENARIO] [--out DIR] [--boards N] [--quiet]   (the feeder scenarios)
                  [--serve [--web-port P] [--host H] [--speed X] [--paused]]
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the library is imported when a command runs (keeps `gbhan -h` quick)
    from emulator.scenario import ScenarioOutcome

#: Exit codes: 0 done and every check held (every run executed), 1 a check failed (a run did
#: not execute), 2 bad arguments or scenario, 3 the world could not be built here.
EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE, EXIT_UNBUILDABLE = 0, 1, 2, 3
#: `--serve`: Ctrl-C before the run finished (after it, the run's own code).
EXIT_INTERRUPTED = 130

#: tools.cli hands `gbhan emulate ...` to main() whole: a scenario's options and the
#: `command` subcommand's cannot share one argparse level.
OWN_GRAMMAR = "emulate"


def register(subparsers) -> None:
    """Lists `emulate` in `gbhan -h`; the arguments themselves are parsed by main()."""
    subparsers.add_parser(
        "emulate",
        help="run a feeder scenario (default feeder-overload), or `emulate command` one GBCS "
        "command on one emulated premises",
        add_help=False,
    )


def main(argv: list[str]) -> int:
    if argv and argv[0] == "command":
        return run_command(command_parser().parse_args(argv[1:]))
    return run_scenario(argv)


def command_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gbhan emulate command",
        description="Feed one GBCS command to one emulated premises (Comms Hub, ESME, "
        "switches in slots 1-5) and print one JSON line per run. The premises is the RTDS "
        "household whose ESME the command targets (00DB1234567890A0: slot 2 the RTDS HCALCS; "
        "00DB1234567890A6); any other target goes to the A0 household, which refuses it.",
    )
    parser.add_argument("command", help="a .HEX file or the hex itself")
    parser.add_argument("--keystore", action="append", required=True, help="PEM folder or JSON")
    parser.add_argument("--switch", choices=("model", "board"), default="model")
    parser.add_argument("--repeat", type=int, default=1, help="run the same command N times")
    parser.add_argument("--pcap", type=Path, help="write the HAN capture here")
    parser.add_argument("--no-secmp0046", action="store_true", help="NO not allowed 7.6-7.8")
    parser.add_argument("--secmp0046-boost", action="store_true", help="NO allowed 7.9-7.11")
    parser.add_argument("--at", help="the meter's clock (ISO date-time, UTC); default now")
    return parser


def scenario_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="gbhan emulate",
        description="Run a feeder scenario in simulated time: the DNO curtails consented EV "
        "chargers through the back office and the HAN; writes summary.json, report.html, "
        "interventions.csv and han.pcap. `gbhan emulate command -h`: one GBCS command.",
    )
    parser.add_argument(
        "scenario", nargs="?", default=None,
        help="a scenario name (feeder-overload, the default) or a .toml file",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, help="output folder (default ./gbhan-out/<scenario>)")
    parser.add_argument(
        "--boards", type=int, default=1,
        help="run N premises' switches as the real firmware on virtual boards (default 1)",
    )  # fmt: skip
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    web = parser.add_argument_group(
        "web console", "--serve: watch the run on the feeder, premises and DUIS log pages "
        "(docs/web.md); they stay up after the run until Ctrl-C",
    )  # fmt: skip
    web.add_argument(
        "--serve", action="store_true",
        help="serve the web console during the run: the feeder, premises and DUIS log pages",
    )  # fmt: skip
    web.add_argument("--web-port", type=int, default=8080, help="its port (default 8080; 0: free)")
    web.add_argument("--host", default="127.0.0.1", help="its address (default 127.0.0.1)")
    web.add_argument(
        "--speed", type=float, default=120.0,
        help="simulated seconds per real second (default 120; 0: as fast as it can)",
    )  # fmt: skip
    web.add_argument("--paused", action="store_true", help="start held at the first sample")
    return parser


def run_scenario(rest: list[str]) -> int:
    """`gbhan emulate [SCENARIO] [--out DIR] [--boards N]`: run a feeder scenario, print its
    timeline, summary and checks."""
    from emulator import scenario as sc

    args = scenario_parser().parse_args(rest)
    try:
        chosen = sc.load(args.scenario)
    except sc.ScenarioError as err:
        print(f"error: {err}")
        return EXIT_USAGE
    if args.boards < 0:
        print("error: --boards must be 0 or more")
        return EXIT_USAGE
    out = args.out if args.out is not None else Path("gbhan-out") / chosen.name
    if args.speed < 0:
        print("error: --speed must be 0 or more")
        return EXIT_USAGE
    console = None
    if args.serve:
        from emulator.web import FeederConsole

        console = FeederConsole({
            "name": chosen.name, "description": chosen.description,
            "feeder": chosen.feeder_id, "premises": chosen.premises,
            "rating_kw": chosen.rating_kw, "step_s": chosen.step_s,
            "duration_s": chosen.duration_s, "start_utc": chosen.start_utc.isoformat(),
        }, speed=args.speed, paused=args.paused, dsp_pages=True)  # fmt: skip
        try:
            url = console.start(args.host, args.web_port)
        except OSError as err:
            print(f"error: the feeder page cannot listen on {args.host}:{args.web_port} "
                  f"({err}); choose another --web-port")  # fmt: skip
            return EXIT_USAGE
        print(f"feeder page on {url}feeder (premises {url}premises, DUIS log {url}log)",
              flush=True)  # fmt: skip
    try:
        code = _run_and_print(sc, chosen, out, args, console)
        if console is not None and code in (EXIT_OK, EXIT_CHECK_FAILED):
            print(f"the feeder page stays up on {console.url}feeder: Ctrl-C to end", flush=True)
            _wait_for_interrupt()
        return code
    except KeyboardInterrupt:
        if console is None:
            raise  # as it always was
        print("interrupted: the run did not finish", flush=True)
        return EXIT_INTERRUPTED
    finally:
        if console is not None:
            console.stop()


def _wait_for_interrupt() -> None:
    """Until Ctrl-C or SIGTERM (the page is still being looked at)."""
    done = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)


def _run_and_print(sc, chosen, out: Path, args: argparse.Namespace, console) -> int:
    """Run the scenario, printing its timeline and outcome (and telling the feeder page)."""

    def progress(event: sc.Progress) -> None:
        if isinstance(event, sc.TimelineLine):
            print(event.text)
            if console is not None:
                console.note(event.text)
        elif not args.quiet:
            print(
                f"[{event.fraction * 100:3.0f} %] simulated {event.simulated_s / 3600:.1f} h "
                f"in {event.wall_s:.1f} s wall",
                file=sys.stderr,
                flush=True,
            )

    try:
        outcome = sc.run(
            chosen, out=out, boards=args.boards, progress=progress,
            on_step=None if console is None else console.on_step,
            on_world=None if console is None else lambda world: _watch(console, world, chosen),
        )  # fmt: skip
    except sc.TooManyBoards as err:
        print(f"error: --boards {err.asked}: this feeder has only {err.available} EV switches")
        return EXIT_USAGE
    except sc.ScenarioError as err:
        print(f"error: {err}")
        return EXIT_USAGE
    except sc.WorldUnbuildable as err:
        print(f"error: the real DSP + Premises path could not be built: {err}")
        return EXIT_UNBUILDABLE
    print_outcome(outcome)
    if console is not None:
        result = outcome.result
        console.finish(outcome.summary.data, outcome.checks, result.recorder, result.monitor)
    return EXIT_OK if outcome.ok else EXIT_CHECK_FAILED


def _watch(console, world, chosen) -> None:
    """The scenario's DSP, its DNO and Supplier and its households on the console's premises
    and DUIS log pages, timed as the run is (its start plus simulated time)."""
    import datetime as dt

    from emulator.scenario.world import RUN_DATE
    from emulator.web import device_verifier

    live = {pid: site.premises for pid, site in world.sites.items()}
    console.watch_dsp(
        world.dsp, live=live, users=(world.dno, world.supplier),
        verifier=device_verifier([p.keys.keystore for p in live.values()], RUN_DATE),
        utc_now=lambda: chosen.start_utc + dt.timedelta(seconds=world.now()),
    )  # fmt: skip


def print_outcome(outcome: ScenarioOutcome) -> None:
    """The summary lines, the checks, the files and how to decrypt the capture."""
    summary = outcome.summary
    print("")
    print(
        f"feeder {summary.feeder}: rating {summary.rating_kw} kW, peak {summary.peak_kw} kW "
        f"(without the DNO {summary.peak_kw_without_curtailment} kW), after the first "
        f"curtailment {summary.peak_kw_after_first_curtailment} kW"
    )
    print(
        f"{summary.srv_count} SRVs, response p50 {summary.srv_response_s_p50} s, max "
        f"{summary.srv_response_s_max} s; {summary.customers_affected} customers affected, "
        f"{summary.energy_curtailed_kwh} kWh curtailed; declined premises switched: "
        f"{summary.declined_premises_switched}"
    )
    print(
        f"policy {summary.policy}: shed {summary.energy_shed_kwh} kWh where "
        f"{summary.energy_needed_kwh} kWh was needed (ratio {summary.shed_to_needed_ratio}), "
        f"{summary.minutes_over_rating} min over rating; curtailment per customer max "
        f"{summary.curtailment_minutes_max} min, mean {summary.curtailment_minutes_mean} min; "
        f"{summary.srvs_per_kwh_shed} SRVs per kWh shed; consent terms broken: "
        f"{summary.consent_terms_broken}"
    )
    for name, held in outcome.checks.items():
        print(f"  [{'ok' if held else 'FAILED'}] {name}")
    floor = summary.data.get("floor_shed_to_needed_ratio")
    for name, met in outcome.goals.items():  # said, not judged: they do not fail a run
        print(f"  [goal {'met' if met else 'not met'}] {name} (the floor here: {floor})")
    print(f"wrote {', '.join(str(p) for p in outcome.paths.values())}")
    print(f"decrypt the capture (every household's HAN): {outcome.tshark_command}")
    print(f"wall {summary.wall_seconds} s")


def read_command(text: str) -> bytes | None:
    """The command from a .HEX file or hex text; None when it is neither."""
    path = Path(text)
    raw = path.read_text().strip() if path.is_file() else text.strip()
    try:
        return bytes.fromhex(raw)
    except ValueError:
        return None


def run_command(args: argparse.Namespace) -> int:
    """`gbhan emulate command`: one JSON line per run; 0 only if every run executed."""
    import datetime as dt

    from emulator.scenario import run_command as run

    command = read_command(args.command)
    if command is None:
        command_parser().error(f"{args.command!r} is neither a .HEX file nor hex")
    if args.repeat < 1:
        command_parser().error("--repeat must be at least 1")
    at = dt.datetime.fromisoformat(args.at).replace(tzinfo=dt.UTC) if args.at else None
    outcome = run(
        command, keystores=[Path(k) for k in args.keystore], switch=args.switch,
        repeat=args.repeat, pcap=args.pcap, secmp0046_hcalcs=not args.no_secmp0046,
        secmp0046_boost=args.secmp0046_boost, at=at,
        on_execution=lambda execution: print(json.dumps(execution.as_json()), flush=True),
    )  # fmt: skip
    return EXIT_OK if outcome.all_executed else EXIT_CHECK_FAILED
