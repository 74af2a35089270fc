"""1.6 Update Payment Mode at the ESME (critical ECS02 credit, ECS03 prepayment, emulator/
devices/esme/payment_mode.py). The DSP's pre-commands from the six templates are RTDS's byte
for byte (the TWIN ones built for a two-element meter as RTDS's was; the DSP sends our
single-element ESME the single form); RTDS's commands, SUCCESS and ERROR, get RTDS's header and
payload, signed; a mode taking effect now is what 6.2.9 (ECS26j) and 4.13 (ECS26a) read next;
a future-dated one takes effect at its time, alerting 8F66 per object as RTDS's alerts; a
cancellation leaves the mode as it was."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt

import pytest
from catalogue_helpers import CATALOGUE, RTDS, execute, read_hex, recounted, rtds_success

from emulator.backoffice import duis
from emulator.backoffice.transform import payment_mode, transform
from emulator.clock import Clock
from emulator.devices.esme.payment_mode import ACTIVE_ACCOUNT, THRESHOLD_MONITOR
from emulator.devices.premises import Premises
from gbcs import decode
from gbcs.render import plain
from gbcs.security import check_message, mac_apdu, sign

SUPPLIER = bytes.fromhex("90B3D51F30010000")
VARIANTS = ("IMMEDIATE_SINGLE", "FUTURE_DATED_TWIN", "CANCELLATION_TWIN")
#: the meter's time when the commands arrive: a day before RTDS's execution date-time
EVE = dt.datetime(2030, 1, 14, 9, 0, tzinfo=dt.UTC)


def _file(use_case: str, variant: str, kind: str = "COMMAND", case: str = "SUCCESS") -> bytes:
    return read_hex(RTDS / f"1.6_{use_case}/{use_case}_1.6_{variant}_{case}_{kind}_GBCS.HEX")


def _request(use_case: str, variant: str, counter: int, edit=None):
    template = CATALOGUE / f"{use_case}_1.6_{variant}_SUCCESS_REQUEST_DUIS.XML"
    root = duis.parse(template.read_bytes())
    if edit is not None:
        edit(root)
    duis.set_originator(root, SUPPLIER, counter)
    return duis.parse_request(root)


@pytest.mark.parametrize("use_case", ["ECS02", "ECS03"])
@pytest.mark.parametrize("variant", VARIANTS)
def test_the_precommand_from_the_template_is_rtds(use_case, variant):
    precommand = _file(use_case, variant, "PRECOMMAND")
    request = _request(use_case, variant, decode(precommand).counter)
    ours = transform(request, use_case="ECS02")  # the DSP's default: the body decides
    assert ours.use_case.name == use_case and ours.critical and ours.user_signs
    if variant.endswith("TWIN"):  # RTDS's meter had two elements
        assert ours.precommand() != precommand  # ours: the single-element form
        twin = payment_mode(request.body, decode(precommand).counter, twin=True)
        ours = dataclasses.replace(ours, content=twin)
    assert ours.precommand() == precommand


@pytest.mark.parametrize("use_case", ["ECS02", "ECS03"])
@pytest.mark.parametrize(
    ("variant", "case"),
    [(v, "SUCCESS") for v in VARIANTS] + [("IMMEDIATE_SINGLE", "ERROR")],
)
def test_rtds_command_is_answered_as_rtds(keys, use_case, variant, case):
    async def fault(premises):
        if case == "ERROR":  # RTDS's: the configuration's (ECS02) or threshold's (ECS03) storage
            premises.esme.object_faults = {
                ACTIVE_ACCOUNT if use_case == "ECS02" else THRESHOLD_MONITOR
            }

    [execution], _ = execute(keys, [_file(use_case, variant, case=case)], before=fault)
    assert execution.outcome == "executed", execution.outcome
    got = decode(execution.response)
    expected = decode(_file(use_case, variant, "RESPONSE", case))
    assert plain(got.header) == plain(expected.header)
    assert plain(got.payload) == plain(expected.payload)
    assert check_message(got, keys.keystore).outcome == "verified"


def _signed(keys, request) -> bytes:
    precommand = transform(request, use_case="ECS02").precommand()
    return mac_apdu(sign(precommand, keys.signer(SUPPLIER)), keys.keystore)


def _mode_and_configuration(keys, executions) -> tuple[int, int, int]:
    """(payment mode from ECS26j, credit charge configuration rows and the disablement
    threshold from ECS26a)."""
    mode_read, configuration_read = executions
    mode = decode(mode_read.response).payload.data[0].value[0]
    data = decode(configuration_read.response).payload.data
    return int(mode.value), len(data[17].value), int(data[9].value[0].value)


def _reads(keys, counter: int) -> list[bytes]:
    return [recounted(keys, read_hex(rtds_success("ECS26j")), counter),
            recounted(keys, read_hex(rtds_success("ECS26a")), counter + 1)]  # fmt: skip


def test_a_mode_now_is_read_back(keys):
    """Prepayment's (RTDS's meter's start) to credit and back: the reads follow."""
    to_credit = _signed(keys, _request("ECS02", "IMMEDIATE_SINGLE", 2000))
    to_prepayment = _signed(keys, _request("ECS03", "IMMEDIATE_SINGLE", 2010))
    commands = [*_reads(keys, 1990), to_credit, *_reads(keys, 2001), to_prepayment,
                *_reads(keys, 2011)]  # fmt: skip
    executions, _ = execute(keys, commands)
    assert [e.outcome for e in executions] == ["executed"] * 8
    assert _mode_and_configuration(keys, executions[0:2]) == (2, 13, -500000)
    assert _mode_and_configuration(keys, executions[3:5]) == (1, 2, -500000)  # credit: 2 rows
    assert _mode_and_configuration(keys, executions[6:8]) == (2, 13, 556677)


