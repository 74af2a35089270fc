"""The minimal-shedding policy's pure parts: how big the safety margin is, which switches
cover a need, who is next in the rotation.

The monitor (``monitor.py``) owns the SRVs and the switches' state; these functions only
decide, so they can be tested without a loop. Policies by name: ``all-consenting`` (the first
policy: curtail until the 10-minute forecast is under ``target_fraction`` x rating, restore one
at a time under ``restore_fraction``) and ``minimal`` (shed the short-lead forecast's excess
over rating - margin, restore as soon as a switch fits back under it with hysteresis, rotate).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

POLICIES = ("all-consenting", "minimal")

#: kW below which a need counts as met (float sums of declared kW are not exact).
TOLERANCE_KW = 0.01


class MarginEstimator:
    """The margin under the rating the minimal policy keeps: a stated floor plus ``sigmas``
    times the RMS error of the trend forecast over the lead the DNO needs to act (one physics
    step plus the SRV latency budget), measured on the feeder's own recent samples.

    The error is measured one step ahead and scaled by sqrt(lead / step) (a random walk's
    growth); samples straight after the DNO changed the load are not errors of the forecast.
    """

    def __init__(self, floor_kw: float, sigmas: float, lead_s: float, window: int = 120) -> None:
        self.floor_kw = floor_kw
        self.sigmas = sigmas
        self.lead_s = lead_s
        self._errors: deque[float] = deque(maxlen=window)
        self._last: tuple[float, float, float, float] | None = None  # t, kw, slope, bias
        self._step_s = 30.0

    def observe(
        self, t: float, kw: float, slope_kw_per_s: float, disturbed: bool, bias_kw: float = 0.0
    ) -> None:
        """A new sample: how far the forecast made at the last one (its level, trend and any
        error of its own, ``bias_kw``) was from it."""
        if self._last is not None and not disturbed:
            t0, kw0, slope0, bias0 = self._last
            if t > t0:
                self._step_s = t - t0
                self._errors.append(kw - (kw0 + slope0 * (t - t0) + bias0))
        self._last = (t, kw, slope_kw_per_s, bias_kw)

    @property
    def rms_kw(self) -> float:
        """The forecast's error spread, robustly (1.4826 x the median absolute error): a car
        plugging in is a step no trend foresees, and one would otherwise set the margin for
        the whole evening; the floor is what covers steps."""
        if not self._errors:
            return 0.0
        errors = sorted(abs(e) for e in self._errors)
        return 1.4826 * errors[len(errors) // 2]

    @property
    def margin_kw(self) -> float:
        scale = math.sqrt(max(1.0, self.lead_s / self._step_s))
        return self.floor_kw + self.sigmas * self.rms_kw * scale


@dataclass(frozen=True)
class Option:
    """A switch the policy may curtail now, with what a 7.6 is expected to hold back and how
    long its customer has been curtailed (this event, this week) — the rotation's order."""

    key: tuple[str, int]
    expected_kw: float
    curtailed_s: float


def choose(options: Sequence[Option], need_kw: float, srv_cost_kw: float) -> list[Option]:
    """The switches to curtail for ``need_kw``: fairness first (least curtailed so far), then
    the fewest kW over the need, each extra SRV costing ``srv_cost_kw`` of overshoot.

    Two ways are costed and the cheaper taken: the least-curtailed customers in turn until
    the need is covered, or, among the least-curtailed tier, the single switch that covers the
    need closest. Returns [] for no need; the options themselves when they cannot cover it.
    """
    need_kw -= TOLERANCE_KW
    if need_kw <= 0 or not options:
        return []
    fair = sorted(options, key=lambda o: (o.curtailed_s, -o.expected_kw, o.key))
    fill: list[Option] = []
    covered = 0.0
    for option in fair:
        if covered >= need_kw:
            break
        if option.expected_kw <= 0:
            continue
        fill.append(option)
        covered += option.expected_kw
    if covered < need_kw:
        return fill
    fill = _trim(fill, need_kw)
    tier = fair[0].curtailed_s
    single = [o for o in fair if o.expected_kw >= need_kw and o.curtailed_s <= tier + 60.0]
    if single:
        best = min(single, key=lambda o: (o.expected_kw, o.curtailed_s, o.key))
        if _cost(best.expected_kw, 1, need_kw, srv_cost_kw) <= _cost(
            sum(o.expected_kw for o in fill), len(fill), need_kw, srv_cost_kw
        ):
            return [best]
    return fill


def _trim(fill: list[Option], need_kw: float) -> list[Option]:
    """Drop switches the rest already covers without (largest first): no SRV that sheds
    nothing the need asks for."""
    kept = list(fill)
    for option in sorted(fill, key=lambda o: -o.expected_kw):
        rest = sum(o.expected_kw for o in kept) - option.expected_kw
        if rest >= need_kw:
            kept.remove(option)
    return kept


def _cost(kw: float, srvs: int, need_kw: float, srv_cost_kw: float) -> float:
    return (kw - need_kw) + srv_cost_kw * srvs
