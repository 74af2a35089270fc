"""The edges a test team meets on a gas day (emulator/days: the rig and sender the gas day
uses): the GSME decommissioned at the DSP while a command for it waits at the GPF for the
meter to wake — the waiting command is still carried out and answered at the wake-up (it had
left the DSP: not lost), the next one is refused by the DSP with its own code; and a command
sent at the very moment of a wake-up waits a whole interval, not none."""

from __future__ import annotations

import datetime as dt

from emulator import data
from emulator.backoffice import duis
from emulator.backoffice.eligibility import GS
from emulator.clock import Clock
from emulator.days.day import Sender
from emulator.days.rig import DAY_START, rig

CATALOGUE = data.duis_catalogue()
CONFIGURATION = (CATALOGUE / "GCS24a_6.7_SUCCESS_REQUEST_DUIS.XML").read_bytes()
GSME = "00-DB-12-34-56-78-90-A1"


def _decommission(device: str) -> bytes:
    root = duis.parse((CATALOGUE / "8.3_DECOMMISSION_DEVICE_REQUEST_DUIS.XML").read_bytes())
    root.find(f".//{{{duis.SR}}}DeviceID").text = device
    return duis.to_bytes(root)


def _run(script):
    clock = Clock("simulated", start_utc=DAY_START)

    async def main():
        async with rig(clock) as r:
            sender = Sender(clock)
            await script(r, sender)
            await sender.finish()
            return sender.exchanges, r.premises.gas.queued

    return clock.run(main)


def _minutes(m: float) -> dt.datetime:
    return DAY_START + dt.timedelta(minutes=m)


def test_a_gsme_decommissioned_while_a_command_waits():
    async def script(r, sender):
        await sender.at(_minutes(5))
        sender.send(r.users[GS], "queued", "6.7", CONFIGURATION)
        await sender.at(_minutes(10))
        sender.send(r.users[GS], "decommission", "8.3", _decommission(GSME))
        await sender.at(_minutes(40))
        sender.send(r.users[GS], "after", "6.7", CONFIGURATION)

    (queued, decommission, after), carried = _run(script)
    assert decommission.codes == ("I0",) and decommission.answered == _minutes(10)
    assert queued.codes == ("I0", "I99", "I0") and queued.answered == _minutes(30)
    assert after.codes == ("E5",) and after.answered == _minutes(40)  # device status
    assert carried == 1  # the refused one never reached the GPF


def test_a_command_sent_at_a_wake_up_waits_for_the_next():
    async def script(r, sender):
        await sender.at(_minutes(30))
        sender.send(r.users[GS], "on the wake-up", "6.7", CONFIGURATION)

    (exchange,), carried = _run(script)
    assert exchange.code == "I0" and exchange.answered == _minutes(60) and carried == 1
