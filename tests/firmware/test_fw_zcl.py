"""The firmware's ZCL and DRLC codec on the unix port, against zigpy (with our DRLC
definitions) on the same frames, and those frames against tshark's dissectors."""

from __future__ import annotations

import json
import shutil
import struct
import subprocess

import pytest
from fw_constants import VECTORS
from zcl_reference import build, parse

CASES = json.loads((VECTORS / "zcl_frames.json").read_text())
TO_SWITCH = [c for c in CASES if c["to_switch"]]
FROM_SWITCH = [c for c in CASES if not c["to_switch"]]


def name(case: dict) -> str:
    return case["name"]


@pytest.mark.parametrize("case", CASES, ids=name)
def test_zigpy_builds_the_vector(case):
    assert build(case).hex() == case["hex"]


def _firmware_parse(port, case: dict, payload: bytes):
    kind = case["kind"]
    calls = {
        "on_with_timed_off": "app.parse_on_with_timed_off",
        "move_to_level": "app.parse_move_to_level",
        "read_attributes": "zcl.parse_read_attributes",
        "write_attributes": "zcl.parse_attribute_records",
        "load_control_event": "drlc.parse_load_control_event",
        "cancel_event": "drlc.parse_cancel_event",
        "cancel_all": "drlc.parse_cancel_all",
        "read_attributes_rsp": "zcl.parse_read_attributes_rsp",
        "report_attributes": "zcl.parse_attribute_records",
        "default_response": "zcl.parse_default_rsp",
        "get_scheduled_events": "drlc.parse_get_scheduled_events",
        "report_event_status": "drlc.parse_report_event_status",
    }
    if kind == "on_off":
        return []
    if kind == "write_attributes_rsp":
        return list(payload)
    if kind == "cancel_all":
        return [port.call(calls[kind], payload)]
    return port.call(calls[kind], payload)


def _zigpy_values(case: dict, args) -> list:
    """zigpy's parse of a frame, flattened the way the firmware returns it."""
    kind = case["kind"]
    if kind == "on_off":
        return []
    if kind == "on_with_timed_off":
        return [int(args.on_off_control), args.on_time, args.off_wait_time]
    if kind == "move_to_level":
        return [
            args.level,
            args.transition_time,
            getattr(args, "options_mask", None),
            getattr(args, "options_override", None),
        ]
    if kind == "read_attributes":
        return [int(a) for a in args.attribute_ids]
    if kind in ("write_attributes", "report_attributes"):
        records = args.attributes if kind == "write_attributes" else args.attribute_reports
        return [[r.attrid, int(r.value.type), _plain(r.value.value)] for r in records]
    if kind == "read_attributes_rsp":
        out = []
        for r in args.status_records:
            if r.status == 0:
                out.append([r.attrid, 0, int(r.value.type), _plain(r.value.value)])
            else:
                out.append([r.attrid, int(r.status), None, None])
        return out
    if kind == "default_response":
        return [args.command_id, int(args.status)]
    if kind == "write_attributes_rsp":
        return [int(r.status) for r in args.status_records]
    values = [_plain(v) for v in args.as_tuple()]
    if kind == "get_scheduled_events" and len(values) == 2:
        values.append(None)
    if kind == "report_event_status":
        values = values[:-1] + [bytes(values[-1])]
    return values


def _plain(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, list):
        return [int(v) for v in value]
    return value


@pytest.mark.parametrize("case", CASES, ids=name)
def test_firmware_decodes_like_zigpy(port, case):
    frame = bytes.fromhex(case["hex"])
    hdr, args = parse(case, frame)
    fc, manufacturer, tsn, command, offset = port.call("zcl.parse_header", frame)
    assert (fc, manufacturer, tsn, command) == (
        hdr.frame_control.serialize()[0],
        None,
        hdr.tsn,
        hdr.command_id,
    )
    assert _firmware_parse(port, case, frame[offset:]) == _zigpy_values(case, args)


def _firmware_build(port, case: dict) -> bytes:
    fields, tsn = case["fields"], case["tsn"]
    kind = case["kind"]
    if kind == "read_attributes_rsp":
        return port.call("zcl.read_attributes_rsp", tsn, fields["records"])
    if kind == "report_attributes":
        return port.call("zcl.report_attributes", tsn, fields["records"])
    if kind == "default_response":
        return port.call("zcl.default_rsp", tsn, fields["command_id"], fields["status"])
    if kind == "write_attributes_rsp":
        return port.call("zcl.write_attributes_rsp", tsn, [])
    head = port.call("zcl.header", 0x01, tsn, case["command"])
    if kind == "get_scheduled_events":
        return head + port.call(
            "drlc.get_scheduled_events", fields["start_time"], fields["number_of_events"]
        )
    if kind == "report_event_status":
        return head + port.call(
            "drlc.report_event_status",
            fields["issuer_event_id"],
            fields["event_status"],
            fields["event_status_time"],
            fields["criticality_level_applied"],
            fields["average_load_adjustment_percentage_applied"],
            fields["duty_cycle_applied"],
            fields["event_control"],
        )
    raise KeyError(kind)


