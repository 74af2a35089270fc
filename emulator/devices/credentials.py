"""A device's trust anchors and GBCS's Update Security Credentials (CS02b, CS02g): 6.15.1,
6.23; what 6.24.1 reads of them (CS02a, CS02f); the device's own credentials (6.24.2, 6.17,
6.15.2).

A GBCS device holds one certificate per trust anchor cell — (remote party role, key usage,
cell usage): the Supplier's digital-signing, key-agreement and prepayment top-up
key-agreement certificates, the Network Operator's, the ACB's, a Load Controller's once one
is placed — and verifies a remote party's signed commands with the cell's key, never by
looking the party up elsewhere. `TrustAnchors` is that store, filled at first from the
keystore the premises was provisioned from.

An Update Security Credentials command, signed by the authorising party (check_sender has
verified that with its current anchor; 8.5's ACB by ACB is authorised by the ACB's MAC
alone), names a replacement mode (2 Supplier by Supplier, 3 Network Operator by Network
Operator, 4 ACB by ACB, 7 Supplier by the DCC's Transitional Change of Supplier party, 11 Load
Controller by Supplier), the certificates and the cells they go in, and the new floor for
the replaced party's counters. Each replacement is checked — a certificate that is not a
remote party's of the cell's key usage is status 5 (bad certificate), one not issued by a CA
of the command's certification path status 10 (no trust anchor: RTDS's ERROR cases, a Key
Agreement certificate from Z2 with a Z1 path), either leaving the cell as it was — and takes
effect at once, or at the command's execution date-time (then the answer is "command
accepted" and at the time the 8F66 alert — 8F67 if a replacement failed — carries the
outcome, signed, to the originator; 9999-12-31 cancels the pending one). The response and
alerts lay their DER out as RTDS's devices do: lengths of 128 or more always in two bytes
(82 xx xx).

The key agreement cells are as real: the ACB's MAC on every command is checked with the key
in the device's ACB cell (acb_mac_check), and what the device MACs for a party uses that
party's cell (party_mac).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from emulator.clock import Clock
from gbcs.asn1 import encode_tree
from gbcs.credentials import authorising_remote_party_control, replacements
from gbcs.errors import GbcsError
from gbcs.keystore import DS, KA, KeyEntry, Keystore
from gbcs.message import Message
from gbcs.roles import ACB_EUI, Role
from gbcs.security import (
    apdu_layout,
    compute_mac,
    derive_key,
    mac_apdu,
    verify_mac,
    wrap_with_mac,
)

from .outcomes import CommandRejected, RejectReason

LOGGER = logging.getLogger(__name__)

#: message code -> (replacement mode, the authorising role, the role whose cells it replaces)
UPDATE_CREDENTIALS = {
    0x0102: (2, Role.SUPPLIER, Role.SUPPLIER),  # CS02bSupplierBySupplier
    0x0103: (3, Role.NETWORK_OPERATOR, Role.NETWORK_OPERATOR),  # CS02bNOByNO
    0x0126: (11, Role.SUPPLIER, Role.LOAD_CONTROLLER),  # CS02gLoadControllerBySupplier
    0x0107: (7, Role.TRANSITIONAL_COS, Role.SUPPLIER),  # CS02bSupplierByTransCoS
    0x0104: (4, Role.ACCESS_CONTROL_BROKER, Role.ACCESS_CONTROL_BROKER),  # CS02bACBByACB
}
#: authorised by the sender's MAC, not a signature: 8.5's ACB replacing its own KA cell
MAC_AUTHORISED = frozenset({0x0104})
#: the SRV each is (6.23: the DCC's Transitional CoS party replaces the Supplier's cells)
CREDENTIAL_SRVS = {0x0102: "6.15.1", 0x0103: "6.15.1", 0x0126: "6.15.1", 0x0107: "6.23",
                   0x0104: "8.5"}  # fmt: skip
#: the future-dated execution alert's message code: CS02b's, CS02g's
ALERT_CODE = {0x0102: 0x00CB, 0x0103: 0x00CB, 0x0104: 0x00CB, 0x0107: 0x00CB, 0x0126: 0x0124}
DONE, NOT_DONE = 0x8F66, 0x8F67
SUCCESS, BAD_CERTIFICATE, NO_TRUST_ANCHOR = 0, 5, 10  # gbcs.credentials.STATUS_CODES
CANCEL = "99991231235959Z"
MANAGEMENT, PREPAYMENT_TOP_UP = 0, 1
USAGE_BITS = {DS: bytes.fromhex("0780"), KA: bytes.fromhex("0308")}
USAGE_OF = {"digital_signature": DS, "key_agreement": KA}

Cell = tuple[int, str, int]  # (remote party role, DS or KA, cell usage)
Alert = Callable[[bytes, int, bytes], Any]  # (to, message code, DER content)


@dataclass(frozen=True)
class Anchor:
    """What a cell holds of a certificate: its subject's EUI, subject key identifier and key."""

    eui: bytes
    ski: bytes
    key_id: bytes  # the uncompressed point
    der: bytes

    @property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), self.key_id)


