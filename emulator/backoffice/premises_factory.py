"""The one place that builds the emulated premises `gbhan dsp serve` connects to the DSP.

The premises (Comms Hub, ESME, HCALCS on the HAN) is `emulator.devices.premises.Premises`,
built by the devices package (below the back office); the DSP only needs its `PremisesPort`
side (routing.py). Besides the RTDS household, `build_generated` makes more households of the
same make-up under EUIs of their own (each its own HAN, so a command for one never waits on
another's radio), and `attach_generated` tells the DSP about them: inventory, and the
meters' key-agreement certificates its ACB MACs with.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

from cryptography import x509

from emulator.clock import Clock
from emulator.devices import households
from emulator.devices.keys import PremisesKeys
from emulator.devices.premises import HAN_LATENCY_S, PROFILE, SLOTS, Premises
from emulator.han import LinkQuality, Medium
from emulator.smki.identities import DEVICE_CERT_START, DeviceIdentities

from .dsp import Dsp
from .inventory import ELECTRICITY_DISTRIBUTOR, SUPPLIER, Device, PremisesRecord

#: generated households are numbered 1..MAX_GENERATED (their EUIs carry the number)
MAX_GENERATED = 0x7000
_EUI_PREFIX = bytes.fromhex("00DB123456")


async def build_premises(
    clock: Clock,
    switch: str = "model",
    boost_switch: bool = False,
    identities: DeviceIdentities | None = None,
    han_latency_s: float = HAN_LATENCY_S,
) -> Premises:
    """The RTDS household (Comms Hub, ESME 00DB1234567890A0, an HCALCS per slot) on the
    given clock, trusting the RTDS Supplier, Network Operator and ACB; its devices sign with
    the keys `identities` keeps (the SMKI repository's), else with keys made for this run.
    `han_latency_s` is each HAN hop's air time: the ESME runs one command at a time and a 7.7
    takes about four hops per switch, so at the default 5 ms one premises answers at most
    ~45 SRVs/s however fast the DSP is; 0 measures the DSP and the device code alone."""
    _check_latency(han_latency_s)
    return await Premises.start(
        clock,
        Medium(clock, seed=1, default_link=LinkQuality(latency_s=han_latency_s)),
        keys=PremisesKeys.open(identities=identities),
        switch=switch,
        secmp0046_boost=boost_switch,
    )


async def build_second_rtds_meter(
    clock: Clock,
    identities: DeviceIdentities | None = None,
    han_latency_s: float = HAN_LATENCY_S,
) -> Premises:
    """RTDS's second ESME, 00DB1234567890A6 (the ECS46d future-dated and cancellation
    commands' target, an APC on every slot: devices/rtds_household_90A6.json), on a HAN and
    Comms Hub of its own, so the DSP routes what 8.2 lists it for rather than E20."""
    _check_latency(han_latency_s)
    household = households.load(households.FILES[1])
    return await Premises.start(
        clock,
        Medium(clock, seed=2, default_link=LinkQuality(latency_s=han_latency_s)),
        keys=PremisesKeys.open(identities=identities),
        **household.premises_kwargs(),
    )


@dataclass(frozen=True)
class GeneratedHousehold:
    """EUIs of generated household `number`: 00DB123456<number:04X> then A0 the ESME, A2 the
    Comms Hub Function, B1..B5 the HCALCS in slots 1..5 (RTDS's own household is 7890)."""

    number: int

    def __post_init__(self) -> None:
        if not 1 <= self.number <= MAX_GENERATED:
            raise ValueError(f"a generated household is numbered 1..{MAX_GENERATED}")

    def eui(self, last: int) -> bytes:
        return _EUI_PREFIX + self.number.to_bytes(2, "big") + bytes((last,))

    @property
    def name(self) -> str:
        return f"gbhan-household-{self.number}"

    @property
    def esme(self) -> bytes:
        return self.eui(0xA0)

    @property
    def hub(self) -> bytes:
        return self.eui(0xA2)

    def switch(self, slot: int) -> bytes:
        return self.eui(0xB0 + slot)

    def profile(self) -> dict:
        """RTDS's household data (labels, calendars, boost log) under this household's EUIs;
        the switch in slot 2 is the HCALCS the meter names; no other GBCS devices, no gas."""
        profile = copy.deepcopy(json.loads(PROFILE.read_text()))
        profile["esme_eui"], profile["hub_eui"] = self.esme.hex().upper(), self.hub.hex().upper()
        profile["switch_euis"] = {str(s): self.switch(s).hex().upper() for s in SLOTS}
        profile["identifiers"]["2"] = self.switch(2).hex().upper()
        profile["device_log"] = {}
        profile.pop("gbcs_devices", None)
        profile.pop("gas", None)  # RTDS's GSME and GPF: their EUIs are RTDS's household's
        profile.pop("type2_devices", None)  # so are its IHD's and CAD's
        return profile

    def devices(self) -> list[Device]:
        """The inventory's view: the ESME, the Comms Hub Function and the five HCALCS."""
        return [
            Device(self.esme, "esme", self.name),
            Device(self.hub, "chf", self.name),
            *(Device(self.switch(s), "hcalcs", self.name) for s in SLOTS),
        ]


async def build_generated(
    clock: Clock,
    numbers: range | list[int],
    identities: DeviceIdentities | None = None,
    han_latency_s: float = HAN_LATENCY_S,
    boost_switch: bool = False,
) -> list[tuple[GeneratedHousehold, Premises, x509.Certificate]]:
    """Generated households (each on a HAN of its own, sharing one set of keys), with each
    meter's key-agreement certificate: from `identities` (lodged in the SMKI repository,
    the same after a restart) or issued by this run's test PKI."""
    _check_latency(han_latency_s)
    keys = PremisesKeys.open(identities=identities)
    built = []
    for number in numbers:
        household = GeneratedHousehold(number)
        certificate = meter_certificate(household, identities, keys)
        keys.keystore.add_certificate(certificate, f"gbhan KA {household.esme.hex()}")
        premises = await Premises.start(
            clock,
            Medium(clock, seed=number, default_link=LinkQuality(latency_s=han_latency_s)),
            keys=keys,
            secmp0046_boost=boost_switch,
            esme_eui=household.esme,
            hub_eui=household.hub,
            profile=household.profile(),
        )
        built.append((household, premises, certificate))
    return built


def meter_certificate(
    household: GeneratedHousehold,
    identities: DeviceIdentities | None,
    keys: PremisesKeys | None = None,
) -> x509.Certificate:
    """The household meter's key-agreement certificate (what the ACB's MACs and the meter's
    MAC'd responses are computed with): lodged in `identities` (its signing certificate too,
    so a premises host in another process finds both), else issued by `keys`' test PKI."""
    if identities is not None:
        identities.certificate(household.esme, "DS")
        der = identities.certificate(household.esme, "KA")
    elif keys is not None:
        _serial, der = keys.pki.issue_device(household.esme, "KA", DEVICE_CERT_START)
    else:
        raise ValueError("a meter certificate needs identities or a test PKI")
    return x509.load_der_x509_certificate(der)


def attach_generated(
    dsp: Dsp, built: list[tuple[GeneratedHousehold, Any, x509.Certificate]]
) -> None:
    """Make generated households known to the DSP (devices in its inventory with DCC Boxed's
    Supplier and DNO, meters' KA certificates for the ACB's MACs) and routable; each comes
    with its PremisesPort (a Premises here, or a remote_premises.HostedPremises)."""
    for household, premises, certificate in built:
        if household.name not in dsp.inventory.premises:
            dsp.inventory.add_premises(
                PremisesRecord(household.name, SUPPLIER, ELECTRICITY_DISTRIBUTOR)
            )
            for device in household.devices():
                dsp.inventory.add(device)
        dsp.acb_keys.add_certificate(certificate, f"gbhan KA {household.esme.hex()}")
        dsp.attach(premises)


def _check_latency(han_latency_s: float) -> None:
    if han_latency_s < 0:
        raise ValueError(f"HAN latency {han_latency_s} s is negative")
