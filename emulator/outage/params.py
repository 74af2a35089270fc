"""Region parameter files (`data/<region>.toml`): the baseline ('current') model of a region
and the named strategies that change it. Each value's reasoning sits beside it in the file.

A strategy is a table of overrides on the baseline (dotted keys such as `poa.window_s`), and may
start from another strategy (`base = "option-b"`), so the DCC's options and ours are compared on
the same model.
"""

from __future__ import annotations

import copy
import tomllib
from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path

from emulator.errors import EmulatorError

PARAMS_DIR = Path(__file__).resolve().parent / "data"
REGIONS = ("north", "central-south")
BASELINE = "current"


class RadioKind(StrEnum):
    """The WAN technology of a region (`radio.kind` in a parameter file)."""

    NARROWBAND = "narrowband"  # a shared slotted channel per cell
    CELLULAR = "cellular"  # a per-cell access queue


class Sender(StrEnum):
    """Who sends an alert (`poa.sender` / `pra.sender` in a parameter file)."""

    HUB = "hub"  # the Comms Hub, on its holdup supply (POA) or back on mains (PRA)
    LAST_GASP = "last-gasp"  # POA: a hub with no holdup, restarting onto its backup supply
    ESME = "esme"  # PRA: the meter


#: The senders each alert may name, as the parameter files spell them.
SENDERS = {"poa": (Sender.HUB.value, Sender.LAST_GASP.value),
           "pra": (Sender.HUB.value, Sender.ESME.value)}  # fmt: skip


class OutageParamError(EmulatorError, ValueError):
    """A parameter file or strategy is missing, unknown or has a bad value (says which)."""


@dataclass(frozen=True)
class Hub:
    holdup_s: tuple[float, float]  # supply kept up by battery/supercap after mains loss
    boot_s: tuple[float, float]  # restart after restoration when the holdup ran out
    # Last-gasp hubs only: from mains loss until the hub can send (restart onto its backup
    # supply and back on the network).
    restart_on_loss_s: tuple[float, float] = (0.0, 0.0)


@dataclass(frozen=True)
class Radio:
    kind: str  # a RadioKind
    homes_per_cell: int
    channels: int = 1
    slot_s: float = 1.0
    frame_loss: float = 0.0
    retries: int = 0
    retry_s: tuple[float, float] = (0.0, 0.0)
    access_per_s: float = 0.0  # cellular: signalling capacity per cell (0 = unlimited)
    attach_s: tuple[float, float] = (0.0, 0.0)  # cellular: network attach after a boot
    attach_per_s: float = 0.0  # cellular: attaches a cell admits per second (0 = unlimited)


@dataclass(frozen=True)
class Path_:
    sender: str  # a Sender: POA hub or last-gasp; PRA hub or esme
    dither_s: float  # hub's random dither, uniform 0..dither_s
    window_s: float  # CSP-allotted alert window, uniform 0..window_s
    backend_per_s: float  # CSP systems → DSP throttle, sustained rate; 0 = unlimited
    backend_latency_s: float
    dsp_per_s: float  # DSP throughput; 0 = unlimited
    dsp_latency_s: float
    backend_burst: int = 1  # the throttle's token bucket: items let through at once
    adaptive_window: bool = False  # ours: size the window to the cell's load
    scheduled: bool = False  # ours: each hub has its own first slot in its cell's schedule
    target_load: float = 0.5  # frames per slot (narrowband) or share of access capacity
    summary_interval_s: float = 0.0  # ours: summarise per cell at the head end (0 = off)


@dataclass(frozen=True)
class Model:
    region: str
    strategy: str
    title: str
    source: str
    hub: Hub
    radio: Radio
    poa: Path_
    pra: Path_


