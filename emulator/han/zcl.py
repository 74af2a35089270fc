"""Building and parsing ZCL frames with zigpy's codec, direction always chosen explicitly.

zigpy's ``ZCLCommandDef.direction`` reads the opposite way to the frame's direction bit (primer
2.3), so callers say which side sends: ``from_server=True`` for server->client frames.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import zigpy.types as t
from zigpy.zcl import Cluster
from zigpy.zcl import foundation as f

from emulator.errors import EmulatorError


@dataclass(frozen=True, slots=True)
class ZclFrame:
    header: f.ZCLHeader
    # the parsed schema instance (its fields by the command's names, hence Any), or raw
    # bytes for unknown commands
    command: Any
    name: str

    @property
    def tsn(self) -> int:
        return int(self.header.tsn)


class ZclDecodeError(EmulatorError, ValueError):
    pass


@dataclass(frozen=True, slots=True)
class HeaderInfo:
    """The header fields request matching needs, without building a zigpy ZCLHeader."""

    cluster_specific: bool
    from_server: bool
    disable_default_response: bool
    tsn: int
    command_id: int


@lru_cache(maxsize=32)
def _frame_control_byte(cluster_specific: bool, from_server: bool, want_dr: bool) -> bytes:
    """zigpy's frame control for a combination, computed once (zigpy structs are slow).

    zigpy's helpers disable the default response on every server->client frame; we set the
    bit as the sender wants (a DRLC Load Control Event wants a Default Response possible).
    """
    direction = f.Direction.Server_to_Client if from_server else f.Direction.Client_to_Server
    maker = f.ZCLHeader.cluster if cluster_specific else f.ZCLHeader.general
    header = maker(tsn=0, command_id=0, direction=direction)
    # zigpy annotates replace(**kwargs) as taking dicts; any field value is right
    control = header.frame_control.replace(
        disable_default_response=not want_dr  # type: ignore[arg-type]
    )
    return control.serialize()


@lru_cache(maxsize=256)
def _decode_frame_control(value: int) -> tuple[bool, bool, bool, bool]:
    control, _ = f.FrameControl.deserialize(bytes([value]))
    return (
        control.frame_type == f.FrameType.CLUSTER_COMMAND,
        control.direction == f.Direction.Server_to_Client,
        bool(control.disable_default_response),
        bool(control.is_manufacturer_specific),
    )


def peek_header(data: bytes) -> HeaderInfo:
    """Frame type, direction, TSN and command id of a ZCL frame; raises ZclDecodeError."""
    if len(data) < 3:
        raise ZclDecodeError("ZCL frame shorter than its header")
    cluster_specific, from_server, no_dr, manufacturer = _decode_frame_control(data[0])
    offset = 3 if manufacturer else 1
    if len(data) < offset + 2:
        raise ZclDecodeError("ZCL frame shorter than its header")
    return HeaderInfo(cluster_specific, from_server, no_dr, data[offset], data[offset + 1])


def _header(tsn: int, command_id: int, cluster_specific: bool, from_server: bool, want_dr: bool):
    return _frame_control_byte(cluster_specific, from_server, want_dr) + bytes(
        [tsn & 0xFF, command_id]
    )


def cluster_command(
    cluster: type[Cluster],
    name: str,
    tsn: int,
    *,
    from_server: bool,
    want_default_response: bool = True,
    **fields,
) -> bytes:
    defs = cluster.ClientCommandDefs if from_server else cluster.ServerCommandDefs
    command = getattr(defs, name)
    header = _header(tsn, command.id, True, from_server, want_default_response)
    return header + command.schema(**fields).serialize()


def general_command(
    general_id: f.GeneralCommand,
    tsn: int,
    *,
    from_server: bool,
    want_default_response: bool = False,
    **fields,
) -> bytes:
    command = f.GENERAL_COMMANDS[general_id]
    header = _header(tsn, general_id, False, from_server, want_default_response)
    return header + command.schema(**fields).serialize()


def read_attributes(tsn: int, attribute_ids: list[int]) -> bytes:
    """A Read Attributes request (client to server)."""
    return general_command(
        f.GeneralCommand.Read_Attributes, tsn, from_server=False,
        attribute_ids=[t.uint16_t(a) for a in attribute_ids],
    )  # fmt: skip


def read_attributes_response(
    tsn: int, attribute_ids: list[Any], table: dict[int, tuple[int, Any]]
) -> bytes:
    """The server's answer to a Read Attributes of `attribute_ids`: each from `table`
    (attribute id -> (ZCL type id, zigpy-typed value)), UNSUPPORTED_ATTRIBUTE where it has
    none."""
    records = []
    for attr in attribute_ids:
        if int(attr) in table:
            type_id, value = table[int(attr)]
            records.append(f.ReadAttributeRecord(
                attrid=t.uint16_t(attr), status=f.Status.SUCCESS,
                value=f.TypeValue(t.uint8_t(type_id), value)))  # fmt: skip
        else:
            records.append(f.ReadAttributeRecord(
                attrid=t.uint16_t(attr), status=f.Status.UNSUPPORTED_ATTRIBUTE))  # fmt: skip
    return general_command(
        f.GeneralCommand.Read_Attributes_rsp, tsn, from_server=True, status_records=records
    )


def default_response(tsn: int, command_id: int, status: f.Status, *, from_server: bool) -> bytes:
    return general_command(
        f.GeneralCommand.Default_Response,
        tsn,
        from_server=from_server,
        command_id=command_id,
        status=status,
    )


# zigpy keys its global commands by the GeneralCommand enum; a received id is a plain int
_GENERAL_COMMANDS: dict[int, f.ZCLCommandDef] = {int(k): v for k, v in f.GENERAL_COMMANDS.items()}


def parse(cluster: type[Cluster], data: bytes) -> ZclFrame:
    """Parse a ZCL frame of ``cluster``; raises ZclDecodeError on anything malformed."""
    try:
        header, rest = f.ZCLHeader.deserialize(data)
    except (ValueError, KeyError) as exc:
        raise ZclDecodeError(f"bad ZCL header: {exc}") from exc
    fc = header.frame_control
    if fc.frame_type == f.FrameType.GLOBAL_COMMAND:
        command = _GENERAL_COMMANDS.get(header.command_id)
    elif fc.direction == f.Direction.Server_to_Client:
        command = cluster.client_commands.get(header.command_id)
    else:
        command = cluster.server_commands.get(header.command_id)
    if command is None:
        return ZclFrame(header, bytes(rest), f"unknown_0x{header.command_id:02x}")
    try:
        args, extra = command.schema.deserialize(rest)
    except (ValueError, KeyError) as exc:
        raise ZclDecodeError(f"bad {command.name} payload: {exc}") from exc
    if extra:
        raise ZclDecodeError(f"{len(extra)} trailing bytes after {command.name}")
    return ZclFrame(header, args, command.name)
