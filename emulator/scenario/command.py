"""One GBCS command, ``repeat`` times, on one emulated RTDS household (Comms Hub, ESME and
switches in slots 1-5): what ``gbhan emulate command`` runs. A repeat is a replay, so only
the first run of a command is normally executed; ``all_executed`` says whether every one was.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from emulator.clock import Clock
from emulator.devices.premises import Execution
from emulator.scenario.spec import ScenarioError
from emulator.scenario.world import open_household

__all__ = ["CommandOutcome", "run_command"]


@dataclass(frozen=True)
class CommandOutcome:
    """Every run's ``Execution`` in order, and the capture's key file if one was written."""

    executions: tuple[Execution, ...]
    keys_file: Path | None = None

    @property
    def all_executed(self) -> bool:
        return all(e.outcome == "executed" for e in self.executions)


def run_command(
    command: bytes, *, keystores: Sequence[Path], switch: str = "model", repeat: int = 1,
    pcap: Path | None = None, secmp0046_hcalcs: bool = True, secmp0046_boost: bool = False,
    at: dt.datetime | None = None, on_execution: Callable[[Execution], None] | None = None,
) -> CommandOutcome:  # fmt: skip
    """Run ``command`` on the household whose ESME it targets; ``on_execution`` hears each run
    as it ends. Boards run on the wall clock, models on a simulated one; ``at`` (UTC) sets the
    meter's clock. With ``pcap`` the capture's keys go beside it (``<pcap>.keys``)."""
    if repeat < 1:
        raise ScenarioError("repeat must be at least 1")
    clock = Clock(mode="wall" if switch == "board" else "simulated", start_utc=at)
    executions: list[Execution] = []
    written: list[Path] = []

    async def main() -> None:
        household = await open_household(
            command, clock, keystores=keystores, switch=switch,
            secmp0046_hcalcs=secmp0046_hcalcs, secmp0046_boost=secmp0046_boost, pcap=pcap,
            at=at,
        )  # fmt: skip
        try:
            for _ in range(repeat):
                execution = await household.premises.execute(command)
                executions.append(execution)
                if on_execution is not None:
                    on_execution(execution)
        finally:
            await household.premises.close()
            if household.capture is not None and pcap is not None:
                household.capture.close()
                keys_file = pcap.with_suffix(pcap.suffix + ".keys")
                keys_file.write_text("\n".join(household.capture.tshark_key_options()) + "\n")
                written.append(keys_file)

    clock.run(main)
    return CommandOutcome(tuple(executions), written[0] if written else None)
