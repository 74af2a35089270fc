"""The DSP's device inventory: which devices exist, what type each is, which premises it is
in, and who that premises' Supplier and Electricity Distributor are.

The DSP needs it to answer E19 (unknown device), to pick the GBCS use case where the device
pair decides (8.7.x, 8.8.x, 11.2), to give a join its partner's device type (and for Method C
its certificate, SMKI state), and to route the HCALCS configuration-change alert to the right
Electricity Distributor. The default population is the RTDS one the DUIS templates address.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from emulator.errors import EmulatorError
from gbcs import decode
from gbcs.asn1 import DEVICE_TYPES
from gbcs.errors import GbcsError

DEVICE_TYPE_CODES = {name: code for code, name in DEVICE_TYPES.items()}
SUPPLIER = bytes.fromhex("90B3D51F30010000")
ELECTRICITY_DISTRIBUTOR = bytes.fromhex("90B3D51F30020000")


RTDS_PREMISES_NAME = "rtds-premises"


class InventoryError(EmulatorError, ValueError):
    """An inventory declaration that cannot hold (unknown device type, device twice)."""


@dataclass(frozen=True)
class Device:
    """One device the DSP knows: EUI, GBCS device type name (gbcs.asn1.DEVICE_TYPES) and, for
    a Method C join partner, its certificate as SMKI would return it (DER)."""

    eui: bytes
    device_type: str
    premises: str
    certificate: bytes | None = None

    def __post_init__(self):
        if self.device_type not in DEVICE_TYPE_CODES:
            raise InventoryError(f"device type {self.device_type!r} is not a GBCS device type")

    @property
    def type_code(self) -> int:
        return DEVICE_TYPE_CODES[self.device_type]


@dataclass(frozen=True)
class PremisesRecord:
    """A premises: its Supplier and Electricity Distributor (user EUIs), and its import MPxN
    when known (the AD1 Power Outage alert names it; hub_link.py refuses to guess one)."""

    name: str
    supplier: bytes
    electricity_distributor: bytes
    mpxn: str | None = None
    #: the DCC's address facts 8.2 reports and searches by (UPRN; postcode and address
    #: identifier together are its PropertyFilter); None when nobody declared them
    uprn: str | None = None
    postcode: str | None = None
    address_identifier: str | None = None


@dataclass(frozen=True)
class DeviceFacts:
    """What the DSP's inventory records about a device beyond its type, as 8.2 reports it
    (DUIS 5.4 sr:Device); None leaves a schema-optional field out."""

    manufacturer: str = "gbhan"
    model: str = "emulated"
    #: the DUIS DeviceType where the GBCS type does not decide it (a Type 2 device is an IHD
    #: or a CAD: DCC Boxed's own is a CAD)
    duis_type: str | None = None
    status: str | None = "Commissioned"
    chts_version: str | None = None
    firmware_version: str | None = None
    firmware_status: str | None = None
    cpl_status: str | None = None
    date_commissioned: str | None = None
    csp_region: str | None = "Unknown"
    gbcs_version: str | None = None
    han_variant: str | None = None
    connectivity: str | None = None


@dataclass
class Inventory:
    """Devices by EUI and premises by name; DSP state, changed only by declaration."""

    devices: dict[bytes, Device] = field(default_factory=dict)
    premises: dict[str, PremisesRecord] = field(default_factory=dict)
    #: called with each device `declare` adds and each EUI `remove` takes away (the state
    #: directory keeps them: `gbhan dsp serve` finds them again after a restart)
    on_declare: list[Callable[[Device], object]] = field(default_factory=list)
    on_remove: list[Callable[[bytes], object]] = field(default_factory=list)
    #: called with (EUI, facts) each time `record` keeps facts (the state directory too)
    on_record: list[Callable[[bytes, DeviceFacts], object]] = field(default_factory=list)
    #: facts the DUIS lifecycle told the DSP (12.2's manufacturer, model, status Pending),
    #: which 8.2 reports ahead of the presets'
    recorded: dict[bytes, DeviceFacts] = field(default_factory=dict)

    def add_premises(self, record: PremisesRecord) -> None:
        self.premises[record.name] = record

    def add(self, device: Device) -> None:
        if device.premises not in self.premises:
            raise InventoryError(f"premises {device.premises!r} is not declared")
        if device.eui in self.devices:
            raise InventoryError(f"device {device.eui.hex().upper()} declared twice")
        self.devices[device.eui] = device

    def get(self, eui: bytes) -> Device | None:
        return self.devices.get(bytes(eui))

    def declare(
        self,
        eui: bytes,
        device_type: str,
        premises: str = RTDS_PREMISES_NAME,
        *,
        supplier: bytes = SUPPLIER,
        electricity_distributor: bytes = ELECTRICITY_DISTRIBUTOR,
        certificate: bytes | None = None,
    ) -> Device:
        """A device the DSP learns of after it started: the DUIS lifecycle (8.1.1 inventory,
        12.2 pre-notification, 8.11 commissioning, a join) or `gbhan dsp devices add`. The
        premises is declared with the given Supplier and Distributor if it is new. Declaring
        a device again with the same type and premises changes nothing (the lifecycle may
        name a device twice); another type or premises is an InventoryError."""
        eui = bytes(eui)
        held = self.devices.get(eui)
        if held is not None:
            if (held.device_type, held.premises) != (device_type, premises):
                raise InventoryError(
                    f"device {eui.hex().upper()} is a {held.device_type} in {held.premises}, "
                    f"not a {device_type} in {premises}"
                )
            return held
        if len(eui) != 8:
            raise InventoryError(f"an EUI-64 is 8 bytes, not {len(eui)}")
        if premises not in self.premises:
            address = PREMISES_ADDRESSES.get(premises, {})
            self.add_premises(PremisesRecord(premises, supplier, electricity_distributor,
                                             **address))  # fmt: skip
        device = Device(eui, device_type, premises, certificate)
        self.add(device)
        for listener in self.on_declare:
            listener(device)
        return device

    def record(self, eui: bytes, facts: DeviceFacts) -> None:
        """Keep what the lifecycle said of a declared device (InventoryError if unknown)."""
        if bytes(eui) not in self.devices:
            raise InventoryError(f"device {bytes(eui).hex().upper()} is not declared")
        self.recorded[bytes(eui)] = facts
        for listener in self.on_record:
            listener(bytes(eui), facts)

    def commission(self, eui: bytes, response: bytes, when: _dt.datetime) -> bool:
        """8.1.1 Commission Device: the device's ECS70 response with every instruction a
        success moves its DUIS status (Pending, InstalledNotCommissioned, ...) to
        Commissioned with DateCommissioned `when`'s date, kept by `record`; any other
        response changes nothing (False)."""
        try:
            results = decode(response).payload.results
        except (GbcsError, AttributeError):
            return False
        if not results or any(str(r.result) != "success" for r in results):
            return False
        device = self.get(eui)
        if device is None:
            return False
        facts = dataclasses.replace(self.facts(device), status="Commissioned",
                                    date_commissioned=f"{when.date().isoformat()}Z")  # fmt: skip
        self.record(eui, facts)
        return True

    def set_status(self, eui: bytes, status: str, when: _dt.datetime | None = None) -> DeviceFacts:
        """A DUIS lifecycle service moved the device's SMI status (8.3, 8.4, 8.14.x); with
        `when`, it became Commissioned then (DateCommissioned). Kept by `record`."""
        device = self.get(eui)
        if device is None:
            raise InventoryError(f"device {bytes(eui).hex().upper()} is not declared")
        facts = dataclasses.replace(self.facts(device), status=status)
        if when is not None:
            facts = dataclasses.replace(facts, date_commissioned=f"{when.date().isoformat()}Z")
        self.record(eui, facts)
        return facts

    def status(self, eui: bytes) -> str | None:
        """The device's SMI status as 8.2 reports it (None: unknown device, or a Type 2
        device, which has none)."""
        device = self.get(eui)
        return None if device is None else self.facts(device).status

    def remove(self, eui: bytes) -> Device | None:
        """Forget a device (a decommissioning, `gbhan dsp devices remove`); None if unknown."""
        self.recorded.pop(bytes(eui), None)
        device = self.devices.pop(bytes(eui), None)
        if device is not None:
            for listener in self.on_remove:
                listener(bytes(eui))
        return device

    def __contains__(self, eui: bytes) -> bool:
        return bytes(eui) in self.devices

    def premises_of(self, eui: bytes) -> PremisesRecord | None:
        device = self.get(eui)
        return None if device is None else self.premises[device.premises]

    def in_premises(self, name: str) -> list[Device]:
        return [d for d in self.devices.values() if d.premises == name]

    def premises_where(self, *, uprn: str | None = None, mpxn: str | None = None,
                       postcode: str | None = None,
                       address_identifier: str | None = None) -> PremisesRecord | None:  # fmt: skip
        """The premises an 8.2 lookup key names (UPRN, MPxN or PostCode + AddressIdentifier:
        each given key must match), None if none does. UPRNs compare as numbers, as the
        schema types them; postcodes ignoring case and spaces."""

        def same_postcode(a: str, b: str) -> bool:
            return a.replace(" ", "").upper() == b.replace(" ", "").upper()

        for record in self.premises.values():
            if uprn is not None and (record.uprn is None or int(record.uprn) != int(uprn)):
                continue
            if mpxn is not None and record.mpxn != mpxn:
                continue
            if postcode is not None and (
                record.postcode is None or not same_postcode(record.postcode, postcode)
            ):
                continue
            if address_identifier is not None and record.address_identifier != address_identifier:
                continue
            return record
        return None

    def facts(self, device: Device) -> DeviceFacts:
        """The facts 8.2 reports for a device: DCC Boxed's own for its preset devices,
        gbhan's (emulated, commissioned, region unknown) for every other."""
        recorded = self.recorded.get(device.eui)
        if recorded is not None:
            return recorded
        return DEVICE_FACTS.get(device.eui, GBHAN_FACTS.get(device.device_type, DeviceFacts()))

    def esme_of(self, name: str) -> Device | None:
        return next((d for d in self.in_premises(name) if d.device_type == "esme"), None)


