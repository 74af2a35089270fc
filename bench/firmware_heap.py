"""How fragmented the switch firmware's heap gets over a long run of commands.

A virtual board (the mpy-cross build on the MicroPython unix port, heap 104 KB: the budget
the firmware tests hold it to) is driven through the HIL rig's HAN, as the meter, round after
round: the switch suite's fresh start (commission, label, calendar, boost association, DRLC
cancel-all, an event started and cancelled), three On/Off commands and a label write. Every
`--every` rounds the console's `mem` gives the free heap and the largest block one allocation
can get, and `rejected` the frames the board refused (`fault` = a MemoryError or a bug).

The reference, measured in the same run: the same tree with the early collection taken out
(`gc.threshold` in `firmware/main.py`'s `start`), so the heap is collected only when an
allocation fails. The figure that matters is the smallest largest-block seen: a command
whose handler needs more than that at that moment is refused with `reject fault MemoryError`.

Run: .venv/bin/python bench/firmware_heap.py [--rounds 60] [--every 10] [--role hcalcs]
"""

from __future__ import annotations

import argparse
import random
import re
import shutil
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from hil.dut import DEFAULT_HEAP, open_dut  # noqa: E402
from hil.han import HanError, HanRig  # noqa: E402
from hil.power import open_power  # noqa: E402
from hil.suites.switch import steps  # noqa: E402

EARLY_COLLECTION = "    gc.threshold(gc.mem_free() // 4)\n"
LABELS = ["Heat Pump", "Storage Heater", "Battery Storage", "Electric Vehicle Charger"]


def reference_tree(dest: Path) -> Path:
    """A copy of the firmware tree that collects only when an allocation fails."""
    tree = dest / "firmware"
    shutil.copytree(REPO / "firmware", tree, ignore=shutil.ignore_patterns("__pycache__"))
    main = tree / "main.py"
    text = main.read_text(encoding="utf-8")
    if EARLY_COLLECTION not in text:
        raise SystemExit("firmware/main.py no longer sets gc.threshold as this bench expects")
    main.write_text(text.replace(EARLY_COLLECTION, ""), encoding="utf-8")
    return dest


def _no_operator(message: str) -> None:
    raise RuntimeError(f"virtual power asked the operator: {message}")


def run(name: str, firmware: Path | None, role: str, rounds: int, every: int) -> list[dict]:
    """Samples {round, free, largest, faults} of one firmware tree."""
    samples = []
    with tempfile.TemporaryDirectory() as tmp:
        dut = open_dut("virtual", role, state_dir=Path(tmp) / "flash", firmware=firmware)
        power = han = None
        try:
            power = open_power("virtual", dut, _no_operator)
            power.on()
            han = HanRig(dut)
            rng = random.Random(1)

            def sample(at: int) -> None:
                mem = dict(re.findall(r"(\w+)=(\d+)", dut.console.command("mem")))
                faults = re.search(r"fault=(\d+)", dut.console.command("rejected"))
                samples.append(
                    {
                        "round": at,
                        "free": int(mem["free"]),
                        "largest": int(mem["largest"]),
                        "faults": int(faults.group(1)) if faults else 0,
                    }
                )
                s = samples[-1]
                print(
                    f"  {name}: round {at:>4}: free {s['free']:>6} B, largest block "
                    f"{s['largest']:>6} B, faults {s['faults']}",
                    file=sys.stderr,
                    flush=True,
                )

            sample(0)
            for i in range(1, rounds + 1):
                steps.fresh(dut, han)
                for _ in range(3):
                    command = rng.choice(["on", "off"])
                    han.request(steps.ON_OFF, steps.on_off(command, han.next_tsn()))
                label = rng.choice(LABELS)
                try:
                    steps.write(han, steps.CONFIG, (steps.ATTR_LABEL, steps.T_STRING, label))
                except HanError:
                    pass  # unanswered: counted by the board as a fault, read in `sample`
                if i % every == 0:
                    sample(i)
        finally:
            for part in (han, power, dut):
                if part is not None:
                    part.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=60)
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--role", choices=["hcalcs", "plcs"], default="hcalcs")
    args = parser.parse_args()
    print(f"heap {DEFAULT_HEAP}, role {args.role}, {args.rounds} rounds", file=sys.stderr)
    with tempfile.TemporaryDirectory() as tmp:
        reference = reference_tree(Path(tmp))
        results = {
            "early collection (the firmware)": run(
                "early", None, args.role, args.rounds, args.every
            ),
            "collect on failure (reference)": run(
                "reference", reference, args.role, args.rounds, args.every
            ),
        }
    rounds = [s["round"] for s in next(iter(results.values()))]
    print("| round | " + " | ".join(f"{k}: free / largest block" for k in results) + " |")
    print("|---:|" + "---:|" * len(results))
    for n, at in enumerate(rounds):
        cells = [f"{v[n]['free']:,} / {v[n]['largest']:,} B" for v in results.values()]
        print(f"| {at} | " + " | ".join(cells) + " |")
    early, ref = results.values()
    low_early = min(s["largest"] for s in early[1:])
    low_ref = min(s["largest"] for s in ref[1:])
    print()
    print(
        f"smallest largest-block after boot: {low_early:,} B against {low_ref:,} B "
        f"({low_early / low_ref:.1f}x the reference)"
    )
    print(f"faults (MemoryError or bug): {early[-1]['faults']} against {ref[-1]['faults']}")


if __name__ == "__main__":
    main()
