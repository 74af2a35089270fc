"""Names for the coded values of a decoded message, added when it is rendered.

decode() keeps numbers (it is tuned for throughput, bench/gbcs_throughput.py); this module
turns a rendered tree's codes into {"code": number, "name": text} pairs and its times into
ISO 8601 strings (UTC, "Z"), using the tables of each layer: the use-case registry, alert
codes, COSEM classes and objects, DLMS results, ZCL clusters, commands, attributes and
statuses, and the X.509 fields of certificates inside ASN.1 payloads. Every function takes
and returns JSON-able values (the output of render.plain), so the decoded Message is never
changed.
"""

from __future__ import annotations

import datetime as _dt
import re
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.utils import CryptographyDeprecationWarning

from . import alerts, cosem, credentials, dlms, obis, zcl
from .gbz import MeterIntegrityIssue
from .primitives import GBCS_EPOCH
from .usecases import USE_CASES
from .zcl import ClusterId

CRA_NAMES = {1: "command", 2: "response", 3: "alert"}
_CRA_CODES = {name: code for code, name in CRA_NAMES.items()}
ACCESS_RESULT_CODES: dict[str, int] = dict(dlms.AccessResult.encmapping)
ZCL_STATUS_CODES: dict[str, int] = dict(zcl.ZclStatus.encmapping)
CLUSTER_CODES: dict[str, int] = dict(ClusterId.encmapping)
_UNSPECIFIED_DEVIATION = -0x8000


def coded(code: int | str, name: str | None) -> dict[str, Any]:
    """The one shape every named code takes in JSON."""
    return {"code": code, "name": name}


# --- times ---------------------------------------------------------------------------------


def iso(when: _dt.datetime) -> str:
    """ISO 8601 in UTC with a Z, hundredths kept when there are any."""
    when = when.astimezone(_dt.UTC)
    text = when.strftime("%Y-%m-%dT%H:%M:%S")
    if when.microsecond:
        text += f".{when.microsecond // 10000:02d}"
    return text + "Z"


def iso_seconds2000(seconds: int) -> str:
    """GBZ and ZCL times: seconds since 2000-01-01 00:00:00 UTC."""
    return iso(GBCS_EPOCH + _dt.timedelta(seconds=seconds))


def cosem_datetime_text(raw: bytes) -> str | None:
    """A 12-byte COSEM date-time as text: ISO 8601 when fully specified, "now" (all
    date and time bytes 00) or "never" (all FF) for execution times, and for a wildcard
    pattern the ISO layout with '*' for each unspecified field. None if the bytes are not
    a COSEM date-time at all."""
    if len(raw) != 12:
        return None
    year = int.from_bytes(raw[0:2], "big")
    month, day, dow, hour, minute, second, hundredths = raw[2:9]
    deviation = int.from_bytes(raw[9:11], "big", signed=True)
    if raw[:9] == bytes(9):
        return "now"
    if raw[:9] == b"\xff" * 9:
        return "never"
    if not (
        (1 <= month <= 12 or month >= 0xFD)
        and (1 <= day <= 31 or day >= 0xFD)
        and (1 <= dow <= 7 or dow == 0xFF)
        and (hour < 24 or hour == 0xFF)
        and (minute < 60 or minute == 0xFF)
        and (second < 60 or second == 0xFF)
        and (hundredths < 100 or hundredths == 0xFF)
        and (deviation == _UNSPECIFIED_DEVIATION or -720 <= deviation <= 720)
    ):
        return None
    fields = (year, month, day, hour, minute, second)
    if year != 0xFFFF and month <= 12 and day <= 31 and 0xFF not in fields[3:]:
        try:
            when = _dt.datetime(
                year, month, day, hour, minute, second, (hundredths % 0xFF) * 10000, _dt.UTC
            )
        except ValueError:
            return None
        if deviation != _UNSPECIFIED_DEVIATION:
            when += _dt.timedelta(minutes=deviation)  # local time + deviation = UTC
        return iso(when)

    def part(value: int, width: int, wildcard: int) -> str:
        return "*" if value >= wildcard else f"{value:0{width}d}"

    return (
        f"{part(year, 4, 0xFFFF)}-{part(month, 2, 0xFD)}-{part(day, 2, 0xFD)}"
        f"T{part(hour, 2, 0xFF)}:{part(minute, 2, 0xFF)}:{part(second, 2, 0xFF)}"
    )


