"""The DSP's user registry: each DCC user's EUI, DUIS roles, XML-signing certificates, and
the URL its asynchronous responses and alerts are POSTed to.

A user ID (an EUI) may be registered for several DUIS roles, as DCC Boxed's are: RTDS's
commands the ACB sends for an Export Supplier (ECS21c, ECS39b) and for an Other User (ECS50,
GCS36) name the Supplier's ID 90B3D51F30010000 as the party they are for, and those it sends
for the Gas Transporter (GCS31) the network operator's 90B3D51F30020000. A request carries
no role, so the DSP takes the one its SRV allows (`acting_role`). The request's XML signature
must be by a certificate registered for that same user, so nobody can send as another user
with their own valid key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography import x509

from gbcs.keystore import Keystore

from .eligibility import DuisRole

#: the order a user's roles are taken in when its request's SRV allows more than one: the
#: target's own Supplier first (the import, or for a gas device the gas, one: the devices hold
#: its anchor), then its network party, the Export Supplier, the Registered Supplier Agent and
#: an Other User (what any user may be), a Load Controller last
ELECTRICITY_FIRST = (
    DuisRole.IMPORT_SUPPLIER, DuisRole.GAS_SUPPLIER, DuisRole.ELECTRICITY_DISTRIBUTOR,
    DuisRole.GAS_TRANSPORTER, DuisRole.EXPORT_SUPPLIER, DuisRole.REGISTERED_SUPPLIER_AGENT,
    DuisRole.OTHER_USER, DuisRole.LOAD_CONTROLLER,
)  # fmt: skip
GAS_FIRST = (
    DuisRole.GAS_SUPPLIER, DuisRole.IMPORT_SUPPLIER, DuisRole.GAS_TRANSPORTER,
    DuisRole.ELECTRICITY_DISTRIBUTOR, DuisRole.EXPORT_SUPPLIER,
    DuisRole.REGISTERED_SUPPLIER_AGENT, DuisRole.OTHER_USER, DuisRole.LOAD_CONTROLLER,
)  # fmt: skip
GAS_DEVICES = frozenset({"gsme", "gpf"})


@dataclass
class RegisteredUser:
    """One user: `role` the one it was registered for first, `also` any further roles of the
    same user ID; `endpoint` None means its responses are kept by the DSP's delivery only."""

    eui: bytes
    role: DuisRole
    name: str
    certificates: list[x509.Certificate] = field(default_factory=list)
    endpoint: str | None = None
    also: tuple[DuisRole, ...] = ()

    @property
    def roles(self) -> tuple[DuisRole, ...]:
        return (self.role, *(r for r in self.also if r != self.role))

    def acting_role(
        self, eligible: frozenset[DuisRole], device_type: str | None = None
    ) -> DuisRole:
        """The role this user sends a request as: of its roles, the one the SRV allows
        (`eligible`), in ELECTRICITY_FIRST's order (GAS_FIRST's for a gas device); its first
        role when the SRV allows none of them (then refused E2 as that role)."""
        order = GAS_FIRST if device_type in GAS_DEVICES else ELECTRICITY_FIRST
        held = [r for r in order if r in self.roles and r in eligible]
        return held[0] if held else self.role

    def signed_by(self, certificate: x509.Certificate | None) -> bool:
        return certificate is not None and any(
            certificate.serial_number == c.serial_number and certificate.issuer == c.issuer
            for c in self.certificates
        )


class UserRegistry:
    """Users by EUI."""

    def __init__(self) -> None:
        self._users: dict[bytes, RegisteredUser] = {}

    def register(self, user: RegisteredUser) -> RegisteredUser:
        self._users[bytes(user.eui)] = user
        return user

    def get(self, eui: bytes) -> RegisteredUser | None:
        return self._users.get(bytes(eui))

    def by_role(self, role: DuisRole) -> list[RegisteredUser]:
        return [u for u in self._users.values() if role in u.roles]

    def __iter__(self):
        return iter(self._users.values())

    def set_endpoint(self, eui: bytes, url: str | None) -> None:
        user = self.get(eui)
        if user is None:
            raise KeyError(f"no user {eui.hex().upper()}")
        user.endpoint = url


SUPPLIER_EUI = bytes.fromhex("90B3D51F30010000")
DNO_EUI = bytes.fromhex("90B3D51F30020000")
#: (EUI, roles, name): the Supplier's ID is also the Export Supplier and an Other User, the
#: network operator's also the Gas Transporter (module docstring). DCC Boxed's third user ID,
#: the Other User 00DB123456780004 whose XML-signing pair the DCC's signing tool holds, is
#: not preset: `gbhan dsp users add` registers it
DCC_BOXED_USERS = (
    (SUPPLIER_EUI, (DuisRole.IMPORT_SUPPLIER, DuisRole.EXPORT_SUPPLIER, DuisRole.OTHER_USER),
     "supplier"),
    (DNO_EUI, (DuisRole.ELECTRICITY_DISTRIBUTOR, DuisRole.GAS_TRANSPORTER), "dno"),
)  # fmt: skip


def dcc_boxed_registry(keystore: Keystore, endpoints: dict[str, str] | None = None) -> UserRegistry:
    """DCC Boxed's users (DCC_BOXED_USERS) with their XML-signing certificates (OU 87) from its
    keystore; `endpoints` maps 'supplier' / 'dno' to a URL."""
    endpoints = endpoints or {}
    registry = UserRegistry()
    for eui, (role, *also), name in DCC_BOXED_USERS:
        certificates = [
            e.certificate for e in keystore.xml_signing_entries(eui) if e.certificate is not None
        ]
        registry.register(
            RegisteredUser(eui, role, name, certificates, endpoints.get(name), tuple(also))
        )
    return registry
