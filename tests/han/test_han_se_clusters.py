"""Our SE cluster definitions (DRLC, Tunnelling, Key Establishment): byte layouts, round trips,
and Wireshark's dissection of the frames we send, field by field."""

from __future__ import annotations

from pathlib import Path

import pytest
import zigpy.types as t
from han_helpers import tshark_fields, tshark_problems
from hypothesis import given
from hypothesis import strategies as st
from se_capture import CERT, EPHEMERAL, GBCS_COMMAND, LCE, MAC_U, write_se_capture

from emulator.han import se_clusters as se
from emulator.han import zcl

DRLC = se.DemandResponseLoadControl


def test_zigpy_registry_keeps_its_own_stubs():
    from zigpy.zcl import Cluster

    assert Cluster._registry[0x0701] is not DRLC
    assert Cluster._registry[0x0704] is not se.Tunneling


@pytest.mark.parametrize(
    ("name", "from_server", "fields", "expected"),
    [
        (
            "load_control_event",
            True,
            dict(
                issuer_event_id=0x01020304,
                device_class=se.DeviceClass.Electric_Vehicle,
                utility_enrollment_group=0,
                start_time=0,
                duration_in_minutes=30,
                criticality_level=7,
                cooling_temperature_offset=0xFF,
                heating_temperature_offset=0xFF,
                cooling_temperature_set_point=-0x8000,
                heating_temperature_set_point=-0x8000,
                average_load_adjustment_percentage=-100,
                duty_cycle=0xFF,
                event_control=0,
            ),
            "09200004030201000400000000001e0007ffff008000809cff00",
        ),
        (
            "cancel_load_control_event",
            True,
            dict(
                issuer_event_id=0x01020304,
                device_class=se.DeviceClass.Electric_Vehicle,
                utility_enrollment_group=0,
                cancel_control=0,
                effective_time=0,
            ),
            "092201040302010004000000000000",
        ),
        ("cancel_all_load_control_events", True, dict(cancel_control=0), "09230200"),
        ("get_scheduled_events", False, dict(start_time=0, number_of_events=0), "0124010000000000"),
    ],
)
def test_drlc_bytes_match_the_primer_table(name, from_server, fields, expected):
    tsn = int(expected[2:4], 16)
    assert zcl.cluster_command(DRLC, name, tsn, from_server=from_server, **fields).hex() == expected


@given(
    issuer=st.integers(0, 2**32 - 1),
    device_class=st.integers(0, 0x0FFF),
    duration=st.integers(0, 1440),
    adjustment=st.integers(-128, 127),
    duty=st.integers(0, 255),
    set_point=st.integers(-(2**15), 2**15 - 1),
)
def test_load_control_event_round_trips(
    issuer, device_class, duration, adjustment, duty, set_point
):
    fields = dict(
        LCE,
        issuer_event_id=issuer,
        device_class=se.DeviceClass(device_class),
        duration_in_minutes=duration,
        average_load_adjustment_percentage=adjustment,
        duty_cycle=duty,
        heating_temperature_set_point=set_point,
    )
    data = zcl.cluster_command(DRLC, "load_control_event", 9, from_server=True, **fields)
    assert len(data) == 3 + 23
    frame = zcl.parse(DRLC, data)
    assert frame.name == "load_control_event"
    assert frame.command.as_dict() == {k: fields[k] for k in frame.command.as_dict()}


def test_report_event_status_round_trip_and_fixed_signature_length():
    from se_capture import REPORT

    data = zcl.cluster_command(DRLC, "report_event_status", 3, from_server=False, **REPORT)
    assert len(data) == 3 + 18 + se.SIGNATURE_LENGTH
    assert zcl.parse(DRLC, data).command.as_dict() == REPORT
    with pytest.raises(zcl.ZclDecodeError):
        zcl.parse(DRLC, data[:-1])  # a short signature is malformed, not silently accepted


