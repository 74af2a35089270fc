"""The meter's other COSEM attributes: the configuration, tariff, prepayment, load-limit and
supply data its read use cases answer from and its configuration writes change.

Each attribute is an A-XDR data item keyed by (interface class, OBIS, attribute), starting
from cosem_defaults.json (what RTDS's meter reports) and the household profile's `cosem`
entries over it. A get answers what is held; a set must keep the attribute's A-XDR type (a
different type is `type_unmatched`, nothing changed). The meter's identity (0-0:96.1.1.255)
is its own EUI, whatever the defaults say. A register's or profile's reset method (the
clear-log and counter-reset use cases) zeroes its value or empties its buffer; a profile's
buffer read with a range descriptor (the log reads) gives the entries in the range.

`SRV_OF` names the SRV of each use case that is nothing but reads or writes of such
attributes (or the supply scripts of supply.py, which change one), for the meter's
acceptance checks.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from construct import Container, ListContainer  # type: ignore[import-untyped]

from gbcs.dlms import decode_data, encode_data

from .instructions import IC_DATA, item, read_datetime

EPOCH_2000 = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

DEFAULTS = Path(__file__).with_name("cosem_defaults.json")
#: 0-0:94.44.34.30, what 4.3 (ECS19) reads: not held but made from the live registers it
#: collects, in GBCS's order: the meter balance, the emergency credit balance, the
#: accumulated debt register, the payment debt register and time debt registers 1 and 2
#: (their starting values RTDS's ECS19's)
BALANCES = (1, bytes.fromhex("00005E2C221E"), 2)
BALANCE_PARTS = ((112, bytes.fromhex("0000130A00FF"), 2), (112, bytes.fromhex("0000130A01FF"), 2),
                 (112, bytes.fromhex("0000130A02FF"), 2), (113, bytes.fromhex("0000131403FF"), 12),
                 (113, bytes.fromhex("0000131401FF"), 12),
                 (113, bytes.fromhex("0000131402FF"), 12))  # fmt: skip
IDENTITY = bytes.fromhex("0000600101FF")  # 0-0:96.1.1.255 device identity

#: message code -> SRV, for the use cases that only read attributes held here
SRV_OF = {
    0x0027: "4.1.1",  # ECS17b read import energy registers (encrypted: protected.py)
    0x002A: "4.1.3",  # ECS17e read import TOU with blocks matrices (encrypted)
    0x002D: "4.3",  # ECS19 read prepayment values (encrypted)
    0x00BD: "4.11.2",  # ECS24b read tariff data (second element)
    0x003B: "4.13",  # ECS26a read prepayment configuration
    0x0042: "4.15",  # ECS27 read load limit data
    0x003C: "6.2.1",  # ECS26b read configuration (voltage)
    0x003D: "6.2.2",  # ECS26c read configuration (randomisation)
    0x003E: "6.2.3",  # ECS26d read configuration (billing calendar)
    0x00D9: "6.2.3",  # ECS26l the same, all periodicities
    0x003F: "6.2.4",  # ECS26e read configuration (identity and type)
    0x00F9: "6.2.4",  # ECS26m the same with supply tamper / depletion state
    0x0040: "6.2.5",  # ECS26f read configuration (instantaneous power thresholds)
    0x004E: "6.2.7",  # ECS40 read MPxN
    0x00BE: "6.2.9",  # ECS26j read payment mode
    0x0052: "7.4",  # ECS45 read supply status
    0x004F: "7.1",  # ECS42 enable supply (critical: supply.py)
    0x0050: "7.2",  # ECS43 disable supply (critical)
    0x0051: "7.3",  # ECS44 arm supply (critical)
    0x004B: "7.12",  # ECS38 set randomised offset limit (critical)
    0x0025: "3.4",  # ECS16 update supplier name
    0x0021: "3.1",  # ECS10 display message
    0x0024: "3.3",  # ECS15a clear the ESME event log
    0x00C1: "3.3",  # ECS15c clear the auxiliary controller event log
    0x005A: "6.18.2",  # ECS57 reset maximum demand registers
    0x00D3: "6.27",  # ECS29e reset RMS voltage counters
    0x0044: "6.4.2",  # ECS28b reset the load limit counter
    0x0048: "6.13",  # ECS35a read the event log
    0x0049: "6.13",  # ECS35b read the security log
    0x00B9: "6.13",  # ECS35e read the power event log
    0x00BA: "6.13",  # ECS35f read the ALCS event log
    0x00FD: "6.13",  # ECS35g read the auxiliary controller event log
    0x002E: "4.4.4",  # ECS20a read the billing data log (debt payments)
    0x00C9: "4.4.5",  # ECS20d read the billing data log (prepayment credits)
    0x0038: "4.8.2",  # ECS22c read the reactive import profile
    0x0036: "4.8.3",  # ECS22a read the export profile
    0x002F: "4.4.2",  # ECS20b billing data log, change of mode / tariff (encrypted)
    0x0030: "4.4.3",  # ECS20c billing data log, billing calendar (encrypted)
    0x0033: "4.6.1",  # ECS21a daily read log (encrypted)
    0x0034: "4.14",  # ECS21b prepayment daily read log (encrypted)
    0x0037: "4.8.1",  # ECS22b active import profile (encrypted)
    0x0039: "4.10",  # ECS23 read network data (voltage counters and profile)
    0x0022: "3.2",  # ECS12 restrict access for change of tenancy
    0x0023: "3.5",  # ECS14 disable privacy PIN
    0x0047: "6.12",  # ECS34 set instantaneous power thresholds
    0x004C: "6.20.1",  # ECS39a set import MPxN
    0x0068: "6.25",  # ECS81 set supply tamper state (critical)
    0x00DB: "6.26",  # ECS48 daily resetting of the tariff block counter matrix (critical)
    0x001E: "2.3",  # ECS07 update debt (critical: debt.py)
    0x0020: "2.5",  # ECS09 activate emergency credit (critical: debt.py)
    0x001C: "1.5",  # ECS04a adjust meter balance (critical: debt.py)
    0x0007: "2.2",  # CS01a top up with a UTRN (topup.py)
    0x001A: "1.6",  # ECS02 payment mode to credit, at its activation (payment_mode.py)
    0x001B: "1.6",  # ECS03 payment mode to prepayment, the same
    0x00DE: "2.1",  # ECS08a prepayment configuration, passive with activations (prepay_config.py)
    0x001F: "2.1",  # ECS08 the same, its older form
    0x00B3: "1.5",  # ECS04b reset the meter balance (critical: debt.py)
    0x00D7: "6.8",  # ECS30a set the billing calendar, all periodicities (critical)
    0x0046: "6.8",  # ECS30 the same
    0x0045: "6.5",  # ECS29a set the voltage configuration, resetting the RMS voltage counters
    0x00D1: "6.5",  # ECS29c the same without the resets
    0x0043: "6.4.1",  # ECS28a load limit general settings, passive with activation (critical)
    0x00A2: "1.2.1",  # ECS01b primary element prices, passive with activation (critical)
    0x003A: "4.11.1",  # ECS24 read tariff data (primary element)
    0x0026: "4.2",  # ECS17a read export energy registers
    0x0028: "4.16",  # ECS17c read the power registers
    0x0029: "4.1.2",  # ECS17d read the TOU registers (encrypted)
    0x0019: "1.1.1",  # ECS01a primary element tariff, passive with activation (critical)
    0x00B7: "1.1.2",  # ECS01c secondary element tariff (critical)
    0x00C7: "1.2.2",  # ECS01d secondary element prices (critical)
    0x00AC: "6.22",  # ECS25a the Supplier's alert behaviours (alert_behaviour.py)
    0x00EA: "6.22",  # ECS25a1 the events the Supplier's HAN devices are sent
    0x00EB: "6.22",  # ECS25a2 the events that sound the audible alarm
    0x00EC: "6.22",  # ECS25a3 the events logged for the Supplier
    0x00B0: "6.22",  # ECS25b the Network Operator's alert behaviours
    0x00ED: "6.22",  # ECS25b3 the events logged for the Network Operator
    0x00EE: "6.2.10",  # ECS25r1 read the Supplier's alert and event behaviours
    0x00EF: "6.2.10",  # ECS25r2 read the Network Operator's
    0x002C: "4.12.1",  # ECS18b read the import maximum demand registers
    0x002B: "4.12.2",  # ECS18a read the export maximum demand register
    0x004A: "6.18.1",  # ECS37 set the maximum demand configurable time period
    0x0069: "4.18",  # ECS82 read the meter balance
    0x0060: "4.17",  # ECS66 read the daily consumption log (encrypted)
    0x0035: "4.6.2",  # ECS21c read the export daily read log
    0x00AE: "6.5",  # ECS29b a polyphase meter's voltage configuration, counters reset
    0x00D2: "6.5",  # ECS29d the same without the resets
    0x00C6: "6.2.1",  # ECS26k read a polyphase meter's voltage configuration
    0x00D4: "6.27",  # ECS29f reset a polyphase meter's RMS voltage counters
    0x004D: "6.20.2",  # ECS39b set the export MPAN (the ACB, for the Export Supplier)
    0x0058: "9.1",  # ECS50 set the Customer Identification Number (the ACB, for an OU)
    0x001D: "1.7",  # ECS05 reset the tariff block counter matrix (critical: blocks.py)
}

Key = tuple[int, bytes, int]


def _instant_of(raw: Any) -> float:
    """A compact-array entry's time column: seconds since 2000, or a date-time's octets."""
    if isinstance(raw, bytes | bytearray):
        when = read_datetime(bytes(raw))
        if when is None:
            raise ValueError("a time column that is no complete date-time")
        return (when - EPOCH_2000).total_seconds()
    return float(raw)


def _instant(value: Any) -> float:
    """A range bound or an entry's first element (a data item): as _instant_of."""
    return _instant_of(value.value)


