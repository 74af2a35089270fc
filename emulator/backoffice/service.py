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
from collections import Counter
from collections.abc import Callable

import aiohttp
from aiohttp import web

from emulator.clock import loop_seconds

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
    """POSTs signed documents to each user's registered endpoint, telling a listener that is
    not there from one that is slow, and saying which in the log.

    - Nobody to take it (connection refused or not made within `connect_timeout_s`, or an
      HTTP 5xx): tried again after each of `retries` seconds; when the last fails the
      document is lost, logged as such, and `deliver` returns False.
    - Sent, but no answer within `read_timeout_s`, or the connection closed unanswered: the
      listener may well have it, so it is logged as a slow listener and not sent again (a
      resend could be a duplicate); `deliver` returns True (sent).
    - Refused (HTTP 4xx): logged, not retried, False.
    `stats` counts each ending: delivered, retried, slow, lost, refused.
    """

    def __init__(
        self,
        timeout_s: float = 10.0,
        connect_timeout_s: float = 5.0,
        retries: tuple[float, ...] = (0.5, 2.0, 5.0),
    ):
        self.read_timeout_s = timeout_s
        self.connect_timeout_s = connect_timeout_s
        self.retries = retries
        self._session: aiohttp.ClientSession | None = None
        self.stats: Counter[str] = Counter()

    async def deliver(self, user: RegisteredUser, document: bytes, kind: duis.DocumentKind) -> bool:
        if not user.endpoint:
            log.warning("%s has no response endpoint: %s dropped", user.name, kind)
            self.stats["lost"] += 1
            return False
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession()
        timeout = aiohttp.ClientTimeout(  # real seconds, whatever the DSP clock's pace now
            total=None, sock_connect=loop_seconds(self.connect_timeout_s),
            sock_read=loop_seconds(self.read_timeout_s),
        )  # fmt: skip
        what = f"{kind} for {user.name} to {user.endpoint}"
        attempts = len(self.retries) + 1
        for attempt in range(1, attempts + 1):
            try:
                async with self._session.post(
                    user.endpoint, data=document, headers={"Content-Type": XML}, timeout=timeout
                ) as reply:
                    await reply.read()
                    status = reply.status
            except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError) as exc:
                why = f"nobody took it ({type(exc).__name__}: {exc})"
            except (aiohttp.SocketTimeoutError, TimeoutError):
                self.stats["slow"] += 1
                log.warning("slow listener: %s was sent but not answered within %g s; it may "
                            "well have it, so it is not sent again", what, self.read_timeout_s)  # fmt: skip
                return True
            except aiohttp.ClientError as exc:
                self.stats["slow"] += 1
                log.warning("listener closed the connection unanswered: %s was sent (%s); "
                            "not sent again", what, exc)  # fmt: skip
                return True
            else:
                if 200 <= status < 300:
                    self.stats["delivered"] += 1
                    if attempt > 1:
                        log.info("%s delivered at attempt %d", what, attempt)
                    return True
                if status < 500:
                    self.stats["refused"] += 1
                    log.warning("listener refused %s: HTTP %d; not sent again", what, status)
                    return False
                why = f"the listener answered HTTP {status}"
            if attempt < attempts:
                self.stats["retried"] += 1
                wait = self.retries[attempt - 1]
                log.info("%s: %s; trying again in %g s (attempt %d of %d)",
                         what, why, wait, attempt + 1, attempts)  # fmt: skip
                await asyncio.sleep(wait)
            else:
                self.stats["lost"] += 1
                log.warning("LOST %s: %s at each of %d attempts", what, why, attempts)
        return False

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
