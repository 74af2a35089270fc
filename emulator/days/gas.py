"""The gas day: 24 hours of the Gas Supplier's DUIS requests to the RTDS GSME and its GPF
through the in-process DSP, on a simulated clock.

The GSME sleeps and wakes every 30 minutes, and at each wake-up tells the GPF its data; the
GPF holds its commands until then and answers the reads a user may have from its mirror at
once. The gas flowing through the meter is what the day drives (the meter has no flow of its
own: it is the world's, as the feeder's load is): a volume each half hour, added to the
meter's consumption register at a quarter past and a quarter to the hour. The checks: each
command sent while the meter sleeps is answered at or after the next wake-up and within the
wake interval; each mirror read is answered the moment it is sent, while a command waits;
each register read from the mirror shows the start's register plus the volume that flowed
before the meter's last wake-up (the afternoon's, when no command has waited since the
morning, too); at each wake-up after gas flowed the meter told the GPF its data; every
command queued was carried out at a wake-up."""

from __future__ import annotations

import asyncio
import datetime as dt
import math

from emulator import data
from emulator.backoffice.eligibility import GS
from emulator.backoffice.users import Answer
from emulator.clock import Clock
from emulator.devices.gsme.meter import WAKE_INTERVAL_S
from emulator.errors import EmulatorError
from gbcs import decode
from gbcs.errors import GbcsError
from gbcs.keystore import Keystore
from gbcs.security import check_message
from gbcs.zcl import GENERAL_COMMANDS

from .day import Check, DayOutcome, Exchange, Sender
from .rig import DAY_START, rig

CATALOGUE = data.duis_catalogue()
PRICE = "GCS01b_1.2.1_IMMEDIATE_TOU_SUCCESS_REQUEST_DUIS.XML"
CONFIGURATION = "GCS24a_6.7_SUCCESS_REQUEST_DUIS.XML"
BALANCE_FROM_MIRROR = "GCS60a_4.18_SUCCESS_RELIABLE_GPF_REQUEST_DUIS.XML"
REGISTERS_FROM_MIRROR = "GCS13a_4.1.1_SUCCESS_RELIABLE_GPF_REQUEST_DUIS.XML"
REGISTER = (0x0702, 0x0000)  # CurrentSummationDelivered
#: the day's gas flow, volume per half hour by hour of the day (the register's units)
FLOW = [2, 2, 1, 1, 1, 1, 4, 9, 8, 3, 2, 2, 3, 3, 2, 2, 4, 8, 9, 7, 6, 5, 4, 3]
READ_ATTRIBUTES_RESPONSE = GENERAL_COMMANDS[0x01]


def _at(hours: float) -> dt.datetime:
    return DAY_START + dt.timedelta(hours=hours)


#: (hours into the day, label, SRV, catalogue file): commands while the meter sleeps (off the
#: wake-ups), and mirror reads sent while a command is waiting
SCRIPT = [
    (0.01, "registers at the start", "4.1.1", REGISTERS_FROM_MIRROR),
    (3.17, "price change", "1.2.1", PRICE),
    (3.25, "balance from the mirror", "4.18", BALANCE_FROM_MIRROR),
    (9.6, "gas configuration", "6.7", CONFIGURATION),
    (9.7, "balance from the mirror", "4.18", BALANCE_FROM_MIRROR),
    (14.1, "registers in the afternoon", "4.1.1", REGISTERS_FROM_MIRROR),
    (17.05, "price change", "1.2.1", PRICE),
    (23.3, "gas configuration", "6.7", CONFIGURATION),
    (23.75, "registers at the end", "4.1.1", REGISTERS_FROM_MIRROR),
]
QUEUED = {"1.2.1", "6.7"}


def register_read(answer: Answer, keys: Keystore) -> int | None:
    """The consumption register in a GCS13a response, decrypted with the reader's key."""
    payload = answer.gbcs_payload
    if payload is None:
        return None
    try:
        message = decode(payload)
        check_message(message, keys)
        for plaintext in message.decrypted:
            for record in READ_ATTRIBUTES_RESPONSE.parse(plaintext).records:
                if record.attribute_id == REGISTER[1]:
                    return int(record.value)
    except (GbcsError, ValueError, AttributeError, TypeError):  # None: not decrypted
        return None
    return None


