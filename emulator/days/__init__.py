"""Days: a script of DUIS requests sent at simulated times through the in-process DSP to the
emulated premises, run in seconds on the emulator's simulated clock, with named checks and a
timeline (docs/backoffice.md, "Days")."""

from __future__ import annotations

from emulator.clock import Clock

from .day import Check, DayOutcome, Exchange
from .gas import run_gas_day
from .prepayment import run_prepayment_day
from .rig import DAY_START

DAYS = {"gas": run_gas_day, "prepayment": run_prepayment_day}


def run(name: str) -> DayOutcome:
    """Run the named day on a fresh simulated clock starting at DAY_START."""
    if name not in DAYS:
        raise ValueError(f"no such day {name!r} (have: {', '.join(DAYS)})")
    clock = Clock("simulated", start_utc=DAY_START)
    return clock.run(lambda: DAYS[name](clock))


__all__ = [
    "DAYS",
    "DAY_START",
    "Check",
    "DayOutcome",
    "Exchange",
    "run",
    "run_gas_day",
    "run_prepayment_day",
]
