"""Power control of the DUT: cut and restore the board's supply (not the mains it senses).

- `VirtualPower`: SIGKILL of the firmware process (nothing more reaches its flash folder),
  then a fresh process on the same flash and ptys.
- `UsbRelayPower`: the common single-channel USB relay boards (a CH340 UART taking a 4-byte
  command, `A0 01 01 A2` / `A0 01 00 A1`); the byte sequences come from the power URL.
- `ManualPower`: asks the operator to pull and restore the supply.

Mains loss as the firmware sees it (its mains-sense input) is `Dut.mains()`, a separate thing.
While the board is off the rig's radio writes are dropped: a dead board's UART hears nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import serial

from .address import PowerAddress, parse_power
from .dut import Dut
from .errors import HilError


class PowerError(HilError, RuntimeError):
    """The power driver cannot switch the board."""


class PowerDriver:
    name = "?"

    def __init__(self, dut: Dut):
        self.dut = dut
        self.cuts = 0
        self.powered = False
        self.history: list[tuple[str, float]] = []

    def _note(self, what: str) -> None:
        self.history.append((what, time.monotonic()))

    def off(self) -> None:
        """Cut the board's supply now (mid-operation if something is running)."""
        self.dut.radio.gate(False)
        self._cut()
        self.cuts += 1
        self.powered = False
        self._note("off")

    def on(self, boot_timeout: float = 30.0) -> None:
        """Restore the supply, wait until the board answers, then restore the test hooks.

        The radio reaches the board from the moment it has power: what a booting board asks
        at once (the meter's time) must get its answer, not be dropped as if unpowered."""
        self.dut.radio.gate(True)
        self._restore(boot_timeout)
        self.powered = True
        self._note("on")
        self.dut.after_boot()

    def cycle(self, off_s: float = 0.0) -> None:
        self.off()
        if off_s:
            time.sleep(off_s)
        self.on()

    def _cut(self) -> None:
        raise NotImplementedError

    def _restore(self, boot_timeout: float) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class VirtualPower(PowerDriver):
    """Kill -9 and restart the virtual board's process."""

    name = "virtual"

    def __init__(self, dut: Dut):
        super().__init__(dut)
        if getattr(dut, "board", None) is None:
            raise PowerError("virtual power needs a virtual DUT")
        self.exit_codes: list[int | None] = []

    def _cut(self) -> None:
        proc = self.dut.board.proc
        self.dut.board.power_cut()  # SIGKILL, then wait: no polite shutdown
        self.exit_codes.append(proc.returncode if proc is not None else None)

    def _restore(self, boot_timeout: float) -> None:
        # VirtualBoard's own boot handshake reads the console pty: keep our reader off it.
        with self.dut.console.channel.paused():
            try:
                self.dut.board.power_on(timeout=boot_timeout)
            except RuntimeError as exc:
                raise PowerError(str(exc)) from exc
        self.dut.console.channel.port.reset_input_buffer()


class UsbRelayPower(PowerDriver):
    """A serial USB relay module in the board's supply line."""

    name = "usb-relay"

    def __init__(self, dut: Dut, address: PowerAddress, port=None):
        super().__init__(dut)
        self.address = address
        try:
            self.port = port or serial.serial_for_url(
                address.port, baudrate=address.baud, timeout=1
            )
        except (serial.SerialException, ValueError, OSError) as exc:
            raise PowerError(f"relay board {address.port}: {exc}") from exc

    def _switch(self, command: bytes) -> None:
        try:
            self.port.write(command)
            self.port.flush()
        except (serial.SerialException, OSError) as exc:
            raise PowerError(f"relay board {self.address.port}: {exc}") from exc
        time.sleep(self.address.settle_s)  # contact bounce, supply caps draining

    def _cut(self) -> None:
        self._switch(self.address.off)

    def _restore(self, boot_timeout: float) -> None:
        self._switch(self.address.on)
        self.dut.wait_boot(boot_timeout)

    def close(self) -> None:
        self.port.close()


class ManualPower(PowerDriver):
    """An operator pulls and restores the supply when asked."""

    name = "manual"

    def __init__(self, dut: Dut, ask: Callable[[str], None]):
        super().__init__(dut)
        self.ask = ask

    def _cut(self) -> None:
        self.ask("Cut the board's power supply now, then press Enter.")

    def _restore(self, boot_timeout: float) -> None:
        self.ask("Restore the board's power supply, then press Enter.")
        self.dut.wait_boot(boot_timeout)


def open_power(spec: str | None, dut: Dut, ask: Callable[[str], None] | None = None):
    """The power driver for `--power`; by default virtual for a virtual DUT, else manual."""
    address = parse_power(spec or ("virtual" if dut.virtual else "manual"))
    if address.kind == "virtual":
        return VirtualPower(dut)
    if address.kind == "usb-relay":
        return UsbRelayPower(dut, address)
    if ask is None:
        raise PowerError("manual power needs an operator prompt")
    return ManualPower(dut, ask)