def anchor_of(certificate: x509.Certificate) -> tuple[Anchor, str, int | None]:
    """(the anchor, its key usage DS or KA, the role its OU names) of a remote party's
    certificate; ValueError when it is not one (no EUI, no key usage, not P-256)."""
    probe = Keystore(check_validity=False)
    probe.add_certificate(certificate, "replacement")
    entries = probe.all_entries()
    if len(entries) != 1:
        raise ValueError(f"{len(entries)} usable keys in the certificate")
    entry = entries[0]
    try:
        ski = certificate.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    except x509.ExtensionNotFound:
        raise ValueError("no subject key identifier") from None
    der = certificate.public_bytes(Encoding.DER)
    return Anchor(entry.eui, ski.value.digest, entry.key_id, der), entry.usage, entry.role


def _entry_anchor(entry: KeyEntry) -> Anchor | None:
    certificate = entry.certificate
    if certificate is None:
        return None
    try:
        return anchor_of(certificate)[0]
    except (ValueError, GbcsError):
        return None


class TrustAnchors:
    """The device's cells: (role, usage, cell usage) -> Anchor."""

    def __init__(self, cells: Mapping[Cell, Anchor] | None = None) -> None:
        self.cells: dict[Cell, Anchor] = dict(cells or {})

    @classmethod
    def provisioned(cls, keystore: Keystore, anchors: Mapping[bytes, Role]) -> TrustAnchors:
        """The cells a device provisioned from `keystore` holds for the remote parties of
        `anchors` (EUI -> role): each party's first DS and KA certificate, and a second KA
        certificate (the keystore names it a prepayment one, "pp") in the top-up cell."""
        cells: dict[Cell, Anchor] = {}
        for eui, role in anchors.items():
            for usage in (DS, KA):
                for entry in keystore.entries(eui, usage, valid_only=False):
                    usage_cell = (
                        PREPAYMENT_TOP_UP
                        if usage == KA and "pp" in entry.source.lower()
                        else MANAGEMENT
                    )
                    anchor = _entry_anchor(entry)
                    if anchor is not None:
                        cells.setdefault((int(role), usage, usage_cell), anchor)
        return cls(cells)

    def role_of(self, eui: bytes) -> Role | None:
        """The role of the cells that hold `eui`'s certificates (digital-signing cells
        first); None: a party the device takes no command from."""
        found = [(usage != DS, role) for (role, usage, _cell), anchor in self.cells.items()
                 if anchor.eui == bytes(eui)]  # fmt: skip
        return Role(min(found)[1]) if found else None

    def holds(self, role: int, eui: bytes) -> bool:
        """Whether a cell of `role` holds `eui`'s certificate: the party may authorise that
        role's replacement (a device the DCC controls for a role holds the ACB's there)."""
        return any(r == role and anchor.eui == bytes(eui)
                   for (r, _usage, _cell), anchor in self.cells.items())  # fmt: skip

    def ds_key(self, eui: bytes) -> ec.EllipticCurvePublicKey | None:
        """The key `eui`'s signatures verify with: its digital-signing cell's."""
        for (_role, usage, _cell), anchor in self.cells.items():
            if usage == DS and anchor.eui == bytes(eui):
                return anchor.public_key
        return None

    def parties(self) -> dict[bytes, Role]:
        """EUI -> role of every party the device holds a certificate of."""
        return {a.eui: role for a in self.cells.values()
                if (role := self.role_of(a.eui)) is not None}  # fmt: skip

    def ka_key_id(self, eui: bytes) -> bytes | None:
        """The key the device agrees MAC keys with for `eui` (its management KA cell)."""
        role = self.role_of(eui)
        anchor = None if role is None else self.cells.get((int(role), KA, MANAGEMENT))
        return None if anchor is None else anchor.key_id


