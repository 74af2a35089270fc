"""The `gbhan` command line: parses arguments and hands over to the packages.

Each command group lives in its own module with a `register(subparsers)` function, so the
groups (gbcs, board, emulate, hil ...) can grow without touching each other. A group's
module is imported only when its command is run: `gbhan gbcs check` loads the codec, not
the emulator, and `gbhan --help` lists the commands from COMMANDS without importing any.
"""

import argparse
import importlib
import os
import sys
from types import ModuleType

# command -> (the module under tools/ that registers it, its one-line help in `gbhan -h`);
# tests/tools/test_cli.py holds these to what each module's register() says
COMMANDS: dict[str, tuple[str, str]] = {
    "gbcs": ("gbcs_cmd", "GBCS codec: decode, encode, sign, verify, check"),
    "board": (
        "board_cmd",
        "the virtual board (switch or Comms Hub firmware on the MicroPython unix port)",
    ),
    "smki": ("smki_cmd", "SMKI repository: serve, extract, sync, populate"),
    "duis": ("duis_cmd", "DUIS XML: verify schema and signature"),
    "dsp": ("dsp_cmd", "the DCC/DSP back office over HTTP (DCC Boxed interface)"),
    "emulate": (
        "emulate_cmd",
        "run a feeder scenario (default feeder-overload), or `emulate command` one GBCS "
        "command on one emulated premises",
    ),
    "outage": (
        "outage_cmd",
        "fleet model of Power Outage / Restoration Alerts (POA/PRA) for N homes",
    ),
    "study": ("study_cmd", "studies over many feeders (a licence area)"),
    "hil": ("hil_cmd", "hardware-in-the-loop: run the switch suite on a DUT"),
    "flash": ("hil_cmd", "deploy the switch firmware to a board (mpremote)"),
}
DESCRIPTION = __doc__.splitlines()[0]


def group(command: str) -> ModuleType:
    """The module that registers `command` (imported now, on first use)."""
    return importlib.import_module(f"tools.{COMMANDS[command][0]}")


def build_parser(commands: list[str] | None = None) -> argparse.ArgumentParser:
    """The whole parser (every group imported), or only the groups of `commands`."""
    parser = argparse.ArgumentParser(prog="gbhan", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)
    modules = dict.fromkeys(COMMANDS[c][0] for c in (commands or COMMANDS))
    for name in modules:
        importlib.import_module(f"tools.{name}").register(sub)
    return parser


def listing_parser() -> argparse.ArgumentParser:
    """Every command with its help and nothing below it: enough for `gbhan -h` and for
    argparse to name a mistyped command, without importing a single group."""
    parser = argparse.ArgumentParser(prog="gbhan", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)
    for command, (_, text) in COMMANDS.items():
        sub.add_parser(command, help=text, add_help=False)
    return parser


def run_group(register, argv: list[str] | None = None) -> int:
    """`python -m tools.<group>_cmd ...`: one group's commands on their own (tests run them
    as subprocesses this way)."""
    parser = argparse.ArgumentParser(prog="gbhan")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


def main(argv: list[str] | None = None) -> int:
    try:
        return _dispatch(sys.argv[1:] if argv is None else list(argv))
    except BrokenPipeError:
        # the reader went away (`gbhan gbcs decode DIR | head`): stop quietly, and keep
        # Python from failing again while it flushes stdout at exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1


def _dispatch(argv: list[str]) -> int:
    command = argv[0] if argv else None
    if command not in COMMANDS:  # -h, nothing, or a mistyped command: argparse says which
        listing_parser().parse_args(argv)
        return 2  # not reached: parse_args exits on all of these
    module = group(command)
    # a group whose grammar argparse cannot nest (e.g. `emulate [SCENARIO] [opts]` beside
    # `emulate command FILE opts`) parses its own arguments
    if command == getattr(module, "OWN_GRAMMAR", None):
        return int(module.main(argv[1:]) or 0)
    args = build_parser([command]).parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