def cosem_fields_text(value: Mapping[str, Any]) -> str | None:
    """The text of a COSEM date-time the decoder gives as named fields."""
    raw = (
        int(value["year"]).to_bytes(2, "big")
        + bytes(
            int(value[k])
            for k in ("month", "day", "day_of_week", "hour", "minute", "second", "hundredths")
        )
        + int(value["deviation"]).to_bytes(2, "big", signed=True)
        + bytes((int(value["clock_status"]),))
    )
    return cosem_datetime_text(raw)


_GENERALIZED_TIME = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$")


def generalized_time_text(text: str) -> str:
    """ASN.1 GeneralizedTime YYYYMMDDhhmmssZ as ISO 8601 (unchanged if it is not one)."""
    match = _GENERALIZED_TIME.match(text)
    if match is None:
        return text
    y, mo, d, h, mi, s = match.groups()
    return f"{y}-{mo}-{d}T{h}:{mi}:{s}Z"


# --- codes -----------------------------------------------------------------------------------


def message_code(code: int) -> dict[str, Any]:
    use_case = USE_CASES.get(code)
    return coded(code, None if use_case is None else use_case.name)


def alert_code(code: int) -> dict[str, Any]:
    return coded(code, alerts.ALERT_CODES.get(code))


def obis_code(raw: bytes, class_id: int | None = None) -> dict[str, Any]:
    return coded(obis.obis_text(raw), obis.object_name(raw, class_id))


def _hex_bytes(value: object) -> bytes | None:
    if isinstance(value, str):
        try:
            return bytes.fromhex(value)
        except ValueError:
            return None
    return None


# --- DLMS ------------------------------------------------------------------------------------


def invoke_id_fields(value: int) -> dict[str, Any]:
    """long-invoke-id-and-priority split as the DLMS Green Book lays it out: invoke id in
    bits 0-23 (GBCS: the low 24 bits of the originator counter) and four flag bits."""
    return {
        "invoke_id": value & 0xFFFFFF,
        "priority_high": bool(value >> 31 & 1),
        "service_class_confirmed": bool(value >> 30 & 1),
        "break_on_error": bool(value >> 29 & 1),
        "self_descriptive": bool(value >> 28 & 1),
    }


def _specification(spec: dict[str, Any]) -> dict[str, Any]:
    class_id = spec.get("class_id")
    out = dict(spec)
    if isinstance(class_id, int):
        out["class_id"] = coded(class_id, cosem.class_name(class_id))
    raw = _hex_bytes(spec.get("instance_id"))
    if raw is not None and len(raw) == obis.OBIS_LENGTH:
        out["instance_id"] = obis_code(raw, class_id if isinstance(class_id, int) else None)
    member = spec.get("attribute_or_method")
    if isinstance(member, int) and isinstance(class_id, int):
        if spec.get("kind") == "action":
            out["attribute_or_method"] = coded(member, cosem.method_name(class_id, member))
        else:
            out["attribute_or_method"] = coded(member, cosem.attribute_name(class_id, member))
    if isinstance(spec.get("selection"), dict):
        out["selection"] = name_axdr(spec["selection"])
        described = range_descriptor(spec["selection"])
        if described is not None:
            out["selection"]["range"] = described
    return out


