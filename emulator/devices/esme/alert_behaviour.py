"""Which of its non-critical alerts and events the meter sends, shows, sounds and logs: 6.22
Configure Alert Behaviour (ECS25a/a1/a2/a3 from the Supplier, ECS25b/b3 from the Network
Operator) changes them and 6.2.10 (ECS25r1, ECS25r2) reads them back.

Each party's behaviours are 256-bit strings, one bit per alert code: the code's low byte
counted from the string's last bit (0x8014's bit is the 21st from the end), the high byte
being the party's (0x81 the Supplier's, 0x80 the Network Operator's), as RTDS's commands and
responses show. A set does not write the string read back: it writes a 512-bit string to a
configuration object of its own, the first 256 bits a mask of the codes to change and the
last 256 their new values (1 enabled), so codes it does not name keep their behaviour.

configuration object (set)        its behaviours (read, store.py holds them)
0-30:97.98.11 / 0-33:97.98.11     0-30:97.98.15 / 0-33:97.98.15   alerts sent to the party
0-30:97.98.12                     0-30:97.98.16                   events sent to HAN devices
0-30:97.98.13                     0-30:97.98.17                   the audible alarm
0-30:97.98.14 / 0-33:97.98.14     0-30:97.98.18 / 0-33:97.98.18   events logged

The alert behaviours decide whether the meter sends a non-critical alert at all (`sends`):
a code of the Supplier's or the Network Operator's range whose bit is off is not sent.
"""

from __future__ import annotations

from typing import Any

from construct import Container  # type: ignore[import-untyped]

from .instructions import IC_DATA, InstructionFailed, InstructionResult, item
from .store import CosemStore

SUPPLIER_GROUP, NETWORK_OPERATOR_GROUP = 30, 33  # OBIS value group B of each party's objects
BEHAVIOUR_BITS = 256

#: configuration object (OBIS) -> the behaviours object it changes
CONFIGURATIONS: dict[bytes, bytes] = {
    bytes((0, group, 97, 98, setting, 255)): bytes((0, group, 97, 98, setting + 4, 255))
    for group, settings in (
        (SUPPLIER_GROUP, (11, 12, 13, 14)),
        (NETWORK_OPERATOR_GROUP, (11, 14)),
    )  # fmt: skip
    for setting in settings
}


def _octets(value: Any, bits: int) -> bytes:
    """The octets of a bit-string data item of `bits` bits; type_unmatched for another."""
    if getattr(value, "type", None) != "bit-string" or int(value.value.bits) != bits:
        raise InstructionFailed(InstructionResult.TYPE_UNMATCHED)
    return bytes(value.value.octets)


def configure(store: CosemStore, code: bytes, value: Any) -> None:
    """A set of configuration object `code`: the codes its mask names take its values, the
    rest of the behaviours object stay as they were."""
    change = _octets(value, 2 * BEHAVIOUR_BITS)
    half = BEHAVIOUR_BITS // 8
    mask, wanted = change[:half], change[half:]
    key = (IC_DATA, CONFIGURATIONS[code], 2)
    held = _octets(store.get(*key), BEHAVIOUR_BITS)
    new = bytes((h & ~m | w & m) & 0xFF for h, m, w in zip(held, mask, wanted, strict=True))
    store.set(*key, item("bit-string", Container(bits=BEHAVIOUR_BITS, octets=new)))


#: an alert code's high byte -> the party whose alert behaviours decide whether it is sent
PARTY_OF = {0x81: SUPPLIER_GROUP, 0x80: NETWORK_OPERATOR_GROUP}
ALERTS_SENT = 15  # 0-b:97.98.15.255: the alerts sent to the party


def sends(store: CosemStore, code: int) -> bool:
    """Whether the meter sends alert `code`: every code outside the two configurable ranges
    (critical ones, 8Fxx), and a configurable one whose bit its party has on."""
    group = PARTY_OF.get(code >> 8)
    key = (IC_DATA, bytes((0, group or 0, 97, 98, ALERTS_SENT, 255)), 2)
    if group is None or key not in store:
        return True
    octets = _octets(store.get(*key), BEHAVIOUR_BITS)
    bit = BEHAVIOUR_BITS - 1 - (code & 0xFF)
    return bool(octets[bit // 8] & (0x80 >> (bit % 8)))
