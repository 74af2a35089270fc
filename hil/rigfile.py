"""The bench's wiring, so that a physical run needs only `--dut` and `--power`.

A dev board on a bench has two serial ports: its own USB serial (the MicroPython console,
e.g. `/dev/ttyACM0`) and a USB-UART adapter on its radio UART, where the rig plays the XBee
(e.g. `/dev/ttyUSB0`). A rig file names both once per board:

    # .gbhan-rig.toml
    [[board]]
    name = "rp2-a"
    radio = "/dev/ttyUSB0"                 # the USB-UART on the board's radio UART
    console = "/dev/ttyACM0"               # the board's USB serial (its console)
    power = "usb-relay:///dev/ttyUSB1"     # optional: the default --power for this board
    clock = "wall"                         # optional: "simulated" only for a board whose
                                           # clock stops once set (the bench emulator)

`--dut` then names the board by either of its ports. The console is taken, first match
wins, from `--dut-console` / `$GBHAN_DUT_CONSOLE`, a `console=` query on `--dut`, or the rig
file (`--rig FILE`, `$GBHAN_RIG`, or `.gbhan-rig.toml` in the working directory).
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from .address import AddressError, DutAddress, parse_dut, parse_power
from .errors import HilError

RIG_FILE_NAME = ".gbhan-rig.toml"


class ClockMode(StrEnum):
    """How a board keeps time: "wall" (an RTC: real time) or "simulated" (the clock stops
    once the rig sets it, as on the unix port)."""

    WALL = "wall"
    SIMULATED = "simulated"


CLOCKS = tuple(mode.value for mode in ClockMode)
_KEYS = {"name", "radio", "console", "power", "clock"}


class RigError(HilError, RuntimeError):
    """The bench's wiring is incomplete or the rig file is wrong; says what is missing."""


@dataclass(frozen=True)
class BenchBoard:
    """One board of a rig file."""

    name: str
    radio: DutAddress
    console: DutAddress
    power: str | None = None
    clock: ClockMode | None = None

    def describe(self) -> str:
        return f"{self.name}: radio {self.radio.url}, console {self.console.url}"


@dataclass(frozen=True)
class RigFile:
    path: Path
    boards: tuple[BenchBoard, ...]

    def find(self, address: DutAddress) -> tuple[BenchBoard, str] | None:
        """The board one of whose ports `address` is, and which port ("radio"/"console")."""
        for board in self.boards:
            for port in ("radio", "console"):
                if _same_port(getattr(board, port), address):
                    return board, port
        return None


@dataclass(frozen=True)
class Wiring:
    """Both channels of a physical DUT, and where the console came from (for the report)."""

    radio: DutAddress
    console: DutAddress
    board: BenchBoard | None
    source: str


def _same_port(a: DutAddress, b: DutAddress) -> bool:
    """Same device (a /dev/serial/by-id link and its /dev/ttyACM0 are the same port)."""
    if a.kind == b.kind == "serial":
        return os.path.realpath(a.url) == os.path.realpath(b.url)
    return a.url == b.url


def locate(explicit: str | None, cwd: Path) -> Path | None:
    """The rig file: `explicit` (from --rig or $GBHAN_RIG) must exist; otherwise
    `.gbhan-rig.toml` in `cwd` if there is one."""
    if explicit:
        path = (Path(cwd) / Path(explicit).expanduser()).resolve()
        if not path.is_file():
            raise RigError(f"rig file {path} (from --rig or $GBHAN_RIG) does not exist")
        return path
    path = Path(cwd) / RIG_FILE_NAME
    return path.resolve() if path.is_file() else None


