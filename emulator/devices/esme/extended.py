"""GBCS extended data objects (interface class 9000) with a passive value and its activation
time: 6.4.1's load limit general settings (ECS28a) set the passive supply state, power
threshold, period and restoration period (attribute 4) and when each takes effect
(attribute 6: all 00 now, all FF cancel the pending one, else that date-time).

Taking effect writes the active value 4.15 (ECS27) reads: the supply state's own value
(0-0:94.44.0.3, attribute 2) and the load limit monitor's threshold, period and restoration
period (0-0:17.0.0.255 attributes 4, 6, 7), as RTDS's meter reports the settings there. A
future-dated one then alerts 8F66 (00CC, signed) to the command's originator naming what
was applied (message code, counter, IC 9000, OBIS, attribute 6), 8F67 if it could not be;
RTDS's ECS28a alerts are one per object, as ours. An object whose storage fails (the meter's
`object_faults`) still takes its passive value and fails hardware_fault when its activation
writes the active one, the rest of the command other_reason: RTDS's ECS28a and ECS01b ERROR
responses.

1.2.1's primary element prices (ECS01b) are the same pattern on two IC 113 Charge objects,
the standing charge (0-0:19.20.4.255) and the TOU / block price matrix (0-0:19.20.0.255):
unit_charge_passive (attribute 6) and unit_charge_activation_time (attribute 7), taking effect
into unit_charge_active (attribute 5); RTDS's future-dated ECS01b alerts one 8F66 per object. 1.1.1's currency unit (ECS01a: IC 9000
0-0:94.44.2.0) and 1.1.2 / 1.2.2's secondary element price matrix (ECS01c / ECS01d, IC 113
0-0:19.20.5.255) likewise; the rest of a tariff is tariff.py's. A fault of the passive
attribute itself (`faulty` of OBIS + attribute number) fails its set hardware_fault, as
RTDS's ECS01d ERROR shows.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from emulator.clock import Clock
from gbcs.message import Message

from .debt import IC_CHARGE
from .instructions import (
    IC_EXTENDED,
    NULL,
    InstructionFailed,
    InstructionResult,
    item,
    read_datetime,
)
from .store import CosemStore

LOGGER = logging.getLogger(__name__)

#: (IC, passive object) -> the active attribute its activation writes
ACTIVE_OF: dict[tuple[int, bytes], tuple[int, bytes, int]] = {
    (IC_EXTENDED, bytes.fromhex("00005E2C0003")): (9000, bytes.fromhex("00005E2C0003"), 2),
    (IC_EXTENDED, bytes.fromhex("00005E2C8007")): (71, bytes.fromhex("0000110000FF"), 4),
    (IC_EXTENDED, bytes.fromhex("00005E2C8006")): (71, bytes.fromhex("0000110000FF"), 6),
    (IC_EXTENDED, bytes.fromhex("00005E2C8008")): (71, bytes.fromhex("0000110000FF"), 7),
    (IC_CHARGE, bytes.fromhex("0000131404FF")): (IC_CHARGE, bytes.fromhex("0000131404FF"), 5),
    (IC_CHARGE, bytes.fromhex("0000131400FF")): (IC_CHARGE, bytes.fromhex("0000131400FF"), 5),
    # 1.1.1's currency unit, 1.1.2 / 1.2.2's secondary element price matrix
    (IC_EXTENDED, bytes.fromhex("00005E2C0200")): (9000, bytes.fromhex("00005E2C0200"), 2),
    (IC_CHARGE, bytes.fromhex("0000131405FF")): (IC_CHARGE, bytes.fromhex("0000131405FF"), 5),
}
#: IC -> (its passive value's attribute, its activation time's attribute)
ATTRIBUTES = {IC_EXTENDED: (4, 6), IC_CHARGE: (6, 7)}
DONE, NOT_DONE = 0x8F66, 0x8F67
Key = tuple[int, bytes]  # (IC, OBIS)
RaiseAlert = Callable[[bytes, int, dt.datetime, list[Any]], bytes]


class ExtendedValues:
    """The passive values and pending activations of ACTIVE_OF's objects."""

    def __init__(self, store: CosemStore, clock: Clock, now: Callable[[], dt.datetime],
                 faulty: Callable[[bytes], bool], stats: Counter,
                 alert: RaiseAlert) -> None:  # fmt: skip
        self.store, self.clock, self.now, self.faulty = store, clock, now, faulty
        self.stats, self.alert = stats, alert
        self.passive: dict[Key, Any] = {}
        #: (IC, OBIS) -> (due, the command that set it, its timer)
        self.pending: dict[Key, tuple[dt.datetime, Message, asyncio.TimerHandle]] = {}

    def instruction(self, message: Message, kind: str, key: Key, attribute: int,
                    value: Any) -> Any:  # fmt: skip
        """One get / set of a passive value or activation time; InstructionFailed."""
        passive, activation = ATTRIBUTES[key[0]]
        if kind == "get" and attribute == passive and key in self.passive:
            return self.passive[key]
        if kind != "set" or attribute not in (passive, activation):
            raise InstructionFailed(InstructionResult.OBJECT_UNDEFINED)
        if attribute == passive:
            if self.faulty(key[1] + bytes((passive,))):  # the passive attribute's storage fails
                raise InstructionFailed(InstructionResult.HARDWARE_FAULT)  # (RTDS's ECS01d ERROR)
            held = self.store.get(*ACTIVE_OF[key])
            if getattr(value, "type", None) != held.type:
                raise InstructionFailed(InstructionResult.TYPE_UNMATCHED)
            self.passive[key] = value
            return NULL
        when = bytes(getattr(value, "value", b""))
        pending = self.pending.pop(key, None)
        if pending is not None:
            pending[2].cancel()
        if len(when) == 12 and not any(when[:9]):
            if self.faulty(key[1]):  # the active value's storage fails (RTDS's ERROR cases)
                raise InstructionFailed(InstructionResult.HARDWARE_FAULT)
            if not self._activate(key):
                raise InstructionFailed(InstructionResult.OTHER_REASON)
        elif len(when) == 12 and all(b == 0xFF for b in when[:9]):
            self.stats["extended:cancelled"] += 1
        else:
            at = read_datetime(when) if len(when) == 12 else None
            if at is None:
                raise InstructionFailed(InstructionResult.OTHER_REASON)
            timer = self.clock.call_later(max(0.0, (at - self.now()).total_seconds()),
                                          self._due, key)  # fmt: skip
            self.pending[key] = (at, message, timer)
        return NULL

    def _activate(self, key: Key) -> bool:
        value = self.passive.get(key)
        if value is None or self.faulty(key[1]):
            return False
        self.store.set(*ACTIVE_OF[key], value)
        self.stats["extended:activated"] += 1
        return True

    def _due(self, key: Key) -> None:
        pending = self.pending.pop(key, None)
        if pending is None:
            return
        at, message, _timer = pending
        done = self._activate(key)
        ic, code = key
        LOGGER.info("passive value %d/%s activated at %s: %s", ic, code.hex(), at, done)
        executed = (message.message_code.to_bytes(2, "big") + int(message.counter).to_bytes(8, "big")
                    + ic.to_bytes(2, "big") + code + bytes((ATTRIBUTES[ic][1],)))  # fmt: skip
        self.alert(bytes(message.originator), DONE if done else NOT_DONE, at,
                   [item("octet-string", executed)])  # fmt: skip

    def cancel(self) -> None:
        for _at, _message, timer in self.pending.values():
            timer.cancel()
        self.pending.clear()
