"""1.6 Update Payment Mode at the ESME (ECS02 credit, ECS03 prepayment): the passive account
(interface class 111, 0-1:19.0.0.255) takes the new mode and status (attribute 2) and credit
charge configuration (11), and ECS03 the passive disablement threshold (interface class 9000,
0-0:94.44.128.22, attribute 4); each takes effect at its activation time (account attribute
13, threshold attribute 6: all 00 now, all FF cancel the pending one, else that date-time).

Taking effect writes what the reads show: the active account's (0-0:19.0.0.255) mode (6.2.9
ECS26j reads attribute 2; its status stays active) and credit charge configuration (4.13
ECS26a reads attribute 11), and the disablement threshold into the register monitor
0-0:16.0.1.255's thresholds (4.13 reads them). A future-dated activation alerts 8F66 (00CC,
signed) to the command's originator when it takes effect, naming the command, the object and
the activation attribute, one alert per object as RTDS's; 8F67 if it cannot.

Storage faults (the meter's `object_faults`, RTDS's ERROR cases): with the active account's
storage failing the configuration's set fails hardware_fault (ECS02), with the register
monitor's the threshold's activation does (ECS03); the rest of the command other_reason.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from construct import ListContainer  # type: ignore[import-untyped]

from gbcs.message import Message

from .activation import Activations
from .instructions import IC_EXTENDED, NULL, InstructionFailed, InstructionResult, item

LOGGER = logging.getLogger(__name__)

IC_ACCOUNT, IC_REGISTER_MONITOR = 111, 21
PASSIVE_ACCOUNT = bytes.fromhex("0001130000FF")  # 0-1:19.0.0.255
ACTIVE_ACCOUNT = bytes.fromhex("0000130000FF")  # 0-0:19.0.0.255
DISABLEMENT_THRESHOLD = bytes.fromhex("00005E2C8016")  # 0-0:94.44.128.22
THRESHOLD_MONITOR = bytes.fromhex("0000100001FF")  # 0-0:16.0.1.255
MODE_AND_STATUS, CHARGE_CONFIGURATION, ACCOUNT_ACTIVATION = 2, 11, 13
PASSIVE_VALUE, VALUE_ACTIVATION = 4, 6
CREDIT_MODE, PREPAYMENT_MODE = 1, 2
Key = tuple[int, bytes]  # (IC, OBIS) of an object with an activation time
#: the objects served here -> their activation time's attribute
ACTIVATION_OF: dict[Key, int] = {
    (IC_ACCOUNT, PASSIVE_ACCOUNT): ACCOUNT_ACTIVATION,
    (IC_EXTENDED, DISABLEMENT_THRESHOLD): VALUE_ACTIVATION,
}
SERVED = {
    (IC_ACCOUNT, PASSIVE_ACCOUNT): (MODE_AND_STATUS, CHARGE_CONFIGURATION, ACCOUNT_ACTIVATION),
    (IC_EXTENDED, DISABLEMENT_THRESHOLD): (PASSIVE_VALUE, VALUE_ACTIVATION),
}


class PaymentMode(Activations[Key, tuple[int, bytes, int]]):
    """The passive account and disablement threshold and their pending activations;
    `passive` is keyed (IC, OBIS, attribute)."""

    prefix = "payment_mode"

    @staticmethod
    def serves(ic: int, code: bytes, attribute: int) -> bool:
        return attribute in SERVED.get((ic, code), ())

    def instruction(self, message: Message, kind: str, ic: int, code: bytes, attribute: int,
                    value: Any) -> Any:  # fmt: skip
        """One get / set of a passive attribute or an activation time; InstructionFailed."""
        key = (ic, code)
        if kind == "get" and (ic, code, attribute) in self.passive:
            return self.passive[(ic, code, attribute)]
        if kind != "set":
            raise InstructionFailed(InstructionResult.OBJECT_UNDEFINED)
        if attribute == ACTIVATION_OF[key]:
            return self.activation(message, key, bytes(getattr(value, "value", b"")))
        self._check(ic, attribute, value)
        self.passive[(ic, code, attribute)] = value
        return NULL

    def _check(self, ic: int, attribute: int, value: Any) -> None:
        kind = getattr(value, "type", None)
        if ic == IC_EXTENDED:
            if kind != "double-long":
                raise InstructionFailed(InstructionResult.TYPE_UNMATCHED)
        elif attribute == MODE_AND_STATUS:
            parts = list(value.value) if kind == "structure" else []
            if len(parts) != 2 or any(p.type != "enum" for p in parts):
                raise InstructionFailed(InstructionResult.TYPE_UNMATCHED)
            if int(parts[0].value) not in (CREDIT_MODE, PREPAYMENT_MODE):
                raise InstructionFailed(InstructionResult.OTHER_REASON)
        elif kind != "array":
            raise InstructionFailed(InstructionResult.TYPE_UNMATCHED)
        elif self.faulty(ACTIVE_ACCOUNT):  # RTDS's ECS02 ERROR: the configuration's storage
            raise InstructionFailed(InstructionResult.HARDWARE_FAULT)

    def _storage_fails(self, key: Key) -> bool:
        return key[0] == IC_EXTENDED and self.faulty(THRESHOLD_MONITOR)  # RTDS's ECS03 ERROR

    def _apply(self, key: Key) -> bool:
        """The passive values of `key` written where the reads find them; False when
        nothing is held to take effect or its storage fails."""
        ic, code = key
        if ic == IC_EXTENDED:
            threshold = self.passive.get((ic, code, PASSIVE_VALUE))
            if threshold is None or self.faulty(THRESHOLD_MONITOR):
                return False
            self.store.set(IC_REGISTER_MONITOR, THRESHOLD_MONITOR, 2,
                           item("array", ListContainer([threshold])))  # fmt: skip
        else:
            mode = self.passive.get((ic, code, MODE_AND_STATUS))
            configuration = self.passive.get((ic, code, CHARGE_CONFIGURATION))
            if mode is None or configuration is None or self.faulty(ACTIVE_ACCOUNT):
                return False
            status = self.store.get(IC_ACCOUNT, ACTIVE_ACCOUNT, MODE_AND_STATUS).value[1]
            self.store.set(IC_ACCOUNT, ACTIVE_ACCOUNT, MODE_AND_STATUS,
                           item("structure", ListContainer([mode.value[0], status])))  # fmt: skip
            self.store.set(IC_ACCOUNT, ACTIVE_ACCOUNT, CHARGE_CONFIGURATION, configuration)
        return True

    def _named(self, key: Key) -> tuple[int, bytes, int]:
        return key[0], key[1], ACTIVATION_OF[key]

    def _log(self, key: Key, at: dt.datetime, done: bool) -> None:
        ic, code = key
        LOGGER.info("payment mode object %d/%s took effect at %s: %s", ic, code.hex(), at, done)