def test_tunnel_transfer_data_carries_gbcs_unchanged():
    data = zcl.cluster_command(
        se.Tunneling, "transfer_data", 5, from_server=True, tunnel_id=7, data=GBCS_COMMAND
    )
    frame = zcl.parse(se.Tunneling, data)
    assert frame.command.tunnel_id == 7 and bytes(frame.command.data) == GBCS_COMMAND


def test_key_establishment_initiate_round_trip():
    fields = dict(
        key_establishment_suite=se.KeyEstablishmentSuite.CBKE_ECMQV_K163,
        ephemeral_data_generate_time=10,
        confirm_key_generate_time=12,
        identity=se.Suite1Certificate(CERT),
    )
    data = zcl.cluster_command(
        se.KeyEstablishment, "initiate_key_establishment_request", 1, from_server=False, **fields
    )
    assert len(data) == 3 + 2 + 1 + 1 + 48
    assert zcl.parse(se.KeyEstablishment, data).command.as_dict() == fields
    with pytest.raises(zcl.ZclDecodeError):
        zcl.parse(se.KeyEstablishment, data + b"\x00")


@pytest.fixture(scope="module")
def se_pcap(tmp_path_factory) -> tuple[Path, list[str]]:
    path = tmp_path_factory.mktemp("se") / "se.pcap"
    return path, write_se_capture(path)


def _ints(row: list[str]) -> list[int | None]:
    return [int(value, 0) if value else None for value in row]


def test_se_capture_dissects_cleanly(tshark, se_pcap):
    path, keys = se_pcap
    assert tshark_problems(tshark, path, keys) == []
    # Without the keys every secured frame is flagged: the check above really proves decryption.
    assert len(tshark_problems(tshark, path, [])) > 20


def test_tshark_reads_load_control_event_fields(tshark, se_pcap):
    path, keys = se_pcap
    fields = [
        "zbee_zcl_se.drlc.issuer_id",
        "zbee_zcl_se.drlc.device_class",
        "zbee_zcl_se.drlc.device_class.electric_vehicle",
        "zbee_zcl_se.drlc.device_class.simple_misc_loads",
        "zbee_zcl_se.drlc.utility_enrollment_group",
        "zbee_zcl_se.drlc.start_time",
        "zbee_zcl_se.drlc.duration_in_minutes",
        "zbee_zcl_se.drlc.criticality_level",
        "zbee_zcl_se.drlc.cooling_temperature_offset",
        "zbee_zcl_se.drlc.cooling_temperature_set_point",
        "zbee_zcl_se.drlc.heating_temperature_set_point",
        "zbee_zcl_se.drlc.average_load_adjustment_percentage",
        "zbee_zcl_se.drlc.duty_cycle",
        "zbee_zcl_se.drlc.randomize_start_time",
        "zbee_zcl_se.drlc.randomize_duration_time",
    ]
    rows = tshark_fields(tshark, path, keys, fields, "zbee_zcl_se.drlc.cmd.srv_tx.id == 0")
    assert len(rows) == 1
    assert _ints(rows[0]) == [
        LCE["issuer_event_id"],
        int(LCE["device_class"]),
        1,
        1,
        LCE["utility_enrollment_group"],
        LCE["start_time"],
        LCE["duration_in_minutes"],
        int(LCE["criticality_level"]),
        LCE["cooling_temperature_offset"],
        LCE["cooling_temperature_set_point"],
        LCE["heating_temperature_set_point"],
        LCE["average_load_adjustment_percentage"],
        LCE["duty_cycle"],
        0,
        1,
    ]


