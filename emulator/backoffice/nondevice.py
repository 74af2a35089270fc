"""serviceD: the DCC's non-device services, answered at once from the DSP's own state.

Served: 8.2 Read Inventory by DeviceID, UPRN, MPxN or PropertyFilter, the service a DCC Boxed
client uses to see what is installed at a premises: every device in the named premises (at most the schema's
17), as a `DSPInventory` body. Our sources hold no non-device request template; the shape is
the DUIS 5.4 schema's and DCC Boxed's own answer (`duis/responses/read-inventory-response-5.4
.xml`), whose header has no ResponseID either. Every other variant 8 service is answered
E43 (not supported by gbhan).
"""

from __future__ import annotations

from lxml import etree

from .duis import SR, BadRequest, Request, eui_from_text
from .inventory import Device, Inventory, PremisesRecord
from .response_codes import ResponseCode

SERVED = ("8.2",)
MAX_DEVICES = 17  # sr:DSPInventory allows 1..17 Device elements
# gbcs device type names → DUIS DeviceType; a GBCS Type 2 device is reported as an IHD
DUIS_DEVICE_TYPES = {"esme": "ESME", "gsme": "GSME", "chf": "CHF", "gpf": "GPF",
                     "hcalcs": "HCALCS", "ppmid": "PPMID", "type_2": "IHD"}  # fmt: skip


class NonDeviceRefused(BadRequest):
    """A non-device request the DSP cannot answer; `code` says why."""

    def __init__(self, message: str, code: ResponseCode):
        super().__init__(message)
        self.code = code


def _eui_text(eui: bytes) -> str:
    return "-".join(f"{b:02X}" for b in eui)


def _device(parent: etree._Element, device: Device, inventory: Inventory) -> None:
    """One sr:Device in the schema's order; fields the inventory does not know are left out
    (all schema-optional but manufacturer and model)."""
    facts = inventory.facts(device)
    premises = inventory.premises[device.premises]
    node = etree.SubElement(parent, f"{{{SR}}}Device")

    def put(name: str, value: str | None, under: etree._Element = node) -> None:
        if value is not None:
            etree.SubElement(under, f"{{{SR}}}{name}").text = value

    put("DeviceID", _eui_text(device.eui))
    put("DeviceType", facts.duis_type or DUIS_DEVICE_TYPES[device.device_type])
    put("DeviceStatus", facts.status)
    put("DeviceManufacturer", facts.manufacturer)
    put("DeviceModel", facts.model)
    put("SMETSCHTSVersion", facts.chts_version)
    put("DeviceFirmwareVersion", facts.firmware_version)
    put("DeviceFirmwareVersionStatus", facts.firmware_status)
    put("CPLStatus", facts.cpl_status)
    put("DateCommissioned", facts.date_commissioned)
    put("ImportMPxN", premises.mpxn if device.device_type == "esme" else None)
    put("UPRN", premises.uprn)
    if premises.postcode is not None and premises.address_identifier is not None:
        where = etree.SubElement(node, f"{{{SR}}}PropertyFilter")
        put("PostCode", premises.postcode, where)
        put("AddressIdentifier", premises.address_identifier, where)
    put("CSPRegion", facts.csp_region)
    put("DeviceGBCSVersion", facts.gbcs_version)
    put("HANVariant", facts.han_variant)
    put("Connectivity", facts.connectivity)


def _named(request: Request, inventory: Inventory) -> tuple[PremisesRecord, Device | None]:
    """The premises an 8.2 request's lookup key (the schema's choice) names, and the device
    when the key is a DeviceID; E19 when nothing matches."""
    body = request.body

    def key(name: str, under: etree._Element | None = body) -> str | None:
        text = None if under is None else under.findtext(f"{{{SR}}}{name}")
        return None if text is None else text.strip()

    found: PremisesRecord | None
    device_id = key("DeviceID")
    if device_id is not None:
        named = inventory.get(eui_from_text(device_id))
        if named is None:
            raise NonDeviceRefused(f"no device {device_id}", ResponseCode.UNKNOWN_DEVICE)
        return inventory.premises[named.premises], named
    where = body.find(f"{{{SR}}}PropertyFilter")
    if key("UPRN") is not None:
        found, what = inventory.premises_where(uprn=key("UPRN")), f"UPRN {key('UPRN')}"
    elif key("MPxN") is not None:
        found, what = inventory.premises_where(mpxn=key("MPxN")), f"MPxN {key('MPxN')}"
    elif where is not None:
        postcode, address = key("PostCode", where), key("AddressIdentifier", where)
        found = inventory.premises_where(postcode=postcode or "", address_identifier=address or "")
        what = f"property {postcode} {address}"
    else:
        raise NonDeviceRefused("no lookup key", ResponseCode.UNKNOWN_DEVICE)
    if found is None or not inventory.in_premises(found.name):
        raise NonDeviceRefused(f"no devices at {what}", ResponseCode.UNKNOWN_DEVICE)
    return found, None


def read_inventory(request: Request, inventory: Inventory) -> etree._Element:
    """The `sr:DSPInventory` answer to an 8.2 request: the devices of the premises its key
    names (DeviceID, UPRN, MPxN or PropertyFilter), a named device first, then by EUI, at
    most the schema's 17, each with every field DCC Boxed reports that the inventory knows."""
    premises, named = _named(request, inventory)
    devices = sorted(inventory.in_premises(premises.name), key=lambda d: d.eui)
    if named is not None:
        devices = [named, *(d for d in devices if d.eui != named.eui)]
    body = etree.Element(f"{{{SR}}}DSPInventory")
    for device in devices[:MAX_DEVICES]:
        _device(body, device, inventory)
    return body
