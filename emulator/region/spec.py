"""Region scenarios (TOML): N feeders drawn from distributions with a seed, a regional WAN and
one DSP that every feeder's SRVs share.

A region starts from a feeder scenario (``feeder_scenario``: its households, EVs, consent and
DNO policy) and draws each feeder's size, rating and uptake from ``[feeders]``; a cold evening
(``[weather]``) raises every feeder's tea-time peak at once. ``[wan]`` names the outage
model's region and option whose channel parameters the SRVs go through (``wan.py``), and
``[dsp]`` gbhan's own measured DSP figures. Unknown keys and wrong types are refused with the
section and key named, as feeder scenarios are.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emulator.errors import EmulatorError
from emulator.grid.population import MAX_PREMISES, MIN_PREMISES
from emulator.outage import REGIONS, OutageParamError, strategies
from emulator.scenario import Scenario, ScenarioError
from emulator.scenario import load as load_feeder
from emulator.scenario.spec import _build

SCENARIO_DIR = Path(__file__).with_name("scenarios")
DEFAULT_REGION = "tea-time-north"


class RegionError(EmulatorError, ValueError):
    """A region scenario that cannot be run; the message names the file, section and key."""


@dataclass(frozen=True)
class FeederDraws:
    """How the region's feeders are drawn. Ranges are [low, high], drawn uniformly."""

    count: int = 100
    #: premises per feeder: lognormal with this mean and sigma, clipped to 2..250 (GB's LV
    #: feeders average about 36 homes; a few urban ones reach 250)
    premises_mean: float = 36.0
    premises_sigma: float = 0.75
    premises_min: int = MIN_PREMISES
    premises_max: int = MAX_PREMISES
    rating_kw_per_premises: tuple[float, ...] = (3.3, 5.0)
    ev_share: tuple[float, ...] = (0.35, 0.7)
    switched_share: tuple[float, ...] = (0.6, 1.0)  # chargers behind an HCALCS or PLCS
    plcs_share: tuple[float, ...] = (0.0, 0.3)  # of switched chargers, behind a PLCS
    opted_in_share: tuple[float, ...] = (0.6, 0.9)  # consent
    #: false: every feeder is the feeder scenario itself (its size, rating and seed for the
    #: first; later feeders only change the seed) - a region of one is then that scenario
    draw: bool = True

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"count must be at least 1, not {self.count}")
        if not MIN_PREMISES <= self.premises_min <= self.premises_max <= MAX_PREMISES:
            raise ValueError(
                f"premises_min..premises_max must lie within {MIN_PREMISES}..{MAX_PREMISES}"
            )
        for name in ("rating_kw_per_premises", "ev_share", "switched_share", "plcs_share",
                     "opted_in_share"):  # fmt: skip
            low_high = getattr(self, name)
            if len(low_high) != 2 or low_high[0] > low_high[1] or low_high[0] < 0:
                raise ValueError(f"{name} must be [low, high] with 0 <= low <= high")
            if name != "rating_kw_per_premises" and low_high[1] > 1.0:
                raise ValueError(f"{name} is a share: within 0..1")


@dataclass(frozen=True)
class Weather:
    """The shared cold evening: every feeder's household evening peak times ``peak_scale``,
    at ``peak_hour`` (UTC) give or take ``feeder_jitter_h`` per feeder."""

    peak_scale: float = 1.0
    peak_hour: float = 18.0
    feeder_jitter_h: float = 0.0

    def __post_init__(self) -> None:
        if self.peak_scale <= 0 or self.feeder_jitter_h < 0:
            raise ValueError("peak_scale must be positive and feeder_jitter_h >= 0")