def test_tshark_reads_the_other_drlc_commands(tshark, se_pcap):
    from se_capture import REPORT

    path, keys = se_pcap
    cancel = tshark_fields(
        tshark,
        path,
        keys,
        ["zbee_zcl_se.drlc.issuer_id", "zbee_zcl_se.drlc.cancel_control.event_in_process"],
        "zbee_zcl_se.drlc.cmd.srv_tx.id == 1",
    )
    assert [_ints(r) for r in cancel] == [[0x01020304, 1]]
    cancel_all = tshark_fields(
        tshark,
        path,
        keys,
        ["zbee_zcl_se.drlc.cancel_control"],
        "zbee_zcl_se.drlc.cmd.srv_tx.id == 2",
    )
    assert [_ints(r) for r in cancel_all] == [[0]]
    scheduled = tshark_fields(
        tshark,
        path,
        keys,
        ["zbee_zcl_se.drlc.get_scheduled_events.numbers_of_events"],
        "zbee_zcl_se.drlc.cmd.srv_rx.id == 1",
    )
    assert [_ints(r) for r in scheduled] == [[0]]
    report = tshark_fields(
        tshark,
        path,
        keys,
        [
            "zbee_zcl_se.drlc.report_event.issuer_id",
            "zbee_zcl_se.drlc.report_event.event_status",
            "zbee_zcl_se.drlc.report_event.criticality_level_applied",
            "zbee_zcl_se.drlc.report_event.heating_temperature_set_point_applied",
            "zbee_zcl_se.drlc.report_event.average_load_adjustment_percentage_applied",
            "zbee_zcl_se.drlc.report_event.duty_cycle_applied",
            "zbee_zcl_se.drlc.report_event.signature_type",
            "zbee_zcl_se.drlc.report_event.signature",
        ],
        "zbee_zcl_se.drlc.cmd.srv_rx.id == 0",
    )
    assert len(report) == 1
    assert _ints(report[0][:7]) == [
        REPORT["issuer_event_id"],
        int(REPORT["event_status"]),
        int(REPORT["criticality_level_applied"]),
        REPORT["heating_temperature_set_point_applied"],
        REPORT["average_load_adjustment_percentage_applied"],
        REPORT["duty_cycle_applied"],
        int(REPORT["signature_type"]),
    ]
    assert bytes.fromhex(report[0][7]) == bytes(se.SIGNATURE_LENGTH)


def test_tshark_reads_tunnelling_fields_and_the_gbcs_inside(tshark, se_pcap):
    path, keys = se_pcap
    rows = tshark_fields(
        tshark,
        path,
        keys,
        [
            "zbee_zcl_se.tun.cmd.srv_rx.id",
            "zbee_zcl_se.tun.cmd.srv_tx.id",
            "zbee_zcl_se.tun.protocol_id",
            "zbee_zcl_se.tun.manufacturer_code",
            "zbee_zcl_se.tun.max_in_transfer_size",
            "zbee_zcl_se.tun.tunnel_id",
            "zbee_zcl_se.tun.transfer_status",
            "zbee_zcl_se.tun.protocol_count",
            "zbee_zcl_se.tun.protocol_offset",
            "frame.protocols",
        ],
        "zbee_zcl_se.tun.cmd.srv_rx.id || zbee_zcl_se.tun.cmd.srv_tx.id",
    )
    commands = [(_ints(r[:2]), _ints(r[2:9]), r[9]) for r in rows]
    by_command = {(rx, tx): (values, protocols) for (rx, tx), values, protocols in commands}
    gb_hrgp = int(se.TunnelProtocol.GB_HRGP)
    assert by_command[(0x00, None)][0] == [gb_hrgp, 0xFFFF, 1500, None, None, None, None]
    assert by_command[(None, 0x00)][0] == [None, None, 1500, 7, 0, None, None]
    assert by_command[(None, 0x05)][0][0] == gb_hrgp and by_command[(None, 0x05)][0][5] == 1
    assert by_command[(0x06, None)][0][6] == 0
    assert by_command[(None, 0x06)][0][3] == 7
    # Transfer Data both ways: Wireshark follows the GB-HRGP tunnel into the GBCS message.
    for key in ((0x02, None), (None, 0x01)):
        values, protocols = by_command[key]
        assert values[3] == 7
        assert protocols.endswith("zbee_zcl_se.tun:gbcs_tunnel:gbcs_message:data")


