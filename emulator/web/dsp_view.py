"""The premises and DUIS log pages over a DSP that runs on another thread's event loop: a
scenario's own DSP (`gbhan emulate --serve`), in simulated time, watched from the feeder
page's real-time loop.

That DSP has no HTTP interface (its DNO and Supplier reach it in-process), so:
- requests: each user's transport is wrapped (`RecordingTransport`), recording each request,
  the DSP's answer and, for a refusal, the DSP's reason (`Dsp.on_refused`);
- responses and alerts: the DSP's delivery is wrapped (`Tee`), as for `gbhan dsp serve`;
- device state: the premises in `live` (a scenario's households; the RTDS devices its DSP's
  inventory also holds run nowhere in a scenario, so are not shown) are read on the run's
  own loop (their models belong to it), at a sample after a document was delivered or
  `refresh_s` (real) has passed, and after the last sample as each document is delivered
  (the SRVs the DNO settles).
What is seen is handed to the console's loop (`post`), where the log is kept, the premises
compared and the events published, so the run only copies bytes. Times in the log are the
run's (`utc_now`: the scenario's start plus simulated time), as on the feeder page.
"""

from __future__ import annotations

import asyncio
import datetime as _dt
import json
import logging
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from aiohttp import web

from emulator.backoffice import duis
from emulator.backoffice.dsp import Dsp
from emulator.backoffice.registry import RegisteredUser
from emulator.devices import Premises

from . import premises_view
from .console import RecordingTransport, Tee, log_entry, log_listing, note_refusals
from .events import EventHub
from .records import DuisLog, LogEntry, Verifier

log = logging.getLogger(__name__)

API = "/web/api"
#: the mains as shown before the DSP has heard anything from a hub
_MAINS_UNHEARD: dict[str, Any] = {"on": True, "since": None, "alert": None}

Post = Callable[[Callable[[Any], None], Any], None]


