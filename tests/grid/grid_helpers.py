"""Running scenarios against the HAN test double (unit tests of the engine and the monitor)."""

from __future__ import annotations

import asyncio

from grid_doubles import DoubleFeederHan

from emulator.clock import Clock
from emulator.scenario import engine, spec
from emulator.scenario.world import build_world


def run_with_double(scenario: spec.Scenario, latency_s: float = 3.0):
    """Run ``scenario`` in simulated time against the double; returns (RunResult, han)."""
    clock = Clock()
    holder = {}

    async def main():
        population = engine.build_population(scenario)
        consent = engine.build_consent(scenario, population)
        han = DoubleFeederHan(population, latency_s=latency_s)
        holder["han"] = han
        return await engine.run(
            scenario, han, population, consent, now=asyncio.get_running_loop().time
        )

    result = clock.run(main)
    return result, holder["han"]


def run_real(scenario: spec.Scenario, pcap=None):
    """Run ``scenario`` through the real path (DNO client → DSP → Premises, model switches);
    returns (RunResult, the world)."""
    clock = Clock()
    holder = {}

    async def main():
        population = engine.build_population(scenario)
        consent = engine.build_consent(scenario, population)
        han = await build_world(scenario, population, consent, clock, boards=0, pcap=pcap)
        holder["han"] = han
        try:
            return await engine.run(scenario, han, population, consent, now=clock.now)
        finally:
            await han.close()

    result = clock.run(main)
    return result, holder["han"]