#: SMI statuses of a device that is no longer in service: the DSP sends it nothing (E5)
OUT_OF_SERVICE = frozenset({"Decommissioned", "Withdrawn"})

RTDS_PREMISES = RTDS_PREMISES_NAME
DCC_BOXED_PREMISES = "dccboxed-premises"

# The devices of DCC Boxed's own test HAN as its published Read Inventory (8.2) answer names
# them (SmartDCCInnovation/dccboxed-signing-tool's read-inventory response): its Comms Hub
# Function, its Gas Proxy Function and a consumer access device (a Type 2 device).
DCC_BOXED_DEVICES: dict[str, str] = {
    "887384906A1002DB": "chf",
    "887384CC6A1002DB": "gpf",
    "BC6E76FE007CB4F3": "type_2",
}

# What DCC Boxed's own 8.2 answer reports for those devices and their premises (the
# read-inventory response above, field for field).
_DCC_BOXED_METER_HAN = dict(
    manufacturer="106C", model="433100AC", chts_version="CHTS V1.4", firmware_version="9001",
    firmware_status="Active", cpl_status="Active", csp_region="4G Central", gbcs_version="4.2",
)  # fmt: skip
DEVICE_FACTS: dict[bytes, DeviceFacts] = {
    bytes.fromhex("887384906A1002DB"): DeviceFacts(
        status="Commissioned",
        date_commissioned="2025-12-28Z",
        han_variant="Single Band",
        connectivity="Virtual",
        **_DCC_BOXED_METER_HAN,
    ),
    bytes.fromhex("887384CC6A1002DB"): DeviceFacts(
        status="InstalledNotCommissioned", **_DCC_BOXED_METER_HAN
    ),
    bytes.fromhex("BC6E76FE007CB4F3"): DeviceFacts(
        duis_type="CAD",
        manufacturer="GEO",
        model="9001",
        status=None,
        firmware_status="Active",
        cpl_status="Active",
        csp_region="Central",
        gbcs_version="4.2",
    ),
}
# the household's Type 2 devices (RTDS_DEVICES below): 8.2 names an IHD and a CAD
DEVICE_FACTS |= {
    bytes.fromhex("00DB1234567890C1"): DeviceFacts(duis_type="IHD", status=None),
    bytes.fromhex("00DB1234567890C2"): DeviceFacts(duis_type="CAD", status=None),
}
# gbhan's emulated Comms Hub is a virtual one on a single-band (2.4 GHz) HAN, as DCC Boxed's is
GBHAN_FACTS: dict[str, DeviceFacts] = {
    "chf": DeviceFacts(han_variant="Single Band", connectivity="Virtual"),
}
PREMISES_ADDRESSES: dict[str, dict[str, str]] = {
    DCC_BOXED_PREMISES: {
        "uprn": "123456789012",
        "postcode": "1111-111",
        "address_identifier": "12334",
    },
}

