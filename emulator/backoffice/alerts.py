"""Alerts the DSP sends users: device alerts (a GBCS alert wrapped in a DUIS
DeviceAlertMessage for the user the alert names) and the DCC alert that tells an Electricity
Distributor its premises' auxiliary load switches changed.

The rule for that DCC alert (SECMP0046: the DNO must know when a Supplier changes the switches
it may curtail) is declared here once: a Supplier's join or unjoin between an ESME and an
HCALCS (8.7.x, 8.8.x), its Boost Button changes (7.9, 7.10), and its ALCS/HCALCS description
or schedule updates (6.14.1, 6.14.2), once the device has executed the command.
Switching a load on or off (7.5, 7.6, 7.8) changes the state, not the configuration, and
raises no alert.
"""

from __future__ import annotations

import base64
import datetime as _dt
from dataclasses import dataclass

from lxml import etree

from gbcs import decode
from gbcs.alerts import interpret_dlms
from gbcs.errors import GbcsError

from . import duis
from .eligibility import DuisRole
from .inventory import Device
from .response_codes import ResponseCode

SUPPLIER_ROLES = frozenset({DuisRole.IMPORT_SUPPLIER, DuisRole.EXPORT_SUPPLIER})
JOIN_UNJOIN_SRVS = frozenset({"8.7.1", "8.7.2", "8.8.1", "8.8.2"})
ESME_CONFIGURATION_SRVS = frozenset({"7.9", "7.10", "6.14.1", "6.14.2"})


def changed_esme(srv: str, role: DuisRole, target: Device, other: Device | None) -> bytes | None:
    """The ESME whose auxiliary load switch configuration a request changes, or None."""
    if role not in SUPPLIER_ROLES:
        return None
    if srv in JOIN_UNJOIN_SRVS and other is not None:
        kinds = {target.device_type: target, other.device_type: other}
        if "esme" in kinds and "hcalcs" in kinds:
            return kinds["esme"].eui
    if srv in ESME_CONFIGURATION_SRVS and target.device_type == "esme":
        return target.eui
    return None


@dataclass(frozen=True)
class DccAlertRecord:
    """A DCC alert the DSP raised: when, to whom, why, and the document sent."""

    at: float
    code: str
    recipient: bytes
    esme: bytes  # the device the alert is about: the ESME (N65), the Comms Hub (AD1)
    cause: str
    document: bytes


def alert_code(message) -> int:
    """The GBCS alert code of a decoded alert (DLMS notification or GBZ alert); the message
    code when the payload names none."""
    payload = message.payload
    try:
        if message.payload_kind == "dlms-notification":
            items = payload.notification.value
            return int(interpret_dlms(message.message_code, items).alert_code)
        code = getattr(payload, "alert_code", None)
        if code is not None:
            return int(code)
    except (GbcsError, AttributeError, TypeError, ValueError, KeyError):
        pass
    return int(message.message_code)


@dataclass(frozen=True)
class DeviceAlert:
    """A GBCS alert read far enough to route it."""

    raw: bytes
    code: int
    device: bytes
    recipient: bytes


def read_device_alert(raw: bytes) -> DeviceAlert:
    """GbcsError if the bytes are not a GBCS alert."""
    message = decode(raw)
    if message.cra != "alert":
        raise GbcsError("general-signing", f"not an alert (CRA {message.cra})")
    return DeviceAlert(bytes(raw), alert_code(message), message.originator, message.target)


def build_device_alert(alert: DeviceAlert, when: _dt.datetime) -> etree._Element:
    """An unsigned DUIS DeviceAlertMessage carrying the alert's GBCS bytes."""
    sr = duis.SR
    root = etree.Element(f"{{{sr}}}Response", nsmap={"sr": sr, "ra": duis.RA})
    root.set("schemaVersion", duis.SCHEMA_VERSION)
    header = etree.SubElement(root, f"{{{sr}}}Header")
    etree.SubElement(header, f"{{{sr}}}ResponseCode").text = ResponseCode.SUCCESS.value
    stamp = when.astimezone(_dt.UTC)
    etree.SubElement(header, f"{{{sr}}}ResponseDateTime").text = (
        stamp.strftime("%Y-%m-%dT%H:%M:%S.") + f"{stamp.microsecond // 1000:03d}Z"
    )
    body = etree.SubElement(etree.SubElement(root, f"{{{sr}}}Body"), f"{{{sr}}}DeviceAlertMessage")
    etree.SubElement(body, f"{{{sr}}}AlertCode").text = f"{alert.code:04X}"
    etree.SubElement(body, f"{{{sr}}}GBCSPayload").text = base64.b64encode(alert.raw).decode()
    return root
