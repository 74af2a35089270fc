"""DUT and power addresses: one URL format for every board, resolved by pyserial.

`virtual` spawns a virtual board; anything else goes to `serial.serial_for_url` (a device path,
`serial:///dev/ttyACM0?baud=115200`, `socket://host:port` for a board behind ser2net, or any
other pyserial URL such as `rfc2217://` and `loop://`). A physical DUT's address may name its
console too: `serial:///dev/ttyUSB0?console=/dev/ttyACM0` (the query's value is itself a DUT
address; percent-encode a `?` or `&` inside it). Power addresses: `virtual`, `manual`,
`usb-relay:///dev/ttyUSB1?on=A00101A2&off=A00100A1&baud=9600`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode, urlsplit

from .errors import HilError

DEFAULT_BAUD = 115200


class AddressError(HilError, ValueError):
    """A DUT or power address the rig cannot use."""


@dataclass(frozen=True)
class DutAddress:
    """Where a DUT's channel is: `virtual`, or a pyserial URL plus its baud rate."""

    kind: str  # "virtual" | "serial" | "socket" | "url"
    url: str = ""  # what serial_for_url gets
    baud: int = DEFAULT_BAUD
    console: str = ""  # the board's console, when the address names it (`?console=`)

    @property
    def virtual(self) -> bool:
        return self.kind == "virtual"


def parse_dut(text: str) -> DutAddress:
    """`virtual`, a device path, `serial:///dev/x?baud=N`, `socket://h:p` or a pyserial URL."""
    text = (text or "").strip()
    if not text:
        raise AddressError("empty DUT address")
    if text == "virtual":
        return DutAddress("virtual")
    if text.startswith("/"):
        return DutAddress("serial", text)
    parts = urlsplit(text)
    query = parse_qs(parts.query, keep_blank_values=True)
    baud = _int_option(query, "baud", DEFAULT_BAUD, text)
    console = query.pop("console", [None])[0]
    if console is not None:
        console = console.strip()
        if not console or console == "virtual":
            raise AddressError(f"{text}: console= needs the console's port (console=/dev/ttyACM0)")
    if parts.scheme == "serial":
        path = parts.path or parts.netloc
        if not path:
            raise AddressError(f"{text}: serial:// needs a device path (serial:///dev/ttyACM0)")
        return DutAddress("serial", path, baud, console or "")
    if parts.scheme == "socket":
        if not parts.hostname or parts.port is None:
            raise AddressError(f"{text}: socket:// needs host:port")
        return DutAddress("socket", f"socket://{parts.hostname}:{parts.port}", baud, console or "")
    if parts.scheme in ("rfc2217", "loop", "spy", "hwgrep", "alt"):
        # pyserial reads its own options from the query: hand it everything but ours.
        url = text
        if console is not None:
            rest = urlencode(query, doseq=True)
            url = f"{parts.scheme}://{parts.netloc}{parts.path}" + (f"?{rest}" if rest else "")
        return DutAddress("url", url, baud, console or "")
    raise AddressError(
        f"{text}: not a DUT address (virtual, /dev/..., serial://, socket://host:port)"
    )


@dataclass(frozen=True)
class PowerAddress:
    kind: str  # "virtual" | "manual" | "usb-relay"
    port: str = ""
    baud: int = 9600
    on: bytes = b""
    off: bytes = b""
    settle_s: float = 0.5
    extra: dict = field(default_factory=dict)


#: The common single-channel "LCUS-1" style USB relay boards (CH340 UART, 9600 baud):
#: A0 <channel> <state> <checksum = sum of the first three bytes>.
LCUS_ON = bytes.fromhex("A00101A2")
LCUS_OFF = bytes.fromhex("A00100A1")


def parse_power(text: str) -> PowerAddress:
    """`virtual`, `manual`, or `usb-relay://<device>?on=HEX&off=HEX&baud=N&settle=S`.

    The relay board switches the DUT's supply through its normally-open contact: the `on`
    bytes energise the coil (board powered). Boards wired through the normally-closed contact
    swap the two sequences in the URL.
    """
    text = (text or "").strip()
    if text in ("virtual", "manual"):
        return PowerAddress(text)
    parts = urlsplit(text)
    if parts.scheme != "usb-relay":
        raise AddressError(f"{text}: power is virtual, manual or usb-relay:///dev/ttyUSB1")
    port = parts.path or parts.netloc
    if not port:
        raise AddressError(f"{text}: usb-relay:// needs the relay board's serial port")
    query = parse_qs(parts.query)
    on = _hex_option(query, "on", LCUS_ON, text)
    off = _hex_option(query, "off", LCUS_OFF, text)
    if on == off:
        raise AddressError(f"{text}: the on and off byte sequences must differ")
    baud = _int_option(query, "baud", 9600, text)
    try:
        settle = float(query.get("settle", ["0.5"])[0])
    except ValueError:
        raise AddressError(f"{text}: settle must be seconds") from None
    return PowerAddress("usb-relay", port, baud, on, off, settle)


def _int_option(query: dict, name: str, default: int, text: str) -> int:
    if name not in query:
        return default
    try:
        value = int(query[name][0])
    except ValueError:
        raise AddressError(f"{text}: {name} must be an integer") from None
    if value <= 0:
        raise AddressError(f"{text}: {name} must be positive")
    return value


def _hex_option(query: dict, name: str, default: bytes, text: str) -> bytes:
    if name not in query:
        return default
    try:
        value = bytes.fromhex(query[name][0])
    except ValueError:
        raise AddressError(f"{text}: {name} must be hex bytes (e.g. A00101A2)") from None
    if not value:
        raise AddressError(f"{text}: {name} is empty")
    return value
