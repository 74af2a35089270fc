"""The simulated clock's hold: while an outside process owes an answer, simulated time stands
still and the loop waits for the process's fd in real time; an unanswered hold expires after
its real-time guard, is counted, and time moves on."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest

from emulator.clock import Clock


def _pipe_answered_after(delay_s: float) -> tuple[int, threading.Thread]:
    """A pipe whose write end a thread (standing in for a process) writes after delay_s."""
    read_fd, write_fd = os.pipe()
    os.set_blocking(read_fd, False)

    def answer() -> None:
        time.sleep(delay_s)
        os.write(write_fd, b"answer")
        os.close(write_fd)

    return read_fd, threading.Thread(target=answer)


def test_hold_freezes_time_until_the_real_answer_arrives():
    clock = Clock()

    async def main():
        loop = asyncio.get_running_loop()
        read_fd, thread = _pipe_answered_after(0.05)
        got = loop.create_future()
        fired: list[float] = []
        clock.call_later(2.0, lambda: fired.append(clock.now()))  # e.g. a ZCL timeout
        hold = clock.hold(5.0, "test exchange")

        def readable() -> None:
            loop.remove_reader(read_fd)
            got.set_result((os.read(read_fd, 100), clock.now()))
            hold.release()

        loop.add_reader(read_fd, readable)
        wall = time.perf_counter()  # before the answering thread starts its wait
        thread.start()
        data, at = await got
        waited = time.perf_counter() - wall
        thread.join()
        os.close(read_fd)
        await asyncio.sleep(3.0)
        return data, at, waited, fired, hold.expired, loop.holds_expired

    data, at, waited, fired, expired, holds_expired = clock.run(main)
    assert data == b"answer"
    assert at == 0.0  # the answer came at the same simulated instant: time stood still
    assert waited >= 0.04  # ... while the loop really waited for it
    assert fired == [pytest.approx(2.0)]  # and the timeout fired afterwards, not before
    assert not expired and holds_expired == 0


def test_unanswered_hold_expires_after_its_guard_and_time_moves_on():
    clock = Clock()
    expired_seen: list[str] = []

    async def main():
        hold = clock.hold(0.1, "silent board", lambda h: expired_seen.append(h.reason))
        wall = time.perf_counter()
        await asyncio.sleep(10.0)
        return time.perf_counter() - wall, clock.now(), hold

    waited, now, hold = clock.run(main)
    assert expired_seen == ["silent board"]
    assert hold.expired and not hold.active
    assert waited >= 0.09  # the guard really elapsed ...
    assert now == pytest.approx(10.0)  # ... and then simulated time carried on


def test_hold_on_a_wall_clock_is_inert():
    clock = Clock(mode="wall")

    async def main():
        hold = clock.hold(5.0, "nothing to wait for")
        await asyncio.sleep(0.01)
        return hold.active

    assert clock.run(main) is False
