"""The ESME's tariff switching tables (emulator/devices/esme/tariff.py) where RTDS shows no
case: a passive table of another A-XDR type is type_unmatched and nothing changes; an
activation with no passive table set fails other_reason; a passive table reads back once set;
a later activation time replaces a pending one (one alert, at the new time); all FF cancels
it (no alert, nothing changes). Real store and simulated clock; RTDS's ECS01a command names
the originator the alerts go to."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections import Counter
from pathlib import Path

import pytest

from emulator.clock import Clock
from emulator.devices.esme.instructions import InstructionFailed, InstructionResult, item
from emulator.devices.esme.store import CosemStore
from emulator.devices.esme.tariff import ACTIVE, GROUPS, TariffTables
from emulator.devices.premises import PROFILE
from gbcs import decode

ESME = bytes.fromhex("00DB1234567890A0")
VECTORS = Path(__file__).parents[1] / "catalogue" / "vectors" / "RTDS-4.5.0"
COMMAND = VECTORS / "1.1.1_ECS01a" / "ECS01a_1.1.1_FUTURE_DATED_TOU_BLOCK_SUCCESS_COMMAND_GBCS.HEX"
CALENDAR = bytes.fromhex("00000D0000FF")
SEASONS_PASSIVE, SEASONS = (20, CALENDAR, 7), (20, CALENDAR, 3)
ACTIVATION = (20, CALENDAR, 10)
START = dt.datetime(2030, 1, 14, 9, tzinfo=dt.UTC)


def _when(at: dt.datetime | None, fill: int = 0) -> object:
    if at is None:
        return item("octet-string", bytes([fill]) * 9 + bytes.fromhex("8000FF"))
    return item("octet-string", at.year.to_bytes(2, "big") + bytes(
        (at.month, at.day, 0xFF, at.hour, at.minute, at.second, 0)) + bytes.fromhex("8000FF"))  # fmt: skip


def run(steps):
    """`steps(tables, message)` in simulated time from START: (its result, the alerts raised,
    the store)."""
    clock = Clock("simulated", start_utc=START)
    store = CosemStore(ESME, json.loads(PROFILE.read_text()))
    message = decode(bytes.fromhex(COMMAND.read_text().strip()))
    alerts: list[tuple[int, dt.datetime, bytes]] = []

    def alert(to, code, when, extra):
        alerts.append((code, when, bytes(extra[0].value)))
        return b""

    async def main():
        tables = TariffTables(store, clock, clock.utc_now, lambda code: False, Counter(), alert)
        try:
            return await steps(tables, message)
        finally:
            tables.cancel()

    return clock.run(main), alerts, store


def _seasons(name: bytes) -> object:
    """A one-season profile named `name` from 2015-01-01 on week 1."""
    season = item("structure", [item("octet-string", name),
                                item("octet-string", bytes.fromhex("07DF0101FF000000008000FF")),
                                item("octet-string", b"\x01")])  # fmt: skip
    return item("array", [season])


def test_every_passive_table_has_its_active_one_and_an_activation():
    assert set(ACTIVE) == {p for pairs in GROUPS.values() for p, _a in pairs}
    assert len(GROUPS) == 5 and len(ACTIVE) == 3 + 3 + 1 + 1 + 8


def test_a_passive_table_of_another_type_is_type_unmatched_and_changes_nothing():
    async def steps(tables, message):
        with pytest.raises(InstructionFailed) as failed:
            tables.instruction(message, "set", SEASONS_PASSIVE, item("octet-string", b"x"))
        return failed.value.result, tables.passive

    (result, passive), alerts, _store = run(steps)
    assert result == InstructionResult.TYPE_UNMATCHED and passive == {} and alerts == []


def test_an_activation_with_nothing_set_fails_and_a_set_table_reads_back():
    async def steps(tables, message):
        with pytest.raises(InstructionFailed) as unavailable:
            tables.instruction(message, "get", SEASONS_PASSIVE, None)
        with pytest.raises(InstructionFailed) as nothing_set:
            tables.instruction(message, "set", ACTIVATION, _when(None))
        tables.instruction(message, "set", SEASONS_PASSIVE, _seasons(b"spring"))
        got = tables.instruction(message, "get", SEASONS_PASSIVE, None)
        return unavailable.value.result, nothing_set.value.result, got

    (unavailable, nothing_set, got), _alerts, store = run(steps)
    assert unavailable == InstructionResult.OBJECT_UNAVAILABLE
    assert nothing_set == InstructionResult.OTHER_REASON
    assert bytes(got.value[0].value[0].value) == b"spring"
    assert bytes(store.get(*SEASONS).value[0].value[0].value) == b"all"  # RTDS's, unchanged


def test_a_later_activation_time_replaces_the_pending_one():
    first, second = START + dt.timedelta(hours=1), START + dt.timedelta(hours=5)

    async def steps(tables, message):
        tables.instruction(message, "set", SEASONS_PASSIVE, _seasons(b"spring"))
        tables.instruction(message, "set", ACTIVATION, _when(first))
        tables.instruction(message, "set", ACTIVATION, _when(second))
        await asyncio.sleep(3 * 3600)
        early = bytes(tables.store.get(*SEASONS).value[0].value[0].value)
        await asyncio.sleep(3 * 3600)
        return early

    early, alerts, store = run(steps)
    assert early == b"all"  # not at the first time
    assert bytes(store.get(*SEASONS).value[0].value[0].value) == b"spring"
    [(code, when, executed)] = alerts
    assert (code, when) == (0x8F66, second)
    assert executed[-9:] == bytes.fromhex("0014") + CALENDAR + b"\x0a"  # IC 20, attribute 10


def test_a_cancelled_activation_never_takes_effect():
    async def steps(tables, message):
        tables.instruction(message, "set", SEASONS_PASSIVE, _seasons(b"spring"))
        tables.instruction(message, "set", ACTIVATION, _when(START + dt.timedelta(hours=1)))
        tables.instruction(message, "set", ACTIVATION, _when(None, 0xFF))
        await asyncio.sleep(2 * 3600)
        return tables.pending

    pending, alerts, store = run(steps)
    assert pending == {} and alerts == []
    assert bytes(store.get(*SEASONS).value[0].value[0].value) == b"all"
