"""The console's event stream: every DUIS document and device state change, numbered in the
order it happened, fanned out to each browser as server-sent events.

A page first reads a snapshot (which names the last event id it includes), then subscribes
with `after=` that id: the hub replays what it still holds after it, so nothing that happened
between the two is missed. The hub keeps the last `keep` events; a subscriber that falls
further behind than its queue is dropped (its page reconnects and reads a fresh snapshot)
rather than holding the DSP up.
"""

from __future__ import annotations

import asyncio
import json
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from emulator.clock import loop_seconds

#: A comment line on a quiet stream every this many seconds: a page that has gone is found.
HEARTBEAT_S = 15.0


@dataclass(frozen=True)
class Event:
    """One numbered event: `kind` names the SSE event (duis, premises), `data` its JSON."""

    id: int
    kind: str
    data: dict[str, Any]

    def sse(self) -> bytes:
        """The event as the text/event-stream wire format."""
        return f"id: {self.id}\nevent: {self.kind}\ndata: {json.dumps(self.data)}\n\n".encode()


class EventHub:
    """Numbers events, keeps the recent ones, and hands each to every subscriber."""

    def __init__(self, keep: int = 5000, queue_size: int = 2000) -> None:
        self._events: deque[Event] = deque(maxlen=keep)
        self._subscribers: set[asyncio.Queue[Event | None]] = set()
        self._queue_size = queue_size
        self.last_id = 0
        self.dropped_subscribers = 0

    def publish(self, kind: str, data: dict[str, Any]) -> Event:
        self.last_id += 1
        event = Event(self.last_id, kind, data)
        self._events.append(event)
        for queue in list(self._subscribers):
            if queue.qsize() >= self._queue_size:  # too slow: cut off, its page resynchronises
                self._subscribers.discard(queue)
                self.dropped_subscribers += 1
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(None)
            else:
                queue.put_nowait(event)
        return event

    def since(self, after: int) -> list[Event]:
        """The events still held with an id above `after`, oldest first."""
        return [e for e in self._events if e.id > after]

    async def subscribe(
        self, after: int | None = None, heartbeat_s: float | None = None
    ) -> AsyncIterator[Event | None]:
        """Every event after `after` (None: from now on), then each new one as it comes;
        with `heartbeat_s`, None after each quiet spell that long (the stream's keep-alive,
        which also finds a page that has gone)."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        self._subscribers.add(queue)
        seen = self.last_id if after is None else after
        try:
            for event in self.since(seen):
                seen = event.id
                yield event
            while True:
                try:
                    got = await asyncio.wait_for(queue.get(), heartbeat_s)
                except TimeoutError:
                    yield None
                    continue
                if got is None:
                    return
                if got.id > seen:  # not already replayed above
                    seen = got.id
                    yield got
        finally:
            self._subscribers.discard(queue)

    def close(self) -> None:
        """End every subscription (the console is stopping)."""
        for queue in list(self._subscribers):
            queue.put_nowait(None)
        self._subscribers.clear()


async def stream(hub: EventHub, request: web.Request) -> web.StreamResponse:
    """Serve `hub` as text/event-stream: every event after the request's `Last-Event-ID` (a
    reconnecting EventSource says where it got to; its URL still has the first `after=`), or
    its `after=`, then each as it happens, with a keep-alive comment on a quiet stream."""
    text = request.headers.get("Last-Event-ID") or request.query.get("after")
    after = int(text) if text and text.isdigit() else None
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream", "Cache-Control": "no-cache",
    })  # fmt: skip
    await response.prepare(request)
    await response.write(b"retry: 2000\n\n")
    try:
        async for event in hub.subscribe(after, heartbeat_s=loop_seconds(HEARTBEAT_S)):
            await response.write(b": keep-alive\n\n" if event is None else event.sse())
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    return response
