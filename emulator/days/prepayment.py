"""The prepayment day: 24 hours of the Import Supplier's DUIS requests to the RTDS ESME in
prepayment mode through the in-process DSP, on a simulated clock, while the day drives the
household's load through the meter (esme/consumption.py charges it).

The Supplier puts the meter in prepayment mode with a disablement threshold of zero (1.6),
sets its prepayment configuration (2.1: emergency credit £3, its threshold £1, low credit
£2) and a price of 30p/kWh for TOU rate 1 (1.2.1), then reads the balances (4.3) through the
day. The meter's credit runs down with the load (and the standing charge and the time-based
debt recovery, at the rates a 2.3 at noon sets); the low credit and emergency credit alerts reach the Supplier; it activates
emergency credit (2.5) and tops up with a UTRN it mints (2.2) at midday; the evening's EV
charging exhausts the credit, the meter disconnects the supply and alerts 8F0F; arming (7.3)
is refused until a second top-up, after which the supply is armed and enabled (7.1) again;
the second UTRN entered again credits nothing. Every state is read back by the DUIS reads
(4.3 balances, 7.4 supply state)."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Callable

from emulator import data
from emulator.backoffice import duis
from emulator.backoffice.eligibility import IS
from emulator.backoffice.users import Answer
from emulator.clock import Clock
from emulator.devices import utrn
from emulator.devices.esme.consumption import (
    BELOW_DISABLEMENT,
    EMERGENCY_AVAILABLE,
    EMERGENCY_EXHAUSTED,
    LOW_CREDIT,
)
from emulator.errors import EmulatorError
from gbcs import decode
from gbcs.dlms import decode_data
from gbcs.errors import GbcsError
from gbcs.keystore import Keystore
from gbcs.security import check_message

from .day import Check, DayOutcome, Exchange, Sender
from .rig import DAY_START, rig

CATALOGUE = data.duis_catalogue()
SR = duis.SR
POUND = 100000  # the meter's credit units per pound (10^-5)
PRICE = 30000  # per kWh, price scale -5: 30p
STANDING = 20000  # per day, scale -5: 20p (the template's)
#: the household's load (kW) by hour of the day: an EV charges from 17:00
LOAD_KW = [0.4] * 7 + [2.0] * 2 + [0.5] * 8 + [7.0] * 7
SUPPLIER = bytes.fromhex("90B3D51F30010000")
ESME = bytes.fromhex("00DB1234567890A0")
CONNECTED, READY, DISCONNECTED = 1, 2, 0


def _edited(name: str, **texts: str) -> bytes:
    root = duis.parse((CATALOGUE / name).read_bytes())
    for path, text in texts.items():
        node = root.find(f".//{{{SR}}}{path}")
        if node is None:
            raise EmulatorError(f"{name}: no {path}")
        node.text = text
    return duis.to_bytes(root)


def _price() -> bytes:
    root = duis.parse((CATALOGUE / "ECS01b_1.2.1_IMMEDIATE_TOU_SUCCESS_REQUEST_DUIS.XML")
                      .read_bytes())  # fmt: skip
    for node in root.iter(f"{{{SR}}}TOUPrice"):
        node.text = str(PRICE) if node.get("index") == "1" else node.text
    standing = root.find(f".//{{{SR}}}StandingCharge")
    if standing is None:
        raise EmulatorError("the 1.2.1 template has no StandingCharge")
    standing.text = str(STANDING)
    return duis.to_bytes(root)


def _top_up(code: str) -> bytes:
    return _edited("CS01a_2.2_SUCCESS_REQUEST_DUIS.XML", UTRN=code)


def _hours(h: float) -> dt.datetime:
    return DAY_START + dt.timedelta(hours=h)


def balances(answer: Answer | None, keys: Keystore) -> dict[str, int] | None:
    """4.3's values (ECS19, decrypted with the reader's key): the meter balance, emergency
    credit balance, accumulated debt, payment debt and time debts 1 and 2."""
    payload = None if answer is None else answer.gbcs_payload
    if payload is None:
        return None
    try:
        message = decode(payload)
        check_message(message, keys)
        [plaintext] = message.decrypted
        value = decode_data(bytes(plaintext or b""))
        while len(value.value) == 1:
            value = value.value[0]
        names = ("meter", "emergency", "accumulated", "payment", "time1", "time2")
        return {n: int(v.value) for n, v in zip(names, value.value, strict=True)}
    except (GbcsError, ValueError, TypeError, AttributeError):
        return None


def action_result(answer: Answer | None) -> str | None:
    """The first result of a DLMS access response (success, other_reason ...)."""
    payload = None if answer is None else answer.gbcs_payload
    if payload is None:
        return None
    try:
        return str(decode(payload).payload.results[0].result)
    except (GbcsError, AttributeError, IndexError):
        return None


def supply_state(answer: Answer | None) -> int | None:
    """7.4's control state (0 disconnected, 1 connected, 2 armed)."""
    payload = None if answer is None else answer.gbcs_payload
    if payload is None:
        return None
    try:
        return int(decode(payload).payload.data[0].value)
    except (GbcsError, AttributeError, IndexError, TypeError, ValueError):
        return None


