"""The shared path every feeder's SRVs take: the DSP, then the CSP link of the region's WAN,
then the last mile and the HAN; the response comes back the same way.

The DSP and the CSP link are two first-in-first-out servers in tandem with deterministic
service (1 / capacity per message), fed by every feeder's SRVs and by other users' background
messages (Poisson). An SRV is two messages on the CSP link (its command and its response),
counted when the command passes; the last mile and the HAN add latency drawn per SRV and may
lose the command or the response. Because service is deterministic and the stages are in
tandem, processing arrivals in time order gives each departure exactly (a FIFO keeps the
order, so the second stage sees the first stage's departures in arrival order).

The WAN's numbers come from ``emulator.outage`` (its device-message path, ``pra``: the
backend throttle and latency of the North's narrow-band and the Central/South's cellular
CSP); the DSP's from gbhan's own DSP (``DspSpec``). ``docs/region.md`` states each choice.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from emulator.outage import model as outage_model
from emulator.region.spec import DspSpec, Region, WanSpec

#: SECMP0046's end-to-end target for these SRVs.
SRV_TARGET_S = 30.0


@dataclass(frozen=True)
class WanParams:
    """The numbers the shared path runs on, resolved from a region's ``[wan]`` and ``[dsp]``."""

    region: str
    option: str
    title: str
    capacity_per_s: float  # CSP link, messages/s for the whole region; 0 = unlimited
    latency_s: float  # CSP systems, each way
    radio_latency_s: tuple[float, float]  # last mile each way, uniform
    han_latency_s: float
    loss: float
    background_per_s: float
    dsp_per_s: float  # 0 = unlimited
    dsp_latency_s: float
    timeout_s: float  # the DNO stops waiting

    @property
    def lookahead_s(self) -> float:
        """The least time from an SRV leaving the DNO to its first effect anywhere (the
        switch acting): no feeder can see another's SRV sooner, so shards may run this far
        past the earliest pending event without hearing from each other."""
        return self.dsp_latency_s + self.latency_s + self.radio_latency_s[0] + self.han_latency_s

    @classmethod
    def of(
        cls, wan: WanSpec, dsp: DspSpec, timeout_s: float, option: str | None = None
    ) -> WanParams:
        chosen = option or wan.option
        m = outage_model(wan.region, chosen)
        capacity = m.pra.backend_per_s if wan.capacity_per_s < 0 else wan.capacity_per_s
        latency = m.pra.backend_latency_s if wan.latency_s < 0 else wan.latency_s
        low, high = wan.radio_latency_s
        return cls(
            region=wan.region,
            option=chosen,
            title=m.title,
            capacity_per_s=float(capacity),
            latency_s=float(latency),
            radio_latency_s=(float(low), float(high)),
            han_latency_s=wan.han_latency_s,
            loss=wan.loss,
            background_per_s=wan.background_per_s,
            dsp_per_s=dsp.per_s,
            dsp_latency_s=dsp.latency_s,
            timeout_s=timeout_s,
        )

    @classmethod
    def for_region(cls, region: Region, option: str | None = None) -> WanParams:
        return cls.of(region.wan, region.dsp, region.feeder.han.srv_timeout_s, option)


@dataclass(frozen=True)
class Submission:
    """An SRV as it leaves a feeder's DNO monitor."""

    t: float
    feeder: int
    seq: int  # per feeder, from 0
    srv: str

    @property
    def key(self) -> tuple[float, int, int]:
        """The order the shared path serves submissions in: time, then feeder, then its own
        order; never which worker sent it."""
        return (self.t, self.feeder, self.seq)


@dataclass(frozen=True)
class Answer:
    """What the shared path makes of one SRV: when the switch acts (nan: the command was
    lost) and when the DNO hears the response (nan: lost or later than its timeout)."""

    feeder: int
    seq: int
    executed_at: float
    responded_at: float
    queued_s: float  # time spent waiting at the DSP and the CSP link (not in service)


def md1_wait_s(arrival_per_s: float, service_per_s: float) -> float:
    """Mean wait in queue of M/D/1 (Pollaczek-Khinchine with deterministic service):
    rho / (2 mu (1 - rho)); infinite at or past saturation."""
    rho = arrival_per_s / service_per_s
    return math.inf if rho >= 1.0 else rho / (2.0 * service_per_s * (1.0 - rho))


class SharedPath:
    """The DSP and the CSP link, served in time order across every feeder of the region."""

    def __init__(self, params: WanParams, seed: int) -> None:
        self.params = params
        self.seed = seed
        self._dsp_free = -math.inf
        self._csp_free = -math.inf
        self._bg_rng = np.random.default_rng([seed, 0xB6])
        self._next_bg = self._draw_gap(0.0)
        self._rngs: dict[int, np.random.Generator] = {}
        self.srvs = 0
        self.background = 0
        self.background_wait_s = 0.0  # summed: their mean is the queue's time-average wait
        self.lost = 0

    def _draw_gap(self, t: float) -> float:
        rate = self.params.background_per_s
        return t + float(self._bg_rng.exponential(1.0 / rate)) if rate > 0 else math.inf

    def _serve(self, t: float, csp_units: int) -> tuple[float, float]:
        """One message (csp_units on the CSP link) arriving at the DSP at ``t``: when it
        leaves the CSP link, and how long it waited in the two queues."""
        p = self.params
        wait = 0.0
        if p.dsp_per_s > 0:
            start = max(t, self._dsp_free)
            wait += start - t
            self._dsp_free = start + 1.0 / p.dsp_per_s
            t = self._dsp_free
        t += p.dsp_latency_s
        if p.capacity_per_s > 0:
            start = max(t, self._csp_free)
            wait += start - t
            self._csp_free = start + csp_units / p.capacity_per_s
            t = self._csp_free
        return t + p.latency_s, wait

    def _background_until(self, until: float) -> None:
        while self._next_bg < until:
            _, waited = self._serve(self._next_bg, 1)
            self.background += 1
            self.background_wait_s += waited
            self._next_bg = self._draw_gap(self._next_bg)

    def _rng(self, feeder: int) -> np.random.Generator:
        rng = self._rngs.get(feeder)
        if rng is None:
            rng = self._rngs[feeder] = np.random.default_rng([self.seed, 0x5E, feeder])
        return rng

    def process(self, submissions: list[Submission], until: float) -> list[Answer]:
        """Serve ``submissions`` (all of them before ``until``) and the background before
        ``until``, in time order. Callers hand every submission before ``until`` at once."""
        p = self.params
        answers = []
        for sub in sorted(submissions, key=lambda s: s.key):
            if sub.t >= until:
                raise ValueError(f"submission at {sub.t} is past the window's end {until}")
            self._background_until(sub.t)
            out, waited = self._serve(sub.t, 2)
            self.srvs += 1
            rng = self._rng(sub.feeder)
            down, up = rng.uniform(p.radio_latency_s[0], p.radio_latency_s[1], 2)
            lost_down, lost_up = rng.random(2) < p.loss
            executed = out + down + p.han_latency_s
            responded = executed + p.han_latency_s + up + p.latency_s + p.dsp_latency_s
            if lost_down:
                executed = responded = math.nan
            elif lost_up:
                responded = math.nan
            if not math.isnan(responded) and responded - sub.t > p.timeout_s:
                responded = math.nan
            if math.isnan(responded):
                self.lost += 1
            answers.append(Answer(sub.feeder, sub.seq, executed, responded, waited))
        self._background_until(until)
        return answers
