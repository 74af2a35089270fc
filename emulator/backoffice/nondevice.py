"""serviceD: the DCC's non-device services, answered at once from the DSP's own state.

Served: 12.2 Device Pre-Notification, which records the named device in the inventory with
DUIS's DeviceStatus `Pending` (the manufacturer, model, CHTS and firmware versions it carries
are what 8.2 then reports), in a premises of the requesting Supplier's own until it is
installed; a device the inventory already holds as the same type is answered I0 unchanged,
as another type E5. 8.2 Read Inventory by DeviceID, UPRN, MPxN or PropertyFilter, the service a DCC Boxed
client uses to see what is installed at a premises: every device in the named premises (at most the schema's
17), as a `DSPInventory` body. Our sources hold no non-device request template; the shape is
the DUIS 5.4 schema's and DCC Boxed's own answer (`duis/responses/read-inventory-response-5.4
.xml`), whose header has no ResponseID either.

The device lifecycle the DSP keeps (`inventory.py`'s SMI status, which 8.2 reports and which
gates every later request to the device: out of service, E5):
- 8.3 Decommission Device: an installed device (Commissioned, InstalledNotCommissioned,
  Whitelisted) becomes Decommissioned; the Comms Hub's CHF and GPF leave by 8.14 instead and
  a Type 2 device has no status (E11); already out of service or never installed E5.
- 8.4 Update Inventory: a status a Supplier may set (Pending or InstalledNotCommissioned for
  a device, Commissioned, Withdrawn or InstalledNotCommissioned for a CHF: the other choice
  E11), the device's details (manufacturer, model, CHTS and firmware versions), the
  premises' import MPxN, or DeleteDevice, which takes a Pending device (one pre-notified,
  never installed) out of the inventory and refuses any other E5.
- 8.13 Return Local Command Response: the device's response to a command the user delivered
  locally must be a GBCS response from a device the DSP knows, to the user, answering the
  OriginalRequestID (its device and counter), verifying with the device's certificate (E41
  otherwise, E19 an unknown device); an Activate Firmware (CS06) success then puts the
  firmware version it reports in the inventory, as Active.
- 8.14.1-8.14.4 Communications Hub Status Update, for a CHF only (E11): install success
  commissions it (dated; one already commissioned is answered I0 unchanged), install without
  SM WAN leaves it InstalledNotCommissioned (not one commissioned: E5), either giving the
  premises the install's MPxN where it has none (the AD1 outage alert names it), a fault return
  withdraws one identified before installation (Pending, Whitelisted) and decommissions one
  identified after it (installed), a no-fault return withdraws one not in service on a
  premises (not Commissioned); the rest E5.
- 8.6 Service Opt In: an installed meter (ESME or GSME, the DeviceType the inventory has; a
  device of another type E11) is taken back into the DCC's service: the answer (`DSPOptIn`)
  gives the Supplier the DSP Broker's credentials, the ACB's certificates the devices hold,
  for its Access Control Broker cells (the reverse of 8.5's Service Opt Out, which replaced
  them). The MPxNs and OptInDate are taken as given: gbhan keeps no opt-out record.
- 12.1 Request WAN Matrix: gbhan's WAN is emulated and reaches every premises, so the answer
  is the request echoed and one region's coverage (the region of the CHF at the premises the
  UPRN or address names, where gbhan knows one, else Unknown), available, High likelihood.

11.1 Update Firmware and 11.4 Update PPMID Firmware (`firmware_order`): the DSP answers I0
at once and then distributes the image over the SM WAN to each listed device's Comms Hub
(dsp.py, routing.py), which passes it on; the device checks it and alerts its receipt, which
reaches the Supplier as a DUIS device alert. Listed devices the DSP does not send to are
named in the answer's DSPUpdateFirmwareWarning (DSPUpdatePPMIDFirmwareWarning): unknown ones
InvalidDeviceIDList, ones not Commissioned NotCommissionedDeviceIDList, ones of another type
(11.1: ESME, GSME, CHF; 11.4: PPMID) or that gbhan's devices take no image for yet (the GSME,
the CHF) NotApplicableFirmwareDeviceIDList. gbhan keeps no Central Products List, so the
FirmwareVersion is not checked against the device's model.

Rules the sources are silent on (which statuses each lifecycle step accepts) are DUIS as
gbhan reads it, documented here. Every other variant 8 service but the schedules (5.x,
schedules.py) is answered E43 (not supported by gbhan).
"""

