"""Delivery to users' endpoints over real HTTP (service.HttpDelivery): a listener that is not
there yet is tried again and gets the document once; one that never comes is logged LOST;
a slow listener is logged as slow, not as a failure, and gets the document exactly once (it
is not sent again); a refusal (4xx) is not retried; a 503 is."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web
from backoffice_helpers import free_port

from emulator.backoffice.duis import DocumentKind
from emulator.backoffice.eligibility import DuisRole
from emulator.backoffice.registry import RegisteredUser
from emulator.backoffice.service import HttpDelivery

DOCUMENT = b"<sr:Response xmlns:sr='http://www.dccinterface.co.uk/ServiceUserGateway'/>"


class Listener:
    """A user's endpoint that answers each POST with the next of `statuses` (then 200),
    after `delay` seconds; records every body it was sent."""

    def __init__(self, port: int, statuses=(), delay: float = 0.0):
        self.port, self.statuses, self.delay = port, list(statuses), delay
        self.received: list[bytes] = []
        self.runner: web.AppRunner | None = None

    async def start(self) -> None:
        async def post(request: web.Request) -> web.Response:
            self.received.append(await request.read())
            await asyncio.sleep(self.delay)
            return web.Response(status=self.statuses.pop(0) if self.statuses else 200)

        app = web.Application()
        app.router.add_post("/", post)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        await web.TCPSite(self.runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


def user(port: int) -> RegisteredUser:
    return RegisteredUser(b"\x90\xb3\xd5\x1f\x30\x02\x00\x00", DuisRole.ELECTRICITY_DISTRIBUTOR,
                          "dno", [], f"http://127.0.0.1:{port}/")  # fmt: skip


def deliver(listener: Listener | None, port: int, *, start_after: float | None = 0.0, **kw):
    delivery = HttpDelivery(**kw)

    async def main():
        later = None
        if listener is not None and start_after == 0.0:
            await listener.start()
        elif listener is not None:
            later = asyncio.get_running_loop().call_later(
                start_after, lambda: asyncio.ensure_future(listener.start())
            )
        try:
            return await delivery.deliver(user(port), DOCUMENT, DocumentKind.RESPONSE)
        finally:
            if later is not None:
                later.cancel()
            await delivery.close()
            if listener is not None:
                await listener.stop()

    return asyncio.run(main()), delivery.stats


def test_a_listener_not_there_yet_gets_it_once_after_a_retry(caplog):
    port = free_port()
    listener = Listener(port)
    with caplog.at_level(logging.INFO, logger="emulator.backoffice.service"):
        ok, stats = deliver(listener, port, start_after=0.3, retries=(0.6, 1.0))
    assert ok and listener.received == [DOCUMENT]
    assert stats["retried"] >= 1 and stats["delivered"] == 1 and stats["lost"] == 0
    assert "nobody took it" in caplog.text and "trying again" in caplog.text


def test_a_listener_that_never_comes_is_logged_lost(caplog):
    port = free_port()
    with caplog.at_level(logging.INFO, logger="emulator.backoffice.service"):
        ok, stats = deliver(None, port, retries=(0.05, 0.05))
    assert not ok and stats["lost"] == 1 and stats["retried"] == 2
    assert "LOST response for dno" in caplog.text and "at each of 3 attempts" in caplog.text


def test_a_slow_listener_is_not_a_failure_and_gets_it_once(caplog):
    port = free_port()
    listener = Listener(port, delay=1.0)
    with caplog.at_level(logging.INFO, logger="emulator.backoffice.service"):
        ok, stats = deliver(listener, port, timeout_s=0.3, retries=(0.05,))
    assert ok and listener.received == [DOCUMENT]  # not sent a second time
    assert stats["slow"] == 1 and stats["lost"] == 0 and stats["retried"] == 0
    assert "slow listener" in caplog.text and "LOST" not in caplog.text


def test_a_refusal_is_not_retried_and_a_503_is():
    port = free_port()
    refusing = Listener(port, statuses=[400])
    ok, stats = deliver(refusing, port, retries=(0.05,))
    assert not ok and refusing.received == [DOCUMENT] and stats["refused"] == 1
    port = free_port()
    busy = Listener(port, statuses=[503])
    ok, stats = deliver(busy, port, retries=(0.05,))
    assert ok and busy.received == [DOCUMENT, DOCUMENT] and stats["retried"] == 1
