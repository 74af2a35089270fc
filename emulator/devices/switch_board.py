"""The real switch firmware (MicroPython unix port, a virtual board) as a premises' switch.

The board's radio UART is served by the XBee stand-in, so the ESME reaches it over the same
HAN as a model; its console is how a person (or a test) sees the relay and presses boost.

On a wall clock the firmware keeps its own (host) time. On a simulated clock the firmware's
clock follows the emulator's: it boots at the simulated instant (`--clock`) and is set over
the console (`clock <unix-seconds>`) before every frame handed to it and before every read of
its output, so a DRLC duration runs out in simulated time and is seen at the next read; the
stand-in holds simulated time while the board works on a request (emulator/han/clock.py).
"""

from __future__ import annotations

import asyncio
import logging
import tempfile
from pathlib import Path

from emulator.clock import Clock
from emulator.han.medium import Medium
from emulator.han.xbee_standin import XBeeStandIn
from emulator.virtual_board import VirtualBoard

from .switch import Switch
from .switch_model import switch_endpoints
from .switch_zcl import SwitchState

#: a meter the board is not commissioned with: frames from ours are then ignored (the fault)
NOBODY = "0000000000000001"
LOGGER = logging.getLogger(__name__)


class BoardSwitch(Switch):
    kind = "board"

    def __init__(
        self,
        slot: int,
        role: str,
        ieee: str,
        link_key: bytes,
        medium: Medium,
        esme_ieee: str,
        state_dir: Path | None = None,
        clock: Clock | None = None,
    ) -> None:

        super().__init__(slot, role, ieee)
        self._tmp = None
        if state_dir is None:
            self._tmp = tempfile.TemporaryDirectory(prefix=f"gbhan-slot{slot}-")
            state_dir = Path(self._tmp.name)
        self.esme_hex = esme_ieee.replace(":", "").lower()
        clock = clock or medium.clock
        #: the emulator's clock when it is simulated (the firmware then follows it), else None
        self.sim_clock = clock if clock.mode == "simulated" else None
        self.stats = {"clock_sets": 0, "console_failures": 0}
        self._clock_set: int | None = None
        self._last: tuple[bool, int, str] = (False, 0, "unknown")
        self.board = VirtualBoard(
            role, Path(state_dir) / "flash", esme=self.esme_hex, extra=["--lenient-labels"]
        )
        boot = None
        if self.sim_clock is not None:
            self._clock_set = int(self.sim_clock.epoch_seconds())
            boot = ["--clock", str(self._clock_set)]
        self.board.power_on(boot_args=boot)
        self.radio = XBeeStandIn(ieee, link_key, medium, switch_endpoints(role))
        self.radio.attach_fd(self.board.radio_fd)
        if self.sim_clock is not None:
            self.radio.before_deliver = self.sync_clock

    @property
    def node(self) -> XBeeStandIn:
        return self.radio

    def sync_clock(self) -> None:
        """Simulated runs: bring the firmware's clock to the emulator's (whole seconds; the
        firmware runs its timers on setting it). A silent console is counted, not raised."""
        if self.sim_clock is None:
            return
        now = int(self.sim_clock.epoch_seconds())
        if now == self._clock_set:
            return
        try:
            reply = self.board.command(f"clock {now}")
        except (TimeoutError, OSError) as exc:
            self.stats["console_failures"] += 1
            LOGGER.warning("slot %d board: clock not set (%s)", self.slot, exc)
            return
        if reply.startswith("ok clock"):
            self._clock_set = now
            self.stats["clock_sets"] += 1
        else:
            self.stats["console_failures"] += 1
            LOGGER.warning("slot %d board refused the clock: %s", self.slot, reply)

    def output(self) -> tuple[bool, int, str]:
        """(relay closed?, level %, source) as the firmware's console shows it now (its clock
        set first, so an expired duration shows); the last reading if the console is silent."""
        self.sync_clock()
        try:
            values = self.board.state()
            self._last = (values["relay"] == "closed", int(values["level"]), values["source"])
        except (TimeoutError, OSError, KeyError, ValueError) as exc:
            self.stats["console_failures"] += 1
            LOGGER.warning("slot %d board: state not read (%s)", self.slot, exc)
        return self._last

    async def state(self) -> SwitchState:
        self.sync_clock()
        values = self.board.state()
        return SwitchState(values["relay"], int(values["level"]))

    async def press_boost(self) -> str | None:
        self.sync_clock()
        reply = self.board.command("boost")
        if reply == "ok boost":
            return None
        return reply.split()[-1] if reply.startswith("refused") else reply

    async def set_fault(self, faulty: bool) -> None:
        reply = self.board.command(f"commission {NOBODY if faulty else self.esme_hex}")
        if not reply.startswith("ok commission"):
            raise RuntimeError(f"board refused commissioning: {reply}")

    async def config(self) -> dict:
        """From the console's `status` (the label with spaces shown as `_`)."""
        fields = dict(
            part.split("=", 1) for part in self.board.command("status").split()[1:] if "=" in part
        )
        label = fields.get("label", "<unset>")
        return {
            "boost_associated": fields.get("boost") == "1",
            "label": "" if label == "<unset>" else label.replace("_", " "),
        }

    async def set_label(self, text: str) -> None:
        reply = self.board.command(f"label {text}")
        if not reply.startswith("ok label"):
            raise RuntimeError(f"board refused the label: {reply}")

    async def set_clock(self, unix_seconds: int) -> None:
        """Set the firmware's clock to a given instant (frozen until set again); simulated
        runs do this themselves (``sync_clock``)."""
        reply = self.board.command(f"clock {int(unix_seconds)}")
        if not reply.startswith("ok clock"):
            raise RuntimeError(f"board refused the clock: {reply}")
        self._clock_set = int(unix_seconds)

    async def close(self) -> None:
        asyncio.get_running_loop().remove_reader(self.board.radio_fd)
        self.radio.release_holds()
        await asyncio.sleep(0)
        self.board.close()
        if self._tmp is not None:
            self._tmp.cleanup()
