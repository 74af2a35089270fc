"""The paced clock (`gbhan dsp serve --start --speed`): simulated time kept at a speed times real
time, timers exact and in order, time still while code runs, HTTP timeouts in real seconds,
and two processes on one anchor on one time."""

from __future__ import annotations

import asyncio
import datetime as dt
import time

import aiohttp
import pytest
from aiohttp import web

from emulator.clock import Clock, PacedEventLoop, loop_seconds

START = dt.datetime(2026, 3, 1, 0, 0, tzinfo=dt.UTC)


def test_an_hour_at_speed_600_passes_in_seconds_from_the_start_given():
    clock = Clock("wall", START, speed=600)

    async def main():
        began = time.monotonic()
        await asyncio.sleep(3600)
        return clock.utc_now(), time.monotonic() - began

    utc, real_s = clock.run(main)
    assert isinstance(clock.loop, PacedEventLoop)
    assert utc == START + dt.timedelta(hours=1)  # the timer fires at its exact time
    assert 5.0 <= real_s < 60.0  # 6 s at 600x (an hour at 1x); the bound only tells them apart


def test_timers_fire_in_order_at_their_times_even_when_behind():
    """Code that hogs the CPU puts the clock behind real time; it catches up timer by timer."""
    clock = Clock("wall", START, speed=1000)
    fired: list[tuple[str, float]] = []

    async def main():
        for name, delay in (("c", 30.0), ("a", 10.0), ("b", 20.0)):
            clock.call_later(delay, lambda n=name: fired.append((n, clock.now())))
        time.sleep(0.1)  # 100 simulated seconds of real time, all timers overdue
        await asyncio.sleep(40)

    clock.run(main)
    assert fired == [("a", 10.0), ("b", 20.0), ("c", 30.0)]


def test_time_stands_still_while_code_runs():
    """A model's CPU time is no time on the clock: an answer it computes is never late."""
    clock = Clock("wall", START, speed=10_000)

    async def main():
        before = clock.now()
        time.sleep(0.05)  # 500 s at this speed, were time to run on
        during = clock.now()
        await asyncio.sleep(0)
        return before, during, clock.now()

    before, during, after = clock.run(main)
    assert during == before
    assert after >= before


def test_http_timeouts_last_real_seconds():
    """A server answering in 0.2 real s is no timeout for a client allowed 2 real s, at a speed
    where 2 loop seconds would be 2 ms."""
    clock = Clock("wall", START, speed=1000)

    async def slow(_request):
        await asyncio.sleep(loop_seconds(0.2))
        return web.Response(text="late but in time")

    async def main():
        app = web.Application()
        app.router.add_get("/", slow)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        timeout = aiohttp.ClientTimeout(total=loop_seconds(2.0))
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.get(f"http://127.0.0.1:{port}/") as reply:
                    return reply.status, await reply.text(), loop_seconds(2.0)
        finally:
            await runner.cleanup()

    status, text, two_real_s = clock.run(main)
    assert (status, text) == (200, "late but in time")
    assert two_real_s == 2000.0


def test_a_second_process_on_the_anchor_keeps_the_first_ones_time():
    """The premises host starts a second or so after the DSP; given the DSP's anchor its
    devices' time is the DSP's, not a second-times-the-speed behind."""
    dsp = Clock("wall", START, speed=600)
    now, epoch = (None, None)

    async def first():
        return dsp.anchor()

    now, epoch = dsp.run(first)
    time.sleep(0.2)  # the host process starting
    host = Clock("wall", now, speed=600, anchor_epoch=epoch)

    async def second():
        return host.utc_now(), time.time()

    host_now, at = host.run(second)
    expected = now + dt.timedelta(seconds=(at - epoch) * 600)
    assert abs((host_now - expected).total_seconds()) < 30  # 0.05 real s at 600x
    assert host_now >= now + dt.timedelta(seconds=100)  # the 0.2 s start counted, at speed


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "wall", "speed": 0}, "speed"),
        ({"mode": "wall", "speed": -2}, "speed"),
        ({"mode": "wall", "speed": float("inf")}, "speed"),
        ({"mode": "simulated", "speed": 10}, "simulated"),
        ({"mode": "simulated", "anchor_epoch": 0.0}, "simulated"),
    ],
    ids=["zero", "negative", "infinite", "simulated-speed", "simulated-anchor"],
)
def test_a_clock_that_cannot_be_is_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Clock(**kwargs)


def test_a_fast_clock_refuses_a_loop_it_did_not_make():
    clock = Clock("wall", START, speed=60)

    async def main():
        with pytest.raises(ValueError, match="own loop"):
            clock.bind(asyncio.get_running_loop())

    asyncio.run(main())