# The devices the DUIS templates and their RTDS messages address, with the types the RTDS
# README and the RTDS join payloads give (a0 ESME, a1 GSME, a2 CHF, a3 GPF, a4 PPMID; the
# others from the device-type field of the RTDS join that names them; a6 an ESME, as RTDS's
# ECS46d commands and 8F66 alerts show: emulator/devices/rtds_household_90A6.json). Assumptions
# where RTDS is silent: a5 is an HCALCS, since the CS03A2 template joins it to an ESME as a
# Type 1 device; 99, the device the CS04AC template unjoins from the ESME,
# is an HCALCS; 01-02-...-08, the device the 8.8.2 templates unjoin, is a Type 2 device.
# C1 and C2 are gbhan's, not RTDS's: the household's IHD and CAD (rtds_household.json's
# type2_devices), which its meter serves once 8.7.2 has joined them.
RTDS_DEVICES: dict[str, str] = {
    "00DB1234567890A0": "esme",
    "00DB1234567890A1": "gsme",
    "00DB1234567890A2": "chf",
    "00DB1234567890A3": "gpf",
    "00DB1234567890A4": "ppmid",
    "00DB1234567890A5": "hcalcs",
    "00DB1234567890A6": "esme",
    "00DB123456789093": "esme",
    "00DB123456789094": "gsme",
    "00DB123456789098": "ppmid",
    "00DB123456789099": "hcalcs",
    "00DB12345678909A": "hcalcs",
    "00DB12345678909C": "gpf",
    "0102030405060708": "type_2",
    "00DB1234567890C1": "type_2",
    "00DB1234567890C2": "type_2",
}

