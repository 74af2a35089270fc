"""GBCS alert codes and the alert-specific fields that follow them (primer 8.3, 8.4, 9.11).

Every device alert carries a 2-byte alert code; the message code tells the use case. This
module names the codes (GBCS alert code table, as the primer and gbcs-parser give it) and
interprets the use-case fields of DLMS data-notification alerts: the first two items are
always the alert code and the time stamp, the rest depend on the message code.
"""

from __future__ import annotations

from collections.abc import Iterable

from construct import Container

# alert code -> name (GBCS table; names as in the specification, lower-cased phrases)
ALERT_CODES: dict[int, str] = {
    0x8002: "average RMS voltage above average RMS over-voltage threshold",
    0x8003: "average RMS voltage above average RMS over-voltage threshold on phase 1",
    0x8004: "average RMS voltage above average RMS over-voltage threshold on phase 2",
    0x8005: "average RMS voltage above average RMS over-voltage threshold on phase 3",
    0x8006: "average RMS voltage below average RMS under-voltage threshold",
    0x8007: "average RMS voltage below average RMS under-voltage threshold on phase 1",
    0x8008: "average RMS voltage below average RMS under-voltage threshold on phase 2",
    0x8009: "average RMS voltage below average RMS under-voltage threshold on phase 3",
    0x8010: "over current",
    0x8011: "over current L1",
    0x8013: "over current L3",
    0x8014: "power factor threshold below",
    0x8015: "power factor threshold ok",
    0x8016: "over current L2",
    0x8020: "RMS voltage above extreme over-voltage threshold",
    0x8024: "RMS voltage above voltage swell threshold",
    0x8028: "RMS voltage below extreme under-voltage threshold",
    0x802C: "RMS voltage below voltage sag threshold",
    0x8021: "RMS voltage above extreme over-voltage threshold on phase 1 (voltage rises above for longer than the configurable period)",
    0x8022: "RMS voltage above extreme over-voltage threshold on phase 2 (voltage rises above for longer than the configurable period)",
    0x8023: "RMS voltage above extreme over-voltage threshold on phase 3 (voltage rises above for longer than the configurable period)",
    0x8025: "RMS voltage above voltage swell threshold on phase 1 (voltage rises above for longer than the configurable period)",
    0x8026: "RMS voltage above voltage swell threshold on phase 2 (voltage rises above for longer than the configurable period)",
    0x8027: "RMS voltage above voltage swell threshold on phase 3 (voltage rises above for longer than the configurable period)",
    0x8029: "RMS voltage below extreme under-voltage threshold on phase 1 (voltage falls below for longer than the configurable period)",
    0x802A: "RMS voltage below extreme under-voltage threshold on phase 2 (voltage falls below for longer than the configurable period)",
    0x802B: "RMS voltage below extreme under-voltage threshold on phase 3 (voltage falls below for longer than the configurable period)",
    0x802D: "RMS voltage below voltage sag threshold on phase 1 (voltage falls below for longer than the configurable period)",
    0x802E: "RMS voltage below voltage sag threshold on phase 2 (voltage falls below for longer than the configurable period)",
    0x802F: "RMS voltage below voltage sag threshold on phase 3 (voltage falls below for longer than the configurable period)",
    0x8071: "GPF device log changed",
    0x8085: "average RMS voltage below average RMS over-voltage threshold (current value below threshold; previous value above threshold)",
    0x8086: "average RMS voltage below average RMS over-voltage threshold on phase 1 (current value below threshold; previous value above threshold)",
    0x8087: "average RMS voltage below average RMS over-voltage threshold on phase 2 (current value below threshold; previous value above threshold)",
    0x8088: "average RMS voltage below average RMS over-voltage threshold on phase 3 (current value below threshold; previous value above threshold)",
    0x8089: "average RMS voltage above average RMS under-voltage threshold (current value above threshold; previous value below threshold)",
    0x808A: "average RMS voltage above average RMS under-voltage threshold on phase 1 (current value above threshold; previous value below threshold)",
    0x808B: "average RMS voltage above average RMS under-voltage threshold on phase 2 (current value above threshold; previous value below threshold)",
    0x808C: "average RMS voltage above average RMS under-voltage threshold on phase 3 (current value above threshold; previous value below threshold)",
    0x808D: "RMS voltage above extreme over-voltage threshold (voltage returns below for longer than the configurable period)",
    0x808E: "RMS voltage above extreme over-voltage threshold on phase 1 (voltage returns below for longer than the configurable period)",
    0x808F: "RMS voltage above extreme over-voltage threshold on phase 2 (voltage returns below for longer than the configurable period)",
    0x8090: "RMS voltage above extreme over-voltage threshold on phase 3 (voltage returns below for longer than the configurable period)",
    0x8091: "RMS voltage above voltage swell threshold (voltage returns below for longer than the configurable period)",
    0x8092: "RMS voltage above voltage swell threshold on phase 1 (voltage returns below for longer than the configurable period)",
    0x8093: "RMS voltage above voltage swell threshold on phase 2 (voltage returns below for longer than the configurable period)",
    0x8094: "RMS voltage above voltage swell threshold on phase 3 (voltage returns below for longer than the configurable period)",
    0x8095: "RMS voltage below extreme under-voltage threshold (voltage returns above for longer than the configurable period)",
    0x8096: "RMS voltage below extreme under-voltage threshold on phase 1 (voltage returns above for longer than the configurable period)",
    0x8097: "RMS voltage below extreme under-voltage threshold on phase 2 (voltage returns above for longer than the configurable period)",
    0x8098: "RMS voltage below extreme under-voltage threshold on phase 3 (voltage returns above for longer than the configurable period)",
    0x8099: "RMS voltage below voltage sag threshold (voltage returns above for longer than the configurable period)",
    0x809A: "RMS voltage below voltage sag threshold on phase 1 (voltage returns above for longer than the configurable period)",
    0x809B: "RMS voltage below voltage sag threshold on phase 2 (voltage returns above for longer than the configurable period)",
    0x809C: "RMS voltage below voltage sag threshold on phase 3 (voltage returns above for longer than the configurable period)",
    0x810D: "combined credit below low credit threshold (prepayment mode)",
    0x810E: "credit added locally",
    0x8119: "emergency credit has become available (prepayment mode)",
    0x8145: "clock adjusted (within tolerance)",
    0x8154: "immediate HAN interface command received and successfully actioned",
    0x8155: "immediate HAN interface command received but not successfully actioned",
    0x8161: "user interface command input and successfully actioned",
    0x8162: "user interface command input but not successfully actioned",
    0x8168: "supply disabled then armed - activate emergency credit triggered",
    0x8183: "device joined SMHAN",
    0x8184: "valve tested",
    0x819D: "GSME command not retrieved",
    0x819E: "tap off message response or alert failure",
    0x81A0: "smart meter integrity issue - warning",
    0x81A1: "battery cover closed",
    0x81A2: "CH connected to ESME",
    0x81A3: "CH disconnected from ESME",
    0x81A4: "close tunnel command rejected",
    0x81A5: "communication from local port",
    0x81A6: "customer acknowledged message on HAN device",
    0x81A7: "debt collection completed - time debt 1",
    0x81A8: "debt collection completed - time debt 2",
    0x81A9: "debt collection completed - payment debt",
    0x81AA: "emergency credit exhausted",
    0x81AB: "emergency credit activated",
    0x81AC: "error measurement fault",
    0x81AD: "error metrology firmware verification failure",
    0x81AE: "error non volatile memory",
    0x81AF: "error program execution",
    0x81B0: "error program storage",
    0x81B1: "error RAM",
    0x81B2: "error unexpected hardware reset",
    0x81B3: "error watchdog",
    0x81B4: "excess gas flow beyond meter capacity",
    0x81B5: "flow sensor detects air in gas flow",
    0x81B6: "flow sensor detects reverse flow of gas",
    0x81B7: "incorrect phase sequencing",
    0x81B8: "incorrect polarity",
    0x81B9: "meter cover closed",
    0x81BA: "request tunnel command rejected",
    0x81BB: "reverse current",
    0x81BC: "strong magnetic field removed",
    0x81BD: "supply connect failure (valve or load switch)",
    0x81BE: "supply disabled then locked - supply tamper state cause",
    0x81BF: "supply disabled then armed - uncontrolled gas flow rate",
    0x81C0: "supply disconnect failure (valve or load switch)",
    0x81C1: "terminal cover closed",
    0x81C2: "tilt tamper ended",
    0x81C3: "tilt tamper",
    0x81C4: "UTRN manual entry suspended",
    0x81C5: "UTRN rejected as locked out",
    0x81C6: "clock not adjusted (outside tolerance)",
    0x8F01: "active power import above load limit threshold",
    0x8F0A: "billing data log updated",
    0x8F0C: "clock not adjusted (adjustment greater than 10 seconds)",
    0x8F0F: "credit below disablement threshold (prepayment mode)",
    0x8F12: "CHF device log changed",
    0x8F1B: "firmware verification failed at power on",
    0x8F1C: "firmware verification failed",
    0x8F1D: "GSME power supply loss",
    0x8F1E: "integrity check of content or format of command failed",
    0x8F1F: "low battery capacity",
    0x8F20: "limited duty cycle action taken",
    0x8F21: "duty cycle fallen below normal-limited duty cycle threshold",
    0x8F22: "critical duty cycle action taken",
    0x8F23: "duty cycle fallen below limited-critical duty cycle threshold",
    0x8F24: "regulated duty cycle action taken",
    0x8F25: "duty cycle fallen below critical-regulated duty cycle threshold",
    0x8F26: "sub GHz channel changed",
    0x8F27: "sub GHz channel scan initiated",
    0x8F28: "sub GHz channel scan request assessment outcome",
    0x8F29: "three lost GSME searches failed",
    0x8F2A: "sub GHz configuration changed",
    0x8F2B: "sub GHz channel not changed due to frequency agility parameters",
    0x8F2C: "message discarded due to duty cycle management",
    0x8F2D: "no more sub GHz device capacity",
    0x8F30: "source does not have authority for command",
    0x8F32: "supply armed",
    0x8F33: "supply disabled then armed - load limit triggered",
    0x8F34: "supply enabled after load limit restoration period",
    0x8F35: "supply outage restored",
    0x8F36: "supply outage restored - outage >= 3 minutes",
    0x8F37: "supply outage restored on phase 1",
    0x8F38: "supply outage restored on phase 1 - outage >= 3 minutes",
    0x8F39: "supply outage restored on phase 2",
    0x8F3A: "supply outage restored on phase 2 - outage >= 3 minutes",
    0x8F3B: "supply outage restored on phase 3",
    0x8F3C: "supply outage restored on phase 3 - outage >= 3 minutes",
    0x8F3D: "trusted source authentication failure",
    0x8F3E: "unauthorised communication access attempted",
    0x8F3F: "unauthorised physical access - tamper detect",
    0x8F43: "change in the executing firmware version",
    0x8F47: "credit would cause meter balance to exceed maximum meter balance threshold",
    0x8F48: "device joining failed",
    0x8F49: "device joining succeeded",
    0x8F4A: "device unjoining failed",
    0x8F4B: "device unjoining succeeded",
    0x8F4C: "device's own digital signing certificate replacement failed",
    0x8F4D: "device's own digital signing certificate replacement succeeded",
    0x8F4E: "device's own key agreement certificate replacement failed",
    0x8F4F: "device's own key agreement certificate replacement succeeded",
    0x8F51: "duplicate UTRN entered",
    0x8F52: "event log cleared",
    0x8F53: "failed authentication or authorisation not covered by other codes",
    0x8F57: "supply interrupted",
    0x8F58: "supply interrupted on phase 1",
    0x8F59: "supply interrupted on phase 2",
    0x8F5A: "supply interrupted on phase 3",
    0x8F5B: "UTRN exceeds maximum credit threshold",
    0x8F60: "unusual numbers of malformed, out-of-order or unexpected commands received",
    0x8F63: "UTRN not authentic",
    0x8F64: "UTRN not for this device",
    0x8F66: "future-dated HAN interface command successfully actioned",
    0x8F67: "future-dated HAN interface command not successfully actioned",
    0x8F69: "device commissioned",
    0x8F70: "update security credentials",
    0x8F72: "firmware verification successful",
    0x8F73: "unauthorised physical access - battery cover removed",
    0x8F74: "unauthorised physical access - meter cover removed",
    0x8F75: "unauthorised physical access - strong magnetic field",
    0x8F76: "unauthorised physical access - terminal cover removed",
    0x8F77: "unauthorised physical access - second terminal cover removed",
    0x8F78: "unauthorised physical access - other",
    0x8F82: "remaining battery capacity reset",
    0x8F83: "disablement of supply due to insufficient credit has been suspended",
    0x8F84: "failure to deliver remote party message to ESME",
    0x8F85: "auxiliary controller state change",
    0x8F86: "limit APC level command processed",
    0x8F87: "APC level limit ended or cancelled",
    0x8F88: "auxiliary controller state report",
    0x8F89: "firmware transfer alert - fail",
    0x8F8A: "firmware transfer alert - success",
    0x8F8B: "read firmware version alert",
}

