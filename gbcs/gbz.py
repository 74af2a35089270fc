"""GBZ payloads: ZigBee Smart Energy commands carried end to end in GBCS (primer 8.4).

A GBZ payload is the profile id 0x0109, a component count, then components. Each component
is a control byte (last component, encrypted, "from date-time" present), a cluster id and a
2-byte big-endian length, then either a clear ZCL frame or an encrypted one (additional
header, ZCL header, then `31 00 00 00 00` + ciphertext + 12-byte tag, primer 5.3). Decoded,
a component is `control`, `cluster_id` and `body` (from_date_time, frame | encrypted_frame);
the length and the count are recomputed on encode.

The ZCL frame inside a component (header, typed attribute values, general and Smart Energy
cluster commands) is gbcs.zcl's layer; GBZ's own header fields are big-endian.

GBZ alerts (CRA 3) are the profile id, a component count, the alert code and a time stamp
(seconds since 2000, big-endian), then a layout chosen by the message code or alert code:
future-dated (00CD), firmware distribution receipt (00CF), meter integrity (00F2), or
ordinary components (GCS53).

`GbzPayload` and `ALERT_LAYOUTS` are the declarative definitions and build every payload.
Decoding reads the few fixed GBZ / ZCL header bytes by hand and runs only the ZCL payload
through a compiled construct (`compile_strict`: construct's compiled parsers skip length
checks, these restore them); tests check both paths give the same tree.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from functools import cache
from io import BytesIO
from typing import TYPE_CHECKING, Any, BinaryIO

from construct import (
    Array,
    Byte,
    Check,
    Computed,
    Const,
    ConstructError,
    Container,
    Enum,
    EnumInteger,
    EnumIntegerString,
    FormatField,
    GreedyBytes,
    If,
    Int16ub,
    Int32ub,
    Int64ub,
    ListContainer,
    Prefixed,
    Rebuild,
    Renamed,
    StreamError,
    Struct,
    Switch,
    len_,
    this,
)

from .errors import DecodeError, EncodeError
from .strict import (
    _DECODE_FAILURES,
    Construct,
    ExactBytes,
    ItemsToEnd,
    LittleInteger,
    build_strict,
    compile_strict,
    parse_strict,
    strict_stream,
)
from .zcl import (
    _FRAME_CONTROLS,
    _ZCL_HEADER,
    CLUSTER_COMMANDS,
    GENERAL_COMMANDS,
    ClusterId,
    FrameControl,
    Unparsed,
    ZclFrame,
    frame_control_byte,
)

if TYPE_CHECKING:
    from construct import CodeGen

LAYER = "gbz"
PROFILE_SMART_ENERGY = 0x0109
SECURITY_HEADER = b"\x31\x00\x00\x00\x00"
TAG_LENGTH = 12


# An encrypted component's body after the optional from date-time (primer 8.4 / 5.3).
EncryptedZclFrame = Struct(
    "additional_header_control" / Byte,
    "frame_counter" / Byte,
    *_ZCL_HEADER,
    "ciphered_length" / Rebuild(Int16ub, len_(this.ciphertext) + len(SECURITY_HEADER) + TAG_LENGTH),
    Check(this.ciphered_length >= len(SECURITY_HEADER) + TAG_LENGTH),
    "security_header" / Const(SECURITY_HEADER),
    "ciphertext" / ExactBytes(this.ciphered_length - len(SECURITY_HEADER) - TAG_LENGTH),
    "tag" / ExactBytes(TAG_LENGTH),
)

_CONTROL_LAST = 0x01
_CONTROL_ENCRYPTED = 0x02
_CONTROL_FROM_DATE_TIME = 0x10


def parse_component_control(stream: BinaryIO) -> Container:
    raw = stream.read(1)
    if len(raw) != 1:
        raise StreamError("stream ended inside a GBZ control field")
    return component_control_fields(raw[0])


def _component_control(value: int) -> dict[str, bool | int]:
    return {
        "last_component": bool(value & _CONTROL_LAST),
        "encrypted": bool(value & _CONTROL_ENCRYPTED),
        "from_date_time": bool(value & _CONTROL_FROM_DATE_TIME),
        "reserved": value & 0xEC,
    }


# every control byte's fields, worked out once (a Container is made from the dict)
_COMPONENT_CONTROLS = [_component_control(value) for value in range(256)]


def component_control_fields(value: int) -> Container:
    return Container(_COMPONENT_CONTROLS[value])


def component_control_byte(obj: Any) -> int:
    """The control byte of its named fields (ComponentControl and the hand writer)."""
    value: int = (
        (_CONTROL_LAST if obj.last_component else 0)
        | (_CONTROL_ENCRYPTED if obj.encrypted else 0)
        | (_CONTROL_FROM_DATE_TIME if obj.from_date_time else 0)
        | (obj.get("reserved", 0) & 0xEC)
    )
    return value


class ComponentControl(Construct):
    """GBZ extended header control field: last component (bit 0), encrypted (bit 1), from
    date-time present (bit 4); other bits kept as `reserved` so they round-trip."""

    def _parse(self, stream: BytesIO, context: Container, path: str) -> Container:
        return parse_component_control(stream)

    def _build(self, obj: Any, stream: BytesIO, context: Container, path: str) -> Any:
        stream.write(bytes((component_control_byte(obj),)))
        return obj

    def _sizeof(self, context: Container, path: str) -> int:
        return 1

    def _emitparse(self, code: CodeGen) -> str:
        code.append("from gbcs.gbz import parse_component_control")
        return "parse_component_control(io)"


# Component body = everything the 2-byte length covers: [from date-time] + frame.
_ComponentBody = Struct(
    "from_date_time" / If(this._.control.from_date_time, Int32ub),
    "frame" / If(this._.control.encrypted == False, ZclFrame),  # noqa: E712
    "encrypted_frame" / If(this._.control.encrypted, EncryptedZclFrame),
)

Component = Struct(
    "control" / ComponentControl(),
    "cluster_id" / ClusterId,
    "body" / Prefixed(Int16ub, _ComponentBody),
)

GbzPayload = Struct(
    "profile" / Const(PROFILE_SMART_ENERGY, Int16ub),
    "component_count" / Rebuild(Byte, len_(this.components)),
    "components" / Array(this.component_count, Component),
)


# --------------------------------------------------------------------------------------
# GBZ alerts (CRA 3)
# --------------------------------------------------------------------------------------

_ALERT_HEADER = (
    "profile" / Const(PROFILE_SMART_ENERGY, Int16ub),
    "component_count" / Byte,
    "alert_code" / Int16ub,
    # seconds since 2000-01-01 UTC, big-endian here (primer 3.3)
    "time_stamp" / Int32ub,
)

# 2-byte integrity issue code of the meter integrity alert 81A0 (GBZ form, message 00F2)
MeterIntegrityIssue = Enum(
    Int16ub,
    other=0x0000,
    error_non_volatile_memory=0x0001,
    error_program_execution=0x0002,
    error_program_storage=0x0003,
    error_ram=0x0004,
    error_unexpected_hardware_reset=0x0005,
    error_watchdog=0x0006,
    error_metrology_firmware_verification_failure=0x0007,
    error_measurement_fault=0x0008,
    unspecified_operational_integrity_error=0x0009,
)

ALERT_LAYOUTS = {
    "plain": Struct(*_ALERT_HEADER),
    # 00CD: the future-dated command that was executed: its message code, originator
    # counter, and the ZCL cluster, frame control and command id (a length byte first)
    "future_dated": Struct(
        *_ALERT_HEADER,
        "executed_command"
        / Prefixed(
            Byte,
            Struct(
                "message_code" / Int16ub,
                "originator_counter" / Int64ub,
                "cluster_id" / ClusterId,
                "frame_control" / FrameControl(),
                "command_id" / Byte,
            ),
        ),
    ),
    # 00CF: the hash the GSME calculated over the distributed firmware image, as an A-XDR
    # octet string (09 + length + bytes)
    "firmware_distribution_receipt": Struct(
        *_ALERT_HEADER,
        "hash_tag" / Const(b"\x09"),
        "calculated_manufacturer_hash" / Prefixed(Byte, GreedyBytes),
    ),
    # 00F2: meter integrity issue warning
    "meter_integrity": Struct(*_ALERT_HEADER, "integrity_issue" / MeterIntegrityIssue),
    # GCS53 and other use cases that append ordinary GBZ components
    "components": Struct(*_ALERT_HEADER, "components" / Array(this.component_count, Component)),
}

ALERT_LAYOUT_BY_MESSAGE_CODE = {
    0x00CD: "future_dated",
    0x00CF: "firmware_distribution_receipt",
    0x00F2: "meter_integrity",
    0x008B: "components",
}
ALERT_LAYOUT_BY_ALERT_CODE = {
    0x8F66: "future_dated",
    0x8F67: "future_dated",  # not actioned: assumed the same layout, as in DLMS 00CC
    0x8F72: "firmware_distribution_receipt",
    0x81A0: "meter_integrity",
}

_ALERT_HEADER_SIZE = 9


# --------------------------------------------------------------------------------------
# Fast decoding path
# --------------------------------------------------------------------------------------
# The declarative GbzPayload above is the definition: encode() builds with it, and the
# tests check that this path decodes every RTDS payload (and mutations of them) to the same
# tree. Here the few fixed GBZ / ZCL header bytes are read by hand and only the ZCL payload
# goes through construct, one compiled Switch over every declared command, which keeps a
# many-component payload (GCS16b has 31) fast.

_PAYLOAD_STRUCTS: list[Construct] = []
_GENERAL_INDEX: dict[int, int] = {}  # command id -> index, any cluster
_CLUSTER_INDEX: dict[tuple[int, int, int], int] = {}  # (cluster, direction bit, command id)


def _register(struct: Construct) -> int:
    _PAYLOAD_STRUCTS.append(struct)
    return len(_PAYLOAD_STRUCTS) - 1


for _command_id, _struct in GENERAL_COMMANDS.items():
    _GENERAL_INDEX[_command_id] = _register(_struct)
for _cluster, (_client, _server) in CLUSTER_COMMANDS.items():
    for _direction_bit, _table in enumerate((_client, _server)):
        for _command_id, _struct in _table.items():
            _CLUSTER_INDEX[ClusterId.encmapping[_cluster], _direction_bit, _command_id] = _register(
                _struct
            )
_UNPARSED_INDEX = _register(Unparsed)


@cache
def _payload_dispatch() -> Any:
    """The compiled ZCL payload parser, compiled on first use: compiling every cluster's
    commands costs a quarter of a second, which `import gbcs` should not pay."""
    return compile_strict(
        Switch(this.key, dict(enumerate(_PAYLOAD_STRUCTS)), default=Unparsed), "gbz.payload"
    ).parsefunc


_CLUSTER_NAMES = {
    value: EnumIntegerString.new(value, name) for name, value in ClusterId.encmapping.items()
}


def _payload_index(frame_control: int, cluster: int, command_id: int) -> int:
    """Which declared payload a ZCL frame carries, from the raw frame control byte."""
    if frame_control & 0x03 == 0:  # profile-wide: the same in every cluster
        return _GENERAL_INDEX.get(command_id, _UNPARSED_INDEX)
    if frame_control & 0x07 == 0x01:  # cluster-specific, not manufacturer-specific
        return _CLUSTER_INDEX.get((cluster, frame_control >> 3 & 1, command_id), _UNPARSED_INDEX)
    return _UNPARSED_INDEX


def _fail(message: str, offset: int) -> DecodeError:
    return DecodeError(LAYER, message, offset)


def _zcl_header(
    data: bytes, pos: int, end: int, base: int
) -> tuple[int, int | None, int, int, int]:
    """(frame control byte, manufacturer code, sequence, command id, position after them)."""
    if pos + 3 > end:
        raise _fail("component too short for a ZCL header", base + min(pos, end))
    frame_control = data[pos]
    pos += 1
    manufacturer_code = None
    if frame_control & 0x04:
        if pos + 4 > end:
            raise _fail("component too short for a manufacturer-specific ZCL header", base + pos)
        manufacturer_code = data[pos] | data[pos + 1] << 8
        pos += 2
    return frame_control, manufacturer_code, data[pos], data[pos + 1], pos + 2


def _parse_payload(data: bytes, pos: int, end: int, base: int, index: int) -> Container:
    stream = strict_stream(data[pos:end], pos)
    context = {"key": index, "_params": None, "_index": None}
    try:
        value = _payload_dispatch()(stream, context)
    except _DECODE_FAILURES as exc:
        offset = getattr(exc, "gbcs_offset", None)
        if offset is None:
            offset = getattr(exc, "offset", None)
        if offset is None:
            offset = pos + stream.tell()
        raise _fail(str(exc).split("\n")[0] or type(exc).__name__, base + offset) from None
    if stream.tell() != end - pos:
        raise _fail(
            f"{end - pos - stream.tell()} byte(s) left over in the component",
            base + pos + stream.tell(),
        )
    return value


def _clear_frame(data: bytes, pos: int, end: int, base: int, cluster: int) -> Container:
    if pos + 3 <= end and not data[pos] & 0x04:  # the usual header: no manufacturer code
        frame_control, sequence, command_id = data[pos], data[pos + 1], data[pos + 2]
        manufacturer_code = None
        pos += 3
    else:
        frame_control, manufacturer_code, sequence, command_id, pos = _zcl_header(
            data, pos, end, base
        )
    index = _payload_index(frame_control, cluster, command_id)
    return Container(
        frame_control=Container(_FRAME_CONTROLS[frame_control]),
        manufacturer_code=manufacturer_code,
        sequence=sequence,
        command_id=command_id,
        payload=_parse_payload(data, pos, end, base, index),
    )


def _encrypted_frame(data: bytes, pos: int, end: int, base: int) -> Container:
    if pos + 2 > end:
        raise _fail("component too short for the additional header", base + min(pos, end))
    additional_header_control, frame_counter = data[pos], data[pos + 1]
    frame_control, manufacturer_code, sequence, command_id, pos = _zcl_header(
        data, pos + 2, end, base
    )
    if pos + 2 > end:
        raise _fail("component too short for the ciphered length", base + min(pos, end))
    ciphered_length = data[pos] << 8 | data[pos + 1]
    pos += 2
    if ciphered_length < len(SECURITY_HEADER) + TAG_LENGTH:
        raise _fail(
            f"ciphered length {ciphered_length} is shorter than header and tag", base + pos - 2
        )
    if pos + ciphered_length != end:
        raise _fail(
            f"ciphered length {ciphered_length} disagrees with the component length "
            f"({end - pos} bytes left)",
            base + pos - 2,
        )
    if data[pos : pos + 5] != SECURITY_HEADER:
        raise _fail("encrypted component must start 31 00 00 00 00", base + pos)
    return Container(
        additional_header_control=additional_header_control,
        frame_counter=frame_counter,
        frame_control=Container(_FRAME_CONTROLS[frame_control]),
        manufacturer_code=manufacturer_code,
        sequence=sequence,
        command_id=command_id,
        ciphered_length=ciphered_length,
        security_header=SECURITY_HEADER,
        ciphertext=data[pos + 5 : end - TAG_LENGTH],
        tag=data[end - TAG_LENGTH : end],
    )


def _components(data: bytes, pos: int, count: int, base: int) -> tuple[ListContainer, int]:
    """`count` components from data[pos:]: (list, position after the last)."""
    components = ListContainer()
    size = len(data)
    for _ in range(count):
        if pos + 5 > size:
            raise _fail("content ended inside a GBZ component header", base + min(pos, size))
        control_value = data[pos]
        cluster_value = data[pos + 1] << 8 | data[pos + 2]
        cluster = _CLUSTER_NAMES.get(cluster_value) or EnumInteger(cluster_value)
        length = data[pos + 3] << 8 | data[pos + 4]
        start = pos + 5
        end = start + length
        if end > size:
            raise _fail(
                f"component length {length} overruns the content by {end - size}", base + pos + 3
            )
        body_pos = start
        from_date_time = None
        if control_value & _CONTROL_FROM_DATE_TIME:
            if body_pos + 4 > end:
                raise _fail("component too short for its from date-time", base + body_pos)
            from_date_time = int.from_bytes(data[body_pos : body_pos + 4], "big")
            body_pos += 4
        if control_value & _CONTROL_ENCRYPTED:
            frame, encrypted_frame = None, _encrypted_frame(data, body_pos, end, base)
        else:
            frame = _clear_frame(data, body_pos, end, base, cluster_value)
            encrypted_frame = None
        components.append(
            Container(
                control=Container(_COMPONENT_CONTROLS[control_value]),
                cluster_id=cluster,
                body=Container(
                    from_date_time=from_date_time, frame=frame, encrypted_frame=encrypted_frame
                ),
            )
        )
        pos = end
    return components, pos


def _decode_payload(content: bytes, base: int) -> Container:
    if len(content) < 3:
        raise _fail(
            "GBZ payload shorter than its profile id and component count", base + len(content)
        )
    profile = content[0] << 8 | content[1]
    if profile != PROFILE_SMART_ENERGY:
        raise _fail(f"profile id 0x{profile:04X} is not Smart Energy (0x0109)", base)
    count = content[2]
    components, end = _components(content, 3, count, base)
    if end != len(content):
        raise _fail(f"{len(content) - end} unexpected trailing byte(s)", base + end)
    return Container(profile=profile, component_count=count, components=components)


def _decode_components_alert(content: bytes, base: int) -> Container:
    header = parse_strict(_alert_parser("plain"), content[:_ALERT_HEADER_SIZE], LAYER, base)
    components, end = _components(content, _ALERT_HEADER_SIZE, header.component_count, base)
    if end != len(content):
        raise _fail(f"{len(content) - end} unexpected trailing byte(s)", base + end)
    header.components = components
    return header


@cache
def _alert_parser(layout: str) -> Any:
    """A GBZ alert layout's compiled parser, compiled on first use (as _payload_dispatch)."""
    return compile_strict(ALERT_LAYOUTS[layout], f"gbz.alert.{layout}")


