"""End-to-end response times of service requests, kept against the 30 s target (SECMP0046).

A request's time runs from its first arrival at the DSP (the variant 4 transform request for a
critical SRV, so the user's signing time counts too) to the moment the device's response is
handed to the user's endpoint. Times are the emulator clock's: simulated seconds in
simulated runs, real seconds otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

TARGET_S = 30.0


class Ending(StrEnum):
    """How a request ended on the DSP's side, where no device outcome says it."""

    PENDING = "pending"
    ANSWERED = "answered"  # a non-device (serviceD) request, answered at once
    NO_MAC_KEY = "no MAC key"
    NO_ROUTE = "no route"
    LOST = "lost on the WAN"
    RESTARTED = "outcome unknown: the DSP restarted while the command was out"


@dataclass
class Timing:
    request_id: str
    srv: str
    started: float
    sent: float | None = None
    delivered: float | None = None
    outcome: str = Ending.PENDING  # an Ending, or the premises' outcome (routing.py)

    @property
    def seconds(self) -> float | None:
        return None if self.delivered is None else self.delivered - self.started


@dataclass
class ResponseTimes:
    """One Timing per request id; `report()` gives the figures per SRV."""

    target_s: float = TARGET_S
    records: dict[str, Timing] = field(default_factory=dict)

    def start(self, request_id: str, srv: str, now: float) -> Timing:
        record = self.records.get(request_id)
        if record is None:
            record = self.records[request_id] = Timing(request_id, srv, now)
        return record

    def sent(self, request_id: str, now: float) -> None:
        if request_id in self.records:
            self.records[request_id].sent = now

    def delivered(self, request_id: str, now: float, outcome: str) -> None:
        if request_id in self.records:
            record = self.records[request_id]
            record.delivered, record.outcome = now, outcome

    def completed(self) -> list[Timing]:
        return [r for r in self.records.values() if r.seconds is not None]

    def late(self) -> list[Timing]:
        return [r for r in self.records.values() if (r.seconds or 0.0) > self.target_s]

    def report(self) -> dict[str, dict]:
        """Per SRV: count, max and p99 seconds, and how many missed the target."""
        by_srv: dict[str, list[float]] = {}
        for record in self.records.values():
            if record.seconds is not None:
                by_srv.setdefault(record.srv, []).append(record.seconds)
        out = {}
        for srv, times in sorted(by_srv.items()):
            times.sort()
            p99 = times[min(len(times) - 1, int(0.99 * len(times)))]
            late = sum(t > self.target_s for t in times)
            out[srv] = {"count": len(times), "max_s": times[-1], "p99_s": p99, "late": late}
        return out
