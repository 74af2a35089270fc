"""Shards as dask.distributed actors: a LocalCluster on this machine by default (no cluster to
set up), or a running scheduler at ``address``. Why Dask and not Ray: ``docs/region.md``.

An actor keeps its shard's live event loop between windows (no state crosses the network but
the window's SRVs and answers). When a worker process dies its actors die with it; the call
raises, ``ShardLost`` tells the coordinator, which rebuilds the shard on a live worker (the
LocalCluster's nanny restarts the dead one) and replays it from its log.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from emulator.region.coordinator import ShardLost
from emulator.region.shard import Answers, Shard, Step, Subs
from emulator.region.spec import Region

log = logging.getLogger(__name__)


class DaskExecutor:
    """``workers`` local worker processes (one thread each), or the cluster at ``address``."""

    def __init__(self, workers: int = 2, address: str | None = None) -> None:
        # dask is imported here, not at the top: `gbhan --help` and the inline path do not pay
        # its import (about half a second), and a checkout without it still runs the rest.
        from distributed import Client, LocalCluster

        self.address = address
        if address is None:
            self.cluster: Any = LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True,
                dashboard_address=":0", silence_logs=logging.ERROR,
            )  # fmt: skip
            self.client = Client(self.cluster)
        else:
            self.cluster = None
            self.client = Client(address)
        self.workers = len(self.client.scheduler_info()["workers"]) or workers
        self.actors: list[Any] = []
        self._region: Region | None = None
        self._indices: list[list[int]] = []

    def _worker_addresses(self) -> list[str]:
        return sorted(self.client.scheduler_info()["workers"])

    def _spawn(self, shard: int, worker: str | None) -> Any:
        future = self.client.submit(
            Shard, self._region, self._indices[shard], actor=True, pure=False,
            workers=[worker] if worker else None,
        )  # fmt: skip
        return future.result()

    def start(self, region: Region, shards: list[list[int]]) -> None:
        self._region, self._indices = region, shards
        workers = self._worker_addresses()
        self.actors = [self._spawn(k, workers[k % len(workers)]) for k in range(len(shards))]

    def advance_all(self, until: float, answers: list[Answers]) -> list[Step | ShardLost]:
        pending = []
        for actor, a in zip(self.actors, answers, strict=True):
            try:
                pending.append(actor.advance(until, a))
            except Exception as err:  # noqa: BLE001 - the actor's worker is gone
                pending.append(ShardLost(repr(err)))
        out: list[Step | ShardLost] = []
        for p in pending:
            if isinstance(p, ShardLost):
                out.append(p)
                continue
            try:
                out.append(p.result())
            except Exception as err:  # noqa: BLE001 - any failure of the call: a lost worker
                if isinstance(err, ValueError | RuntimeError) and "lookahead" in str(err):
                    raise
                log.warning("a shard's worker was lost: %r", err)
                out.append(ShardLost(repr(err)))
        return out

    def advance_one(self, shard: int, until: float, answers: Answers) -> Step | ShardLost:
        try:
            result: Step = self.actors[shard].advance(until, answers).result()
            return result
        except Exception as err:  # noqa: BLE001
            return ShardLost(repr(err))

    def rebuild(self, shard: int) -> None:
        deadline = time.monotonic() + 60.0
        while not self._worker_addresses():
            if time.monotonic() > deadline:
                raise ShardLost("no worker came back within 60 s")
            time.sleep(0.2)
        try:
            self.actors[shard] = self._spawn(shard, None)
        except Exception as err:  # noqa: BLE001
            raise ShardLost(repr(err)) from err

    def replay(self, shard: int, log: list[tuple[float, Answers]]) -> list[Subs]:
        try:
            result: list[Subs] = self.actors[shard].replay(log).result()
            return result
        except Exception as err:  # noqa: BLE001
            raise ShardLost(repr(err)) from err

    def stats(self) -> list[dict[str, float]]:
        return [a.stats().result() for a in self.actors]

    def results(self) -> list[list[dict[str, Any]]]:
        futures = [a.results() for a in self.actors]
        return [f.result() for f in futures]

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
