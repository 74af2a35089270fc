"""The intervention log (DCP 371: every use is reported to Suppliers, Ofgem and customers).

One ``Intervention`` per declared emergency: feeder, reason, start and end, the switches and
levels used, energy curtailed, customers affected, and every SRV with its response time.
Written as JSON (``interventions.json``) and CSV (one row per SRV, ``interventions.csv``).
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field

from emulator.grid.gateway import SRV_CURTAIL, SrvOutcome

CSV_COLUMNS = (
    "event",
    "feeder",
    "event_start_s",
    "event_end_s",
    "srv",
    "premises",
    "slot",
    "level",
    "status",
    "sent_at_s",
    "response_s",
    "purpose",
)


@dataclass
class SrvRecord:
    srv: str
    premises: str
    slot: int | None
    level: int | None
    status: str
    ok: bool
    sent_at: float
    response_s: float | None
    purpose: str  # "discover", "curtail", "deepen", "renew", "escalate", "restore", ...

    @classmethod
    def from_outcome(cls, outcome: SrvOutcome, purpose: str) -> SrvRecord:
        return cls(
            srv=outcome.srv,
            premises=outcome.premises,
            slot=outcome.slot,
            level=outcome.level,
            status=outcome.status,  # as text: the files keep the same words
            ok=outcome.ok,
            sent_at=outcome.sent_at,
            response_s=outcome.response_s,
            purpose=purpose,
        )


@dataclass
class Intervention:
    event: int
    feeder: str
    reason: str
    start: float
    end: float | None = None
    end_reason: str = ""
    srvs: list[SrvRecord] = field(default_factory=list)
    energy_curtailed_kwh: float = 0.0
    alerts: list[dict] = field(default_factory=list)

    @property
    def switches_used(self) -> list[str]:
        return sorted(
            {f"{r.premises}/{r.slot}" for r in self.srvs if r.srv == SRV_CURTAIL and r.ok}
        )

    @property
    def levels_used(self) -> list[int]:
        return sorted(
            {
                r.level if r.level is not None else 0
                for r in self.srvs
                if r.srv == SRV_CURTAIL and r.ok
            }
        )

    @property
    def customers_affected(self) -> int:
        return len({r.premises for r in self.srvs if r.srv == SRV_CURTAIL and r.ok})

    def to_dict(self) -> dict:
        data = asdict(self)
        data["switches_used"] = self.switches_used
        data["levels_used"] = self.levels_used
        data["customers_affected"] = self.customers_affected
        data["energy_curtailed_kwh"] = round(self.energy_curtailed_kwh, 3)
        return data


class InterventionLog:
    """All interventions of a run, plus SRVs sent outside any event (label discovery)."""

    def __init__(self, feeder: str) -> None:
        self.feeder = feeder
        self.events: list[Intervention] = []
        self.outside_events: list[SrvRecord] = []

    def open(self, reason: str, at: float) -> Intervention:
        event = Intervention(len(self.events) + 1, self.feeder, reason, at)
        self.events.append(event)
        return event

    @property
    def current(self) -> Intervention | None:
        return self.events[-1] if self.events and self.events[-1].end is None else None

    def record(self, outcome: SrvOutcome, purpose: str) -> SrvRecord:
        record = SrvRecord.from_outcome(outcome, purpose)
        (self.current.srvs if self.current else self.outside_events).append(record)
        return record

    def all_srvs(self) -> list[SrvRecord]:
        return self.outside_events + [r for e in self.events for r in e.srvs]

    def to_json(self) -> str:
        return json.dumps(
            {
                "feeder": self.feeder,
                "events": [e.to_dict() for e in self.events],
                "outside_events": [asdict(r) for r in self.outside_events],
            },
            indent=2,
        )

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        rows = [(None, r) for r in self.outside_events] + [
            (e, r) for e in self.events for r in e.srvs
        ]
        for event, r in rows:
            writer.writerow(
                [
                    event.event if event else "",
                    self.feeder,
                    f"{event.start:.0f}" if event else "",
                    f"{event.end:.0f}" if event and event.end is not None else "",
                    r.srv,
                    r.premises,
                    "" if r.slot is None else r.slot,
                    "" if r.level is None else r.level,
                    r.status,
                    f"{r.sent_at:.1f}",
                    "" if r.response_s is None else f"{r.response_s:.3f}",
                    r.purpose,
                ]
            )
        return out.getvalue()
