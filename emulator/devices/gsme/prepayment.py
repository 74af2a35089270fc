"""The GSME's prepayment commands (ZCL Prepayment cluster 0x0705, in GBZ):

1.6 Update Payment Mode (critical GCS02 credit, GCS03 prepayment: change_payment_mode) sets
the payment control configuration (0705/0000, which 6.2.9 GCS21j reads) and the cut-off value
(0705/0040, which 4.13 GCS21b reads) at the implementation date-time: now (0), never
(0xFFFFFFFF: a cancellation drops the pending one) or that date, when it takes effect (a clock
timer; and before any later command, should the timer not have run). The meter answers
change_payment_mode_response with its friendly credit, friendly credit calendar and
emergency credit limit and threshold (0705/0010, 0705/0011); the 8F66 alert at the date is the
meter's (meter.py, as for its future-dated tariffs).

2.2 Top Up Device (CS01b: consumer_top_up) checks the UTRN as devices/utrn.py does (GBCS 14),
against the meter's own Supplier's prepayment key, and adds its credit to the credit
remaining (0705/0001, which 4.18 GCS60 reads), answering consumer_top_up_response: accepted
with the value and the new credit remaining; otherwise, nothing credited and the value and
credit remaining -1 (as RTDS's ERROR response), the result ZCL's: invalid (not a UTRN, or
not authentic: RTDS's ERROR case), duplicate, the maximum credit reached (0705/0021) or the
value too large for one top-up (0705/0022). Each refusal is counted by its GBCS event, and
the event passed to `on_refused` (commands.py logs it in the security log).

2.1 Update Prepay Configuration (critical GCS05) sets, each at its own start (the command's
start time, implementation date-time or, for the low credit warning level, the GBZ
from-date-time), the emergency credit limit and threshold (emergency_credit_setup), the
overall debt cap (0705/0006), the low credit warning level (0705/0031) and the maximum
credit and credit per top-up (set_maximum_credit_limit), which 4.13 (GCS21b) reads; its
non-disablement calendar's commands are the Calendar cluster's (commands.py keeps them, as
the tariff's: the meter holds one calendar).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from construct import Container  # type: ignore[import-untyped]

from emulator.clock import ZIGBEE_EPOCH, Clock
from gbcs.keystore import Keystore

from ..utrn import DUPLICATE, EXCEEDS_MAX_BALANCE, EXCEEDS_MAX_CREDIT, UtrnCounters, UtrnRefused
from ..utrn import check as check_utrn

LOGGER = logging.getLogger(__name__)

PREPAYMENT = 0x0705
PAYMENT_CONTROL = (PREPAYMENT, 0x0000)
CREDIT_REMAINING = (PREPAYMENT, 0x0001)
EMERGENCY_CREDIT_LIMIT = (PREPAYMENT, 0x0010)
EMERGENCY_CREDIT_THRESHOLD = (PREPAYMENT, 0x0011)
MAX_CREDIT_LIMIT = (PREPAYMENT, 0x0021)
MAX_CREDIT_PER_TOP_UP = (PREPAYMENT, 0x0022)
CUT_OFF_VALUE = (PREPAYMENT, 0x0040)
OVERALL_DEBT_CAP = (PREPAYMENT, 0x0006)
LOW_CREDIT_WARNING = (PREPAYMENT, 0x0031)
CHANGE_PAYMENT_MODE_RESPONSE, CONSUMER_TOP_UP_RESPONSE = 0x02, 0x03
NOW, NEVER = 0, 0xFFFFFFFF
#: RTDS's GSME's friendly credit (enabled) and its calendar's id
FRIENDLY_CREDIT, FRIENDLY_CREDIT_CALENDAR = 1, 2
#: consumer_top_up_response's result (ZCL): accepted, invalid, duplicate, maximum credit
#: reached, value too large
ACCEPTED, INVALID, DUPLICATE_TOP_UP, MAX_CREDIT_REACHED, TOO_LARGE = 0, 1, 2, 4, 6
RESULT_OF = {DUPLICATE: DUPLICATE_TOP_UP, EXCEEDS_MAX_BALANCE: MAX_CREDIT_REACHED,
             EXCEEDS_MAX_CREDIT: TOO_LARGE}  # fmt: skip
#: message code -> SRV, for meter.py: GCS02, GCS03 (critical), CS01b
SRVS = {0x006C: "1.6", 0x006D: "1.6", 0x0097: "2.2", 0x006F: "2.1"}
CRITICAL = {0x006C, 0x006D, 0x006F}
DATE_STAMPED = {0x006C, 0x006D, 0x0097, 0x006F}  # as RTDS's responses
FUTURE_DATED = {0x006C, 0x006D, 0x006F}  # their 8F66 at the start (meter.py)
Result = str | tuple[int, Any] | tuple[int, Any, bool]
Key = tuple[int, int]
Timer = asyncio.TimerHandle | None
#: the payment mode's response asks for no default response back, as RTDS's
QUIET = True


class GasPrepayment:
    """The prepayment commands over the meter's `attributes`; `attach` gives it what the
    top-up's checks and the timers need (the meter's keystore, EUI, Supplier and clock)."""

    def __init__(self, attributes: dict, now: Callable[[], dt.datetime]) -> None:
        self.attributes, self.now = attributes, now
        self.keystore: Keystore | None = None
        self.eui, self.supplier = b"", b""
        self.clock: Clock | None = None
        self.counters = UtrnCounters()
        self.stats: Counter = Counter()
        #: told each refused UTRN's GBCS event (not a UTRN at all has none)
        self.on_refused: Callable[[int], None] | None = None
        #: what commands have still to write, by command: (when, the writes, its timer)
        self.pending: dict[str, tuple[dt.datetime, list[tuple[Key, int]], Timer]] = {}

    def attach(self, keystore: Keystore, eui: bytes, supplier: bytes, clock: Clock) -> None:
        self.keystore, self.eui, self.supplier, self.clock = keystore, eui, supplier, clock

    def handlers(self) -> dict[tuple[int, str], Callable[[Any], Result]]:
        return {(PREPAYMENT, "change_payment_mode"): self._change_payment_mode,
                (PREPAYMENT, "consumer_top_up"): self._top_up,
                (PREPAYMENT, "emergency_credit_setup"): self._setting(
                    "start_time", (EMERGENCY_CREDIT_LIMIT, "emergency_credit_limit"),
                    (EMERGENCY_CREDIT_THRESHOLD, "emergency_credit_threshold")),
                (PREPAYMENT, "set_overall_debt_cap"): self._setting(
                    "implementation_date_time", (OVERALL_DEBT_CAP, "overall_debt_cap")),
                (PREPAYMENT, "set_low_credit_warning_level"): self._setting(
                    "from_date_time", (LOW_CREDIT_WARNING, "low_credit_warning_level")),
                (PREPAYMENT, "set_maximum_credit_limit"): self._setting(
                    "implementation_date_time", (MAX_CREDIT_LIMIT, "maximum_credit_level"),
                    (MAX_CREDIT_PER_TOP_UP, "maximum_credit_per_top_up")),
                }  # fmt: skip

    # --- when a command's writes take effect ------------------------------------------
    def _at(self, name: str, when: int, writes: list[tuple[Key, int]]) -> None:
        """The command `name`'s writes now (0, or a time passed), at `when` (seconds since
        2000), or, for never, not at all: a pending one of the same command dropped."""
        self.settle()
        pending = self.pending.pop(name, None)
        if pending is not None and pending[2] is not None:
            pending[2].cancel()
        if when == NEVER:
            self.stats[f"{name}:cancelled"] += 1
            return
        due = ZIGBEE_EPOCH + dt.timedelta(seconds=when)
        if when == NOW or due <= self.now():
            self._write(name, writes)
        else:
            self.pending[name] = (due, writes, self._timer(due))

    def _write(self, name: str, writes: list[tuple[Key, int]]) -> None:
        for key, value in writes:
            self.attributes[key] = (self.attributes[key][0], value)
        self.stats[f"{name}:applied"] += 1

    def _setting(self, start: str, *fields: tuple[Key, str]) -> Callable[[Any], Result]:
        """A 2.1 command writing `fields` (attribute, payload field) from its `start`."""

        def handle(payload: Any) -> Result:
            writes = [(key, int(payload[field])) for key, field in fields]
            self._at(str(payload.command), int(payload.get(start, NOW)), writes)
            return "success"

        return handle

    # --- 1.6 --------------------------------------------------------------------------
    def _change_payment_mode(self, payload: Any) -> Result:
        writes = [(PAYMENT_CONTROL, int(payload.proposed_payment_control_configuration)),
                  (CUT_OFF_VALUE, int(payload.cut_off_value))]  # fmt: skip
        self._at("change_payment_mode", int(payload.implementation_date_time), writes)
        return CHANGE_PAYMENT_MODE_RESPONSE, Container(
            command="change_payment_mode_response", friendly_credit=FRIENDLY_CREDIT,
            friendly_credit_calendar_id=FRIENDLY_CREDIT_CALENDAR,
            emergency_credit_limit=int(self.attributes[EMERGENCY_CREDIT_LIMIT][1]),
            emergency_credit_threshold=int(self.attributes[EMERGENCY_CREDIT_THRESHOLD][1]),
        ), QUIET  # fmt: skip

    def _timer(self, due: dt.datetime) -> asyncio.TimerHandle | None:
        if self.clock is None:
            return None
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no clock running (unit tests): settle() applies it
            return None
        return self.clock.call_later((due - self.now()).total_seconds(), self.settle)

    def settle(self) -> None:
        """What is pending and due takes effect."""
        for name, (due, writes, _timer) in list(self.pending.items()):
            if due <= self.now():
                del self.pending[name]
                self._write(name, writes)

    # --- 2.2 --------------------------------------------------------------------------
    def _top_up(self, payload: Any) -> Result:
        self.settle()
        text = bytes(payload.top_up_code).decode("ascii", "replace")
        source = int(payload.originating_device)
        kind, remaining = self.attributes[CREDIT_REMAINING]
        try:
            if self.keystore is None:
                raise UtrnRefused(None, "the meter holds no keys to check a UTRN with")
            credit, counter = check_utrn(text, self.keystore, self.supplier, self.eui,
                                         self.counters)  # fmt: skip
            if credit > int(self.attributes[MAX_CREDIT_PER_TOP_UP][1]):
                raise UtrnRefused(EXCEEDS_MAX_CREDIT, f"UTRN {text}: {credit} in one top-up")
            if int(remaining) + credit > int(self.attributes[MAX_CREDIT_LIMIT][1]):
                raise UtrnRefused(EXCEEDS_MAX_BALANCE, f"UTRN {text}: over the credit limit")
        except UtrnRefused as exc:
            self.stats[exc.counted] += 1
            LOGGER.info("GSME %s: %s", self.eui.hex(), exc)
            if exc.event is not None and self.on_refused is not None:
                self.on_refused(exc.event)
            return self._top_up_response(RESULT_OF.get(exc.event or 0, INVALID), -1, source, -1)
        self.counters.keep(counter)
        self.attributes[CREDIT_REMAINING] = (kind, int(remaining) + credit)
        self.stats["utrn:accepted"] += 1
        return self._top_up_response(ACCEPTED, credit, source, int(remaining) + credit)

    @staticmethod
    def _top_up_response(result: int, value: int, source: int, remaining: int) -> Result:
        """The top-up's answer (a default response asked for, as RTDS's)."""
        return CONSUMER_TOP_UP_RESPONSE, Container(
            command="consumer_top_up_response", result_type=result, top_up_value=value,
            source_of_top_up=source, credit_remaining=remaining)  # fmt: skip