def range_descriptor(selection: dict[str, Any]) -> dict[str, Any] | None:
    """Selective access by range (selector 1, Blue Book profile generic): the restricting
    object and the from / to values, as times when they are double-long-unsigned (GBCS log
    reads give seconds since 2000, primer 9.6)."""
    parameters = selection.get("parameters")
    if selection.get("selector") != 1 or not isinstance(parameters, dict):
        return None
    items = parameters.get("value")
    if parameters.get("type") != "structure" or not isinstance(items, list) or len(items) != 4:
        return None
    restricting, start, end, _selected = items
    fields = restricting.get("value") if isinstance(restricting, dict) else None
    if not isinstance(fields, list) or len(fields) != 4:
        return None
    class_id, logical_name, attribute, data_index = (f.get("value") for f in fields)
    raw = _hex_bytes(logical_name)
    if not isinstance(class_id, int) or raw is None or len(raw) != obis.OBIS_LENGTH:
        return None
    out: dict[str, Any] = {
        "restricting_object": {
            "class_id": coded(class_id, cosem.class_name(class_id)),
            "instance_id": obis_code(raw, class_id),
            "attribute": coded(attribute, cosem.attribute_name(class_id, int(attribute or 0))),
            "data_index": data_index,
        }
    }
    for key, item in (("from", start), ("to", end)):
        value = item.get("value") if isinstance(item, dict) else None
        if isinstance(item, dict) and item.get("type") == "double-long-unsigned":
            out[key] = iso_seconds2000(int(value or 0))
        else:
            out[key] = value
    return out


def _result(entry: dict[str, Any]) -> dict[str, Any]:
    out = dict(entry)
    result = entry.get("result")
    if isinstance(result, str):
        out["result"] = coded(ACCESS_RESULT_CODES.get(result, -1), result)
    elif isinstance(result, int):
        out["result"] = coded(result, None)
    return out


# Log reads whose buffers are compact arrays of entries: every log's first column is its
# time (double-long-unsigned seconds since 2000); event and security logs' second column is
# the event code (GBCS alert codes); the boost log's second column is the boost's end time.
EVENT_LOGS = frozenset((0x0048, 0x0049, 0x0093, 0x0094, 0x00B9, 0x010B))
SECOND_COLUMN_TIMES = frozenset((0x005E,))


def _log_entries(value: dict[str, Any], message_code_value: int | None) -> list[Any] | None:
    """A compact array's entries with their times (and event codes) named, for a log whose
    entries start with a double-long-unsigned time; None for any other compact array."""
    description = value.get("description")
    entries = value.get("entries")
    if not isinstance(description, dict) or not isinstance(entries, list):
        return None
    elements = description.get("elements") or ()
    types = [e.get("type") if isinstance(e, dict) else None for e in elements]
    if not types or types[0] != "double-long-unsigned":
        return None
    named = []
    for entry in entries:
        if not isinstance(entry, list) or not entry or not isinstance(entry[0], int):
            return None
        row: list[Any] = list(entry)
        row[0] = iso_seconds2000(entry[0])
        if len(row) > 1 and isinstance(row[1], int):
            if message_code_value in SECOND_COLUMN_TIMES and types[1] == "double-long-unsigned":
                row[1] = iso_seconds2000(row[1])
            elif message_code_value in EVENT_LOGS and row[1] in alerts.ALERT_CODES:
                row[1] = alert_code(row[1])
        named.append(row)
    return named


def name_axdr(value: Any, message_code_value: int | None = None) -> Any:
    """A-XDR data with its times and object references named: a 12-byte octet string
    that is a COSEM date-time gains "date_time", a 6-byte one that is a known COSEM
    object gains "obis", a log's compact array gains "named_entries" (times in ISO 8601,
    event codes named)."""
    if isinstance(value, list):
        return [name_axdr(v, message_code_value) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: name_axdr(v, message_code_value) for k, v in value.items()}
    kind = value.get("type")
    if kind == "octet-string":
        raw = _hex_bytes(value.get("value"))
        if raw is not None and len(raw) == 12:
            text = cosem_datetime_text(raw)
            if text is not None:
                out["date_time"] = text
        elif raw is not None and len(raw) == obis.OBIS_LENGTH and obis.object_name(raw):
            out["obis"] = obis_code(raw)
    elif kind == "compact-array" and isinstance(value.get("value"), dict):
        named = _log_entries(value["value"], message_code_value)
        if named is not None:
            out["value"] = {**out["value"], "named_entries": named}
    return out