@pytest.mark.parametrize("case", FROM_SWITCH, ids=name)
def test_firmware_builds_what_zigpy_builds(port, case):
    assert _firmware_build(port, case).hex() == case["hex"]


@pytest.mark.parametrize("payload", ["", "00", "0102", "ffffffff"], ids=lambda p: p or "empty")
def test_drlc_event_of_wrong_length_is_malformed(port, payload):
    error = port.call("drlc.parse_load_control_event", bytes.fromhex(payload))
    assert error.kind == "ZclError" and error.status == 0x80


def test_drlc_event_out_of_range_is_invalid_field(port):
    case = next(c for c in CASES if c["name"] == "drlc.load_control_event")
    payload = bytearray(bytes.fromhex(case["hex"])[3:])
    payload[11:13] = struct.pack("<H", 1441)  # longer than a day
    error = port.call("drlc.parse_load_control_event", bytes(payload))
    assert error.kind == "ZclError" and error.status == 0x85


# -- tshark: the same frames inside 802.15.4 / NWK / APS, profile 0x0109 --------------------

TSHARK = shutil.which("tshark")


def _wpan_frame(case: dict, seq: int) -> bytes:
    zcl = bytes.fromhex(case["hex"])
    src, dst = (0x0000, 0x4F21) if case["to_switch"] else (0x4F21, 0x0000)
    mac = struct.pack("<HBHHH", 0x8861, seq, 0x1A62, dst, src)
    nwk = struct.pack("<HHHBB", 0x0008, dst, src, 30, seq)
    aps = struct.pack("<BBHHBB", 0x40, 1, case["cluster"], 0x0109, 1, seq)
    return mac + nwk + aps + zcl


def _pcap(frames: list[bytes]) -> bytes:
    out = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 230)
    for i, frame in enumerate(frames):
        out += struct.pack("<IIII", 1_700_000_000 + i, 0, len(frame), len(frame)) + frame
    return out


@pytest.mark.skipif(TSHARK is None, reason="tshark is not installed (CI installs it)")
def test_tshark_dissects_every_vector_cleanly(tmp_path):
    path = tmp_path / "zcl.pcap"
    path.write_bytes(_pcap([_wpan_frame(c, i) for i, c in enumerate(CASES)]))
    bad = subprocess.run(
        [TSHARK, "-r", str(path), "-Y", '_ws.malformed || _ws.expert.severity >= "warning"'],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert bad.strip() == ""
    count = subprocess.run(
        [TSHARK, "-r", str(path), "-T", "fields", "-e", "zbee_zcl.cmd.tsn"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert [int(x) for x in count] == [c["tsn"] for c in CASES]


DRLC_FIELDS = {
    "load_control_event": {
        "zbee_zcl_se.drlc.issuer_id": "issuer_event_id",
        "zbee_zcl_se.drlc.duration_in_minutes": "duration_in_minutes",
        "zbee_zcl_se.drlc.criticality_level": "criticality_level",
        "zbee_zcl_se.drlc.average_load_adjustment_percentage": "average_load_adjustment_percentage",
        "zbee_zcl_se.drlc.duty_cycle": "duty_cycle",
        "zbee_zcl_se.drlc.utility_enrollment_group": "utility_enrollment_group",
    },
    "cancel_event": {
        "zbee_zcl_se.drlc.issuer_id": "issuer_event_id",
        "zbee_zcl_se.drlc.effective_time": "effective_time",
    },
    "report_event_status": {
        "zbee_zcl_se.drlc.report_event.issuer_id": "issuer_event_id",
        "zbee_zcl_se.drlc.report_event.event_status": "event_status",
        "zbee_zcl_se.drlc.report_event.criticality_level_applied": "criticality_level_applied",
        "zbee_zcl_se.drlc.report_event.average_load_adjustment_percentage_applied": "average_load_adjustment_percentage_applied",
        "zbee_zcl_se.drlc.report_event.duty_cycle_applied": "duty_cycle_applied",
    },
    "get_scheduled_events": {
        "zbee_zcl_se.drlc.get_scheduled_events.numbers_of_events": "number_of_events",
    },
}
DRLC_CASES = [c for c in CASES if c["kind"] in DRLC_FIELDS]


@pytest.mark.skipif(TSHARK is None, reason="tshark is not installed (CI installs it)")
@pytest.mark.parametrize("case", DRLC_CASES, ids=name)
def test_tshark_reads_our_drlc_field_values(tmp_path, case):
    path = tmp_path / "drlc.pcap"
    path.write_bytes(_pcap([_wpan_frame(case, 1)]))
    fields = DRLC_FIELDS[case["kind"]]
    argv = [TSHARK, "-r", str(path), "-T", "fields", "-E", "separator=|"]
    for field in fields:
        argv += ["-e", field]
    values = subprocess.run(argv, capture_output=True, text=True, check=True).stdout.strip()
    got = [int(v, 0) for v in values.split("|")]
    assert got == [case["fields"][key] for key in fields.values()]
