"""The 8F66 alert: a future-dated calendar activation (RTDS's ECS46c FUTURE_DATED, 2030-01-15
09:00) executes on the emulator clock and the meter raises RTDS's two 00CC alerts (schedule,
then special days) through `premises.on_alert`: header and payload field by field as RTDS's,
signed by the meter (verified with its certificate), the calendar switched when they come."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from devices_helpers import RTDS, command, read_hex

from emulator.devices.premises import Premises
from emulator.han.clock import Clock
from gbcs import decode
from gbcs.alerts import interpret_dlms
from gbcs.render import plain
from gbcs.security import check_message

FOLDER = RTDS / "6.14.2_ECS46c"
FUTURE_DATED = "6.14.2_ECS46c/ECS46c_6.14.2_FUTURE_DATED_ALL_OPTIONALS_SUCCESS_COMMAND_GBCS.HEX"
ALERTS = [
    FOLDER / "ECS46c_6.14.2_8F66_FUTURE_DATED_ALL_OPTIONALS_SUCCESS_ALERT_CALENDAR_GBCS.HEX",
    FOLDER / "ECS46c_6.14.2_8F66_FUTURE_DATED_ALL_OPTIONALS_SUCCESS_ALERT_SPECIAL_DAYS_GBCS.HEX",
]
DUE = dt.datetime(2030, 1, 15, 9, 0, tzinfo=dt.UTC)  # the command's execution date-time


def run(keys, *, fault: bytes | None = None, cancel: bool = False):
    clock = Clock()

    async def main():
        premises = await Premises.start(clock, keys=keys, switch="model")
        raised: list[bytes] = []
        premises.on_alert(raised.append)
        premises.esme.set_time(DUE - dt.timedelta(minutes=10))  # ten minutes to go
        execution = await premises.execute(command(FUTURE_DATED))
        if cancel:
            cancellation = FUTURE_DATED.replace("FUTURE_DATED", "CANCELLATION")
            await premises.execute(command(cancellation))
        if fault is not None:
            premises.esme.object_faults = {fault}
        early = list(raised)
        await asyncio.sleep(9 * 60)
        before_due = (list(raised), premises.esme.calendars[("schedule", "active")])
        await asyncio.sleep(2 * 60)
        return execution, early, before_due, raised, premises.esme

    return clock.run(main)


def test_future_dated_activation_raises_rtds_8f66_alerts(keys):
    execution, early, (not_yet, old_schedule), raised, esme = run(keys)
    assert execution.outcome == "executed" and early == [] and not_yet == []
    assert len(raised) == 2
    for got_bytes, path in zip(raised, ALERTS, strict=True):
        got, want = decode(got_bytes), decode(read_hex(path))
        assert got.cra == "alert" and got.kind == want.kind == "signed"
        assert plain(got.header) == plain(want.header)
        assert plain(got.payload) == plain(want.payload)
        assert check_message(got, keys.keystore).outcome == "verified"
        fields = interpret_dlms(got.message_code, got.payload.notification.value)
        assert fields.alert_code == 0x8F66
        assert fields.executed_command.originator_counter == decode(command(FUTURE_DATED)).counter
    assert esme.calendars[("schedule", "active")] == esme.calendars[("schedule", "passive")]
    assert esme.calendars[("schedule", "active")] != old_schedule


def test_cancelled_activation_raises_nothing(keys):
    _execution, _early, _not_yet, raised, esme = run(keys, cancel=True)
    assert raised == [] and esme.stats.get("alert:8F66", 0) == 0


@pytest.mark.parametrize("fault", ["00000C0002FF"])
def test_activation_that_fails_raises_8f67(keys, fault):
    """The active schedule's storage fails when the activation falls due: 8F67 for it, and
    the special days (unaffected) still 8F66."""
    _execution, _early, _not_yet, raised, esme = run(keys, fault=bytes.fromhex(fault))
    codes = [interpret_dlms(0x00CC, decode(a).payload.notification.value).alert_code
             for a in raised]  # fmt: skip
    assert codes == [0x8F67, 0x8F66]
    assert esme.stats["activation-failed:schedule"] == 1
