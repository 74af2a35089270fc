"""`gbhan emulate`: run emulated premises.

    gbhan emulate command FILE_OR_HEX --keystore DIR [--switch model|board] [--repeat N]
                                      [--pcap FILE] [--secmp0046-boost] [--no-secmp0046]
    gbhan emulate [SCENARIO] [--out DIR] [--boards N]   (the feeder scenarios)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

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
    return parser


def run_scenario(rest: list[str]) -> int:
    """`gbhan emulate [SCENARIO] [--out DIR] [--boards N]`: the feeder scenario runner."""
    from emulator.scenario import runner

    args = scenario_parser().parse_args(rest)
    return runner.main(args.scenario, args.out, args.boards, progress=not args.quiet)


def read_command(text: str) -> bytes:
    path = Path(text)
    raw = path.read_text().strip() if path.is_file() else text.strip()
    try:
        return bytes.fromhex(raw)
    except ValueError:
        raise SystemExit(f"gbhan emulate: {text!r} is neither a .HEX file nor hex") from None


def run_command(args: argparse.Namespace) -> int:
    import datetime as dt

    from emulator.clock import Clock
    from emulator.devices import households
    from emulator.devices.keys import PremisesKeys
    from emulator.devices.premises import HAN_LATENCY_S, Premises
    from emulator.han.medium import LinkQuality, Medium
    from emulator.han.pcap import HanCapture

    command = read_command(args.command)
    if args.repeat < 1:
        raise SystemExit("gbhan emulate: --repeat must be at least 1")
    at = dt.datetime.fromisoformat(args.at).replace(tzinfo=dt.UTC) if args.at else None
    keys = PremisesKeys.open(*args.keystore)
    household = households.for_command(command) or households.default()
    clock = Clock(mode="wall" if args.switch == "board" else "simulated", start_utc=at)

    async def main() -> list[dict]:
        capture = HanCapture(args.pcap, clock) if args.pcap else None
        medium = Medium(
            clock, seed=1, capture=capture, default_link=LinkQuality(latency_s=HAN_LATENCY_S)
        )
        premises = await Premises.start(
            clock,
            medium,
            keys=keys,
            switch=args.switch,
            secmp0046_hcalcs=not args.no_secmp0046,
            secmp0046_boost=args.secmp0046_boost,
            **household.premises_kwargs(),
        )
        if at is not None:
            premises.esme.set_time(at)
        lines = []
        try:
            for _ in range(args.repeat):
                execution = await premises.execute(command)
                line = execution.as_json()
                print(json.dumps(line), flush=True)
                lines.append(line)
        finally:
            await premises.close()
            if capture is not None:
                capture.close()
                keys_file = args.pcap.with_suffix(args.pcap.suffix + ".keys")
                keys_file.write_text("\n".join(capture.tshark_key_options()) + "\n")
        return lines

    lines = clock.run(main)
    return 0 if all(line["outcome"] == "executed" for line in lines[:1]) else 1
