"""Vectorised building blocks of the fleet model: queues, a shared slotted radio channel with
collisions and retries, and summarising by location. Every function takes and returns one
float array of times in seconds, one entry per alert; NaN means "never delivered".

Why vectorised: 30,000 hubs × several attempts must simulate in well under a second, so no
per-hub Python loop; each stage is a few numpy passes.
"""

from __future__ import annotations

import numpy as np


def grouped_fifo(
    arrivals: np.ndarray, groups: np.ndarray, per_s: float, burst: int = 1
) -> np.ndarray:
    """Departure times through one first-in-first-out throttle per group: a token bucket that
    lets `burst` items straight through and then `per_s` a second (burst 1: a plain rate
    limit). NaN arrivals stay NaN and take no token; per_s 0 means no limit.

    The greedy shaper gives d_i = max(a_i, max_{j: k_i - k_j >= burst} (a_j + (k_i - k_j + 1
    - burst) / per_s)) within a group (k = rank in arrival order), which is one running maximum
    of a_j - k_j / per_s over the sorted arrivals, read `burst` places back.
    """
    out = np.full(arrivals.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(arrivals))
    if per_s <= 0 or np.isinf(per_s):
        out[ok] = arrivals[ok]
        return out
    if ok.size == 0:
        return out
    if burst < 1:
        raise ValueError(f"burst must be >= 1, got {burst}")
    order = ok[np.lexsort((arrivals[ok], groups[ok]))]
    a, g = arrivals[order], groups[order]
    new_group = np.r_[True, g[1:] != g[:-1]]
    starts = np.flatnonzero(new_group)
    rank = np.arange(a.size) - np.repeat(starts, np.diff(np.r_[starts, a.size]))
    x = a - rank / per_s
    # Lift each group above the one before by more than any span of x, so one running
    # maximum never carries a value across a group boundary.
    lift = (x.max() - x.min() + 1.0) * np.cumsum(new_group)
    running = np.maximum.accumulate(x + lift) - lift
    d = a.copy()
    late = np.flatnonzero(rank >= burst)
    d[late] = np.maximum(a[late], running[late - burst] + (rank[late] + 1 - burst) / per_s)
    out[order] = d
    return out


def fifo(arrivals: np.ndarray, per_s: float, burst: int = 1) -> np.ndarray:
    """One throttle for everything (the CSP-to-DSP throttle, a processing stage)."""
    return grouped_fifo(arrivals, np.zeros(arrivals.shape, dtype=np.int64), per_s, burst)


def slotted_contention(
    ready: np.ndarray,
    deadline: np.ndarray,
    cell: np.ndarray,
    *,
    channels: int,
    slot_s: float,
    frame_loss: float,
    retries: int,
    retry_s: tuple[float, float],
    rng: np.random.Generator,
    first_channel: np.ndarray | None = None,
) -> tuple[np.ndarray, int]:
    """A shared narrow-band uplink: each cell has `channels` channels of slots `slot_s` long;
    two or more frames in the same cell, channel and slot collide and are all lost; a frame
    alone is still lost with probability `frame_loss`. A hub that gets no acknowledgement
    tries again after a back-off drawn from `retry_s`, at most `retries` more times, and only
    while it is powered (time < `deadline`).

    `first_channel` fixes each hub's channel for its first attempt (a scheduled slot); resends
    pick a channel at random.

    Returns (time the frame got through, NaN if never; number of frames sent). Every attempt
    time and channel is drawn up front, so the collision pattern is found by a fixpoint: start
    with first attempts only, and add a hub's next attempt whenever its latest one failed.
    Adding frames can only turn successes into failures, so this converges.
    """
    n = ready.size
    attempts = retries + 1
    times = np.empty((n, attempts))
    times[:, 0] = ready
    if attempts > 1:
        backoff = rng.uniform(retry_s[0], retry_s[1], size=(n, attempts - 1))
        times[:, 1:] = ready[:, None] + np.cumsum(backoff, axis=1)
    chan = rng.integers(0, channels, size=(n, attempts))
    if first_channel is not None:
        chan[:, 0] = first_channel
    lost = rng.random((n, attempts)) < frame_loss
    slot = np.floor(times / slot_s)
    sendable = ~np.isnan(times) & (times < deadline[:, None])
    # One key per (cell, channel, slot): slots are bounded by the simulated horizon.
    horizon = np.nanmax(np.where(sendable, slot, 0)) + 1 if sendable.any() else 1
    key = (cell[:, None] * channels + chan) * horizon + np.where(sendable, slot, 0)
    active = np.zeros((n, attempts), dtype=bool)
    active[:, 0] = sendable[:, 0]
    last = np.zeros(n, dtype=np.int64)
    rows = np.arange(n)
    while True:
        keys = key[active]
        uniq, counts = np.unique(keys, return_counts=True)
        crowded = uniq[counts > 1]
        collided = np.isin(key, crowded) & active
        failed = active[rows, last] & (collided[rows, last] | lost[rows, last])
        nxt = last + 1
        grow = failed & (nxt < attempts)
        grow[grow] = sendable[rows[grow], nxt[grow]]
        if not grow.any():
            break
        last[grow] += 1
        active[rows[grow], last[grow]] = True
    through = active & ~collided & ~lost
    first_ok = np.argmax(through, axis=1)
    got = through[rows, first_ok]
    done = np.full(n, np.nan)
    done[got] = (slot[rows[got], first_ok[got]] + 1) * slot_s
    return done, int(active.sum())


def summarise(
    arrivals: np.ndarray, cell: np.ndarray, interval_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Location-aware summarising at the head end: per receiving cell, the alerts that arrive
    within one `interval_s` go on as one summary message at the end of that interval.

    Returns (release time of each summary, index of each alert's summary or -1 if none)."""
    ok = ~np.isnan(arrivals)
    bucket = np.zeros(arrivals.shape, dtype=np.int64)
    bucket[ok] = np.floor(arrivals[ok] / interval_s).astype(np.int64)
    key = cell.astype(np.int64) * (int(bucket.max(initial=0)) + 1) + bucket
    uniq, index = np.unique(key[ok], return_inverse=True)
    which = np.full(arrivals.shape, -1, dtype=np.int64)
    which[ok] = index
    release = (uniq % (int(bucket.max(initial=0)) + 1) + 1) * interval_s
    return release.astype(float), which
