"""The meter's clock object (interface class 8, 0-0:1.0.0.255) as ECS70 Set Clock uses it
(6.11 Synchronise Clock, 8.1.1 Commission Device): set the clock base, preset an adjusting
time with a validity interval, adjust to it, read time and status back.

In the emulator the meter's time is the Comms Hub's (the meter takes it from the hub, which
GBCS has the device do when the preset time is not specified, as in every RTDS ECS70), so
the adjustment succeeds when that time lies in the validity interval the DCC sent and fails
(`other_reason`, logged and counted) when it does not: the DCC and the HAN disagree on the
time by more than the tolerance. A preset time that is given sets the meter's clock to it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from .instructions import (
    NULL,
    InstructionFailed,
    InstructionResult,
    datetime_octets,
    item,
    read_datetime,
)

LOGGER = logging.getLogger(__name__)

IC_CLOCK = 8
CLOCK = bytes.fromhex("0000010000FF")  # 0-0:1.0.0.255
TIME, STATUS, CLOCK_BASE = 2, 4, 9  # attributes
ADJUST_TO_PRESET_TIME, PRESET_ADJUSTING_TIME = 4, 5  # methods
#: clock_base before any ECS70 (RTDS's sets 5)
DEFAULT_CLOCK_BASE = 5


class MeterClock:
    """The clock object of one meter; `now` reads its time, `set_time` sets it."""

    def __init__(
        self,
        eui: bytes,
        now: Callable[[], dt.datetime],
        set_time: Callable[[dt.datetime], None],
        stats: Counter,
    ) -> None:
        self.eui, self.now, self.set_time, self.stats = eui, now, set_time, stats
        self.clock_base = DEFAULT_CLOCK_BASE
        #: (preset time or None when not specified, validity start, validity end)
        self.preset: tuple[dt.datetime | None, dt.datetime, dt.datetime] | None = None

    def instruction(self, kind: str, number: int, value: Any) -> Any:
        """The data item one instruction on the clock answers; InstructionFailed."""
        if kind == "get" and number == TIME:
            return item("octet-string", datetime_octets(self.now()))
        if kind == "get" and number == STATUS:
            return item("unsigned", 0)  # no status bit set: the clock is valid
        if kind == "set" and number == CLOCK_BASE and value.type == "enum":
            self.clock_base = int(value.value)
            return NULL
        if kind == "action" and number == PRESET_ADJUSTING_TIME:
            self.preset = _preset(value)
            return NULL
        if kind == "action" and number == ADJUST_TO_PRESET_TIME:
            self._adjust()
            return NULL
        raise InstructionFailed(InstructionResult.OBJECT_UNDEFINED)

    def _adjust(self) -> None:
        if self.preset is None:
            self._refuse("no preset adjusting time")
        assert self.preset is not None
        preset, start, end = self.preset
        now = self.now()
        if not start <= now <= end:
            self._refuse(f"time {now.isoformat()} outside {start.isoformat()}..{end.isoformat()}")
        if preset is not None:
            self.set_time(preset)
        self.preset = None

    def _refuse(self, why: str) -> None:
        self.stats["clock:adjust-refused"] += 1
        LOGGER.info("ESME %s: clock not adjusted: %s", self.eui.hex(), why)
        raise InstructionFailed(InstructionResult.OTHER_REASON)


def _preset(value: Any) -> tuple[dt.datetime | None, dt.datetime, dt.datetime]:
    """preset_adjusting_time's structure (preset, validity start, validity end); a bound that
    is no complete date-time is a type mismatch."""
    parts = value.value if value.type == "structure" else None
    if parts is None or len(parts) != 3 or any(p.type != "octet-string" for p in parts):
        raise InstructionFailed(InstructionResult.TYPE_UNMATCHED)
    preset, start, end = (read_datetime(bytes(p.value)) for p in parts)
    if start is None or end is None:
        raise InstructionFailed(InstructionResult.TYPE_UNMATCHED)
    return preset, start, end