def name_dlms(payload: dict[str, Any], message_code_value: int, items: object) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in payload.items():  # the invoke id and its flags beside the raw field
        out[key] = value
        if key == "long_invoke_id_and_priority" and isinstance(value, int):
            out["invoke"] = invoke_id_fields(value)
    if isinstance(payload.get("date_time"), dict):
        out["date_time"] = cosem_fields_text(payload["date_time"])
    for key in ("specifications", "echoed_specifications"):
        if isinstance(payload.get(key), list):
            out[key] = [_specification(s) for s in payload[key]]
    if isinstance(payload.get("results"), list):
        out["results"] = [_result(r) for r in payload["results"]]
    for key in ("data", "notification"):
        if key in payload:
            out[key] = name_axdr(payload[key], message_code_value)
    if items is not None:  # a data-notification: the alert's own fields, named
        out["alert"] = _dlms_alert(message_code_value, items)
    return out


def _dlms_alert(message_code_value: int, items: object) -> dict[str, Any]:
    fields = alerts.interpret_dlms(message_code_value, items if isinstance(items, list) else [])
    out: dict[str, Any] = {}
    for key, value in fields.items():
        if str(key).startswith("_") or key in ("alert_name", "additional_items"):
            continue
        if key == "alert_code" and isinstance(value, int):
            out["alert_code"] = alert_code(value)
        elif isinstance(value, bytes | bytearray) and len(value) == 12:
            out[key] = cosem_datetime_text(bytes(value)) or bytes(value).hex().upper()
        elif key == "executed_command" and isinstance(value, dict):
            command = dict(value)
            command["message_code"] = message_code(int(value["message_code"]))
            class_id = int(value["class_id"])
            command["class_id"] = coded(class_id, cosem.class_name(class_id))
            raw = obis.obis_from_text(str(value["instance_id"]))
            command["instance_id"] = obis_code(raw, class_id)
            attribute = int(value["attribute_id"])
            command["attribute_id"] = coded(attribute, cosem.attribute_name(class_id, attribute))
            out[key] = command
        elif isinstance(value, bytes | bytearray):
            out[key] = bytes(value).hex().upper()
        elif isinstance(value, dict):
            out[key] = {str(k): v for k, v in value.items() if not str(k).startswith("_")}
        else:
            out[key] = value
    return out


# --- GBZ and ZCL -----------------------------------------------------------------------------

_ZCL_TIME_TYPES = frozenset(("utc_time",))


def _utc_paths(construct: object, path: tuple[str, ...] = ()) -> set[tuple[str, ...]]:
    """The field paths (names, arrays skipped) under a ZCL command layout that are UTCTime."""
    found: set[tuple[str, ...]] = set()
    name = getattr(construct, "name", None)
    sub = getattr(construct, "subcon", None)
    if isinstance(name, str) and sub is not None:  # a Renamed field
        if sub is zcl.UtcTime:
            return {(*path, name)}
        return _utc_paths(sub, (*path, name))
    for child in getattr(construct, "subcons", ()) or ():
        found |= _utc_paths(child, path)
    if sub is not None:
        found |= _utc_paths(sub, path)
    for case in (getattr(construct, "cases", None) or {}).values():
        found |= _utc_paths(case, path)
    return found


def _command_utc_paths() -> dict[str, frozenset[tuple[str, ...]]]:
    tables: list[dict[int, Any]] = [zcl.GENERAL_COMMANDS]
    for client, server in zcl.CLUSTER_COMMANDS.values():
        tables += [client, server]
    paths: dict[str, set[tuple[str, ...]]] = {}
    for table in tables:
        for struct in table.values():
            command = struct.subcons[0].subcon.func  # Computed(name), as zcl.command_name
            paths.setdefault(str(command), set()).update(_utc_paths(struct))
    return {command: frozenset(found) for command, found in paths.items()}


# ZCL command name -> the paths of its UTCTime fields (seconds since 2000, primer 3.3)
UTC_PATHS = _command_utc_paths()


def _utc_text(value: int) -> str:
    """A ZCL UTCTime: 0 means now (start immediately), FFFFFFFF not set."""
    if value == 0:
        return "now"
    if value == 0xFFFFFFFF:
        return "never"
    return iso_seconds2000(value)


def _cluster(value: object) -> tuple[str | None, dict[str, Any] | object]:
    if isinstance(value, str):
        return value, coded(CLUSTER_CODES.get(value, -1), value)
    if isinstance(value, int):
        return None, coded(value, None)
    return None, value


