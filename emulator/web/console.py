"""The web console over a running DSP: its own aiohttp site (default port 8080) serving the
premises, DUIS log and launcher pages, their JSON, the configuration API, and one stream of
server-sent events the pages update from.

What feeds it:
- requests: a middleware on the DSP's own HTTP app (`observe`) records each request body and
  the answer given; why a request was refused is the DSP's own refusal (`Dsp.on_refused`,
  kept for the request being handled);
- responses and alerts: the DSP's delivery is wrapped (`Tee`) so every document handed to a
  user's endpoint is recorded before it goes;
- device state: in-process premises are read every `refresh_s` and straight after a
  delivered document or a premises host's report (at most once per `min_gap_s`), and a
  premises whose state changed is sent as an event.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from aiohttp import web

from emulator.backoffice import config_api, duis
from emulator.backoffice.dsp import ENDPOINT_VARIANTS, Dsp, DspRefusal
from emulator.backoffice.registry import RegisteredUser
from emulator.backoffice.service import API_PREFIX
from emulator.clock import loop_seconds
from emulator.devices import Premises

from . import premises_view
from .events import EventHub, stream
from .launcher import Launcher, LaunchError
from .records import REQUEST, DuisLog, LogEntry, Verifier

log = logging.getLogger(__name__)

DEFAULT_WEB_PORT = 8080
#: aiohttp's idle keep-alive, in real seconds (a fast DSP clock must not shorten it)
KEEPALIVE_S = 75.0
STATIC = Path(__file__).with_name("static")
PAGES = {"premises": "premises.html", "log": "log.html", "launcher": "launcher.html"}
#: every page's name in the nav; a server's nav names only the pages it serves
TITLES = {"feeder": "Feeder", "premises": "Premises", "log": "DUIS log", "launcher": "Launcher"}
API = "/web/api"
_NAV = re.compile(r'<nav aria-label="Pages">.*?</nav>', re.DOTALL)
_refusals: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "gbhan_web_refusals", default=None
)


def _note_refusal(refusal: DspRefusal) -> None:
    """The DSP's reason for refusing the request being handled (a context variable the
    console's middleware sets, so concurrent requests never swap reasons)."""
    slot = _refusals.get()
    if slot is not None:
        slot.append(refusal.reason)


def page(name: str, nav: Sequence[str]) -> web.Response:
    """Page `name` (static/NAME.html) with a nav naming the pages in `nav`, this one marked
    current: `gbhan dsp serve` and `gbhan emulate --serve` serve different sets."""
    current = ' aria-current="page"'
    links = "".join(
        f'\n      <a href="/{other}"{current if other == name else ""}>{TITLES[other]}</a>'
        for other in nav
    )
    html = (STATIC / f"{name}.html").read_text(encoding="utf-8")
    html = _NAV.sub(lambda _m: f'<nav aria-label="Pages">{links}\n    </nav>', html, count=1)
    return web.Response(text=html, content_type="text/html", headers={"Cache-Control": "no-cache"})


def log_listing(hub: EventHub, duis_log: DuisLog | None, query: Mapping[str, str]) -> web.Response:
    """`GET /web/api/log[?request=ID][&limit=N]`: summaries, oldest first, and the last event
    they include (None: no DSP watched yet, an empty log)."""
    last = hub.last_id
    wanted = query.get("request")
    held = sorted(duis_log.entries.items()) if duis_log is not None else []
    entries = [e.summary() for _seq, e in held if wanted is None or e.request_id == wanted]
    limit = query.get("limit")
    if limit is not None and limit.isdigit():
        entries = entries[len(entries) - int(limit) :] if int(limit) else []
    return web.json_response({"last_event": last, "entries": entries})


