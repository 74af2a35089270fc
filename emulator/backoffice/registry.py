"""The DSP's user registry: each DCC user's EUI, DUIS role, XML-signing certificates, and the
URL its asynchronous responses and alerts are POSTed to.

In DUIS a user ID (an EUI) is registered for one role, so the role of a request is the role
of its originator; the request's XML signature must be by a certificate registered for that
same user, so nobody can send as another user with their own valid key.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography import x509

from gbcs.keystore import Keystore

from .eligibility import DuisRole


@dataclass
class RegisteredUser:
    """One user: `endpoint` None means its responses are kept by the DSP's delivery only."""

    eui: bytes
    role: DuisRole
    name: str
    certificates: list[x509.Certificate] = field(default_factory=list)
    endpoint: str | None = None

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
        return [u for u in self._users.values() if u.role == role]

    def __iter__(self):
        return iter(self._users.values())

    def set_endpoint(self, eui: bytes, url: str | None) -> None:
        user = self.get(eui)
        if user is None:
            raise KeyError(f"no user {eui.hex().upper()}")
        user.endpoint = url


SUPPLIER_EUI = bytes.fromhex("90B3D51F30010000")
DNO_EUI = bytes.fromhex("90B3D51F30020000")
DCC_BOXED_USERS = (
    (SUPPLIER_EUI, DuisRole.IMPORT_SUPPLIER, "supplier"),
    (DNO_EUI, DuisRole.ELECTRICITY_DISTRIBUTOR, "dno"),
)


def dcc_boxed_registry(keystore: Keystore, endpoints: dict[str, str] | None = None) -> UserRegistry:
    """DCC Boxed's Import Supplier and Electricity Distributor, with their XML-signing
    certificates (OU 87) from its keystore; `endpoints` maps 'supplier' / 'dno' to a URL."""
    endpoints = endpoints or {}
    registry = UserRegistry()
    for eui, role, name in DCC_BOXED_USERS:
        certificates = [
            e.certificate for e in keystore.xml_signing_entries(eui) if e.certificate is not None
        ]
        registry.register(RegisteredUser(eui, role, name, certificates, endpoints.get(name)))
    return registry