def alert_layout(content: bytes, message_code: int | None = None) -> str:
    """Which GBZ alert layout applies: by message code when known, else by alert code."""
    if message_code is not None and message_code in ALERT_LAYOUT_BY_MESSAGE_CODE:
        return ALERT_LAYOUT_BY_MESSAGE_CODE[message_code]
    if len(content) <= _ALERT_HEADER_SIZE:  # e.g. a generic alert (1000 / 1001): header only
        return "plain"
    alert_code = int.from_bytes(content[3:5], "big")
    if alert_code in ALERT_LAYOUT_BY_ALERT_CODE:
        return ALERT_LAYOUT_BY_ALERT_CODE[alert_code]
    if len(content) > _ALERT_HEADER_SIZE and content[2:3] != b"\x00":
        return "components"
    return "plain"


# --------------------------------------------------------------------------------------
# Public API (called by gbcs.payload)
# --------------------------------------------------------------------------------------


def decode(content: bytes, base: int = 0) -> Container:
    """Decode a GBZ payload (commands and responses); `base` = its offset in the message."""
    return _decode_payload(bytes(content), base)


def encode(value: Container) -> bytes:
    """Bytes of a GBZ payload; component lengths and counts are recomputed. Written by hand
    (only each ZCL payload through its Struct) for values of decode's shapes, else built by
    GbzPayload, the definition, whose errors and leniencies then apply."""
    try:
        written = _write_payload(value)
    except (ConstructError, ValueError, TypeError, KeyError, AttributeError, IndexError):
        written = None  # GbzPayload says what is wrong
    except (OverflowError, struct.error):
        written = None
    return written if written is not None else build_strict(GbzPayload, value, LAYER)