def _zcl_payload(
    cluster: str | None,
    payload: dict[str, Any],
    times: frozenset[tuple[str, ...]] | None = None,
    path: tuple[str, ...] = (),
) -> dict[str, Any]:
    if times is None:
        times = UTC_PATHS.get(str(payload.get("command")), frozenset())
    out: dict[str, Any] = {}
    for key, value in payload.items():
        here = (*path, key)
        if key == "records" and isinstance(value, list):
            out[key] = [_zcl_record(cluster, r) if isinstance(r, dict) else r for r in value]
        elif key == "status" and isinstance(value, str):
            out[key] = coded(ZCL_STATUS_CODES.get(value, -1), value)
        elif here in times and isinstance(value, int):
            out[key] = _utc_text(value)
        elif isinstance(value, dict):
            out[key] = _zcl_payload(cluster, value, times, here)
        elif isinstance(value, list):
            out[key] = [
                _zcl_payload(cluster, v, times, here) if isinstance(v, dict) else v for v in value
            ]
        else:
            out[key] = value
    return out


def _zcl_record(cluster: str | None, record: dict[str, Any]) -> dict[str, Any]:
    out = _zcl_payload(
        cluster, {k: v for k, v in record.items() if k != "attribute_id"}, frozenset()
    )
    attribute = record.get("attribute_id")
    if isinstance(attribute, int):
        name = zcl.attribute_name(cluster or "", attribute)
        out = {"attribute_id": coded(attribute, name), **out}
    if record.get("data_type") in _ZCL_TIME_TYPES and isinstance(record.get("value"), int):
        out["value"] = _utc_text(record["value"])
    return out


def name_zcl_payload(cluster: str | None, payload: dict[str, Any]) -> dict[str, Any]:
    """A ZCL command payload (clear, or a decrypted component's) with ids and times named."""
    return _zcl_payload(cluster, payload)


def name_zcl_frame(cluster: str | None, frame: dict[str, Any]) -> dict[str, Any]:
    out = dict(frame)
    control = frame.get("frame_control")
    command = frame.get("command_id")
    if isinstance(control, dict) and isinstance(command, int):
        name = zcl.command_name(
            cluster or "", str(control.get("frame_type")), str(control.get("direction")), command
        )
        out["command_id"] = coded(command, None if name == "unknown" else name)
    if isinstance(frame.get("payload"), dict):
        out["payload"] = _zcl_payload(cluster, frame["payload"])
    return out


def _component(component: dict[str, Any]) -> dict[str, Any]:
    out = dict(component)
    cluster, out["cluster_id"] = _cluster(component.get("cluster_id"))
    body = component.get("body")
    if isinstance(body, dict):
        body = dict(body)
        if isinstance(body.get("from_date_time"), int):
            body["from_date_time"] = iso_seconds2000(body["from_date_time"])
        if isinstance(body.get("frame"), dict):
            body["frame"] = name_zcl_frame(cluster, body["frame"])
        out["body"] = body
    return out


def name_gbz(payload: dict[str, Any]) -> dict[str, Any]:
    out = dict(payload)
    if isinstance(payload.get("components"), list):
        out["components"] = [_component(c) for c in payload["components"]]
    if isinstance(payload.get("alert_code"), int):
        out["alert_code"] = alert_code(payload["alert_code"])
    if isinstance(payload.get("time_stamp"), int):
        out["time_stamp"] = iso_seconds2000(payload["time_stamp"])
    executed = payload.get("executed_command")
    if isinstance(executed, dict):
        executed = dict(executed)
        if isinstance(executed.get("message_code"), int):
            executed["message_code"] = message_code(executed["message_code"])
        cluster, executed["cluster_id"] = _cluster(executed.get("cluster_id"))
        out["executed_command"] = name_zcl_frame(cluster, executed)
    if isinstance(payload.get("integrity_issue"), str):
        issue = payload["integrity_issue"]
        out["integrity_issue"] = coded(_INTEGRITY_CODES.get(issue, -1), issue)
    return out


_INTEGRITY_CODES: dict[str, int] = dict(MeterIntegrityIssue.encmapping)


# --- ASN.1 -----------------------------------------------------------------------------------


