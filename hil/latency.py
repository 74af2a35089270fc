"""Command-to-relay latency, measured on every switching command the suite sends.

From the moment the stand-in wrote the command frame to the board's radio UART:
- `command_to_output_us`: until the rig read the firmware's `output` line (any board);
- `command_to_relay_fw_us`: until the firmware drove its relay, by the firmware's own
  `ticks_us()` (virtual board only: on the unix port it is the host's CLOCK_MONOTONIC);
- `command_to_answer_ms`: the meter's request until the switch's answer came back (the
  switch answers after committing its state to flash).
These are measurements, recorded as JUnit properties and in the HTML report. The one timing
assertion is the SEC's 30 s ceiling for the service requests these commands carry.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .console import ConsoleTimeout, OutputChange
from .dut import Dut
from .errors import HilError
from .han import Answer, HanRig

SEC_CEILING_S = 30.0  # SECMP0046 SRV 7.5-7.8 target response time
METRICS = ("command_to_output_us", "command_to_relay_fw_us", "command_to_answer_ms")
PROPERTY_PREFIX = "latency."


class SwitchingError(HilError, AssertionError):
    """A switching command did not switch the output as expected."""


@dataclass(frozen=True)
class Switched:
    answer: Answer
    change: OutputChange
    output_us: float | None
    relay_fw_us: float | None


class LatencyProbe:
    def __init__(self, dut: Dut, han: HanRig, record: Callable[[str, object], None]):
        self.dut, self.han, self.record = dut, han, record
        self.samples: list[dict[str, float | None]] = []

    def command(
        self,
        cluster: int,
        frame: bytes,
        expect: Callable[[OutputChange], bool],
        what: str,
        timeout: float = SEC_CEILING_S,
    ) -> Switched:
        """Send a command that must switch the output; measure it; return the answer."""
        self.dut.console.clear_outputs()
        answer = self.han.request(cluster, frame, timeout=timeout)
        try:
            change = self.dut.console.wait_output(expect, timeout=5.0)
        except ConsoleTimeout:
            raise SwitchingError(
                f"{what}: the switch answered but its output never changed as expected "
                f"(now {self.dut.console.command('state')})"
            ) from None
        return self._measured(answer, change, what)

    def _measured(self, answer: Answer, change: OutputChange, what: str) -> Switched:
        output_us = relay_us = None
        if answer.sent_ns is not None:
            output_us = (change.arrived_ns - answer.sent_ns) / 1000
            if self.dut.virtual and change.t_us >= 0:
                relay_us = (change.t_us * 1000 - answer.sent_ns) / 1000
        sample = {
            "command_to_output_us": output_us,
            "command_to_relay_fw_us": relay_us,
            "command_to_answer_ms": answer.elapsed_s * 1000,
        }
        self.samples.append(sample)
        for name, value in sample.items():
            if value is not None:
                self.record(PROPERTY_PREFIX + name, round(value, 1))
        if answer.elapsed_s >= SEC_CEILING_S:
            raise AssertionError(
                f"{what}: answered after {answer.elapsed_s:.1f} s, over the SEC's "
                f"{SEC_CEILING_S:.0f} s ceiling"
            )
        return Switched(answer, change, output_us, relay_us)


def summary(values: list[float]) -> dict[str, float]:
    """p50, p90, p99, max and count of a list of samples."""
    xs = sorted(values)
    if not xs:
        return {"n": 0}

    def pick(q: float) -> float:
        return xs[min(len(xs) - 1, int(q * len(xs)))]

    return {"n": len(xs), "p50": pick(0.5), "p90": pick(0.9), "p99": pick(0.99), "max": xs[-1]}
