"""DCC Boxed's DUIS interface over HTTP (aiohttp), a thin layer over `Dsp.handle`:
`POST /api/v1/serviceS` (send command), `/api/v1/serviceT` (transform: a critical request
returns its pre-command), `/api/v1/serviceD` (non-device services), `application/xml` both
ways, default port 8079. Every request gets the DSP's signed DUIS answer with HTTP 200 (an
`E` code says when it was refused); only a wrong content type (415), an oversized body (413)
or an unknown path (404) are answered at the HTTP level. Asynchronous responses and alerts
are POSTed by `HttpDelivery` to the URL registered for each user. The same port serves the
JSON configuration API (config_api.py) under `/gbhan/v1/`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import aiohttp
from aiohttp import web

from . import config_api, duis
from .dsp import ENDPOINT_VARIANTS, Dsp
from .registry import RegisteredUser

log = logging.getLogger(__name__)

DEFAULT_PORT = 8079
API_PREFIX = "/api/v1/"
XML = "application/xml"
XML_TYPES = (XML, "text/xml")
MAX_BODY = (1 << 20) + 64 * 1024  # the DUIS parser refuses > 1 MiB itself, with E40


class HttpDelivery:
    """POSTs signed documents to each user's registered endpoint; False when it fails."""

    def __init__(self, timeout_s: float = 10.0):
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._session: aiohttp.ClientSession | None = None

    async def deliver(self, user: RegisteredUser, document: bytes, kind: duis.DocumentKind) -> bool:
        if not user.endpoint:
            log.warning("%s has no response endpoint: %s dropped", user.name, kind)
            return False
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self._timeout)
        async with self._session.post(
            user.endpoint, data=document, headers={"Content-Type": XML}
        ) as reply:
            await reply.read()
            return 200 <= reply.status < 300

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()


def make_app(
    dsp: Dsp,
    persist: Callable[[bytes, str | None], None] | None = None,
    configured: Callable[[], set[bytes]] | None = None,
) -> web.Application:
    """DUIS's serviceS/T/D and the configuration API (`persist` and `configured`: see
    config_api.add_routes)."""
    app = web.Application(client_max_size=MAX_BODY)

    async def service(request: web.Request) -> web.Response:
        if request.content_type not in XML_TYPES:
            return web.Response(status=415, text=f"Content-Type must be {XML}")
        body = await request.read()
        answer = await dsp.handle(request.match_info["endpoint"], body)
        return web.Response(body=answer, content_type=XML)

    pattern = "{endpoint:" + "|".join(ENDPOINT_VARIANTS) + "}"
    app.router.add_post(API_PREFIX + pattern, service)
    config_api.add_routes(app, dsp, persist, configured)
    return app


async def start(
    dsp: Dsp,
    host: str = "127.0.0.1",
    port: int = DEFAULT_PORT,
    persist: Callable[[bytes, str | None], None] | None = None,
    configured: Callable[[], set[bytes]] | None = None,
) -> web.AppRunner:
    """Start serving; returns the runner (`await runner.cleanup()` to stop). Port 0 picks a
    free port: read it with `bound_port(runner)`."""
    runner = web.AppRunner(make_app(dsp, persist, configured), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


def bound_port(runner: web.AppRunner) -> int:
    for site in runner.sites:
        server = site._server  # aiohttp keeps the asyncio server here
        if isinstance(server, asyncio.Server) and server.sockets:
            return server.sockets[0].getsockname()[1]
    raise RuntimeError("the service is not listening")