@dataclass(frozen=True)
class WanSpec:
    """The regional WAN the SRVs cross, from ``emulator.outage``'s channel parameters."""

    region: str = "north"
    option: str = "current"  # the outage model's strategy: current, option-a, option-b, ...
    options: tuple[str, ...] = ("current", "option-a", "option-b")  # what a study compares
    #: messages/s the CSP link carries for the whole region (commands, responses and the
    #: background); negative: the outage model's device-message throttle; 0: no limit
    capacity_per_s: float = -1.0
    #: CSP systems latency each way; negative: the outage model's
    latency_s: float = -1.0
    radio_latency_s: tuple[float, ...] = (0.5, 3.0)  # the last mile each way, uniform
    han_latency_s: float = 0.1  # Comms Hub -> ESME -> switch and back, each way
    loss: float = 0.0  # probability a command or a response is lost (the DNO times out)
    background_per_s: float = 0.0  # other users' messages through the same CSP link
    #: false: the DNO's discovery (7.7 to every consenting premises) was done earlier in the
    #: day, off the evening's path; true: it runs at the start, through the shared path
    discovery_on_path: bool = False

    def __post_init__(self) -> None:
        if self.region not in REGIONS:
            raise ValueError(f"region must be one of {', '.join(REGIONS)}, not {self.region!r}")
        if (
            len(self.radio_latency_s) != 2
            or not 0 <= self.radio_latency_s[0] <= self.radio_latency_s[1]
        ):
            raise ValueError("radio_latency_s must be [low, high] with 0 <= low <= high")
        if not 0.0 <= self.loss <= 1.0:
            raise ValueError(f"loss must be 0..1, not {self.loss}")
        if self.han_latency_s < 0 or self.background_per_s < 0:
            raise ValueError("han_latency_s and background_per_s must be >= 0")


@dataclass(frozen=True)
class DspSpec:
    """The one DSP every SRV passes, as gbhan's own DSP measures (see ``docs/region.md``)."""

    per_s: float = 170.0  # SRVs/s: in process, zero HAN time (commit 4dc4c36's figure)
    latency_s: float = 0.11  # each way: bench/dsp_load.py's ack p99 (commit c7a42fb)
    source: str = "gbhan DSP: 170 SRVs/s end to end in process (4dc4c36), ack p99 110 ms (bench/dsp_load.py, c7a42fb)"

    def __post_init__(self) -> None:
        if self.per_s < 0 or self.latency_s < 0:
            raise ValueError("per_s and latency_s must be >= 0")


@dataclass(frozen=True)
class Region:
    name: str
    description: str
    seed: int
    feeder: Scenario  # the feeder scenario every feeder starts from (time, policy, HAN)
    feeders: FeederDraws
    weather: Weather
    wan: WanSpec
    dsp: DspSpec
    source: Path | None = None
    feeder_overrides: dict = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return self.feeder.duration_s

    def with_wan(self, **changes) -> Region:
        return dataclasses.replace(self, wan=dataclasses.replace(self.wan, **changes))

    def with_feeders(self, count: int) -> Region:
        return dataclasses.replace(self, feeders=dataclasses.replace(self.feeders, count=count))


def available() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))


def resolve(name_or_path: str | Path | None) -> Path:
    path = Path(name_or_path or DEFAULT_REGION)
    if path.suffix == ".toml" and path.is_file():
        return path
    candidate = SCENARIO_DIR / f"{name_or_path or DEFAULT_REGION}.toml"
    if candidate.is_file():
        return candidate
    raise RegionError(
        f"no region scenario {str(name_or_path)!r}; built in: {', '.join(available())} (or a .toml path)"
    )


def load(name_or_path: str | Path | None = None) -> Region:
    path = resolve(name_or_path)
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise RegionError(f"{path.name}: not valid TOML: {err}") from err
    return parse(data, path)


