"""Scenario files (TOML): what feeder, which evening, what the DNO may do, what goes wrong.

A scenario names a seed, so a run is reproducible. Sections map one to one onto the grid's
parameter classes (``[households]`` → ``HouseholdParams``, ``[ev]`` → ``EvParams``, ``[dno]`` →
``MonitorParams``); unknown keys and wrong types are refused with the section and key named.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

from emulator.errors import EmulatorError
from emulator.grid.monitor import MonitorParams
from emulator.grid.population import MAX_PREMISES, MIN_PREMISES, EvParams, HouseholdParams

SCENARIO_DIR = Path(__file__).with_name("scenarios")
DEFAULT_SCENARIO = "feeder-overload"
EVENT_KINDS = ("boost", "silence", "unjoin", "withdraw")


class ScenarioError(EmulatorError, ValueError):
    """A scenario file that cannot be run; the message names the file, section and key."""


@dataclass(frozen=True)
class ConsentSpec:
    opted_in_share: float = 0.75  # of premises with an EV switch; the rest declined or not asked
    declined_share: float = 0.2
    opted_in: tuple[int, ...] = ()  # premises numbers (1-based) forced to opted in
    declined: tuple[int, ...] = ()  # ... forced to declined
    terms_share: float = 0.0  # of opted-in premises, those with consent terms (from the seed)
    terms_max_event_min: float = 0.0  # their longest curtailment per event (0: no limit)
    terms_excluded_hours: tuple[float, ...] = ()  # [from, to) UTC hours never to curtail

    def __post_init__(self) -> None:
        if len(self.terms_excluded_hours) not in (0, 2):
            raise ValueError("terms_excluded_hours is [from, to] in UTC hours")
        if not 0.0 <= self.terms_share <= 1.0:
            raise ValueError(f"terms_share must be 0..1, not {self.terms_share}")


@dataclass(frozen=True)
class GovernanceSpec:
    market_flexibility_failed: bool = True
    context: str = "contracted flexibility services failed to deliver"


@dataclass(frozen=True)
class HanSpec:
    """Parameters for the HAN/back-office side (passed through to the real path)."""

    wan_latency_s: float = 2.0  # each way, DSP <-> Comms Hub
    wan_jitter_s: float = 0.0  # uniform 0..jitter added to each way
    wan_loss: float = 0.0  # probability each way is lost (the DSP then answers E21)
    han_latency_s: float = 0.05
    srv_timeout_s: float = 30.0  # the DNO stops waiting for a response

    def __post_init__(self) -> None:
        if not 0.0 <= self.wan_loss <= 1.0:
            raise ValueError(f"wan_loss must be 0..1, not {self.wan_loss}")
        if min(self.wan_latency_s, self.wan_jitter_s, self.han_latency_s) < 0:
            raise ValueError("latencies and jitter must be >= 0")
        if self.srv_timeout_s <= 0:
            raise ValueError("srv_timeout_s must be positive")


@dataclass(frozen=True)
class ScenarioEvent:
    at_s: float
    kind: str  # boost | silence | unjoin | withdraw
    target: str  # "curtailed:N", "candidate:N" or a premises number "P007"


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    seed: int
    start_utc: dt.datetime
    duration_s: float
    step_s: float
    feeder_id: str
    premises: int
    rating_kw: float
    households: HouseholdParams
    ev: EvParams
    consent: ConsentSpec
    governance: GovernanceSpec
    dno: MonitorParams
    han: HanSpec
    events: tuple[ScenarioEvent, ...] = field(default_factory=tuple)
    source: Path | None = None

    @property
    def start_hour(self) -> float:
        t = self.start_utc
        return t.hour + t.minute / 60.0 + t.second / 3600.0

    def with_overrides(self, **changes) -> Scenario:
        return dataclasses.replace(self, **changes)


def available() -> list[str]:
    return sorted(p.stem for p in SCENARIO_DIR.glob("*.toml"))


def resolve(name_or_path: str | Path | None) -> Path:
    """A scenario name (a file in ``scenarios/``) or a path to a TOML file."""
    if name_or_path is None:
        name_or_path = DEFAULT_SCENARIO
    path = Path(name_or_path)
    if path.suffix == ".toml" and path.is_file():
        return path
    candidate = SCENARIO_DIR / f"{name_or_path}.toml"
    if candidate.is_file():
        return candidate
    raise ScenarioError(
        f"no scenario {str(name_or_path)!r}; built in: {', '.join(available())} (or a .toml path)"
    )


def load(name_or_path: str | Path | None = None) -> Scenario:
    path = resolve(name_or_path)
    return parse(_read(path, ()), path)


def _read(path: Path, chain: tuple[Path, ...]) -> dict:
    """The file's tables, on top of the scenario it ``extends`` (tables merge, lists replace)."""
    if path in chain:
        raise ScenarioError(f"{path.name}: 'extends' loops back to itself")
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{path.name}: not valid TOML: {err}") from err
    base_name = data.pop("extends", None)
    if base_name is None:
        return data
    if not isinstance(base_name, str):
        raise ScenarioError(f"{path.name}: extends must be a scenario name")
    base_path = (
        resolve(base_name) if not (path.parent / base_name).is_file() else path.parent / base_name
    )
    return _merge(_read(base_path, (*chain, path)), data)


