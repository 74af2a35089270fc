"""zigpy builds and parses the ZCL frames of tests/firmware/vectors/zcl_frames.json."""

from __future__ import annotations

import zigpy.types as t
from zigpy.zcl import foundation as f
from zigpy.zcl.clusters.general import LevelControl, OnOff

from emulator.han.se_clusters import DemandResponseLoadControl as Drlc

SERVER_TO_CLIENT_NO_DEFAULT_RSP = 0x18

_CLUSTER_SCHEMAS = {
    "on_off": lambda c: getattr(OnOff.ServerCommandDefs, _on_off_name(c["command"])).schema,
    "on_with_timed_off": lambda c: OnOff.ServerCommandDefs.on_with_timed_off.schema,
    "move_to_level": lambda c: (
        (
            LevelControl.ServerCommandDefs.move_to_level
            if c["command"] == 0
            else LevelControl.ServerCommandDefs.move_to_level_with_on_off
        ).schema
    ),
    "load_control_event": lambda c: Drlc.ClientCommandDefs.load_control_event.schema,
    "cancel_event": lambda c: Drlc.ClientCommandDefs.cancel_load_control_event.schema,
    "cancel_all": lambda c: Drlc.ClientCommandDefs.cancel_all_load_control_events.schema,
    "get_scheduled_events": lambda c: Drlc.ServerCommandDefs.get_scheduled_events.schema,
    "report_event_status": lambda c: Drlc.ServerCommandDefs.report_event_status.schema,
}


def _on_off_name(command: int) -> str:
    return {0: "off", 1: "on", 2: "toggle"}[command]


def header(case: dict) -> f.ZCLHeader:
    cluster_frame = case["kind"] in _CLUSTER_SCHEMAS
    # Meter -> switch DRLC commands are server -> client; the rest follow the table.
    if case["kind"] in ("load_control_event", "cancel_event", "cancel_all"):
        hdr = f.ZCLHeader.cluster(
            case["tsn"], case["command"], direction=f.Direction.Server_to_Client
        )
        # zigpy's helper disables the default response for server -> client; a DRLC event
        # wants one possible (primer §2.3).
        return hdr.replace(frame_control=hdr.frame_control.replace(disable_default_response=0))
    direction = (
        f.Direction.Client_to_Server
        if case["to_switch"] or cluster_frame
        else f.Direction.Server_to_Client
    )
    if cluster_frame:
        return f.ZCLHeader.cluster(case["tsn"], case["command"], direction=direction)
    return f.ZCLHeader.general(case["tsn"], case["command"], direction=direction)


def payload(case: dict) -> bytes:
    kind, fields = case["kind"], case["fields"]
    if kind in _CLUSTER_SCHEMAS:
        values = dict(fields)
        if kind == "report_event_status":
            values.setdefault("cooling_temperature_set_point_applied", -0x8000)
            values.setdefault("heating_temperature_set_point_applied", -0x8000)
            values.setdefault("signature_type", 0)
            values.setdefault("signature", [0xFF] * 42)
        return _CLUSTER_SCHEMAS[kind](case)(**values).serialize()
    general = f.GENERAL_COMMANDS[f.GeneralCommand(case["command"])].schema
    if kind == "read_attributes":
        return general(attribute_ids=fields["attribute_ids"]).serialize()
    if kind == "read_attributes_rsp":
        records = []
        for attr, status, type_id, value in fields["records"]:
            if status == 0:
                records.append(
                    f.ReadAttributeRecord(
                        attr, f.Status(status), f.TypeValue(type_id, _typed(type_id, value))
                    )
                )
            else:
                records.append(f.ReadAttributeRecord(attr, f.Status(status)))
        return general(status_records=records).serialize()
    if kind in ("report_attributes", "write_attributes"):
        records = [
            f.Attribute(attr, f.TypeValue(type_id, _typed(type_id, value)))
            for attr, type_id, value in fields["records"]
        ]
        return (
            general(attribute_reports=records).serialize()
            if kind == "report_attributes"
            else general(attributes=records).serialize()
        )
    if kind == "default_response":
        return general(
            command_id=fields["command_id"], status=f.Status(fields["status"])
        ).serialize()
    if kind == "write_attributes_rsp":
        return general(status_records=[f.WriteAttributesStatusRecord(f.Status.SUCCESS)]).serialize()
    raise KeyError(kind)


def _typed(type_id: int, value):
    python_type = f.DataType.from_type_id(type_id).python_type
    return python_type(value)


def build(case: dict) -> bytes:
    return header(case).serialize() + payload(case)


def parse(case: dict, data: bytes) -> tuple[f.ZCLHeader, object]:
    hdr, rest = f.ZCLHeader.deserialize(data)
    kind = case["kind"]
    if kind in _CLUSTER_SCHEMAS:
        args, extra = _CLUSTER_SCHEMAS[kind](case).deserialize(rest)
    else:
        args, extra = f.GENERAL_COMMANDS[f.GeneralCommand(case["command"])].schema.deserialize(rest)
    assert extra == b""
    return hdr, args


__all__ = ["build", "parse", "t"]
