"""The time a test sees on the DUT: simulated on the virtual board, the wall clock on a real one.

Both set the board's clock through the console hook `clock <unix-seconds>`. On the virtual
board the clock then stays frozen, and `advance()` jumps it (a one-hour boost takes no time);
on a physical board `set()` sets its RTC and time runs on, so `advance()` really waits.
After a power cut the rig sets the clock again once the board is back (as a meter's time
synchronisation would): the virtual board's clock lives in its process.
"""

from __future__ import annotations

import time

from emulator.clock import ZIGBEE_EPOCH_UNIX

from .dut import Dut, DutError
from .rigfile import ClockMode

#: Where simulated runs start: 2027-01-15 08:00 UTC.
DEFAULT_START = 1_800_000_000


class DutClock:
    def __init__(self, dut: Dut, simulated: bool):
        self.dut = dut
        self.simulated = simulated
        self._set_at: tuple[int, float] | None = None  # (unix seconds, host monotonic)
        dut.boot_hooks.append(self._after_boot)

    @property
    def mode(self) -> ClockMode:
        return ClockMode.SIMULATED if self.simulated else ClockMode.WALL

    def set(self, unix_seconds: int) -> None:
        unix_seconds = int(unix_seconds)
        reply = self.dut.console.command(f"clock {unix_seconds}")
        if reply != f"ok clock {unix_seconds}":
            raise DutError(f"console: 'clock {unix_seconds}' answered {reply!r}")
        self._set_at = (unix_seconds, time.monotonic())

    def now(self) -> int:
        """The board's time in unix seconds, as the rig last set it (plus real time if wall)."""
        if self._set_at is None:
            return int(time.time())
        value, when = self._set_at
        if self.simulated:
            return value
        return int(value + time.monotonic() - when)

    def zigbee_now(self) -> int:
        return self.now() - ZIGBEE_EPOCH_UNIX

    def advance(self, seconds: float) -> None:
        """Let `seconds` pass on the board: a jump when simulated, a real wait otherwise."""
        if self.simulated:
            if self._set_at is None:
                self.set(int(time.time()))
            self.set(self.now() + int(round(seconds)))
        else:
            time.sleep(seconds)

    def day_start(self) -> int:
        """Midnight UTC of the board's current day (for calendar tests)."""
        now = self.now()
        return now - now % 86400

    def _after_boot(self) -> None:
        if self._set_at is not None:
            self.set(self.now())

    def close(self) -> None:
        if self._after_boot in self.dut.boot_hooks:
            self.dut.boot_hooks.remove(self._after_boot)
