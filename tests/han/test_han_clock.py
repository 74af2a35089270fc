"""The simulated clock: timers fire in simulated time, instantly, in order; wall mode is real."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import time

import pytest

from emulator.clock import Clock, SimulatedEventLoop


def test_simulated_hour_passes_exactly():
    """(That it also passes at once is the loop's design; a hang would hit pytest-timeout.)"""
    clock = Clock(start_utc=dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC))

    async def main():
        await asyncio.sleep(3600)
        return clock.now(), clock.utc_now(), clock.zigbee_utc_now()

    now, utc, zigbee_utc = clock.run(main)
    assert now == pytest.approx(3600.0)
    assert utc == dt.datetime(2026, 3, 1, 13, 0, tzinfo=dt.UTC)
    assert zigbee_utc == int((utc - dt.datetime(2000, 1, 1, tzinfo=dt.UTC)).total_seconds())


def test_timers_fire_in_deadline_order_and_timeouts_use_simulated_time():
    clock = Clock()
    fired: list[tuple[str, float]] = []

    async def main():
        for name, delay in (("c", 3.0), ("a", 1.0), ("b", 2.0)):
            clock.call_later(delay, lambda n=name: fired.append((n, clock.now())))
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(5.0):
                await asyncio.sleep(60)
        return clock.now()

    assert clock.run(main) == pytest.approx(5.0)
    assert fired == [("a", 1.0), ("b", 2.0), ("c", 3.0)]


def test_two_simulated_runs_are_identical():
    def run() -> list[float]:
        clock = Clock()
        stamps: list[float] = []

        async def worker(period: float):
            for _ in range(5):
                await asyncio.sleep(period)
                stamps.append(round(clock.now(), 9))

        async def main():
            await asyncio.gather(worker(0.3), worker(0.7), worker(1.1))

        clock.run(main)
        return stamps

    assert run() == run()


def test_wall_clock_mode_really_waits():
    clock = Clock(mode="wall")

    async def main():
        start = time.perf_counter()
        await clock.sleep(0.05)
        return time.perf_counter() - start, clock.now()

    elapsed, now = clock.run(main)
    assert elapsed >= 0.045
    assert now >= 0.045
    assert not isinstance(clock.loop, SimulatedEventLoop)


def test_invalid_mode_is_refused():
    with pytest.raises(ValueError):
        Clock(mode="fast")  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", ["simulated", "wall"])
def test_a_ctrl_c_inside_a_task_ends_the_run_without_a_second_traceback(mode, caplog):
    """Ctrl-C can land inside a task (a web page's read of a board's console, in a held
    run): it ends `run` as a KeyboardInterrupt its caller reports, and the task's "exception
    never retrieved" is not printed as a traceback after it. A task's real error still is."""
    clock = Clock(mode)

    async def interrupted():
        raise KeyboardInterrupt

    async def broken():
        raise ValueError("a real error, never awaited")

    async def main():
        asyncio.get_running_loop().create_task(broken())
        await asyncio.sleep(0)
        asyncio.get_running_loop().create_task(interrupted())
        await asyncio.sleep(1)

    with caplog.at_level("ERROR", logger="asyncio"), pytest.raises(KeyboardInterrupt):
        clock.run(main)
    gc.collect()  # the tasks' "never retrieved" reports come as they are collected
    told = " ".join(r.getMessage() + str(r.exc_info) for r in caplog.records)
    assert "KeyboardInterrupt" not in told
    assert "a real error, never awaited" in told
