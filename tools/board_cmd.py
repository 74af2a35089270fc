"""`gbhan board`: the virtual board, i.e. the firmware on the MicroPython unix port.

`gbhan board run --role hcalcs|plcs [--esme EUI64] [--state-dir DIR]` makes two
pseudo-terminals, prints `radio: <pty>` and `console: <pty>`, then becomes the firmware
process (exec), so killing it is a power cut and `--state-dir` is its flash.
`--role commshub` adds a third pty, `wan: <pty>`, the hub's link to the DSP
(docs/commshub.md).

The board itself is `emulator.virtual_board`; this module parses arguments and prints.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from emulator.virtual_board import DEFAULT_HEAP, HUB_SETTINGS, firmware_command, pty_pair


def _run(args: argparse.Namespace) -> int:
    state_dir = Path(args.state_dir).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    radio_master, _radio_slave, radio_path = pty_pair()
    console_master, _console_slave, console_path = pty_pair()
    fds = [radio_master, console_master, _radio_slave, _console_slave]
    extra = ["--lenient-labels"] if args.lenient_labels else []
    wan = None
    if args.role == "commshub":
        wan_master, _wan_slave, wan_path = pty_pair()
        fds += [wan_master, _wan_slave]
        wan = f"fd:{wan_master}"
        for name in HUB_SETTINGS:
            value = getattr(args, name)
            if value is not None:
                extra += [f"--{name.replace('_', '-')}", str(value)]
    # Keep our slave ends open too: the ptys then survive a client closing and reopening.
    argv, env, cwd = firmware_command(
        args.role,
        state_dir,
        f"fd:{radio_master}",
        f"fd:{console_master}",
        args.esme,
        args.label,
        args.heap,
        args.source,
        extra,
        wan,
    )
    print(f"radio: {radio_path}")
    print(f"console: {console_path}")
    if wan is not None:
        print(f"wan: {wan_path}")
    sys.stdout.flush()
    for fd in fds:
        os.set_inheritable(fd, True)
    os.chdir(cwd)
    os.execve(argv[0], argv, env)
    return 1  # not reached


def register(subparsers) -> None:
    board = subparsers.add_parser(
        "board",
        help="the virtual board (switch or Comms Hub firmware on the MicroPython unix port)",
    )
    sub = board.add_subparsers(dest="board_command", required=True)
    run = sub.add_parser("run", help="run the firmware behind two ptys until killed")
    run.add_argument("--role", choices=("hcalcs", "plcs", "commshub"), required=True)
    run.add_argument("--esme", help="EUI-64 of the commissioned meter (hex, ':' allowed)")
    run.add_argument("--state-dir", default="gbhan-out/board", help="the board's flash")
    run.add_argument("--label", help="description label to commission if none is stored")
    run.add_argument("--heap", default=DEFAULT_HEAP, help="unix port heap (-X heapsize)")
    run.add_argument(
        "--lenient-labels",
        action="store_true",
        help="accept description labels outside the vocabulary file (strict by default)",
    )
    run.add_argument(
        "--source", action="store_true", help="run the .py sources instead of the mpy-cross build"
    )
    hub = run.add_argument_group("commshub", "Comms Hub settings (stored in its flash)")
    for name, text in HUB_SETTINGS.items():
        hub.add_argument(f"--{name.replace('_', '-')}", type=int, metavar="N", help=text)
    run.set_defaults(func=_run)
