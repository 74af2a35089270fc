"""Feeder physics, vectorised over premises: household demand, EV charging, the feeder sum.

Each step takes the switches' outputs (0..1 per premises: an HCALCS is 0 or 1, a PLCS a level)
and advances every home at once. Curtailment defers charging rather than cancelling it: the car
still wants its energy and draws it when released, which is the rebound the DNO has to manage.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from emulator.grid.population import HouseholdParams, Population

#: An EV cannot charge below 6 A (IEC 61851 control pilot minimum); on a 32 A charger that is
#: 19 % of its rating. A PLCS level below this stops charging altogether.
MIN_CHARGING_FRACTION = 6.0 / 32.0


@dataclass(frozen=True)
class FeederSample:
    """The feeder over one step, as the substation monitor would measure it (plus the truth)."""

    t: float  # simulated seconds since the scenario started
    total_kw: float
    household_kw: float
    ev_kw: float
    ev_demand_kw: float  # what the EVs would draw if no switch held them back


class FeederPhysics:
    """All premises of one feeder stepping together."""

    def __init__(
        self, population: Population, households: HouseholdParams, start_hour: float, seed: int
    ) -> None:
        self.population = population
        self.households = households
        self.start_hour = start_hour
        self.t = 0.0
        self._rng = np.random.default_rng(seed + 1)
        n = len(population.premises)
        self.charger_kw = population.charger_kw
        self.remaining_kwh = population.energy_kwh.astype(float).copy()
        self.delivered_kwh = np.zeros(n)
        self.curtailed_kwh = np.zeros(n)
        self._noise = np.zeros(n)
        self.last_ev_kw = np.zeros(n)

    def hour_of_day(self, t: float | None = None) -> float:
        return (self.start_hour + (self.t if t is None else t) / 3600.0) % 24.0

    def household_kw(self, hour: float) -> np.ndarray:
        h = self.households
        shape = h.base_kw + h.evening_peak_kw * np.exp(
            -0.5 * ((hour - h.peak_hour) / h.peak_width_h) ** 2
        )
        return np.maximum(0.05, shape * self.population.base_scale * (1.0 + self._noise))

    def _next_noise(self, dt: float) -> np.ndarray:
        # AR(1) noise with a ~10 minute correlation time, so loads wander rather than flicker.
        a = float(np.exp(-dt / 600.0))
        return a * self._noise + np.sqrt(1 - a * a) * self.households.noise * (
            self._rng.standard_normal(self._noise.shape)
        )

    def preview(self, dt: float) -> tuple[np.ndarray, np.ndarray]:
        """The next ``step(dt, ...)``'s household kW and uncurtailed EV kW per premises,
        without advancing: what an oracle controller would know (bench/curtail_tradeoff.py's
        floors), never the DNO."""
        state = self._rng.bit_generator.state
        noise = self._next_noise(dt)
        self._rng.bit_generator.state = state
        saved, self._noise = self._noise, noise
        try:
            house = self.household_kw(self.hour_of_day())
        finally:
            self._noise = saved
        return house, self._ev_demand(dt)

    def _ev_demand(self, dt: float) -> np.ndarray:
        plugged = self.population.arrival_h <= self.hour_of_day()  # nan (no EV) compares False
        wanting = plugged & (self.remaining_kwh > 1e-9)
        # A car near full tapers: never draw more than what is left over this step.
        cap = self.remaining_kwh * 3600.0 / dt
        return np.minimum(np.where(wanting, self.charger_kw, 0.0), cap)

    def step(self, dt: float, output: np.ndarray) -> FeederSample:
        """Advance ``dt`` seconds with the switches at ``output`` (0..1 per premises)."""
        hour = self.hour_of_day()
        self._noise = self._next_noise(dt)
        house = self.household_kw(hour)
        plugged = self.population.arrival_h <= hour  # nan (no EV) compares False
        wanting = plugged & (self.remaining_kwh > 1e-9)
        demand = np.where(wanting, self.charger_kw, 0.0)
        level = np.clip(output, 0.0, 1.0)
        level = np.where(level < MIN_CHARGING_FRACTION, 0.0, level)
        # A car near full tapers: never draw more than what is left over this step.
        cap = self.remaining_kwh * 3600.0 / dt
        ev = np.minimum(demand * level, cap)
        ev_demand = np.minimum(demand, cap)
        self.remaining_kwh -= ev * dt / 3600.0
        self.delivered_kwh += ev * dt / 3600.0
        self.curtailed_kwh += (ev_demand - ev) * dt / 3600.0
        self.last_ev_kw = ev
        sample = FeederSample(
            t=self.t,
            total_kw=float(house.sum() + ev.sum()),
            household_kw=float(house.sum()),
            ev_kw=float(ev.sum()),
            ev_demand_kw=float(ev_demand.sum()),
        )
        self.t += dt
        return sample
