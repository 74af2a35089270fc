"""A burst the rig has stopped sends nothing more. The power-cut tests restore the power as
soon as `stop()` returns, and a frame of the burst that reached the rebooted board changed
the next test's starting state (seen in CI: a test's On/Off frames in the next one's setup,
after a cancelled task went on sending)."""

from __future__ import annotations

import time

from emulator.han.xbee_standin import FRAME_RX_EXPLICIT
from hil.dut import open_dut
from hil.han import HanRig
from hil.power import open_power
from hil.suites.switch.steps import ON_OFF, on_off

FRAMES = 200  # far more than get sent before the first answer is back


def _delivered(han: HanRig) -> int:
    """Frames the rig's radio has handed to the board (0x91), not its transmit statuses."""
    return sum(1 for _stamp, kind, _frame in han.to_board if kind == FRAME_RX_EXPLICIT)


def _no_operator(message: str) -> None:
    raise AssertionError(f"virtual power asked the operator: {message}")


def test_a_stopped_burst_sends_nothing_more(tmp_path):
    dut = open_dut("virtual", "hcalcs", state_dir=tmp_path / "flash")
    power = han = None
    try:
        power = open_power("virtual", dut, _no_operator)
        power.on()
        han = HanRig(dut)
        before = _delivered(han)
        since = time.monotonic()
        frames = [(ON_OFF, on_off("off" if i % 2 else "on", han.next_tsn())) for i in range(FRAMES)]
        burst = han.start_burst(frames)
        han.wait_received(lambda r: r.cluster == ON_OFF, since)
        burst.stop()
        sent = _delivered(han) - before
        time.sleep(0.5)
        assert _delivered(han) - before == sent, "the burst went on after stop() returned"
        assert 1 <= sent < FRAMES, f"{sent} of {FRAMES} frames sent: the stop came too late"
    finally:
        for part in (han, power, dut):
            if part is not None:
                part.close()
