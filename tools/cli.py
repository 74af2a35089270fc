"""The `gbhan` command line: parses arguments and hands over to the packages.

Each command group lives in its own module with a `register(subparsers)` function, so the
groups (gbcs, board, emulate, hil ...) can grow without touching each other.
"""

import argparse
import sys

from . import board_cmd, dsp_cmd, duis_cmd, emulate_cmd, gbcs_cmd, hil_cmd, outage_cmd, smki_cmd

GROUPS = [gbcs_cmd, board_cmd, smki_cmd, duis_cmd, dsp_cmd, emulate_cmd, outage_cmd, hil_cmd]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gbhan", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for group in GROUPS:
        group.register(sub)
    return parser


def run_group(register, argv: list[str] | None = None) -> int:
    """`python -m tools.<group>_cmd ...`: one group's commands on their own (tests run them
    as subprocesses this way)."""
    parser = argparse.ArgumentParser(prog="gbhan")
    register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args) or 0)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    for group in GROUPS:
        # a group whose grammar argparse cannot nest (e.g. `emulate [SCENARIO] [opts]` beside
        # `emulate command FILE opts`) parses its own arguments
        if argv and argv[0] == getattr(group, "OWN_GRAMMAR", None):
            return int(group.main(argv[1:]) or 0)
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