# --- the hand writer encode uses ---------------------------------------------------------
# It writes what GbzPayload builds, choosing each ZCL payload's Struct the way ZclFrame's
# Switches do (frame type, then cluster and direction by name, then command id), and
# returns None for shapes decode never gives (a flag that is not a bool, a cluster or
# direction by number, a field left out). construct's interpreted build of the wrapping
# Structs was two thirds of the GBZ re-encode; tests/gbcs/test_gbz.py holds the writer
# byte-identical to GbzPayload.
_FRAME_TYPE_CASES = {"profile_wide": 0, "cluster_specific": 1}
_DIRECTION_CASES = {"client_to_server": 0, "server_to_client": 1}
_PACK_SHORT = struct.Struct(">H").pack
_PACK_LONG = struct.Struct(">I").pack
_PACK_SHORT_LE = struct.Struct("<H").pack


def _write_payload(value: Any) -> bytes | None:
    if value.get("profile", None) not in (None, PROFILE_SMART_ENERGY):
        return None
    components = value["components"]
    out = [b"\x01\x09", bytes((len(components),))]
    for component in components:
        if not _write_component(out, component):
            return None
    return b"".join(out)


def _write_component(out: list[bytes], component: Any) -> bool:
    control = component["control"]
    if not all(
        type(control[flag]) is bool for flag in ("last_component", "encrypted", "from_date_time")
    ):
        return False
    cluster = component["cluster_id"]
    if isinstance(cluster, str):
        cluster_value = ClusterId.encmapping[cluster]
    elif isinstance(cluster, int):  # an EnumInteger for a cluster GBCS does not name
        cluster_value = int(cluster)
    else:
        return False
    body = component["body"]
    from_date_time, frame, encrypted_frame = (
        body["from_date_time"],
        body["frame"],
        body["encrypted_frame"],
    )
    parts: list[bytes] = []
    if control["from_date_time"]:
        parts.append(_PACK_LONG(from_date_time))
    if control["encrypted"]:
        if not _write_encrypted_frame(parts, encrypted_frame):
            return False
    elif not _write_clear_frame(parts, frame, cluster):
        return False
    written = b"".join(parts)
    out += (
        bytes((component_control_byte(control),)),
        _PACK_SHORT(cluster_value),
        _PACK_SHORT(len(written)),
        written,
    )
    return True


