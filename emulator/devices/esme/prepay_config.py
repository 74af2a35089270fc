"""2.1 Update Prepay Configuration at the ESME (critical ECS08a, and ECS08, its older form):
passive values each taking effect at its activation time (an IC 9000 object's attribute 6:
all 00 now, all FF cancel the pending one, else that date-time) — the non-disablement
calendar's special days (0-1:11.0.2.255) and schedule (0-1:12.0.1.255), activated by
0-0:94.44.128.31 and .28, and the passive values (attribute 4) of the maximum meter balance
and maximum credit threshold (0-0:94.44.2.20 and .10), the debt recovery rate cap and its
period (0-0:94.44.128.12, .13), the low credit threshold (.9) and the emergency credit limit
and threshold (.2, .3). ECS08 names the maximum meter balance's value_active (attribute 2):
the meter takes it at the activation all the same, as RTDS's 8F66 for it shows.

Taking effect writes what 4.13 (ECS26a) reads: the active special days (0-0:11.0.2.255) and
schedule (0-0:12.0.1.255), the two maxima's value_active, the account's max_provision and
its period and low_credit_threshold (0-0:19.0.0.255 attributes 18, 19, 16), the emergency
credit's preset amount and credit_available_threshold (0-0:19.10.1.255 attributes 9, 10).
A future-dated one alerts 8F66 (00CC, signed) to the command's originator naming the
activation object, one alert per object as RTDS's nine; 8F67 if it cannot take effect.
An active value whose storage fails (`object_faults` holding its OBIS and attribute number,
RTDS's ERROR: the emergency credit threshold's) fails the activation hardware_fault.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from gbcs.message import Message

from .activation import Activations
from .instructions import IC_EXTENDED, InstructionFailed, InstructionResult

LOGGER = logging.getLogger(__name__)

Attribute = tuple[int, bytes, int]
PASSIVE_VALUE, VALUE_ACTIVE, ACTIVATION = 4, 2, 6


def _x(code: str) -> bytes:
    return bytes.fromhex(code)


#: the passive attribute -> (its activation object (IC 9000, attribute 6), the active one)
PASSIVE: dict[Attribute, tuple[bytes, Attribute]] = {
    (11, _x("00010B0002FF"), 2): (_x("00005E2C801F"), (11, _x("00000B0002FF"), 2)),
    (10, _x("00010C0001FF"), 2): (_x("00005E2C801C"), (10, _x("00000C0001FF"), 2)),
    (IC_EXTENDED, _x("00005E2C0214"), PASSIVE_VALUE): (
        _x("00005E2C0214"), (IC_EXTENDED, _x("00005E2C0214"), VALUE_ACTIVE)),
    (IC_EXTENDED, _x("00005E2C0214"), VALUE_ACTIVE): (  # ECS08's form of the same
        _x("00005E2C0214"), (IC_EXTENDED, _x("00005E2C0214"), VALUE_ACTIVE)),
    (IC_EXTENDED, _x("00005E2C020A"), PASSIVE_VALUE): (
        _x("00005E2C020A"), (IC_EXTENDED, _x("00005E2C020A"), VALUE_ACTIVE)),
    (IC_EXTENDED, _x("00005E2C800C"), PASSIVE_VALUE): (
        _x("00005E2C800C"), (111, _x("0000130000FF"), 18)),
    (IC_EXTENDED, _x("00005E2C800D"), PASSIVE_VALUE): (
        _x("00005E2C800D"), (111, _x("0000130000FF"), 19)),
    (IC_EXTENDED, _x("00005E2C8009"), PASSIVE_VALUE): (
        _x("00005E2C8009"), (111, _x("0000130000FF"), 16)),
    (IC_EXTENDED, _x("00005E2C8002"), PASSIVE_VALUE): (
        _x("00005E2C8002"), (112, _x("0000130A01FF"), 9)),
    (IC_EXTENDED, _x("00005E2C8003"), PASSIVE_VALUE): (
        _x("00005E2C8003"), (112, _x("0000130A01FF"), 10)),
}  # fmt: skip
#: activation object -> the passive attributes it activates
ACTIVATES: dict[bytes, list[Attribute]] = {}
for _passive, (_activation, _active) in PASSIVE.items():
    ACTIVATES.setdefault(_activation, []).append(_passive)


class PrepayConfiguration(Activations[bytes, Attribute]):
    """The passive prepayment configuration and its pending activations, keyed by the
    activation object's OBIS."""

    prefix = "prepay_config"

    @staticmethod
    def serves(ic: int, code: bytes, attribute: int) -> bool:
        return (ic, code, attribute) in PASSIVE or (
            ic == IC_EXTENDED and attribute == ACTIVATION and code in ACTIVATES
        )

    def instruction(self, message: Message, kind: str, ic: int, code: bytes, attribute: int,
                    value: Any) -> Any:  # fmt: skip
        """One set of a passive value or an activation time (a get of a passive value held);
        InstructionFailed."""
        key = (ic, code, attribute)
        if kind == "get" and key in self.passive and PASSIVE[key][1] != key:
            return self.passive[key]
        if kind == "get" and key in self.store:  # ECS08's value_active: what 4.13 reads
            return self.store.get(*key)
        if kind != "set":
            raise InstructionFailed(InstructionResult.OBJECT_UNDEFINED)
        if key in PASSIVE:
            return self.hold(key, PASSIVE[key][1], value)
        return self.activation(message, code, bytes(getattr(value, "value", b"")))

    def _storage_fails(self, code: bytes) -> bool:
        return any(self._fails(p) for p in ACTIVATES[code])

    def _fails(self, passive: Attribute) -> bool:
        """The active attribute's storage fails (its OBIS and attribute number faulty)."""
        _ic, active, attribute = PASSIVE[passive][1]
        return self.faulty(active) or self.faulty(active + bytes((attribute,)))

    def _apply(self, code: bytes) -> bool:
        """The passive values `code` activates written where 4.13 reads them; False when
        none is held or a storage fails."""
        held = [p for p in ACTIVATES[code] if p in self.passive]
        if not held or any(self._fails(p) for p in held):
            return False
        for passive in held:
            self.store.set(*PASSIVE[passive][1], self.passive.pop(passive))
        return True

    def _named(self, code: bytes) -> tuple[int, bytes, int]:
        return IC_EXTENDED, code, ACTIVATION

    def _log(self, code: bytes, at: dt.datetime, done: bool) -> None:
        LOGGER.info("prepayment configuration %s took effect at %s: %s", code.hex(), at, done)
