"""Alert codes are named, and alert-specific fields agree with the commands they report on."""

import re
from functools import cache
from pathlib import Path

import pytest

from emulator import data
from gbcs import alerts, dlms, framing, gbz

RTDS = data.rtds()


@cache
def header_of(path: Path):
    """The DF grouping header with its content, parsed by the framing layer alone."""
    data = bytes.fromhex(path.read_text().strip())
    apdu = data
    if data[0] == 0xDD:
        apdu = framing.GeneralCiphering.parse(data).ciphered_service.information[:-12]
    return framing.GeneralSigning.parse(apdu)


ALERT_FILES = sorted(RTDS.glob("*/*ALERT*.HEX"))
# RTDS names the alert code in the file name: ..._8F36_ALERT_... or ..._8F66_FUTURE_...
NAMED_ALERT_FILES = [p for p in ALERT_FILES if re.search(r"_([0-9A-F]{4})_", p.name)]
DLMS_FUTURE_DATED = [p for p in ALERT_FILES if header_of(p).other_information.message_code == 0xCC]
GBZ_FUTURE_DATED = [p for p in ALERT_FILES if header_of(p).other_information.message_code == 0xCD]


def by_name(files):
    return pytest.mark.parametrize("path", files, ids=[f.name for f in files])


def rtds_file(name: str) -> Path:
    (path,) = RTDS.glob(f"*/{name}")
    return path


def notification_items(path: Path):
    content = header_of(path).content
    return dlms.decode("dlms-notification", content, 0).notification.value


def _alert_code_in_content(path: Path) -> int:
    content = header_of(path).content
    if content[:2] == b"\x01\x09":
        return int.from_bytes(content[3:5], "big")
    if content[0] == 0x0F:
        return notification_items(path)[0].value
    return None


@by_name(NAMED_ALERT_FILES)
def test_every_rtds_alert_code_has_a_name(path):
    code = int(re.search(r"_([0-9A-F]{4})_", path.name).group(1), 16)
    assert not alerts.describe(code).startswith("unknown")
    in_content = _alert_code_in_content(path)
    if in_content is not None:
        assert in_content == code


def test_the_outage_alerts_are_named_as_the_mission_needs():
    assert "restored" in alerts.describe(0x8F35)
    assert "3 minutes" in alerts.describe(0x8F36)
    assert 0x8F36 in alerts.SUPPLY_RESTORED_AFTER_3_MINUTES
    assert 0x8F35 not in alerts.SUPPLY_RESTORED_AFTER_3_MINUTES
    assert alerts.describe(0x1234) == "unknown alert 0x1234"


def _commands_in_folder(folder: Path):
    """Every command in the folder, keyed by originator counter -> message code."""
    found = {}
    for path in folder.glob("*COMMAND*.HEX"):
        header = header_of(path)
        found[header.transaction_id.counter] = (header.other_information.message_code, path)
    return found


@by_name(DLMS_FUTURE_DATED)
def test_dlms_future_dated_alert_names_a_command_of_its_folder(path):
    """00CC: the 19-byte octet string names the original command's code and counter."""
    fields = alerts.interpret_dlms(0x00CC, notification_items(path))
    assert fields.alert_code in (0x8F66, 0x8F67)
    executed = fields.executed_command
    commands = _commands_in_folder(path.parent)
    assert executed.originator_counter in commands
    assert commands[executed.originator_counter][0] == executed.message_code
    assert re.fullmatch(r"\d+-\d+:\d+\.\d+\.\d+\.\d+", executed.instance_id)
    assert fields.additional_items == []


# RTDS quirk: GCS05's calendar alerts report frame control 01 (client to server) for
# Publish Calendar / Publish Special Days, which the command sent as 09 (server to client).
FRAME_CONTROL_QUIRKS = {
    "GCS05_2.1_8F66_FUTURE_DATED_SUCCESS_ALERT_PUBLISH_CALENDAR_GBCS.HEX",
    "GCS05_2.1_8F66_FUTURE_DATED_SUCCESS_ALERT_PUBLISH_SPECIAL_DAYS_GBCS.HEX",
}