async def run_prepayment_day(clock: Clock) -> DayOutcome:
    events: list[tuple[dt.datetime, str]] = []
    async with rig(clock) as r:
        esme = r.premises.esme
        keys = r.reader_keys
        first, second = (utrn.mint(keys, SUPPLIER, ESME, n << 32, pounds)
                         for n, pounds in ((1, 5), (2, 10)))  # fmt: skip
        imported: list[tuple[dt.datetime, int]] = []

        async def load() -> None:
            for step in range(48):
                await asyncio.sleep(max(0.0, step * 1800 + 900 - clock.now()))
                on = esme.consumption.supply_connected()
                wh = round(LOAD_KW[step // 2] * 500) if on else 0
                esme.consumption.import_energy(wh)
                imported.append((clock.utc_now(), wh))
                if not on and (not imported[:-1] or imported[-2][1]):
                    events.append((clock.utc_now(), "the supply is off: the load draws nothing"))

        script = [
            (0.005, "prepayment mode", "1.6",
             _edited("ECS03_1.6_IMMEDIATE_SINGLE_SUCCESS_REQUEST_DUIS.XML",
                     DisablementThreshold="0")),
            (0.01, "prepayment configuration", "2.1",
             (CATALOGUE / "ECS08a_2.1_IMMEDIATE_SUCCESS_REQUEST_DUIS.XML").read_bytes()),
            (0.015, "price 30p/kWh", "1.2.1", _price()),
            (0.02, "balances at the start", "4.3", READ_BALANCES),
            (6.0, "balances at 06:00", "4.3", READ_BALANCES),
            (9.5, "emergency credit", "2.5", ACTIVATE_EMERGENCY),
            (9.52, "balances with emergency credit", "4.3", READ_BALANCES),
            (11.98, "balances before the debt update", "4.3", READ_BALANCES),
            (12.0, "debt update", "2.3", UPDATE_DEBT),
            (12.02, "balances after the debt update", "4.3", READ_BALANCES),
            (12.98, "balances before the top-up", "4.3", READ_BALANCES),
            (13.0, "top-up £5", "2.2", _top_up(first)),
            (13.02, "balances after the top-up", "4.3", READ_BALANCES),
            (21.0, "arm while out of credit", "7.3", ARM_SUPPLY),
            (21.02, "supply state out of credit", "7.4", READ_SUPPLY),
            (21.5, "top-up £10", "2.2", _top_up(second)),
            (21.52, "arm after the top-up", "7.3", ARM_SUPPLY),
            (21.54, "supply state armed", "7.4", READ_SUPPLY),
            (21.56, "enable", "7.1", ENABLE_SUPPLY),
            (21.58, "supply state enabled", "7.4", READ_SUPPLY),
            (21.98, "balances before the replay", "4.3", READ_BALANCES),
            (22.0, "the £10 UTRN again", "2.2", _top_up(second)),
            (22.02, "balances after the replay", "4.3", READ_BALANCES),
            (23.9, "balances at the end", "4.3", READ_BALANCES),
        ]  # fmt: skip
        loading = asyncio.ensure_future(load())
        sender = Sender(clock)
        for hours, label, srv, body in script:
            await sender.at(_hours(hours))
            sender.send(r.users[IS], label, srv, body)
        await sender.finish()
        await loading
        alerts = [(when, _alert_code(document)) for when, eui, document in r.delivery.alerts
                  if eui == SUPPLIER]  # fmt: skip
        for when, code in alerts:
            events.append((when, f"alert {code} reached the Supplier"))
        checks = _checks({e.label: e for e in sender.exchanges}, alerts, imported, keys)
    return DayOutcome("prepayment", sender.exchanges, events, checks)


READ_BALANCES = (CATALOGUE / "ECS19_4.3_SUCCESS_REQUEST_DUIS.XML").read_bytes()
#: 2.3: time debts 1 and 2 raised by £0.30 and £0.15, recovered at 30p and £1.50 a day
UPDATE_DEBT = (CATALOGUE / "ECS07_2.3_SUCCESS_REQUEST_DUIS.XML").read_bytes()
DEBT_RATES = (30000, 150000)  # per day, in credit units
ACTIVATE_EMERGENCY = (CATALOGUE / "ECS09_2.5_SUCCESS_REQUEST_DUIS.XML").read_bytes()
ARM_SUPPLY = (CATALOGUE / "ECS44_7.3_SUCCESS_REQUEST_DUIS.XML").read_bytes()
ENABLE_SUPPLY = (CATALOGUE / "ECS42_7.1_SUCCESS_REQUEST_DUIS.XML").read_bytes()
READ_SUPPLY = (CATALOGUE / "ECS45_7.4_SUCCESS_REQUEST_DUIS.XML").read_bytes()


def _alert_code(document: bytes) -> str:
    return duis.parse(document).findtext(f".//{{{SR}}}AlertCode") or "?"


def _final(e: Exchange | None) -> Answer | None:
    return e.answers[-1] if e is not None and e.answers else None


def _debt_check(by: dict[str, Exchange], read: Callable[[str], dict[str, int] | None],
                imported: list[tuple[dt.datetime, int]]) -> Check:  # fmt: skip
    """After 2.3 the time debts grow by its amounts and are recovered at its rates: between
    the reads after it and before the top-up, each load step's interval at the new rate."""
    before, after = read("balances before the debt update"), read("balances after the debt update")
    later = read("balances before the top-up")
    update = by["debt update"]
    if before is None or after is None or later is None:
        return Check("debt recovery follows 2.3", False, "no 4.3 read")
    added = (after["time1"] - before["time1"], after["time2"] - before["time2"])
    start, end = by["balances after the debt update"].sent, by["balances before the top-up"].sent
    steps = [when for when, _wh in imported if start < when <= end]
    seconds = len(steps) * 1800  # each step charges the half hour since the one before
    expected = tuple(round(rate * seconds / 86400) for rate in DEBT_RATES)
    recovered = (after["time1"] - later["time1"], after["time2"] - later["time2"])
    return Check(
        "debt recovery follows its configuration: 2.3 raises time debts 1 and 2 by £0.30 and "
        "£0.15, then they are recovered at its 30p and £1.50 a day",
        update.code == "I0" and action_result(_final(update)) == "success"
        and added == (30000, 15000) and recovered == expected,
        f"added {added}, recovered {recovered}, expected {expected}")  # fmt: skip


def _checks(by: dict[str, Exchange], alerts: list[tuple[dt.datetime, str]],
            imported: list[tuple[dt.datetime, int]], keys: Keystore) -> list[Check]:  # fmt: skip
    def read(label: str) -> dict[str, int] | None:
        return balances(_final(by.get(label)), keys)

    checks = []
    setup = [by[label] for label in ("prepayment mode", "prepayment configuration",
                                     "price 30p/kWh")]  # fmt: skip
    checks.append(Check("prepayment mode, configuration and price taken (1.6, 2.1, 1.2.1)",
                        all(e.code == "I0" and action_result(_final(e)) == "success"
                            for e in setup), ", ".join(e.code for e in setup)))  # fmt: skip
    start, six = read("balances at the start"), read("balances at 06:00")
    if start and six:
        sent, read_at = by["balances at the start"].sent, by["balances at 06:00"].sent
        steps = [(when, w) for when, w in imported if sent < when <= read_at]
        wh = sum(w for _when, w in steps)
        debts = start["time1"] - six["time1"] + start["time2"] - six["time2"]
        # time is charged from the meter's first charge (the first load step) to the last
        span = (steps[-1][0] - imported[0][0]).total_seconds() if steps else 0.0
        expected = wh * PRICE / 1000 + STANDING * span / 86400 + debts
        drop = start["meter"] - six["meter"]
        checks.append(Check(
            "credit runs down with consumption: the meter balance falls by the energy at "
            "30p/kWh, the standing charge and the debt recovered", abs(drop - expected) <= 1
            and debts > 0 and wh > 0, f"{wh} Wh: fell {drop / POUND:.5f}, expected "
            f"{expected / POUND:.5f} (debt recovered {debts / POUND:.5f})"))  # fmt: skip
    else:
        checks.append(Check("credit runs down with consumption", False, "no 4.3 read"))
    checks.append(_debt_check(by, read, imported))
    codes = [code for _when, code in alerts]
    checks.append(Check("low credit alert (810D) reached the Supplier",
                        f"{LOW_CREDIT:04X}" in codes, ", ".join(codes)))  # fmt: skip
    available = [w for w, c in alerts if c == f"{EMERGENCY_AVAILABLE:04X}"]
    emergency = by["emergency credit"]
    with_ec = read("balances with emergency credit")
    checks.append(Check(
        "emergency credit: available alert (8119), then activated (2.5) to its £3 limit",
        bool(available) and available[0] < emergency.sent and emergency.code == "I0"
        and action_result(_final(emergency)) == "success" and with_ec is not None
        and with_ec["emergency"] == 3 * POUND,
        f"8119 at {available[0]:%H:%M}" if available else "no 8119"))  # fmt: skip
    before, after = read("balances before the top-up"), read("balances after the top-up")
    checks.append(Check(
        "top-up £5 (2.2, a UTRN the Supplier minted) credits the meter balance by £5",
        before is not None and after is not None
        and after["meter"] - before["meter"] == 5 * POUND,
        f"{before and before['meter']} -> {after and after['meter']}"))  # fmt: skip
    out = [w for w, c in alerts if c == f"{BELOW_DISABLEMENT:04X}"]
    refused = by["arm while out of credit"]
    checks.append(Check(
        "credit exhausted: 8F0F reached the Supplier, the supply is disconnected (7.4) and "
        "arming it (7.3) is refused", bool(out) and out[0] < refused.sent
        and action_result(_final(refused)) not in (None, "success")
        and supply_state(_final(by["supply state out of credit"])) == DISCONNECTED,
        f"8F0F at {out[0]:%H:%M}, arm {action_result(_final(refused))}" if out
        else "no 8F0F"))  # fmt: skip
    armed = by["arm after the top-up"]
    states = [supply_state(_final(by[label])) for label in
              ("supply state armed", "supply state enabled")]  # fmt: skip
    checks.append(Check(
        "a top-up lifts the interlock: the supply is armed (7.3) then enabled (7.1)",
        by["top-up £10"].code == "I0" and action_result(_final(armed)) == "success"
        and action_result(_final(by["enable"])) == "success" and states == [READY, CONNECTED],
        f"states {states}"))  # fmt: skip
    replay_before = read("balances before the replay")
    replay_after = read("balances after the replay")
    replayed = by["the £10 UTRN again"]
    checks.append(Check(
        "the same UTRN entered again credits nothing",
        action_result(_final(replayed)) not in (None, "success")
        and replay_before is not None and replay_after is not None
        and replay_before["meter"] == replay_after["meter"],
        f"{action_result(_final(replayed))}"))  # fmt: skip
    exhausted = [w for w, c in alerts if c == f"{EMERGENCY_EXHAUSTED:04X}"]
    checks.append(Check("emergency credit exhausted (81AA) no later than the interlock",
                        bool(exhausted) and bool(out) and exhausted[0] <= out[0],
                        ", ".join(codes)))  # fmt: skip
    return checks