from __future__ import annotations

import base64
import binascii
import copy
import dataclasses
import datetime as _dt

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree

from gbcs import decode
from gbcs.errors import GbcsError
from gbcs.keystore import Keystore
from gbcs.security import VERIFIED, check_message

from .duis import SR, BadRequest, Request, RequestId, eui_from_text
from .inventory import (
    OUT_OF_SERVICE,
    Device,
    DeviceFacts,
    Inventory,
    InventoryError,
    PremisesRecord,
)
from .response_codes import ResponseCode

SERVED = ("8.2", "8.3", "8.4", "8.6", "8.13", "8.14.1", "8.14.2", "8.14.3", "8.14.4", "12.1",
          "12.2")  # fmt: skip
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


# --- the device lifecycle ------------------------------------------------------------------

INSTALLED = frozenset({"Commissioned", "InstalledNotCommissioned", "Whitelisted"})
NOT_INSTALLED = frozenset({"Pending", "Whitelisted"})


def _text(node: etree._Element, name: str) -> str | None:
    found = node.findtext(f"{{{SR}}}{name}")
    return None if found is None else found.strip()


def _body_device(request: Request, inventory: Inventory) -> Device:
    """The device the body's DeviceID names (E19 if the inventory has none)."""
    text = _text(request.body, "DeviceID") or ""
    device = inventory.get(eui_from_text(text))
    if device is None:
        raise NonDeviceRefused(f"no device {text}", ResponseCode.UNKNOWN_DEVICE)
    return device


def _refuse_status(device: Device, status: str | None, srv: str) -> NonDeviceRefused:
    return NonDeviceRefused(f"{_eui_text(device.eui)} is {status}: SRV {srv} does not apply",
                            ResponseCode.DEVICE_STATUS_INCOMPATIBLE)  # fmt: skip


def decommission(request: Request, inventory: Inventory) -> None:
    """8.3: an installed meter or HAN device becomes Decommissioned."""
    device = _body_device(request, inventory)
    if device.device_type in ("chf", "gpf", "type_2"):
        raise NonDeviceRefused(f"a {device.device_type} is not decommissioned by 8.3",
                               ResponseCode.SRV_NOT_FOR_DEVICE_TYPE)  # fmt: skip
    status = inventory.status(device.eui)
    if status not in INSTALLED:
        raise _refuse_status(device, status, "8.3")
    inventory.set_status(device.eui, "Decommissioned")


def update_inventory(request: Request, inventory: Inventory) -> None:
    """8.4: one change to a device's record (the body's choice)."""
    device = _body_device(request, inventory)
    change = request.body[-1]
    what = etree.QName(change).localname
    status = inventory.status(device.eui)
    if what in ("UpdateDeviceStatusExceptCH", "UpdateDeviceStatusCH"):
        if (what == "UpdateDeviceStatusCH") != (device.device_type == "chf"):
            raise NonDeviceRefused(f"{what} is not for a {device.device_type}",
                                   ResponseCode.SRV_NOT_FOR_DEVICE_TYPE)  # fmt: skip
        if status in OUT_OF_SERVICE:
            raise _refuse_status(device, status, "8.4")
        inventory.set_status(device.eui, (change.text or "").strip())
    elif what == "UpdateDeviceDetails":
        facts = inventory.facts(device)
        updated = dataclasses.replace(
            facts,
            manufacturer=_text(change, "DeviceManufacturer") or facts.manufacturer,
            model=_text(change, "DeviceModel") or facts.model,
            chts_version=_text(change, "SMETSCHTSVersion") or facts.chts_version,
            firmware_version=_text(change, "FirmwareVersion") or facts.firmware_version,
        )
        inventory.record(device.eui, updated)
    elif what == "UpdateMPxN":
        mpxn = _text(change, "ImportMPxN")
        if mpxn is None:  # a secondary or export MPAN: gbhan's premises keep only the import
            raise NonDeviceRefused("gbhan keeps only a premises' import MPxN",
                                   ResponseCode.SRV_NOT_FOR_DEVICE_TYPE)  # fmt: skip
        premises = inventory.premises[device.premises]
        inventory.add_premises(dataclasses.replace(premises, mpxn=mpxn))
    elif what == "DeleteDevice":
        if status != "Pending":
            raise _refuse_status(device, status, "8.4 DeleteDevice")
        inventory.remove(device.eui)
    else:
        raise NonDeviceRefused(f"8.4 {what}", ResponseCode.XML_REFUSED)


