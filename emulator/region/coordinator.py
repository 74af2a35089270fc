"""The coordinator: shards of feeders advance window by window; between windows it runs the
shared DSP/WAN queue over every SRV the window produced and hands back the answers.

Why the windows are exact (``docs/region.md``): an SRV cannot act anywhere sooner than the
path's least latency L (``WanParams.lookahead_s``: DSP + CSP + last mile + HAN). If T is the
earliest event pending anywhere (a feeder's next step, an answer's delivery), no SRV is sent
before T, so nothing any shard could hear from another lands before T + L: every shard may run
to T + L on what it knows (conservative lookahead, as in Chandy-Misra simulation). The shared
path then serves the window's SRVs in the order (time, feeder, SRV number), which no sharding
changes, so 1 and 2 workers give the same answers bit for bit.

Execution: ``InlineExecutor`` runs the shards in this process (tests, a region of one);
``DaskExecutor`` runs each shard as an actor on a dask.distributed cluster (a LocalCluster by
default, ``address`` for a running scheduler). A shard whose worker dies is rebuilt on another
worker and replayed from the log of its windows (what it was told, what it sent) up to the
window it was in: its sends are checked against the log and not served again, so nothing is
counted twice.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from emulator.errors import EmulatorError
from emulator.region.shard import Answers, Shard, Step, Subs
from emulator.region.spec import Region
from emulator.region.wan import SharedPath, Submission, WanParams

log = logging.getLogger(__name__)


class RegionRunError(EmulatorError, RuntimeError):
    """A region run that cannot go on (a lookahead of 0, a shard that replays differently)."""


class ShardLost(Exception):
    """The worker holding a shard went away (raised by executors, handled here)."""


class ShardHandle(Protocol):
    def advance(self, until: float, answers: Answers) -> Step: ...

    def replay(self, log: list[tuple[float, Answers]]) -> list[Subs]: ...

    def stats(self) -> dict[str, float]: ...

    def results(self) -> list[dict[str, Any]]: ...


class Executor(Protocol):
    workers: int

    def start(self, region: Region, shards: list[list[int]]) -> None: ...

    def advance_all(self, until: float, answers: list[Answers]) -> list[Step | ShardLost]: ...

    def advance_one(self, shard: int, until: float, answers: Answers) -> Step | ShardLost: ...

    def rebuild(self, shard: int) -> None: ...

    def replay(self, shard: int, log: list[tuple[float, Answers]]) -> list[Subs]: ...

    def stats(self) -> list[dict[str, float]]: ...

    def results(self) -> list[list[dict[str, Any]]]: ...

    def close(self) -> None: ...


class InlineExecutor:
    """Every shard in this process, one after another (no engine needed)."""

    def __init__(self, shards_per_worker: int = 1) -> None:
        self.workers = 0
        self.shards: list[Shard] = []
        self._region: Region | None = None
        self._indices: list[list[int]] = []

    def start(self, region: Region, shards: list[list[int]]) -> None:
        self._region, self._indices = region, shards
        self.shards = [Shard(region, ix) for ix in shards]

    def advance_all(self, until: float, answers: list[Answers]) -> list[Step | ShardLost]:
        return [s.advance(until, a) for s, a in zip(self.shards, answers, strict=True)]

    def advance_one(self, shard: int, until: float, answers: Answers) -> Step | ShardLost:
        return self.shards[shard].advance(until, answers)

    def rebuild(self, shard: int) -> None:
        assert self._region is not None
        self.shards[shard].close()
        self.shards[shard] = Shard(self._region, self._indices[shard])

    def replay(self, shard: int, log: list[tuple[float, Answers]]) -> list[Subs]:
        return self.shards[shard].replay(log)

    def stats(self) -> list[dict[str, float]]:
        return [s.stats() for s in self.shards]

    def results(self) -> list[list[dict[str, Any]]]:
        return [s.results() for s in self.shards]

    def close(self) -> None:
        for s in self.shards:
            s.close()


@dataclass
class WindowSeen:
    """Told to ``on_window`` after each window: for progress bars and fault injection."""

    index: int
    until: float
    fraction: float
    submissions: int
    pids: list[int]
    wall_s: float
    srvs_answered: int = 0  # so far, the region's SRVs the shared path has answered
    srvs_late: int = 0  # ... of them answered after 30 s or not at all


@dataclass
class RegionRun:
    """What a region run produced, before any file is written."""

    region: Region
    params: WanParams
    rows: list[dict[str, Any]]  # one per feeder, in feeder order
    windows: int
    wall_s: float
    workers: int
    shards: int
    rebuilt: list[tuple[int, int]]  # (window, shard) where a lost shard was rebuilt
    worker_stats: list[dict[str, float]]
    path_stats: dict[str, float] = field(default_factory=dict)
    coordinator_s: float = 0.0  # wall time in the coordinator's own work (the shared path)
    start_s: float = 0.0  # wall time to start the shards (draw the feeders, spawn actors)


def shard_indices(count: int, shards: int) -> list[list[int]]:
    """Feeders dealt round-robin (sizes vary with the draw, so neighbours are spread)."""
    shards = max(1, min(shards, count))
    return [list(range(i, count, shards)) for i in range(shards)]


def run_region(
    region: Region,
    executor: Executor,
    *,
    option: str | None = None,
    shards: int | None = None,
    on_window: Callable[[WindowSeen], None] | None = None,
) -> RegionRun:
    """Run every feeder of ``region`` through the shared path of ``option`` on ``executor``."""
    params = WanParams.for_region(region, option)
    lookahead = params.lookahead_s
    if not lookahead > 0 or lookahead > params.timeout_s:
        executor.close()  # the caller handed it over to be run and closed
    if not lookahead > 0:
        raise RegionRunError(
            f"the path's least latency is {lookahead} s: windows need a positive lookahead "
            "(give the DSP, the CSP or the radio some latency)"
        )
    if lookahead > params.timeout_s:
        raise RegionRunError(
            f"the path's least latency ({lookahead:.1f} s) is over the DNO's timeout "
            f"({params.timeout_s:.0f} s): every SRV would time out"
        )
    started = time.perf_counter()
    count = region.feeders.count
    plan = shard_indices(count, shards or max(1, executor.workers))
    shard_of = {f: k for k, ix in enumerate(plan) for f in ix}
    path = SharedPath(params, region.seed)
    executor.start(region, plan)
    start_s = time.perf_counter() - started
    coordinator_s = 0.0
    logs: list[list[tuple[float, Answers]]] = [[] for _ in plan]
    sent_logs: list[list[Subs]] = [[] for _ in plan]
    rebuilt: list[tuple[int, int]] = []
    next_event = [0.0] * len(plan)
    answers: list[Answers] = [[] for _ in plan]
    due = math.inf  # the earliest time an answer handed out acts
    window = 0
    answered_so_far = late_so_far = 0
    try:
        while True:
            t_next = min(min(next_event), due)
            if math.isinf(t_next):
                break
            until = t_next + lookahead
            steps = executor.advance_all(until, answers)
            mark = time.perf_counter()
            for k, step in enumerate(steps):
                if isinstance(step, ShardLost):
                    steps[k] = _recover(executor, k, logs[k], sent_logs[k], until, answers[k])
                    rebuilt.append((window, k))
            subs: list[Submission] = []
            for k, step in enumerate(steps):
                assert isinstance(step, Step)
                logs[k].append((until, answers[k]))
                sent_logs[k].append(step.submissions)
                next_event[k] = step.next_event
                subs.extend(Submission(t, f, seq, srv) for t, f, seq, srv in step.submissions)
            answered = path.process(subs, until)
            answers = [[] for _ in plan]
            due = math.inf
            sent_at = {(s.feeder, s.seq): s.t for s in subs}
            answered_so_far += len(answered)
            for a in answered:
                if not a.responded_at - sent_at[(a.feeder, a.seq)] <= params.timeout_s:
                    late_so_far += 1  # nan (lost or timed out) compares False too
                answers[shard_of[a.feeder]].append(
                    (a.feeder, a.seq, a.executed_at, a.responded_at, a.queued_s)
                )
                # what the shard will do first with it: the switch acts, the response comes,
                # or (no response) the DNO gives up waiting
                gives_up = sent_at[(a.feeder, a.seq)] + params.timeout_s
                first = min(t for t in (a.executed_at, a.responded_at, gives_up) if t == t)
                due = min(due, first)
            window += 1
            coordinator_s += time.perf_counter() - mark
            if on_window is not None:
                on_window(WindowSeen(
                    window, until, min(1.0, until / region.duration_s), len(subs),
                    [int(s.pid) for s in steps if isinstance(s, Step)],
                    time.perf_counter() - started, answered_so_far, late_so_far,
                ))  # fmt: skip
        stats = executor.stats()
        rows = sorted((r for part in executor.results() for r in part), key=lambda r: r["index"])
    finally:
        executor.close()
    return RegionRun(
        region=region,
        params=params,
        rows=rows,
        windows=window,
        wall_s=time.perf_counter() - started,
        workers=executor.workers,
        shards=len(plan),
        rebuilt=rebuilt,
        worker_stats=stats,
        path_stats={
            "srvs": path.srvs,
            "background": path.background,
            "background_wait_s_mean": float(path.background_wait_s / path.background)
            if path.background
            else 0.0,
            "lost": path.lost,
        },
        coordinator_s=coordinator_s,
        start_s=start_s,
    )


def _recover(
    executor: Executor, k: int, log_k: list[tuple[float, Answers]], sent_k: list[Subs],
    until: float, answers: Answers,
) -> Step:  # fmt: skip
    """Rebuild shard ``k`` and bring it to where it was: replay its windows from the log,
    check it sends what it sent before (those SRVs were served already: they are not served
    again), then run the window it was lost in."""
    for attempt in range(3):
        try:
            executor.rebuild(k)
            again = executor.replay(k, log_k)
            if again != sent_k:
                raise RegionRunError(
                    f"shard {k} replayed differently: the run is not deterministic"
                )
            step = executor.advance_one(k, until, answers)
            if isinstance(step, Step):
                return step
        except ShardLost as err:
            log.warning(
                "shard %d lost again while recovering (attempt %d): %s", k, attempt + 1, err
            )
    raise RegionRunError(f"shard {k} could not be recovered after 3 attempts")


def summarise_rows(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The region's figures from its feeders' rows."""
    response = np.array([r for row in rows for r in row["response_s"]], dtype=float)
    delivery = np.array([d for row in rows for d in row["delivery_s"]], dtype=float)
    queued = np.array([q for row in rows for q in row["queued_s"]], dtype=float)
    srvs = sum(row["srv_count"] for row in rows)
    within = sum(row["srv_within_30s"] for row in rows)
    needed = sum(row["energy_needed_kwh"] for row in rows)
    in_time = sum(row["energy_shed_in_time_kwh"] for row in rows)
    over = [row for row in rows if row["minutes_over_rating"] > 0]

    def pct(values: np.ndarray, q: float) -> float | None:
        return round(float(np.percentile(values, q)), 3) if values.size else None

    return {
        "feeders": len(rows),
        "premises": sum(row["premises"] for row in rows),
        "srv_count": srvs,
        "srv_within_30s": within,
        "share_within_30s": round(within / srvs, 4) if srvs else None,
        "srv_unanswered": sum(row["srv_unanswered"] for row in rows),
        "response_s": {f"p{q}": pct(response, q) for q in (50, 90, 99)}
        | {"max": round(float(response.max()), 3) if response.size else None},
        "delivery_s": {f"p{q}": pct(delivery, q) for q in (50, 90, 99)}
        | {"max": round(float(delivery.max()), 3) if delivery.size else None},
        "queued_s_mean": round(float(queued.mean()), 4) if queued.size else None,
        "energy_needed_kwh": round(needed, 3),
        "energy_shed_in_time_kwh": round(in_time, 3),
        "shed_in_time_share": round(in_time / needed, 4) if needed > 0 else None,
        "feeders_over_rating": len(over),
        "feeder_minutes_over_rating": round(sum(row["minutes_over_rating"] for row in rows), 1),
        "longest_over_rating_min": max(
            (row["longest_over_rating_min"] for row in rows), default=0.0
        ),
        "feeders_needing_curtailment": sum(1 for row in rows if row["energy_needed_kwh"] > 0),
        "customers_affected": sum(row["customers_affected"] for row in rows),
        "declined_premises_switched": sum(row["declined_premises_switched"] for row in rows),
    }
