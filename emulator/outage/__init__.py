"""Fleet model of outage alerts: N Comms Hubs hit by one outage, the WAN of the North or
Central/South region, and when each home's Power Outage and Power Restoration Alerts reach
the DNO. Calibrated against the DCC's own figures for 30,000 homes (seed 003); see
docs/outage.md.

    from emulator.outage import model, simulate, percentiles
    outcome = simulate(model("north", "option-b"), homes=30000)
    percentiles(outcome.poa_s)   # {'p50': ..., 'p80': ..., 'p95': ..., 'p99': ...}
"""

from .fleet import DEFAULT_OUTAGE_S, DEFAULT_SEED, Outcome, simulate
from .metrics import delivered, percentiles, verdicts
from .params import REGIONS, Model, OutageParamError, RadioKind, Sender, model, strategies
from .rules import OUTAGE_REPORTABLE_S

__all__ = [
    "DEFAULT_OUTAGE_S",
    "DEFAULT_SEED",
    "OUTAGE_REPORTABLE_S",
    "REGIONS",
    "Model",
    "Outcome",
    "OutageParamError",
    "RadioKind",
    "Sender",
    "delivered",
    "model",
    "percentiles",
    "simulate",
    "strategies",
    "verdicts",
]