#: the meters 8.6 takes back into the DCC's service, by DUIS DeviceType
OPT_IN_TYPES = {"ESME": "esme", "GSME": "gsme"}


@dataclasses.dataclass(frozen=True)
class BrokerCredentials:
    """The DSP Broker's (the ACB's) certificates the devices hold, which 8.6 gives the user."""

    digital_signing: x509.Certificate | None
    key_agreement: x509.Certificate


def opt_in(request: Request, inventory: Inventory, broker: BrokerCredentials) -> etree._Element:
    """8.6: the meter named, installed and of the type named, gets the DSP Broker's
    credentials back (module docstring)."""
    device = _body_device(request, inventory)
    named = _text(request.body, "DeviceType") or ""
    if OPT_IN_TYPES.get(named) != device.device_type:
        raise NonDeviceRefused(f"8.6 is for the {named or 'no'} meter named, not a "
                               f"{device.device_type}", ResponseCode.SRV_NOT_FOR_DEVICE_TYPE)  # fmt: skip
    status = inventory.status(device.eui)
    if status not in INSTALLED:
        raise _refuse_status(device, status, "8.6")
    body = etree.Element(f"{{{SR}}}DSPOptIn")
    etree.SubElement(body, f"{{{SR}}}DeviceID").text = _eui_text(device.eui)
    for name, certificate in (
        ("DSPBrokerSecurityCredentialsDigitalSigning", broker.digital_signing),
        ("DSPBrokerSecurityCredentialsKeyAgreement", broker.key_agreement),
    ):
        if certificate is not None:
            der = certificate.public_bytes(serialization.Encoding.DER)
            etree.SubElement(body, f"{{{SR}}}{name}").text = base64.b64encode(der).decode()
    return body


RESPONSE = 2  # the CRA flag of a response
CS06 = 0x0012  # Activate Firmware: its success response names the firmware now running


def return_local_response(request: Request, inventory: Inventory, keys: Keystore | None) -> None:
    """8.13: the response a device gave to a locally delivered command, checked as the
    device's own and answering the original request; CS06's firmware version is kept."""
    body, user = request.body, request.request_id.originator
    try:
        raw = base64.b64decode(_text(body, "DeviceGBCSResponse") or "", validate=True)
        message = decode(raw)
    except (binascii.Error, GbcsError) as exc:
        raise NonDeviceRefused(f"not a GBCS message: {exc}", ResponseCode.XML_REFUSED) from None
    originator, counter = bytes(message.originator), message.counter
    if message.cra_flag != RESPONSE or bytes(message.target) != user:
        raise NonDeviceRefused("not a device's response to this user",
                               ResponseCode.XML_SIGNATURE_FAILED)  # fmt: skip
    if inventory.get(originator) is None:
        raise NonDeviceRefused(f"no device {_eui_text(originator)}", ResponseCode.UNKNOWN_DEVICE)
    original = _text(body, "OriginalRequestID")
    if original is not None:
        rid = RequestId.parse(original)
        if (rid.target, rid.counter) != (originator, counter) or rid.originator != user:
            raise NonDeviceRefused(f"the response does not answer {original}",
                                   ResponseCode.XML_SIGNATURE_FAILED)  # fmt: skip
    if keys is None or check_message(message, keys).outcome != VERIFIED:
        raise NonDeviceRefused(f"the response does not verify as {_eui_text(originator)}'s",
                               ResponseCode.XML_SIGNATURE_FAILED)  # fmt: skip
    if message.message_code == CS06:
        fields = message.payload.fields
        version = getattr(fields.value, "firmware_version", None)
        if int(getattr(fields.value, "response_code", -1)) == 0 and version is not None:
            facts = inventory.facts(inventory.get(originator))  # type: ignore[arg-type]
            inventory.record(originator, dataclasses.replace(
                facts, firmware_version=bytes(version).hex().upper(),
                firmware_status="Active"))  # fmt: skip