#: interface classes whose method 1 resets attribute 2: register, extended register, profile
RESETTABLE = (3, 4, 7)


def _zero(held: Any) -> Any:
    """The reset value of a data item: an empty array (a compact one keeps its description)
    or string, else 0 of its type."""
    if held.type == "compact-array":
        return item("compact-array", Container(description=held.value.description,
                                               entries=ListContainer()))  # fmt: skip
    if held.type == "array":
        return item("array", ListContainer())
    if held.type in ("octet-string", "visible-string", "utf8-string"):
        return item(held.type, b"")
    return item(held.type, 0)


def _key(text: str) -> Key:
    ic, code, attribute = text.split("/")
    return int(ic), bytes.fromhex(code), int(attribute)


class CosemStore:
    """The attributes one meter holds (see the module docstring); `defaults` another device's
    starting attributes (the Comms Hub Function's logs)."""

    def __init__(self, eui: bytes, profile: dict, defaults: Path = DEFAULTS) -> None:
        self.eui = bytes(eui)
        entries = dict(json.loads(defaults.read_text())["objects"])
        entries.update(profile.get("cosem", {}))
        self._items: dict[Key, bytes] = {_key(k): bytes.fromhex(v) for k, v in entries.items()}

    def __contains__(self, key: Key) -> bool:
        return key in self._items or key == (IC_DATA, IDENTITY, 2)

    def get(self, ic: int, code: bytes, attribute: int) -> Any:
        """The data item held (KeyError when the meter has no such attribute)."""
        if (ic, code, attribute) == (IC_DATA, IDENTITY, 2):
            return item("octet-string", self.eui)
        if (ic, code, attribute) == BALANCES:
            return item("structure", ListContainer(self.get(*part) for part in BALANCE_PARTS))
        return decode_data(self._items[(ic, code, attribute)])

    def resettable(self, ic: int, code: bytes) -> bool:
        """A register or profile (interface class 3, 4 or 7) whose value / buffer is held."""
        return ic in RESETTABLE and (ic, code, 2) in self._items

    def reset(self, ic: int, code: bytes) -> None:
        """The reset method of a register or profile: its value 0, its buffer empty."""
        held = self._items[(ic, code, 2)]
        self._items[(ic, code, 2)] = encode_data(_zero(decode_data(held)))

    def select(self, ic: int, code: bytes, attribute: int, selection: Any) -> Any:
        """A profile's buffer restricted by a range descriptor (selector 1): the entries whose
        first column (seconds since 2000, or a date-time) lies from .. to, inclusive. KeyError
        for a buffer not held, ValueError for another selector or an unreadable range."""
        held = self.get(ic, code, attribute)
        if selection is None or int(selection.selector) != 1:
            raise ValueError("only a range descriptor (selector 1) is served")
        start, end = (_instant(v) for v in selection.parameters.value[1:3])
        if held.type == "compact-array":
            entries = held.value.entries
            kept = ListContainer(e for e in entries if start <= _instant_of(e[0]) <= end)
            return item("compact-array", Container(description=held.value.description,
                                                   entries=kept))  # fmt: skip
        kept = ListContainer(e for e in held.value if start <= _instant(e.value[0]) <= end)
        return item(held.type, kept)

    def set(self, ic: int, code: bytes, attribute: int, value: Any) -> bool:
        """Write an attribute; False (nothing changed) when the type differs from the held
        one's or the attribute is not held (KeyError)."""
        held = self._items[(ic, code, attribute)]
        new = encode_data(value)
        if new[:1] != held[:1]:
            return False
        self._items[(ic, code, attribute)] = new
        return True
