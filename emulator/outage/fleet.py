"""N homes hit by one outage: when each home's Power Outage Alert (POA) and Power Restoration
Alert (PRA) reach the DNO, under one region's model (`params.Model`).

Times: POA from the outage start, PRA from restoration; NaN = never delivered. The POA and
the PRA of one outage are simulated apart (the default outage, 60 minutes, is long enough that
they do not share the channel; docs/outage.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .channels import grouped_fifo, slotted_contention, summarise
from .params import Model, Path_, RadioKind, Sender
from .rules import OUTAGE_REPORTABLE_S

DEFAULT_OUTAGE_S = 3600.0
DEFAULT_SEED = 20210305  # the date of the SECAS paper (seed 003): any fixed seed will do


@dataclass(frozen=True)
class Outcome:
    model: Model
    homes: int
    outage_s: float
    seed: int
    poa_s: np.ndarray  # per home, from the outage start; NaN = no POA delivered
    pra_s: np.ndarray  # per home, from restoration; NaN = no PRA delivered
    frames: int  # radio frames sent (all attempts, both alerts)


def _u(rng: np.random.Generator, span: tuple[float, float] | float, n: int) -> np.ndarray:
    lo, hi = span if isinstance(span, tuple) else (0.0, float(span))
    return rng.uniform(lo, hi, n) if hi > lo else np.full(n, lo)


def _rank_in_cell(cell: np.ndarray) -> np.ndarray:
    order = np.argsort(cell, kind="stable")
    sorted_cells = cell[order]
    starts = np.searchsorted(sorted_cells, sorted_cells, side="left")
    rank = np.empty(cell.size, dtype=np.int64)
    rank[order] = np.arange(cell.size) - starts
    return rank


def _spread(
    path: Path_, model: Model, cell: np.ndarray, homes_in_cell: np.ndarray, rng
) -> tuple[np.ndarray, np.ndarray | None]:
    """When, after its trigger and dither, each hub makes its first try (and on which channel
    when that is scheduled): the CSP's fixed window; (ours, adaptive) a window just wide enough
    that the cell's hubs offer `target_load` of its capacity; or (ours, scheduled) the hub's own
    slot, by its rank in the cell, so first tries never collide."""
    radio = model.radio
    n = cell.size
    if radio.kind == RadioKind.NARROWBAND:
        per_s = radio.channels / radio.slot_s
    else:
        per_s = radio.access_per_s or np.inf
    if path.scheduled:
        rank = _rank_in_cell(cell)
        if radio.kind == RadioKind.NARROWBAND:
            # mid-slot, so rounding never moves a hub into its neighbour's slot
            return (rank // radio.channels + 0.5) * radio.slot_s, rank % radio.channels
        return rank / per_s, None
    if path.adaptive_window:
        return rng.uniform(0.0, 1.0, n) * homes_in_cell / (per_s * path.target_load), None
    return _u(rng, path.window_s, n), None


def _uplink(
    t: np.ndarray,
    deadline: np.ndarray,
    cell: np.ndarray,
    model: Model,
    rng: np.random.Generator,
    first_channel: np.ndarray | None,
) -> tuple[np.ndarray, int]:
    radio = model.radio
    if radio.kind == RadioKind.NARROWBAND:
        return slotted_contention(
            t, deadline, cell, channels=radio.channels, slot_s=radio.slot_s,
            frame_loss=radio.frame_loss, retries=radio.retries, retry_s=radio.retry_s, rng=rng,
            first_channel=first_channel,
        )  # fmt: skip
    sent = ~np.isnan(t) & (t < deadline)
    out = grouped_fifo(np.where(sent, t, np.nan), cell, radio.access_per_s)
    out[out > deadline] = np.nan  # the hub died waiting for the channel
    return out, int(sent.sum())


def _backend(t: np.ndarray, cell: np.ndarray, path: Path_) -> np.ndarray:
    """Head end (CSP systems, with its throttle towards the DSP), then the DSP, to the DNO;
    summarised per cell first when the strategy says so."""
    if path.summary_interval_s > 0:
        release, which = summarise(t, cell, path.summary_interval_s)
        single = np.zeros(release.size, dtype=np.int64)
        msg = grouped_fifo(release, single, path.backend_per_s, path.backend_burst)
        msg = msg + path.backend_latency_s
        msg = grouped_fifo(msg, single, path.dsp_per_s) + path.dsp_latency_s
        out = np.full(t.shape, np.nan)
        out[which >= 0] = msg[which[which >= 0]]
        return out
    single = np.zeros(t.shape, dtype=np.int64)
    t = grouped_fifo(t, single, path.backend_per_s, path.backend_burst) + path.backend_latency_s
    return grouped_fifo(t, single, path.dsp_per_s) + path.dsp_latency_s


def simulate(
    model: Model, homes: int, outage_s: float = DEFAULT_OUTAGE_S, seed: int = DEFAULT_SEED
) -> Outcome:
    """One outage of `outage_s` seconds hitting `homes` homes, each with its own hub."""
    if homes < 1:
        raise ValueError(f"homes must be >= 1, got {homes}")
    if outage_s < 0:
        raise ValueError(f"outage_s must be >= 0, got {outage_s}")
    rng = np.random.default_rng(seed)
    radio = model.radio
    cells = -(-homes // radio.homes_per_cell)
    cell = rng.permutation(np.arange(homes) % cells)
    homes_in_cell = np.bincount(cell, minlength=cells)[cell].astype(float)
    holdup = _u(rng, model.hub.holdup_s, homes)
    # Power is back at outage_s: a hub whose holdup outlasts the outage never goes down.
    powered_until = np.where(holdup < outage_s, holdup, np.inf)
    frames = 0

    poa = np.full(homes, np.nan)
    if outage_s >= OUTAGE_REPORTABLE_S:
        path = model.poa
        offset, first_channel = _spread(path, model, cell, homes_in_cell, rng)
        spread = _u(rng, path.dither_s, homes) + offset
        if path.sender == Sender.HUB:  # the hub waits out the 3 minutes on its holdup, then sends
            t = OUTAGE_REPORTABLE_S + spread
        else:  # last gasp; the CSP raises the AD1 3 minutes after it, unless power is back
            t = _u(rng, model.hub.restart_on_loss_s, homes) + spread
        t[t >= powered_until] = np.nan
        t, sent = _uplink(t, powered_until, cell, model, rng, first_channel)
        frames += sent
        if path.sender == Sender.LAST_GASP:
            t = t + OUTAGE_REPORTABLE_S
        poa = _backend(t, cell, path)

    path = model.pra
    down = np.isfinite(powered_until)
    t = np.where(down, _u(rng, model.hub.boot_s, homes), 0.0)
    if radio.kind == RadioKind.CELLULAR:
        t = t + np.where(down, _u(rng, radio.attach_s, homes), 0.0)
        t = np.where(down, grouped_fifo(np.where(down, t, np.nan), cell, radio.attach_per_s), t)
    offset, first_channel = _spread(path, model, cell, homes_in_cell, rng)
    t = t + _u(rng, path.dither_s, homes) + offset
    t, sent = _uplink(t, np.full(homes, np.inf), cell, model, rng, first_channel)
    frames += sent
    pra = _backend(t, cell, path)
    return Outcome(model, homes, float(outage_s), seed, poa, pra, frames)
