"""A bench emulator: a dev board and its USB relay, as the rig sees them on a physical bench.

The firmware runs on the MicroPython unix port (`emulator.virtual_board.VirtualBoard`'s ptys: one is
the board's radio UART, one its console), and a third pty plays a serial USB relay board in
the board's supply line: the 4-byte `off` sequence SIGKILLs the firmware, `on` starts it
again on the same flash folder. Unlike the `virtual` DUT, nothing here is shared with the
rig: it opens the ports as `serial://<pty>` and drives the relay with its `usb-relay` driver,
so `gbhan hil run` exercises the code a physical board runs on, minus the hardware.

The board's clock stops once the rig sets it (the unix port), so its rig file says
`clock = "simulated"` and time-dependent tests jump the clock instead of waiting.
"""

from __future__ import annotations

import os
import select
import threading
import tty
from pathlib import Path

from emulator.virtual_board import VirtualBoard

from .address import LCUS_OFF, LCUS_ON
from .dut import DEFAULT_HEAP, DEFAULT_LABEL, RIG_ESME


class BenchEmulator:
    """Board + relay; `events` records what the relay board was told and what it did:
    ("off", exit status of the killed firmware or None if already off), ("on", pid or None
    if already on), ("noise", hex bytes that were no known sequence)."""

    def __init__(
        self,
        role: str,
        state_dir: Path,
        *,
        on: bytes = LCUS_ON,
        off: bytes = LCUS_OFF,
        esme: str = RIG_ESME,
        label: str = DEFAULT_LABEL,
        heap: str = DEFAULT_HEAP,
    ):

        self.on_bytes, self.off_bytes = on, off
        self.state_dir = Path(state_dir)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        # test hooks on, as on a bench board with "test_hooks": true (the watchdog tests)
        self.board = VirtualBoard(role, self.state_dir / "flash", esme=esme, label=label,
                                  heap=heap, extra=["--test-hooks", "on"])  # fmt: skip
        self.board.stdout_path = self.state_dir / "board.out"
        self.relay_master, self.relay_fd = os.openpty()
        tty.setraw(self.relay_master)
        tty.setraw(self.relay_fd)
        self.relay_path = os.ttyname(self.relay_fd)
        self.events: list[tuple[str, object]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-relay", daemon=True)
        self._thread.start()

    @property
    def radio_path(self) -> str:
        return self.board.radio_path

    @property
    def console_path(self) -> str:
        return self.board.console_path

    def power_url(self, settle: float = 0.1) -> str:
        return (f"usb-relay://{self.relay_path}?on={self.on_bytes.hex()}"
                f"&off={self.off_bytes.hex()}&settle={settle}")  # fmt: skip

    def rig_file_text(self, name: str = "bench-emulator") -> str:
        """The bench's rig file: its two board ports, and the unix port's stopped clock."""
        return (
            "# written by hil.bench: the bench emulator's wiring\n"
            "[[board]]\n"
            f'name = "{name}"\n'
            f'radio = "serial://{self.radio_path}"\n'
            f'console = "serial://{self.console_path}"\n'
            'clock = "simulated"\n'
        )

    # -- the relay board -----------------------------------------------------------------
    def _run(self) -> None:
        buffer = b""
        while not self._stop.is_set():
            if not select.select([self.relay_master], [], [], 0.05)[0]:
                continue
            try:
                buffer += os.read(self.relay_master, 64)
            except OSError:
                return
            while buffer:
                if buffer.startswith(self.off_bytes):
                    buffer = buffer[len(self.off_bytes) :]
                    self.events.append(("off", self._cut()))
                elif buffer.startswith(self.on_bytes):
                    buffer = buffer[len(self.on_bytes) :]
                    self.events.append(("on", self._power()))
                elif self.on_bytes.startswith(buffer) or self.off_bytes.startswith(buffer):
                    break  # the rest of a sequence is on its way
                else:
                    self.events.append(("noise", buffer[:1].hex()))
                    buffer = buffer[1:]

    def _cut(self) -> int | None:
        proc = self.board.proc
        if proc is None:
            return None
        self.board.power_cut()  # SIGKILL, like the contact opening under the board
        return proc.returncode

    def _power(self) -> int | None:
        """Start the firmware, no handshake: the rig finds out it booted, as on a bench. The
        board's own watchdog runs as on the virtual DUT (a reset restarts the firmware)."""
        if self.board.alive():
            return None
        return self.board.start().pid

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        self.board.close()
        for fd in (self.relay_master, self.relay_fd):
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> BenchEmulator:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
