"""Who lives on the feeder: households, their EV chargers and the switches in front of them.

A population is drawn once from a seed, so the same scenario gives the same feeder. Premises
are plain records (``PremisesPlan``) that the physics vectorises and that the HAN side turns
into Comms Hub + ESME + switch devices.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from emulator.errors import EmulatorError

EV_LABEL = "Electric Vehicle Charger"
#: Other loads a premises may have behind an ALCS/HCALCS; the DNO must leave them alone.
OTHER_LABELS = ("Heat Pump", "Storage Heater", "Immersion Heater", "Battery Storage")

MIN_PREMISES = 2
MAX_PREMISES = 250


class PopulationError(EmulatorError, ValueError):
    """A feeder that cannot exist (premises out of range, shares outside 0..1)."""


@dataclass(frozen=True)
class HouseholdParams:
    """Household demand: a base, an evening peak (Gaussian in time), per-home scale and noise."""

    base_kw: float = 0.45
    evening_peak_kw: float = 1.4
    peak_hour: float = 18.0  # UTC hour of day
    peak_width_h: float = 1.6
    scale_sd: float = 0.3  # lognormal sigma of the per-home multiplier
    noise: float = 0.15  # relative AR(1) noise


@dataclass(frozen=True)
class EvParams:
    """EV chargers: who has one, how big, when the car arrives and how much it needs."""

    share: float = 0.55
    charger_kw: tuple[float, ...] = (7.4, 11.0, 22.0)
    charger_weights: tuple[float, ...] = (0.8, 0.15, 0.05)
    arrival_hour: float = 17.6
    arrival_sd_h: float = 0.6
    energy_kwh: tuple[float, float] = (10.0, 35.0)
    plcs_share: float = 0.0  # of switched chargers, the share behind a PLCS (else HCALCS)
    switched_share: float = 1.0  # of chargers, the share behind an HCALCS or PLCS
    other_switch_share: float = 0.15  # premises with a non-EV switch too (a heat pump ...)
    #: what a PLCS's meter asks of it on a 7.6 (%), set by the Supplier at commissioning;
    #: each PLCS premises gets one of these, drawn from the seed
    plcs_curtail_levels: tuple[int, ...] = (0,)


@dataclass(frozen=True)
class SwitchPlan:
    slot: int  # ESME auxiliary load control slot, 1..5
    kind: str  # "hcalcs" | "plcs"
    label: str
    boost_associated: bool = True
    curtail_level: int = 0  # PLCS: the level its meter's 7.6 sets (commissioning), %


@dataclass(frozen=True)
class PremisesPlan:
    """One household on the feeder, as generated."""

    index: int
    premises_id: str
    charger_kw: float  # 0 when there is no EV charger
    switches: tuple[SwitchPlan, ...] = field(default_factory=tuple)

    @property
    def ev_switch(self) -> SwitchPlan | None:
        return next((s for s in self.switches if s.label == EV_LABEL), None)


@dataclass
class Population:
    premises: list[PremisesPlan]
    base_scale: np.ndarray  # per-home multiplier of the household profile
    arrival_h: np.ndarray  # EV arrival hour (nan without EV)
    energy_kwh: np.ndarray  # energy the EV wants tonight (0 without EV)

    @property
    def charger_kw(self) -> np.ndarray:
        return np.array([p.charger_kw for p in self.premises], dtype=float)

    def by_id(self, premises_id: str) -> PremisesPlan:
        for plan in self.premises:
            if plan.premises_id == premises_id:
                return plan
        raise KeyError(premises_id)


def premises_id(feeder_id: str, index: int) -> str:
    return f"{feeder_id}-P{index + 1:03d}"


def generate(
    n: int, feeder_id: str, households: HouseholdParams, ev: EvParams, seed: int
) -> Population:
    """Draw a feeder of ``n`` premises (2..250) from ``seed``."""
    if not MIN_PREMISES <= n <= MAX_PREMISES:
        raise PopulationError(f"premises must be {MIN_PREMISES}..{MAX_PREMISES}, not {n}")
    for name in ("share", "plcs_share", "switched_share", "other_switch_share"):
        value = getattr(ev, name)
        if not 0.0 <= value <= 1.0:
            raise PopulationError(f"ev.{name} must be within 0..1, not {value}")
    if not ev.plcs_curtail_levels or not all(0 <= v <= 100 for v in ev.plcs_curtail_levels):
        raise PopulationError("ev.plcs_curtail_levels must be percentages 0..100")
    if len(ev.charger_kw) != len(ev.charger_weights) or not ev.charger_kw:
        raise PopulationError("ev.charger_kw and ev.charger_weights must have the same length")
    rng = np.random.default_rng(seed)
    scale = rng.lognormal(0.0, households.scale_sd, n)
    has_ev = rng.random(n) < ev.share
    weights = np.asarray(ev.charger_weights, dtype=float)
    kw = rng.choice(np.asarray(ev.charger_kw), size=n, p=weights / weights.sum())
    arrival = rng.normal(ev.arrival_hour, ev.arrival_sd_h, n)
    energy = rng.uniform(ev.energy_kwh[0], ev.energy_kwh[1], n)
    switched = rng.random(n) < ev.switched_share
    plcs = rng.random(n) < ev.plcs_share
    other = rng.random(n) < ev.other_switch_share
    ev_slot = rng.integers(1, 6, n)
    other_label = rng.integers(0, len(OTHER_LABELS), n)
    plcs_level = rng.choice(np.asarray(ev.plcs_curtail_levels, dtype=int), size=n)
    plans = []
    for i in range(n):
        switches: list[SwitchPlan] = []
        if other[i]:
            slot = 1 if ev_slot[i] != 1 else 2
            switches.append(SwitchPlan(slot, "hcalcs", OTHER_LABELS[other_label[i]]))
        if has_ev[i] and switched[i]:
            kind = "plcs" if plcs[i] else "hcalcs"
            level = int(plcs_level[i]) if kind == "plcs" else 0
            switches.append(SwitchPlan(int(ev_slot[i]), kind, EV_LABEL, curtail_level=level))
        plans.append(
            PremisesPlan(
                index=i,
                premises_id=premises_id(feeder_id, i),
                charger_kw=float(kw[i]) if has_ev[i] else 0.0,
                switches=tuple(sorted(switches, key=lambda s: s.slot)),
            )
        )
    return Population(
        premises=plans,
        base_scale=scale,
        arrival_h=np.where(has_ev, arrival, np.nan),
        energy_kwh=np.where(has_ev, energy, 0.0),
    )
