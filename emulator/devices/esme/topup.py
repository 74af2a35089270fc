"""2.2 Top Up Device at the ESME (CS01a): the token gateway (interface class 115,
0-0:19.40.0.255) method 1 `enter` takes a UTRN and, once it is valid, adds its credit to the
meter balance (the accounting credit 0-0:19.10.0.255, attribute 2), which the balance read
(4.3 ECS19) then shows.

A UTRN is as GBCS section 14 makes it: 20 ASCII digits, the last a check digit (GBCS's own
Verhoeff tables 14.8a-c) over the 19 before it, which are a fixed base plus the 64-bit top-up
token (PTUT). The PTUT's high 32 bits carry (from the top) 7 zero bits, the low 10 bits of
the UTRN counter's upper half (the counter's low 32 bits are 0), the value class (0 pence,
1 pounds) and a 13-bit value; its low 32 bits are the last four bytes of an AES-GCM tag over
an empty plaintext, keyed by static ECDH between the originator's prepayment KA key and the
meter's KA key and the KDF for a command with that counter, with the MAC's AAD prefix, the
originator, the meter, 01, the counter and the high 32 bits as AAD.

The meter reconstructs the counter from its 10 bits as the first at or after the oldest it
has accepted, and refuses (logged, counted by GBCS event code, nothing credited) a UTRN whose
check digit or form is wrong, whose MAC does not verify for this meter (8F63 not authentic),
whose counter it has accepted before (8F51 duplicate), whose value is above the maximum credit
threshold (8F5B) or would take the meter balance above the maximum meter balance (8F47); the
action then fails `other_reason`. Ours where our sources say nothing: the meter remembers the
last five counters it accepted; a refused UTRN changes nothing.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any, NoReturn

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gbcs.keystore import Keystore
from gbcs.message import Message
from gbcs.security import MAC_AAD_PREFIX, derive_key

from .instructions import InstructionFailed, InstructionResult, item
from .store import CosemStore

LOGGER = logging.getLogger(__name__)

IC_TOKEN_GATEWAY = 115
TOKEN_GATEWAY = bytes.fromhex("0000132800FF")  # 0-0:19.40.0.255
ENTER = 1
METER_BALANCE = (112, bytes.fromhex("0000130A00FF"), 2)
MAX_CREDIT_THRESHOLD = (9000, bytes.fromhex("00005E2C020A"), 2)  # 0-0:94.44.2.10
MAX_METER_BALANCE = (9000, bytes.fromhex("00005E2C0214"), 2)  # 0-0:94.44.2.20
#: GBCS 14: the UTRN's 19 digits are this base plus the PTUT
PTUT_BASE = 7394156990786306048
#: the meter balance counts 10^-5 of the currency (prices' scale -5): per penny, per pound
CREDIT_UNITS = {0: 1000, 1: 100000}
COUNTERS_KEPT = 5
COMMAND = 1  # the KDF's message type: a command's MAC
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


def check_digit(digits: str) -> str:
    """GBCS 14.8's check digit of a string of decimal digits."""
    check, position = 0, 4
    for digit in digits:
        check = _D[check][_P[position][int(digit)]]
        position = (position + 1) % 8
    return str(_INVERSE[check])


def ptut_mac(keystore: Keystore, originator: bytes, meter: bytes, counter: int,
             high: int) -> set[bytes]:  # fmt: skip
    """The PTUT's low 32 bits for each prepayment KA pairing of originator and meter (the
    originator's keys named pp-ka where it has such, else all its KA keys)."""
    pairings, _missing = keystore.ka_pairings(originator, meter)
    prepayment = [p for p in pairings if "pp-ka" in f"{p[1].source} {p[2].source}"]
    aad = (MAC_AAD_PREFIX + originator + meter + b"\x01" + counter.to_bytes(8, "big")
           + high.to_bytes(4, "big"))  # fmt: skip
    tags = set()
    for private, _own, peer in prepayment or pairings:
        key = derive_key(private, peer.public_key, originator, COMMAND, counter, meter)
        tags.add(AESGCM(key).encrypt(originator + bytes(4), b"", aad)[-4:])
    return tags


class TopUps:
    """The meter's token gateway: UTRNs checked and credited (see the module docstring)."""

    def __init__(self, eui: bytes, store: CosemStore, keystore: Keystore, stats: Counter) -> None:
        self.eui, self.store, self.keystore, self.stats = bytes(eui), store, keystore, stats
        #: the UTRN counters accepted, oldest first
        self.counters: list[int] = []

    def enter(self, message: Message, value: Any) -> None:
        """Method 1 enter: credit a valid UTRN; InstructionFailed(other_reason) otherwise."""
        if getattr(value, "type", None) != "octet-string":
            raise InstructionFailed(InstructionResult.TYPE_UNMATCHED)
        text = bytes(value.value).decode("ascii", "replace")
        originator = bytes(message.originator)
        if len(text) != 20 or not text.isdigit() or check_digit(text[:19]) != text[19]:
            self._refuse(None, f"not a UTRN: {text!r}")
        ptut = int(text[:19]) - PTUT_BASE
        high, low = ptut >> 32, ptut & 0xFFFFFFFF
        value_class, amount = (high >> 13) & 0x3, high & 0x1FFF
        if ptut < 0 or high >> 25 or value_class not in CREDIT_UNITS:
            self._refuse(None, f"UTRN {text} holds no PTUT GBCS defines")
        counter = self._counter((high >> 15) & 0x3FF)
        if low.to_bytes(4, "big") not in ptut_mac(self.keystore, originator, self.eui, counter,
                                                  high):  # fmt: skip
            self._refuse(NOT_AUTHENTIC, f"UTRN {text} is not authentic for this meter")
        if counter in self.counters:
            self._refuse(DUPLICATE, f"UTRN {text}: counter {counter} used before")
        credit = amount * CREDIT_UNITS[value_class]
        if credit > int(self.store.get(*MAX_CREDIT_THRESHOLD).value):
            self._refuse(EXCEEDS_MAX_CREDIT, f"UTRN {text}: {credit} over the maximum credit")
        balance = int(self.store.get(*METER_BALANCE).value) + credit
        if balance > int(self.store.get(*MAX_METER_BALANCE).value):
            self._refuse(EXCEEDS_MAX_BALANCE, f"UTRN {text}: balance {balance} over the maximum")
        self.store.set(*METER_BALANCE, item("double-long", balance))
        self.counters = (self.counters + [counter])[-COUNTERS_KEPT:]
        self.stats["utrn:accepted"] += 1
        LOGGER.info("ESME %s: UTRN %s credited %d", self.eui.hex(), text, credit)

    def _counter(self, low_bits: int) -> int:
        """The full counter whose upper half ends in `low_bits`: the first at or after the
        oldest accepted one (from 0 when none was)."""
        floor = (min(self.counters) >> 32) if self.counters else 0
        upper = floor + ((low_bits - floor) & 0x3FF)
        return upper << 32

    def _refuse(self, event: int | None, detail: str) -> NoReturn:
        self.stats[f"utrn:refused:{event:04X}" if event else "utrn:refused:form"] += 1
        LOGGER.info("ESME %s: %s", self.eui.hex(), detail)
        raise InstructionFailed(InstructionResult.OTHER_REASON)
