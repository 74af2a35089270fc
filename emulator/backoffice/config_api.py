"""The DSP's small configuration API, JSON over HTTP beside the DUIS endpoints (same port),
for what a DCC Boxed user changes while the DSP runs: where each user's responses go. The
`gbhan dsp users endpoint` command and the web console use it.

    GET  /gbhan/v1/users                  every user: eui, role, name, endpoint, configured
    GET  /gbhan/v1/users/{eui}/endpoint   {"eui": ..., "endpoint": URL or null}
    PUT  /gbhan/v1/users/{eui}/endpoint   body {"endpoint": URL or null}: set (kept in the
                                          state directory when there is one) or clear
    GET  /gbhan/v1/devices                every device: eui, type, premises
    GET  /gbhan/v1/clock                  the DSP's clock: {"utc": ..., "speed": X, "paced": ...}
    PUT  /gbhan/v1/clock                  body {"speed": X}: a paced DSP (`gbhan dsp serve
                                          --start` or `--speed`) runs X times as fast from
                                          now on (409 on a DSP on the plain wall clock)

EUIs are accepted in any EUI-64 spelling and answered as DUIS writes them
(00-DB-12-34-56-78-00-04). A refusal is JSON too, `{"error": ...}`, with 400 (bad EUI, URL
or body) or 404 (no such user). Like DCC Boxed's own ports it has no authentication: bind
`gbhan dsp serve --host` only where the users you trust can reach it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from urllib.parse import urlsplit

from aiohttp import web

from emulator.clock import loop_seconds

from .dsp import Dsp
from .userconfig import UserConfigError, parse_eui

PREFIX = "/gbhan/v1"
MAX_BODY = 16 * 1024


def dashed(eui: bytes) -> str:
    return bytes(eui).hex("-").upper()


def check_url(url: object) -> str | None:
    """An endpoint URL as the DSP will POST to it (http or https with a host), or None to
    clear; ValueError otherwise."""
    if url is None:
        return None
    if not isinstance(url, str):
        raise ValueError("endpoint is a URL string or null")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"endpoint {url!r} is not an http(s) URL with a host")
    return url


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def clock_state(dsp: Dsp) -> dict[str, object]:
    """The DSP's clock now, its speed, and whether its pace may change (`dsp.pace`): what
    GET /gbhan/v1/clock answers and the web console's pages run their clock on from."""
    now = dsp.utc_now().astimezone(dt.UTC).isoformat(timespec="seconds")
    return {"utc": now.replace("+00:00", "Z"), "speed": loop_seconds(1.0),
            "paced": dsp.pace is not None}  # fmt: skip


async def _json_body(request: web.Request) -> object:
    """The request's JSON body; ValueError when it is too large or not JSON."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        raise ValueError("body too large")
    return json.loads(await request.read())


def add_routes(
    app: web.Application,
    dsp: Dsp,
    persist: Callable[[bytes, str | None], None] | None = None,
    configured: Callable[[], set[bytes]] | None = None,
) -> None:
    """Serve the configuration API for `dsp` on `app`. `persist(eui, url)` keeps an endpoint
    change (the state directory); `configured()` names the users added by configuration."""

    def user_of(request: web.Request):
        try:
            eui = parse_eui(request.match_info["eui"], "user")
        except UserConfigError as exc:
            raise web.HTTPBadRequest(
                text=json.dumps({"error": str(exc)}), content_type="application/json"
            ) from None
        user = dsp.users.get(eui)
        if user is None:
            raise web.HTTPNotFound(
                text=json.dumps({"error": f"no user {dashed(eui)}"}),
                content_type="application/json",
            )
        return user

    async def users(request: web.Request) -> web.Response:
        added = configured() if configured is not None else set()
        return web.json_response([
            {"eui": dashed(u.eui), "role": u.role.value,
             "roles": [r.value for r in u.roles], "name": u.name,
             "endpoint": u.endpoint, "configured": bytes(u.eui) in added}
            for u in sorted(dsp.users, key=lambda u: bytes(u.eui))
        ])  # fmt: skip

    async def get_endpoint(request: web.Request) -> web.Response:
        user = user_of(request)
        return web.json_response({"eui": dashed(user.eui), "endpoint": user.endpoint})

    async def put_endpoint(request: web.Request) -> web.Response:
        user = user_of(request)
        try:
            body = await _json_body(request)
            if not isinstance(body, dict) or "endpoint" not in body:
                raise ValueError('the body is {"endpoint": URL or null}')
            url = check_url(body["endpoint"])
        except (ValueError, UnicodeDecodeError) as exc:
            return _error(400, str(exc))
        user.endpoint = url
        if persist is not None:
            persist(bytes(user.eui), url)
        return web.json_response({"eui": dashed(user.eui), "endpoint": user.endpoint})

    async def devices(request: web.Request) -> web.Response:
        return web.json_response([
            {"eui": dashed(d.eui), "type": d.device_type, "premises": d.premises}
            for d in sorted(dsp.inventory.devices.values(), key=lambda d: d.eui)
        ])  # fmt: skip

    app.router.add_get(f"{PREFIX}/users", users)
    app.router.add_get(f"{PREFIX}/users/{{eui}}/endpoint", get_endpoint)
    app.router.add_put(f"{PREFIX}/users/{{eui}}/endpoint", put_endpoint)

    async def get_clock(request: web.Request) -> web.Response:
        return web.json_response(clock_state(dsp))

    async def put_clock(request: web.Request) -> web.Response:
        try:
            body = await _json_body(request)
            speed = body.get("speed") if isinstance(body, dict) else None
            if isinstance(speed, bool) or not isinstance(speed, int | float):
                raise ValueError('the body is {"speed": X}, X simulated seconds a second')
            if not 0 < speed < float("inf"):
                raise ValueError(f"speed {speed}: above 0 (1: real time)")
        except (ValueError, UnicodeDecodeError) as exc:
            return _error(400, str(exc))
        if dsp.pace is None:
            return _error(409, "this DSP runs on the wall clock: start it with --start or "
                          "--speed to change its pace")  # fmt: skip
        dsp.pace(float(speed))
        return web.json_response(clock_state(dsp))

    app.router.add_get(f"{PREFIX}/devices", devices)
    app.router.add_get(f"{PREFIX}/clock", get_clock)
    app.router.add_put(f"{PREFIX}/clock", put_clock)