async def run_gas_day(clock: Clock, wake_interval_s: float = WAKE_INTERVAL_S) -> DayOutcome:
    events: list[tuple[dt.datetime, str]] = []
    async with rig(clock, wake_interval_s) as r:
        gas = r.premises.gas
        if gas is None:
            raise EmulatorError("the premises has no GSME and GPF for the gas day")
        gsme = gas.gsme
        flowed: list[tuple[dt.datetime, int]] = []

        async def flow() -> None:
            steps = int(24 * 3600 // 1800)
            for step in range(steps):
                await asyncio.sleep(max(0.0, step * 1800 + 900 - clock.now()))
                volume = FLOW[step // 2]
                kind, value = gsme.attributes[REGISTER]
                gsme.attributes[REGISTER] = (kind, value + volume)
                flowed.append((clock.utc_now(), volume))

        flowing = asyncio.ensure_future(flow())
        sender = Sender(clock)
        gas_supplier = r.users[GS]
        for hours, label, srv, name in SCRIPT:
            await sender.at(_at(hours))
            if srv in QUEUED:
                events.append((clock.utc_now(), f"GSME asleep: next wake-up "
                               f"{_wake_after(clock, gsme.next_wake()):%H:%M:%S}"))  # fmt: skip
            sender.send(gas_supplier, label, srv, (CATALOGUE / name).read_bytes())
        await sender.finish()
        await flowing
        checks = _checks(sender.exchanges, flowed, r.reader_keys, wake_interval_s, gas.queued)
        end = clock.utc_now()
        due = {_next_wake(when, wake_interval_s) for when, _v in flowed}
        due = {w for w in due if w <= end}
        checks.append(Check(f"at each {wake_interval_s / 60:g}-minute wake-up after gas flowed "
                            "the GSME told the GPF its data", gas.refreshes == len(due),
                            f"{gas.refreshes} wake-ups by {end:%H:%M}, {len(due)} due"))  # fmt: skip
    return DayOutcome("gas", sender.exchanges, events, checks)


def _wake_after(clock: Clock, at: float) -> dt.datetime:
    return clock.utc_now() + dt.timedelta(seconds=at - clock.now())


def _next_wake(sent: dt.datetime, interval: float) -> dt.datetime:
    since = (sent - DAY_START).total_seconds()
    return DAY_START + dt.timedelta(seconds=math.floor(since / interval + 1) * interval)


def _checks(exchanges: list[Exchange], flowed: list[tuple[dt.datetime, int]],
            keys: Keystore, interval: float, queued: int) -> list[Check]:  # fmt: skip
    checks = []
    commands = [e for e in exchanges if e.srv in QUEUED]
    for e in commands:
        wake = _next_wake(e.sent, interval)
        held = (e.code == "I0" and e.answered is not None and wake <= e.answered
                and e.answered - e.sent <= dt.timedelta(seconds=interval))  # fmt: skip
        answered = "never" if e.answered is None else f"{e.answered:%H:%M:%S}"
        checks.append(Check(f"{e.srv} sent {e.sent:%H:%M:%S} while the GSME sleeps is carried "
                            f"out at its wake-up {wake:%H:%M:%S}", held,
                            f"{'>'.join(e.codes)} at {answered}"))  # fmt: skip
    for e in (e for e in exchanges if e.srv == "4.18"):
        waiting = [c for c in commands if c.sent <= e.sent and (c.answered or e.sent) > e.sent]
        held = e.code == "I0" and e.answered == e.sent and bool(waiting)
        checks.append(Check(f"4.18 from the GPF's mirror at {e.sent:%H:%M:%S} answered at once "
                            "while a command waits", held,
                            f"{'>'.join(e.codes)}, {len(waiting)} waiting"))  # fmt: skip
    start, *later = (e for e in exchanges if e.srv == "4.1.1")
    first = register_read(start.answers[-1], keys) if start.answers else None
    for e in later:
        read = register_read(e.answers[-1], keys) if e.answers else None
        woke = _next_wake(e.sent, interval) - dt.timedelta(seconds=interval)
        volume = sum(v for when, v in flowed if when < woke)
        checks.append(Check(
            f"the mirror follows the meter: the register read at {e.sent:%H:%M} exceeds the "
            "start by the gas that flowed before the meter's last wake-up",
            first is not None and read is not None and read - first == volume and volume > 0,
            f"start {first}, read {read}, flowed {volume} by {woke:%H:%M}"))  # fmt: skip
    checks.append(Check("every command queued at the GPF was carried out at a wake-up",
                        queued == len(commands) and all(c.code == "I0" for c in commands),
                        f"{queued} queued, {len(commands)} sent"))  # fmt: skip
    return checks