def load(path: Path) -> RigFile:
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RigError(f"rig file {path}: cannot read it: {exc}") from exc
    entries = data.get("board")
    if not isinstance(entries, list) or not entries:
        raise RigError(f"rig file {path}: no [[board]] tables (each with radio and console)")
    boards = []
    for number, entry in enumerate(entries, 1):
        where = f"rig file {path}, board {number}"
        if not isinstance(entry, dict):
            raise RigError(f"{where}: not a table")
        if unknown := sorted(set(entry) - _KEYS):
            raise RigError(f"{where}: unknown keys {unknown} (known: {sorted(_KEYS)})")
        name = str(entry.get("name") or f"board {number}")
        ports = {}
        for port, what in (("radio", "the USB-UART on the board's radio UART"),
                           ("console", "the board's USB serial, its console")):  # fmt: skip
            if not entry.get(port):
                raise RigError(f"{where} ({name}): '{port}' is missing ({what})")
            try:
                ports[port] = parse_dut(str(entry[port]))
            except AddressError as exc:
                raise RigError(f"{where} ({name}): {port}: {exc}") from exc
            if ports[port].virtual or ports[port].console:
                raise RigError(f"{where} ({name}): {port} must be one serial port")
        if _same_port(ports["radio"], ports["console"]):
            raise RigError(f"{where} ({name}): radio and console are the same port")
        power = entry.get("power")
        if power is not None:
            try:
                parse_power(str(power))
            except AddressError as exc:
                raise RigError(f"{where} ({name}): power: {exc}") from exc
        clock = entry.get("clock")
        if clock is not None and clock not in CLOCKS:
            raise RigError(f"{where} ({name}): clock must be one of {CLOCKS}, not {clock!r}")
        boards.append(BenchBoard(name, ports["radio"], ports["console"],
                                 None if power is None else str(power),
                                 None if clock is None else ClockMode(clock)))  # fmt: skip
    return RigFile(path, tuple(boards))


def wire(dut: str, console: str | None, rig: Path | None, cwd: Path | None = None) -> Wiring:
    """Both channels of the physical DUT `dut`; `console` is --dut-console (or its $GBHAN_
    variable), `rig` the located rig file (None: there is none), `cwd` where one was looked
    for. Raises RigError naming what is missing and every place the rig looked."""
    try:
        address = parse_dut(dut)
        given = parse_dut(console) if console else None
    except AddressError as exc:
        raise RigError(str(exc)) from exc
    if address.virtual:
        raise RigError("the virtual DUT has no wiring to resolve")
    if given is not None and given.virtual:
        raise RigError("--dut-console must be a serial address, not 'virtual'")
    if given and address.console and not _same_port(given, parse_dut(address.console)):
        raise RigError(
            f"two consoles given: --dut-console (or $GBHAN_DUT_CONSOLE) {console} "
            f"and console={address.console} in --dut {dut}: give one"
        )
    rig_file = load(rig) if rig else None
    match = rig_file.find(address) if rig_file else None
    board = match[0] if match else None
    if given is not None or address.console:
        picked = given or parse_dut(address.console)
        source = "--dut-console" if given is not None else "--dut ?console="
        return Wiring(
            _plain(address), picked, board if match and match[1] == "radio" else None, source
        )
    if match is not None and rig_file is not None:
        board, port = match
        # --dut may name either of the board's ports; its own ?baud= holds for that port
        if port == "radio":
            radio, other = _plain(address), board.console
        else:
            radio, other = board.radio, _plain(address)
        return Wiring(radio, other, board, f"rig file {rig_file.path} ({board.name})")
    if rig_file is None:
        looked = f"no {RIG_FILE_NAME} in {cwd}" if cwd else "no rig file"
        raise RigError(
            f"{dut}: the board's console port is missing. Give it with --dut-console PORT "
            f"(or $GBHAN_DUT_CONSOLE), as {dut}{'&' if '?' in dut else '?'}console=PORT, or "
            f"list the board in a rig file ({looked}; --rig FILE or $GBHAN_RIG name one "
            "elsewhere; docs/hil.md)"
        )
    listed = "; ".join(b.describe() for b in rig_file.boards)
    raise RigError(
        f"{dut}: the board's console port is missing: rig file {rig_file.path} lists no board "
        f"with the port {address.url} (it lists {listed}). Add the board there, or give "
        "--dut-console PORT"
    )


def _plain(address: DutAddress) -> DutAddress:
    return DutAddress(address.kind, address.url, address.baud)
