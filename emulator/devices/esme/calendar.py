"""The meter's switch calendar: the current and next (passive) special days and schedule
tables, and the activation that makes the next ones current (ECS46c / ECS46d).

An activation time of all 00 activates now, all FF cancels a pending one, anything else is a
future-dated activation: when it falls due the meter activates and raises the 8F66 alert
(8F67 if it cannot: no passive table, or the active table's storage fails), signed, to the
command's originator.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from construct import ListContainer  # type: ignore[import-untyped]

from emulator.clock import Clock
from gbcs import obis
from gbcs.dlms import decode_data
from gbcs.message import Message

from .instructions import (
    IC_EXTENDED,
    IC_SCHEDULE,
    IC_SPECIAL_DAYS,
    InstructionFailed,
    InstructionResult,
    item,
    read_datetime,
)

LOGGER = logging.getLogger(__name__)

#: (interface class, OBIS) -> (calendar, active | passive) of the four calendar tables
TABLES: dict[tuple[int, bytes], tuple[str, str]] = {
    (IC_SPECIAL_DAYS, obis.CURRENT_SPECIAL_DAYS): ("special_days", "active"),
    (IC_SPECIAL_DAYS, obis.NEXT_SPECIAL_DAYS): ("special_days", "passive"),
    (IC_SCHEDULE, obis.CURRENT_SCHEDULE): ("schedule", "active"),
    (IC_SCHEDULE, obis.NEXT_SCHEDULE): ("schedule", "passive"),
}
#: activation-time object -> the calendar it activates
ACTIVATIONS = {obis.NEXT_CALENDAR_ACTIVATION: "schedule",
               obis.NEXT_SPECIAL_DAYS_ACTIVATION: "special_days"}  # fmt: skip
#: calendar -> its current table (a storage fault there fails an activation)
ACTIVE_TABLES = {"schedule": obis.CURRENT_SCHEDULE, "special_days": obis.CURRENT_SPECIAL_DAYS}
ACTIONED, NOT_ACTIONED = 0x8F66, 0x8F67  # the future-dated activation alert codes

#: a future-dated activation: (due, calendar name, the command that set it, its timer)
PendingActivation = tuple[dt.datetime, str, Message, asyncio.TimerHandle]
#: raise a signed alert: (to, alert code, when, extra data items) -> the alert's bytes
AlertRaiser = Callable[[bytes, int, dt.datetime, list[Any]], bytes]


class Calendar:
    """The calendar tables (`tables`, by (calendar, active | passive)) and the pending
    future-dated activations (`pending`, by activation object, in the order commands set
    them)."""

    def __init__(
        self,
        eui: bytes,
        profile: dict,
        clock: Clock,
        now: Callable[[], dt.datetime],
        faulty: Callable[[bytes], bool],
        stats: Counter,
        alert: AlertRaiser,
    ) -> None:
        self.eui, self.clock, self.now, self.faulty = eui, clock, now, faulty
        self.stats, self.alert = stats, alert
        self.tables: dict[tuple[str, str], Any] = {
            ("special_days", "active"): decode_data(bytes.fromhex(profile["special_days"])),
            ("schedule", "active"): decode_data(bytes.fromhex(profile["schedule"])),
        }
        self.pending: dict[bytes, PendingActivation] = {}

    def read(self, table: tuple[str, str]) -> Any:
        """A table's array (an empty one when the meter holds none)."""
        return self.tables.get(table, item("array", ListContainer()))

    def write(self, table: tuple[str, str], value: Any) -> None:
        self.tables[table] = value

    def cancel(self) -> None:
        """Drop every pending activation (a meter replaced)."""
        for pending in self.pending.values():
            pending[-1].cancel()
        self.pending.clear()

    def set_activation(self, activation: bytes, when: bytes, message: Message) -> None:
        """Next calendar / special days: all 00 = now, all FF = cancel, else at that time
        (then the 8F66 alert tells the command's originator it happened); a new time
        replaces a pending one. InstructionFailed(other_reason) for a bad date-time."""
        name = ACTIVATIONS[activation]
        pending = self.pending.pop(activation, None)
        if pending is not None:
            pending[-1].cancel()
        if not any(when[:8]):
            self._activate(name)
        elif all(b == 0xFF for b in when[:8]):
            return
        else:
            at = read_datetime(when)
            if at is None:
                raise InstructionFailed(InstructionResult.OTHER_REASON)
            delay = (at - self.now()).total_seconds()
            timer = self.clock.call_later(delay, self._activations_due)
            self.pending[activation] = (at, name, message, timer)

    def _activate(self, name: str) -> bool:
        passive = self.tables.get((name, "passive"))
        if passive is None or self.faulty(ACTIVE_TABLES[name]):
            self.stats[f"activation-failed:{name}"] += 1
            return False
        self.tables[(name, "active")] = passive
        self.stats[f"activated:{name}"] += 1
        return True

    def _activations_due(self) -> None:
        """Every activation due by now, in the order the commands set them (timers due at
        the same instant fire in no set order)."""
        now = self.now() + dt.timedelta(milliseconds=1)
        for activation, (at, name, message, timer) in list(self.pending.items()):
            if at <= now:
                timer.cancel()
                del self.pending[activation]
                self._activate_future(name, activation, message, at)

    def _activate_future(self, name: str, activation: bytes, message: Message,
                         at: dt.datetime) -> None:  # fmt: skip
        """A future-dated activation falls due: activate, then alert 8F66 (8F67 if not)."""
        code = ACTIONED if self._activate(name) else NOT_ACTIONED
        LOGGER.info("ESME %s: %s activation at %s: %04X", self.eui.hex(), name, at, code)
        executed = (
            message.message_code.to_bytes(2, "big")
            + int(message.counter).to_bytes(8, "big")
            + IC_EXTENDED.to_bytes(2, "big")
            + activation
            + bytes((6,))  # the activation time attribute that was applied
        )
        self.alert(bytes(message.originator), code, at, [item("octet-string", executed)])
