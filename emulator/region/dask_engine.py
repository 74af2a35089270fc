"""Shards as dask.distributed actors: a LocalCluster on this machine by default (no cluster to
set up), or a running scheduler at ``address``. Why Dask and not Ray: ``docs/region.md``.

An actor keeps its shard's live event loop between windows (no state crosses the network but
the window's SRVs and answers). The client is asynchronous, on its own thread: a window's
calls to every shard go out together and are awaited together, one thread hop per window
(the blocking client's one per call doubled the cost of a window). When a worker process dies
its actors die with it; the call raises, ``ShardLost`` tells the coordinator, which rebuilds
the shard on a live worker (the LocalCluster's nanny restarts the dead one) and replays it
from its log.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable
from typing import Any, TypeVar

from emulator.region.coordinator import ShardLost
from emulator.region.shard import Answers, Shard, Step, Subs
from emulator.region.spec import Region

log = logging.getLogger(__name__)
T = TypeVar("T")

#: how long a lost shard waits for a worker to come back (the nanny restarts it in ~1 s)
WORKER_WAIT_S = 60.0


class DaskExecutor:
    """``workers`` local worker processes (one thread each), or the cluster at ``address``."""

    def __init__(self, workers: int = 2, address: str | None = None) -> None:
        self.address = address
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="region-dask",
                                        daemon=True)  # fmt: skip
        self._thread.start()
        self.cluster: Any = None
        self.client: Any = None
        self._call(self._open(workers, address))
        self.workers = len(self._worker_addresses()) or workers
        self.actors: list[Any] = []
        self._region: Region | None = None
        self._indices: list[list[int]] = []

    def _call(self, coro: Awaitable[T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()  # type: ignore[arg-type]

    async def _open(self, workers: int, address: str | None) -> None:
        # dask is imported here, not at the top: `gbhan --help` and the inline path do not pay
        # its import (about half a second), and a checkout without it still runs the rest.
        from distributed import Client, LocalCluster

        if address is None:
            self.cluster = await LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True,
                dashboard_address=":0", silence_logs=logging.ERROR, asynchronous=True,
            )  # fmt: skip
            address = self.cluster.scheduler_address
        self.client = await Client(address, asynchronous=True)

    def _worker_addresses(self) -> list[str]:
        return sorted(self.client.scheduler_info()["workers"])

    async def _spawn(self, shard: int, worker: str | None) -> Any:
        return await self.client.submit(
            Shard, self._region, self._indices[shard], actor=True, pure=False,
            workers=[worker] if worker else None,
        )  # fmt: skip

    def start(self, region: Region, shards: list[list[int]]) -> None:
        self._region, self._indices = region, shards
        workers = self._worker_addresses()

        async def spawn_all() -> list[Any]:
            return list(await asyncio.gather(
                *(self._spawn(k, workers[k % len(workers)]) for k in range(len(shards)))))  # fmt: skip

        self.actors = self._call(spawn_all())

    async def _advance(self, shard: int, until: float, answers: Answers) -> Step | ShardLost:
        try:
            step: Step = await self.actors[shard].advance(until, answers)
            return step
        except ValueError as err:
            if "lookahead" in str(err):
                raise
            return ShardLost(repr(err))
        except Exception as err:  # noqa: BLE001 - any other failure of the call: a lost worker
            log.warning("shard %d: its worker was lost: %r", shard, err)
            return ShardLost(repr(err))

    def advance_all(self, until: float, answers: list[Answers]) -> list[Step | ShardLost]:
        async def all_shards() -> list[Step | ShardLost]:
            return list(await asyncio.gather(
                *(self._advance(k, until, a) for k, a in enumerate(answers))))  # fmt: skip

        return self._call(all_shards())

    def advance_one(self, shard: int, until: float, answers: Answers) -> Step | ShardLost:
        return self._call(self._advance(shard, until, answers))

    def rebuild(self, shard: int) -> None:
        deadline = time.monotonic() + WORKER_WAIT_S
        while not self._worker_addresses():
            if time.monotonic() > deadline:
                raise ShardLost(f"no worker came back within {WORKER_WAIT_S:.0f} s")
            time.sleep(0.2)
        try:
            self.actors[shard] = self._call(self._spawn(shard, None))
        except Exception as err:  # noqa: BLE001
            raise ShardLost(repr(err)) from err

    def replay(self, shard: int, log: list[tuple[float, Answers]]) -> list[Subs]:
        async def replay() -> list[Subs]:
            result: list[Subs] = await self.actors[shard].replay(log)
            return result

        try:
            return self._call(replay())
        except Exception as err:  # noqa: BLE001
            raise ShardLost(repr(err)) from err

    def stats(self) -> list[dict[str, float]]:
        async def stats() -> list[dict[str, float]]:
            return list(await asyncio.gather(*(a.stats() for a in self.actors)))

        return self._call(stats())

    def results(self) -> list[list[dict[str, Any]]]:
        async def results() -> list[list[dict[str, Any]]]:
            return list(await asyncio.gather(*(a.results() for a in self.actors)))

        return self._call(results())

    def close(self) -> None:
        async def close() -> None:
            if self.client is not None:
                await self.client.close()
            if self.cluster is not None:
                await self.cluster.close()

        try:
            self._call(close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