_SECTIONS = {"hub": Hub, "radio": Radio, "poa": Path_, "pra": Path_}


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _build(cls, table: dict, where: str):
    names = {f.name: f for f in fields(cls)}
    unknown = set(table) - set(names)
    if unknown:
        raise OutageParamError(f"{where}: unknown key(s) {sorted(unknown)}")
    values = {}
    for name, f in names.items():
        if name not in table:
            continue  # required fields without a default are reported by the constructor
        value = table[name]
        if f.type.startswith("tuple"):
            if not (isinstance(value, list) and len(value) == 2 and 0 <= value[0] <= value[1]):
                raise OutageParamError(f"{where}.{name}: want [low, high] >= 0, got {value!r}")
            value = (float(value[0]), float(value[1]))
        elif f.type in ("float", "int"):
            if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                raise OutageParamError(f"{where}.{name}: want a number >= 0, got {value!r}")
            if f.type == "int" and value != int(value):
                raise OutageParamError(f"{where}.{name}: want a whole number, got {value!r}")
            value = int(value) if f.type == "int" else float(value)
        elif f.type == "bool" and not isinstance(value, bool):
            raise OutageParamError(f"{where}.{name}: want true or false, got {value!r}")
        elif f.type == "str" and not isinstance(value, str):
            raise OutageParamError(f"{where}.{name}: want text, got {value!r}")
        values[name] = value
    try:
        return cls(**values)
    except TypeError as exc:
        raise OutageParamError(f"{where}: {exc}") from exc


def load_region(region: str, path: Path | None = None) -> dict:
    """The raw table of one region's file (baseline and strategies)."""
    if region not in REGIONS:
        raise OutageParamError(f"unknown region {region!r}; regions: {', '.join(REGIONS)}")
    path = path or PARAMS_DIR / f"{region.replace('-', '_')}.toml"
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise OutageParamError(f"{path}: {exc}") from exc


def strategies(region: str) -> list[str]:
    """The strategy names a region's file defines, the baseline first."""
    return [BASELINE, *load_region(region).get("strategy", {})]


def model(region: str, strategy: str = BASELINE, table: dict | None = None) -> Model:
    """The region's baseline with `strategy`'s overrides (and those it is based on) applied."""
    table = table if table is not None else load_region(region)
    known = table.get("strategy", {})
    chain: list[str] = []
    name = strategy
    while name != BASELINE:
        if name not in known:
            raise OutageParamError(
                f"{region}: unknown strategy {name!r}; known: {BASELINE}, {', '.join(known)}"
            )
        if name in chain:
            raise OutageParamError(f"{region}: strategy {name!r} is based on itself")
        chain.append(name)
        name = known[name].get("base", BASELINE)
    merged = {k: table.get(k, {}) for k in _SECTIONS}
    title, source = table.get("title", region), table.get("source", "")
    for name in reversed(chain):
        over = dict(known[name])
        over.pop("base", None)
        title, source = over.pop("title", name), over.pop("source", "")
        extra = set(over) - set(_SECTIONS)
        if extra:
            raise OutageParamError(f"{region}.strategy.{name}: unknown key(s) {sorted(extra)}")
        merged = _merge(merged, over)
    parts = {k: _build(cls, merged[k], f"{region}.{k}") for k, cls in _SECTIONS.items()}
    for key in ("poa", "pra"):
        sender = parts[key].sender
        allowed = SENDERS[key]
        if sender not in allowed:
            raise OutageParamError(f"{region}.{key}.sender: {sender!r} not in {allowed}")
    if parts["radio"].kind not in tuple(RadioKind):
        raise OutageParamError(f"{region}.radio.kind: {parts['radio'].kind!r}")
    radio = parts["radio"]
    if radio.homes_per_cell < 1 or radio.channels < 1:
        raise OutageParamError(f"{region}.radio: homes_per_cell and channels must be >= 1")
    if radio.slot_s <= 0:
        raise OutageParamError(f"{region}.radio.slot_s: want > 0, got {radio.slot_s}")
    if radio.frame_loss > 1:
        raise OutageParamError(f"{region}.radio.frame_loss: want 0..1, got {radio.frame_loss}")
    for key in ("poa", "pra"):
        path = parts[key]
        if path.target_load <= 0:
            raise OutageParamError(f"{region}.{key}.target_load: want > 0")
        if path.backend_burst < 1:
            raise OutageParamError(f"{region}.{key}.backend_burst: want >= 1")
    return Model(region, strategy, title, source, **parts)
