"""The DSP's own schedules (DUIS 5.1 Create, 5.2 Read, 5.3 Delete Schedule): a user asks the
DSP to send one of the DCC-schedulable reads (the schema's DSPScheduledServiceReferenceVariant:
4.6.1 daily read log, 4.8.x profiles, 4.10, 4.14, 4.15 ...) to a device on a frequency; the DSP
keeps the schedule, runs it when due on its own clock and delivers each device response to
the user as a `DSPScheduledMessage` (the GBCS payload and the schedule's id) under the
scheduled SRV.

What a run sends: the scheduled SRV as its owner would send it on demand, the body the
on-demand element of the same name (`DSPRetrieveImportDailyReadLog` ->
`RetrieveImportDailyReadLog`), a `ReadLogPeriodOffset` made a `ReadLogPeriod` from the run's
date (StartDateOffset days and StartTime to EndDateOffset days and EndTime), MAC'd by the ACB
as every command. Its originator counter is the DSP's clock in microseconds (the scale DCC
Boxed's own clients use), so each run counts above the last.

When: from ScheduleStartDate at ScheduleExecutionStartTime (midnight UTC when absent), then
every day, week, month, quarter, half-year or year, until ScheduleEndDate; a start in the past
runs first at the next such time from its creation (missed runs are not made up).

Refusals (5.1): the scheduled SRV is checked as a request of its own would be (the owner's
role eligible, E2; the device known, E19, and in service, E5; a form the DSP can send to it,
E11). 5.2 and 5.3 name a schedule id or a device; only the owner's schedules are seen. A
schedule id or device with none of the owner's schedules: E050201 (5.2) and E050301 (5.3),
codes the 5.4 schema lists for those services whose meaning our sources do not give (gbhan's
choice). Schedules are not yet kept over a restart of `gbhan dsp serve`.
"""

from __future__ import annotations

import base64
import calendar
import copy
import datetime as _dt
from dataclasses import dataclass, field

from lxml import etree

from emulator.errors import EmulatorError

from .duis import SR, Request, RequestId, eui_from_text
from .response_codes import ResponseCode

#: the time between runs: (days, months)
FREQUENCIES: dict[str, tuple[int, int]] = {
    "Daily": (1, 0), "Weekly": (7, 0), "Monthly": (0, 1), "Quarterly": (0, 3),
    "Half-Yearly": (0, 6), "Yearly": (0, 12),
}  # fmt: skip
MAX_SCHEDULE_ID = 1_000_000_000_000  # the schema's scheduleID bound


class ScheduleRefused(EmulatorError, ValueError):
    """A 5.x request the DSP answers with an error code (`code`)."""

    def __init__(self, message: str, code: ResponseCode) -> None:
        super().__init__(message)
        self.code = code


def _sr(name: str) -> str:
    return f"{{{SR}}}{name}"


def _text(node: etree._Element, name: str) -> str | None:
    found = node.findtext(_sr(name))
    return None if found is None else found.strip()


def _add_months(day: _dt.date, months: int) -> _dt.date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def _time(text: str | None) -> _dt.time:
    """An xs:time as DUIS writes it (`00:00:00.00Z`), in UTC."""
    if not text:
        return _dt.time(0, tzinfo=_dt.UTC)
    parsed = _dt.time.fromisoformat(text.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=_dt.UTC)


@dataclass
class Schedule:
    """One schedule: who made it, what it sends to which device, when it runs next."""

    schedule_id: int
    owner: bytes
    details: etree._Element  # the request's sr:CreateSchedule, as DSPScheduleDetails
    frequency: str
    start: _dt.date
    end: _dt.date | None
    at: _dt.time
    srv: str
    variant: str
    device: bytes
    next_run: _dt.datetime
    runs: int = 0

    def step(self, day: _dt.date, n: int) -> _dt.date:
        """The run date `n` periods after `day`."""
        days, months = FREQUENCIES[self.frequency]
        return day + _dt.timedelta(days=days * n) if days else _add_months(day, months * n)

    def first_run_from(self, now: _dt.datetime) -> _dt.datetime:
        n, when = 0, _dt.datetime.combine(self.start, self.at)
        while when < now:
            n += 1
            when = _dt.datetime.combine(self.step(self.start, n), self.at)
        return when

    def advance(self) -> None:
        """After a run: the next time on the frequency (counted from the start, so a month
        end is kept)."""
        self.runs += 1
        after = self.next_run
        n = 1
        while (when := _dt.datetime.combine(self.step(self.start, n), self.at)) <= after:
            n += 1
        self.next_run = when

    @property
    def finished(self) -> bool:
        return self.end is not None and self.next_run.date() > self.end

    def request(self, now: _dt.datetime, counter: int) -> Request:
        """The on-demand request a run sends, as its owner would at `now`."""
        choice = self.details[-1]
        name = etree.QName(choice).localname.removeprefix("DSP")
        root = etree.Element(_sr("Request"), nsmap={"sr": SR})
        root.set("schemaVersion", "5.4")
        header = etree.SubElement(root, _sr("Header"))
        for tag, text in (("RequestID", str(RequestId(self.owner, self.device, counter))),
                          ("CommandVariant", "1"), ("ServiceReference", self.srv),
                          ("ServiceReferenceVariant", self.variant)):  # fmt: skip
            etree.SubElement(header, _sr(tag)).text = text
        body = etree.SubElement(etree.SubElement(root, _sr("Body")), _sr(name))
        if choice.find(_sr("StartDateOffset")) is not None:
            period = etree.SubElement(body, _sr("ReadLogPeriod"))
            for edge in ("Start", "End"):
                day = now.date() + _dt.timedelta(days=int(_text(choice, f"{edge}DateOffset") or 0))
                when = _dt.datetime.combine(day, _time(_text(choice, f"{edge}Time")))
                stamp = when.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.00Z")
                etree.SubElement(period, _sr(f"{edge}DateTime")).text = stamp
            credential = _text(self.details, "KAPublicSecurityCredential")
            if credential:  # the reader's KA certificate, for a read encrypted for another
                etree.SubElement(body, _sr("KAPublicSecurityCredentials")).text = credential
        else:
            for child in choice:
                body.append(copy.deepcopy(child))
        return Request(RequestId(self.owner, self.device, counter), 1, self.srv, self.variant,
                       body, root)  # fmt: skip