def _write_zcl_header(out: list[bytes], frame: Any) -> None:
    frame_control = frame["frame_control"]
    manufacturer_code = frame["manufacturer_code"]
    out.append(bytes((frame_control_byte(frame_control),)))
    if frame_control["manufacturer_specific"]:
        out.append(_PACK_SHORT_LE(manufacturer_code))
    out.append(bytes((frame["sequence"], frame["command_id"])))


def _write_clear_frame(out: list[bytes], frame: Any, cluster: Any) -> bool:
    _write_zcl_header(out, frame)
    frame_control, command_id = frame["frame_control"], frame["command_id"]
    frame_type = _FRAME_TYPE_CASES.get(frame_control["frame_type"])
    payload_struct: Construct = Unparsed
    if frame_type == 0:
        payload_struct = GENERAL_COMMANDS.get(command_id, Unparsed)
    elif frame_type == 1 and not frame_control["manufacturer_specific"]:
        tables = CLUSTER_COMMANDS.get(cluster)
        if tables is not None:
            direction = _DIRECTION_CASES.get(frame_control["direction"])
            if direction is None:
                return False  # ZclFrame's Switch would write no payload at all
            payload_struct = tables[direction].get(command_id, Unparsed)
    value = frame["payload"]
    writer = _payload_writer(payload_struct)
    written = _write_with(writer, value) if writer is not None else None
    out.append(written if written is not None else payload_struct.build(value))
    return True


