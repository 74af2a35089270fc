"""Keys of one emulated premises (or a whole feeder of them).

Trust anchors and signers come from the given keystores (the RTDS folder, the DCC Boxed JSON).
Devices whose private keys no keystore holds (every RTDS device) get DS key pairs from a
test PKI (emulator.smki.testpki): the devices sign with them and the back office verifies
with the certificates issued for them. Without `identities` that PKI is generated for the
process (tests, scenarios); with `identities` (`gbhan dsp serve`'s state directory) the keys
and certificates are the ones lodged in the SMKI repository the SMKI service serves, the same
after every restart, so a client that fetches a device's certificate verifies its responses. MACs need no device private key: GBCS MAC
keys come from static ECDH, which either side's private key computes, and the keystores hold
the remote parties' KA private keys (the ACB's for commands, the recipient's for responses).
"""

from __future__ import annotations

import datetime as dt
import functools
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from emulator import data
from emulator.smki.identities import DEVICE_CERT_START, DeviceIdentities
from emulator.smki.testpki import TestPki
from gbcs.keystore import DS, KA, KeyEntry, Keystore, as_eui, key_id
from gbcs.roles import ACB_EUI, Role

#: The DCC's test organisation certificates are valid 2015-2025 (RTDS) and to January 2026
#: (DCC Boxed): the devices judge certificates at this fixed date, not at today's.
VALIDITY_AT = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
RTDS_KEYSTORE = data.rtds_keystore()
SUPPLIER = bytes.fromhex("90B3D51F30010000")
NETWORK_OPERATOR = bytes.fromhex("90B3D51F30020000")
TRANSITIONAL_COS = bytes.fromhex("90B3D51F30000004")  # signs 6.23's Supplier replacement

LOAD_CONTROLLER = bytes.fromhex("90B3D51F30010008")  # RTDS's; its household's meter holds it
#: RTDS's meter's anchors as its answers show them: the Supplier, Network Operator and ACB,
#: and the Load Controller a Supplier's CS02g placed
LOAD_CONTROLLER_ANCHORS = {
    SUPPLIER: Role.SUPPLIER, NETWORK_OPERATOR: Role.NETWORK_OPERATOR,
    ACB_EUI: Role.ACCESS_CONTROL_BROKER, LOAD_CONTROLLER: Role.LOAD_CONTROLLER,
}  # fmt: skip

#: anchor roles an ESME holds (GBCS: one certificate per role it trusts)
ANCHOR_ROLES = (Role.SUPPLIER, Role.NETWORK_OPERATOR, Role.ACCESS_CONTROL_BROKER)


class FollowingKeystore(Keystore):
    """The premises' keystore, whose view of a device's own certificates follows the device:
    once it takes a new certificate (CS02d, 6.15.2), the ones it held before for that usage
    no longer count, so what the back office verifies with is what the device signs and MACs
    with (an answer signed with the old key then fails, as it does at a DCC user)."""

    def __init__(self, clock: dt.datetime | None = None, *, check_validity: bool = True):
        super().__init__(clock, check_validity=check_validity)
        #: (EUI, usage, key id) of the certificates a device replaced
        self._withdrawn: set[tuple[bytes, str, bytes]] = set()

    def entries(self, eui: bytes | str, usage: str, *, valid_only: bool = True) -> list[KeyEntry]:
        found = super().entries(eui, usage, valid_only=valid_only)
        if not self._withdrawn:
            return found
        eui = as_eui(eui)
        return [e for e in found if (eui, usage, e.key_id) not in self._withdrawn]

    def replace_device_certificate(
        self, eui: bytes, usage: str, certificate: x509.Certificate, source: str
    ) -> None:
        """`certificate` is the device's `usage` one from now on; those it replaces are
        withdrawn from every lookup (the pairings cached with them too)."""
        eui = as_eui(eui)
        public = certificate.public_key()
        if not isinstance(public, ec.EllipticCurvePublicKey):  # the device took none such
            return
        before = super().entries(eui, usage, valid_only=False)
        self.add_certificate(certificate, source)
        new = key_id(public)
        self._withdrawn |= {(eui, usage, e.key_id) for e in before if e.key_id != new}
        self._withdrawn.discard((eui, usage, new))
        self._lookup_cache = {}