@dataclass
class ScheduleBook:
    """The DSP's schedules by id (ids from 1, never reused while the DSP runs)."""

    schedules: dict[int, Schedule] = field(default_factory=dict)
    next_id: int = 1

    def create(self, request: Request, now: _dt.datetime) -> Schedule:
        """5.1: a schedule from the request's sr:CreateSchedule (the caller has checked its
        scheduled SRV can be sent); its first run the next due time from `now`."""
        node = request.body
        frequency = _text(node, "ScheduleFrequency") or ""
        if frequency not in FREQUENCIES:
            raise ScheduleRefused(f"frequency {frequency!r}", ResponseCode.XML_REFUSED)
        end = _text(node, "ScheduleEndDate")
        schedule = Schedule(
            schedule_id=self.next_id,
            owner=request.request_id.originator,
            details=copy.deepcopy(node),
            frequency=frequency,
            start=_dt.date.fromisoformat(_text(node, "ScheduleStartDate") or ""),
            end=None if end is None else _dt.date.fromisoformat(end),
            at=_time(_text(node, "ScheduleExecutionStartTime")),
            srv=_text(node, "DSPScheduledServiceReference") or "",
            variant=_text(node, "DSPScheduledServiceReferenceVariant") or "",
            device=eui_from_text(_text(node, "DeviceID") or ""),
            next_run=now,
        )
        schedule.next_run = schedule.first_run_from(now)
        if schedule.finished:
            raise ScheduleRefused("the schedule ends before its first run",
                                  ResponseCode.XML_REFUSED)  # fmt: skip
        self.schedules[schedule.schedule_id] = schedule
        self.next_id = self.next_id % MAX_SCHEDULE_ID + 1
        return schedule

    def _named(self, request: Request, code: ResponseCode) -> list[Schedule]:
        owner = request.request_id.originator
        wanted = _text(request.body, "DSPScheduleID")
        device = _text(request.body, "DeviceID")
        found = [s for s in self.schedules.values() if s.owner == owner and (
            s.schedule_id == int(wanted) if wanted is not None
            else s.device == eui_from_text(device or ""))]  # fmt: skip
        if not found:
            what = f"schedule {wanted}" if wanted is not None else f"schedules for {device}"
            raise ScheduleRefused(f"no {what} of this user", code)
        return found

    def read(self, request: Request) -> etree._Element:
        """5.2: the user's schedules the request names, as DSPSchedulesRead (at most 99)."""
        answer = etree.Element(_sr("DSPSchedulesRead"))
        for schedule in self._named(request, READ_NOT_FOUND)[:99]:
            entry = etree.SubElement(answer, _sr("DSPSchedules"))
            etree.SubElement(entry, _sr("DSPScheduleID")).text = str(schedule.schedule_id)
            details = copy.deepcopy(schedule.details)
            details.tag = _sr("DSPScheduleDetails")
            entry.append(details)
        return answer

    def delete(self, request: Request) -> list[Schedule]:
        """5.3: the user's schedules the request names, gone."""
        found = self._named(request, DELETE_NOT_FOUND)
        for schedule in found:
            del self.schedules[schedule.schedule_id]
        return found

    def due(self, now: _dt.datetime) -> list[Schedule]:
        """The schedules whose next run is at or before `now`, earliest first."""
        return sorted((s for s in self.schedules.values() if s.next_run <= now),
                      key=lambda s: (s.next_run, s.schedule_id))  # fmt: skip

    def ran(self, schedule: Schedule) -> None:
        """A run is done: the next one is set, or the schedule past its end is dropped."""
        schedule.advance()
        if schedule.finished:
            self.schedules.pop(schedule.schedule_id, None)


#: gbhan's choice among the schema's codes for 5.2 / 5.3 (module docstring)
READ_NOT_FOUND = ResponseCode.SCHEDULE_NOT_FOUND_READ
DELETE_NOT_FOUND = ResponseCode.SCHEDULE_NOT_FOUND_DELETE


def scheduled_message(schedule: Schedule, payload: bytes) -> etree._Element:
    """The ResponseMessage body of a run's device response."""
    node = etree.Element(_sr("DSPScheduledMessage"))
    etree.SubElement(node, _sr("GBCSPayload")).text = base64.b64encode(payload).decode()
    etree.SubElement(node, _sr("DSPScheduleID")).text = str(schedule.schedule_id)
    return node


def schedule_id_body(schedule: Schedule) -> etree._Element:
    """5.1's answer body: the new schedule's id."""
    node = etree.Element(_sr("DSPScheduleID"))
    node.text = str(schedule.schedule_id)
    return node
