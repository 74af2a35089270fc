"""Turning a decoded Message into something people read: a JSON-able dict and an indented
text tree. Bytes print as hex, enums by name, COSEM date-times and OBIS codes as text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from construct import EnumIntegerString, ListContainer

from .errors import GbcsError
from .message import Message
from .payload import decode_plaintexts
from .primitives import cosem_to_datetime

if TYPE_CHECKING:
    from .security import SecurityReport

    # a message's security checks: a report, or its as_dict() already
    Security = SecurityReport | Mapping[str, object] | None


def plain(value: object) -> Any:
    """Containers, lists, bytes and enums as JSON-able Python values."""
    if isinstance(value, EnumIntegerString):
        return str(value)
    if isinstance(value, dict):
        if _is_cosem_datetime(value):
            when = cosem_to_datetime(value)
            out = {k: plain(v) for k, v in value.items() if not str(k).startswith("_")}
            if when is not None:
                out["iso"] = when.isoformat()
            return out
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
    out = {
        "shape": message.kind,
        "use_case": None
        if use_case is None
        else {
            "code": f"0x{use_case.code:04X}",
            "name": use_case.name,
            "title": use_case.title,
            "message_type": use_case.message_type,
            "srvs": list(use_case.srvs),
        },
        "message_code": f"0x{message.message_code:04X}",
        "envelope": plain(message.envelope) if message.envelope is not None else None,
        "header": plain(message.header),
        "payload_kind": message.payload_kind,
        "payload": plain(message.payload),
        "signature": None if message.signature is None else message.signature.hex().upper(),
        "mac": None if message.mac is None else message.mac.hex().upper(),
    }
    if message.decrypted:
        try:
            decoded = decode_plaintexts(message.payload_kind, message.payload, message.decrypted)
        except GbcsError as exc:  # a plaintext that does not parse is shown, with why
            decoded = [f"undecodable: {exc}"] * len(message.decrypted)
        out["decrypted"] = [
            {"plaintext": plain(raw), "decoded": plain(tree)}
            for raw, tree in zip(message.decrypted, decoded, strict=False)
        ]
    if security is not None:
        out["security"] = plain(security.as_dict() if hasattr(security, "as_dict") else security)
    return out


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


def _tree(lines: list[str], key: str, value: object, depth: int) -> None:
    pad = "  " * depth
    if isinstance(value, dict):
        if set(value) == {"type", "value"} and not isinstance(value["value"], dict | list):
            lines.append(f"{pad}{key}: {value['type']} {value['value']!r}")
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
