"""GBCS extended data objects (interface class 9000) with a passive value and its activation
time: 6.4.1's load limit general settings (ECS28a) set the passive supply state, power
threshold, period and restoration period (attribute 4) and when each takes effect
(attribute 6: all 00 now, all FF cancel the pending one, else that date-time).

Taking effect writes the active value 4.15 (ECS27) reads: the supply state's own value
(0-0:94.44.0.3, attribute 2) and the load limit monitor's threshold, period and restoration
period (0-0:17.0.0.255 attributes 4, 6, 7), as RTDS's meter reports the settings there. A
future-dated one then alerts 8F66 (00CC, signed) to the command's originator naming what
was applied (message code, counter, IC 9000, OBIS, attribute 6), 8F67 if it could not be;
RTDS's ECS28a alerts are one per object, as ours.
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

#: the passive objects -> the active attribute their activation writes
ACTIVE_OF = {
    bytes.fromhex("00005E2C0003"): (9000, bytes.fromhex("00005E2C0003"), 2),  # supply state
    bytes.fromhex("00005E2C8007"): (71, bytes.fromhex("0000110000FF"), 4),  # power threshold
    bytes.fromhex("00005E2C8006"): (71, bytes.fromhex("0000110000FF"), 6),  # period
    bytes.fromhex("00005E2C8008"): (71, bytes.fromhex("0000110000FF"), 7),  # restoration
}
PASSIVE, ACTIVATION = 4, 6
DONE, NOT_DONE = 0x8F66, 0x8F67
RaiseAlert = Callable[[bytes, int, dt.datetime, list[Any]], bytes]


class ExtendedValues:
    """The passive values and pending activations of ACTIVE_OF's objects."""

    def __init__(self, store: CosemStore, clock: Clock, now: Callable[[], dt.datetime],
                 faulty: Callable[[bytes], bool], stats: Counter,
                 alert: RaiseAlert) -> None:  # fmt: skip
        self.store, self.clock, self.now, self.faulty = store, clock, now, faulty
        self.stats, self.alert = stats, alert
        self.passive: dict[bytes, Any] = {}
        #: OBIS -> (due, the command that set it, its timer)
        self.pending: dict[bytes, tuple[dt.datetime, Message, asyncio.TimerHandle]] = {}

    def instruction(self, message: Message, kind: str, code: bytes, attribute: int,
                    value: Any) -> Any:  # fmt: skip
        """One get / set of a passive value or activation time; InstructionFailed."""
        if kind == "get" and attribute == PASSIVE and code in self.passive:
            return self.passive[code]
        if kind != "set" or attribute not in (PASSIVE, ACTIVATION):
            raise InstructionFailed(InstructionResult.OBJECT_UNDEFINED)
        if attribute == PASSIVE:
            held = self.store.get(*ACTIVE_OF[code])
            if getattr(value, "type", None) != held.type:
                raise InstructionFailed(InstructionResult.TYPE_UNMATCHED)
            self.passive[code] = value
            return NULL
        when = bytes(getattr(value, "value", b""))
        pending = self.pending.pop(code, None)
        if pending is not None:
            pending[2].cancel()
        if len(when) == 12 and not any(when[:9]):
            if self.faulty(code) or not self._activate(code):
                raise InstructionFailed(InstructionResult.OTHER_REASON)
        elif len(when) == 12 and all(b == 0xFF for b in when[:9]):
            self.stats["extended:cancelled"] += 1
        else:
            at = read_datetime(when) if len(when) == 12 else None
            if at is None:
                raise InstructionFailed(InstructionResult.OTHER_REASON)
            timer = self.clock.call_later(max(0.0, (at - self.now()).total_seconds()),
                                          self._due, code)  # fmt: skip
            self.pending[code] = (at, message, timer)
        return NULL

    def _activate(self, code: bytes) -> bool:
        value = self.passive.get(code)
        if value is None or self.faulty(code):
            return False
        self.store.set(*ACTIVE_OF[code], value)
        self.stats["extended:activated"] += 1
        return True

    def _due(self, code: bytes) -> None:
        pending = self.pending.pop(code, None)
        if pending is None:
            return
        at, message, _timer = pending
        done = self._activate(code)
        LOGGER.info("extended value %s activated at %s: %s", code.hex(), at, done)
        executed = (message.message_code.to_bytes(2, "big") + int(message.counter).to_bytes(8, "big")
                    + IC_EXTENDED.to_bytes(2, "big") + code + bytes((ACTIVATION,)))  # fmt: skip
        self.alert(bytes(message.originator), DONE if done else NOT_DONE, at,
                   [item("octet-string", executed)])  # fmt: skip

    def cancel(self) -> None:
        for _at, _message, timer in self.pending.values():
            timer.cancel()
        self.pending.clear()
