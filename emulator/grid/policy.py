"""The minimal-shedding policy's pure parts: how big the safety margin is, which switches
cover a need, who is next in the rotation.

The monitor (``monitor.py``) owns the SRVs and the switches' state; these functions only
decide, so they can be tested without a loop. Policies by name: ``all-consenting`` (the first
policy: curtail until the 10-minute forecast is under ``target_fraction`` x rating, restore one
at a time under ``restore_fraction``) and ``minimal`` (shed the short-lead forecast's excess
over rating - margin, restore as soon as a switch fits back under it with hysteresis, rotate).
"""

from __future__ import annotations

import bisect
import math
from collections import Counter, deque
from collections.abc import Mapping, Sequence
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
        self._sizes: list[float] = []  # the errors' sizes, kept sorted: a median per sample
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
                if len(self._errors) == self._errors.maxlen:
                    del self._sizes[bisect.bisect_left(self._sizes, abs(self._errors[0]))]
                error = kw - (kw0 + slope0 * (t - t0) + bias0)
                self._errors.append(error)
                bisect.insort(self._sizes, abs(error))
        self._last = (t, kw, slope_kw_per_s, bias_kw)

    @property
    def rms_kw(self) -> float:
        """The forecast's error spread, robustly (1.4826 x the median absolute error): a car
        plugging in is a step no trend foresees, and one would otherwise set the margin for
        the whole evening; the floor is what covers steps."""
        if not self._sizes:
            return 0.0
        return 1.4826 * self._sizes[len(self._sizes) // 2]

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


def fits_charger(rise_kw: float, charger_kw: float) -> bool:
    """Whether a rise in one sample is about one charger of this size plugging in (a car may
    draw a little less than the charger's rating, and household noise rides on top)."""
    return 0.75 * charger_kw <= rise_kw <= 1.35 * charger_kw + 1.0


@dataclass(frozen=True)
class Attribution:
    """One sample's change explained: how much of each switch the DNO curtailed (or restored)
    since the last sample was drawing (0..1, the share of the best explanations in which it
    was), and the size of the notified charger that plugged in, if one did."""

    curtailed_drawing: tuple[float, ...]
    restored_drawing: tuple[float, ...]
    plug_in_kw: float | None
    residual_kw: float
    confident: bool = True


def attribute(
    delta_kw: float,
    curtailed_kw: Sequence[float],
    restored_kw: Sequence[float],
    unseen_kw: Sequence[float],
    plug_in_cost_kw: float = 1.0,
    max_changes: int = 10,
    tie_kw: float = 0.5,
    tolerance_kw: float = 2.0,
) -> Attribution | None:
    """Explain ``delta_kw`` (the substation's change over one sample, its trend taken out) as
    the DNO's own changes, each switch drawing or not, plus at most one notified charger not
    yet seen plugging in (of a size in ``unseen_kw``, within ``tolerance_kw`` of the rise
    left, at a cost of ``plug_in_cost_kw``: a plug-in is rarer than noise). A car that plugs in during
    the same sample as a curtailment is otherwise hidden by it, and its charger would stay
    'unseen' all evening. Every explanation within ``tie_kw`` of the best shares the answer, so
    two alike switches of which one drew get 0.5 each and neither counts as seen. None when
    more than ``max_changes`` switches changed (too many to enumerate). ``confident``: the
    best explanation leaves no more than ``tolerance_kw`` unexplained; when it leaves more,
    something the DNO does not know of happened, and nothing should be learned from it."""
    n_c, n_r = len(curtailed_kw), len(restored_kw)
    if n_c + n_r > max_changes:
        return None
    sizes = sorted(set(unseen_kw))
    scored: list[tuple[float, int, float | None, float]] = []  # cost, mask, plug-in, residual
    for mask in range(1 << (n_c + n_r)):
        known = 0.0
        for i in range(n_c):
            if mask >> i & 1:
                known -= curtailed_kw[i]
        for j in range(n_r):
            if mask >> (n_c + j) & 1:
                known += restored_kw[j]
        rest = delta_kw - known
        scored.append((abs(rest), mask, None, rest))
        for size in sizes:
            if abs(rest - size) <= tolerance_kw:
                scored.append((abs(rest - size) + plug_in_cost_kw, mask, size, rest - size))
    best = min(s[0] for s in scored)
    near = [s for s in scored if s[0] <= best + tie_kw]
    plug_ins = {s[2] for s in near}
    plug_in = plug_ins.pop() if len(plug_ins) == 1 else None
    if plug_in is not None:  # unanimous: the masks that explain it with that plug-in
        near = [s for s in near if s[2] == plug_in]
    share = [sum(s[1] >> k & 1 for s in near) / len(near) for k in range(n_c + n_r)]
    residual = min(near, key=lambda s: s[0])[3]
    confident = abs(residual) <= tolerance_kw
    return Attribution(tuple(share[:n_c]), tuple(share[n_c:]), plug_in, residual, confident)


class PlugInLedger:
    """Which notified chargers may still plug in unforeseen, in the worst case the evidence
    allows. The evidence: chargers identified (seen drawing when the DNO curtailed or restored
    them: plugged in by then) and plug-in steps seen (a size and a time, not who: the DNO sees
    kW). A charger of a size is possibly still out while that size has more chargers than
    arrivals to account for them. The worst case counts each step as an identified charger's
    own arrival wherever it can have been (one arrival each, before it was seen drawing, and
    not while the DNO held it off), so identifying a charger never makes another 'seen'."""

    def __init__(self, chargers: dict[str, float]) -> None:
        self.chargers = dict(chargers)
        self.identified: dict[str, float] = {}  # premises -> when first seen drawing
        self.steps: list[tuple[float, float, frozenset[str]]] = []  # kW, when, who could not
        # unseen() is asked several times a sample and changes only with new evidence
        self._unseen: dict[str, float] | None = None

    def identify(self, premises: str, at: float) -> None:
        if premises in self.chargers and premises not in self.identified:
            self.identified[premises] = at
            self._unseen = None

    def step(self, kw: float, at: float, excluded: set[str] | frozenset[str] = frozenset()) -> None:
        self.steps.append((kw, at, frozenset(excluded)))
        self._unseen = None

    def unseen(self) -> dict[str, float]:
        """Every charger that may not have plugged in yet (premises -> kW)."""
        if self._unseen is None:
            self._unseen = self._worst_case()
        return dict(self._unseen)

    def _worst_case(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for size in sorted(set(self.chargers.values())):
            members = sorted(p for p, c in self.chargers.items() if c == size)
            rest = [p for p in members if p not in self.identified]
            steps = [(at, ex) for kw, at, ex in self.steps if kw == size]
            known = {p: self.identified[p] for p in members if p in self.identified}
            # the identified chargers' own arrivals, as many as can have been steps
            taken = _match(
                [ex | {p for p, seen in known.items() if seen < at} for at, ex in steps],
                list(known),
            )
            left = [ex for i, (_, ex) in enumerate(steps) if i not in taken]
            if len(rest) > len(_match(left, rest)):
                out.update({p: size for p in rest})  # one of them is still out: any of them
        return out


def _match(steps: Sequence[frozenset[str]], chargers: Sequence[str]) -> set[int]:
    """The steps a maximum matching gives a charger each (not one excluded at that step):
    augmenting paths, small sets."""
    owner: dict[str, int] = {}

    def place(i: int, seen: set[str]) -> bool:
        for p in chargers:
            if p in steps[i] or p in seen:
                continue
            seen.add(p)
            if p not in owner or place(owner[p], seen):
                owner[p] = i
                return True
        return False

    for i in range(len(steps)):
        place(i, set())
    return set(owner.values())


def cover_kw(out: Mapping[str, float], rate_per_h: float, excursion_cost_kwh: float) -> float:
    """The plug-in cover: headroom kept for a car plugging in within one sample, which no
    forecast sees and no SRV answers in time. ``out``: the chargers that may still plug in
    (premises -> kW; not seen, not held off by the DNO).

    Worst case (``excursion_cost_kwh`` infinite): the largest of them. Risk-based: a size is
    covered only if the expected cost of leaving it out, the chance that the next plug-in is
    of that size (``rate_per_h`` plug-ins an hour on this feeder, shared by the chargers out)
    times what an excursion over the rating is worth in kWh of shedding, is at least what
    holding its headroom costs (its kW for as long as it is held): rate x share x cost >= kW.
    The lead cancels out: both sides scale with it."""
    if not out:
        return 0.0
    if math.isinf(excursion_cost_kwh):
        return max(out.values())
    by_size = Counter(out.values())
    total = sum(by_size.values())
    covered = [
        size
        for size, count in by_size.items()
        if rate_per_h * count / total * excursion_cost_kwh >= size
    ]
    return max(covered, default=0.0)


def arrival_chance(hour: float, lead_h: float, arrival_hour: float, arrival_sd_h: float) -> float:
    """The chance that one charger's car plugs in within ``lead_h`` of ``hour``, from the
    evening's arrival-time distribution the DNO knows from its own history (normal, mean
    ``arrival_hour``, spread ``arrival_sd_h``; UTC hours). Not conditioned on the car still
    being out: the substation cannot say which cars came, and most of those the worst case
    keeps room for already have."""

    def cdf(h: float) -> float:
        return 0.5 * (1.0 + math.erf((h - arrival_hour) / (arrival_sd_h * math.sqrt(2.0))))

    return max(0.0, cdf(hour + lead_h) - cdf(hour))


def risk_cover_kw(out: Mapping[str, float], chance: float, risk: float) -> float:
    """The smallest cover that leaves at most ``risk`` chance of a plug-in larger than it
    within the lead (each charger in ``out`` plugging in with ``chance``): the cover is the
    worst case's while many cars may come, and falls away as the evening's arrivals thin
    out."""
    if not out:
        return 0.0
    sizes = sorted(set(out.values()), reverse=True)
    cover = sizes[0]
    for lower in [*sizes[1:], 0.0]:
        above = sum(1 for kw in out.values() if kw > lower)
        if 1.0 - (1.0 - chance) ** above > risk:
            break
        cover = lower
    return cover