def certificate_fields(der: bytes) -> dict[str, Any] | None:
    """An X.509 certificate's named fields (GBCS organisation or device certificate), or
    None when the bytes are not a certificate. cryptography parses lazily, so a field it
    cannot read (a tampered extension, an unknown key) is reported as unreadable by name
    rather than failing the whole view."""
    with warnings.catch_warnings():
        # cryptography warns about (and will one day refuse) a negative serial number; a
        # tampered certificate is shown, not warned about
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        try:
            cert = x509.load_der_x509_certificate(der)
        except (ValueError, x509.InvalidVersion, UnsupportedAlgorithm):
            return None
    readers: dict[str, Callable[[], Any]] = {
        "serial": lambda: f"{cert.serial_number:X}",
        "subject": lambda: _name(cert.subject),
        "issuer": lambda: _name(cert.issuer),
        "validity": lambda: {
            "not_before": iso(cert.not_valid_before_utc),
            "not_after": iso(cert.not_valid_after_utc),
        },
        "key_usage": lambda: _key_usage(cert),
        "device_identity": lambda: _device_identity(cert),
        "public_key": lambda: _public_key(cert),
    }
    out: dict[str, Any] = {}
    unreadable = []
    for key, read in readers.items():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", CryptographyDeprecationWarning)
                value = read()
        except Exception:  # noqa: BLE001 - any parse failure of a field inside cryptography
            unreadable.append(key)
            continue
        if value is not None:
            out[key] = value
    if unreadable:
        out["unreadable"] = unreadable
    return out


def _key_usage(cert: x509.Certificate) -> list[str]:
    try:
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        return []
    names = ("digital_signature", "key_agreement", "key_cert_sign", "crl_sign")
    return [name for name in names if getattr(usage, name)]


def _public_key(cert: x509.Certificate) -> str | None:
    key = cert.public_key()
    return f"EC {key.curve.name}" if isinstance(key, ec.EllipticCurvePublicKey) else None


_ROLE_NAMES = {
    0: "root",
    1: "recovery",
    2: "supplier",
    3: "network_operator",
    4: "access_control_broker",
    5: "transitional_cos",
    6: "wan_provider",
    7: "issuing_authority",
    8: "load_controller",
    127: "other",
}
_UNIQUE_IDENTIFIER = x509.ObjectIdentifier("2.5.4.45")
_HARDWARE_MODULE_NAME = x509.ObjectIdentifier("1.3.6.1.5.5.7.8.4")


def _name(name: x509.Name) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for attribute in name:
        value = attribute.value
        if attribute.oid == _UNIQUE_IDENTIFIER and isinstance(value, bytes):
            out["unique_identifier"] = value[-8:].hex().upper()  # BIT STRING 00 + EUI
        elif attribute.oid == x509.NameOID.ORGANIZATIONAL_UNIT_NAME and isinstance(value, str):
            try:
                role = int(value, 16)
            except ValueError:
                out["organizational_unit"] = value
            else:
                out["role"] = coded(role, _ROLE_NAMES.get(role))
        else:
            key = attribute.oid._name if attribute.oid._name != "Unknown OID" else None
            out[key or attribute.oid.dotted_string] = (
                value if isinstance(value, str) else bytes(value).hex().upper()
            )
    return out


def _device_identity(cert: x509.Certificate) -> dict[str, Any] | None:
    """A device certificate names its device in subjectAltName: hardwareModuleName with the
    EUI as hwSerialNum (primer 6.3); an organisation's in its subject's unique identifier."""
    try:
        names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        unique = _name(cert.subject).get("unique_identifier")
        return None if unique is None else {"eui": unique}
    for other in names.get_values_for_type(x509.OtherName):
        if other.type_id == _HARDWARE_MODULE_NAME:
            der = other.value
            # SEQUENCE { OID hwType, OCTET STRING hwSerialNum }: the serial is the last 8 bytes
            return {"eui": der[-8:].hex().upper(), "hardware_module_name": der.hex().upper()}
    return None