def run_past_the_date(keys, commands: list[bytes]):
    """The commands on the eve of RTDS's execution date-time, then two days: (executions,
    alerts, the reads before and after the date)."""
    clock = Clock("simulated")

    async def main():
        premises = await Premises.start(clock, keys=keys)
        premises.esme.set_time(EVE)
        alerts: list[bytes] = []
        premises.on_alert(alerts.append)
        try:
            executions = [await premises.execute(c) for c in commands]
            before = [await premises.execute(c) for c in _reads(keys, 5000)]
            await asyncio.sleep(2 * 86400)
            after = [await premises.execute(c) for c in _reads(keys, 5010)]
            return executions, alerts, before, after
        finally:
            await premises.close()

    return clock.run(main)


def _rtds_counter(use_case: str) -> int:
    """The counter of RTDS's future-dated command: its alerts name it."""
    return decode(_file(use_case, "FUTURE_DATED_TWIN", "PRECOMMAND")).counter


@pytest.mark.parametrize(
    ("use_case", "expected"),
    [("ECS02", (1, 2, -500000)), ("ECS03", (2, 10, 556677))],  # single element: no twin rows
)
def test_a_future_dated_mode_takes_effect_at_its_time_and_alerts(keys, use_case, expected):
    command = _signed(keys, _request(use_case, "FUTURE_DATED_TWIN", _rtds_counter(use_case)))
    executions, alerts, before, after = run_past_the_date(keys, [command])
    assert executions[0].outcome == "executed"
    assert _mode_and_configuration(keys, before) == (2, 13, -500000)  # not yet
    assert _mode_and_configuration(keys, after) == expected

    def key(message):
        return message.payload.notification.value[2].value

    ours = sorted((decode(a) for a in alerts), key=key)
    theirs = sorted((decode(read_hex(p)) for p in RTDS.glob(f"1.6_{use_case}/*_8F66_*_ALERT_*")),
                    key=key)  # fmt: skip
    assert len(ours) == len(theirs) == (1 if use_case == "ECS02" else 2)
    for got, want in zip(ours, theirs, strict=True):
        assert check_message(got, keys.keystore).outcome == "verified"
        assert plain(got.payload.notification) == plain(want.payload.notification)


@pytest.mark.parametrize("use_case", ["ECS02", "ECS03"])
def test_a_cancellation_leaves_the_mode(keys, use_case):
    counter = _rtds_counter(use_case)
    future = _signed(keys, _request(use_case, "FUTURE_DATED_TWIN", counter))
    cancel = _signed(keys, _request(use_case, "CANCELLATION_TWIN", counter + 1))
    executions, alerts, _before, after = run_past_the_date(keys, [future, cancel])
    assert [e.outcome for e in executions] == ["executed", "executed"]
    assert alerts == [] and _mode_and_configuration(keys, after) == (2, 13, -500000)
