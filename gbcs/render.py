"""Turning a decoded Message into something people read: a JSON-able dict and an indented
text tree. Bytes print as hex; every coded value as {"code", "name"} and every time as ISO
8601 (gbcs.naming, applied here so decoding stays fast).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from construct import EnumIntegerString, ListContainer

from . import naming
from .errors import GbcsError
from .message import Message
from .payload import decode_plaintexts

if TYPE_CHECKING:
    from .outcomes import SecurityReport

    # a message's security checks: a report, or its as_dict() already
    Security = SecurityReport | Mapping[str, object] | None


def plain(value: object) -> Any:
    """Containers, lists, bytes and enums as JSON-able Python values."""
    if isinstance(value, EnumIntegerString):
        return str(value)
    if isinstance(value, dict):
        if _is_cosem_datetime(value):
            return naming.cosem_fields_text(value)
        return {str(k): plain(v) for k, v in value.items() if not str(k).startswith("_")}
    if isinstance(value, list | tuple | ListContainer):
        return [plain(v) for v in value]
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex().upper()
    return value


def _is_cosem_datetime(value: Mapping[object, object]) -> bool:
    return "hundredths" in value and "clock_status" in value


def message_dict(message: Message, security: Security = None) -> dict[str, Any]:
    """The whole message, every layer, as a JSON-able dict."""
    use_case = message.use_case
    code = message.message_code
    notification = None
    if message.payload_kind == "dlms-notification":
        notification = message.payload["notification"]
        notification = notification["value"] if notification["type"] == "structure" else None
    out = {
        "shape": message.kind,
        "use_case": None
        if use_case is None
        else {
            "code": use_case.code,
            "name": use_case.name,
            "title": use_case.title,
            "message_type": use_case.message_type,
            "direction": use_case.direction,
            "critical": use_case.critical,
            "payload": use_case.payload,
            "srvs": list(use_case.srvs),
        },
        "message_code": naming.message_code(code),
        "envelope": plain(message.envelope) if message.envelope is not None else None,
        "header": naming.name_header(plain(message.header)),
        "payload_kind": message.payload_kind,
        "payload": naming.name_payload(
            message.payload_kind, plain(message.payload), code, notification, message.payload
        ),
        "signature": None if message.signature is None else message.signature.hex().upper(),
        "mac": None if message.mac is None else message.mac.hex().upper(),
    }
    if message.decrypted:
        try:
            decoded = decode_plaintexts(message.payload_kind, message.payload, message.decrypted)
        except GbcsError as exc:  # a plaintext that does not parse is shown, with why
            decoded = [f"undecodable: {exc}"] * len(message.decrypted)
        out["decrypted"] = [
            {"plaintext": plain(raw), "decoded": tree}
            for raw, tree in zip(
                message.decrypted, _named_plaintexts(message, decoded), strict=False
            )
        ]
    if security is not None:
        out["security"] = plain(security.as_dict() if hasattr(security, "as_dict") else security)
    return out


def _named_plaintexts(message: Message, trees: list[Any]) -> list[Any]:
    """Decrypted fragments, named as their layer: A-XDR data, or the ZCL payload of the
    encrypted component's cluster."""
    if message.payload_kind.startswith("dlms"):
        return [naming.name_axdr(plain(tree), message.message_code) for tree in trees]
    clusters = [
        str(c.cluster_id)
        for c in message.payload.get("components") or ()
        if c.body.encrypted_frame is not None
    ]
    named = []
    for cluster, tree in zip(clusters + [None] * len(trees), trees, strict=False):
        value = plain(tree)
        named.append(naming.name_zcl_payload(cluster, value) if isinstance(value, dict) else value)
    return named


def message_json(message: Message, security: Security = None) -> str:
    return json.dumps(message_dict(message, security), indent=2)


def message_text(message: Message, security: Security = None) -> str:
    """An indented tree, one field a line."""
    lines: list[str] = []
    use_case = message.use_case
    name = use_case.label if use_case else f"unknown use case 0x{message.message_code:04X}"
    lines.append(f"{name} — {message.cra} ({message.kind})")
    data = message_dict(message, security)
    for key in ("envelope", "header", "payload_kind", "payload", "decrypted", "signature", "mac"):
        if key in data and data[key] is not None:
            _tree(lines, key, data[key], 0)
    if security is not None:
        _tree(lines, "security", data["security"], 0)
    return "\n".join(lines)


# codes people write in hex (GBCS message and alert codes, ZCL clusters, attributes, commands)
_HEX_CODES = {"message_code": 4, "alert_code": 4, "cluster_id": 4, "attribute_id": 4}
_HEX_CODES["command_id"] = 2


def _code_text(key: str, pair: Mapping[str, Any]) -> str:
    code, name = pair["code"], pair["name"]
    width = _HEX_CODES.get(key)
    shown = f"0x{code:0{width}X}" if width and isinstance(code, int) and code >= 0 else str(code)
    return shown if name is None else f"{shown} {name}"


def _spec_text(spec: Mapping[str, Any]) -> str:
    """A COSEM attribute or method reference on one line: kind, class, object, member."""
    parts = [str(spec.get("kind"))]
    for key in ("class_id", "instance_id", "attribute_or_method"):
        value = spec.get(key)
        if isinstance(value, dict) and set(value) == {"code", "name"}:
            code, name = value["code"], value["name"]
            if key == "instance_id":
                parts.append(f"{code} ({name})" if name else str(code))
            elif key == "attribute_or_method":
                member = "method" if spec.get("kind") == "action" else "attribute"
                parts.append(f"{member} {code}" + (f" {name}" if name else ""))
            else:
                parts.append(f"IC {code}" + (f" {name}" if name else ""))
    return " ".join(parts)


def _tree(lines: list[str], key: str, value: object, depth: int) -> None:
    pad = "  " * depth
    if value is None or value == "":
        return  # absent optional fields say nothing
    if isinstance(value, dict):
        if set(value) == {"code", "name"}:
            lines.append(f"{pad}{key}: {_code_text(key, value)}")
            return
        if "type" in value and "value" in value and not isinstance(value["value"], dict | list):
            text = f"{pad}{key}: {value['type']} {value['value']!r}"
            if "date_time" in value:
                text += f" = {value['date_time']}"
            if isinstance(value.get("obis"), dict):
                text += f" = {_code_text('obis', value['obis'])}"
            lines.append(text)
            return
        if {"kind", "class_id", "instance_id", "attribute_or_method"} <= set(value):
            lines.append(f"{pad}{key}: {_spec_text(value)}")
            if value.get("selection") is not None:
                _tree(lines, "selection", value["selection"], depth + 1)
            return
        lines.append(f"{pad}{key}:")
        for k, v in value.items():
            _tree(lines, k, v, depth + 1)
    elif isinstance(value, list):
        lines.append(f"{pad}{key}: [{len(value)}]")
        for i, v in enumerate(value):
            _tree(lines, f"[{i}]", v, depth + 1)
    else:
        lines.append(f"{pad}{key}: {value}")