# Method C join partners' certificates: SMKI state. RTDS's CS03C messages carry the one SMKI
# would return for the partner (the RTDS keystore holds a different certificate), so the
# inventory is seeded from those vectors.
METHOD_C_VECTORS = (
    "8.7.1_CS03CCritical/CS03CCritical_8.7.1_SUCCESS_PRECOMMAND_GBCS.HEX",
    "8.7.2_CS03CNonCritical/CS03CNonCritical_8.7.2_SUCCESS_COMMAND_GBCS.HEX",
)


def _method_c_certificates(rtds: Path) -> dict[bytes, bytes]:
    found: dict[bytes, bytes] = {}
    for relative in METHOD_C_VECTORS:
        path = rtds / relative
        if not path.exists():
            continue
        fields = decode(bytes.fromhex(path.read_text().strip())).payload.fields
        found[bytes(fields.other_device_id)] = bytes(fields.other_device_certificate)
    return found


def rtds_inventory(
    rtds: str | Path | None = None,
    *,
    supplier: bytes = SUPPLIER,
    electricity_distributor: bytes = ELECTRICITY_DISTRIBUTOR,
    extra: Iterable[Device] = (),
) -> Inventory:
    """The RTDS device population as one premises with DCC Boxed's Supplier and DNO; with
    `rtds` (the RTDS-4.5.0 folder) the Method C partners get their certificates."""
    inventory = Inventory()
    inventory.add_premises(PremisesRecord(RTDS_PREMISES, supplier, electricity_distributor))
    certificates = _method_c_certificates(Path(rtds)) if rtds is not None else {}
    for text, kind in RTDS_DEVICES.items():
        eui = bytes.fromhex(text)
        inventory.add(Device(eui, kind, RTDS_PREMISES, certificates.get(eui)))
    for device in extra:
        inventory.add(device)
    return inventory


#: named device sets `gbhan dsp devices add --preset` declares: (premises, EUI hex -> type)
PRESETS: dict[str, tuple[str, dict[str, str]]] = {
    "rtds": (RTDS_PREMISES, RTDS_DEVICES),
    "dccboxed": (DCC_BOXED_PREMISES, DCC_BOXED_DEVICES),
}


def preset_devices(name: str) -> list[Device]:
    """The devices of a preset (InventoryError for an unknown name)."""
    if name not in PRESETS:
        raise InventoryError(f"preset is one of {', '.join(PRESETS)}, not {name!r}")
    premises, devices = PRESETS[name]
    return [Device(bytes.fromhex(eui), kind, premises) for eui, kind in devices.items()]