# --- DER as RTDS's devices lay it out ----------------------------------------------------


def request_builder(
    eui: bytes, usages: Iterable[str], *, name: bool = True
) -> x509.CertificateSigningRequestBuilder:
    """A device's certificate request as RTDS's meter makes it, to be signed: no subject, the
    key usages (DS, KA) and, unless `name` is False, the hardwareModuleName naming `eui`."""
    usages = set(usages)
    builder = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .add_extension(x509.KeyUsage(
            digital_signature=DS in usages, content_commitment=False, key_encipherment=False,
            data_encipherment=False, key_agreement=KA in usages, key_cert_sign=False,
            crl_sign=False, encipher_only=False, decipher_only=False,
        ), critical=True)
    )  # fmt: skip
    if not name:
        return builder
    other = x509.OtherName(HARDWARE_MODULE_NAME, _tlv(0x30, HW_TYPE + _tlv(0x04, eui)))
    return builder.add_extension(x509.SubjectAlternativeName([other]), critical=True)


def _tlv(tag: int, content: bytes) -> bytes:
    n = len(content)
    length = bytes([n]) if n < 0x80 else b"\x82" + n.to_bytes(2, "big")
    return bytes([tag]) + length + content


def _integer(value: int) -> bytes:
    size = max(1, (value.bit_length() + 8) // 8)
    return _tlv(0x02, value.to_bytes(size, "big", signed=True))


def _cell(role: int, usage: str, cell_usage: int) -> bytes:
    extra = _integer(cell_usage) if cell_usage != MANAGEMENT else b""
    return _tlv(0x30, _integer(role) + _tlv(0x03, USAGE_BITS[usage]) + extra)


def _generalized(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y%m%d%H%M%SZ")


@dataclass
class _Replacement:
    cell: Cell
    anchor: Anchor | None  # None: the certificate is not one a cell can hold
    issued_by_path: bool


@dataclass
class _Update:
    """One parsed Update Security Credentials command."""

    message: Message
    mode: int
    seq_number: int
    floor: int
    top_up_floor: int | None
    role: Role  # whose cells are replaced
    items: list[_Replacement]
    when: str | None


@dataclass
class _Outcome:
    cell: Cell
    status: int
    existing: Anchor | None
    replacing: Anchor | None


def _path_issuers(message: Message) -> list[x509.Certificate]:
    node = message.payload.fields.certification_path_certificates
    return [x509.load_der_x509_certificate(encode_tree(c)) for c in node["children"] or []]


def _issued_by(certificate: x509.Certificate, issuers: Iterable[x509.Certificate]) -> bool:
    for issuer in issuers:
        try:
            certificate.verify_directly_issued_by(issuer)
            return True
        except (ValueError, TypeError, InvalidSignature):
            continue
    return False


class Credentials:
    """The device `eui`'s anchors and the CS02b / CS02g commands that replace them;
    `on_replaced` hears of each certificate placed in a cell (its DER), so the premises' key
    view follows it (PremisesKeys.anchor_placed)."""

    def __init__(self, eui: bytes, anchors: TrustAnchors, clock: Clock,
                 now: Callable[[], dt.datetime], alert: Alert, stats: Counter,
                 floors: Callable[[bytes, int], None],
                 on_replaced: Callable[[bytes], None] | None = None) -> None:  # fmt: skip
        self.eui, self.anchors, self.clock, self.now = bytes(eui), anchors, clock, now
        self.alert, self.stats, self.floors = alert, stats, floors
        self.on_replaced = on_replaced
        #: the pending future-dated update: (due, the update, its timer)
        self.pending: tuple[dt.datetime, _Update, asyncio.TimerHandle] | None = None

    def parse(self, message: Message) -> _Update:
        """The command's parts; CommandRejected(malformed) when they are not GBCS's, and
        (role-not-permitted) when its sender may not authorise this mode."""
        mode_of_code, authoriser, replaced = UPDATE_CREDENTIALS[message.message_code]
        fields = message.payload.fields
        try:
            control = authorising_remote_party_control(fields.authorising_remote_party_control)
            items = replacements(fields.replacements, lambda der: der)
            issuers = _path_issuers(message)
        except Exception:  # gbcs.credentials' readers raise on any other shape
            raise CommandRejected(RejectReason.MALFORMED) from None
        mode = control["credentials_replacement_mode"]["code"]
        cell = control.get("authorising_remote_party_ta_cell_identifier")
        if cell is None and message.message_code in MAC_AUTHORISED:
            cell = {"remote_party_role": {"code": int(authoriser)}}  # its MAC authorises it
        if (
            mode != mode_of_code
            or (cell or {}).get("remote_party_role", {}).get("code") != authoriser
        ):
            raise CommandRejected(RejectReason.MALFORMED)
        if not self.anchors.holds(int(authoriser), bytes(message.originator)):
            raise CommandRejected(RejectReason.ROLE_NOT_PERMITTED)
        floor = control.get("new_remote_party_floor_seq_number")
        top_up = None
        for special in control.get("new_remote_party_specialist_floor_seq_numbers", []):
            top_up = special["seq_number"]
        for change in control.get("other_remote_party_seq_number_changes", []):
            if change["remote_party_role"]["code"] == replaced:
                floor = change["floor_seq_number"]
                for special in change.get("specialist_floor_seq_numbers", []):
                    top_up = special["seq_number"]
        parsed = []
        for item in items:
            target = item["target_trust_anchor_cell"]
            usages = target["key_usage"]
            if target["remote_party_role"]["code"] != replaced or len(usages) != 1:
                raise CommandRejected(RejectReason.MALFORMED)
            key = (int(replaced), USAGE_OF[usages[0]], target["cell_usage"]["code"])
            parsed.append(self._replacement(key, item["new_certificate"], issuers))
        when = fields.execution_date_time
        return _Update(message, mode, int(control.get("authorising_remote_party_seq_number",
                                                      message.counter)),
                       int(floor or 0), top_up, replaced, parsed,
                       None if when is None else str(when))  # fmt: skip

    def _replacement(self, cell: Cell, der: bytes, issuers: list[x509.Certificate]) -> _Replacement:
        try:
            certificate = x509.load_der_x509_certificate(bytes(der))
            anchor, usage, _role = anchor_of(certificate)
        except (ValueError, TypeError, GbcsError):
            return _Replacement(cell, None, False)
        if usage != cell[1]:
            return _Replacement(cell, None, False)
        return _Replacement(cell, anchor, _issued_by(certificate, issuers))

    # --- carrying it out --------------------------------------------------------------

    def answer(self, message: Message) -> bytes:
        """The DER response content to a CS02b / CS02g command (module docstring)."""
        update = self.parse(message)
        if self.pending is not None and update.when is not None:
            self.pending[2].cancel()
            self.pending = None
        if update.when is None:
            outcomes = self._apply(update)
            body = _tlv(0x05, b"") + self._execution_outcome(update, outcomes)
            return _tlv(0x30, body)
        if update.when != CANCEL:
            at = dt.datetime.strptime(update.when, "%Y%m%d%H%M%SZ").replace(tzinfo=dt.UTC)
            delay = max(0.0, (at - self.now()).total_seconds())
            self.pending = (at, update, self.clock.call_later(delay, self._due))
            self.stats["credentials:scheduled"] += 1
        else:
            self.stats["credentials:cancelled"] += 1
        return _tlv(0x30, _tlv(0x05, b""))  # command accepted

    def _apply(self, update: _Update) -> list[_Outcome]:
        outcomes = []
        for item in update.items:
            existing = self.anchors.cells.get(item.cell)
            new = item.anchor
            if new is None:
                status = BAD_CERTIFICATE
            elif not item.issued_by_path:
                status = NO_TRUST_ANCHOR  # no path to a CA the command vouches for (RTDS)
            else:
                status = SUCCESS
            outcomes.append(_Outcome(item.cell, status, existing,
                                     new if status == SUCCESS else existing))  # fmt: skip
        for outcome in outcomes:
            if outcome.status == SUCCESS and outcome.replacing is not None:
                self.anchors.cells[outcome.cell] = outcome.replacing
                self.stats["credentials:replaced"] += 1
                if self.on_replaced is not None:
                    self.on_replaced(outcome.replacing.der)
        replaced = {o.replacing.eui for o in outcomes
                    if o.status == SUCCESS and o.replacing is not None and o.cell[1] == DS}  # fmt: skip
        for eui in replaced:
            self.floors(eui, update.floor)
        LOGGER.info("device %s: credentials of role %s: %s", self.eui.hex(), update.role,
                    [o.status for o in outcomes])  # fmt: skip
        return outcomes

    def _execution_outcome(self, update: _Update, outcomes: list[_Outcome]) -> bytes:
        specialist = b""
        if update.top_up_floor is not None:
            specialist = _tlv(0x30, _tlv(0x30, _integer(0) + _integer(update.top_up_floor)))
        change = _tlv(0x30, _integer(int(update.role)) + _integer(update.floor) + specialist)
        items = b"".join(self._replacement_outcome(o) for o in outcomes)
        return _tlv(0x30, _integer(update.seq_number) + _integer(update.mode)
                    + _tlv(0x30, change) + _tlv(0x30, items))  # fmt: skip

    @staticmethod
    def _replacement_outcome(outcome: _Outcome) -> bytes:
        def ids(anchor: Anchor | None) -> bytes:
            if anchor is None:
                return _tlv(0x04, b"") + _tlv(0x04, b"")
            return _tlv(0x04, anchor.eui) + _tlv(0x04, anchor.ski)

        return _tlv(0x30, _cell(*outcome.cell) + _tlv(0x0A, bytes([outcome.status]))
                    + ids(outcome.existing) + ids(outcome.replacing))  # fmt: skip

    def _due(self) -> None:
        """The pending update falls due: replace, then alert the outcome."""
        if self.pending is None:
            return
        at, update, _timer = self.pending
        self.pending = None
        outcomes = self._apply(update)
        code = DONE if all(o.status == SUCCESS for o in outcomes) else NOT_DONE
        content = _tlv(0x30, _integer(code) + _tlv(0x18, _generalized(at).encode())
                       + self._execution_outcome(update, outcomes))  # fmt: skip
        message = update.message
        self.alert(bytes(message.originator), ALERT_CODE[message.message_code], content)

    def cancel(self) -> None:
        if self.pending is not None:
            self.pending[2].cancel()
            self.pending = None


# --- 6.24.1 Provide Security Credentials Details (CS02a, CS02f) ----------------------------

PROVIDE_DETAILS = {0x0008: "CS02a", 0x011B: "CS02f"}
TRUST_ANCHOR_NOT_FOUND, OTHER = 25, 127
#: the roles whose cells CS02a reports (one the device holds none of: 25); any other role
#: asked about is 127, as RTDS's meter answers for the Transitional CoS party, whose
#: certificate it holds only to check 6.23's signature
CELL_ROLES = frozenset({0, 1, 2, 3, 4, 6, 8})


def _first(item: tuple[Cell, Anchor]) -> Cell:
    return item[0]


def _integers(node: Any) -> list[int]:
    out = []
    for child in node["children"] or ():
        value = child["value"]
        if child["tag_number"] != 0x02 or not value:
            raise CommandRejected(RejectReason.MALFORMED)
        out.append(int.from_bytes(bytes(value), "big", signed=True))
    return out


def credential_details(message: Message, anchors: TrustAnchors,
                       last_counter: Callable[[bytes], int]) -> bytes:  # fmt: skip
    """The DER response content to CS02a / CS02f: for each role asked about, the cells the
    device holds for it (key usage, cell usage, the certificate's EUI and subject key id)
    and the last counter it accepted from that party, or status 25 when it holds none
    (127 for a role of no cell, CELL_ROLES)."""
    tree = message.payload.tree
    try:
        roles = _integers(tree["children"][1])
    except (KeyError, IndexError, TypeError):
        raise CommandRejected(RejectReason.MALFORMED) from None
    entries = b""
    for role in roles:
        cells = sorted(((k, a) for k, a in anchors.cells.items() if k[0] == role), key=_first)
        if not cells or role not in CELL_ROLES:
            status = TRUST_ANCHOR_NOT_FOUND if role in CELL_ROLES else OTHER
            entries += _tlv(0x30, _integer(role) + _tlv(0x0A, bytes([status])))
            continue
        described = b""
        for (_role, usage, cell_usage), anchor in cells:
            extra = _integer(cell_usage) if cell_usage != MANAGEMENT else b""
            described += _tlv(0x30, _tlv(0x03, USAGE_BITS[usage]) + extra
                              + _tlv(0x04, anchor.eui) + _tlv(0x04, anchor.ski))  # fmt: skip
        party = next((a.eui for (_r, u, _c), a in cells if u == DS), cells[0][1].eui)
        entries += _tlv(0x30, _integer(role) + _tlv(0x0A, bytes([SUCCESS]))
                        + _integer(last_counter(party)) + _tlv(0x30, described))  # fmt: skip
    return _tlv(0x30, entries)


# --- the device's own credentials: 6.24.2 (CS02e), 6.17 (CS02c), 6.15.2 (CS02d) ----------

PROVIDE_CERTIFICATE, ISSUE_CREDENTIALS, UPDATE_CERTIFICATE = 0x000C, 0x000A, 0x000B
OWN_CREDENTIALS = {PROVIDE_CERTIFICATE: "6.24.2", ISSUE_CREDENTIALS: "6.17",
                   UPDATE_CERTIFICATE: "6.15.2"}  # fmt: skip
NO_CERTIFICATE_HELD = 2  # CS02e
INVALID_KEY_USAGE, WRONG_DEVICE_IDENTITY, NO_KEY_PAIR, WRONG_PUBLIC_KEY = 3, 2, 4, 5  # CS02d
USAGE_FROM_BITS = {v: k for k, v in USAGE_BITS.items()}
#: GBCS's hardwareModuleName: the SAN other-name type and the device-type OID RTDS's CSRs carry
HARDWARE_MODULE_NAME = x509.ObjectIdentifier("1.3.6.1.5.5.7.8.4")
HW_TYPE = bytes.fromhex("060D2A863A0001848FB90F01020201")


def _point(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


class OwnCredentials:
    """The device `eui`'s own certificates (`keystore` holds them) and the key pairs CS02c
    generates, which CS02d's certificate must carry to take their place; `signing` is the
    device's DS key getter and setter (what its responses are signed with); `on_install`
    hears of each certificate CS02d installed (usage, DER, the pair's private key), so the
    premises' key view follows it (PremisesKeys.own_certificate_installed)."""

    def __init__(self, eui: bytes, keystore: Keystore,
                 signing: Callable[[], ec.EllipticCurvePrivateKey],
                 use_signing: Callable[[ec.EllipticCurvePrivateKey], None],
                 stats: Counter,
                 on_install: Callable[[str, bytes, ec.EllipticCurvePrivateKey], None]
                 | None = None) -> None:  # fmt: skip
        self.eui, self.keystore, self.stats = bytes(eui), keystore, stats
        self.signing, self.use_signing = signing, use_signing
        self.on_install = on_install
        #: key usage -> the pair CS02c generated, waiting for its certificate
        self.generated: dict[str, ec.EllipticCurvePrivateKey] = {}
        #: key usage -> the certificate CS02d installed (DER), over the keystore's
        self.installed: dict[str, bytes] = {}

    def answer(self, message: Message) -> bytes:
        """The DER response content to CS02e, CS02c or CS02d."""
        code = message.message_code
        tree = message.payload.tree
        if code == UPDATE_CERTIFICATE:
            return _integer(self._install(encode_tree(tree)))
        try:
            usage = USAGE_FROM_BITS[bytes(tree["children"][0]["value"])]
        except (KeyError, IndexError, TypeError):
            raise CommandRejected(RejectReason.MALFORMED) from None
        if code == PROVIDE_CERTIFICATE:
            der = self.certificate(usage)
            return der if der is not None else _integer(NO_CERTIFICATE_HELD)
        return self._request(usage)

    def certificate(self, usage: str) -> bytes | None:
        """The device's certificate of `usage` (the one whose key it uses, for DS)."""
        if usage in self.installed:
            return self.installed[usage]
        entries = self.keystore.entries(self.eui, usage, valid_only=False)
        if usage == DS:
            point = _point(self.signing().public_key())
            entries = [e for e in entries if e.key_id == point]
        certificate = entries[0].certificate if entries else None
        return None if certificate is None else certificate.public_bytes(Encoding.DER)

    def _request(self, usage: str) -> bytes:
        """CS02c: a new key pair of `usage`, and the PKCS #10 request for its certificate
        (no subject; the key usage and the device's hardwareModuleName as RTDS's meter's)."""
        key = ec.generate_private_key(ec.SECP256R1())
        self.generated[usage] = key
        self.stats["credentials:key_pair_generated"] += 1
        request = request_builder(self.eui, (usage,)).sign(key, hashes.SHA256())
        return request.public_bytes(Encoding.DER)

    def _install(self, der: bytes) -> int:
        """CS02d: the certificate for a pair CS02c generated takes the old one's place (a DS
        one: the device signs with the new key from now on); else why not (GBCS's codes)."""
        try:
            certificate = x509.load_der_x509_certificate(der)
            usage_ext = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
            san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        except (ValueError, x509.ExtensionNotFound):
            return INVALID_KEY_USAGE
        usages = [u for u, on in ((DS, usage_ext.digital_signature),
                                  (KA, usage_ext.key_agreement)) if on]  # fmt: skip
        if len(usages) != 1:
            return INVALID_KEY_USAGE
        names = [bytes(n.value) for n in san.value.get_values_for_type(x509.OtherName)
                 if n.type_id == HARDWARE_MODULE_NAME]  # fmt: skip
        if not any(n.endswith(_tlv(0x04, self.eui)) for n in names):
            return WRONG_DEVICE_IDENTITY
        usage = usages[0]
        key = self.generated.get(usage)
        if key is None:
            return NO_KEY_PAIR
        public = certificate.public_key()
        if not isinstance(public, ec.EllipticCurvePublicKey) or _point(public) != _point(
            key.public_key()
        ):
            return WRONG_PUBLIC_KEY
        self.installed[usage] = der
        del self.generated[usage]
        if usage == DS:
            self.use_signing(key)
        self.stats["credentials:certificate_installed"] += 1
        if self.on_install is not None:
            self.on_install(usage, der, key)
        return SUCCESS


# --- the ACB's MAC, checked with the device's own ACB key-agreement cell -------------------


def acb_mac_check(
    anchors: TrustAnchors, keystore: Keystore, remote_parties: Keystore
) -> Callable[[Message], None]:
    """The MAC check of a command the ACB MACs, with the key agreement key in the device's
    own ACB cell (8.5 replaces it: the DCC's old key then no longer opens a command,
    bad-mac): GBCS's 11 00000000 security header, then the MAC under that key and the
    device's KA certificate (`keystore`); `remote_parties` holds the ACB's KA private keys,
    which stand in for the device's own in the static ECDH (keys.py)."""

    def check(message: Message) -> None:
        cell = anchors.cells.get((int(Role.ACCESS_CONTROL_BROKER), KA, MANAGEMENT))
        service = None if message.envelope is None else message.envelope.ciphered_service
        if (message.mac is None or cell is None or service is None
                or (service.security_control, service.invocation_counter) != (0x11, 0)):  # fmt: skip
            raise CommandRejected(RejectReason.BAD_MAC)
        target, originator = bytes(message.target), bytes(message.originator)
        for entry, private in remote_parties.key_pairs(ACB_EUI, KA):
            if entry.key_id != cell.key_id:
                continue
            for peer in keystore.entries(target, KA, valid_only=False):
                key = derive_key(private, peer.public_key, originator, message.cra_flag,
                                 message.counter, target)  # fmt: skip
                try:
                    verify_mac(message.apdu, message.mac, key, originator)
                    return
                except GbcsError:
                    continue
        raise CommandRejected(RejectReason.BAD_MAC)

    return check


def party_mac(
    anchors: TrustAnchors, keystore: Keystore, remote_parties: Keystore
) -> Callable[[bytes], bytes]:
    """MAC what the device sends a remote party (a DF APDU with an empty signature field)
    with the key agreement key in that party's cell, so a party whose KA certificate was
    replaced reads the new key's MAC; a recipient the device holds no cell for, with the
    keystore's pairing (gbcs.security.mac_apdu)."""

    def seal(apdu: bytes) -> bytes:
        layout = apdu_layout(apdu)
        recipient, device = bytes(layout.target), bytes(layout.originator)
        key_id = anchors.ka_key_id(recipient)
        if key_id is None:
            return mac_apdu(apdu, keystore)
        for entry, private in remote_parties.key_pairs(recipient, KA):
            if entry.key_id != key_id:
                continue
            for peer in keystore.entries(device, KA, valid_only=False):
                key = derive_key(private, peer.public_key, device, layout.cra_flag,
                                 layout.counter, recipient)  # fmt: skip
                return wrap_with_mac(apdu, compute_mac(apdu, key, device))
        raise CommandRejected(RejectReason.BAD_MAC)  # no key to agree one with: no answer

    return seal
