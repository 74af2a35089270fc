"""Overload forecast: where will the feeder be 5-10 minutes from now?

A DNO sees only the substation measurement. The forecast is the measured level plus the trend
(least squares over the last ``window_s``) carried ``horizon_s`` ahead. The DNO's own actions
step the load down or up; ``discontinuity()`` restarts the level there and keeps the trend the
feeder had before, so a curtailment is not mistaken for a falling evening.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Forecast:
    t: float
    now_kw: float
    slope_kw_per_s: float
    horizon_s: float

    @property
    def predicted_kw(self) -> float:
        return self.now_kw + self.slope_kw_per_s * self.horizon_s

    @property
    def risk_kw(self) -> float:
        """The worse of now and the horizon: what the DNO must keep under its rating."""
        return max(self.now_kw, self.predicted_kw)


class TrendForecaster:
    def __init__(
        self,
        horizon_s: float = 600.0,
        window_s: float = 600.0,
        min_points: int = 4,
        min_span_s: float = 300.0,
    ):
        if not 300.0 <= horizon_s <= 600.0:
            raise ValueError(f"the forecast horizon is 5-10 minutes, not {horizon_s} s")
        self.horizon_s = horizon_s
        self.window_s = window_s
        self.min_points = min_points
        self.min_span_s = min_span_s  # a trend needs this much history (a plug-in is a step)
        self._points: deque[tuple[float, float]] = deque()
        self._slope = 0.0
        self._restart = False
        self._forecast: Forecast | None = None  # until the next sample: asked many times each

    def observe(self, t: float, kw: float) -> None:
        if self._restart:
            self._points.clear()
            self._restart = False
        self._forecast = None
        self._points.append((t, kw))
        while self._points and self._points[0][0] < t - self.window_s:
            self._points.popleft()
        span = self._points[-1][0] - self._points[0][0]
        if len(self._points) >= self.min_points and span >= self.min_span_s:
            ts = np.fromiter((p[0] for p in self._points), float)
            ys = np.fromiter((p[1] for p in self._points), float)
            ts = ts - ts.mean()
            denom = float((ts * ts).sum())
            if denom > 0:
                self._slope = float((ts * (ys - ys.mean())).sum() / denom)

    def discontinuity(self) -> None:
        """The DNO changed the load itself: keep the trend, restart the level from here."""
        self._restart = True

    def forecast(self) -> Forecast:
        if self._forecast is not None:
            return self._forecast
        if not self._points:
            return Forecast(0.0, 0.0, 0.0, self.horizon_s)
        t, kw = self._points[-1]
        # Level: the mean of the last few points, so a single noisy sample does not trigger.
        recent = [p[1] for p in list(self._points)[-3:]]
        level = max(kw, float(np.mean(recent)))
        self._forecast = Forecast(t, level, self._slope, self.horizon_s)
        return self._forecast