def test_tshark_reads_key_establishment_fields(tshark, se_pcap):
    path, keys = se_pcap
    rows = tshark_fields(
        tshark,
        path,
        keys,
        [
            "zbee_zcl_se.ke.cmd.srv_rx.id",
            "zbee_zcl_se.ke.cmd.srv_tx.id",
            "zbee_zcl_se.ke.attr.suite",
            "zbee_zcl_se.ke.init.ephemeral.time",
            "zbee_zcl_se.ke.init.confirm.time",
            "zbee_zcl_se.ke.cert.reconst",
            "zbee_zcl_se.ke.cert.subject",
            "zbee_zcl_se.ke.qeu",
            "zbee_zcl_se.ke.qev",
            "zbee_zcl_se.ke.macu",
            "zbee_zcl_se.ke.terminate.status",
            "zbee_zcl_se.ke.terminate.wait.time",
        ],
        "zbee_zcl_se.ke.cmd.srv_rx.id || zbee_zcl_se.ke.cmd.srv_tx.id",
    )
    by_command = {(r[0], r[1]): r[2:] for r in rows}
    for key in (("0x00", ""), ("", "0x00")):  # initiate request and response
        suite, eph_time, confirm_time, reconst, subject = by_command[key][:5]
        assert int(suite, 0) == 1 and (int(eph_time), int(confirm_time)) == (10, 12)
        assert bytes.fromhex(reconst) == CERT[:22] and bytes.fromhex(subject) == CERT[22:30]
    assert bytes.fromhex(by_command[("0x01", "")][5]) == EPHEMERAL
    assert bytes.fromhex(by_command[("", "0x01")][6]) == EPHEMERAL
    assert bytes.fromhex(by_command[("0x02", "")][7]) == MAC_U
    terminate = by_command[("", "0x03")]
    assert int(terminate[8], 0) == int(se.KeTerminateStatus.Bad_Key_Confirm)
    assert int(terminate[9]) == 5


def test_unknown_command_id_parses_to_raw_bytes_not_an_exception():
    frame = zcl.parse(DRLC, bytes([0x09, 0x01, 0x7F, 0xAA]))
    assert frame.name == "unknown_0x7f" and frame.command == b"\xaa"
    assert isinstance(t.uint8_t(frame.tsn), int)


@given(fc=st.integers(0, 255), rest=st.binary(min_size=4, max_size=8))
def test_peek_header_agrees_with_zigpy(fc, rest):
    from zigpy.zcl import foundation as f

    data = bytes([fc]) + rest
    header, _ = f.ZCLHeader.deserialize(data)
    peek = zcl.peek_header(data)
    assert peek.tsn == header.tsn and peek.command_id == header.command_id
    assert peek.cluster_specific == (header.frame_control.frame_type == f.FrameType.CLUSTER_COMMAND)
    assert peek.from_server == (header.frame_control.direction == f.Direction.Server_to_Client)
    assert peek.disable_default_response == bool(header.frame_control.disable_default_response)


def test_built_headers_agree_with_zigpy_helpers():
    from zigpy.zcl import foundation as f

    for from_server in (False, True):
        direction = f.Direction.Server_to_Client if from_server else f.Direction.Client_to_Server
        for maker, specific in ((f.ZCLHeader.cluster, True), (f.ZCLHeader.general, False)):
            reference = maker(tsn=0x21, command_id=0x05, direction=direction)
            built = zcl._header(0x21, 0x05, specific, from_server, not from_server)
            assert built == reference.serialize()
    with pytest.raises(zcl.ZclDecodeError):
        zcl.peek_header(b"\x04\x01\x02")  # manufacturer-specific header cut short
