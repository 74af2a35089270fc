"""serviceD: the DCC's non-device services, answered at once from the DSP's own state.

Served: 12.2 Device Pre-Notification, which records the named device in the inventory with
DUIS's DeviceStatus `Pending` (the manufacturer, model, CHTS and firmware versions it carries
are what 8.2 then reports), in a premises of the requesting Supplier's own until it is
installed; a device the inventory already holds as the same type is answered I0 unchanged,
as another type E5. 8.2 Read Inventory by DeviceID, UPRN, MPxN or PropertyFilter, the service a DCC Boxed
client uses to see what is installed at a premises: every device in the named premises (at most the schema's
17), as a `DSPInventory` body. Our sources hold no non-device request template; the shape is
the DUIS 5.4 schema's and DCC Boxed's own answer (`duis/responses/read-inventory-response-5.4
.xml`), whose header has no ResponseID either. Every other variant 8 service is answered
E43 (not supported by gbhan).
"""

from __future__ import annotations

from lxml import etree

from .duis import SR, BadRequest, Request, eui_from_text
from .inventory import Device, DeviceFacts, Inventory, InventoryError, PremisesRecord
from .response_codes import ResponseCode

SERVED = ("8.2", "12.2")
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


# DUIS DeviceType → gbcs device type name; IHD and CAD are GBCS Type 2 devices
GBCS_DEVICE_TYPES = {"ESME": "esme", "GSME": "gsme", "CHF": "chf", "GPF": "gpf",
                     "HCALCS": "hcalcs", "PPMID": "ppmid", "IHD": "type_2", "CAD": "type_2"}  # fmt: skip


def prenotified_premises(supplier: bytes) -> str:
    """Where a pre-notified device waits: 12.2 names no premises, so one per Supplier."""
    return f"prenotified-{supplier.hex().upper()}"


def pre_notify(request: Request, inventory: Inventory) -> None:
    """12.2: record the DevicePrenotification's device as Pending; nothing to answer but I0."""
    node = request.body  # the Body's one child, sr:DevicePrenotification for a 12.2
    if etree.QName(node).localname != "DevicePrenotification":
        raise NonDeviceRefused("12.2 without DevicePrenotification", ResponseCode.XML_REFUSED)

    def text(name: str) -> str | None:
        found = node.findtext(f"{{{SR}}}{name}")
        return None if found is None else found.strip()

    eui = eui_from_text(text("DeviceID") or "")
    duis_type = text("DeviceType") or ""
    kind = GBCS_DEVICE_TYPES.get(duis_type)
    if kind is None:
        raise NonDeviceRefused(
            f"gbhan keeps no {duis_type} devices", ResponseCode.SRV_NOT_FOR_DEVICE_TYPE
        )
    held = inventory.get(eui)
    if held is not None:
        if held.device_type != kind:
            raise NonDeviceRefused(f"{_eui_text(eui)} is a {held.device_type}, not a {duis_type}",
                                   ResponseCode.DEVICE_STATUS_INCOMPATIBLE)  # fmt: skip
        return
    supplier = request.request_id.originator
    try:
        inventory.declare(eui, kind, prenotified_premises(supplier), supplier=supplier)
    except InventoryError as exc:
        raise NonDeviceRefused(str(exc), ResponseCode.DEVICE_STATUS_INCOMPATIBLE) from None
    inventory.record(eui, DeviceFacts(
        manufacturer=text("DeviceManufacturer") or "", model=text("DeviceModel") or "",
        duis_type=duis_type if kind == "type_2" else None, status="Pending",
        chts_version=text("SMETSCHTSVersion"), firmware_version=text("FirmwareVersion"),
    ))  # fmt: skip


def answer(request: Request, inventory: Inventory) -> etree._Element | None:
    """The body of a served non-device request's I0 answer (None: an answer with no body)."""
    if request.service_reference_variant == "12.2":
        pre_notify(request, inventory)
        return None
    return read_inventory(request, inventory)