class PremisesKeys:
    """The keystore every device and the back office share, plus the generated device keys."""

    def __init__(
        self,
        keystore: Keystore,
        anchors: dict[bytes, Role],
        pki: TestPki,
        identities: DeviceIdentities | None = None,
    ) -> None:
        self.keystore = keystore
        self.anchors = anchors
        self.pki = pki
        self.identities = identities
        self._device_keys: dict[bytes, ec.EllipticCurvePrivateKey] = {}
        #: remote parties' certificates devices placed as anchors -> the private key held
        self._placed: dict[x509.Certificate, ec.EllipticCurvePrivateKey | None] = {}

    @classmethod
    def open(
        cls,
        *paths: str | Path,
        anchors: dict[bytes, Role] | None = None,
        validity_at: dt.datetime = VALIDITY_AT,
        identities: DeviceIdentities | None = None,
    ) -> PremisesKeys:
        """Keystores from `paths` (default: the RTDS keystore); anchors default to the RTDS
        Supplier, Network Operator, ACB and Transitional CoS party; device keys from `identities` when given, else
        from a test PKI made for this process."""
        keystore = FollowingKeystore.open(*(paths or (RTDS_KEYSTORE,)), clock=validity_at)
        if anchors is None:
            anchors = {
                SUPPLIER: Role.SUPPLIER,
                NETWORK_OPERATOR: Role.NETWORK_OPERATOR,
                ACB_EUI: Role.ACCESS_CONTROL_BROKER,
                TRANSITIONAL_COS: Role.TRANSITIONAL_COS,
            }
        pki = identities.pki if identities is not None else TestPki.create(validity_at)
        return cls(keystore, anchors, pki, identities)

    @property
    def remote_parties(self) -> Keystore:
        """Every generation of the remote parties' key pairs we have (RTDS's and DCC Boxed's):
        a device agreeing MAC keys with whatever key its cells hold uses the party's private
        key in place of its own (GBCS's static ECDH gives the same key either way round)."""
        return _remote_parties(self.keystore.clock or VALIDITY_AT)

    def anchor_key(self, eui: bytes) -> ec.EllipticCurvePublicKey:
        """The DS public key of a trusted remote party (KeyMissing if the keystore lacks it)."""
        return self.keystore.ds_public_keys(eui)[0].public_key

    def signer(self, eui: bytes | str) -> ec.EllipticCurvePrivateKey:
        """A remote party's DS private key (to originate commands, e.g. as the NO)."""
        return self.keystore.ds_private_key(eui)

    def device_signing_key(self, eui: bytes | str) -> ec.EllipticCurvePrivateKey:
        """The device's DS private key from the test PKI; its certificate joins the keystore
        (with `identities`: the certificate lodged in the SMKI repository, issued once)."""
        eui = as_eui(eui)
        key = self._device_keys.get(eui)
        if key is None:
            key = self.pki.device_key(eui, "DS")
            if self.identities is not None:
                der = self.identities.certificate(eui, "DS")
            else:
                _serial, der = self.pki.issue_device(eui, "DS", DEVICE_CERT_START)
            self.keystore.add_certificate(
                x509.load_der_x509_certificate(der), f"gbhan test PKI DS {eui.hex()}"
            )
            self._device_keys[eui] = key
        return key

    def own_certificate_installed(
        self, eui: bytes, usage: str, der: bytes, key: ec.EllipticCurvePrivateKey
    ) -> None:
        """Device `eui` took `der` (for its new pair `key`) as its own `usage` certificate
        (CS02d, 6.15.2): the premises' view follows, verifying its answers with that one and no
        longer with the one it replaced (with a plain Keystore, only added); a DS pair is the
        device's signing key from now on, as a real device keeps it over a restart."""
        eui = as_eui(eui)
        certificate = x509.load_der_x509_certificate(der)
        source = f"installed by {eui.hex()} (CS02d) {usage}"
        if usage == DS:
            self._device_keys[eui] = key
        if isinstance(self.keystore, FollowingKeystore):
            self.keystore.replace_device_certificate(eui, usage, certificate, source)
        else:
            self.keystore.add_certificate(certificate, source)

    def anchor_placed(self, der: bytes) -> None:
        """A device placed `der`, a remote party's certificate, in a trust anchor cell
        (6.15.1, 6.23, 8.5): the premises' view (`placed_view`) learns it, with its private
        key where the remote parties' keystores hold it, so what the device now MACs (or the
        party signs) with that pair verifies. The shared keystore stays as it was: other
        devices sharing these keys may still hold the old one."""
        certificate = x509.load_der_x509_certificate(der)
        public = certificate.public_key()
        if not isinstance(public, ec.EllipticCurvePublicKey) or certificate in self._placed:
            return
        identity = key_id(public)
        parties = self.remote_parties
        private = next((k for e in parties.all_entries() if e.key_id == identity
                        for k in (parties.private_key_of(e),) if k is not None), None)  # fmt: skip
        self._placed[certificate] = private

    def placed_view(self, *devices: bytes) -> Keystore | None:
        """The anchors devices placed (`anchor_placed`) with `devices`' own certificates, to
        judge an answer MAC'd or signed with a placed pair; None when none was placed."""
        if not self._placed:
            return None
        view = Keystore(self.keystore.clock)
        for certificate, private in self._placed.items():
            view.add_certificate(certificate, "placed in a trust anchor cell")
            if private is not None:
                view.add_private_key(private, "a remote party's, placed as an anchor")
        for device in devices:
            for usage in (DS, KA):
                for entry in self.keystore.entries(device, usage, valid_only=False):
                    if entry.certificate is not None:
                        view.add_certificate(entry.certificate, entry.source)
        return view


@functools.cache
def _remote_parties(validity_at: dt.datetime) -> Keystore:
    return Keystore.open(RTDS_KEYSTORE, data.dccboxed_keystore(), clock=validity_at)