_Writer = Callable[[Any], bytes]


class _Decline(Exception):
    """A value the payload writer leaves to the Struct (which builds it or refuses it)."""


@cache
def _payload_writer(layout: Construct) -> _Writer | None:
    """A writer for a ZCL payload Struct made only of fields whose build needs no context,
    None for any other: named integers (FormatField, LittleInteger), Enums over one, bytes
    after their length (Prefixed GreedyBytes), fixed-count Arrays, items to the end of the
    frame and nested Structs of these, and constant Computed names (which write nothing).
    Nearly all of RTDS's ZCL payloads are such; writing them directly is a fraction of
    construct's build, which walks each field with a context. Each writer writes what the
    Struct builds, or declines (tests/gbcs/test_gbz.py holds both on RTDS's payloads with
    every field at its edges and past them)."""
    return _writer(layout)


def _writer(layout: Any) -> _Writer | None:
    kind = type(layout)
    if kind is FormatField:
        pack: _Writer = struct.Struct(layout.fmtstr).pack
        return pack
    if kind is Enum and type(layout.subcon) is FormatField:
        return _enum_writer(layout.encmapping, struct.Struct(layout.subcon.fmtstr).pack)
    if kind is LittleInteger:
        size, signed = layout.size, layout.signed
        return lambda value: int(value).to_bytes(size, "little", signed=signed)
    if kind is Prefixed and type(layout.subcon) is type(GreedyBytes):
        if layout.includelength or type(layout.lengthfield) is not FormatField:
            return None
        return _prefixed_writer(struct.Struct(layout.lengthfield.fmtstr).pack)
    if kind is ItemsToEnd or (kind is Array and type(layout.count) is int):
        item = _writer(layout.subcon)
        count = layout.count if kind is Array else None
        return None if item is None else _items_writer(item, count)
    if kind is Struct:
        return _struct_writer(layout)
    return None