def _installed_at(request: Request, inventory: Inventory, hub: Device) -> None:
    """An installed hub's MPxN names its premises' meter point: kept where the premises has
    none yet (the AD1 outage alert needs it), another one left as it is."""
    premises = inventory.premises[hub.premises]
    mpxn = _text(request.body, "MPxN")
    if premises.mpxn is None and mpxn:
        inventory.add_premises(dataclasses.replace(premises, mpxn=mpxn))


def hub_status_update(request: Request, inventory: Inventory, now: _dt.datetime) -> None:
    """8.14.1-8.14.4: the Comms Hub's installation or return, as its CHF's SMI status."""
    srv = request.service_reference_variant
    device = _body_device(request, inventory)
    if device.device_type != "chf":
        raise NonDeviceRefused(f"{srv} is for a CHF, not a {device.device_type}",
                               ResponseCode.SRV_NOT_FOR_DEVICE_TYPE)  # fmt: skip
    status = inventory.status(device.eui)
    if srv == "8.14.1":
        if status in OUT_OF_SERVICE:
            raise _refuse_status(device, status, srv)
        if status != "Commissioned":
            inventory.set_status(device.eui, "Commissioned", now)
        _installed_at(request, inventory, device)
    elif srv == "8.14.2":
        if status in OUT_OF_SERVICE or status == "Commissioned":
            raise _refuse_status(device, status, srv)
        inventory.set_status(device.eui, "InstalledNotCommissioned")
        _installed_at(request, inventory, device)
    elif srv == "8.14.3":
        before = (
            _text(request.body, "CHFFaultReturnType") == "Fault identified prior to installation"
        )
        if before and status in NOT_INSTALLED:
            inventory.set_status(device.eui, "Withdrawn")
        elif not before and status in INSTALLED:
            inventory.set_status(device.eui, "Decommissioned")
        else:
            raise _refuse_status(device, status, srv)
    else:  # 8.14.4
        if status in ("Commissioned", "Withdrawn"):
            raise _refuse_status(device, status, srv)
        inventory.set_status(device.eui, "Withdrawn")


#: SRV -> (the body's element, the warning's element, device types DUIS sends it to)
FIRMWARE_SRVS = {
    "11.1": ("UpdateFirmware", "DSPUpdateFirmwareWarning", frozenset({"esme", "gsme", "chf"})),
    "11.4": ("UpdatePPMIDFirmware", "DSPUpdatePPMIDFirmwareWarning", frozenset({"ppmid"})),
}
#: the device types gbhan's emulated devices take a distributed image at
TAKES_IMAGES = frozenset({"esme", "ppmid"})
#: the warning's lists, in the schema's order
WARNING_LISTS = ("InvalidDeviceIDList", "NotCommissionedDeviceIDList",
                 "NotApplicableFirmwareDeviceIDList")  # fmt: skip


@dataclasses.dataclass(frozen=True)
class FirmwareOrder:
    """What an 11.1 / 11.4 asks the DSP to do: the image, the devices it goes to, and the
    answer's warning body (None: every listed device is sent it)."""

    image: bytes
    devices: tuple[bytes, ...]
    warning: etree._Element | None