def _asn1_value(key: str, value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _asn1_value(k, v) for k, v in value.items()}
    if isinstance(value, list):
        return [_asn1_value(key, v) for v in value]
    if isinstance(value, str):
        if _GENERALIZED_TIME.match(value):
            return generalized_time_text(value)
        raw = _hex_bytes(value)
        if raw is not None and raw[:1] == b"\x30" and len(raw) > 100:
            fields = certificate_fields(raw)
            if fields is not None:
                return {"der": value, "certificate": fields}
    return value


def _asn1_fields(fields: dict[str, Any]) -> dict[str, Any]:
    """Interpreted ASN.1 fields: every code and its `<code>_name` sibling folded into one
    {"code", "name"} pair, alert codes named, times in ISO 8601, certificates by field."""
    named: dict[str, Any] = {}
    for key, value in fields.items():
        if key.endswith("_name") and key[: -len("_name")] in fields:
            continue  # folded into the code's pair
        if key == "alert_code" and isinstance(value, int):
            named[key] = alert_code(value)
        elif isinstance(value, int) and f"{key}_name" in fields:
            named[key] = coded(value, fields[f"{key}_name"])
        elif key == "value" and isinstance(value, int) and "name" in fields:
            return coded(value, fields["name"]) | {
                k: v for k, v in fields.items() if k not in ("value", "name")
            }
        elif isinstance(value, dict):
            named[key] = _asn1_fields(value)
        elif isinstance(value, list):
            named[key] = [
                _asn1_fields(v) if isinstance(v, dict) else _asn1_value(key, v) for v in value
            ]
        else:
            named[key] = _asn1_value(key, value)
    return named


def _certificate_entry(der: bytes) -> dict[str, Any]:
    return {"der": der.hex().upper(), "certificate": certificate_fields(der)}


def name_asn1(payload: dict[str, Any], raw: Any = None) -> dict[str, Any]:
    """`raw`: the decoded payload (Containers), for the credential structures gbcs.asn1
    keeps as generic trees: they are named from the tree itself (gbcs.credentials)."""
    out = dict(payload)
    if isinstance(payload.get("fields"), dict):
        out["fields"] = _asn1_fields(payload["fields"])
        raw_fields = raw.get("fields") if isinstance(raw, dict) else None
        if isinstance(raw_fields, dict):
            out["fields"].update(credentials.name_fields(raw_fields, _certificate_entry))
    tree = payload.get("tree")
    if isinstance(tree, dict):
        out["tree"] = _asn1_tree(tree)
    return out


def _asn1_tree(node: dict[str, Any]) -> dict[str, Any]:
    out = dict(node)
    if node.get("name") == "generalized_time" and isinstance(node.get("value"), str):
        raw = _hex_bytes(node["value"])
        if raw is not None:
            out["time"] = generalized_time_text(raw.decode("ascii", "replace"))
    if isinstance(node.get("children"), list):
        out["children"] = [_asn1_tree(c) if isinstance(c, dict) else c for c in node["children"]]
    return out


# --- the whole payload -----------------------------------------------------------------------

NAMERS: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "gbz": name_gbz,
    "gbz-alert": name_gbz,
}


def name_payload(
    kind: str,
    payload: Any,
    message_code_value: int,
    notification_items: object = None,
    raw: Any = None,
) -> Any:
    """A rendered payload with its codes named and its times in ISO 8601 (`raw`: the
    decoded payload it was rendered from)."""
    if not isinstance(payload, dict):
        return payload
    if kind.startswith("dlms"):
        return name_dlms(payload, message_code_value, notification_items)
    if kind == "asn1":
        return name_asn1(payload, raw)
    namer = NAMERS.get(kind)
    return payload if namer is None else namer(payload)


def name_header(header: dict[str, Any]) -> dict[str, Any]:
    out = dict(header)
    transaction = header.get("transaction_id")
    if isinstance(transaction, dict) and isinstance(transaction.get("cra"), str):
        cra = transaction["cra"]
        out["transaction_id"] = {**transaction, "cra": coded(_CRA_CODES.get(cra, -1), cra)}
    other = header.get("other_information")
    if isinstance(other, dict) and isinstance(other.get("message_code"), int):
        out["other_information"] = {**other, "message_code": message_code(other["message_code"])}
    if isinstance(header.get("date_time"), dict):
        out["date_time"] = cosem_fields_text(header["date_time"])
    return out
