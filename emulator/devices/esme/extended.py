"""GBCS extended data objects (interface class 9000) with a passive value and its activation
time: 6.4.1's load limit general settings (ECS28a) set the passive supply state, power
threshold, period and restoration period (attribute 4) and when each takes effect
(attribute 6: all 00 now, all FF cancel the pending one, else that date-time).

Taking effect writes the active value 4.15 (ECS27) reads: the supply state's own value
(0-0:94.44.0.3, attribute 2) and the load limit monitor's threshold, period and restoration
period (0-0:17.0.0.255 attributes 4, 6, 7), as RTDS's meter reports the settings there. A
future-dated one then alerts 8F66 (00CC, signed) to the command's originator naming what
was applied (message code, counter, IC 9000, OBIS, attribute 6), 8F67 if it could not be;
RTDS's ECS28a alerts are one per object, as ours. An object whose storage fails (the meter's
`object_faults`) still takes its passive value and fails hardware_fault when its activation
writes the active one, the rest of the command other_reason: RTDS's ECS28a and ECS01b ERROR
responses.

1.2.1's primary element prices (ECS01b) are the same pattern on two IC 113 Charge objects,
the standing charge (0-0:19.20.4.255) and the TOU / block price matrix (0-0:19.20.0.255):
unit_charge_passive (attribute 6) and unit_charge_activation_time (attribute 7), taking effect
into unit_charge_active (attribute 5); RTDS's future-dated ECS01b alerts one 8F66 per object. 1.1.1's currency unit (ECS01a: IC 9000
0-0:94.44.2.0) and 1.1.2 / 1.2.2's secondary element price matrix (ECS01c / ECS01d, IC 113
0-0:19.20.5.255) likewise; the rest of a tariff is tariff.py's. A fault of the passive
attribute itself (`faulty` of OBIS + attribute number) fails its set hardware_fault, as
RTDS's ECS01d ERROR shows.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from gbcs.message import Message

from .activation import Activations
from .debt import IC_CHARGE
from .instructions import IC_EXTENDED, InstructionFailed, InstructionResult

LOGGER = logging.getLogger(__name__)

#: (IC, passive object) -> the active attribute its activation writes
ACTIVE_OF: dict[tuple[int, bytes], tuple[int, bytes, int]] = {
    (IC_EXTENDED, bytes.fromhex("00005E2C0003")): (9000, bytes.fromhex("00005E2C0003"), 2),
    (IC_EXTENDED, bytes.fromhex("00005E2C8007")): (71, bytes.fromhex("0000110000FF"), 4),
    (IC_EXTENDED, bytes.fromhex("00005E2C8006")): (71, bytes.fromhex("0000110000FF"), 6),
    (IC_EXTENDED, bytes.fromhex("00005E2C8008")): (71, bytes.fromhex("0000110000FF"), 7),
    (IC_CHARGE, bytes.fromhex("0000131404FF")): (IC_CHARGE, bytes.fromhex("0000131404FF"), 5),
    (IC_CHARGE, bytes.fromhex("0000131400FF")): (IC_CHARGE, bytes.fromhex("0000131400FF"), 5),
    # 1.1.1's currency unit, 1.1.2 / 1.2.2's secondary element price matrix
    (IC_EXTENDED, bytes.fromhex("00005E2C0200")): (9000, bytes.fromhex("00005E2C0200"), 2),
    (IC_CHARGE, bytes.fromhex("0000131405FF")): (IC_CHARGE, bytes.fromhex("0000131405FF"), 5),
}
#: IC -> (its passive value's attribute, its activation time's attribute)
ATTRIBUTES = {IC_EXTENDED: (4, 6), IC_CHARGE: (6, 7)}
Key = tuple[int, bytes]  # (IC, OBIS)


class ExtendedValues(Activations[Key, Key]):
    """The passive values and pending activations of ACTIVE_OF's objects."""

    prefix = "extended"

    def instruction(self, message: Message, kind: str, key: Key, attribute: int,
                    value: Any) -> Any:  # fmt: skip
        """One get / set of a passive value or activation time; InstructionFailed."""
        passive, activation = ATTRIBUTES[key[0]]
        if kind == "get" and attribute == passive and key in self.passive:
            return self.passive[key]
        if kind != "set" or attribute not in (passive, activation):
            raise InstructionFailed(InstructionResult.OBJECT_UNDEFINED)
        if attribute == passive:
            if self.faulty(key[1] + bytes((passive,))):  # the passive attribute's storage fails
                raise InstructionFailed(InstructionResult.HARDWARE_FAULT)  # (RTDS's ECS01d ERROR)
            return self.hold(key, ACTIVE_OF[key], value)
        return self.activation(message, key, bytes(getattr(value, "value", b"")))

    def _storage_fails(self, key: Key) -> bool:
        return self.faulty(key[1])  # the active value's storage fails (RTDS's ERROR cases)

    def _apply(self, key: Key) -> bool:
        value = self.passive.get(key)
        if value is None or self.faulty(key[1]):
            return False
        self.store.set(*ACTIVE_OF[key], value)
        return True

    def _named(self, key: Key) -> tuple[int, bytes, int]:
        ic, code = key
        return ic, code, ATTRIBUTES[ic][1]

    def _log(self, key: Key, at: dt.datetime, done: bool) -> None:
        ic, code = key
        LOGGER.info("passive value %d/%s activated at %s: %s", ic, code.hex(), at, done)
