"""Which key pair the DSP and its users sign and MAC with: the one whose certificate the
devices hold, chosen by key identity, never by the order certificates were loaded in.

A keystore may hold several generations for one EUI (DCC Boxed's JSON has Z1 and Z1b pairs
for the Supplier, the Network Operator and the ACB; merged with RTDS's folder it still does).
A device trusts one certificate per remote party and usage (its trust anchors), so
`Keystore.ds_private_key` / `mac_apdu`, which take the first valid pair, only work when the
first happens to be that one. `DeviceTrust` names the anchors; `mac_for_device` MACs with the
trusted ACB pair using gbcs's public KDF and MAC primitives.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from emulator import data
from emulator.errors import EmulatorError
from gbcs.errors import KeyMissing
from gbcs.keystore import DS, KA, USAGES, KeyEntry, Keystore, as_eui
from gbcs.roles import ACB_EUI
from gbcs.security import apdu_layout, compute_mac, derive_key, mac_parties, wrap_with_mac

RTDS_KEYSTORE = data.rtds_keystore()
SUPPLIER = bytes.fromhex("90B3D51F30010000")
NETWORK_OPERATOR = bytes.fromhex("90B3D51F30020000")
TRANSITIONAL_COS = bytes.fromhex("90B3D51F30000004")
LOAD_CONTROLLER = bytes.fromhex("90B3D51F30010008")  # RTDS's; the household's meter holds it
REMOTE_PARTIES = (SUPPLIER, NETWORK_OPERATOR, ACB_EUI, TRANSITIONAL_COS, LOAD_CONTROLLER)


class KeyChoiceError(EmulatorError, KeyMissing):
    """No key pair, or more than one, of an EUI matches what the devices trust."""

    def __init__(self, message: str):
        super().__init__("keychoice", message)


@dataclass(frozen=True)
class DeviceTrust:
    """The remote parties' certificates the devices hold: key ids by (EUI, usage)."""

    anchors: frozenset[tuple[bytes, str, bytes]]

    @classmethod
    def from_keystore(
        cls, keystore: Keystore, euis: Iterable[bytes | str] = REMOTE_PARTIES
    ) -> DeviceTrust:
        """The anchors as a keystore the devices were provisioned from holds them (every
        certificate of those EUIs, whatever its dates: expiry is the checker's business)."""
        anchors = set()
        for eui in euis:
            for usage in USAGES:
                for entry in keystore.entries(eui, usage, valid_only=False):
                    anchors.add((as_eui(eui), usage, entry.key_id))
        return cls(frozenset(anchors))

    @classmethod
    def rtds(cls, path: Path = RTDS_KEYSTORE) -> DeviceTrust:
        """What the emulated premises trust by default (emulator.devices.keys: the RTDS
        keystore's Supplier, Network Operator, ACB, Transitional CoS party and Load
        Controller)."""
        return cls.from_keystore(Keystore.open(path, check_validity=False))

    def trusts(self, eui: bytes | str, usage: str, key_id: bytes) -> bool:
        return (as_eui(eui), usage, bytes(key_id)) in self.anchors

    def pair(
        self, keystore: Keystore, eui: bytes | str, usage: str
    ) -> tuple[KeyEntry, ec.EllipticCurvePrivateKey]:
        """The one valid pair of `eui` in `keystore` whose certificate the devices hold."""
        eui = as_eui(eui)
        pairs = keystore.key_pairs(eui, usage)
        found = [(e, k) for e, k in pairs if self.trusts(eui, usage, e.key_id)]
        if len(found) != 1:
            what = "none" if not found else f"{len(found)}"
            raise KeyChoiceError(
                f"{what} of the {len(pairs)} valid {usage} key pair(s) of {eui.hex().upper()} is one "
                "the devices trust"
            )
        return found[0]

    def signing_key(self, keystore: Keystore, eui: bytes | str) -> ec.EllipticCurvePrivateKey:
        return self.pair(keystore, eui, DS)[1]


def mac_for_device(apdu: bytes, keystore: Keystore, trust: DeviceTrust) -> bytes:
    """`gbcs.security.mac_apdu` for a remote party's command, with the ACB's KA pair chosen
    by what the target trusts (the device's own KA certificate is the peer)."""
    apdu = bytes(apdu)
    layout = apdu_layout(apdu)
    if layout.signature is None:
        raise KeyChoiceError("a MAC'd APDU needs a signature field (00 or 40 + r || s)")
    own, device = mac_parties(layout.cra_flag, layout.originator, layout.target, keystore)
    if own != ACB_EUI:
        raise KeyChoiceError(f"{own.hex().upper()}→{device.hex().upper()}: not the ACB's MAC")
    _, private = trust.pair(keystore, own, KA)
    peers = keystore.entries(device, KA)
    if len(peers) != 1:
        raise KeyChoiceError(f"{len(peers)} KA certificate(s) of device {device.hex().upper()}")
    key = derive_key(private, peers[0].public_key, layout.originator, layout.cra_flag,
                     layout.counter, layout.target)  # fmt: skip
    return wrap_with_mac(apdu, compute_mac(apdu, key, layout.originator))
