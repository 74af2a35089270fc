"""Putting a DSP together from the DCC Boxed and RTDS data: its GBCS keys, users, inventory,
WAN and delivery. Used by `gbhan dsp serve`, the benchmark and scenarios."""

from __future__ import annotations

import datetime as _dt
import logging
from pathlib import Path

from emulator.clock import Clock
from gbcs.keystore import Keystore

from . import duis, xmlsig
from .dsp import Dsp
from .eligibility import Eligibility
from .inventory import SUPPLIER, DeviceFacts, Inventory, InventoryError, rtds_inventory
from .keychoice import DeviceTrust
from .registry import RegisteredUser, UserRegistry, dcc_boxed_registry
from .routing import Router
from .state import DspState
from .userconfig import UserConfig
from .wan import Wan

log = logging.getLogger(__name__)

DSP_EUI = "90B3D51F30000002"
#: commands out to one device at once when the DSP keeps a journal
IN_FLIGHT_PER_DEVICE = 4
# DCC Boxed's GBCS organisation certificates expired in January 2026; GBCS signatures are
# judged at this date unless told otherwise (its XML-signing certificates run to 2118).
DEFAULT_GBCS_DATE = _dt.datetime(2025, 6, 1, tzinfo=_dt.UTC)


def acb_keystore(rtds_keystore: Path, when: _dt.datetime) -> Keystore:
    """The ACB's key pairs and the devices' certificates (the device side of each MAC): the
    RTDS keystore. Its ACB pair is the first-generation (Z1) one the devices trust; DCC
    Boxed's JSON also holds a second generation (Z1b) the RTDS devices do not know."""
    return Keystore.open(rtds_keystore, clock=when)


def users_keystore(dccboxed: Path, when: _dt.datetime) -> Keystore:
    """The users' GBCS signing certificates (DCC Boxed), judged at `when`."""
    return Keystore.open(dccboxed, clock=when)


def make_dsp(
    *,
    schema_dir: Path,
    dccboxed: Path,
    rtds: Path | None,
    rtds_keystore: Path,
    clock: Clock,
    gbcs_date: _dt.datetime = DEFAULT_GBCS_DATE,
    endpoints: dict[str, str] | None = None,
    wan: Wan | None = None,
    eligibility: Eligibility | None = None,
    delivery=None,
    acb_keys: Keystore | None = None,
    device_trust: DeviceTrust | None = None,
    state: DspState | None = None,
) -> Dsp:
    """A DSP with DCC Boxed's Supplier and DNO registered and the RTDS device population.
    The ACB signs and MACs with the pairs the devices trust: by default those of the RTDS
    keystore (what the emulated premises hold), whatever else `acb_keys` holds. With a
    `state` the request journal, the ACB counter and the endpoints stored there carry over
    from the last run (`endpoints` given here win, and are stored). The GPF device log
    backups it starts with are RTDS's GCS62 alerts (checked as any that comes later)."""
    xml_keys = Keystore.open(dccboxed)
    trusted = xmlsig.TrustedCertificates.from_keystore(xml_keys)
    gbcs_keys = users_keystore(dccboxed, gbcs_date)
    users = dcc_boxed_registry(xml_keys, endpoints)
    acb_counter = None
    inventory = rtds_inventory(rtds)
    if state is not None:
        restore_devices(inventory, state)
        for configured in state.users():
            register_user(configured, users, xml_keys, trusted, gbcs_keys)
        stored = state.endpoints()
        for user in users:
            if endpoints and user.name in endpoints:
                state.set_endpoint(user.eui, endpoints[user.name])
            elif user.eui in stored:
                user.endpoint = stored[user.eui]
        # never below a counter used before, nor below DCC Boxed's millisecond clock
        acb_counter = max(state.acb_counter() or 0, int(clock.utc_now().timestamp() * 1000))
    dsp = Dsp(
        schema=duis.load_schema(str(schema_dir)),
        trusted=trusted,
        signer=xmlsig.signer_from_keystore(xml_keys, DSP_EUI),
        gbcs_keys=gbcs_keys,
        acb_keys=acb_keys or acb_keystore(rtds_keystore, gbcs_date),
        device_trust=device_trust or DeviceTrust.rtds(rtds_keystore),
        users=users,
        inventory=inventory,
        router=Router(wan or Wan(clock, latency_s=0.0)),
        clock=clock,
        delivery=delivery,
        eligibility=eligibility,
        acb_counter=acb_counter,
        ledger=state.ledger() if state is not None else None,
        # with a journal, hold the backlog in the DSP so a restart re-sends it (state.py)
        in_flight_per_device=IN_FLIGHT_PER_DEVICE if state is not None else None,
    )
    if rtds is not None:  # the DCC's record from before the run: RTDS's GPF's last backup
        for path in sorted((rtds / "NA_GCS62").glob("*_ALERT_GBCS.HEX")):
            dsp.keep_gpf_backup(bytes.fromhex(path.read_text().strip()))
    if state is not None:  # the backups an earlier run on this state kept, and from now on
        dsp.restore_backups(state.backups())
        dsp.on_backup = state.keep_backup
    return dsp


def restore_devices(inventory: Inventory, state: DspState) -> None:
    """The devices the state directory holds join the inventory (a stored device that clashes
    with a preset one is logged and left out), each in a premises of its stored Supplier and
    with the facts the lifecycle recorded (12.2's Pending and manufacturer ...), and from now
    on every device declared, recorded or removed is written there."""
    records = state.device_records()
    for device, source in state.devices():
        facts, supplier = records.get(device.eui, (None, None))
        try:
            inventory.declare(device.eui, device.device_type, device.premises,
                              supplier=supplier or SUPPLIER)  # fmt: skip
        except InventoryError as exc:
            log.warning("stored device (%s) left out: %s", source, exc)
            continue
        if facts is not None:
            inventory.record(device.eui, facts)
    inventory.on_declare.append(
        lambda device: state.add_device(
            device, "lifecycle", inventory.premises[device.premises].supplier
        )
    )

    def keep_facts(eui: bytes, facts: DeviceFacts) -> None:
        """A preset device (RTDS's, not in dsp.db) commissioned: stored with its facts."""
        if not state.record_facts(eui, facts):
            device = inventory.get(eui)
            if device is not None:
                supplier = inventory.premises[device.premises].supplier
                state.add_device(device, "lifecycle", supplier)
                state.record_facts(eui, facts)

    inventory.on_record.append(keep_facts)
    inventory.on_remove.append(state.remove_device)


def register_user(
    user: UserConfig,
    registry: UserRegistry,
    xml_keys: Keystore,
    trusted: xmlsig.TrustedCertificates,
    gbcs_keys: Keystore,
) -> RegisteredUser:
    """Register a configured user: its XML-signing certificates trusted (those given, else the
    DCC Boxed keystore's for its EUI) and its GBCS certificates added to the users' keys."""
    certificates = user.certificates("xml") or [
        e.certificate for e in xml_keys.xml_signing_entries(user.eui) if e.certificate is not None
    ]
    for certificate in certificates:
        trusted.add(certificate)
    for certificate in user.certificates("gbcs"):
        gbcs_keys.add_certificate(certificate, f"configured user {user.name}")
    return registry.register(
        RegisteredUser(user.eui, user.role, user.name, certificates, user.endpoint, user.also)
    )
