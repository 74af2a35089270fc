"""Firmware boards in a feeder run: which EV switches run the real firmware, and a check that
each one did what the DNO asked, read back from the firmware's own console.

A board only proves something if the DNO commands it, so ``choose`` takes the switches the
DNO will curtail first: its own candidate order (opted in, biggest declared charger first,
then premises id), then any other EV switch. ``BoardWatch`` sits in front of the DNO client:
after every 7.6/7.8 it answers at a board premises it reads the relay over the console and
compares it with the request (7.6: open, or the PLCS level asked; 7.8: closed, no longer held
by the DNO). The firmware's own duration expiries are counted from its event log.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from emulator.devices.switch_board import BoardSwitch
from emulator.grid.consent import Consent, ConsentRegister
from emulator.grid.gateway import (
    SRV_CURTAIL,
    SRV_RESTORE,
    GatewayAlert,
    SrvGateway,
    SrvOutcome,
)
from emulator.grid.population import Population, PremisesPlan, SwitchPlan

__all__ = ["BoardCheck", "BoardWatch", "choose"]

log = logging.getLogger(__name__)


def choose(population: Population, consent: ConsentRegister, count: int) -> list[tuple[str, int]]:
    """(premises, EV slot) for ``count`` boards, the DNO's first curtailment candidates first."""
    plans = [(p, p.ev_switch) for p in population.premises if p.ev_switch is not None]

    def rank(entry: tuple[PremisesPlan, SwitchPlan]) -> tuple[bool, float, str]:
        plan = entry[0]
        opted = consent.status(plan.premises_id) is Consent.OPTED_IN
        declared = consent.declared_kw(plan.premises_id) or plan.charger_kw
        return (not opted, -declared, plan.premises_id)

    return [(p.premises_id, ev.slot) for p, ev in sorted(plans, key=rank)[:count]]


@dataclass
class BoardCheck:
    """One SRV at a board premises and what its firmware showed afterwards."""

    srv: str
    premises: str
    slot: int
    at: float
    ok: bool  # the SRV's outcome
    asked: str  # what the DNO asked, e.g. "relay=open"
    shown: str  # the console's `state` line, reduced
    matches: bool | None  # None when the SRV failed (nothing to compare)


class BoardWatch:
    """``SrvGateway`` in front of the DNO client; checks the boards after each 7.6/7.8."""

    def __init__(
        self,
        inner: SrvGateway,
        units: dict[tuple[str, int], BoardSwitch],
        curtail_levels: Callable[[str, int], int],
    ) -> None:
        self.inner = inner
        self.units = units  # (premises, slot) -> the board
        self.curtail_levels = curtail_levels  # a PLCS slot's configured 7.6 level
        self.checks: list[BoardCheck] = []

    def on_alert(self, callback: Callable[[GatewayAlert], None]) -> None:
        self.inner.on_alert(callback)

    async def read_labels(self, premises: str) -> SrvOutcome:
        return await self.inner.read_labels(premises)

    async def curtail(
        self, premises: str, slot: int, duration_s: int, level: int | None = None
    ) -> SrvOutcome:
        outcome = await self.inner.curtail(premises, slot, duration_s, level)
        self._check(outcome, level)
        return outcome

    async def restore(self, premises: str, slot: int) -> SrvOutcome:
        outcome = await self.inner.restore(premises, slot)
        self._check(outcome, None)
        return outcome

    async def remove_boost(self, premises: str, slot: int) -> SrvOutcome:
        return await self.inner.remove_boost(premises, slot)

    async def add_boost(self, premises: str, slot: int) -> SrvOutcome:
        return await self.inner.add_boost(premises, slot)

    def _check(self, outcome: SrvOutcome, level: int | None) -> None:
        unit = self.units.get((outcome.premises, outcome.slot or 0))
        if unit is None or outcome.srv not in (SRV_CURTAIL, SRV_RESTORE):
            return
        relay, shown_level, source = unit.output()
        shown = f"relay={'closed' if relay else 'open'} level={shown_level} source={source}"
        if outcome.srv == SRV_CURTAIL:
            if unit.role == "plcs":
                want = (
                    level
                    if level is not None
                    else self.curtail_levels(outcome.premises, outcome.slot or 0)
                )
                asked = f"level={want}"
                matches = abs(shown_level - want) <= 1 and relay == (want > 0)
            else:
                asked = "relay=open"
                matches = not relay
        else:
            asked = "relay=closed, released"
            matches = relay and source != "remote"
        check = BoardCheck(outcome.srv, outcome.premises, outcome.slot or 0, outcome.sent_at,
                           outcome.ok, asked, shown, matches if outcome.ok else None)  # fmt: skip
        self.checks.append(check)
        if check.matches is False:
            log.warning("board at %s slot %d: DNO asked %s (SRV %s), firmware shows %s",
                        check.premises, check.slot, asked, check.srv, shown)  # fmt: skip

    def stats(self) -> dict[str, Any]:
        """Summary figures: SRVs at the boards, console read-backs that matched, and the
        firmware's own duration expiries (``drlc completed`` transitions in its event log)."""
        expiries = 0
        for unit in self.units.values():
            try:
                lines = unit.board.log(200)
            except (TimeoutError, OSError) as exc:
                log.warning("board log not read: %s", exc)
                continue
            expiries += sum(
                1 for line in lines if "transition" in line and "drlc completed" in line
            )
        compared = [c for c in self.checks if c.matches is not None]
        return {
            "boards": [f"{premises} slot {slot}" for premises, slot in self.units],
            "board_srvs": len(self.checks),
            "board_srvs_failed": sum(1 for c in self.checks if not c.ok),
            "board_relay_checks": len(compared),
            "board_relay_mismatches": sum(1 for c in compared if not c.matches),
            "board_timed_expiries": expiries,
            "board_console_failures": sum(
                unit.stats["console_failures"] for unit in self.units.values()
            ),
            "board_answer_holds_expired": sum(
                unit.radio.stats["answer_hold_expired"] for unit in self.units.values()
            ),
        }
