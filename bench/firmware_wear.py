"""Flash wear of the switch firmware on the Pico's flash geometry.

The firmware (the mpy-cross build, on the MicroPython unix port) runs the switch app on a
littlefs2 image shaped like a Raspberry Pi Pico's: 4 KB erase blocks, 256-byte program
size, 352 blocks (1.4 MB). The image lives in RAM behind a block device class in
`bench/firmware_wear_driver.py` that counts every erase. The driver then:
- sends On/Off commands from the commissioned meter, one every `--gap` seconds of simulated
  time (the tick running in between, so batched writes reach flash): `erases_per_command`;
- floods the switch with bad frames (a stranger's On) at 10 a second: every one is refused
  and counted, and `erases_per_rejected_frame` is what that costs in flash;
- measures a reference in the same run: one 96-byte record rewritten in place in a 12 KB
  littlefs file (how the old fixed-slot event log wrote every entry).

`flood_lifetime_years` is how long the filesystem lasts under the flood alone: 352 blocks x
100,000 erase cycles, spread by littlefs's wear levelling, at 10 x erases_per_rejected_frame
erases a second. Goals (issue 16): erases_per_command <= 1.0, erases_per_rejected_frame
<= 0.02, flood_lifetime_years >= 20.

Run: .venv/bin/python bench/firmware_wear.py [--json] [--role hcalcs] [--commands 300]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from emulator.virtual_board import MICROPYTHON, build_mpy_tree  # noqa: E402

BLOCKS = 352
CYCLES = 100_000
FLOOD_RATE = 10  # bad frames a second
YEAR_S = 365.25 * 86400
GOALS = {
    "erases_per_command": ("<=", 1.0),
    "erases_per_rejected_frame": ("<=", 0.02),
    "flood_lifetime_years": (">=", 20.0),
}


def measure(role: str, commands: int, warmup: int, flood: int, gap: int) -> dict[str, float]:
    tree = build_mpy_tree()
    env = dict(os.environ, MICROPYPATH=f".frozen:{tree}")
    out = subprocess.run(
        [
            str(MICROPYTHON),
            "-X",
            "heapsize=8M",
            str(REPO / "bench" / "firmware_wear_driver.py"),
            role,
            str(commands),
            str(warmup),
            str(flood),
            str(FLOOD_RATE),
            str(gap),
        ],
        env=env,
        cwd=tree,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = out.stdout.strip().splitlines()
    if out.returncode != 0 or not lines:
        raise SystemExit(f"wear driver failed (exit {out.returncode}):\n{out.stdout}{out.stderr}")
    figures = json.loads(lines[-1])
    per_frame = figures["erases_per_rejected_frame"]
    erases_per_s = FLOOD_RATE * per_frame
    figures["flood_lifetime_years"] = (
        round(BLOCKS * CYCLES / erases_per_s / YEAR_S, 1) if erases_per_s else float("inf")
    )
    figures["command_vs_reference"] = round(
        figures["erases_per_command"] / figures["reference_erases_per_in_place_record"], 3
    )
    figures["role"] = role
    figures["goals_met"] = all(
        (figures[k] <= v) if op == "<=" else (figures[k] >= v) for k, (op, v) in GOALS.items()
    )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true", help="one JSON object on stdout")
    parser.add_argument("--role", default="hcalcs", choices=("hcalcs", "plcs"))
    parser.add_argument("--commands", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--flood", type=int, default=36_000, help="bad frames (1 h at 10/s)")
    parser.add_argument("--gap", type=int, default=60, help="seconds between commands")
    args = parser.parse_args()
    figures = measure(args.role, args.commands, args.warmup, args.flood, args.gap)
    if args.json:
        print(json.dumps(figures))
        return
    print(f"flash wear, {args.role}, Pico geometry (4 KB erase, 256 B program, {BLOCKS} blocks)")
    for key, (op, goal) in GOALS.items():
        print(f"  {key:28s} {figures[key]:>10} (goal {op} {goal})")
    print(
        f"  reference: one in-place 96-byte record costs "
        f"{figures['reference_erases_per_in_place_record']} erases; a command costs "
        f"{figures['command_vs_reference']} x that"
    )
    print(f"  most-erased block: {figures['max_block_erases']} of {figures['total_erases']}")
    print("  goals met" if figures["goals_met"] else "  GOALS NOT MET")


if __name__ == "__main__":
    main()