def firmware_order(request: Request, inventory: Inventory) -> FirmwareOrder:
    """11.1 / 11.4: the image and the listed devices the DSP sends it to (module docstring)."""
    element, warning_name, kinds = FIRMWARE_SRVS[request.service_reference_variant]
    node = request.body
    if etree.QName(node).localname != element:
        raise NonDeviceRefused(f"no {element}", ResponseCode.XML_REFUSED)
    try:
        image = base64.b64decode(_text(node, "FirmwareImage") or "", validate=True)
    except binascii.Error:
        raise NonDeviceRefused("FirmwareImage is not base64", ResponseCode.XML_REFUSED) from None
    refused: dict[str, list[str]] = {name: [] for name in WARNING_LISTS}
    devices: list[bytes] = []
    for text in (_text(node, "DeviceIDList") or "").split(","):
        eui = eui_from_text(text.strip())
        device = inventory.get(eui)
        if device is None:
            refused["InvalidDeviceIDList"].append(_eui_text(eui))
        elif inventory.status(eui) != "Commissioned":
            refused["NotCommissionedDeviceIDList"].append(_eui_text(eui))
        elif device.device_type not in kinds or device.device_type not in TAKES_IMAGES:
            refused["NotApplicableFirmwareDeviceIDList"].append(_eui_text(eui))
        elif eui not in devices:
            devices.append(eui)
    warning = None
    if any(refused.values()):
        warning = etree.Element(f"{{{SR}}}{warning_name}")
        for name in WARNING_LISTS:
            if refused[name]:
                etree.SubElement(warning, f"{{{SR}}}{name}").text = ",".join(refused[name])
    return FirmwareOrder(image, tuple(devices), warning)


def wan_matrix(request: Request, inventory: Inventory) -> etree._Element:
    """12.1: the request echoed and gbhan's emulated WAN's coverage for the address."""
    body = request.body
    uprn = _text(body, "UPRN")
    where = body.find(f"{{{SR}}}PartialAddress")
    if uprn is not None:
        found = inventory.premises_where(uprn=uprn)
    elif where is not None:
        found = inventory.premises_where(
            postcode=_text(where, "PostCode") or "",
            address_identifier=_text(where, "AddressIdentifier"),
        )
    else:
        found = None
    region = "Unknown"
    if found is not None:
        hubs = [d for d in inventory.in_premises(found.name) if d.device_type == "chf"]
        regions = [inventory.facts(d).csp_region for d in hubs]
        region = next((r for r in regions if r), region)
    answer = etree.Element(f"{{{SR}}}DSPWANMatrix")
    echoed = etree.SubElement(answer, f"{{{SR}}}Request")
    for child in body:
        echoed.append(copy.deepcopy(child))
    coverage = etree.SubElement(answer, f"{{{SR}}}DSPWANMatrixResponse")
    for name, value in (("CSPRegion", region), ("CSPRegionResponseCode", "I0"),
                        ("CoverageAvailability", "true"),
                        ("WANTechnology", "gbhan emulated WAN"),
                        ("ConnectivityLikelihood", "High")):  # fmt: skip
        etree.SubElement(coverage, f"{{{SR}}}{name}").text = value
    return answer


def answer(
    request: Request,
    inventory: Inventory,
    *,
    keys: Keystore | None = None,
    now: _dt.datetime | None = None,
    broker: BrokerCredentials | None = None,
) -> etree._Element | None:
    """The body of a served non-device request's I0 answer (None: an answer with no body).
    `keys` verify the device responses 8.13 returns; `now` dates a commissioning (8.14.1);
    `broker` is what 8.6 gives."""
    srv = request.service_reference_variant
    when = now or _dt.datetime.now(_dt.UTC)
    if srv == "12.2":
        pre_notify(request, inventory)
    elif srv == "8.3":
        decommission(request, inventory)
    elif srv == "8.4":
        update_inventory(request, inventory)
    elif srv == "8.13":
        return_local_response(request, inventory, keys)
    elif srv.startswith("8.14."):
        hub_status_update(request, inventory, when)
    elif srv == "12.1":
        return wan_matrix(request, inventory)
    elif srv == "8.6":
        if broker is None:
            raise NonDeviceRefused("no DSP Broker credentials to give", ResponseCode.NOT_SUPPORTED)
        return opt_in(request, inventory, broker)
    else:
        return read_inventory(request, inventory)
    return None