def _enum_writer(mapping: dict[Any, int], pack: _Writer) -> _Writer:
    def write(value: Any) -> bytes:
        return pack(value if isinstance(value, int) else mapping[value])

    return write


def _prefixed_writer(pack: _Writer) -> _Writer:
    def write(value: Any) -> bytes:
        if type(value) is not bytes:  # GreedyBytes takes a bytearray too: the Struct will
            raise _Decline
        return pack(len(value)) + value

    return write


def _items_writer(item: _Writer, count: int | None) -> _Writer:
    def write(value: Any) -> bytes:
        if not isinstance(value, list) or (count is not None and len(value) != count):
            raise _Decline
        return b"".join([item(element) for element in value])

    return write


def _struct_writer(layout: Any) -> _Writer | None:
    fields: list[tuple[str, _Writer]] = []
    for subcon in layout.subcons:
        if type(subcon) is not Renamed or not subcon.name:
            return None
        inner = subcon.subcon
        if type(inner) is Computed:
            if callable(inner.func):  # worked out from the context: leave it to construct
                return None
            continue
        writer = _writer(inner)
        if writer is None:
            return None
        fields.append((subcon.name, writer))

    def write(value: Any) -> bytes:
        if not isinstance(value, dict):
            raise _Decline
        return b"".join([writer(value[name]) for name, writer in fields])

    return write


