"""Who may command an ESME to do what: trust-anchor roles per use case, the SECMP0046
switches, the per-originator counters that stop replays, and `check_sender`, the checks of a
command's sender (anchor, MAC, signature, role, counter) the ESME and the paired devices make.

Base roles come from the use-case tables (primer section 9) and, where they are silent
(ECS47, ECS61a, ECS46c), from the RTDS senders. ECS47e (7.16) is the Load Controller's alone:
an ESME trusts it only once its certificate is placed (keys.anchors), so by default nobody.
Joins and unjoins at a meter: CS03A1 from the Supplier only; CS04AC from the Supplier or, as
8.8.2, the ACB (the registry's senders).
SECMP0046 adds the Network Operator to 7.6, 7.7 and 7.8 (switch `hcalcs`, on by default)
and to 7.9-7.11 (switch `boost`, off by default). 7.5 (activate) stays Supplier-only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric import ec

from gbcs.errors import GbcsError
from gbcs.message import Message
from gbcs.roles import Role
from gbcs.security import verify_data, verify_message_mac

from .keys import PremisesKeys
from .outcomes import CommandRejected, RejectReason

S, NO, ACB = Role.SUPPLIER, Role.NETWORK_OPERATOR, Role.ACCESS_CONTROL_BROKER
LC = Role.LOAD_CONTROLLER

#: action key -> roles allowed before SECMP0046
BASE_ROLES: dict[str, frozenset[Role]] = {
    "7.5": frozenset({S}),
    "7.6": frozenset({S}),
    "7.8": frozenset({S}),
    "7.7": frozenset({S, ACB}),
    "7.9": frozenset({S}),
    "7.10": frozenset({S}),
    "7.11": frozenset({S, ACB}),
    "6.14.1": frozenset({S}),
    "6.14.2": frozenset({S}),
    "6.14.3": frozenset({S}),
    "7.13": frozenset({S}),  # ECS47a (use-case tables)
    "7.14": frozenset({S, NO, ACB, LC}),  # ECS61d
    "7.15": frozenset({S, NO, ACB, LC}),  # ECS61e
    "7.16": frozenset({LC}),  # ECS47e: the Load Controller only
    "8.7.1": frozenset({S}),  # CS03A1 join
    "8.8.1": frozenset({S}),  # CS04AC unjoin, the Supplier's own
    "8.7.2": frozenset({S}),  # CS03B: a Type 2 device joined (RTDS's CS03B: the Supplier's)
    # CS04AC unjoin the ACB sends on a user's behalf; CS04B a Type 2 device unjoined (RTDS's
    # CS04B: the Supplier's own; a Supplier's CS04AC is 8.8.1)
    "8.8.2": frozenset({ACB, S}),
    "11.2": frozenset({S, NO, ACB}),  # ECS52 firmware version read (use-case tables)
    # the reads of esme/store.py: the Supplier (use-case tables), and the Network Operator
    # where DUIS lets the Electricity Distributor send the SRV (duis-parser's matrix)
    "4.1.1": frozenset({S, NO}),  # ECS17b (use-case tables: both)
    "4.1.3": frozenset({S, NO}),  # ECS17e
    "4.3": frozenset({S}),  # ECS19
    "4.11.2": frozenset({S}),  # ECS24b
    "4.13": frozenset({S}),  # ECS26a
    "4.15": frozenset({S, NO}),  # ECS27
    "6.2.1": frozenset({S, NO}),  # ECS26b
    "6.2.2": frozenset({S, NO}),  # ECS26c
    "6.2.3": frozenset({S}),  # ECS26d / ECS26l
    "6.2.4": frozenset({S, NO}),  # ECS26e / ECS26m
    "6.2.5": frozenset({S}),  # ECS26f
    "6.2.7": frozenset({S, NO}),  # ECS40
    "6.2.9": frozenset({S}),  # ECS26j
    "7.4": frozenset({S, NO}),  # ECS45
    # the configuration writes of esme/store.py: the Supplier's (use-case tables)
    "3.2": frozenset({S}),  # ECS12
    "3.5": frozenset({S}),  # ECS14
    "6.12": frozenset({S}),  # ECS34
    "6.20.1": frozenset({S}),  # ECS39a
    "6.25": frozenset({S}),  # ECS81 (critical)
    "6.26": frozenset({S}),  # ECS48 (critical)
    "6.8": frozenset({S}),  # ECS30 / ECS30a the billing calendar (critical)
    "6.5": frozenset({NO}),  # ECS29a / ECS29c voltage configuration (the Network Operator's)
    "11.3": frozenset({S}),  # CS06 activate firmware (critical)
    "6.4.1": frozenset({S}),  # ECS28a load limit general settings (critical)
    "1.2.1": frozenset({S}),  # ECS01b primary element prices (critical)
    "7.1": frozenset({S}),  # ECS42 enable supply (critical)
    "7.2": frozenset({S}),  # ECS43 disable supply (critical)
    "7.3": frozenset({S}),  # ECS44 arm supply (critical)
    "7.12": frozenset({S}),  # ECS38 randomised offset limit (critical)
    "6.11": frozenset({S}),  # ECS70 set clock (critical; 8.1.1 Commission Device too)
    "3.1": frozenset({S}),  # ECS10 display message
    "3.3": frozenset({S}),  # ECS15a/c clear an event log
    "3.4": frozenset({S}),  # ECS16 supplier name
    "6.4.2": frozenset({S}),  # ECS28b load limit counter reset
    "6.18.2": frozenset({NO}),  # ECS57 maximum demand reset: the Network Operator's
    "6.27": frozenset({NO}),  # ECS29e RMS voltage counter reset
    "6.13": frozenset({S, NO}),  # ECS35a/b/e/f/g read a log (ECS35g: both)
    "4.4.4": frozenset({S}),  # ECS20a
    "4.4.5": frozenset({S}),  # ECS20d
    "4.8.2": frozenset({S, NO}),  # ECS22c (DUIS: IS, ED)
    "4.8.3": frozenset({NO}),  # ECS22a the Network Operator's (use-case tables)
    "4.4.2": frozenset({S}),  # ECS20b
    "4.4.3": frozenset({S}),  # ECS20c
    "4.6.1": frozenset({S}),  # ECS21a
    "4.14": frozenset({S, ACB}),  # ECS21b
    "4.8.1": frozenset({S, NO}),  # ECS22b (DUIS: IS, GS, ED, GT, OU)
    "4.10": frozenset({S, NO}),  # ECS23 (DUIS: IS, GS, ED, GT)
    "2.3": frozenset({S}),  # ECS07 update debt (critical)
    "2.5": frozenset({S}),  # ECS09 activate emergency credit (critical)
    "1.5": frozenset({S}),  # ECS04a adjust meter balance (critical)
    "2.2": frozenset({S}),  # CS01a top up (a UTRN)
    "1.6": frozenset({S}),  # ECS02 / ECS03 update payment mode (critical)
    "2.1": frozenset({S}),  # ECS08a / ECS08 update prepay configuration (critical)
    "1.7": frozenset({S}),  # ECS05 reset the tariff block counter matrix (critical)
    # CS02b/CS02g: each party replaces its own cells, the Supplier a Load Controller's
    # (credentials.py checks the mode against the sender's role)
    "6.15.1": frozenset({S, NO}),
    "6.24.1": frozenset({ACB}),  # CS02a/CS02f: the ACB asks a device what it trusts
    "6.24.2": frozenset({S}),  # CS02e: the device's own certificate
    "6.17": frozenset({S}),  # CS02c: a new key pair and its certification request
    "6.15.2": frozenset({S}),  # CS02d: the certificate for that key pair
    "6.23": frozenset({Role.TRANSITIONAL_COS}),  # CS02bSupplierByTransCoS: the DCC's party
    "8.5": frozenset({ACB}),  # CS02bACBByACB: the ACB replaces its own (Service Opt-out)
    "4.11.1": frozenset({S}),  # ECS24 read tariff data (primary element)
    "4.1.2": frozenset({S, NO}),  # ECS17d (DUIS: IS, GS, ED, GT)
    "4.2": frozenset({S, NO}),  # ECS17a (DUIS: ES, ED; the Export Supplier a Supplier)
    "4.16": frozenset({S, NO}),  # ECS17c (DUIS: IS, ED)
    "1.1.1": frozenset({S}),  # ECS01a primary element tariff (critical)
    "1.1.2": frozenset({S}),  # ECS01c secondary element tariff (critical)
    "1.2.2": frozenset({S}),  # ECS01d secondary element prices (critical)
    # each party's alert and event behaviours, its own only (esme/checks.py OWNERS)
    "6.22": frozenset({S, NO}),  # ECS25a/a1/a2/a3 the Supplier's, ECS25b/b3 the NO's
    "6.2.10": frozenset({S, NO}),  # ECS25r1 the Supplier's, ECS25r2 the NO's
    # maximum demand, balance and consumption reads; the ACB's on behalf of DUIS roles the
    # meter holds no anchor for (the Export Supplier's 4.12.2 and 4.6.2, Other Users' 4.17)
    "4.12.1": frozenset({S, NO}),  # ECS18b (DUIS: IS, ED)
    "4.12.2": frozenset({NO, ACB}),  # ECS18a (DUIS: ES, ED)
    "6.18.1": frozenset({NO}),  # ECS37 (DUIS: ED)
    "4.18": frozenset({S}),  # ECS82 (DUIS: IS, GS)
    "4.17": frozenset({S, NO, ACB}),  # ECS66 (DUIS: IS, GS, ED, GT, OU)
    "4.6.2": frozenset({ACB}),  # ECS21c (DUIS: ES)
    "6.20.2": frozenset({ACB}),  # ECS39b (DUIS: ES)
    "9.1": frozenset({ACB}),  # ECS50 (DUIS: OU)
}
SECMP0046_HCALCS = ("7.6", "7.7", "7.8")
SECMP0046_BOOST = ("7.9", "7.10", "7.11")


@dataclass
class AccessPolicy:
    secmp0046_hcalcs: bool = True
    secmp0046_boost: bool = False

    def roles(self, srv: str) -> frozenset[Role]:
        roles = set(BASE_ROLES.get(srv, ()))
        if (self.secmp0046_hcalcs and srv in SECMP0046_HCALCS) or (
            self.secmp0046_boost and srv in SECMP0046_BOOST
        ):
            roles.add(NO)
        return frozenset(roles)

    def permits(self, srv: str, role: Role) -> bool:
        return role in self.roles(srv)


@dataclass
class CounterStore:
    """The last accepted originator counter per remote party: GBCS wants each new command's
    counter strictly above it. A fresh device has seen none, so accepts any RTDS counter."""

    last: dict[bytes, int] = field(default_factory=dict)

    def check(self, originator: bytes, counter: int) -> RejectReason | None:
        """None if acceptable, else the rejection reason (replay or old-counter)."""
        previous = self.last.get(bytes(originator))
        if previous is None or counter > previous:
            return None
        return RejectReason.REPLAY if counter == previous else RejectReason.OLD_COUNTER

    def accept(self, originator: bytes, counter: int) -> None:
        self.last[bytes(originator)] = counter


def check_sender(
    message: Message,
    keys: PremisesKeys,
    counters: CounterStore,
    *,
    critical: bool,
    permitted: Callable[[Role], bool],
    anchors: Mapping[bytes, Role] | None = None,
    anchor_key: Callable[[bytes], ec.EllipticCurvePublicKey | None] | None = None,
    mac_check: Callable[[Message], None] | None = None,
) -> None:
    """The checks every GBCS device here makes of who sent a command, in this order: a trust
    anchor (unknown-originator); MAC'd (no-mac), the MAC verifying with the KA keys (bad-mac);
    signed by the anchor's DS key when `critical` or signed at all (unsigned, bad-signature);
    the anchor's role `permitted` (role-not-permitted); a counter above the last from that
    originator (replay, old-counter), which is then accepted. CommandRejected at the first
    that fails. `anchors` are the device's own where they differ from the premises' (a GSME
    commissioned for a gas supplier trusts that supplier, not the electricity one);
    `anchor_key` the DS key of the device's own cell for a party (credentials.TrustAnchors:
    what Update Security Credentials replaced), else the premises keystore's; `mac_check`
    the device's own MAC check (its ACB cell's key) in place of the keystore's."""
    originator = bytes(message.originator)
    role = (keys.anchors if anchors is None else anchors).get(originator)
    if role is None:
        raise CommandRejected(RejectReason.UNKNOWN_ORIGINATOR)
    if message.mac is None:
        raise CommandRejected(RejectReason.NO_MAC)
    if mac_check is not None:  # the device's own ACB cell (credentials.acb_mac_check)
        mac_check(message)
    else:
        try:
            verify_message_mac(message, keys.keystore)
        except GbcsError:
            raise CommandRejected(RejectReason.BAD_MAC) from None
    if critical or message.signature:
        if not message.signature:
            raise CommandRejected(RejectReason.UNSIGNED)
        try:
            key = keys.anchor_key(originator) if anchor_key is None else anchor_key(originator)
            if key is None:
                raise CommandRejected(RejectReason.UNKNOWN_ORIGINATOR)
            verify_data(message.signed_data, message.signature, key)
        except GbcsError:
            raise CommandRejected(RejectReason.BAD_SIGNATURE) from None
    if not permitted(role):
        raise CommandRejected(RejectReason.ROLE_NOT_PERMITTED)
    reason = counters.check(originator, message.counter)
    if reason is not None:
        raise CommandRejected(reason)
    counters.accept(originator, message.counter)
