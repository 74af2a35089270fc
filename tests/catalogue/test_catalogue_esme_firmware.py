"""11.3 Activate Firmware at the ESME (critical CS06, emulator/devices/esme/firmware.py): the
DSP's pre-commands from the three templates (now, future-dated, cancellation) are RTDS's
byte for byte; RTDS's commands are answered with RTDS's header and payload, signed; an
activation now runs the held image (ECS52 reads its version), a future-dated one is
accepted and at its time alerts 8F66 (00CA, signed, RTDS's alert but the version) or 8F67
for a hash the meter does not hold, and a cancellation leaves nothing to alert."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from catalogue_helpers import CATALOGUE, RTDS, execute, read_hex, recounted

from emulator.backoffice import duis
from emulator.backoffice.transform import transform
from emulator.clock import Clock
from emulator.devices.premises import Premises
from gbcs import decode
from gbcs.render import plain
from gbcs.security import check_message

VARIANTS = ("IMMEDIATE", "FUTURE_DATED", "CANCELLATION")
FOLDER = RTDS / "11.3_CS06"
COMMANDS = sorted(p.name for p in FOLDER.glob("*_COMMAND_GBCS.HEX"))
HELD = bytes.fromhex("0123ABCE")  # the version of the image the meter holds
#: the meter's time when the future-dated commands arrive: a minute before RTDS's 8F67 case's
#: execution time (its success case runs two weeks later)
BEFORE_2030 = dt.datetime(2029, 12, 31, 23, 59, tzinfo=dt.UTC)


def _file(variant: str, kind: str = "COMMAND", case: str = "SUCCESS") -> bytes:
    return read_hex(FOLDER / f"CS06_11.3_{variant}_{case}_{kind}_GBCS.HEX")


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_precommand_from_the_template_is_rtds(variant):
    precommand = _file(variant, "PRECOMMAND")
    rtds = decode(precommand)
    root = duis.parse((CATALOGUE / f"CS06_11.3_{variant}_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    duis.set_originator(root, bytes(rtds.originator), rtds.counter)
    ours = transform(duis.parse_request(root), use_case="CS06")
    assert ours.critical and ours.user_signs
    assert ours.precommand() == precommand


@pytest.mark.parametrize("name", COMMANDS)
def test_rtds_command_is_answered_as_rtds(keys, name):
    """RTDS's immediate ERROR: a meter holding no image, running 0123ABCF."""

    async def state(premises):
        if "IMMEDIATE_ERROR" in name:
            premises.esme.firmware.image = None
            premises.esme.firmware.version = bytes.fromhex("0123ABCF")

    [execution], _ = execute(keys, [read_hex(FOLDER / name)], before=state)
    assert execution.outcome == "executed", execution.outcome
    expected = decode(read_hex(FOLDER / name.replace("_COMMAND_", "_RESPONSE_")))
    got = decode(execution.response)
    assert plain(got.header) == plain(expected.header)
    assert plain(got.payload) == plain(expected.payload)
    assert check_message(got, keys.keystore).outcome == "verified"


def _version(execution) -> bytes:
    return bytes(decode(execution.response).payload.data[0].value)


def test_an_activation_now_runs_the_held_image(keys):
    firmware = read_hex(next(RTDS.glob("11.2_ECS52/*_SUCCESS_COMMAND_GBCS.HEX")))
    commands = [recounted(keys, firmware, 900), _file("IMMEDIATE"),  # RTDS's counter 1000
                recounted(keys, firmware, 5001)]  # fmt: skip
    (before, activated, after), premises = execute(keys, commands)
    assert _version(before) == bytes.fromhex("0123ABCD") and _version(after) == HELD
    assert premises.esme.stats["firmware:success"] == 1


def run_until_2030(keys, commands: list[bytes], before=None):
    """The commands at the last minute of 2029 (after `before(premises)`), then the meter's
    clock runs past 2030-01-15 09:00: (executions, alerts raised, the premises)."""
    clock = Clock("simulated")

    async def main():
        premises = await Premises.start(clock, keys=keys)
        premises.esme.set_time(BEFORE_2030)
        if before is not None:
            await before(premises)
        alerts: list[bytes] = []
        premises.on_alert(alerts.append)
        try:
            executions = [await premises.execute(c) for c in commands]
            await asyncio.sleep(15 * 86400)
            return executions, alerts, premises
        finally:
            await premises.close()

    return clock.run(main)


def _firmware_alerts(alerts: list[bytes]) -> list:
    return [m for m in map(decode, alerts) if m.message_code == 0x00CA]


def test_a_future_dated_activation_alerts_when_it_runs(keys):
    executions, alerts, premises = run_until_2030(keys, [_file("FUTURE_DATED")])
    assert executions[0].outcome == "executed"
    [alert] = _firmware_alerts(alerts)
    expected = decode(read_hex(FOLDER / "CS06_11.3_8F66_FUTURE_DATED_SUCCESS_ALERT_GBCS.HEX"))
    assert check_message(alert, keys.keystore).outcome == "verified"
    ours, theirs = plain(alert.payload)["fields"], plain(expected.payload)["fields"]
    assert ours["execution_outcome"]["firmware_version"] == HELD.hex().upper()
    ours["execution_outcome"].pop("firmware_version")
    theirs["execution_outcome"].pop("firmware_version")  # RTDS's: another image's, 0123ABCF
    assert ours == theirs
    assert premises.esme.firmware.version == HELD


def test_a_future_dated_activation_of_another_image_alerts_8f67(keys):
    """The meter holds an image of another hash: at the time nothing changes, and 8F67
    tells why (RTDS's 8F67 alert: hash_mismatch)."""

    async def other_image(premises):
        premises.esme.firmware.image = (bytes(32), HELD)

    command = _file("FUTURE_DATED", case="ERROR")
    executions, alerts, premises = run_until_2030(keys, [command], before=other_image)
    assert executions[0].outcome == "executed"
    [alert] = _firmware_alerts(alerts)
    fields = plain(alert.payload)["fields"]
    expected = decode(read_hex(FOLDER / "CS06_11.3_8F67_FUTURE_DATED_ERROR_ALERT_GBCS.HEX"))
    theirs = plain(expected.payload)["fields"]
    assert fields["alert_code"] == theirs["alert_code"] == 0x8F67
    assert fields["execution_outcome"]["response_code_name"] == "hash_mismatch"
    assert fields["execution_date_time"] == theirs["execution_date_time"]
    assert premises.esme.firmware.version == bytes.fromhex("0123ABCD")


def test_a_cancelled_activation_never_runs(keys):
    cancel = recounted(keys, _file("CANCELLATION"), 1003)
    executions, alerts, premises = run_until_2030(keys, [_file("FUTURE_DATED"), cancel])
    assert [e.outcome for e in executions] == ["executed", "executed"]
    assert _firmware_alerts(alerts) == [] and premises.esme.firmware.pending is None
    assert premises.esme.firmware.version == bytes.fromhex("0123ABCD")