# The outage alerts the Comms Hub and back office care about (primer 9.11).
SUPPLY_RESTORED = frozenset((0x8F35, 0x8F36, 0x8F37, 0x8F38, 0x8F39, 0x8F3A, 0x8F3B, 0x8F3C))
SUPPLY_RESTORED_AFTER_3_MINUTES = frozenset((0x8F36, 0x8F38, 0x8F3A, 0x8F3C))


def describe(code: int) -> str:
    """Name of an alert code, e.g. describe(0x8F36) -> 'supply outage restored - outage >=
    3 minutes'; unknown codes are named by their hex so logs still say something useful."""
    return ALERT_CODES.get(code, f"unknown alert 0x{code:04X}")


def _plain(item: object) -> object:
    """The Python value of a decoded A-XDR item (a Container with `value`) or a raw value."""
    if isinstance(item, dict) and "value" in item:
        return item["value"]
    return item


def _octets(item: object, size: int | None = None) -> bytes | None:
    value = _plain(item)
    if isinstance(value, (bytes, bytearray)) and (size is None or len(value) == size):
        return bytes(value)
    return None


def _obis_text(raw: bytes) -> str:
    a, b, c, d, e, f = raw
    return f"{a}-{b}:{c}.{d}.{e}.{f}"


def parse_future_dated_execution(raw: bytes) -> Container | None:
    """The 19-byte octet string of a future-dated execution alert (00CC, alert 8F66/8F67):
    original message code, originator counter and COSEM attribute descriptor applied."""
    if len(raw) != 19:
        return None
    return Container(
        message_code=int.from_bytes(raw[0:2], "big"),
        originator_counter=int.from_bytes(raw[2:10], "big"),
        class_id=int.from_bytes(raw[10:12], "big"),
        instance_id=_obis_text(raw[12:18]),
        attribute_id=raw[18],
    )


