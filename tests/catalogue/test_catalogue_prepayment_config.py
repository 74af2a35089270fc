"""2.1 Update Prepay Configuration at the ESME (critical ECS08a, and ECS08, its older form;
emulator/devices/esme/prepay_config.py). The DSP's pre-commands from the six templates are
RTDS's byte for byte (the DSP sends the newer ECS08a by default); RTDS's commands, SUCCESS and
ERROR, get RTDS's header and payload, signed; a configuration taking effect now is what 4.13
(ECS26a) reads next; a future-dated one takes effect at its time, alerting 8F66 per
activation as RTDS's nine alerts; a cancellation leaves the configuration as it was."""

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

SUPPLIER = bytes.fromhex("90B3D51F30010000")
VARIANTS = ("IMMEDIATE", "FUTURE_DATED", "CANCELLATION")
EVE = dt.datetime(2030, 1, 14, 9, 0, tzinfo=dt.UTC)  # a day before RTDS's execution time
#: RTDS's emergency credit threshold's storage fails: its OBIS and attribute number
EC_THRESHOLD_STORAGE = bytes.fromhex("0000130A01FF0A")
#: what ECS26a reads (special days, max credit threshold, max meter balance, low credit
#: threshold, rate cap and period, emergency credit limit and threshold, schedule entries):
#: RTDS's meter's at the start, the templates' after
BEFORE = (4, 5000000, 10000000, 500000, 10000, 604800, 2500000, 100000, 6)
AFTER = (5, 1000000, 5000000, 200000, 30, 604800, 300000, 100000, 16)


def _file(use_case: str, name: str) -> bytes:
    return read_hex(RTDS / f"2.1_{use_case}/{use_case}_2.1_{name}_GBCS.HEX")


def _request(use_case: str, variant: str, counter: int):
    root = duis.parse(
        (CATALOGUE / f"{use_case}_2.1_{variant}_SUCCESS_REQUEST_DUIS.XML").read_bytes()
    )
    duis.set_originator(root, SUPPLIER, counter)
    return duis.parse_request(root)


@pytest.mark.parametrize("use_case", ["ECS08", "ECS08a"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_the_precommand_from_the_template_is_rtds(use_case, variant):
    precommand = _file(use_case, f"{variant}_SUCCESS_PRECOMMAND")
    request = _request(use_case, variant, decode(precommand).counter)
    ours = transform(request, use_case=use_case)
    assert ours.critical  # RTDS signs both, and the codec's use-case table says so
    assert ours.precommand() == precommand
    assert transform(request).use_case.name == "ECS08a"  # the DSP's default: the newer form


@pytest.mark.parametrize("use_case", ["ECS08", "ECS08a"])
@pytest.mark.parametrize("name", [f"{v}_SUCCESS" for v in VARIANTS] + ["IMMEDIATE_ERROR"])
def test_rtds_command_is_answered_as_rtds(keys, use_case, name):
    async def fault(premises):
        if name.endswith("ERROR"):
            premises.esme.object_faults = {EC_THRESHOLD_STORAGE}

    [execution], _ = execute(keys, [_file(use_case, f"{name}_COMMAND")], before=fault)
    assert execution.outcome == "executed", execution.outcome
    got, want = decode(execution.response), decode(_file(use_case, f"{name}_RESPONSE"))
    assert plain(got.header) == plain(want.header)
    assert plain(got.payload) == plain(want.payload)
    assert check_message(got, keys.keystore).outcome == "verified"


def _configuration(execution) -> tuple[int, ...]:
    """ECS26a's figures the configuration sets (BEFORE's order)."""
    data = decode(execution.response).payload.data
    return (len(data[1].value), *(int(data[i].value) for i in (8, 10, 11, 12, 13, 14, 15)),
            len(data[16].value))  # fmt: skip


def _signed(keys, use_case: str, variant: str, counter: int) -> bytes:
    precommand = transform(_request(use_case, variant, counter), use_case=use_case).precommand()
    return mac_apdu(sign(precommand, keys.signer(SUPPLIER)), keys.keystore)


def _read(keys, counter: int) -> bytes:
    return recounted(keys, read_hex(rtds_success("ECS26a")), counter)


@pytest.mark.parametrize("use_case", ["ECS08", "ECS08a"])
def test_a_configuration_now_is_read_back(keys, use_case):
    commands = [_read(keys, 900), _signed(keys, use_case, "IMMEDIATE", 901), _read(keys, 902)]
    (before, _set, after), _ = execute(keys, commands)
    assert _configuration(before) == BEFORE
    assert _configuration(after) == AFTER


def run_past_the_date(keys, commands: list[bytes]):
    """The commands on the eve of RTDS's date, then two days: (executions, alerts, ECS26a
    before and after the date)."""
    clock = Clock("simulated")

    async def main():
        premises = await Premises.start(clock, keys=keys)
        premises.esme.set_time(EVE)
        alerts: list[bytes] = []
        premises.on_alert(alerts.append)
        try:
            executions = [await premises.execute(c) for c in commands]
            before = await premises.execute(_read(keys, 5000))
            await asyncio.sleep(2 * 86400)
            after = await premises.execute(_read(keys, 5001))
            return executions, alerts, before, after
        finally:
            await premises.close()

    return clock.run(main)


@pytest.mark.parametrize("use_case", ["ECS08", "ECS08a"])
def test_a_future_dated_configuration_takes_effect_at_its_time_and_alerts(keys, use_case):
    counter = decode(_file(use_case, "FUTURE_DATED_SUCCESS_PRECOMMAND")).counter
    executions, alerts, before, after = run_past_the_date(
        keys, [_signed(keys, use_case, "FUTURE_DATED", counter)]
    )
    assert executions[0].outcome == "executed"
    assert _configuration(before) == BEFORE  # not yet
    assert _configuration(after) == AFTER

    def key(message):
        return message.payload.notification.value[2].value

    ours = sorted((decode(a) for a in alerts), key=key)
    theirs = sorted((decode(read_hex(p)) for p in RTDS.glob(f"2.1_{use_case}/*_8F66_*")), key=key)
    assert len(ours) == len(theirs) == 9
    for got, want in zip(ours, theirs, strict=True):
        assert check_message(got, keys.keystore).outcome == "verified"
        assert plain(got.payload.notification) == plain(want.payload.notification)


def test_a_cancellation_leaves_the_configuration(keys):
    counter = decode(_file("ECS08a", "FUTURE_DATED_SUCCESS_PRECOMMAND")).counter
    commands = [_signed(keys, "ECS08a", "FUTURE_DATED", counter),
                _signed(keys, "ECS08a", "CANCELLATION", counter + 1)]  # fmt: skip
    executions, alerts, _before, after = run_past_the_date(keys, commands)
    assert [e.outcome for e in executions] == ["executed", "executed"]
    assert alerts == [] and _configuration(after) == BEFORE