class DspView:
    """The DUIS log and premises of one DSP on another loop. `post(handler, data)` runs
    `handler(data)` on the console's loop (in order); `hub` is the console's event stream."""

    def __init__(
        self, hub: EventHub, post: Post, *, refresh_s: float = 0.5, min_gap_s: float = 0.1
    ) -> None:
        self.hub, self.post = hub, post
        self.refresh_s, self.min_gap_s = refresh_s, min_gap_s
        # the console's loop only
        self.log: DuisLog | None = None
        self.items: dict[str, dict[str, Any]] = {}  # premises name -> as the page shows it
        self.mains: dict[str, dict[str, Any]] = {}  # hub EUI -> what its alerts said
        self._texts: dict[str, str] = {}
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="gbhan-web-log")
        # the run's thread only
        self._dsp: Dsp | None = None
        self._live: dict[str, Premises] = {}
        self._utc_now: Callable[[], _dt.datetime] = lambda: _dt.datetime.now(_dt.UTC)
        self._dirty = False
        self._reading = False
        self._read_at = -1e9
        self._settling = False

    # --- the run's side (its thread, its loop) ----------------------------------------------
    def attach(
        self, dsp: Dsp, *, live: Mapping[str, Premises], users: Iterable[Any],
        verifier: Verifier, utc_now: Callable[[], _dt.datetime] | None = None,
    ) -> None:  # fmt: skip
        """Watch `dsp` (on the run's thread, before its first sample): its delivery, the
        transports of `users` (the DCC users that reach it in-process: `DuisUser`s), and the
        premises in `live`. `verifier` judges GBCS payloads when a log entry is opened."""
        self._dsp, self._live = dsp, dict(live)
        if utc_now is not None:
            self._utc_now = utc_now
        duis_log = DuisLog(dsp.schema, dsp.trusted, verifier, self._user_name)
        dsp.delivery = Tee(dsp.delivery, self._delivered)
        for user in users:
            user.transport = RecordingTransport(user.transport, self._requested)
        note_refusals(dsp)
        self.post(self._attached, duis_log)

    def _user_name(self, eui: bytes) -> str:
        user = self._dsp.users.get(eui) if self._dsp is not None else None
        return "" if user is None else user.name

    def _requested(self, endpoint: str, body: bytes, answer: bytes, reason: str | None) -> None:
        self.post(self._log_request, (endpoint, body, answer, reason, self._utc_now()))

    def _delivered(self, user: RegisteredUser, document: bytes, kind: str) -> None:
        self.post(self._log_delivery, (bytes(user.eui), kind, document, self._utc_now()))
        self._dirty = True
        if self._settling:  # after the last sample: no step will read them again
            self._read_now()

    def step(self, *, last: bool = False) -> None:
        """At a sample (the engine's step hook, on the run's loop): read the premises if a
        document was delivered since the last read or `refresh_s` has passed (at most once
        per `min_gap_s`; always at the `last` sample)."""
        if self._dsp is None:
            return
        self._settling = last
        since = time.monotonic() - self._read_at
        if last or (since >= self.min_gap_s and (self._dirty or since >= self.refresh_s)):
            self._read_now()

    def _read_now(self) -> None:
        if self._reading:
            self._dirty = True  # read again at the next chance
            return
        self._reading, self._dirty = True, False
        self._read_at = time.monotonic()
        asyncio.get_running_loop().create_task(self._read())

    async def _read(self) -> None:
        assert self._dsp is not None
        try:
            items = await premises_view.snapshot(self._dsp.inventory, self._live, {})
        except Exception as exc:  # a board gone at the run's end, a model mid-change
            log.warning("reading the scenario's premises failed: %s", exc)
            items = None
        self._reading = False
        if items is not None:  # the households: not the RTDS inventory nothing runs here
            self.post(self._read_in, [item for item in items if item["name"] in self._live])
        if self._dirty and self._settling:  # delivered while this read was under way
            self._read_now()

    # --- what the console keeps and publishes (its loop) ------------------------------------
    def _attached(self, duis_log: DuisLog) -> None:
        self.log = duis_log
        duis_log.listeners.append(self._published)

    def _published(self, entry: LogEntry) -> None:
        self.hub.publish("duis", entry.summary())

    def _log_request(self, data: tuple[str, bytes, bytes, str | None, _dt.datetime]) -> None:
        if self.log is not None:
            endpoint, body, answer, reason, at = data
            self.log.request(endpoint, body, answer, reason, at)

    def _log_delivery(self, data: tuple[bytes, str, bytes, _dt.datetime]) -> None:
        if self.log is None:
            return
        user, kind, document, at = data
        entry = self.log.delivered(user, kind, document, at)
        if entry.direction == str(duis.DocumentKind.RESPONSE) or not entry.device:
            return
        for codes, on in ((premises_view.MAINS_OFF, False), (premises_view.MAINS_ON, True)):
            if entry.code in codes:
                self.mains[entry.device] = {"on": on, "since": entry.at, "alert": entry.code}
                self._read_in(list(self.items.values()))  # the hub's mains shown anew

    def _read_in(self, items: list[dict[str, Any]]) -> None:
        """Publish each premises whose state changed (its mains as the DSP last heard)."""
        for item in items:
            live = item.get("live")
            if live is not None:
                live["hub"]["mains"] = self.mains.get(live["hub"]["eui"], _MAINS_UNHEARD)
            text = json.dumps(item, sort_keys=True)
            if self._texts.get(item["name"]) != text:
                self._texts[item["name"]] = text
                self.items[item["name"]] = item
                self.hub.publish("premises", item)

    # --- the site (the console's loop) ------------------------------------------------------
    def routes(self) -> list[web.AbstractRouteDef]:
        return [
            web.get(f"{API}/premises", self._api_premises),
            web.get(f"{API}/log", self._api_log),
            web.get(f"{API}/log/{{seq:[0-9]+}}", self._api_entry),
        ]

    async def _api_premises(self, request: web.Request) -> web.Response:
        premises = [self.items[name] for name in sorted(self.items)]
        return web.json_response({"last_event": self.hub.last_id, "premises": premises})

    async def _api_log(self, request: web.Request) -> web.Response:
        return log_listing(self.hub, self.log, request.query)

    async def _api_entry(self, request: web.Request) -> web.Response:
        return await log_entry(self.log, self._pool, int(request.match_info["seq"]))

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


__all__ = ["DspView"]
