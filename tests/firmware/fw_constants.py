"""Constants the firmware tests share (a module of its own: `conftest` is a name every test
folder has, so importing from it picks whichever folder pytest loaded first)."""

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from emulator.virtual_board import MICROPYTHON  # noqa: E402, F401

HERE = Path(__file__).resolve().parent
VECTORS = HERE / "vectors"
# The heap every firmware test runs under: ≤ 96 KB, what an RP2040 (Pico W) application
# can count on next to the network stack. Override to explore: GBHAN_FW_HEAP=64K.
FIRMWARE_HEAP = os.environ.get("GBHAN_FW_HEAP", "104K")
ESME = "00124b0001a2b3c4"  # the meter the test boards are commissioned with
STRANGER = "00124b0001ffee01"
LABEL = "Electric Vehicle Charger"


def run_on_port(mpy_tree, script: str):
    """Run `script` on the unix port at the firmware's heap, importing from the .mpy tree
    (from inside it: the checkout's firmware/*.py would shadow the build)."""
    return subprocess.run(
        [str(MICROPYTHON), "-X", f"heapsize={FIRMWARE_HEAP}", "-c", script],
        capture_output=True,
        text=True,
        env={"MICROPYPATH": f".frozen:{mpy_tree}"},
        cwd=mpy_tree,
        timeout=60,
    )
