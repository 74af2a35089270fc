"""Auxiliary controller periods (ECS47a 7.13, ECS47e 7.16): a start and end date-time per
controller, then a script whose selector names direction, controller and level.

At the start the meter switches the controller's output for the period (the switch's own
DRLC event runs it out) or holds the commanded input level until the end; ECS61e reads that
input level back in the controller's state (`state`, which objects.py shows as JSON).

A limit (ECS47e, the Load Controller's 7.16) is told to the meter's Supplier, as RTDS's
alerts are: ECS101 (8F86, limit APC level command processed: direction and controller, the
limit's start and end, the resulting level) once the command is carried out, and ECS102
(8F87, limit ended or cancelled: direction and controller, the resulting level) when the
period ends, when a new limit for that controller replaces it, or at once for a period
already over. Ours, where our sources give no rule: the resulting level while limited is the
limit's level, after it the controller's unlimited 100 (an output) or its input state as the
meter then holds it (an input: 0 once the period is over).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable
from typing import Any

from emulator.clock import Clock
from emulator.han.link import InProcessNode
from gbcs import obis

from ..switch_zcl import SwitchError
from .instructions import (
    IC_DATA,
    IC_SCRIPT,
    NULL,
    InstructionFailed,
    InstructionOutcome,
    InstructionResult,
    datetime_octets,
    item,
    read_datetime,
)
from .slots import AuxiliarySlots

LOGGER = logging.getLogger(__name__)

ECS47A, ECS47E = 0x011E, 0x011F
#: the period objects' attribute-2 values: OBIS -> (controller n, 0 start | 1 end)
_CONTROLLER_TIMES = {obis.controller_period(n, end): (n, int(end))
                     for n in obis.SWITCHES for end in (False, True)}  # fmt: skip
_APC_TIMES = {obis.apc_limit_period(n, end): (n, int(end))
              for n in obis.SWITCHES for end in (False, True)}  # fmt: skip
#: message code -> the script table it executes and its period objects
PERIOD_USE_CASES = {
    ECS47A: (obis.AUXILIARY_CONTROLLER_SCRIPTS, _CONTROLLER_TIMES),
    ECS47E: (obis.APC_LIMIT_SCRIPTS, _APC_TIMES),
}
#: the tables' limit on a controller period (primer 9.3)
MAX_PERIOD = dt.timedelta(hours=24)
OUTPUT, INPUT = 1, 2  # selector direction nibble
#: the limit's alerts: (message code, alert code) of ECS101 processed, ECS102 ended
LIMIT_PROCESSED, LIMIT_ENDED = (0x0121, 0x8F86), (0x0122, 0x8F87)
UNLIMITED = 100
#: told of a limit's alerts: (message code, alert code, the alert's fields after its time)
LimitAlert = Callable[[int, int, list[Any]], None]


class ControllerPeriods:
    """The scheduled periods (`timers`, by (controller, direction)) and what the meter holds
    per controller beside its switch's output (`state`: {"inputState": %, ...}, ECS61e)."""

    def __init__(
        self,
        eui: bytes,
        profile: dict,
        clock: Clock,
        now: Callable[[], dt.datetime],
        faulty: Callable[[bytes], bool],
        slots: AuxiliarySlots,
        node: InProcessNode,
        stats: Counter,
        limit_alert: LimitAlert | None = None,
    ) -> None:
        self.eui, self.clock, self.now, self.faulty = eui, clock, now, faulty
        self.slots, self.node, self.stats = slots, node, stats
        self.limit_alert = limit_alert
        #: (controller, direction) -> the limit (ECS47e) now scheduled or running there
        self.limits: set[tuple[int, int]] = set()
        self.state: dict[int, dict] = {
            int(n): dict(v) for n, v in profile.get("controller_state", {}).items()
        }
        self.timers: dict[tuple[int, int], asyncio.TimerHandle] = {}

    def cancel(self) -> None:
        """Drop every scheduled period (a meter replaced)."""
        for timer in self.timers.values():
            timer.cancel()
        self.timers.clear()

    def run(self, code: int, specs: list[Any]) -> tuple[list[InstructionOutcome], int | None]:
        """Store the period, then schedule it; the first failure makes every later
        instruction other_reason (the tables' rule for a bad period). Also returns the
        controller the script's selector names, once execution gets that far."""
        script, period_objects = PERIOD_USE_CASES[code]
        times: dict[tuple[int, int], dt.datetime] = {}
        outcomes: list[InstructionOutcome] = []
        failed, named = False, None
        for spec, value in specs:
            kind = str(spec.kind)
            if failed:
                outcomes.append((kind, InstructionResult.OTHER_REASON, NULL))
                continue
            try:
                selector = self._instruction(spec, value, script, period_objects, times)
                if selector is not None:
                    named = (selector >> 8) & 0x0F
                    self._schedule(selector, times, limit=code == ECS47E)
                outcomes.append((kind, InstructionResult.SUCCESS, NULL))
            except InstructionFailed as exc:
                outcomes.append((kind, exc.result, NULL))
                failed = True
        return outcomes, named

    def _instruction(
        self, spec: Any, value: Any, script: bytes,
        period_objects: dict[bytes, tuple[int, int]], times: dict[tuple[int, int], dt.datetime],
    ) -> int | None:  # fmt: skip
        """Store a start or end time, or give the selector the script action carries."""
        kind, ic, code = str(spec.kind), int(spec.class_id), bytes(spec.instance_id)
        if self.faulty(code):
            raise InstructionFailed(InstructionResult.HARDWARE_FAULT)
        if kind == "set" and ic == IC_DATA and code in period_objects:
            when = read_datetime(bytes(value.value)) if value.type == "octet-string" else None
            if when is None:
                raise InstructionFailed(InstructionResult.OTHER_REASON)
            times[period_objects[code]] = when
            return None
        if kind == "action" and ic == IC_SCRIPT and code == script:
            return int(value.value)
        raise InstructionFailed(InstructionResult.OBJECT_UNDEFINED)

    def _schedule(
        self, selector: int, times: dict[tuple[int, int], dt.datetime], limit: bool = False
    ) -> None:
        direction, number, level = selector >> 12, (selector >> 8) & 0x0F, selector & 0xFF
        start, end = times.get((number, 0)), times.get((number, 1))
        if direction not in (OUTPUT, INPUT) or not 1 <= number <= 5 or level > 100:
            raise InstructionFailed(InstructionResult.OTHER_REASON)
        if start is None or end is None or not start < end <= start + MAX_PERIOD:
            raise InstructionFailed(InstructionResult.OTHER_REASON)
        if direction == OUTPUT and self.slots.joined(number) is None:
            raise InstructionFailed(InstructionResult.OBJECT_UNAVAILABLE)
        previous = self.timers.pop((number, direction), None)
        if previous is not None:  # a new period for the controller replaces the old
            previous.cancel()
        if (number, direction) in self.limits:  # a limit replaced is a limit cancelled
            self._limit_ended(number, direction)
        if limit:
            self.limits.add((number, direction))
            self._alert(LIMIT_PROCESSED, number, direction,
                        [item("octet-string", datetime_octets(start)),
                         item("octet-string", datetime_octets(end)),
                         item("unsigned", level)])  # fmt: skip
        now = self.now()
        if end <= now:  # the tables refuse no period for its time: one already over runs not
            self.stats["periods-already-over"] += 1
            LOGGER.info("ESME %s controller %d: period %s..%s already over, nothing to run",
                        self.eui.hex(), number, start.isoformat(), end.isoformat())  # fmt: skip
            if limit:
                self._limit_ended(number, direction)
            return
        delay = max(0.0, (start - now).total_seconds())
        self.timers[(number, direction)] = self.clock.call_later(
            delay, self._start, number, direction, level, end
        )
        self.stats["periods-scheduled"] += 1

    def _start(self, number: int, direction: int, level: int, end: dt.datetime) -> None:
        remaining = (end - self.now()).total_seconds()
        if direction == INPUT:
            self.state.setdefault(number, {})["inputState"] = level
            self.timers[(number, direction)] = self.clock.call_later(
                remaining, self._end_input, number
            )
            return
        self.timers.pop((number, direction), None)
        if (number, direction) in self.limits:  # the switch runs its event out; the meter
            self.timers[(number, direction)] = self.clock.call_later(  # marks the end
                remaining, self._limit_ended, number, direction
            )
        minutes = max(1, -int(-remaining // 60))
        self.node.spawn(self._switch(number, level, minutes))

    def _end_input(self, number: int) -> None:
        self.timers.pop((number, INPUT), None)
        self.state.setdefault(number, {})["inputState"] = 0
        if (number, INPUT) in self.limits:
            self._limit_ended(number, INPUT)

    def _limit_ended(self, number: int, direction: int) -> None:
        """ECS102 for the controller's limit, now over (ended, replaced or never run)."""
        self.limits.discard((number, direction))
        self.timers.pop((number, direction), None)
        after = UNLIMITED if direction == OUTPUT else int(
            self.state.get(number, {}).get("inputState", 0))  # fmt: skip
        self._alert(LIMIT_ENDED, number, direction, [item("unsigned", after)])

    def _alert(self, which: tuple[int, int], number: int, direction: int,
               fields: list[Any]) -> None:  # fmt: skip
        message_code, code = which
        self.stats[f"limit:{code:04X}"] += 1
        if self.limit_alert is not None:
            self.limit_alert(message_code, code,
                             [item("unsigned", direction << 4 | number), *fields])  # fmt: skip

    async def _switch(self, number: int, level: int, minutes: int) -> None:
        try:
            await self.slots.command_slot(number, "7.5" if level >= 100 else "7.6", minutes, level)
            self.stats["periods-started"] += 1
        except SwitchError as exc:
            self.stats["period-failures"] += 1
            LOGGER.info("ESME %s controller %d period: %s", self.eui.hex(), number, exc)
