"""What the meter's instruction handlers share: the DLMS result of one instruction, the
failure that carries it, data items and COSEM date-times, the interface classes.

A DLMS command is a list of instructions (get / set / action on one object); each handler
answers one with a data item or raises `InstructionFailed`, and the access response carries a
result per instruction. GBCS's rule, which RTDS shows: the first instruction that fails gets
its result and every later one `other_reason`.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Any

from construct import Container  # type: ignore[import-untyped]

from emulator.errors import EmulatorError

# COSEM interface classes the meter's objects have (primer 9.1)
IC_DATA, IC_PROFILE, IC_SCRIPT, IC_SCHEDULE, IC_SPECIAL_DAYS, IC_DISCONNECT = 1, 7, 9, 10, 11, 70
IC_EXTENDED = 9000  # GBCS extended data: the calendar activation times


class InstructionResult(StrEnum):
    """A DLMS data-access-result (gbcs.dlms.AccessResult's names) the meter answers with."""

    SUCCESS = "success"
    HARDWARE_FAULT = "hardware_fault"
    OTHER_REASON = "other_reason"
    OBJECT_UNDEFINED = "object_undefined"
    OBJECT_UNAVAILABLE = "object_unavailable"
    TYPE_UNMATCHED = "type_unmatched"


class InstructionFailed(EmulatorError):
    """One instruction could not be carried out; `result` is what the response says."""

    def __init__(self, result: InstructionResult) -> None:
        super().__init__(str(result))
        self.result = result


#: (the request's kind, its result, the data item answered) for one instruction
InstructionOutcome = tuple[str, InstructionResult, Any]


def item(kind: str, value: object = None) -> Any:
    """An A-XDR data item as the codec's trees hold it."""
    return Container(type=kind, value=value)


def boolean(value: bool) -> Any:
    return item("boolean", 0xFF if value else 0)


NULL = item("null-data")


def cosem_datetime(when: dt.datetime) -> Any:
    """A COSEM date-time as RTDS responses carry it (day of week, deviation unspecified)."""
    return Container(
        year=when.year,
        month=when.month,
        day=when.day,
        day_of_week=0xFF,
        hour=when.hour,
        minute=when.minute,
        second=when.second,
        hundredths=0,
        deviation=-32768,
        clock_status=0xFF,
    )


def datetime_octets(when: dt.datetime) -> bytes:
    """A COSEM date-time octet-string as RTDS's alerts carry it (weekday, deviation and
    status unspecified)."""
    return (when.year.to_bytes(2, "big") + bytes((when.month, when.day, 0xFF, when.hour,
            when.minute, when.second, 0)) + b"\x80\x00\xff")  # fmt: skip


def read_datetime(raw: bytes) -> dt.datetime | None:
    """A 12-byte COSEM date-time as UTC (deviation unspecified in every RTDS one); None when
    it is not a complete date and time."""
    if len(raw) != 12:
        return None
    year = int.from_bytes(raw[0:2], "big")
    try:
        return dt.datetime(year, raw[2], raw[3], raw[5], raw[6], raw[7], tzinfo=dt.UTC)
    except ValueError:
        return None
