# A minimal ZigBee Cluster Library codec: the frame header, the data types the switch's
# attributes use, and the general (profile-wide) commands it sends and answers.
#
# ZCL rev 6+ (07-5123), 2.4 "General ZCL frame format" and 2.5 "General command frames";
# data type ids from table 2-10. Everything on the air is little-endian.
from micropython import const
import struct

# Frame control (2.4.1.1)
FC_CLUSTER = const(0x01)  # frame type: cluster-specific (else profile-wide/global)
FC_MANUFACTURER = const(0x04)
FC_SERVER_TO_CLIENT = const(0x08)
FC_DISABLE_DEFAULT_RSP = const(0x10)

# General commands (2.5)
READ_ATTRIBUTES = const(0x00)
READ_ATTRIBUTES_RSP = const(0x01)
WRITE_ATTRIBUTES = const(0x02)
WRITE_ATTRIBUTES_UNDIVIDED = const(0x03)
WRITE_ATTRIBUTES_RSP = const(0x04)
WRITE_ATTRIBUTES_NO_RSP = const(0x05)
REPORT_ATTRIBUTES = const(0x0A)
DEFAULT_RSP = const(0x0B)

# Status codes (2.6.3, table 2-12)
SUCCESS = const(0x00)
FAILURE = const(0x01)
NOT_AUTHORIZED = const(0x7E)
MALFORMED_COMMAND = const(0x80)
UNSUP_CLUSTER_COMMAND = const(0x81)
UNSUP_GENERAL_COMMAND = const(0x82)
UNSUP_MANUF_CLUSTER_COMMAND = const(0x83)
UNSUP_MANUF_GENERAL_COMMAND = const(0x84)
INVALID_FIELD = const(0x85)
UNSUPPORTED_ATTRIBUTE = const(0x86)
INVALID_VALUE = const(0x87)
READ_ONLY = const(0x88)
NOT_FOUND = const(0x8B)
INVALID_DATA_TYPE = const(0x8D)

# Data types (table 2-10)
T_BOOL = const(0x10)
T_BITMAP8 = const(0x18)
T_BITMAP16 = const(0x19)
T_UINT8 = const(0x20)
T_UINT16 = const(0x21)
T_UINT32 = const(0x23)
T_INT8 = const(0x28)
T_INT16 = const(0x29)
T_ENUM8 = const(0x30)
T_ENUM16 = const(0x31)
T_OCTET_STRING = const(0x41)
T_CHAR_STRING = const(0x42)
T_UTC_TIME = const(0xE2)

# struct format per fixed-width type; strings are handled apart.
_FIXED = {
    T_BOOL: "<B", T_BITMAP8: "<B", T_UINT8: "<B", T_ENUM8: "<B", T_INT8: "<b",
    T_BITMAP16: "<H", T_UINT16: "<H", T_ENUM16: "<H", T_INT16: "<h",
    T_UINT32: "<I", T_UTC_TIME: "<I",
}


class ZclError(ValueError):
    """A ZCL frame or field that cannot be decoded; status is the ZCL status to answer with."""

    def __init__(self, message, status=MALFORMED_COMMAND):
        super().__init__(message)
        self.status = status


def parse_header(frame):
    """(frame_control, manufacturer or None, tsn, command_id, payload_offset)."""
    if len(frame) < 3:
        raise ZclError("short header")
    fc = frame[0]
    if fc & FC_MANUFACTURER:
        if len(frame) < 5:
            raise ZclError("short header")
        return fc, frame[1] | (frame[2] << 8), frame[3], frame[4], 5
    return fc, None, frame[1], frame[2], 3


def header(frame_control, tsn, command_id, manufacturer=None):
    if manufacturer is None:
        return bytes((frame_control, tsn, command_id))
    return struct.pack("<BHBB", frame_control | FC_MANUFACTURER, manufacturer, tsn, command_id)


def type_size(type_id):
    """Size in bytes of a fixed-width type, or None for strings/unknown."""
    fmt = _FIXED.get(type_id)
    return struct.calcsize(fmt) if fmt else None


def encode_value(type_id, value):
    fmt = _FIXED.get(type_id)
    if fmt is not None:
        if type_id == T_BOOL:
            value = 1 if value else 0
        return struct.pack(fmt, value)
    if type_id == T_CHAR_STRING or type_id == T_OCTET_STRING:
        raw = value.encode() if isinstance(value, str) else bytes(value)
        if len(raw) > 254:
            raise ZclError("string too long", INVALID_VALUE)
        return bytes((len(raw),)) + raw
    raise ZclError("type", INVALID_DATA_TYPE)


