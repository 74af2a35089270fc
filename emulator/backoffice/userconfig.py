"""DSP users by configuration: a TOML file, or `gbhan dsp users add`, kept in the state.

    [[user]]
    eui = "00-DB-12-34-56-78-00-04"      # the DUIS user ID (any EUI-64 spelling)
    role = "OU"                          # IS, ES, GS, RSA, ED, GT or OU; or several
                                         # roles of one user ID: "IS,ES,OU" or ["IS", "ES"]
    name = "other"                       # a label for logs and `users list`
    endpoint = "http://127.0.0.1:8092/"  # where its responses and alerts go (optional)
    xml_certificates = ["xml.pem"]       # optional: XML-signing certificates (PEM files)
    gbcs_certificates = ["ds.pem"]       # optional: GBCS signing certificates (PEM files)

Certificates left out are those the DCC Boxed keystore holds for the EUI (its XML-signing
one, OU 87 / role 135, and its GBCS organisation ones), so DCC Boxed's own users need only
an EUI and a role. Paths are relative to the TOML file. A user ID registered for several
roles (as DCC Boxed's Supplier is Import Supplier, Export Supplier and Other User) sends each
request as the role its SRV allows (registry.RegisteredUser.acting_role); the first given is
its main one.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509

from emulator.errors import EmulatorError

from .eligibility import DuisRole

_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.S)
_EUI = re.compile(r"^[0-9A-Fa-f]{16}$")


class UserConfigError(EmulatorError, ValueError):
    """A user entry that cannot be registered (names the entry and the field)."""


@dataclass(frozen=True)
class UserConfig:
    """One configured user; certificates as PEM blocks (empty: the DCC Boxed keystore's);
    `also` the further roles of its user ID."""

    eui: bytes
    role: DuisRole
    name: str
    endpoint: str | None = None
    xml_certificates: tuple[bytes, ...] = field(default=())
    gbcs_certificates: tuple[bytes, ...] = field(default=())
    also: tuple[DuisRole, ...] = field(default=())

    @property
    def roles(self) -> tuple[DuisRole, ...]:
        return (self.role, *(r for r in self.also if r != self.role))

    def certificates(self, which: str) -> list[x509.Certificate]:
        blocks = self.xml_certificates if which == "xml" else self.gbcs_certificates
        return [x509.load_pem_x509_certificate(block) for block in blocks]


def parse_eui(text: str, where: str = "eui") -> bytes:
    """An EUI-64 from `00-DB-12-34-56-78-00-04`, `00:DB:…` or `00DB123456780004`."""
    compact = re.sub(r"[-:\s]", "", str(text))
    if not _EUI.match(compact):
        raise UserConfigError(f"{where}: not an EUI-64: {text!r}")
    return bytes.fromhex(compact)


def parse_role(text: str, where: str = "role") -> DuisRole:
    try:
        return DuisRole(str(text).upper())
    except ValueError:
        roles = ", ".join(r.value for r in DuisRole)
        raise UserConfigError(f"{where}: role is one of {roles}, not {text!r}") from None


def parse_roles(value: object, where: str = "role") -> tuple[DuisRole, ...]:
    """One role or several, the main one first: "IS", "IS,ES,OU" or a list of codes; each
    once."""
    items = value if isinstance(value, list) else str(value).split(",")
    roles = tuple(parse_role(str(item).strip(), where) for item in items)
    if not roles:
        raise UserConfigError(f"{where}: at least one role")
    for role in roles:
        if roles.count(role) > 1:
            raise UserConfigError(f"{where}: role {role.value} given twice")
    return roles


def pem_blocks(path: Path, where: str) -> tuple[bytes, ...]:
    """Every certificate in a PEM file, each checked to parse."""
    try:
        blocks = tuple(_PEM.findall(path.read_bytes()))
    except OSError as exc:
        raise UserConfigError(f"{where}: {exc}") from None
    if not blocks:
        raise UserConfigError(f"{where}: {path} holds no PEM certificate")
    for block in blocks:
        try:
            x509.load_pem_x509_certificate(block)
        except ValueError as exc:
            raise UserConfigError(f"{where}: {path}: not a certificate: {exc}") from None
    return blocks


def user_from(entry: dict, where: str, base: Path) -> UserConfig:
    """One `[[user]]` table; relative certificate paths are taken from `base`."""
    unknown = set(entry) - {
        "eui",
        "role",
        "name",
        "endpoint",
        "xml_certificates",
        "gbcs_certificates",
    }
    if unknown:
        raise UserConfigError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    for required in ("eui", "role"):
        if required not in entry:
            raise UserConfigError(f"{where}: {required} is required")
    eui = parse_eui(entry["eui"], f"{where}.eui")
    endpoint = entry.get("endpoint")
    if endpoint is not None and not re.match(r"^https?://", str(endpoint)):
        raise UserConfigError(f"{where}.endpoint: an http(s) URL, not {endpoint!r}")
    certificates = {}
    for key in ("xml_certificates", "gbcs_certificates"):
        paths = entry.get(key, [])
        if not isinstance(paths, list):
            raise UserConfigError(f"{where}.{key}: a list of PEM file paths")
        certificates[key] = tuple(
            block
            for i, p in enumerate(paths)
            for block in pem_blocks(base / str(p), f"{where}.{key}[{i}]")
        )
    role, *also = parse_roles(entry["role"], f"{where}.role")
    return UserConfig(
        eui=eui,
        role=role,
        also=tuple(also),
        name=str(entry.get("name") or eui.hex().upper()),
        endpoint=endpoint,
        xml_certificates=certificates["xml_certificates"],
        gbcs_certificates=certificates["gbcs_certificates"],
    )


def load_toml(path: str | Path) -> list[UserConfig]:
    """Every `[[user]]` of a TOML file (UserConfigError naming the entry when one is bad)."""
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise UserConfigError(f"{path}: {exc}") from None
    entries = document.get("user", [])
    if not isinstance(entries, list):
        raise UserConfigError(f"{path}: users are [[user]] tables")
    users = [user_from(e, f"{path.name}: user[{i}]", path.parent) for i, e in enumerate(entries)]
    seen: set[bytes] = set()
    for user in users:
        if user.eui in seen:
            raise UserConfigError(f"{path.name}: user {user.eui.hex().upper()} given twice")
        seen.add(user.eui)
    return users
