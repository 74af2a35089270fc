"""UTRNs (GBCS section 14), which the ESME (esme/topup.py, CS01a) and the GSME (gsme/
prepayment.py, CS01b) both check before they add a top-up's credit.

A UTRN is 20 ASCII digits, the last a check digit (GBCS's own Verhoeff tables 14.8a-c) over
the 19 before it, which are a fixed base plus the 64-bit top-up token (PTUT). The PTUT's high
32 bits carry (from the top) 7 zero bits, the low 10 bits of the UTRN counter's upper half
(the counter's low 32 bits are 0), the value class (0 pence, 1 pounds) and a 13-bit value;
its low 32 bits are the last four bytes of an AES-GCM tag over an empty plaintext, keyed by
static ECDH between the Supplier's prepayment KA key and the meter's KA key and the KDF for a
command with that counter, with the MAC's AAD prefix, the Supplier, the meter, 01, the
counter and the high 32 bits as AAD.

A meter reconstructs the counter from its 10 bits as the first at or after the oldest it
has accepted and keeps the last few it accepted (`UtrnCounters`; ours: five), so a UTRN
entered twice is a duplicate.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from emulator.errors import EmulatorError
from gbcs.keystore import Keystore
from gbcs.security import MAC_AAD_PREFIX, derive_key

#: GBCS 14: the UTRN's 19 digits are this base plus the PTUT
PTUT_BASE = 7394156990786306048
PENCE, POUNDS = 0, 1
#: credit in 10^-5 of the currency (the prices' scale, -5): per penny, per pound
CREDIT_UNITS = {PENCE: 1000, POUNDS: 100000}
COUNTERS_KEPT = 5
COMMAND = 1  # the KDF's message type: a command's MAC
#: GBCS events for a refused UTRN (gbcs.alerts)
DUPLICATE, EXCEEDS_MAX_CREDIT, NOT_AUTHENTIC, EXCEEDS_MAX_BALANCE = 0x8F51, 0x8F5B, 0x8F63, 0x8F47

#: GBCS tables 14.8a (permutation), 14.8b (multiplication), 14.8c (inverse)
_P = ((0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 5, 7, 6, 2, 8, 3, 0, 9, 4),
      (5, 8, 0, 3, 7, 9, 6, 1, 4, 2), (8, 9, 1, 6, 0, 4, 3, 5, 2, 7),
      (9, 4, 5, 3, 1, 2, 6, 8, 7, 0), (4, 2, 8, 6, 5, 7, 3, 9, 0, 1),
      (2, 7, 9, 3, 8, 0, 6, 4, 1, 5), (7, 0, 4, 6, 9, 1, 3, 2, 5, 8))  # fmt: skip
_D = ((0, 1, 2, 3, 4, 5, 6, 7, 8, 9), (1, 2, 3, 4, 0, 6, 7, 8, 9, 5),
      (2, 3, 4, 0, 1, 7, 8, 9, 5, 6), (3, 4, 0, 1, 2, 8, 9, 5, 6, 7),
      (4, 0, 1, 2, 3, 9, 5, 6, 7, 8), (5, 9, 8, 7, 6, 0, 4, 3, 2, 1),
      (6, 5, 9, 8, 7, 1, 0, 4, 3, 2), (7, 6, 5, 9, 8, 2, 1, 0, 4, 3),
      (8, 7, 6, 5, 9, 3, 2, 1, 0, 4), (9, 8, 7, 6, 5, 4, 3, 2, 1, 0))  # fmt: skip
_INVERSE = (1, 2, 6, 7, 5, 8, 3, 0, 9, 4)


class UtrnRefused(EmulatorError, ValueError):
    """A UTRN the meter does not credit: `event` the GBCS event (None: not a UTRN at all)."""

    def __init__(self, event: int | None, detail: str) -> None:
        super().__init__(detail)
        self.event = event

    @property
    def counted(self) -> str:
        return f"utrn:refused:{self.event:04X}" if self.event else "utrn:refused:form"


def check_digit(digits: str) -> str:
    """GBCS 14.8's check digit of a string of decimal digits."""
    check, position = 0, 4
    for digit in digits:
        check = _D[check][_P[position][int(digit)]]
        position = (position + 1) % 8
    return str(_INVERSE[check])


def ptut_mac(keystore: Keystore, supplier: bytes, meter: bytes, counter: int,
             high: int) -> set[bytes]:  # fmt: skip
    """The PTUT's low 32 bits for each prepayment KA pairing of supplier and meter (the
    supplier's keys named pp-ka where it has such, else all its KA keys)."""
    pairings, _missing = keystore.ka_pairings(supplier, meter)
    prepayment = [p for p in pairings if "pp-ka" in f"{p[1].source} {p[2].source}"]
    aad = (MAC_AAD_PREFIX + supplier + meter + b"\x01" + counter.to_bytes(8, "big")
           + high.to_bytes(4, "big"))  # fmt: skip
    tags = set()
    for private, _own, peer in prepayment or pairings:
        key = derive_key(private, peer.public_key, supplier, COMMAND, counter, meter)
        tags.add(AESGCM(key).encrypt(supplier + bytes(4), b"", aad)[-4:])
    return tags


def mint(keystore: Keystore, supplier: bytes, meter: bytes, counter: int, value: int,
         value_class: int = POUNDS) -> str:  # fmt: skip
    """A UTRN as a Supplier makes one: what tests and the tools top up with."""
    high = ((counter >> 32) & 0x3FF) << 15 | value_class << 13 | value
    tag = min(ptut_mac(keystore, supplier, meter, counter, high))
    digits = str(PTUT_BASE + (high << 32 | int.from_bytes(tag, "big")))
    return digits + check_digit(digits)


@dataclass
class UtrnCounters:
    """The UTRN counters a meter accepted, oldest first."""

    accepted: list[int] = field(default_factory=list)

    def counter(self, low_bits: int) -> int:
        """The full counter whose upper half ends in `low_bits`: the first at or after the
        oldest accepted one (from 0 when none was)."""
        floor = (min(self.accepted) >> 32) if self.accepted else 0
        return (floor + ((low_bits - floor) & 0x3FF)) << 32

    def keep(self, counter: int) -> None:
        self.accepted = (self.accepted + [counter])[-COUNTERS_KEPT:]


def check(text: str, keystore: Keystore, supplier: bytes, meter: bytes,
          counters: UtrnCounters) -> tuple[int, int]:  # fmt: skip
    """(credit in 10^-5 of the currency, counter) of a valid UTRN not entered before;
    UtrnRefused otherwise. The caller keeps the counter once it credits the UTRN."""
    if len(text) != 20 or not text.isdigit() or check_digit(text[:19]) != text[19]:
        raise UtrnRefused(None, f"not a UTRN: {text!r}")
    ptut = int(text[:19]) - PTUT_BASE
    high, low = ptut >> 32, ptut & 0xFFFFFFFF
    value_class, amount = (high >> 13) & 0x3, high & 0x1FFF
    if ptut < 0 or high >> 25 or value_class not in CREDIT_UNITS:
        raise UtrnRefused(None, f"UTRN {text} holds no PTUT GBCS defines")
    counter = counters.counter((high >> 15) & 0x3FF)
    if low.to_bytes(4, "big") not in ptut_mac(keystore, supplier, meter, counter, high):
        raise UtrnRefused(NOT_AUTHENTIC, f"UTRN {text} is not authentic for this meter")
    if counter in counters.accepted:
        raise UtrnRefused(DUPLICATE, f"UTRN {text}: counter {counter} used before")
    return amount * CREDIT_UNITS[value_class], counter
