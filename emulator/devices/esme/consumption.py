"""The meter measuring what the premises imports and, in prepayment mode, paying for it out of
its credit: what makes credit run down over a day.

`Consumption.import_energy(wh)` is the world's load through the meter (a scenario or a day
drives it, as the feeder's physics drive load): the active import energy in the import
register collection (0-0:94.44.34.10, what 4.1.1 ECS17b reads) rises by `wh`, so do TOU
rate 1's block counter and TOU-with-blocks register (blocks.py, what 4.1.3 ECS17e reads), and in
prepayment mode (the active account's mode, 0-0:19.0.0.255 attribute 2) the meter charges:

- the energy at the price of TOU rate 1 in the active price matrix (0-0:19.20.0.255's unit
  charge: charge per unit, its commodity scale 3 (per kWh) and price scale), which 1.2.1
  (ECS01b) sets;
- the standing charge (0-0:19.20.4.255) and the time-based debts 1 and 2 (0-0:19.20.1/2.255:
  their active unit charge per collection period, attribute 8) for the time since the last
  charge, pro rata; a debt collected comes off its total amount remaining (attribute 12,
  what 4.3 reads) and is never more than remains.

Credit amounts are in 10^-5 of the currency, as the meter balance. A charge comes out of the
meter balance (0-0:19.10.0.255) while it is above zero, then out of the emergency credit
(0-0:19.10.1.255) while that is in use (selected, 2.5), then takes the meter balance below
zero. Alerts, each once per crossing, to the Supplier: 810D when the credit (meter balance
plus emergency credit in use) falls below the low credit threshold (the account's attribute
16), 8119 when the meter balance falls below the emergency credit threshold (its attribute
10) with emergency credit selectable, 81AA when emergency credit in use is exhausted, and
8F0F (critical) when the credit falls to the disablement threshold (the register monitor
0-0:16.0.1.255's first threshold, which 1.6 ECS03 sets): the meter disconnects the supply
and keeps it interlocked — arm (7.3) and enable (7.1) are refused (supply.py) — until the
credit is above the threshold again (a top-up, 2.2, or a balance adjustment, 1.5). Alerts
are GBCS's generic ones: GCA (1000, signed) for 8Fxx, GNCA (1001, MAC'd) for the rest, each
sent only where the Supplier's alert behaviours (6.22) leave it on.

Ours where our sources say nothing we read: TOU rate 1's price whatever the switching table
says (the meter does not yet follow its calendar for the rate in force); no debt recovery
rate cap, no payment-based debt (3) taken from top-ups, no non-disablement calendar; the
emergency credit used is not repaid from a top-up.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from construct import Container, ListContainer  # type: ignore[import-untyped]

from gbcs.message import encode_apdu
from gbcs.payload import encode as encode_payload

from . import blocks
from .instructions import datetime_octets, item
from .responses import alert_header
from .store import CosemStore

LOGGER = logging.getLogger(__name__)

IMPORT_REGISTERS = (1, bytes.fromhex("00005E2C220A"), 2)  # 0-0:94.44.34.10
ACCOUNT = bytes.fromhex("0000130000FF")  # 0-0:19.0.0.255
MODE_AND_STATUS, LOW_CREDIT_THRESHOLD = (111, ACCOUNT, 2), (111, ACCOUNT, 16)
PREPAYMENT_MODE = 2
METER_BALANCE = (112, bytes.fromhex("0000130A00FF"), 2)
EMERGENCY = bytes.fromhex("0000130A01FF")  # 0-0:19.10.1.255
EMERGENCY_BALANCE, EMERGENCY_STATUS = (112, EMERGENCY, 2), (112, EMERGENCY, 8)
EMERGENCY_THRESHOLD = (112, EMERGENCY, 10)
SELECTABLE, IN_USE = 1, 2
DISABLEMENT = (21, bytes.fromhex("0000100001FF"), 2)  # 0-0:16.0.1.255 thresholds
PRICE_MATRIX = (113, bytes.fromhex("0000131400FF"), 5)
STANDING_CHARGE = (113, bytes.fromhex("0000131404FF"), 5)
TIME_DEBTS = (bytes.fromhex("0000131401FF"), bytes.fromhex("0000131402FF"))
PERIOD, REMAINING = 8, 12
CONTROL_STATE = (70, bytes.fromhex("000060030AFF"), 3)
DISCONNECTED, CONNECTED = 0, 1
CREDIT_SCALE = -5  # the meter balance's units: 10^-5 of the currency
DAY_S = 86400
LOW_CREDIT, EMERGENCY_AVAILABLE, EMERGENCY_EXHAUSTED = 0x810D, 0x8119, 0x81AA
BELOW_DISABLEMENT = 0x8F0F
GCA, GNCA = 0x1000, 0x1001  # generic critical / non-critical alert (DLMS)


def _value(store: CosemStore, key: tuple[int, bytes, int]) -> int:
    return int(store.get(*key).value)


def _items(value: Any) -> list[Any]:
    return list(value.value)


def in_prepayment(store: CosemStore) -> bool:
    return int(_items(store.get(*MODE_AND_STATUS))[0].value) == PREPAYMENT_MODE


def credit(store: CosemStore) -> int:
    """The meter balance plus the emergency credit in use."""
    emergency = _value(store, EMERGENCY_BALANCE) if emergency_in_use(store) else 0
    return _value(store, METER_BALANCE) + emergency


def emergency_in_use(store: CosemStore) -> bool:
    return _value(store, EMERGENCY_STATUS) == IN_USE


def disablement_threshold(store: CosemStore) -> int:
    thresholds = _items(store.get(*DISABLEMENT))
    return int(thresholds[0].value) if thresholds else 0


def at_disablement(store: CosemStore) -> bool:
    """In prepayment mode with the credit at or below the disablement threshold."""
    return in_prepayment(store) and credit(store) <= disablement_threshold(store)


def _charge(store: CosemStore, key: tuple[int, bytes, int]) -> tuple[int, int, int]:
    """(commodity scale, price scale, TOU rate 1's or the only charge per unit) of a unit
    charge."""
    scaling, _commodity, table = _items(store.get(*key))
    commodity_scale, price_scale = (int(v.value) for v in _items(scaling))
    entries = [_items(e) for e in _items(table)]
    rate_1 = [e for e in entries if bytes(e[0].value) in (b"\x01", b"\x00", b"")]
    return commodity_scale, price_scale, int((rate_1 or entries)[0][1].value)


def _in_credit_units(amount: float, price_scale: int) -> float:
    return amount * 10.0 ** (price_scale - CREDIT_SCALE)


class Consumption:
    """The meter's import measured and charged (see the module docstring). `alert(code)`
    sends one of the meter's alerts to its Supplier."""

    def __init__(self, store: CosemStore, now: Callable[[], dt.datetime], stats: Counter,
                 alert: Callable[[int], bytes | None]) -> None:  # fmt: skip
        self.store, self.now, self.stats, self.alert = store, now, stats, alert
        self._charged_to: dt.datetime | None = None
        self._owed = 0.0  # fractions of a credit unit not yet taken
        self._below: set[int] = set()  # the alerts whose condition holds (raised once)
        self.imported_wh = 0
        self._locked = False

    def supply_connected(self) -> bool:
        """Whether the load switch passes current (the disconnect control connected)."""
        return _value(self.store, CONTROL_STATE) == CONNECTED

    def supply_interlocked(self) -> bool:
        """Whether the supply is interlocked: from the charge that took the credit to the
        disablement threshold until the credit is above it again (a top-up, 1.5)."""
        if self._locked and not at_disablement(self.store):
            self._locked = False
            self._below.discard(BELOW_DISABLEMENT)
            LOGGER.info("ESME: credit %d above the disablement threshold: supply may be armed",
                        credit(self.store))  # fmt: skip
        return self._locked

    def import_energy(self, wh: int) -> list[int]:
        """`wh` imported since the last call; the alerts it raised (their codes)."""
        if wh < 0:
            raise ValueError("import energy is never negative")
        registers = _items(self.store.get(*IMPORT_REGISTERS))
        registers[0] = item(registers[0].type, int(registers[0].value) + wh)
        self.store.set(*IMPORT_REGISTERS, item("structure", ListContainer(registers)))
        blocks.record(self.store, wh)  # the block counters and TOU-with-blocks registers
        self.imported_wh += wh
        now = self.now()
        elapsed = 0.0 if self._charged_to is None else (now - self._charged_to).total_seconds()
        self._charged_to = now
        if not in_prepayment(self.store):
            return []
        commodity_scale, price_scale, price = _charge(self.store, PRICE_MATRIX)
        cost = _in_credit_units(wh * 10.0**-commodity_scale * price, price_scale)
        _scale, standing_scale, standing = _charge(self.store, STANDING_CHARGE)
        cost += _in_credit_units(standing * elapsed / DAY_S, standing_scale)
        cost += self._recover_debts(elapsed)
        self._owed += cost
        taken = int(self._owed)
        self._owed -= taken
        self._pay(taken)
        self.stats["consumption:charged"] += taken
        return self._alerts()

    def _recover_debts(self, elapsed: float) -> float:
        """The time-based debts collected over `elapsed` seconds, off their remaining."""
        collected = 0.0
        for code in TIME_DEBTS:
            _scale, price_scale, rate = _charge(self.store, (113, code, 5))
            period = _value(self.store, (113, code, PERIOD)) or DAY_S
            remaining = _value(self.store, (113, code, REMAINING))
            due = min(float(remaining), _in_credit_units(rate * elapsed / period, price_scale))
            if due <= 0:
                continue
            self.store.set(113, code, REMAINING, item("double-long", remaining - round(due)))
            collected += round(due)
        return collected

    def _pay(self, amount: int) -> None:
        balance = _value(self.store, METER_BALANCE)
        from_balance = max(0, min(amount, balance))
        rest = amount - from_balance
        if rest and emergency_in_use(self.store):
            emergency = _value(self.store, EMERGENCY_BALANCE)
            from_emergency = min(rest, emergency)
            self.store.set(*EMERGENCY_BALANCE, item("double-long", emergency - from_emergency))
            rest -= from_emergency
        self.store.set(*METER_BALANCE, item("double-long", balance - from_balance - rest))

    def _alerts(self) -> list[int]:
        store = self.store
        conditions = {
            LOW_CREDIT: credit(store) < _value(store, LOW_CREDIT_THRESHOLD),
            EMERGENCY_AVAILABLE: _value(store, EMERGENCY_STATUS) == SELECTABLE
            and _value(store, METER_BALANCE) < _value(store, EMERGENCY_THRESHOLD),
            EMERGENCY_EXHAUSTED: emergency_in_use(store)
            and _value(store, EMERGENCY_BALANCE) <= 0,
            BELOW_DISABLEMENT: at_disablement(store),
        }  # fmt: skip
        raised = []
        for code, holds in conditions.items():
            if not holds:
                self._below.discard(code)
                continue
            if code in self._below:
                continue
            self._below.add(code)
            if code == BELOW_DISABLEMENT:
                self.store.set(*CONTROL_STATE, item("enum", DISCONNECTED))
                self._locked = True
                self.stats["supply:interlocked"] += 1
                LOGGER.info("ESME: credit %d at the disablement threshold: supply disconnected",
                            credit(store))  # fmt: skip
            if self.alert(code) is not None:
                raised.append(code)
        return raised


def generic_alert(
    eui: bytes, to: bytes, counter: int, code: int, when: dt.datetime,
    sign: Callable[[bytes], bytes], mac: Callable[[bytes], bytes],
) -> bytes:  # fmt: skip
    """A generic DLMS alert (GCA signed for an 8Fxx code, GNCA MAC'd otherwise): the alert
    code and its time stamp, as RTDS's GCA-DLMS 8F30 and GNCA-DLMS 810E."""
    critical = code >> 8 == 0x8F
    payload = Container(
        tag=b"\x0f", long_invoke_id_and_priority=0x20000000 | (counter & 0x0FFFFFFF),
        date_time=None,
        notification=item("structure", ListContainer([
            item("long-unsigned", code), item("octet-string", datetime_octets(when))])),
    )  # fmt: skip
    header = alert_header(eui, to, counter, GCA if critical else GNCA)
    content = encode_payload("dlms-notification", payload)
    if critical:
        return sign(encode_apdu(header, content, None))
    return mac(encode_apdu(header, content, b""))
