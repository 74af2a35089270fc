"""serviceD: the DCC's non-device services, answered at once from the DSP's own state.

Served: 8.2 Read Inventory by DeviceID, the service a DCC Boxed client uses to see what is
installed at a premises: every device in the named device's premises (at most the schema's
17), as a `DSPInventory` body. Our sources hold no non-device request template; the shape is
the DUIS 5.4 schema's and DCC Boxed's own answer (`duis/responses/read-inventory-response-5.4
.xml`), whose header has no ResponseID either. Every other variant 8 service is answered
E43 (not supported by gbhan).
"""

from __future__ import annotations

from lxml import etree

from .duis import SR, BadRequest, Request, eui_from_text
from .inventory import Device, Inventory
from .response_codes import ResponseCode

SERVED = ("8.2",)
MAX_DEVICES = 17  # sr:DSPInventory allows 1..17 Device elements
# gbcs device type names → DUIS DeviceType; a GBCS Type 2 device is reported as an IHD
DUIS_DEVICE_TYPES = {"esme": "ESME", "gsme": "GSME", "chf": "CHF", "gpf": "GPF",
                     "hcalcs": "HCALCS", "ppmid": "PPMID", "type_2": "IHD"}  # fmt: skip
# what the emulator reports for facts its inventory does not model (all schema-optional
# except manufacturer and model, which it requires)
MANUFACTURER, MODEL, STATUS = "gbhan", "emulated", "Commissioned"


class NonDeviceRefused(BadRequest):
    """A non-device request the DSP cannot answer; `code` says why."""

    def __init__(self, message: str, code: ResponseCode):
        super().__init__(message)
        self.code = code


def _eui_text(eui: bytes) -> str:
    return "-".join(f"{b:02X}" for b in eui)


def _device(parent: etree._Element, device: Device) -> None:
    node = etree.SubElement(parent, f"{{{SR}}}Device")
    for name, value in (("DeviceID", _eui_text(device.eui)),
                        ("DeviceType", DUIS_DEVICE_TYPES[device.device_type]),
                        ("DeviceStatus", STATUS), ("DeviceManufacturer", MANUFACTURER),
                        ("DeviceModel", MODEL)):  # fmt: skip
        etree.SubElement(node, f"{{{SR}}}{name}").text = value


def read_inventory(request: Request, inventory: Inventory) -> etree._Element:
    """The `sr:DSPInventory` answer to an 8.2 request naming a DeviceID: the devices of its
    premises, the named one first. UPRN, MPxN and PropertyFilter are not in the inventory:
    they match nothing (E19), as an unknown device does."""
    text = request.body.findtext(f"{{{SR}}}DeviceID")
    if text is None:
        raise NonDeviceRefused("the inventory is searchable by DeviceID only",
                               ResponseCode.UNKNOWN_DEVICE)  # fmt: skip
    named = inventory.get(eui_from_text(text.strip()))
    if named is None:
        raise NonDeviceRefused(f"no device {text.strip()}", ResponseCode.UNKNOWN_DEVICE)
    others = [d for d in inventory.in_premises(named.premises) if d.eui != named.eui]
    body = etree.Element(f"{{{SR}}}DSPInventory")
    for device in [named, *sorted(others, key=lambda d: d.eui)][:MAX_DEVICES]:
        _device(body, device)
    return body