async def log_entry(duis_log: DuisLog | None, pool: ThreadPoolExecutor, seq: int) -> web.Response:
    """`GET /web/api/log/{seq}`: one entry with its documents, worked out in `pool` (the
    verdicts take a while, and the page keeps serving meanwhile)."""
    details = None
    if duis_log is not None:
        details = await asyncio.get_running_loop().run_in_executor(pool, duis_log.details, seq)
    if details is None:
        return web.json_response({"error": f"no log entry {seq}"}, status=404)
    return web.json_response(details)


class RecordingTransport:
    """A DCC user's transport to an in-process DSP (`users.InProcessTransport`), with every
    request, the DSP's answer and the DSP's reason for a refusal handed to `seen`: what the
    middleware of `Console.observe` records for a DSP served over HTTP."""

    def __init__(self, inner: Any, seen: Callable[[str, bytes, bytes, str | None], None]) -> None:
        self.inner, self.seen = inner, seen

    async def post(self, endpoint: str, body: bytes) -> bytes:
        slot: list[str] = []
        token = _refusals.set(slot)
        try:
            answer: bytes = await self.inner.post(endpoint, body)
        finally:
            _refusals.reset(token)
        self.seen(endpoint, body, answer, slot[-1] if slot else None)
        return answer

    def __getattr__(self, name: str) -> Any:  # close ... of the wrapped transport
        return getattr(self.inner, name)


def note_refusals(dsp: Dsp) -> None:
    """Have `dsp` tell the request being recorded why it refused it (`Dsp.on_refused`)."""
    if _note_refusal not in dsp.on_refused:
        dsp.on_refused.append(_note_refusal)


def forget_refusals(dsp: Dsp) -> None:
    if _note_refusal in dsp.on_refused:
        dsp.on_refused.remove(_note_refusal)


class Tee:
    """The DSP's delivery, with every document recorded before it is handed on."""

    def __init__(self, inner: Any, seen: Callable[[RegisteredUser, bytes, str], None]) -> None:
        self.inner, self.seen = inner, seen

    async def deliver(self, user: RegisteredUser, document: bytes, kind: duis.DocumentKind) -> bool:
        self.seen(user, document, str(kind))
        ok: bool = await self.inner.deliver(user, document, kind)
        return ok

    def __getattr__(self, name: str) -> Any:  # stats, close ... of the wrapped delivery
        return getattr(self.inner, name)


async def start_site(app: web.Application, host: str, port: int) -> web.AppRunner:
    """Serve `app` (the DSP's, once `Console.observe` has seen it); port 0 picks a free one."""
    runner = web.AppRunner(app, access_log=None, keepalive_timeout=loop_seconds(KEEPALIVE_S))
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


