"""The 8F66 alert: a future-dated calendar activation executes on the emulator clock and the
meter raises RTDS's two 00CC alerts (schedule, then special days) through
`premises.on_alert`: header and payload field by field as RTDS's, signed by the meter
(verified with its certificate), the calendar switched when they come. The same mechanism for
both RTDS ESMEs: ECS46c to ...A0 (due 2030-01-15 09:00, alert counters 2004, 2005) and ECS46d
to ...A6 (due 2030-04-01 09:00, counters 2000, 2001), each in its own household."""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import pytest
from devices_helpers import RTDS, command, household, read_hex

from emulator.clock import Clock
from emulator.devices.premises import Premises
from gbcs import decode
from gbcs.alerts import interpret_dlms
from gbcs.render import plain
from gbcs.security import check_message


@dataclass(frozen=True)
class FutureDated:
    """One RTDS FUTURE_DATED command, its two 8F66 alerts and its execution date-time."""

    command: str
    alerts: tuple[Path, Path]
    due: dt.datetime

    @property
    def cancellation(self) -> str:
        return self.command.replace("FUTURE_DATED", "CANCELLATION")


def _case(folder: str, stem: str, due: dt.datetime) -> FutureDated:
    use_case = folder.split("_")[1]
    srv = folder.split("_")[0]
    alert = f"{use_case}_{srv}_8F66_FUTURE_DATED_{stem}_ALERT_{{}}_GBCS.HEX"
    return FutureDated(
        f"{folder}/{use_case}_{srv}_FUTURE_DATED_{stem}_COMMAND_GBCS.HEX",
        (RTDS / folder / alert.format("CALENDAR"), RTDS / folder / alert.format("SPECIAL_DAYS")),
        due,
    )


CASES = {
    "ECS46c-A0": _case("6.14.2_ECS46c", "ALL_OPTIONALS_SUCCESS",
                       dt.datetime(2030, 1, 15, 9, 0, tzinfo=dt.UTC)),
    "ECS46d-A6": _case("6.14.3_ECS46d", "APC_OUTPUT_SUCCESS",
                       dt.datetime(2030, 4, 1, 9, 0, tzinfo=dt.UTC)),
}  # fmt: skip


def run(keys, case: FutureDated, *, fault: bytes | None = None, cancel: bool = False):
    clock = Clock()

    async def main():
        premises = await Premises.start(
            clock, keys=keys, switch="model", **household(case.command).premises_kwargs()
        )
        raised: list[bytes] = []
        premises.on_alert(raised.append)
        premises.esme.set_time(case.due - dt.timedelta(minutes=10))  # ten minutes to go
        execution = await premises.execute(command(case.command))
        if cancel:
            cancelled = await premises.execute(command(case.cancellation))
            assert cancelled.outcome == "executed"
        if fault is not None:
            premises.esme.object_faults = {fault}
        early = list(raised)
        await asyncio.sleep(9 * 60)
        before_due = (list(raised), premises.esme.calendars[("schedule", "active")])
        await asyncio.sleep(2 * 60)
        return execution, early, before_due, raised, premises.esme

    return clock.run(main)


def test_the_rtds_alert_files_are_there():
    for case in CASES.values():
        assert all(path.is_file() for path in case.alerts)


@pytest.mark.parametrize("which", sorted(CASES))
def test_future_dated_activation_raises_rtds_8f66_alerts(keys, which):
    case = CASES[which]
    execution, early, (not_yet, old_schedule), raised, esme = run(keys, case)
    assert execution.outcome == "executed" and early == [] and not_yet == []
    assert len(raised) == 2
    for got_bytes, path in zip(raised, case.alerts, strict=True):
        got, want = decode(got_bytes), decode(read_hex(path))
        assert got.cra == "alert" and got.kind == want.kind == "signed"
        assert got.originator == esme.eui  # the household's own meter
        assert plain(got.header) == plain(want.header)
        assert plain(got.payload) == plain(want.payload)
        assert check_message(got, keys.keystore).outcome == "verified"
        fields = interpret_dlms(got.message_code, got.payload.notification.value)
        assert fields.alert_code == 0x8F66
        assert fields.executed_command.originator_counter == decode(command(case.command)).counter
    assert esme.calendars[("schedule", "active")] == esme.calendars[("schedule", "passive")]
    assert esme.calendars[("schedule", "active")] != old_schedule


@pytest.mark.parametrize("which", sorted(CASES))
def test_cancelled_activation_raises_nothing(keys, which):
    _execution, _early, (_not_yet, old_schedule), raised, esme = run(
        keys, CASES[which], cancel=True
    )
    assert raised == [] and esme.stats.get("alert:8F66", 0) == 0
    assert esme.pending_activations == {}
    assert esme.calendars[("schedule", "active")] == old_schedule


@pytest.mark.parametrize("which", sorted(CASES))
@pytest.mark.parametrize("fault", ["00000C0002FF"])
def test_activation_that_fails_raises_8f67(keys, which, fault):
    """The active schedule's storage fails when the activation falls due: 8F67 for it, and
    the special days (unaffected) still 8F66."""
    _execution, _early, _not_yet, raised, esme = run(keys, CASES[which], fault=bytes.fromhex(fault))
    codes = [interpret_dlms(0x00CC, decode(a).payload.notification.value).alert_code
             for a in raised]  # fmt: skip
    assert codes == [0x8F67, 0x8F66]
    assert esme.stats["activation-failed:schedule"] == 1