def parse(data: dict, path: Path) -> Region:
    known = {"name", "description", "seed", "feeder_scenario", "time", "feeders", "weather",
             "wan", "dsp", "dno", "households", "ev", "consent"}  # fmt: skip
    for key in data:
        if key not in known:
            raise RegionError(
                f"{path.name}: unknown top-level key {key!r}; known: {', '.join(sorted(known))}"
            )
    base_name = data.get("feeder_scenario", "feeder-overload")
    if not isinstance(base_name, str):
        raise RegionError(f"{path.name}: feeder_scenario must be a feeder scenario's name")
    try:
        base = load_feeder(base_name)
    except ScenarioError as err:
        raise RegionError(f"{path.name}: feeder_scenario: {err}") from err
    overrides = {}
    try:
        for section, cls_field in (("households", "households"), ("ev", "ev"),
                                   ("consent", "consent"), ("dno", "dno")):  # fmt: skip
            if section in data:
                current = dataclasses.asdict(getattr(base, cls_field))
                table = {**current, **data[section]}
                overrides[cls_field] = _build(type(getattr(base, cls_field)), table, section, path)
        time = data.get("time", {})
        if "duration_h" in time:
            overrides["duration_s"] = float(time["duration_h"]) * 3600.0
        if "step_s" in time:
            overrides["step_s"] = float(time["step_s"])
        if "start_utc" in time:
            overrides["start_utc"] = dt.datetime.fromisoformat(
                str(time["start_utc"]).replace("Z", "+00:00")
            )
        feeder = base.with_overrides(**overrides)
        feeders = _build(FeederDraws, data.get("feeders"), "feeders", path)
        weather = _build(Weather, data.get("weather"), "weather", path)
        wan = _build(WanSpec, data.get("wan"), "wan", path)
        dsp = _build(DspSpec, data.get("dsp"), "dsp", path)
    except ScenarioError as err:
        raise RegionError(str(err)) from err
    except (TypeError, ValueError) as err:
        raise RegionError(f"{path.name}: {err}") from err
    for option in (wan.option, *wan.options):
        try:
            if option not in strategies(wan.region):
                raise RegionError(
                    f"{path.name}: [wan] option {option!r} is not one of {wan.region}'s: "
                    f"{', '.join(strategies(wan.region))}"
                )
        except OutageParamError as err:
            raise RegionError(f"{path.name}: [wan]: {err}") from err
    seed = data.get("seed", 1)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise RegionError(f"{path.name}: seed must be an integer")
    return Region(
        name=str(data.get("name", path.stem)),
        description=str(data.get("description", "")),
        seed=seed,
        feeder=feeder,
        feeders=feeders,
        weather=weather,
        wan=wan,
        dsp=dsp,
        source=path,
    )


@dataclass(frozen=True)
class FeederPlan:
    """One feeder of the region as drawn: its index and the feeder scenario it runs."""

    index: int
    scenario: Scenario


def feeder_seed(region_seed: int, index: int) -> int:
    """Each feeder's own seed, from the region's seed and its index alone (not from which
    worker runs it), so any sharding draws the same feeders."""
    return int(np.random.SeedSequence([region_seed, index]).generate_state(1)[0])


def draw_feeder(region: Region, index: int) -> FeederPlan:
    """Feeder ``index`` of the region: drawn from its own generator, so feeder i is the same
    whatever the region's size or its sharding."""
    base = region.feeder
    f = region.feeders
    if not f.draw:
        if index == 0:
            return FeederPlan(0, base)
        return FeederPlan(index, base.with_overrides(
            seed=feeder_seed(region.seed, index), feeder_id=f"{base.feeder_id}-{index:05d}"))  # fmt: skip
    rng = np.random.default_rng(feeder_seed(region.seed, index))
    mu = (
        np.log(f.premises_mean) - 0.5 * f.premises_sigma**2
    )  # the lognormal's mean is premises_mean
    premises = int(
        np.clip(round(rng.lognormal(mu, f.premises_sigma)), f.premises_min, f.premises_max)
    )

    def uniform(low_high: tuple[float, ...]) -> float:
        return float(rng.uniform(low_high[0], low_high[1]))

    rating = premises * uniform(f.rating_kw_per_premises)
    ev = dataclasses.replace(
        base.ev,
        share=uniform(f.ev_share),
        switched_share=uniform(f.switched_share),
        plcs_share=uniform(f.plcs_share),
    )
    opted_in = uniform(f.opted_in_share)
    consent = dataclasses.replace(
        base.consent,
        opted_in_share=opted_in,
        declined_share=min(base.consent.declined_share, 1.0 - opted_in),
    )
    w = region.weather
    households = dataclasses.replace(
        base.households,
        evening_peak_kw=base.households.evening_peak_kw * w.peak_scale,
        peak_hour=w.peak_hour + float(rng.uniform(-w.feeder_jitter_h, w.feeder_jitter_h)),
    )
    scenario = base.with_overrides(
        name=f"{region.name}-{index:05d}",
        seed=int(rng.integers(1, 2**31 - 1)),
        feeder_id=f"LV-{index:05d}",
        premises=premises,
        rating_kw=round(rating, 1),
        ev=ev,
        consent=consent,
        households=households,
        events=(),
    )
    return FeederPlan(index, scenario)
