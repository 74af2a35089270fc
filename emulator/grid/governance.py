"""The last-resort guard (DCP 371): no switching without consent and a declared emergency.

``GuardedGateway`` wraps the SRV gateway the monitor uses, so the rules hold whatever the
monitor's logic does: a refused SRV never leaves the DNO (it is logged and counted, with the
rule it broke). Curtailment needs a declared emergency *on that feeder*, with its reason
recorded, after market flexibility has failed.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from emulator.errors import EmulatorError
from emulator.grid.consent import Consent, ConsentRegister
from emulator.grid.gateway import (
    SRV_ADD_BOOST,
    SRV_CURTAIL,
    SRV_READ_LABELS,
    SRV_REMOVE_BOOST,
    SRV_RESTORE,
    GatewayAlert,
    SrvGateway,
    SrvOutcome,
    SrvResult,
)

log = logging.getLogger(__name__)


class GovernanceError(EmulatorError):
    """An emergency declared against the rules (e.g. while market flexibility is available)."""


@dataclass
class Emergency:
    feeder: str
    reason: str
    declared_at: float
    ended_at: float | None = None
    end_reason: str = ""

    @property
    def active(self) -> bool:
        return self.ended_at is None


@dataclass(frozen=True)
class GuardRefusal:
    """An SRV the last-resort guard kept from leaving the DNO, and the rule it broke."""

    srv: str
    premises: str
    at: float
    rule: str


@dataclass
class LastResortGuard:
    """Holds the emergency declarations and decides whether an SRV may be sent."""

    feeder: str
    consent: ConsentRegister
    market_flexibility_failed: bool
    emergencies: list[Emergency] = field(default_factory=list)
    refusals: list[GuardRefusal] = field(default_factory=list)

    def declare(self, feeder: str, reason: str, at: float) -> Emergency:
        if feeder != self.feeder:
            raise GovernanceError(f"this guard covers feeder {self.feeder}, not {feeder}")
        if not self.market_flexibility_failed:
            raise GovernanceError("market flexibility has not failed: curtailment is a last resort")
        if not reason.strip():
            raise GovernanceError("an emergency needs a recorded reason")
        current = self.active
        if current is not None:
            return current
        emergency = Emergency(feeder, reason, at)
        self.emergencies.append(emergency)
        log.info("emergency declared on %s at t=%.0fs: %s", feeder, at, reason)
        return emergency

    def end(self, at: float, reason: str) -> None:
        current = self.active
        if current is not None:
            current.ended_at = at
            current.end_reason = reason

    @property
    def active(self) -> Emergency | None:
        return next((e for e in self.emergencies if e.active), None)

    def check(self, srv: str, premises: str, at: float) -> str | None:
        """The rule an SRV to ``premises`` would break now, or None when it may go."""
        status = self.consent.status(premises)
        if status in (Consent.DECLINED, Consent.NOT_ASKED):
            return f"consent {status.value}"
        if status is Consent.WITHDRAWN and srv not in (SRV_RESTORE, SRV_ADD_BOOST):
            return "consent withdrawn"  # undoing what the DNO did stays allowed
        if srv in (SRV_CURTAIL, SRV_REMOVE_BOOST) and self.active is None:
            return "no declared emergency on this feeder"
        return None


class GuardedGateway:
    """An ``SrvGateway`` that lets through only what the guard allows."""

    def __init__(self, inner: SrvGateway, guard: LastResortGuard, now: Callable[[], float]):
        self.inner = inner
        self.guard = guard
        self._now = now

    def _refuse(self, srv: str, premises: str, slot: int | None) -> SrvOutcome | None:
        rule = self.guard.check(srv, premises, self._now())
        if rule is None:
            return None
        self.guard.refusals.append(GuardRefusal(srv, premises, self._now(), rule))
        log.info("refused SRV %s to %s: %s", srv, premises, rule)
        return SrvOutcome(srv, premises, slot, SrvResult.REFUSED, self._now(), None, rule)

    async def read_labels(self, premises: str) -> SrvOutcome:
        return self._refuse(SRV_READ_LABELS, premises, None) or await self.inner.read_labels(
            premises
        )

    async def curtail(
        self, premises: str, slot: int, duration_s: int, level: int | None = None
    ) -> SrvOutcome:
        refused = self._refuse(SRV_CURTAIL, premises, slot)
        return refused or await self.inner.curtail(premises, slot, duration_s, level)

    async def restore(self, premises: str, slot: int) -> SrvOutcome:
        return self._refuse(SRV_RESTORE, premises, slot) or await self.inner.restore(premises, slot)

    async def remove_boost(self, premises: str, slot: int) -> SrvOutcome:
        refused = self._refuse(SRV_REMOVE_BOOST, premises, slot)
        return refused or await self.inner.remove_boost(premises, slot)

    async def add_boost(self, premises: str, slot: int) -> SrvOutcome:
        refused = self._refuse(SRV_ADD_BOOST, premises, slot)
        return refused or await self.inner.add_boost(premises, slot)

    def on_alert(self, callback: Callable[[GatewayAlert], None]) -> None:
        self.inner.on_alert(callback)


class RecordingGateway:
    """Records every SRV that actually leaves the DNO (inside the guard) and its outcome."""

    def __init__(self, inner: SrvGateway) -> None:
        self.inner = inner
        self.outcomes: list[SrvOutcome] = []

    async def _record(self, coro: Awaitable[SrvOutcome]) -> SrvOutcome:
        outcome = await coro
        self.outcomes.append(outcome)
        return outcome

    async def read_labels(self, premises: str) -> SrvOutcome:
        return await self._record(self.inner.read_labels(premises))

    async def curtail(
        self, premises: str, slot: int, duration_s: int, level: int | None = None
    ) -> SrvOutcome:
        return await self._record(self.inner.curtail(premises, slot, duration_s, level))

    async def restore(self, premises: str, slot: int) -> SrvOutcome:
        return await self._record(self.inner.restore(premises, slot))

    async def remove_boost(self, premises: str, slot: int) -> SrvOutcome:
        return await self._record(self.inner.remove_boost(premises, slot))

    async def add_boost(self, premises: str, slot: int) -> SrvOutcome:
        return await self._record(self.inner.add_boost(premises, slot))

    def on_alert(self, callback: Callable[[GatewayAlert], None]) -> None:
        self.inner.on_alert(callback)
