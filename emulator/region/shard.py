"""A shard: some of the region's feeders, each running the feeder engine (physics, the DNO
monitor) on one simulated event loop, advanced a window at a time by the coordinator.

``advance(until, answers)`` hands the shard the shared path's answers to SRVs it sent
earlier, runs every feeder up to (not including) ``until`` and returns the SRVs they sent
in that window and the time of the shard's next pending event. A shard holds no state the
coordinator cannot rebuild: its feeders are drawn from the region's seed by index, and a
shard rebuilt from scratch and given the same answers window by window sends the same SRVs
(``replay``), which is how a killed worker's shard is recovered.
"""

from __future__ import annotations

import asyncio
import math
import os
import resource
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from emulator.grid import PopulationError
from emulator.region.light import DelayHan, RegionLoop
from emulator.region.spec import Region, draw_feeder
from emulator.region.wan import SRV_TARGET_S, Answer
from emulator.scenario import engine

Answers = list[tuple[int, int, float, float, float]]  # (feeder, seq, executed, responded, queued)
Subs = list[tuple[float, int, int, str]]  # (t, feeder, seq, srv)


@dataclass(frozen=True)
class Step:
    """What ``advance`` returns: the window's SRVs, the next event, the worker's pid."""

    submissions: Subs
    next_event: float
    pid: int
    done: bool


class _Feeder:
    def __init__(self, shard: Shard, index: int, region: Region) -> None:
        self.index = index
        self.shard = shard
        self.plan = draw_feeder(region, index)
        scenario = self.plan.scenario
        try:
            self.population = engine.build_population(scenario)
        except PopulationError as err:  # drawn parameters the feeder model refuses
            raise ValueError(f"feeder {index}: {err}") from err
        self.consent = engine.build_consent(scenario, self.population)
        self.seq = 0
        self.pending: dict[int, asyncio.Future[Answer]] = {}
        self.han = DelayHan(self.population, self.submit, scenario.han.srv_timeout_s,
                            region.wan.discovery_on_path)  # fmt: skip
        self.result: engine.RunResult | None = None

    def submit(self, srv: str) -> tuple[int, asyncio.Future[Answer]]:
        loop = self.shard.loop
        seq, self.seq = self.seq, self.seq + 1
        future: asyncio.Future[Answer] = loop.create_future()
        self.pending[seq] = future
        self.shard.outbox.append((loop.time(), self.index, seq, srv))
        return seq, future

    async def run(self) -> None:
        self.result = await engine.run(
            self.plan.scenario, self.han, self.population, self.consent, now=self.shard.loop.time
        )


class Shard:
    """Feeders ``indices`` of ``region``, on one simulated loop."""

    def __init__(self, region: Region, indices: list[int]) -> None:
        self.region = region
        self.indices = list(indices)
        self.loop = RegionLoop(0.0)
        self.outbox: Subs = []
        self.feeders = {i: _Feeder(self, i, region) for i in self.indices}
        self.tasks = [self.loop.create_task(f.run()) for f in self.feeders.values()]
        self.windows = 0
        self.cpu_s = 0.0

    def pid(self) -> int:
        return os.getpid()

    def advance(self, until: float, answers: Answers) -> Step:
        started = time.process_time()
        self.windows += 1
        now = self.loop.time()
        for feeder, seq, executed, responded, queued in answers:
            if executed < now or responded < now:  # nan compares False: lost is fine
                raise ValueError(
                    f"feeder {feeder} SRV {seq}: answered for {min(executed, responded):.3f} s, "
                    f"before the window's start {now:.3f} s (the lookahead was broken)"
                )
            f = self.feeders[feeder]
            f.pending.pop(seq).set_result(Answer(feeder, seq, executed, responded, queued))
        barrier = self.loop.create_future()
        handle = self.loop.call_at(until, barrier.set_result, None)
        try:
            self.loop.run_until_complete(barrier)
        finally:
            handle.cancel()
        for task in self.tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise RuntimeError(
                    f"a feeder's run failed: {task.exception()!r}"
                ) from task.exception()
        sent = [s for s in self.outbox if s[0] < until]
        self.outbox = [s for s in self.outbox if s[0] >= until]
        done = all(t.done() for t in self.tasks)
        self.cpu_s += time.process_time() - started
        return Step(sent, self._next_event(until, done), os.getpid(), done)

    def _next_event(self, until: float, done: bool) -> float:
        if done:
            return math.inf
        if self.outbox:
            return self.outbox[0][0]
        if self.loop._ready:  # type: ignore[attr-defined]
            return until  # callbacks woken at `until` itself have not run yet: they may send
        timers = [h.when() for h in self.loop._scheduled if not h.cancelled()]  # type: ignore[attr-defined]
        return max(until, min(timers)) if timers else until

    def replay(self, log: list[tuple[float, Answers]]) -> list[Subs]:
        """Run the windows ``log`` names again with their answers (a rebuilt shard catching
        up); returns what it sent in each, for the coordinator to check against its log."""
        return [self.advance(until, answers).submissions for until, answers in log]

    def stats(self) -> dict[str, float]:
        """This process's id, peak memory (MB), and the CPU the shard's windows took."""
        return {
            "pid": os.getpid(),
            "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
            "cpu_s": self.cpu_s,
            "windows": self.windows,
            "feeders": len(self.indices),
        }

    def results(self) -> list[dict[str, Any]]:
        """Each feeder's row: the feeder scenario's own summary figures plus the SRV times."""
        rows = []
        for index in self.indices:
            f = self.feeders[index]
            assert f.result is not None, "results() before the shard finished"
            rows.append(feeder_row(f.plan.scenario, index, f.result, f.han))
        return rows

    def close(self) -> None:
        """Cancel whatever is still pending (a run cut short) and close the loop quietly."""
        if self.loop.is_closed():
            return
        pending = asyncio.all_tasks(self.loop)
        for task in pending:
            task.cancel()
        if pending:
            self.loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        self.loop.close()


