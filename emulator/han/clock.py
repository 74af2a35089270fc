"""The emulator's clock: simulated time by default, wall-clock when a physical board is in the loop.

Everything in the HAN (medium latency, APS ack timeouts, zigpy's own timeouts, device timers)
runs on ``asyncio`` timers, so the clock *is* the event loop's ``time()``. In simulated mode the
loop never sleeps: when nothing is ready it jumps straight to the next timer, which makes runs
deterministic and as fast as the CPU allows. Wall-clock mode is a plain asyncio loop.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import selectors
from collections.abc import Awaitable, Callable
from typing import Literal, TypeVar

T = TypeVar("T")

#: ZigBee UTCTime counts seconds from 2000-01-01 00:00:00 UTC.
ZIGBEE_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
#: Simulated runs start at a fixed, reproducible date unless told otherwise.
DEFAULT_SIMULATED_START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class _TimeJumpingSelector(selectors.BaseSelector):
    """Wraps the loop's real selector; instead of blocking until the next timer it advances time.

    Real file descriptors still work (the loop's self-pipe, sockets): if any is ready it is
    served first. Only when the loop would *block with nothing scheduled* (timeout None) does it
    really wait, which is the right thing when an external process is the only source of events.
    """

    def __init__(self, loop: SimulatedEventLoop, real: selectors.BaseSelector) -> None:
        self._loop = loop
        self._real = real

    def register(self, fileobj, events, data=None):
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj):
        return self._real.unregister(fileobj)

    def modify(self, fileobj, events, data=None):
        return self._real.modify(fileobj, events, data)

    def select(self, timeout=None):
        ready = self._real.select(0)
        if ready:
            return ready
        if timeout is None:
            return self._real.select(None)
        if timeout > 0:
            self._loop._advance(timeout)
        return []

    def close(self):
        self._real.close()

    def get_key(self, fileobj):
        return self._real.get_key(fileobj)

    def get_map(self):
        return self._real.get_map()


class SimulatedEventLoop(asyncio.SelectorEventLoop):
    """An asyncio loop whose ``time()`` is simulated seconds, advanced only by waiting timers."""

    def __init__(self, start: float = 0.0) -> None:
        self._sim_now = float(start)
        super().__init__(_TimeJumpingSelector(self, selectors.DefaultSelector()))

    def time(self) -> float:
        return self._sim_now

    def _advance(self, seconds: float) -> None:
        self._sim_now += seconds


class Clock:
    """The time source every HAN part reads; the mode decides which event loop runs it.

    ``now()`` is monotonic seconds (the loop's time); ``utc_now()`` maps it onto a calendar date
    so ZCL UTCTime fields and capture timestamps are meaningful in simulated runs too.
    """

    def __init__(
        self,
        mode: Literal["simulated", "wall"] = "simulated",
        start_utc: dt.datetime | None = None,
    ) -> None:
        if mode not in ("simulated", "wall"):
            raise ValueError(f"clock mode must be 'simulated' or 'wall', not {mode!r}")
        self.mode = mode
        self._start_utc = start_utc or (
            DEFAULT_SIMULATED_START if mode == "simulated" else dt.datetime.now(dt.UTC)
        )
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_origin = 0.0

    def new_loop(self) -> asyncio.AbstractEventLoop:
        """Create the event loop this clock runs on (simulated loops start at time 0)."""
        loop = SimulatedEventLoop(0.0) if self.mode == "simulated" else asyncio.new_event_loop()
        self.bind(loop)
        return loop

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Tie the clock to a loop; ``utc_now`` at this instant equals ``start_utc``."""
        self._loop = loop
        self._loop_origin = loop.time()

    def run(self, main: Callable[[], Awaitable[T]]) -> T:
        """Run ``main()`` to completion on a fresh loop of this clock's mode, then close it."""
        loop = self.new_loop()
        try:
            return loop.run_until_complete(main())
        finally:
            # Like asyncio.run: whatever is still pending (a reply's APS ack wait, device
            # timers) is cancelled so the run ends cleanly.
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            if pending:
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        if self._loop is None:
            self.bind(asyncio.get_running_loop())
        assert self._loop is not None
        return self._loop

    def now(self) -> float:
        """Seconds since the clock was bound (simulated or real)."""
        return self.loop.time() - self._loop_origin

    def utc_now(self) -> dt.datetime:
        return self._start_utc + dt.timedelta(seconds=self.now())

    def zigbee_utc_now(self) -> int:
        """Current time as a ZCL UTCTime (whole seconds since 2000-01-01)."""
        return int((self.utc_now() - ZIGBEE_EPOCH).total_seconds())

    def epoch_seconds(self) -> float:
        """Current time as Unix seconds (capture timestamps)."""
        return self.utc_now().timestamp()

    def call_later(
        self, delay: float, callback: Callable[..., object], *args
    ) -> asyncio.TimerHandle:
        return self.loop.call_later(max(0.0, delay), callback, *args)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)