def _merge(base: dict, top: dict) -> dict:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _convert(value, hint, where: str):
    origin = typing.get_origin(hint)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ScenarioError(f"{where}: expected a number, got {value!r}")
        return float(value)
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ScenarioError(f"{where}: expected an integer, got {value!r}")
        return value
    if hint is bool:
        if not isinstance(value, bool):
            raise ScenarioError(f"{where}: expected true or false, got {value!r}")
        return value
    if hint is str:
        if not isinstance(value, str):
            raise ScenarioError(f"{where}: expected a string, got {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, list):
            raise ScenarioError(f"{where}: expected a list, got {value!r}")
        inner = typing.get_args(hint)[0]
        return tuple(_convert(v, inner, where) for v in value)
    if origin in (types.UnionType, typing.Union):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return _convert(value, args[0], where)
    raise ScenarioError(f"{where}: unsupported type {hint}")


def _build(cls, table, section: str, path: Path):
    if table is None:
        return cls()
    if not isinstance(table, dict):
        raise ScenarioError(f"{path.name}: [{section}] must be a table")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in table.items():
        if key not in names:
            raise ScenarioError(
                f"{path.name}: unknown key [{section}].{key}; known: {', '.join(sorted(names))}"
            )
        kwargs[key] = _convert(value, hints[key], f"{path.name}: [{section}].{key}")
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as err:
        raise ScenarioError(f"{path.name}: [{section}]: {err}") from err


def _require(table: dict, key: str, kind, where: str):
    if key not in table:
        raise ScenarioError(f"{where}: missing {key}")
    return _convert(table[key], kind, f"{where}.{key}")


def parse(data: dict, path: Path) -> Scenario:
    known = {
        "name",
        "description",
        "seed",
        "time",
        "feeder",
        "households",
        "ev",
        "consent",
        "governance",
        "dno",
        "han",
        "event",
    }
    for key in data:
        if key not in known:
            raise ScenarioError(f"{path.name}: unknown top-level key {key!r}")
    time = data.get("time", {})
    feeder = data.get("feeder", {})
    start_raw = time.get("start_utc", "2026-01-15T16:00:00Z")
    try:
        start = dt.datetime.fromisoformat(str(start_raw).replace("Z", "+00:00"))
    except ValueError as err:
        raise ScenarioError(f"{path.name}: [time].start_utc: {err}") from err
    if start.tzinfo is None:
        start = start.replace(tzinfo=dt.UTC)
    duration_h = _require(time, "duration_h", float, f"{path.name}: [time]")
    step_s = _convert(time.get("step_s", 30.0), float, f"{path.name}: [time].step_s")
    if not 1.0 <= step_s <= 60.0:
        raise ScenarioError(f"{path.name}: [time].step_s must be 1..60 s, not {step_s}")
    if duration_h <= 0:
        raise ScenarioError(f"{path.name}: [time].duration_h must be positive")
    premises = _require(feeder, "premises", int, f"{path.name}: [feeder]")
    if not MIN_PREMISES <= premises <= MAX_PREMISES:
        raise ScenarioError(
            f"{path.name}: [feeder].premises must be {MIN_PREMISES}..{MAX_PREMISES}, not {premises}"
        )
    rating = _require(feeder, "rating_kw", float, f"{path.name}: [feeder]")
    events = []
    for i, raw in enumerate(data.get("event", [])):
        where = f"{path.name}: [[event]] #{i + 1}"
        at_min = _require(raw, "at_min", float, where)
        kind = _require(raw, "kind", str, where)
        if kind not in EVENT_KINDS:
            raise ScenarioError(f"{where}: kind must be one of {', '.join(EVENT_KINDS)}")
        target = _require(raw, "target", str, where)
        unknown = set(raw) - {"at_min", "kind", "target"}
        if unknown:
            raise ScenarioError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        events.append(ScenarioEvent(at_min * 60.0, kind, target))
    return Scenario(
        name=_convert(data.get("name", path.stem), str, f"{path.name}: name"),
        description=_convert(data.get("description", ""), str, f"{path.name}: description"),
        seed=_convert(data.get("seed", 1), int, f"{path.name}: seed"),
        start_utc=start,
        duration_s=duration_h * 3600.0,
        step_s=step_s,
        feeder_id=_convert(feeder.get("id", "LV-FEEDER-1"), str, f"{path.name}: [feeder].id"),
        premises=premises,
        rating_kw=rating,
        households=_build(HouseholdParams, data.get("households"), "households", path),
        ev=_build(EvParams, data.get("ev"), "ev", path),
        consent=_build(ConsentSpec, data.get("consent"), "consent", path),
        governance=_build(GovernanceSpec, data.get("governance"), "governance", path),
        dno=_build(MonitorParams, data.get("dno"), "dno", path),
        han=_build(HanSpec, data.get("han"), "han", path),
        events=tuple(sorted(events, key=lambda e: e.at_s)),
        source=path,
    )