def shed_in_time_kwh(record: Any, rating_kw: float, step_s: float) -> tuple[float, float]:
    """(needed, shed in time): the energy of demand over the rating, and the part of it the
    curtailment removed at the moment it was over (what was shed when it was needed)."""
    over = np.maximum(record.demand_kw - rating_kw, 0.0)
    removed = np.maximum(record.demand_kw - record.load_kw, 0.0)
    hours = step_s / 3600.0
    return float(over.sum() * hours), float(np.minimum(over, removed).sum() * hours)


def feeder_row(
    scenario: Any, index: int, result: engine.RunResult, han: DelayHan
) -> dict[str, Any]:
    s = result.record.summary
    # discovery done before the evening is answered at once and comes first: not the evening's
    outcomes = result.recorder.outcomes[han.discovery_srvs :]
    response = [o.response_s for o in outcomes if o.response_s is not None and not o.unanswered]
    unanswered = sum(1 for o in outcomes if o.unanswered)
    needed, in_time = shed_in_time_kwh(result.record, scenario.rating_kw, scenario.step_s)
    over = result.record.load_kw > scenario.rating_kw
    return {
        "index": index,
        "feeder": scenario.feeder_id,
        "premises": scenario.premises,
        "rating_kw": scenario.rating_kw,
        "peak_kw": s["feeder_peak_kw"],
        "peak_kw_without_curtailment": s["feeder_peak_kw_without_curtailment"],
        "minutes_over_rating": s["minutes_over_rating"],
        "longest_over_rating_min": round(_longest_run(over) * scenario.step_s / 60.0, 1),
        "kw_over_rating_max": s["kw_over_rating_max"],
        "energy_needed_kwh": round(needed, 3),
        "energy_shed_in_time_kwh": round(in_time, 3),
        "energy_shed_kwh": s["energy_shed_kwh"],
        "srv_count": len(outcomes),
        "srv_within_30s": sum(1 for r in response if r <= SRV_TARGET_S),
        "srv_over_30s": len(outcomes) - sum(1 for r in response if r <= SRV_TARGET_S),
        "discovery_srvs": han.discovery_srvs,
        "srv_unanswered": unanswered,
        "customers_affected": s["customers_affected"],
        "ev_switches_discovered": s["ev_switches_discovered"],
        "declined_premises_switched": s["declined_premises_switched"],
        "response_s": [round(r, 4) for r in response],
        "delivery_s": [round(d, 4) for d in han.delivery_s],
        "queued_s": [round(q, 4) for q in han.queued_s],
    }


def _longest_run(flags: np.ndarray) -> int:
    best = run = 0
    for flag in flags:
        run = run + 1 if flag else 0
        best = max(best, run)
    return best
