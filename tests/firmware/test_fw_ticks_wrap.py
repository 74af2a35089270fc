"""The boards' own timing code across the 2^30 ms ticks wrap of rp2, esp32 and the XBee 3
(issue #16: the boost button used to ignore every press for 6.2 of every 12.4 days, and the
XBee 3's clock to jump back 12.4 days). The real firmware/hal code runs on the MicroPython
unix port under a stand-in `time` whose ticks wrap (tests/firmware/port/ticks_wrap_driver.py);
the virtual board's own `--ticks-wrap` runs cover the app's timers (test_fw_time.py)."""

from __future__ import annotations

import json
import os
import subprocess

import pytest
from fw_constants import HERE, MICROPYTHON

DRIVER = HERE / "port" / "ticks_wrap_driver.py"
PERIOD = 1 << 30
HALF = PERIOD // 2


def drive(mpy_tree, part: str, steps: list[int]) -> list:
    done = subprocess.run(
        [str(MICROPYTHON), str(DRIVER), part],
        input=json.dumps(steps),
        cwd=mpy_tree,
        env=dict(os.environ, MICROPYPATH=f".frozen:{mpy_tree}"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


# (ms since the last press, counted as a press?): the first crosses the wrap 20 ms in
BUTTON_STEPS = [
    (100, True),  # across the wrap, well past the debounce
    (10, False),  # a bounce
    (60, True),
    (49, False),  # just inside the debounce
    (HALF + 1_000, True),  # over half a period later: ticks_diff is negative, still a press
    (HALF - 1_000, True),  # just under half a period
    (3 * 86_400_000, True),  # three days on
    (PERIOD - 30, True),  # nearly a whole period: reads 30 ms in the future, a press
    (51, True),
]


@pytest.mark.parametrize("part", ["button", "xbee3-button"])
def test_the_boost_button_counts_presses_and_bounces_across_the_wrap(mpy_tree, part):
    steps = [step for step, _ in BUTTON_STEPS]
    expected = [pressed for _, pressed in BUTTON_STEPS]
    if part == "xbee3-button":  # polled: pressed at +step, released another step later
        steps = [step for step, _ in BUTTON_STEPS[:3]] + [3 * 86_400_000, 70]
        expected = [True, False, True, True, True]
    assert drive(mpy_tree, part, steps) == expected


def test_the_xbee3_clock_counts_on_through_every_wrap(mpy_tree):
    """Set 1.5 s before a wrap, read every second across it, then every hour for 30 days
    (two more wraps): always the seconds since it was set, never 12.4 days back."""
    steps = [1_000] * 5 + [3_600_000] * 24 * 30
    readings = drive(mpy_tree, "xbee3-clock", steps)
    elapsed = 0
    expected = []
    for step in steps:
        elapsed += step
        expected.append(800_000_000 + elapsed // 1000)
    assert readings == expected
    assert sum(steps) > 2 * PERIOD