def decode_value(type_id, data, offset):
    """(value, next_offset); char strings come back as str, octet strings as bytes."""
    fmt = _FIXED.get(type_id)
    if fmt is not None:
        size = struct.calcsize(fmt)
        if offset + size > len(data):
            raise ZclError("short value")
        value = struct.unpack(fmt, data[offset:offset + size])[0]
        if type_id == T_BOOL:
            if value > 1:
                raise ZclError("bool", INVALID_VALUE)
            value = value == 1
        return value, offset + size
    if type_id == T_CHAR_STRING or type_id == T_OCTET_STRING:
        if offset >= len(data):
            raise ZclError("short string")
        n = data[offset]
        if n == 0xFF:  # the "invalid" string: treat as empty
            return ("" if type_id == T_CHAR_STRING else b""), offset + 1
        end = offset + 1 + n
        if end > len(data):
            raise ZclError("short string")
        raw = bytes(data[offset + 1:end])
        if type_id == T_CHAR_STRING:
            try:
                return raw.decode(), end
            except UnicodeError:
                raise ZclError("string", INVALID_VALUE)
        return raw, end
    raise ZclError("type", INVALID_DATA_TYPE)


def parse_read_attributes(payload):
    """Attribute ids of a Read Attributes command (2.5.1)."""
    if len(payload) % 2:
        raise ZclError("odd attribute list")
    return [payload[i] | (payload[i + 1] << 8) for i in range(0, len(payload), 2)]


def read_attributes(tsn, attribute_ids, frame_control=0):
    out = bytearray(header(frame_control, tsn, READ_ATTRIBUTES))
    for a in attribute_ids:
        out += struct.pack("<H", a)
    return bytes(out)


def read_attributes_rsp(tsn, records, frame_control=FC_SERVER_TO_CLIENT | FC_DISABLE_DEFAULT_RSP):
    """records: (attribute_id, status, type_id, value); type and value only on SUCCESS."""
    out = bytearray(header(frame_control, tsn, READ_ATTRIBUTES_RSP))
    for attr, status, type_id, value in records:
        out += struct.pack("<HB", attr, status)
        if status == SUCCESS:
            out.append(type_id)
            out += encode_value(type_id, value)
    return bytes(out)


def parse_read_attributes_rsp(payload):
    records = []
    i = 0
    while i < len(payload):
        if i + 3 > len(payload):
            raise ZclError("short record")
        attr = payload[i] | (payload[i + 1] << 8)
        status = payload[i + 2]
        i += 3
        if status != SUCCESS:
            records.append((attr, status, None, None))
            continue
        if i >= len(payload):
            raise ZclError("short record")
        type_id = payload[i]
        value, i = decode_value(type_id, payload, i + 1)
        records.append((attr, status, type_id, value))
    return records


def parse_attribute_records(payload):
    """(attribute_id, type_id, value) records of Write Attributes and Report Attributes."""
    records = []
    i = 0
    while i < len(payload):
        if i + 3 > len(payload):
            raise ZclError("short record")
        attr = payload[i] | (payload[i + 1] << 8)
        type_id = payload[i + 2]
        value, i = decode_value(type_id, payload, i + 3)
        records.append((attr, type_id, value))
    return records


def attribute_records(tsn, command_id, records, frame_control):
    out = bytearray(header(frame_control, tsn, command_id))
    for attr, type_id, value in records:
        out += struct.pack("<HB", attr, type_id)
        out += encode_value(type_id, value)
    return bytes(out)


def report_attributes(tsn, records, frame_control=FC_SERVER_TO_CLIENT | FC_DISABLE_DEFAULT_RSP):
    return attribute_records(tsn, REPORT_ATTRIBUTES, records, frame_control)


def write_attributes_rsp(tsn, failures, frame_control=FC_SERVER_TO_CLIENT | FC_DISABLE_DEFAULT_RSP):
    """failures: (status, attribute_id); none means one SUCCESS record (2.5.5)."""
    out = bytearray(header(frame_control, tsn, WRITE_ATTRIBUTES_RSP))
    if not failures:
        out.append(SUCCESS)
    for status, attr in failures:
        out += struct.pack("<BH", status, attr)
    return bytes(out)


def default_rsp(tsn, command_id, status, frame_control=FC_SERVER_TO_CLIENT | FC_DISABLE_DEFAULT_RSP,
                manufacturer=None):
    return header(frame_control, tsn, DEFAULT_RSP, manufacturer) + bytes((command_id, status))


def parse_default_rsp(payload):
    if len(payload) != 2:
        raise ZclError("default response length")
    return payload[0], payload[1]
