"""`gbhan board`: the virtual board, i.e. the firmware on the MicroPython unix port.

`gbhan board run --role hcalcs|plcs [--esme EUI64] [--state-dir DIR]` makes two
pseudo-terminals, prints `radio: <pty>` and `console: <pty>`, then runs the board until
killed; `--state-dir` is its flash. `--role commshub` adds a third pty, `wan: <pty>`, the
hub's link to the DSP (docs/commshub.md).

The board is `emulator.virtual_board.VirtualBoard`, as on the rig: its watchdog (8 s), a
firmware that resets itself started again, and safe boot reaching the port's REPL on the
console. Killing this process (SIGTERM, SIGKILL, Ctrl-C) is a power cut: the firmware runs
in the process group of a small sentinel process that the kernel signals when we die
(PR_SET_PDEATHSIG, set by the sentinel on itself from our main thread's child, so it holds
whichever thread later restarts the firmware) and that then kills the whole group.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from emulator.virtual_board import DEFAULT_HEAP, HUB_SETTINGS, WATCHDOG_MS, VirtualBoard

# Runs as its own process-group leader; the firmware joins its group. When the process that
# started it dies, the kernel sends it SIGTERM (its parent-death signal) and it kills the
# group, itself included. argv[1]: that parent's pid (if it died before prctl, act now).
_SENTINEL = (
    "import ctypes, os, signal, sys\n"
    "signal.signal(signal.SIGTERM, lambda *_: os.killpg(0, signal.SIGKILL))\n"
    "ctypes.CDLL(None).prctl(1, int(signal.SIGTERM))  # PR_SET_PDEATHSIG\n"
    "if os.getppid() != int(sys.argv[1]):\n"
    "    os.killpg(0, signal.SIGKILL)\n"
    "while True:\n"
    "    signal.pause()\n"
)


def _sentinel() -> subprocess.Popen:
    """Started from the main thread (a parent-death signal follows the thread that forked)."""
    return subprocess.Popen(
        [sys.executable, "-I", "-c", _SENTINEL, str(os.getpid())],
        process_group=0,
        stdin=subprocess.DEVNULL,
    )


def _run(args: argparse.Namespace) -> int:
    state_dir = Path(args.state_dir).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    extra = ["--lenient-labels"] if args.lenient_labels else []
    if args.role == "commshub":
        for name in HUB_SETTINGS:
            value = getattr(args, name)
            if value is not None:
                extra += [f"--{name.replace('_', '-')}", str(value)]
    if args.test_hooks:
        extra += ["--test-hooks", "on"]
    board = VirtualBoard(
        args.role,
        state_dir,
        args.esme,
        args.label,
        args.heap,
        args.source,
        extra,
        watchdog_ms=args.watchdog_ms or None,
    )
    board.stdout_path = Path("/dev/stdout")  # the firmware's prints go where ours go
    sentinel = _sentinel()
    board.process_group = sentinel.pid

    def power_cut(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, power_cut)
    try:
        print(f"radio: {board.radio_path}")
        print(f"console: {board.console_path}")
        if board.wan_path is not None:
            print(f"wan: {board.wan_path}")
        sys.stdout.flush()
        board.start()
        while sentinel.poll() is None:
            time.sleep(1)
        return 1  # someone killed the sentinel (and with it the firmware)
    except KeyboardInterrupt:
        return 130
    finally:
        board.close()
        sentinel.kill()
        sentinel.wait()


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
    run.add_argument(
        "--watchdog-ms",
        type=int,
        default=WATCHDOG_MS,
        metavar="MS",
        help=f"the board's watchdog period (default {WATCHDOG_MS}; 0: none)",
    )
    run.add_argument(
        "--test-hooks",
        action="store_true",
        help="enable the console's test hooks (`hang console|loop`, for watchdog tests)",
    )
    hub = run.add_argument_group("commshub", "Comms Hub settings (stored in its flash)")
    for name, text in HUB_SETTINGS.items():
        hub.add_argument(f"--{name.replace('_', '-')}", type=int, metavar="N", help=text)
    run.set_defaults(func=_run)
