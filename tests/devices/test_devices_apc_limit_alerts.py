"""A Load Controller's limit on an auxiliary proportional controller (7.16, ECS47e) is told to
the meter's Supplier, as RTDS's alerts are (emulator/devices/esme/periods.py): ECS101 (8F86,
limit APC level command processed: direction and controller, the limit's start and end, the
resulting level) once the command is carried out, ECS102 (8F87, limit ended or cancelled:
direction and controller, the resulting level) when the period ends, when a new limit for
that controller replaces it, or at once for a period already over. Each signed by the
meter, laid out as RTDS's NA_ECS101 / NA_ECS102 alerts. RTDS's ECS47e commands, by name."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from devices_helpers import RTDS, RTDS_TIME, command, read_hex

from emulator.clock import Clock
from emulator.devices.esme.instructions import datetime_octets
from emulator.devices.keys import SUPPLIER
from emulator.devices.premises import Premises
from emulator.devices.reoriginate import reoriginate
from gbcs import decode
from gbcs.render import plain
from gbcs.security import check_message

LOAD_CONTROLLER = bytes.fromhex("90B3D51F30010008")
INPUT = "7.16_ECS47e/ECS47e_7.16_APC_INPUT_SUCCESS_COMMAND_GBCS.HEX"  # controller 3, input 50
OUTPUT = "7.16_ECS47e/ECS47e_7.16_APC_OUTPUT_SUCCESS_COMMAND_GBCS.HEX"  # controller 5, output
PERIOD_START = dt.datetime(2015, 1, 3, tzinfo=dt.UTC)  # both RTDS commands' period
PERIOD_END = PERIOD_START + dt.timedelta(hours=1)
ECS101, ECS102 = 0x0121, 0x0122
RTDS_ALERTS = {ECS101: RTDS / "NA_ECS101" / "ECS101_NA_8F86_INPUT_ALERT_GBCS.HEX",
               ECS102: RTDS / "NA_ECS102" / "ECS102_NA_8F87_INPUT_ALERT_GBCS.HEX"}  # fmt: skip


def run(lc_keys, names: list[str], at: dt.datetime = RTDS_TIME):
    """The commands at `at` (the meter's time; one named twice goes again with the next
    counter, re-signed by the Load Controller), then the clock past the period's end: each
    alert with the meter's time it came at, to the second."""
    clock = Clock("simulated", start_utc=at)

    async def main():
        premises = await Premises.start(clock, keys=lc_keys, switch="model")
        premises.esme.set_time(at)
        alerts: list[tuple[dt.datetime, bytes]] = []
        premises.on_alert(lambda raw: alerts.append(
            (premises.esme.utc_now().replace(microsecond=0), raw)))  # fmt: skip
        executions = []
        for n, name in enumerate(names):
            raw = command(name)
            if name in names[:n]:
                raw = reoriginate(raw, LOAD_CONTROLLER, lc_keys.signer(LOAD_CONTROLLER),
                                  lc_keys.keystore, decode(raw).counter + n)  # fmt: skip
            executions.append(await premises.execute(raw))
        wait = (PERIOD_END + dt.timedelta(minutes=1) - premises.esme.utc_now()).total_seconds()
        await asyncio.sleep(max(0.0, wait))
        await premises.close()
        return executions, alerts

    executions, alerts = clock.run(main)
    assert all(e.outcome == "executed" for e in executions), [e.outcome for e in executions]
    return [(when, decode(raw)) for when, raw in alerts]


def fields(message) -> list:
    return [v.value for v in message.payload.notification.value]


@pytest.mark.parametrize("name,selector,level,after", [
    (INPUT, 0x23, 50, 0),  # input: 0 held once the period is over
    (OUTPUT, 0x15, 100, 100),  # output: its switch unlimited again
])  # fmt: skip
def test_a_limit_is_told_when_processed_and_when_it_ends(lc_keys, name, selector, level, after):
    alerts = run(lc_keys, [name])
    assert [m.message_code for _when, m in alerts] == [ECS101, ECS102]
    (processed_at, processed), (ended_at, ended) = alerts
    assert processed_at == RTDS_TIME and ended_at == PERIOD_END
    assert fields(processed) == [0x8F86, datetime_octets(RTDS_TIME), selector,
                                 datetime_octets(PERIOD_START), datetime_octets(PERIOD_END),
                                 level]  # fmt: skip
    assert fields(ended) == [0x8F87, datetime_octets(PERIOD_END), selector, after]
    for _when, message in alerts:
        assert bytes(message.target) == SUPPLIER and len(message.signature) == 64
        assert check_message(message, lc_keys.keystore).outcome == "verified"


@pytest.mark.parametrize("code", [ECS101, ECS102])
def test_the_alerts_are_laid_out_as_rtds(lc_keys, code):
    """Field types and header as RTDS's (its values are another scenario's)."""
    [ours] = [m for _when, m in run(lc_keys, [INPUT]) if m.message_code == code]
    theirs = decode(read_hex(RTDS_ALERTS[code]))

    def shape(message):
        header = plain(message.header)
        header["transaction_id"].pop("counter")
        types = [v["type"] for v in plain(message.payload)["notification"]["value"]]
        return header, types

    assert shape(ours) == shape(theirs)


def test_a_limit_replaced_is_told_ended_before_the_new_one(lc_keys):
    alerts = run(lc_keys, [INPUT, INPUT])
    codes = [(m.message_code, fields(m)[2]) for _when, m in alerts]
    assert codes == [(ECS101, 0x23), (ECS102, 0x23), (ECS101, 0x23), (ECS102, 0x23)]
    assert alerts[1][0] == alerts[2][0] == RTDS_TIME  # replaced at once; the new runs out


def test_a_period_already_over_is_processed_and_ended_at_once(lc_keys):
    later = PERIOD_END + dt.timedelta(days=1)
    alerts = run(lc_keys, [OUTPUT], at=later)
    assert [(m.message_code, when) for when, m in alerts] == [(ECS101, later), (ECS102, later)]
