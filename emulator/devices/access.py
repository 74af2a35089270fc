"""Who may command an ESME to do what: trust-anchor roles per use case, the SECMP0046
switches, and the per-originator counters that stop replays.

Base roles come from the use-case tables (primer section 9) and, where they are silent
(ECS47, ECS61a, ECS46c), from the RTDS senders. ECS47e (7.16) is the Load Controller's alone:
an ESME trusts it only once its certificate is placed (keys.anchors), so by default nobody.
Joins and unjoins at a meter: CS03A1 from the Supplier only; CS04AC from the Supplier or, as
8.8.2, the ACB (the registry's senders).
SECMP0046 adds the Network Operator to 7.6, 7.7 and 7.8 (switch `hcalcs`, on by default)
and to 7.9-7.11 (switch `boost`, off by default). 7.5 (activate) stays Supplier-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gbcs.errors import GbcsError
from gbcs.keystore import Keystore
from gbcs.message import Message
from gbcs.roles import Role
from gbcs.security import kdf, mac_parties, other_info, shared_secret, verify_mac

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
    "8.8.2": frozenset({ACB}),  # CS04AC unjoin the ACB sends on a user's behalf
    "11.2": frozenset({S, NO, ACB}),  # ECS52 firmware version read (use-case tables)
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

    def check(self, originator: bytes, counter: int) -> str | None:
        """None if acceptable, else the rejection reason ("replay" or "old-counter")."""
        previous = self.last.get(bytes(originator))
        if previous is None or counter > previous:
            return None
        return "replay" if counter == previous else "old-counter"

    def accept(self, originator: bytes, counter: int) -> None:
        self.last[bytes(originator)] = counter


def mac_verifies(message: Message, keystore: Keystore) -> bool:
    """A command's MAC checks out with some KA key pairing of its originator and the device
    it targets (a device may hold more than one generation of keys)."""
    originator, target = bytes(message.originator), bytes(message.target)
    first, second = mac_parties(message.cra_flag, originator, target, keystore)
    pairings, _missing = keystore.ka_pairings(first, second)
    info = other_info(originator, message.cra_flag, message.counter, target)
    for private, _own, peer in pairings:
        try:
            verify_mac(message.apdu, message.mac, kdf(shared_secret(private, peer.public_key), info),
                       originator)  # fmt: skip
            return True
        except GbcsError:
            continue
    return False