class Console:
    """One console over `dsp`; `live` maps premises names to their in-process models."""

    def __init__(
        self,
        dsp: Dsp,
        *,
        live: dict[str, Premises],
        verifier: Verifier,
        launcher: Launcher | None = None,
        persist: Callable[[bytes, str | None], None] | None = None,
        configured: Callable[[], set[bytes]] | None = None,
        refresh_s: float = 0.5,
        min_gap_s: float = 0.1,
    ) -> None:
        self.dsp, self.live, self.launcher = dsp, live, launcher
        self.persist, self.configured = persist, configured
        self.refresh_s, self.min_gap_s = refresh_s, min_gap_s
        self.hub = EventHub()
        self.log = DuisLog(dsp.schema, dsp.trusted, verifier, self._user_name)
        self.log.listeners.append(self._published)
        self.mains: dict[str, dict[str, Any]] = {}
        self._states: dict[str, str] = {}
        self._watched: set[int] = set()
        self._poke = asyncio.Event()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="gbhan-web")
        self._tasks: list[asyncio.Task[None]] = []
        self._runner: web.AppRunner | None = None
        dsp.delivery = Tee(dsp.delivery, self._delivered)

    def set_duis_url(self, url: str) -> None:
        """Where the launcher sends requests: the DSP's own HTTP interface."""
        if self.launcher is not None:
            self.launcher.set_duis_url(url)

    def _user_name(self, eui: bytes) -> str:
        user = self.dsp.users.get(eui)
        return "" if user is None else user.name

    # --- feeds -----------------------------------------------------------------------------
    def observe(self, app: web.Application) -> None:
        """Record every DUIS request `app` (the DSP's service app, not yet started) serves."""

        @web.middleware
        async def record(request: web.Request, handler: Any) -> web.StreamResponse:
            endpoint = (
                request.path[len(API_PREFIX) :] if request.path.startswith(API_PREFIX) else ""
            )
            if request.method != "POST" or endpoint not in ENDPOINT_VARIANTS:
                return await handler(request)  # type: ignore[no-any-return]
            body = await request.read()  # aiohttp keeps it for the handler's read
            slot: list[str] = []
            token = _refusals.set(slot)
            try:
                response = await handler(request)
            finally:
                _refusals.reset(token)
            answer = response.body if isinstance(response, web.Response) else None
            if isinstance(answer, bytes):
                self.log.request(endpoint, body, answer, slot[-1] if slot else None)
            return response  # type: ignore[no-any-return]

        app.middlewares.append(record)
        note_refusals(self.dsp)

    def _delivered(self, user: RegisteredUser, document: bytes, kind: str) -> None:
        entry = self.log.delivered(bytes(user.eui), kind, document)
        if entry.direction != str(duis.DocumentKind.RESPONSE) and entry.device:
            if entry.code in premises_view.MAINS_OFF:
                self.mains[entry.device] = {"on": False, "since": entry.at, "alert": entry.code}
            elif entry.code in premises_view.MAINS_ON:
                self.mains[entry.device] = {"on": True, "since": entry.at, "alert": entry.code}
        self._poke.set()

    def _published(self, entry: LogEntry) -> None:
        self.hub.publish("duis", entry.summary())

    async def _watch(self) -> None:
        """Publish each in-process premises whose state changed."""
        while True:
            try:
                await asyncio.wait_for(self._poke.wait(), loop_seconds(self.refresh_s))
            except TimeoutError:
                pass
            self._poke.clear()
            try:
                for item in await self.premises():
                    text = json.dumps(item, sort_keys=True)
                    if self._states.get(item["name"]) != text:
                        self._states[item["name"]] = text
                        self.hub.publish("premises", item)
            except Exception:  # a model mid-change: read it again next time
                log.exception("reading the premises' state failed")
            # a burst of responses: one read per gap (real seconds, whatever the DSP's speed)
            await asyncio.sleep(loop_seconds(self.min_gap_s))

    async def premises(self) -> list[dict[str, Any]]:
        return await premises_view.snapshot(
            self.dsp.inventory, self.live, self.mains, self._hosted()
        )

    def _hosted(self) -> dict[str, Any]:
        """Premises the premises host runs (not in `live`), each watched for its reports."""
        found = premises_view.hosted(self.dsp.inventory, self.dsp.router.premises)
        for port in found.values():
            if id(port) not in self._watched:
                self._watched.add(id(port))
                port.on_view(lambda _port: self._poke.set())
        return {name: port for name, port in found.items() if name not in self.live}

    # --- the site -------------------------------------------------------------------------
    def make_app(self) -> web.Application:
        app = web.Application(client_max_size=256 * 1024)
        routes = [
            web.get("/", self._index),
            *(web.get(f"/{page}", self._page) for page in PAGES),
            web.static("/static", STATIC),
            web.get(f"{API}/premises", self._api_premises),
            web.get(f"{API}/log", self._api_log),
            web.get(f"{API}/log/{{seq:[0-9]+}}", self._api_entry),
            web.get(f"{API}/events", self._api_events),
            web.get(f"{API}/templates", self._api_templates),
            web.get(f"{API}/templates/{{name}}", self._api_template),
            web.get(f"{API}/senders", self._api_senders),
            web.post(f"{API}/send", self._api_send),
        ]
        app.add_routes(routes)
        config_api.add_routes(app, self.dsp, self.persist, self.configured)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = DEFAULT_WEB_PORT) -> web.AppRunner:
        """Serve the console (port 0: a free one, see service.bound_port) and start
        watching the premises."""
        if not (STATIC / PAGES["premises"]).is_file():
            raise FileNotFoundError(f"{STATIC}: the console's pages are not installed")
        runner = web.AppRunner(self.make_app(), access_log=None,
                               keepalive_timeout=loop_seconds(KEEPALIVE_S),
                               shutdown_timeout=loop_seconds(2.0))  # fmt: skip
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError:
            await runner.cleanup()
            raise
        self._runner = runner
        self._tasks.append(asyncio.get_running_loop().create_task(self._watch()))
        return self._runner

    async def stop(self) -> None:
        self.hub.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
        if self.launcher is not None:
            await self.launcher.close()
        self._pool.shutdown(wait=False, cancel_futures=True)
        forget_refusals(self.dsp)

    # --- handlers ---------------------------------------------------------------------------
    async def _index(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/premises")

    async def _page(self, request: web.Request) -> web.StreamResponse:
        return page(request.path.strip("/"), list(PAGES))

    async def _api_premises(self, request: web.Request) -> web.Response:
        last = self.hub.last_id
        return web.json_response({"last_event": last, "premises": await self.premises(),
                                  "clock": self.clock()})  # fmt: skip

    def clock_changed(self) -> None:
        """The DSP's clock changed pace (PUT /gbhan/v1/clock): pages run it on anew."""
        self.hub.publish("clock", self.clock())

    def clock(self) -> dict[str, Any]:
        """The DSP's clock now and its speed (`gbhan dsp serve --start --speed`): the page
        runs it on from there."""
        return config_api.clock_state(self.dsp)

    async def _api_log(self, request: web.Request) -> web.Response:
        return log_listing(self.hub, self.log, request.query)

    async def _api_entry(self, request: web.Request) -> web.Response:
        return await log_entry(self.log, self._pool, int(request.match_info["seq"]))

    async def _api_events(self, request: web.Request) -> web.StreamResponse:
        return await stream(self.hub, request)

    def _launcher(self) -> Launcher:
        if self.launcher is None:
            raise web.HTTPNotFound(text=json.dumps({"error": "no launcher on this console"}),
                                   content_type="application/json")  # fmt: skip
        return self.launcher

    async def _api_templates(self, request: web.Request) -> web.Response:
        return web.json_response(self._launcher().templates())

    async def _api_template(self, request: web.Request) -> web.Response:
        try:
            return web.json_response(self._launcher().template(request.match_info["name"]))
        except LaunchError as exc:
            return web.json_response({"error": str(exc)}, status=404)

    async def _api_senders(self, request: web.Request) -> web.Response:
        return web.json_response(self._launcher().senders())

    async def _api_send(self, request: web.Request) -> web.Response:
        launcher = self._launcher()
        try:
            body = json.loads(await request.read())
            if not isinstance(body, dict):
                raise ValueError("the body is a JSON object")
            user = duis.eui_from_text(str(body.get("user", "")))
            target = duis.eui_from_text(str(body["target"])) if body.get("target") else None
            fields = body.get("fields") or {}
            if not isinstance(fields, dict):
                raise ValueError("fields is an object of path: value")
            result = await launcher.send(str(body.get("template", "")), user, target,
                                         {str(k): str(v) for k, v in fields.items()},
                                         str(body.get("tamper", "none")))  # fmt: skip
        except (ValueError, LaunchError, duis.DuisError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response(result)


__all__ = [
    "DEFAULT_WEB_PORT",
    "REQUEST",
    "TITLES",
    "Console",
    "RecordingTransport",
    "Tee",
    "forget_refusals",
    "log_entry",
    "log_listing",
    "note_refusals",
    "page",
    "start_site",
]
