"""The ESME's shared passive-value mechanics (emulator/devices/esme/activation.py) on a minimal
subclass, so each edge is pinned once for the four modules that use it: a passive value of
another A-XDR type is type_unmatched; an activation now writes the active value (hardware_fault
on a storage fault, other_reason with nothing held); a future one fires at its time and alerts
8F66 naming the command and the activation attribute (8F67 when nothing can take effect); a
later one replaces a pending one; all FF cancels; a malformed time is other_reason. Real store
and simulated clock; RTDS's ECS01a command names the originator and counter."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections import Counter
from pathlib import Path

import pytest

from emulator.clock import Clock
from emulator.devices.esme.activation import DONE, NOT_DONE, Activations
from emulator.devices.esme.instructions import NULL, InstructionFailed, InstructionResult, item
from emulator.devices.esme.store import CosemStore
from emulator.devices.premises import PROFILE
from gbcs import decode

ESME = bytes.fromhex("00DB1234567890A0")
VECTORS = Path(__file__).parents[1] / "catalogue" / "vectors" / "RTDS-4.5.0"
COMMAND = VECTORS / "1.1.1_ECS01a" / "ECS01a_1.1.1_FUTURE_DATED_TOU_BLOCK_SUCCESS_COMMAND_GBCS.HEX"
CALENDAR = bytes.fromhex("00000D0000FF")
SEASONS = (20, CALENDAR, 3)  # an active attribute the profile holds (an array)
ACTIVATION = (20, CALENDAR, 10)
START = dt.datetime(2030, 1, 14, 9, tzinfo=dt.UTC)


class Seasons(Activations[str, str]):
    """One passive value "p" taking effect into SEASONS when "a" activates."""

    prefix = "seasons"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.logged: list[tuple[str, dt.datetime, bool]] = []

    def _storage_fails(self, key):
        return self.faulty(CALENDAR)

    def _apply(self, key):
        if "p" not in self.passive or self.faulty(CALENDAR):
            return False
        self.store.set(*SEASONS, self.passive["p"])
        return True

    def _named(self, key):
        return ACTIVATION

    def _log(self, key, at, done):
        self.logged.append((key, at, done))


def _when(at: dt.datetime | None, fill: int = 0) -> bytes:
    if at is None:
        return bytes([fill]) * 9 + bytes.fromhex("8000FF")
    return at.year.to_bytes(2, "big") + bytes(
        (at.month, at.day, 0xFF, at.hour, at.minute, at.second, 0)) + bytes.fromhex("8000FF")  # fmt: skip


def _seasons(name: bytes) -> object:
    season = item("structure", [item("octet-string", name),
                                item("octet-string", bytes.fromhex("07DF0101FF000000008000FF")),
                                item("octet-string", b"\x01")])  # fmt: skip
    return item("array", [season])


def run(steps, faulty=lambda code: False):
    """`steps(values, message)` in simulated time from START: (its result, the alerts, the
    values, the store)."""
    clock = Clock("simulated", start_utc=START)
    store = CosemStore(ESME, json.loads(PROFILE.read_text()))
    message = decode(bytes.fromhex(COMMAND.read_text().strip()))
    alerts: list[tuple[bytes, int, dt.datetime, bytes]] = []

    def alert(to, code, when, extra):
        alerts.append((to, code, when, bytes(extra[0].value)))
        return b""

    values = Seasons(store, clock, clock.utc_now, faulty, Counter(), alert)

    async def main():
        try:
            return await steps(values, message)
        finally:
            values.cancel()

    return clock.run(main), alerts, values, store


def _executed(message) -> bytes:
    return (message.message_code.to_bytes(2, "big") + int(message.counter).to_bytes(8, "big")
            + (20).to_bytes(2, "big") + CALENDAR + bytes((10,)))  # fmt: skip


def test_a_passive_value_of_another_type_is_type_unmatched_and_not_held():
    async def steps(values, message):
        with pytest.raises(InstructionFailed) as failed:
            values.hold("p", SEASONS, item("octet-string", b"x"))
        return failed.value.result

    result, alerts, values, _store = run(steps)
    assert result == InstructionResult.TYPE_UNMATCHED and values.passive == {} and alerts == []


def test_now_writes_the_active_value_and_counts_it_without_an_alert():
    async def steps(values, message):
        assert values.hold("p", SEASONS, _seasons(b"\x07")) is NULL
        return values.activation(message, "a", _when(None))

    result, alerts, values, store = run(steps)
    assert result is NULL and alerts == [] and values.logged == []
    assert store.get(*SEASONS) == _seasons(b"\x07")
    assert values.stats == Counter({"seasons:activated": 1})


@pytest.mark.parametrize(
    "faulty, held, expected",
    [
        (lambda code: code == CALENDAR, True, InstructionResult.HARDWARE_FAULT),
        (lambda code: False, False, InstructionResult.OTHER_REASON),
    ],
    ids=["storage-fault", "nothing-held"],
)
def test_now_fails_and_changes_nothing(faulty, held, expected):
    async def steps(values, message):
        before = values.store.get(*SEASONS)
        if held:
            values.hold("p", SEASONS, _seasons(b"\x07"))
        with pytest.raises(InstructionFailed) as failed:
            values.activation(message, "a", _when(None))
        return failed.value.result, before

    (result, before), alerts, values, store = run(steps, faulty)
    assert result == expected and store.get(*SEASONS) == before
    assert alerts == [] and values.stats == Counter()


def test_a_later_time_replaces_the_pending_one_and_alerts_once_at_it():
    async def steps(values, message):
        values.hold("p", SEASONS, _seasons(b"\x07"))
        values.activation(message, "a", _when(START + dt.timedelta(hours=1)))
        values.activation(message, "a", _when(START + dt.timedelta(hours=2)))
        await asyncio.sleep(1.5 * 3600)
        early = values.store.get(*SEASONS)
        await asyncio.sleep(3600)
        return early, message

    (early, message), alerts, values, store = run(steps)
    at = START + dt.timedelta(hours=2)
    assert early != _seasons(b"\x07") and store.get(*SEASONS) == _seasons(b"\x07")
    assert alerts == [(bytes(message.originator), DONE, at, _executed(message))]
    assert values.logged == [("a", at, True)] and values.pending == {}
    assert values.stats == Counter({"seasons:activated": 1})


def test_a_timed_activation_with_nothing_held_alerts_not_done():
    async def steps(values, message):
        values.activation(message, "a", _when(START + dt.timedelta(hours=1)))
        await asyncio.sleep(2 * 3600)
        return message

    message, alerts, values, _store = run(steps)
    at = START + dt.timedelta(hours=1)
    assert alerts == [(bytes(message.originator), NOT_DONE, at, _executed(message))]
    assert values.logged == [("a", at, False)] and values.stats == Counter()


def test_all_ff_cancels_the_pending_one():
    async def steps(values, message):
        values.hold("p", SEASONS, _seasons(b"\x07"))
        values.activation(message, "a", _when(START + dt.timedelta(hours=1)))
        result = values.activation(message, "a", _when(None, 0xFF))
        await asyncio.sleep(2 * 3600)
        return result

    result, alerts, values, store = run(steps)
    assert result is NULL and alerts == [] and values.pending == {}
    assert store.get(*SEASONS) != _seasons(b"\x07")
    assert values.stats == Counter({"seasons:cancelled": 1})


@pytest.mark.parametrize(
    "when",
    [b"", _when(None)[:11], bytes.fromhex("07EA0D01FF0A0000008000FF")],
    ids=["empty", "eleven-bytes", "month-13"],
)
def test_a_malformed_time_is_other_reason_and_drops_the_pending_one(when):
    async def steps(values, message):
        values.hold("p", SEASONS, _seasons(b"\x07"))
        values.activation(message, "a", _when(START + dt.timedelta(hours=1)))
        with pytest.raises(InstructionFailed) as failed:
            values.activation(message, "a", when)
        await asyncio.sleep(2 * 3600)
        return failed.value.result

    result, alerts, values, _store = run(steps)
    assert result == InstructionResult.OTHER_REASON
    assert alerts == [] and values.pending == {} and values.stats == Counter()
