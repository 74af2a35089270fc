"""What a day is made of and what it reports: requests sent at simulated times (each as a
task, so a read sent while a command waits for the gas meter is not held behind it), the
timeline of what was sent and answered when, and the named checks, each holding or not."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import asdict, dataclass, field

from emulator.backoffice.users import Answer, DuisUser
from emulator.clock import Clock


@dataclass
class Exchange:
    """One request of the day: when it was sent and answered (UTC), its answers' codes."""

    label: str
    srv: str
    sent: dt.datetime
    answered: dt.datetime | None = None
    codes: tuple[str, ...] = ()
    answers: list[Answer] = field(default_factory=list, repr=False)

    @property
    def code(self) -> str:
        return self.codes[-1] if self.codes else ""

    def as_dict(self) -> dict:
        return {"label": self.label, "srv": self.srv, "sent": self.sent.isoformat(),
                "answered": None if self.answered is None else self.answered.isoformat(),
                "codes": list(self.codes)}  # fmt: skip


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str = ""


@dataclass
class DayOutcome:
    """A day's run: its name, its timeline (exchanges in the order sent, and other events),
    its checks; `ok` when every check holds."""

    name: str
    exchanges: list[Exchange]
    events: list[tuple[dt.datetime, str]]
    checks: list[Check]

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok for c in self.checks)

    def timeline(self) -> list[tuple[dt.datetime, str]]:
        rows = list(self.events)
        for e in self.exchanges:
            rows.append((e.sent, f"{e.label}: {e.srv} sent"))
            if e.answered is not None:
                rows.append((e.answered, f"{e.label}: {e.srv} answered {'>'.join(e.codes)}"))
        return sorted(rows, key=lambda r: r[0])

    def text(self) -> str:
        lines = [f"{self.name} day"]
        lines += [f"  {when:%H:%M:%S}  {what}" for when, what in self.timeline()]
        lines += [f"[{'ok' if c.ok else 'FAILED'}] {c.name}" + (f": {c.detail}" if c.detail else "")
                  for c in self.checks]  # fmt: skip
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {"day": self.name, "ok": self.ok,
                "timeline": [{"at": w.isoformat(), "what": t} for w, t in self.timeline()],
                "checks": [asdict(c) for c in self.checks]}  # fmt: skip


class Sender:
    """Sends requests as users at simulated times, each in its own task, recording them."""

    def __init__(self, clock: Clock, timeout_s: float = 7200.0) -> None:
        self.clock, self.timeout_s = clock, timeout_s
        self.exchanges: list[Exchange] = []
        self.tasks: list[asyncio.Task] = []
        self._counter = 0

    async def at(self, when: dt.datetime) -> None:
        """Sleep (simulated) until `when`."""
        wait = (when - self.clock.utc_now()).total_seconds()
        if wait > 0:
            await asyncio.sleep(wait)

    def send(self, user: DuisUser, label: str, srv: str, body: bytes) -> Exchange:
        """Sign and send `body` as `user` now; the exchange fills in when answered."""
        self._counter += 1
        exchange = Exchange(label, srv, self.clock.utc_now())
        counter = int(exchange.sent.timestamp() * 1000) * 100 + self._counter
        signed = user.prepare(body, counter)
        self.exchanges.append(exchange)

        async def go() -> None:
            answers = await user.run(signed, self.timeout_s)
            exchange.answers, exchange.codes = answers, tuple(a.code for a in answers)
            exchange.answered = self.clock.utc_now()

        self.tasks.append(asyncio.ensure_future(go()))
        return exchange

    async def finish(self) -> None:
        """Wait for every answer (a request that failed keeps no codes)."""
        await asyncio.gather(*self.tasks, return_exceptions=True)
