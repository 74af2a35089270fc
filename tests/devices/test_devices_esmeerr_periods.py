"""An auxiliary controller period (ECS47a 7.13) that is already over when it reaches the meter:
the use-case tables refuse a period only for its shape (end after start, at most 24 h), so the
meter carries the command out as RTDS's SUCCESS responses say (every instruction success) and
has nothing to run — no switch moves, no input level is held — logged and counted
(`periods-already-over`). Its period objects replace the controller's: a period still pending
for that controller and direction is dropped. A badly shaped period is still other_reason.
Parametrised by RTDS file name."""

from __future__ import annotations

import datetime as dt

import pytest
from devices_helpers import RTDS_TIME, command, expected_response

from emulator.clock import Clock
from emulator.devices.esme.instructions import datetime_octets
from emulator.devices.keys import PremisesKeys
from emulator.devices.premises import Premises
from gbcs import decode
from gbcs.message import encode_apdu
from gbcs.payload import encode as encode_payload
from gbcs.render import plain
from gbcs.security import mac_apdu, sign

PERIOD_START = dt.datetime(2015, 1, 3, tzinfo=dt.UTC)  # every RTDS ECS47a period
PERIOD_END = PERIOD_START + dt.timedelta(hours=1)
SUCCESSES = [
    f"7.13_ECS47a/ECS47a_7.13_{case}_SUCCESS_COMMAND_GBCS.HEX"
    for case in ("ALCS_ACTIVATE", "ALCS_DEACTIVATE", "APC_INPUT", "APC_OUTPUT")
]
ACTIVATE = SUCCESSES[0]  # controller 5, output, level 100


@pytest.fixture(scope="module")
def keys():
    return PremisesKeys.open()


def results(response: bytes) -> list[str]:
    return [r["result"] for r in plain(decode(response).payload)["results"]]


def with_period(keys, raw: bytes, start: dt.datetime, end: dt.datetime, counter: int) -> bytes:
    """RTDS's ECS47a with another period, signed again by its Supplier and MAC'd."""
    message = decode(raw)
    payload = message.payload
    payload.data[0].value = datetime_octets(start)
    payload.data[1].value = datetime_octets(end)
    header = message.header
    header.transaction_id.counter = counter
    content = encode_payload(message.payload_kind, payload)
    apdu = sign(encode_apdu(header, content, None), keys.signer(bytes(message.originator)))
    return mac_apdu(apdu, keys.keystore)


def run(keys, commands: list[bytes], meter_time: dt.datetime, watch_until: dt.datetime):
    """The commands through a premises with model switches (each switch opened first, as a
    7.6 does, so a period that closes one shows), the meter's clock at `meter_time`; then the
    simulated clock runs to `watch_until`. Returns the executions, the switch and controller
    states before and after, and the meter's counters."""
    clock = Clock(start_utc=RTDS_TIME)

    async def main():
        premises = await Premises.start(clock, keys=keys, switch="model")
        esme = premises.esme
        esme.set_time(meter_time)
        for slot in range(1, 6):
            await esme.command_slot(slot, "7.6", 3000)
        before = (await premises.switch_states(), {n: dict(s) for n, s in
                                                    esme.controller_state.items()})  # fmt: skip
        executions = [await premises.execute(c) for c in commands]
        await clock.sleep((watch_until - esme.utc_now()).total_seconds())
        after = (await premises.switch_states(), {n: dict(s) for n, s in
                                                   esme.controller_state.items()})  # fmt: skip
        await premises.close()
        return executions, before, after, dict(esme.stats)

    return clock.run(main)


@pytest.mark.parametrize("name", SUCCESSES)
def test_a_period_already_over_is_carried_out_with_nothing_to_run(keys, name):
    executions, before, after, stats = run(
        keys,
        [command(name)],
        PERIOD_END + dt.timedelta(hours=1),
        PERIOD_END + dt.timedelta(hours=3),
    )
    [execution] = executions
    assert execution.outcome == "executed", execution.outcome
    assert execution.response_verified is True
    assert results(execution.response) == results(expected_response(name)) == ["success"] * 3
    assert stats["periods-already-over"] == 1
    assert stats.get("periods-scheduled", 0) == 0 and stats.get("periods-started", 0) == 0
    assert after == before  # no switch moved, no input level held


def test_a_period_already_over_drops_the_pending_one(keys):
    """RTDS's period (two days ahead of the meter) is scheduled; the same controller's next
    command names a period already over, which replaces it: at RTDS's start nothing closes."""
    over = with_period(keys, command(ACTIVATE), RTDS_TIME - dt.timedelta(hours=2),
                       RTDS_TIME - dt.timedelta(hours=1), 5000)  # fmt: skip
    executions, before, after, stats = run(
        keys, [command(ACTIVATE), over], RTDS_TIME, PERIOD_START + dt.timedelta(minutes=1)
    )
    assert [results(e.response) for e in executions] == [["success"] * 3] * 2
    assert stats["periods-scheduled"] == 1 and stats["periods-already-over"] == 1
    assert stats.get("periods-started", 0) == 0
    assert after == before


def test_the_pending_period_alone_runs(keys):
    """The same period without the second command: controller 5 closes at its start (so the
    test above sees the replacement, not a period that never ran)."""
    executions, before, after, stats = run(
        keys, [command(ACTIVATE)], RTDS_TIME, PERIOD_START + dt.timedelta(minutes=1)
    )
    assert results(executions[0].response) == ["success"] * 3
    assert stats["periods-started"] == 1
    assert before[0][5]["relay"] != "closed" and after[0][5]["relay"] == "closed"


def test_a_badly_shaped_period_is_still_other_reason(keys):
    """End before start, whatever the time: the script action other_reason."""
    backwards = with_period(keys, command(ACTIVATE), PERIOD_END, PERIOD_START, 5001)
    executions, before, after, stats = run(
        keys, [backwards], PERIOD_END + dt.timedelta(hours=1), PERIOD_END + dt.timedelta(hours=2)
    )
    assert results(executions[0].response) == ["success", "success", "other_reason"]
    assert stats.get("periods-already-over", 0) == 0 and after == before