@by_name(GBZ_FUTURE_DATED)
def test_gbz_future_dated_alert_names_a_component_of_its_command(path):
    """00CD: cluster, frame control and command id are those of a component of the command."""
    value = gbz.decode_alert(header_of(path).content, 0, 0x00CD)
    executed = value.executed_command
    commands = _commands_in_folder(path.parent)
    code, command_path = commands[executed.originator_counter]
    assert code == executed.message_code
    command = gbz.decode(header_of(command_path).content, 0)
    headers = {
        (c.cluster_id, c.body.frame.command_id): c.body.frame.frame_control
        for c in command.components
    }
    assert (executed.cluster_id, executed.command_id) in headers
    if path.name not in FRAME_CONTROL_QUIRKS:
        assert headers[executed.cluster_id, executed.command_id] == executed.frame_control


def test_ecs80_outage_restored_fields():
    """Primer 8.3: interrupted 2014-12-31 23:50, restored 23:59, alert 8F36."""
    items = notification_items(rtds_file("ECS80_NA_8F36_ALERT_GBCS.HEX"))
    fields = alerts.interpret_dlms(0x0067, items)
    assert fields.alert_code == 0x8F36
    assert fields.alert_name == alerts.describe(0x8F36)
    assert fields.interruption_time[:7] == bytes.fromhex("07DE0C1FFF1732")
    assert fields.restoration_time[:7] == bytes.fromhex("07DE0C1FFF173B")
    assert fields.interruption_time < fields.restoration_time


def test_ecs101_limit_processed_fields():
    items = notification_items(rtds_file("ECS101_NA_8F86_INPUT_ALERT_GBCS.HEX"))
    fields = alerts.interpret_dlms(0x0121, items)
    assert fields.direction_and_number.direction == "input"
    assert fields.direction_and_number.controller == 3
    assert fields.resulting_level == 100
    assert fields.limit_start < fields.limit_end


def test_ecs102_limit_ended_fields():
    items = notification_items(rtds_file("ECS102_NA_8F87_INPUT_ALERT_GBCS.HEX"))
    fields = alerts.interpret_dlms(0x0122, items)
    assert fields.direction_and_number.direction == "input"
    assert fields.level == 10


def test_ecs200_json_state():
    items = notification_items(rtds_file("ECS200_NA_8F88_ALERT_GBCS.HEX"))
    fields = alerts.interpret_dlms(0x0123, items)
    assert fields.state["outputState"] == "100"


def test_generic_alert_has_no_extra_fields():
    items = notification_items(rtds_file("GCA-DLMS_NA_8F30_ALERT_GBCS.HEX"))
    fields = alerts.interpret_dlms(0x1000, items)
    assert fields.alert_code == 0x8F30 and fields.additional_items == []
    assert len(fields.time_stamp) == 12


def test_unknown_use_case_keeps_the_extra_items():
    items = notification_items(rtds_file("DBCH06_NA_8F20_ALERT_GBCS.HEX"))
    fields = alerts.interpret_dlms(0x0110, items)
    assert fields.alert_code == 0x8F20
    assert len(fields.additional_items) == 1


def test_meter_integrity_alerts_agree_between_dlms_and_gbz():
    dlms_items = notification_items(rtds_file("MIIWA-DLMS_NA_81A0_ALERT_GBCS.HEX"))
    esme = alerts.interpret_dlms(0x00F0, dlms_items)
    gsme = gbz.decode_alert(header_of(rtds_file("MIIWA-ZigBee_NA_81A0_ALERT_GBCS.HEX")).content)
    assert esme.alert_code == gsme.alert_code == 0x81A0
    assert esme.integrity_issue == 5 and gsme.integrity_issue == "error_unexpected_hardware_reset"


def test_interpret_dlms_accepts_plain_values_and_short_lists():
    assert alerts.interpret_dlms(0x1000, []).alert_code is None
    raw = bytes.fromhex("00A200000000000003ED00710000131400FF07")
    fields = alerts.interpret_dlms(0x00CC, [0x8F66, bytes(12), raw])
    assert fields.executed_command.message_code == 0x00A2
    assert fields.executed_command.class_id == 0x71
    assert fields.executed_command.instance_id == "0-0:19.20.0.255"
    assert fields.executed_command.attribute_id == 7
