"""6.4.1 the ESME's load limit general settings (critical ECS28a, emulator/devices/esme/
extended.py): passive values with an activation time. The DSP's pre-commands from the three
templates (now, future-dated, cancellation) are RTDS's byte for byte; RTDS's commands get
RTDS's header and payload, signed; settings taking effect now are what 4.15 (ECS27) reads
next; future-dated ones take effect at their time, each alerting 8F66 as RTDS's four alerts
(byte for byte in payload but the alert counter); a cancellation leaves them as they were."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from catalogue_helpers import CATALOGUE, RTDS, execute, read_hex, recounted, rtds_success

from emulator.backoffice import duis
from emulator.backoffice.transform import transform
from emulator.clock import Clock
from emulator.devices.premises import Premises
from gbcs import decode
from gbcs.render import plain
from gbcs.security import check_message, mac_apdu, sign

FOLDER = RTDS / "6.4.1_ECS28a"
VARIANTS = ("IMMEDIATE", "FUTURE_DATED", "CANCELLATION")
#: the meter's time when the commands arrive: a day before RTDS's execution date-time
EVE = dt.datetime(2030, 1, 14, 9, 0, tzinfo=dt.UTC)


def _file(variant: str, kind: str = "COMMAND") -> bytes:
    return read_hex(FOLDER / f"ECS28a_6.4.1_{variant}_SUCCESS_{kind}_GBCS.HEX")


def _request(variant: str, counter: int, edit=None):
    root = duis.parse((CATALOGUE / f"ECS28a_6.4.1_{variant}_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    if edit is not None:
        edit(root)
    duis.set_originator(root, bytes.fromhex("90B3D51F30010000"), counter)
    return duis.parse_request(root)


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_precommand_from_the_template_is_rtds(variant):
    precommand = _file(variant, "PRECOMMAND")
    ours = transform(_request(variant, decode(precommand).counter), use_case="ECS28a")
    assert ours.critical and ours.user_signs
    assert ours.precommand() == precommand


@pytest.mark.parametrize("variant", VARIANTS)
def test_rtds_command_is_answered_as_rtds(keys, variant):
    [execution], _ = execute(keys, [_file(variant)])
    assert execution.outcome == "executed", execution.outcome
    expected, got = decode(_file(variant, "RESPONSE")), decode(execution.response)
    assert plain(got.header) == plain(expected.header)
    assert plain(got.payload) == plain(expected.payload)
    assert check_message(got, keys.keystore).outcome == "verified"


def _signed(keys, request) -> bytes:
    precommand = transform(request, use_case="ECS28a").precommand()
    return mac_apdu(sign(precommand, keys.signer(bytes.fromhex("90B3D51F30010000"))),
                    keys.keystore)  # fmt: skip


def _settings(execution) -> list[int]:
    """ECS27's supply state (then the three monitor values: threshold, period, restoration)."""
    data = decode(execution.response).payload.data
    return [int(data[0].value)] + [int(d.value) for d in data[3:]]


def _threshold(value: str):
    def edit(root):
        root.find(f".//{{{duis.SR}}}LoadLimitPowerThreshold").text = value

    return edit


def test_settings_now_are_read_back(keys):
    read = read_hex(rtds_success("ECS27"))
    commands = [recounted(keys, read, 900), _signed(keys, _request("IMMEDIATE", 901,
                                                                   _threshold("7200"))),
                recounted(keys, read, 902)]  # fmt: skip
    (before, _set, after), _ = execute(keys, commands)
    assert _settings(before) == [0, 6900, 300, 30]
    assert _settings(after) == [0xFF, 7200, 300, 30]  # supply disabled on trip, the new limit


def run_past_the_date(keys, commands: list[bytes]):
    """The commands on the eve of RTDS's execution date-time, then two days: (executions,
    alerts, ECS27 before and after the date)."""
    clock = Clock("simulated")
    read = read_hex(rtds_success("ECS27"))

    async def main():
        premises = await Premises.start(clock, keys=keys)
        premises.esme.set_time(EVE)
        alerts: list[bytes] = []
        premises.on_alert(alerts.append)
        try:
            executions = [await premises.execute(c) for c in commands]
            before = await premises.execute(recounted(keys, read, 5000))
            await asyncio.sleep(2 * 86400)
            after = await premises.execute(recounted(keys, read, 5001))
            return executions, alerts, before, after
        finally:
            await premises.close()

    return clock.run(main)


def test_future_dated_settings_take_effect_at_their_time_and_alert(keys):
    command = _signed(keys, _request("FUTURE_DATED", 1004, _threshold("7200")))
    executions, alerts, before, after = run_past_the_date(keys, [command])
    assert executions[0].outcome == "executed"
    assert _settings(before) == [0, 6900, 300, 30]  # not yet
    assert _settings(after) == [0, 7200, 300, 30]
    ours = sorted((decode(a) for a in alerts), key=lambda m: m.payload.notification.value[2].value)
    theirs = sorted((decode(read_hex(p)) for p in FOLDER.glob("*_8F66_*_ALERT_*")),
                    key=lambda m: m.payload.notification.value[2].value)  # fmt: skip
    assert len(ours) == len(theirs) == 4
    for got, want in zip(ours, theirs, strict=True):
        assert check_message(got, keys.keystore).outcome == "verified"
        assert plain(got.payload.notification) == plain(want.payload.notification)


def test_a_cancellation_leaves_the_settings(keys):
    future = _signed(keys, _request("FUTURE_DATED", 1004, _threshold("7200")))
    cancel = _signed(keys, _request("CANCELLATION", 1005))
    executions, alerts, _before, after = run_past_the_date(keys, [future, cancel])
    assert [e.outcome for e in executions] == ["executed", "executed"]
    assert alerts == [] and _settings(after) == [0, 6900, 300, 30]


def test_rtds_error_a_faulty_period_is_answered_as_rtds(keys):
    """RTDS's ERROR: the four passive values taken, the load limit period's activation a
    hardware fault (after the supply state's and threshold's), the restoration period's then
    other_reason."""

    async def fault(premises):
        premises.esme.object_faults = {bytes.fromhex("00005E2C8006")}

    [execution], _ = execute(keys, [read_hex(FOLDER / "ECS28a_6.4.1_IMMEDIATE_ERROR_COMMAND_GBCS.HEX")],
                             before=fault)  # fmt: skip
    assert execution.outcome == "executed", execution.outcome
    expected = decode(read_hex(FOLDER / "ECS28a_6.4.1_IMMEDIATE_ERROR_RESPONSE_GBCS.HEX"))
    got = decode(execution.response)
    assert [int(r.result) for r in got.payload.results] == [0] * 6 + [1, 250]
    assert plain(got.header) == plain(expected.header)
    assert plain(got.payload) == plain(expected.payload)
    assert check_message(got, keys.keystore).outcome == "verified"