def _direction_and_number(value: object) -> Container | None:
    """ECS101/ECS102: high nibble 1 output / 2 input, low nibble controller number."""
    if not isinstance(value, int):
        return None
    direction = {1: "output", 2: "input"}.get(value >> 4, f"unknown {value >> 4}")
    return Container(direction=direction, controller=value & 0x0F)


def interpret_dlms(message_code: int, notification_items: Iterable[object] | None) -> Container:
    """Named fields of a DLMS alert's notification structure.

    `notification_items` are the structure's items in order (decoded A-XDR Containers or
    plain values). Always returns alert_code, alert_name and time_stamp (the raw 12-byte
    COSEM date-time); use-case fields where known; other items stay in `additional_items`.
    """
    items = list(notification_items or ())
    values = [_plain(item) for item in items]
    code = values[0] if values and isinstance(values[0], int) else None
    result = Container(
        alert_code=code,
        alert_name=describe(code) if code is not None else None,
        time_stamp=_octets(items[1], 12) if len(items) > 1 else None,
    )
    rest = items[2:]
    used = 0
    if message_code == 0x00CC and rest:
        raw = _octets(rest[0], 19)
        if raw is not None:
            result.executed_command = parse_future_dated_execution(raw)
            used = 1
    elif message_code == 0x0067 and len(rest) >= 2:  # ECS80 outage restored
        result.interruption_time = _octets(rest[0], 12)
        result.restoration_time = _octets(rest[1], 12)
        used = 2
    elif message_code == 0x0121 and len(rest) >= 4:  # ECS101 limit APC level processed
        result.direction_and_number = _direction_and_number(_plain(rest[0]))
        result.limit_start = _octets(rest[1], 12)
        result.limit_end = _octets(rest[2], 12)
        result.resulting_level = _plain(rest[3])
        used = 4
    elif message_code == 0x0122 and len(rest) >= 2:  # ECS102 limit ended or cancelled
        result.direction_and_number = _direction_and_number(_plain(rest[0]))
        result.level = _plain(rest[1])
        used = 2
    elif message_code == 0x0123 and rest:  # ECS200: UTF-8 JSON state
        text = _plain(rest[0])
        if isinstance(text, (bytes, bytearray)):
            text = bytes(text).decode("utf-8", "replace")
        result.state_text = text
        import json  # here: one alert's state, not every check's start-up

        try:
            result.state = json.loads(text) if isinstance(text, str) else None
        except ValueError:
            result.state = None
        used = 1
    elif message_code == 0x00CE and rest:  # firmware distribution receipt (ESME)
        result.calculated_manufacturer_hash = _octets(rest[0])
        used = 1
    elif message_code == 0x00F0 and rest:  # meter integrity issue warning (ESME)
        raw = _octets(rest[0], 2)
        if raw is not None:
            result.integrity_issue = int.from_bytes(raw, "big")
            used = 1
    result.additional_items = rest[used:]
    return result
