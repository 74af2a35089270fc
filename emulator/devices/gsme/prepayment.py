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
value too large for one top-up (0705/0022). Each refusal is counted by its GBCS event.
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
SRVS = {0x006C: "1.6", 0x006D: "1.6", 0x0097: "2.2"}
CRITICAL = {0x006C, 0x006D}
DATE_STAMPED = {0x006C, 0x006D, 0x0097}  # as RTDS's responses
FUTURE_DATED = {0x006C, 0x006D}  # their 8F66 at the implementation date-time
Result = str | tuple[int, Any] | tuple[int, Any, bool]
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
        #: a payment mode to take effect: (when, configuration, cut-off value, its timer)
        self.pending: tuple[dt.datetime, int, int, asyncio.TimerHandle | None] | None = None

    def attach(self, keystore: Keystore, eui: bytes, supplier: bytes, clock: Clock) -> None:
        self.keystore, self.eui, self.supplier, self.clock = keystore, eui, supplier, clock

    def handlers(self) -> dict[tuple[int, str], Callable[[Any], Result]]:
        return {(PREPAYMENT, "change_payment_mode"): self._change_payment_mode,
                (PREPAYMENT, "consumer_top_up"): self._top_up}  # fmt: skip

    # --- 1.6 --------------------------------------------------------------------------
    def _change_payment_mode(self, payload: Any) -> Result:
        self.settle()
        when = int(payload.implementation_date_time)
        configuration, cut_off = (int(payload.proposed_payment_control_configuration),
                                  int(payload.cut_off_value))  # fmt: skip
        if self.pending is not None and self.pending[3] is not None:
            self.pending[3].cancel()
        self.pending = None
        if when == NEVER:
            self.stats["payment_mode:cancelled"] += 1
        else:
            due = ZIGBEE_EPOCH + dt.timedelta(seconds=when)
            if when == NOW or due <= self.now():
                self._apply(configuration, cut_off)
            else:
                self.pending = (due, configuration, cut_off, self._timer(due))
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
        """A pending payment mode whose time has come takes effect."""
        if self.pending is not None and self.pending[0] <= self.now():
            _due, configuration, cut_off, _timer = self.pending
            self.pending = None
            self._apply(configuration, cut_off)

    def _apply(self, configuration: int, cut_off: int) -> None:
        self.attributes[PAYMENT_CONTROL] = (self.attributes[PAYMENT_CONTROL][0], configuration)
        self.attributes[CUT_OFF_VALUE] = (self.attributes[CUT_OFF_VALUE][0], cut_off)
        self.stats["payment_mode:changed"] += 1

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
