"""The least any controller could shed on a feeder: what a run's shed/needed is judged against.

An oracle, not a policy: it reads every household's and every car's load of the coming step
(``FeederPhysics.preview``, which no DNO has), sends no SRVs and holds back exactly the excess
over the rating less the room it keeps, fluidly (any level, largest charging car first, only
consenting cars), with the deferral the physics does. The room (``cover``) is kept for a car
plugging in within a step, which only headroom survives:

- ``none``: no room; shed/needed is then about 1.0, the definition's minimum;
- ``unheld``: the largest car still out that the DNO cannot hold off (declined, never asked,
  unswitched; a consenting car still out is held off by a 7.6 that costs nothing until it
  comes). The floor of every policy that keeps 0 minutes over whatever the time a car plugs
  in: it knows which cars are out, not when they come;
- ``out``: the largest car still out, whoever's.

It ignores consent terms and the DNO's own bounds (they only add), so it is a floor.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import numpy as np

from emulator.grid.loads import MIN_CHARGING_FRACTION, FeederPhysics
from emulator.grid.population import HouseholdParams, Population

FLOOR_COVERS = ("none", "unheld", "out")


@dataclass(frozen=True)
class Floor:
    cover: str
    shed_kwh: float
    needed_kwh: float
    samples_over: int  # samples over the rating: 0 unless the consenting cars run out

    @property
    def ratio(self) -> float | None:
        return self.shed_kwh / self.needed_kwh if self.needed_kwh > 0 else None


def oracle_floor(
    population: Population,
    households: HouseholdParams,
    *,
    start_hour: float,
    seed: int,
    consenting: Collection[str],
    rating_kw: float,
    step_s: float,
    duration_s: float,
    cover: str = "unheld",
) -> Floor:
    """Run the oracle over the feeder ``population`` (its physics drawn from ``seed`` as a
    run's is) with ``consenting`` premises' switched cars to hold back."""
    if cover not in FLOOR_COVERS:
        raise ValueError(f"cover must be one of {', '.join(FLOOR_COVERS)}, not {cover!r}")
    physics = FeederPhysics(population, households, start_hour, seed)
    kw, arrival = population.charger_kw, population.arrival_h
    held = np.array(
        [p.ev_switch is not None and p.premises_id in consenting for p in population.premises]
    )
    coverable = {"none": kw < 0, "unheld": (kw > 0) & ~held, "out": kw > 0}[cover]
    shed = needed = 0.0
    over_count = 0
    for _ in range(int(round(duration_s / step_s))):
        house, demand = physics.preview(step_s)
        out = coverable & ~(arrival <= physics.hour_of_day())  # nan: no car, never out
        room = float(kw[out].max()) if out.any() else 0.0
        excess = float(house.sum() + demand.sum()) - (rating_kw - room)
        level = np.ones(len(kw))
        for i in sorted(np.flatnonzero(held & (demand > 0)), key=lambda i: -demand[i]):
            if excess <= 0:
                break
            cut = min(1.0, excess / demand[i])
            level[i] = 0.0 if 1.0 - cut < MIN_CHARGING_FRACTION else 1.0 - cut
            excess -= demand[i] * (1.0 - level[i])
        sample = physics.step(step_s, level)
        over = sample.household_kw + sample.ev_demand_kw - rating_kw
        needed += max(0.0, over) * step_s / 3600.0
        shed += (sample.ev_demand_kw - sample.ev_kw) * step_s / 3600.0
        over_count += sample.total_kw > rating_kw + 1e-6
    return Floor(cover, shed, needed, over_count)
