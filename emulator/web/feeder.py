"""The feeder page (`gbhan emulate --serve`): the load against the rating as a scenario runs,
a marker for each SRV the DNO sends, the DNO's decisions (the run's timeline) and the consent
register; the run can be paused, stepped one sample at a time, or run at a chosen speed.

The run is in simulated time on its own event loop (`emulator.clock`); the page is served
from a thread of its own on a real-time loop, so it keeps serving after the run has ended.
The engine calls `on_step` at each sample (`emulator.scenario.engine.StepHook`), on the run's
loop: what it saw goes to the console's loop (`call_soon_threadsafe`), where it is kept and
published in one go, so a snapshot and the event stream never disagree. Pausing and pacing
hold the simulated clock there (`SimulatedEventLoop.hold`): simulated time stands still while
the run's real sockets and processes (a firmware board's answer) are still served.
With `dsp_pages` the premises and DUIS log pages over the scenario's own DSP are served on the
same port and event stream (`dsp_view.DspView`, handed the DSP by `watch_dsp`).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import math
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from aiohttp import web

from emulator.backoffice.dsp import Dsp
from emulator.clock import Hold, SimulatedEventLoop
from emulator.devices import Premises
from emulator.grid.consent import Consent
from emulator.grid.governance import RecordingGateway
from emulator.grid.monitor import DnoMonitor

from .console import STATIC, page
from .dsp_view import DspView
from .events import EventHub, stream
from .records import Verifier

#: A pause holds simulated time this long at most (real seconds): in practice until Run.
PAUSE_GUARD_S = 7 * 24 * 3600.0
#: Speeds the page offers, simulated seconds per real second (0: as fast as it can).
SPEEDS = (0.0, 1.0, 10.0, 60.0, 120.0, 600.0)
API = "/web/api"


class ControlError(ValueError):
    """A control request the run cannot take (an unknown action, a negative speed)."""


class FeederConsole:
    """The feeder page over one scenario run. `scenario` describes the run (name, feeder,
    rating_kw, step_s, duration_s, start_utc ...); `speed` is simulated seconds per real
    second (0: unpaced); `paused` starts the run held at its first sample. With `dsp_pages`
    it also serves the premises and DUIS log pages over the scenario's DSP, once the run
    hands it over (`watch_dsp`), on the same port and event stream."""

    def __init__(
        self, scenario: Mapping[str, Any], *, speed: float = 0.0, paused: bool = False,
        dsp_pages: bool = False,
    ) -> None:  # fmt: skip
        if speed < 0 or not math.isfinite(speed):
            raise ControlError(f"speed {speed}: simulated seconds per second, 0 or more")
        self.scenario = dict(scenario)
        self.step_s = float(scenario["step_s"])
        duration = scenario.get("duration_s")
        self._last_step = None if duration is None else int(round(duration / self.step_s)) - 1
        self.hub = EventHub(keep=20000, queue_size=20000)
        self.dsp_view = DspView(self.hub, self._post) if dsp_pages else None
        self.nav = ["feeder", "premises", "log"] if dsp_pages else ["feeder"]
        # kept on the console's loop only
        self.points: list[list[float]] = []
        self.srvs: list[dict[str, Any]] = []
        self.notes: list[str] = []
        self.consent: list[dict[str, Any]] = []
        self.emergencies: list[dict[str, Any]] = []
        self.finished: dict[str, Any] | None = None
        # shared with the run's thread, under the lock
        self._lock = threading.Lock()
        self._paused, self._speed = paused, float(speed)
        self._at_step: int | None = None  # the sample the run is held at (paused)
        self._hold: Hold | None = None
        self._run_loop: asyncio.AbstractEventLoop | None = None
        self._due = 0.0  # when the next sample is due, real time (paced runs)
        self._version = 0  # of the control state: a page keeps the newest it has seen
        # the control state as last published, after the samples posted before it: what
        # snapshot() says, so that a page never sees the run held at a sample whose point has
        # not reached `points` yet (control() is the run's state now, ahead of the console's)
        self._shown = self.control()
        # the run's thread only
        self._srvs_seen = 0
        self._consent_text = ""
        self._emergencies_text = ""
        # the console's thread
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    # --- the run's side (its thread, its simulated loop) ------------------------------------
    def watch_dsp(
        self, dsp: Dsp, *, live: Mapping[str, Premises], users: Iterable[Any],
        verifier: Verifier, utc_now: Callable[[], dt.datetime] | None = None,
    ) -> None:  # fmt: skip
        """The scenario's DSP, its in-process users and its premises, on the premises and DUIS
        log pages (`DspView.attach`; on the run's thread, before its first sample)."""
        if self.dsp_view is None:
            raise ValueError("this feeder console was made without dsp_pages")
        self.dsp_view.attach(dsp, live=live, users=users, verifier=verifier, utc_now=utc_now)

    def note(self, text: str) -> None:
        """One line of the run's timeline (``HH:MM:SS  text``): the DNO's decisions."""
        self._post(self._noted, text)

    def on_step(
        self, i: int, t: float, load_kw: float, headroom_kw: float,
        monitor: DnoMonitor, recorder: RecordingGateway,
    ) -> None:  # fmt: skip
        """The engine's step hook: record the sample, the SRVs answered since the last one
        and the consent register if it changed; then hold the run if paused or ahead of its
        speed."""
        self._post(self._stepped, [i, round(t, 3), round(load_kw, 3), round(headroom_kw, 3)])
        self._answered(recorder)
        rows = consent_rows(monitor, t)
        text = json.dumps(rows, sort_keys=True)
        if text != self._consent_text:
            self._consent_text = text
            self._post(self._consented, rows)
        self._declared(monitor)
        if self.dsp_view is not None:
            self.dsp_view.step(last=i == self._last_step)
        self._pace(i)

    def _declared(self, monitor: DnoMonitor) -> None:
        """The DNO's emergencies (its interventions) when one opened or closed."""
        spans = [{"event": e.event, "start": round(e.start, 3), "reason": e.reason,
                  "end": None if e.end is None else round(e.end, 3), "end_reason": e.end_reason}
                 for e in monitor.log.events]  # fmt: skip
        text = json.dumps(spans)
        if text != self._emergencies_text:
            self._emergencies_text = text
            self._post(self._emergency, spans)

    def _answered(self, recorder: RecordingGateway) -> None:
        outcomes = recorder.outcomes
        for outcome in outcomes[self._srvs_seen :]:
            self._post(self._srv, {
                "srv": outcome.srv, "premises": outcome.premises, "slot": outcome.slot,
                "sent_at": round(outcome.sent_at, 3), "status": outcome.status,
                "ok": outcome.ok, "level": outcome.level,
                "response_s": None if outcome.response_s is None else round(outcome.response_s, 3),
            })  # fmt: skip
        self._srvs_seen = len(outcomes)

    def _pace(self, i: int) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            self._run_loop = loop
            self._hold = None
            if self._paused:
                self._at_step = i
                self._version += 1
                self._hold = self._take(loop, PAUSE_GUARD_S, "web console: paused")
                self._due = 0.0
            elif self._speed > 0:
                now = time.monotonic()
                self._due = max(self._due, now - self.step_s / self._speed)  # no catching up
                self._due += self.step_s / self._speed
                if self._due > now:
                    self._hold = self._take(loop, self._due - now, "web console: pace")
        if self._at_step == i:
            self._post(self._publish_control, self.control())

    @staticmethod
    def _take(loop: asyncio.AbstractEventLoop, guard_s: float, reason: str) -> Hold | None:
        return loop.hold(guard_s, reason) if isinstance(loop, SimulatedEventLoop) else None

    def finish(
        self, summary: Mapping[str, Any], checks: Mapping[str, bool],
        recorder: RecordingGateway | None = None, monitor: DnoMonitor | None = None,
    ) -> None:  # fmt: skip
        """The run has ended: its summary (summary.json's content), its checks, and the SRVs
        answered after its last sample (the DNO settles its SRVs in flight)."""
        if recorder is not None:
            self._answered(recorder)
        if monitor is not None:
            self._declared(monitor)
        data = {"summary": dict(summary), "checks": dict(checks)}
        self._post(self._ended, data)

    # --- controls (the console's thread) ----------------------------------------------------
    def control(self) -> dict[str, Any]:
        with self._lock:
            return {
                "state": "finished" if self.finished is not None
                else "paused" if self._paused else "running",
                "speed": self._speed,
                "held_at": self._at_step if self._paused else None,
                "version": self._version,
            }  # fmt: skip

    def act(self, action: str, speed: float | None = None) -> dict[str, Any]:
        """pause, run, step (one sample, then paused again) or speed (with `speed`)."""
        if action not in ("pause", "run", "step", "speed"):
            raise ControlError(f"action {action!r}: pause, run, step or speed")
        if action == "speed":
            if speed is None or speed < 0 or not math.isfinite(speed):
                raise ControlError("speed: simulated seconds per second, 0 or more")
        with self._lock:
            self._version += 1
            if action == "pause":
                self._paused = True
            elif action == "run":
                self._paused, self._at_step = False, None
                self._release()
            elif action == "step":
                self._paused, self._at_step = True, None
                self._release()
            else:
                assert speed is not None
                self._speed = float(speed)
                self._due = 0.0
                if not self._paused:
                    self._release()  # a pace hold at the old speed
        state = self.control()
        self._publish_control(state)
        return state

    def _release(self) -> None:
        """Let the run go on from where it is held (under the lock)."""
        hold, loop = self._hold, self._run_loop
        self._hold = None
        if hold is not None and loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(hold.release)

    # --- what the console keeps and publishes (its loop) ------------------------------------
    def _post(self, handler: Any, data: Any) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(handler, data)

    def _stepped(self, point: list[float]) -> None:
        self.points.append(point[1:])
        self.hub.publish("step", {"i": point[0], "point": point[1:]})

    def _srv(self, srv: dict[str, Any]) -> None:
        srv["n"] = len(self.srvs) + 1
        self.srvs.append(srv)
        self.hub.publish("srv", srv)

    def _noted(self, text: str) -> None:
        self.notes.append(text)
        self.hub.publish("note", {"text": text})

    def _consented(self, rows: list[dict[str, Any]]) -> None:
        self.consent = rows
        self.hub.publish("consent", {"rows": rows})

    def _emergency(self, spans: list[dict[str, Any]]) -> None:
        self.emergencies = spans
        self.hub.publish("emergencies", {"spans": spans})

    def _publish_control(self, state: dict[str, Any]) -> None:
        """Publish a control state and show it in snapshots, unless a newer one is shown (a
        control pressed meanwhile, on another thread)."""
        if state["version"] >= self._shown["version"]:
            self._shown = state
        self.hub.publish("control", state)

    def _ended(self, data: dict[str, Any]) -> None:
        with self._lock:
            self.finished = data
            self._version += 1
        self.hub.publish("finished", data)
        self._publish_control(self.control())

    def snapshot(self) -> dict[str, Any]:
        return {
            "last_event": self.hub.last_id,
            "scenario": self.scenario,
            "points": self.points,
            "srvs": self.srvs,
            "notes": self.notes,
            "consent": self.consent,
            "emergencies": self.emergencies,
            "control": self._shown,
            "speeds": list(SPEEDS),
            "finished": self.finished,
        }

    # --- the site ---------------------------------------------------------------------------
    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=64 * 1024)
        app.add_routes([
            web.get("/", self._index),
            *(web.get(f"/{name}", self._page) for name in self.nav),
            web.static("/static", STATIC),
            web.get(f"{API}/feeder", self._api_feeder),
            web.post(f"{API}/feeder/control", self._api_control),
            web.get(f"{API}/events", self._api_events),
            *(self.dsp_view.routes() if self.dsp_view is not None else ()),
        ])  # fmt: skip
        return app

    async def _index(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/feeder")

    async def _page(self, request: web.Request) -> web.StreamResponse:
        return page(request.path.strip("/"), self.nav)

    async def _api_feeder(self, request: web.Request) -> web.Response:
        return web.json_response(self.snapshot())

    async def _api_control(self, request: web.Request) -> web.Response:
        try:
            body = json.loads(await request.read())
            if not isinstance(body, dict):
                raise ControlError("the body is a JSON object")
            speed = body.get("speed")
            if speed is not None and not isinstance(speed, int | float):
                raise ControlError("speed is a number")
            state = self.act(str(body.get("action", "")), None if speed is None else float(speed))
        except (ValueError, ControlError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(state)

    async def _api_events(self, request: web.Request) -> web.StreamResponse:
        return await stream(self.hub, request)

    def start(self, host: str = "127.0.0.1", port: int = 8080) -> str:
        """Serve the page from a thread of its own; returns its URL (port 0: a free one).
        Raises OSError if the port cannot be had."""
        started = threading.Event()
        failed: list[BaseException] = []

        def serve() -> None:
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=1.0)
                loop.run_until_complete(runner.setup())
                site = web.TCPSite(runner, host, port)
                loop.run_until_complete(site.start())
            except BaseException as exc:  # handed to start()'s caller
                failed.append(exc)
                started.set()
                loop.close()
                return
            self._runner = runner
            bound = runner.addresses[0][1]
            self.url = f"http://{host}:{bound}/"
            self._loop = loop
            started.set()
            try:
                loop.run_forever()
            finally:
                self.hub.close()
                loop.run_until_complete(runner.cleanup())
                loop.close()

        self._thread = threading.Thread(target=serve, name="gbhan-feeder-web", daemon=True)
        self._thread.start()
        started.wait()
        if failed:
            raise failed[0]
        return self.url

    def stop(self) -> None:
        """Stop serving (releasing a run still held, so it can end)."""
        with self._lock:
            self._paused = False
            self._speed = 0.0
            self._release()
        loop, self._loop = self._loop, None
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(10)
        if self.dsp_view is not None:
            self.dsp_view.close()


def consent_rows(monitor: DnoMonitor, t: float) -> list[dict[str, Any]]:
    """The consent register as it stands at `t`, with each EV switch the DNO controls."""
    register = monitor.consent
    switches = {sw.premises: sw for sw in monitor.switches.values()}
    names = set(switches)
    for status in Consent:
        names.update(register.with_status(status))
    rows = []
    for name in sorted(names):
        sw = switches.get(name)
        rows.append({
            "premises": name,
            "consent": register.status_at(name, t).value,
            "terms": register.terms(name).describe(),
            "charger_kw": round(register.declared_kw(name), 2),
            "slot": None if sw is None else sw.slot,
            "switch": None if sw is None else sw.state,
            "times_curtailed": 0 if sw is None else sw.times_curtailed,
        })  # fmt: skip
    return rows


__all__ = ["SPEEDS", "ControlError", "FeederConsole", "consent_rows"]
