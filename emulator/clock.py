"""The emulator's clock: simulated time by default, wall-clock when a physical board is in the loop.

Everything in the HAN (medium latency, APS ack timeouts, zigpy's own timeouts, device timers)
runs on ``asyncio`` timers, so the clock *is* the event loop's ``time()``. In simulated mode the
loop never sleeps: when nothing is ready it jumps straight to the next timer, which makes runs
deterministic and as fast as the CPU allows. Wall-clock mode is a plain asyncio loop.

A DSP served to outside clients (`gbhan dsp serve`) runs on wall-clock time, or from a chosen
start at a chosen speed: a ``PacedEventLoop``, simulated time kept at ``speed`` times real
time, so a test team runs a DSP day (schedules, future-dated requests, gas wake-ups) in
minutes. Every timer on that loop runs at that speed: what must last real seconds (an HTTP
client's or server's timeout) asks ``loop_seconds`` for its length.

A real process in a simulated run (the switch firmware on a virtual board) works in real
time, so whoever hands it work takes a ``hold``: while any hold is outstanding the loop waits
for the process's file descriptors in real time, with simulated time standing still, instead
of jumping to the next timer (which would fire the meter's timeout before the answer lands).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import math
import selectors
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar

T = TypeVar("T")
LOGGER = logging.getLogger(__name__)

#: ZigBee UTCTime counts seconds from 2000-01-01 00:00:00 UTC.
ZIGBEE_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
#: The same instant in unix seconds (946,684,800), for clocks kept as plain numbers.
ZIGBEE_EPOCH_UNIX = int(ZIGBEE_EPOCH.timestamp())
#: Simulated runs start at a fixed, reproducible date unless told otherwise.
DEFAULT_SIMULATED_START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


class _TimeJumpingSelector(selectors.BaseSelector):
    """Wraps the loop's real selector; instead of blocking until the next timer it advances time.

    Real file descriptors still work (the loop's self-pipe, sockets): if any is ready it is
    served first. It really waits only while a hold is outstanding (up to the hold's real-time
    guard, time frozen) or when the loop would *block with nothing scheduled* (timeout None),
    which is the right thing when an external process is the only source of events.
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
        if timeout is not None and timeout <= 0:
            return []
        deadline = self._loop._hold_deadline()
        if deadline is not None:
            # An outside process owes us an answer: wait for it in real time, time frozen.
            ready = self._real.select(max(0.0, deadline - time.monotonic()))
            if not ready:
                self._loop._expire_holds()
            return ready  # the loop comes back here; time moves once no hold is left
        if timeout is None:
            return self._real.select(None)
        self._loop._advance(timeout)
        return []

    def close(self):
        self._real.close()

    def get_key(self, fileobj):
        return self._real.get_key(fileobj)

    def get_map(self):
        return self._real.get_map()


class Hold:
    """One outstanding exchange with a real process; ``release()`` when its answer is in.

    ``guard_s`` (real seconds) bounds the wait: a process that never answers (a frame it
    rejects, a dead board) expires the hold, ``on_expire`` is called and simulated time moves
    on, so the worst a silent board costs is the guard, never a stalled run.
    """

    __slots__ = ("_loop", "deadline", "reason", "on_expire", "expired")

    def __init__(self, loop, deadline: float, reason: str, on_expire) -> None:
        self._loop, self.deadline, self.reason = loop, deadline, reason
        self.on_expire = on_expire
        self.expired = False

    @property
    def active(self) -> bool:
        return self._loop is not None and self in self._loop._holds

    def release(self) -> None:
        if self._loop is not None:
            self._loop._holds.discard(self)


class SimulatedEventLoop(asyncio.SelectorEventLoop):
    """An asyncio loop whose ``time()`` is simulated seconds, advanced only by waiting timers
    (and not at all while a ``hold`` is outstanding)."""

    def __init__(self, start: float = 0.0, selector=None) -> None:
        self._sim_now = float(start)
        self._holds: set[Hold] = set()
        self.holds_taken = 0
        self.holds_expired = 0
        super().__init__((selector or _TimeJumpingSelector)(self, selectors.DefaultSelector()))

    def time(self) -> float:
        return self._sim_now

    def _advance(self, seconds: float) -> None:
        self._sim_now += seconds

    def hold(self, guard_s: float, reason: str = "", on_expire=None) -> Hold:
        """Stop simulated time until the returned hold is released or ``guard_s`` real
        seconds pass; meanwhile ready fds (the process's answer) are served as usual."""
        hold = Hold(self, time.monotonic() + max(0.0, guard_s), reason, on_expire)
        self._holds.add(hold)
        self.holds_taken += 1
        return hold

    def _hold_deadline(self) -> float | None:
        return min((h.deadline for h in self._holds), default=None)

    def _expire_holds(self) -> None:
        now = time.monotonic()
        for hold in [h for h in self._holds if h.deadline <= now]:
            self._holds.discard(hold)
            hold.expired = True
            self.holds_expired += 1
            LOGGER.info("simulated clock: hold %r expired unanswered", hold.reason)
            if hold.on_expire is not None:
                try:
                    hold.on_expire(hold)
                except Exception:  # a counter callback must not take the loop down
                    LOGGER.exception("hold expiry callback failed")


class _PacingSelector(_TimeJumpingSelector):
    """A time-jumping selector that keeps pace: time catches up with real time times the
    speed, timer by timer, and waits for real time (or a file descriptor) when it is ahead."""

    _loop: PacedEventLoop

    def select(self, timeout=None):
        ready = self._real.select(0)
        if ready or (timeout is not None and timeout <= 0):
            return ready
        loop = self._loop
        if loop._hold_deadline() is not None:
            return super().select(timeout)  # a process owes an answer: time stands still
        due = math.inf if timeout is None else loop._sim_now + timeout
        if loop.paced_time() >= due:
            loop._sim_now = due  # behind real time: on to the next timer at once
            return []
        loop._sim_now = max(loop._sim_now, loop.paced_time())
        wait = None if due == math.inf else (due - loop._sim_now) / loop.speed
        ready = self._real.select(wait)
        loop._sim_now = min(max(loop._sim_now, loop.paced_time()), due)
        return ready


class PacedEventLoop(SimulatedEventLoop):
    """Simulated time that keeps pace with real time, ``speed`` times as fast: timers fire at
    their exact simulated times, in order, and time stands still while code runs (so the CPU
    time a model spends never looks like a late answer), then catches up.

    The pace is set from the unix time (``time.time()``), so two processes given one anchor
    keep one time; ``set_pace`` changes it without a jump."""

    def __init__(self, speed: float = 1.0) -> None:
        _check_speed(speed)
        self.speed = float(speed)
        self._base = (0.0, time.time())  # (simulated time, the unix time it was reached)
        super().__init__(0.0, _PacingSelector)

    def set_pace(self, speed: float, at: float | None = None, epoch: float | None = None) -> None:
        """From now on ``speed``; with ``at`` and ``epoch``: simulated time ``at`` was due at
        unix time ``epoch`` (another process's anchor), else the pace starts from now."""
        _check_speed(speed)
        self.speed = float(speed)
        self._base = (self._sim_now, time.time()) if at is None else (at, float(epoch or 0.0))

    def paced_time(self) -> float:
        """Where simulated time would be if it kept exactly to the pace."""
        at, epoch = self._base
        return at + (time.time() - epoch) * self.speed


def _check_speed(speed: float) -> None:
    if not speed > 0 or speed == math.inf:
        raise ValueError(f"clock speed {speed}: simulated seconds per real second, above 0")


def loop_seconds(real_s: float) -> float:
    """How many of the running loop's seconds last ``real_s`` real seconds: ``real_s`` times a
    paced loop's speed (1 on a plain loop). For timeouts that face the outside world (HTTP
    clients and servers), which a fast DSP clock must not shorten."""
    return real_s * getattr(asyncio.get_running_loop(), "speed", 1.0)


def _ctrl_c_told_once(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """The loop's exception handler: a Ctrl-C that landed inside a task has already ended
    ``run`` (its caller says so), so the task's "exception never retrieved" is not printed
    again as a traceback; anything else goes to asyncio's own handler."""
    if isinstance(context.get("exception"), KeyboardInterrupt):
        return
    loop.default_exception_handler(context)


class Clock:
    """The time source every HAN part reads; the mode decides which event loop runs it.

    ``now()`` is monotonic seconds (the loop's time); ``utc_now()`` maps it onto a calendar date
    so ZCL UTCTime fields and capture timestamps are meaningful in simulated runs too.

    A wall clock may be ``paced`` (on a ``PacedEventLoop``): from ``start_utc``, ``speed``
    times as fast as real time, a speed ``pace`` may change. With ``anchor_epoch`` (unix
    seconds) ``start_utc`` is the date at that real instant, not at binding: two processes
    given one anchor keep one time however far apart they start (the DSP and its premises host).
    """

    def __init__(
        self,
        mode: Literal["simulated", "wall"] = "simulated",
        start_utc: dt.datetime | None = None,
        *,
        speed: float = 1.0,
        paced: bool = False,
        anchor_epoch: float | None = None,
    ) -> None:
        if mode not in ("simulated", "wall"):
            raise ValueError(f"clock mode must be 'simulated' or 'wall', not {mode!r}")
        if mode == "simulated" and (speed != 1.0 or paced or anchor_epoch is not None):
            raise ValueError("a simulated clock jumps from timer to timer: no speed or anchor")
        _check_speed(speed)
        self.mode = mode
        self.speed = float(speed)
        self.paced = paced or speed != 1.0
        self._start_utc = start_utc or (
            DEFAULT_SIMULATED_START if mode == "simulated" else dt.datetime.now(dt.UTC)
        )
        self._anchor = (self._start_utc, anchor_epoch) if anchor_epoch is not None else None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_origin = 0.0

    def new_loop(self) -> asyncio.AbstractEventLoop:
        """Create the event loop this clock runs on (simulated loops start at time 0)."""
        loop: asyncio.AbstractEventLoop
        if self.mode == "simulated":
            loop = SimulatedEventLoop(0.0)
        elif self.paced:
            loop = PacedEventLoop(self.speed)
        else:
            loop = asyncio.new_event_loop()
        self.bind(loop)
        return loop

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Tie the clock to a loop; ``utc_now`` at this instant equals ``start_utc`` (or, with
        an anchor, the anchor's date plus the real time since it, times the speed)."""
        if self.paced and not isinstance(loop, PacedEventLoop):
            raise ValueError("a paced clock runs on its own loop (Clock.run)")
        if self._anchor is not None:
            start, epoch = self._anchor
            self._start_utc = start + dt.timedelta(seconds=(time.time() - epoch) * self.speed)
        self._loop = loop
        self._loop_origin = loop.time()

    def pace(self, speed: float, anchor: tuple[dt.datetime, float] | None = None) -> None:
        """Run ``speed`` times as fast as real time from now on, without a jump; with another
        clock's ``anchor()``, keep that clock's time (the premises host, told the DSP's)."""
        loop = self.loop
        if not isinstance(loop, PacedEventLoop):
            raise ValueError("only a paced clock changes its speed")
        if anchor is None:
            loop.set_pace(speed)
        else:
            utc, epoch = anchor
            at = self._loop_origin + (utc - self._start_utc).total_seconds()
            loop.set_pace(speed, at, epoch)
        self.speed = loop.speed

    def run(self, main: Callable[[], Awaitable[T]]) -> T:
        """Run ``main()`` to completion on a fresh loop of this clock's mode, then close it."""
        loop = self.new_loop()
        loop.set_exception_handler(_ctrl_c_told_once)
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

    def anchor(self) -> tuple[dt.datetime, float]:
        """(now, the unix time now): what another process's clock takes as ``start_utc`` and
        ``anchor_epoch`` to keep this clock's time."""
        return self.utc_now(), time.time()

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

    def hold(self, guard_s: float = 1.0, reason: str = "", on_expire=None) -> Hold:
        """Simulated mode: freeze time until released (or ``guard_s`` real seconds), for an
        exchange with a real process. Wall mode: an inert hold (real time runs anyway)."""
        loop = self.loop
        if isinstance(loop, SimulatedEventLoop):
            return loop.hold(guard_s, reason, on_expire)
        return Hold(None, 0.0, reason, on_expire)
