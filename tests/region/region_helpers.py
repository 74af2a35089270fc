"""Small regions for the tests: a few feeders of the built-in scenario, WAN knobs turned."""

from __future__ import annotations

import dataclasses

from emulator.region import Region, load


def small(count: int = 4, name: str = "tea-time-north", **wan) -> Region:
    region = load(name).with_feeders(count)
    return region.with_wan(**wan) if wan else region


def single_feeder(**wan) -> Region:
    """A region of one feeder that is the feeder scenario itself (no draws)."""
    region = small(1, **wan)
    return dataclasses.replace(region, feeders=dataclasses.replace(region.feeders, draw=False))


def without_srv_times(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in ("response_s", "delivery_s", "queued_s")}
            for r in rows]  # fmt: skip
