"""A device under test: its radio channel (the rig plays the XBee there) and its console.

`open_dut("virtual", ...)` spawns the firmware on the MicroPython unix port behind two ptys
(`emulator.virtual_board.VirtualBoard`) and opens both ptys with pyserial, exactly as the rig opens a
physical board's `/dev/ttyACM0`; any other address is a physical board whose two ports (radio
UART and console) come from `hil.rigfile.wire`: --dut-console, `?console=`, or the rig file.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from emulator.virtual_board import VirtualBoard

from .address import DutAddress, parse_dut
from .channel import SerialChannel
from .console import Console, ConsoleTimeout
from .errors import HilError
from .rigfile import ClockMode, RigError, Wiring, wire

ROLES = ("hcalcs", "plcs")
DEFAULT_HEAP = "104K"  # the budget tests/firmware holds the firmware to (docs/firmware.md, Memory)
#: The virtual DUT's watchdog period (a board's is 8 s: shorter keeps the watchdog tests quick)
VIRTUAL_WATCHDOG_MS = 3000
#: The meter the rig plays, and whose EUI-64 the boards are commissioned with.
RIG_ESME = "00124b0001a2b3c4"
DEFAULT_LABEL = "Electric Vehicle Charger"


class DutError(HilError, RuntimeError):
    """The DUT cannot be opened, or does not boot or answer."""


class Dut:
    """What every test talks to, whatever the board is."""

    def __init__(
        self,
        address: DutAddress,
        role: str,
        radio_url: str,
        console_url: str,
        baud: int,
        board=None,
        console_baud: int | None = None,
    ):
        self.address, self.role, self.board = address, role, board
        self.radio_listener: Callable[[bytes, int], None] | None = None
        self.boot_hooks: list[Callable[[], None]] = []
        self.boots = 0
        self._hooked: object | None = None  # the firmware process the hooks were put on
        self.firmware_tree: Path | None = None  # virtual: another tree than the installed one
        #: "simulated" (the board's clock stops once set: the unix port) or "wall" (an RTC)
        self.clock_mode = ClockMode.SIMULATED if address.virtual else ClockMode.WALL
        #: physical: its ports, the rig file's board and where the console came from
        self.wiring: Wiring | None = None
        self.radio = SerialChannel("radio", radio_url, baud, self._on_radio)
        try:
            self.console = Console(console_url, console_baud or baud)
        except Exception:
            self.radio.close()
            raise

    @property
    def virtual(self) -> bool:
        return self.address.virtual

    def _on_radio(self, chunk: bytes, stamp: int) -> None:
        listener = self.radio_listener
        if listener is None:
            self.radio.stats["bytes_unheard"] += len(chunk)
        else:
            listener(chunk, stamp)

    # -- boot -------------------------------------------------------------------------------
    def wait_boot(self, timeout: float = 30.0) -> None:
        """Until the console answers a fresh ping (boards take a moment after power-on)."""
        deadline = time.monotonic() + timeout
        attempt = 0
        while time.monotonic() < deadline:
            attempt += 1
            if attempt == 1:
                self.console.forget_partial_line()
            if self.console.ping(f"rig-{attempt}", timeout=0.5):
                return
        raise DutError(f"the board did not answer on its console within {timeout} s")

    def after_boot(self) -> None:
        """Put the test hooks back: output watching, then whatever fixtures registered."""
        self.boots += 1
        self._hooked = self._process()
        self.radio.gate(True)
        reply = self.console.command("watch on")
        if reply != "ok watch on":
            raise DutError(f"console: 'watch on' answered {reply!r}")
        for hook in self.boot_hooks:
            hook()

    def _process(self) -> object | None:
        """The virtual board's firmware process now (a new one after every reset); None on a
        physical board, whose resets the rig cannot see from outside."""
        return getattr(self.board, "proc", None) if self.board is not None else None

    def rehook_if_reset(self) -> bool:
        """A virtual board that reset itself since the hooks were last put back (a test that
        failed before doing it, mid-way through a self-reset) gets them back now, so one
        failure does not silently take the next tests' output watching with it."""
        process = self._process()
        if process is None or process is self._hooked:
            return False
        self.wait_boot()
        self.after_boot()
        return True

    def check_role(self) -> str:
        reply = self.console.command("version")
        if not reply.startswith("version ") or f"role={self.role}" not in reply.split():
            raise DutError(f"the board is not a {self.role}: 'version' answered {reply!r}")
        return reply

    # -- test hooks -----------------------------------------------------------------------
    def state(self) -> dict[str, str]:
        return self.console.state()

    def status(self) -> dict[str, str]:
        return self.console.fields("status")

    def rejected(self) -> dict[str, int]:
        return {k: int(v) for k, v in self.console.fields("rejected").items()}

    def log(self, count: int = 20) -> list[str]:
        return self.console.log(count)

    def mains(self, present: bool) -> str:
        return self.console.command("mains on" if present else "mains off")

    def boost(self) -> str:
        return self.console.command("boost")

    def log_excerpt(self, count: int = 30) -> str:
        """The event log for a failure report; says so when the board cannot answer."""
        try:
            return "\n".join(self.log(count))
        except (ConsoleTimeout, OSError) as exc:
            return f"(event log unavailable: {exc})"

    def close(self) -> None:
        self.radio.close()
        self.console.close()
        if self.board is not None:
            self.board.close()


def firmware_tree(root: Path) -> Path:
    """The `firmware/` folder of a firmware tree to run on the virtual board instead of the
    installed one (e.g. a deliberately broken copy)."""
    root = Path(root).resolve()
    tree = root / "firmware" if (root / "firmware" / "main.py").exists() else root
    if not (tree / "main.py").exists() or tree.name != "firmware":
        raise DutError(f"{root}: not a firmware tree (expected firmware/main.py)")
    return tree


def open_dut(
    url: str,
    role: str,
    *,
    console_url: str | None = None,
    rig: Path | None = None,
    rig_cwd: Path | None = None,
    state_dir: Path | None = None,
    heap: str = DEFAULT_HEAP,
    label: str = DEFAULT_LABEL,
    esme: str = RIG_ESME,
    firmware: Path | None = None,
) -> Dut:
    """A DUT from its address; the virtual board is made but not yet powered on. A physical
    board's console is `console_url`, a `console=` query on `url`, or its entry in the rig
    file `rig` (located in `rig_cwd`, named in the error when missing)."""
    if role not in ROLES:
        raise DutError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
    address = parse_dut(url)
    if address.virtual:
        if state_dir is None:
            raise DutError("a virtual DUT needs a folder for its flash (state_dir)")
        tree = firmware_tree(firmware) if firmware else None
        board = VirtualBoard(
            role,
            Path(state_dir),
            esme=esme,
            label=label,
            heap=heap,
            firmware_tree=tree,
            extra=["--test-hooks", "on"],  # the watchdog tests' `hang` (off on real boards)
            watchdog_ms=VIRTUAL_WATCHDOG_MS,
        )
        try:
            dut = Dut(address, role, board.radio_path, board.console_path, 115200, board)
        except Exception:
            board.close()
            raise
        dut.firmware_tree = tree
        return dut
    try:
        wiring = wire(url, console_url, rig, rig_cwd)
    except RigError as exc:
        raise DutError(str(exc)) from exc
    radio, console = wiring.radio, wiring.console
    dut = Dut(radio, role, radio.url, console.url, radio.baud, None, console.baud)
    dut.wiring = wiring
    if wiring.board is not None and wiring.board.clock:
        dut.clock_mode = wiring.board.clock
    return dut