def _write_with(writer: _Writer, value: Any) -> bytes | None:
    """`writer`'s bytes for `value`, or None where the Struct is to build it (a field
    missing, a name no Enum maps, a number out of range, a type it would convert)."""
    try:
        return writer(value)
    except (_Decline, KeyError, TypeError, ValueError, OverflowError, struct.error):
        return None


def _write_encrypted_frame(out: list[bytes], frame: Any) -> bool:
    header, counter = frame["additional_header_control"], frame["frame_counter"]
    ciphertext, tag = frame["ciphertext"], frame["tag"]
    if (
        frame.get("security_header", None) not in (None, SECURITY_HEADER)
        or type(ciphertext) is not bytes
        or type(tag) is not bytes
        or len(tag) != TAG_LENGTH
    ):
        return False
    out.append(bytes((header, counter)))
    _write_zcl_header(out, frame)
    out += (
        _PACK_SHORT(len(ciphertext) + len(SECURITY_HEADER) + TAG_LENGTH),
        SECURITY_HEADER,
        ciphertext,
        tag,
    )
    return True


def decode_alert(content: bytes, base: int = 0, message_code: int | None = None) -> Container:
    """Decode a GBZ alert payload; the result's `layout` names the alert-specific part."""
    content = bytes(content)
    if len(content) < _ALERT_HEADER_SIZE:
        # let the parser name the exact byte where it ran out
        parse_strict(_alert_parser("plain"), content, LAYER, base)
    layout = alert_layout(content, message_code)
    if layout == "components":
        value = _decode_components_alert(content, base)
    else:
        value = parse_strict(_alert_parser(layout), content, LAYER, base)
    value.layout = layout
    return value


def encode_alert(value: Container) -> bytes:
    """Bytes of a GBZ alert payload, using the layout named in `value.layout`."""
    layout = value.get("layout") or "plain"
    if layout not in ALERT_LAYOUTS:
        raise EncodeError(LAYER, f"unknown GBZ alert layout {layout!r}")
    return build_strict(ALERT_LAYOUTS[layout], value, LAYER)


def decode_plaintext(component: Container, plaintext: bytes, base: int = 0) -> Container:
    """The ZCL payload of an encrypted component, once decrypted: the same structured
    command the clear frame would hold (its header is in the component's encrypted_frame)."""
    frame = component.body.encrypted_frame
    if frame is None:
        raise DecodeError(LAYER, "component is not encrypted", base)
    try:
        frame_control = FrameControl().build(frame.frame_control)[0]
        cluster = int.from_bytes(ClusterId.build(component.cluster_id), "big")
    except (ConstructError, KeyError, AttributeError, TypeError, ValueError) as exc:
        raise DecodeError(LAYER, f"component header unusable: {exc}", base) from None
    index = _payload_index(frame_control, cluster, frame.command_id)
    plaintext = bytes(plaintext)
    return _parse_payload(plaintext, 0, len(plaintext), base, index)


def encrypted_fragments(value: Container) -> list[bytes]:
    """Every encrypted component as on the wire: 31 00 00 00 00 + ciphertext + 12-byte tag."""
    fragments: list[bytes] = []
    for component in value.get("components") or ():
        encrypted = component.body.encrypted_frame
        if encrypted is not None:
            fragments.append(SECURITY_HEADER + encrypted.ciphertext + encrypted.tag)
    return fragments
