"""The meter's debt recovery, balance and emergency credit. 2.3 Update Debt (ECS07) sets each debt's passive unit charge
(the time-based debts 1 and 2, 0-0:19.20.1/2.255), the payment-based debt 3's proportion and
the collection periods (store.py holds them), then runs the Charge objects' (interface class
113) methods: 2 activate_passive_unit_charge (the passive unit charge becomes the active one,
which 4.13 reads) and 4 update_total_amount_remaining (adds its double-long to the debt's
total_amount_remaining, attribute 12: DUIS's registers are signed adjustments).

1.5 Adjust Meter Balance (ECS04a, prepayment mode) runs the accounting credit's
(0-0:19.10.0.255, interface class 112) method 1 update_amount: its current_credit_amount
(attribute 2) plus the signed double-long; 1.5's reset (ECS04b) runs its method 2
set_amount_to_value with 0 (no RTDS case shows ECS04b: our reading of the DLMS Credit class
and of ECS04b's "set the meter balance to zero"). 2.5 Activate Emergency Credit (ECS09) runs the emergency credit's (0-0:19.10.1.255, interface
class 112) method 3 invoke_credit: a credit whose credit_status (attribute 8) is selectable
(1) becomes selected (2) with its current_credit_amount (2) the preset amount (9).

Ours where our sources say nothing: a debt starts at 0 remaining and the meter balance at 0,
and an adjustment that would take either outside a double-long is refused `other_reason`,
nothing changed; the emergency credit
starts selectable with none of it used, and invoking it when it is not selectable (already
invoked) is refused `other_reason`.
"""

from __future__ import annotations

from typing import Any

from .instructions import InstructionFailed, InstructionResult, item
from .store import CosemStore

IC_CHARGE, IC_CREDIT = 113, 112
UPDATE_AMOUNT, SET_AMOUNT_TO_VALUE, INVOKE_CREDIT = 1, 2, 3
CURRENT_CREDIT_AMOUNT, CREDIT_STATUS, PRESET_CREDIT_AMOUNT = 2, 8, 9
SELECTABLE, SELECTED = 1, 2
ACTIVATE_PASSIVE_UNIT_CHARGE, UPDATE_TOTAL_AMOUNT_REMAINING = 2, 4
UNIT_CHARGE_ACTIVE, UNIT_CHARGE_PASSIVE, TOTAL_AMOUNT_REMAINING = 5, 6, 12
DOUBLE_LONG = range(-(2**31), 2**31)


def charge_method(store: CosemStore, code: bytes, method: int, value: Any) -> bool:
    """Run Charge method `method` of 0-0:…`code`; False when it is no method served here
    (the caller then refuses it as it refuses any other undefined object)."""
    if method == ACTIVATE_PASSIVE_UNIT_CHARGE and (IC_CHARGE, code, UNIT_CHARGE_PASSIVE) in store:
        passive = store.get(IC_CHARGE, code, UNIT_CHARGE_PASSIVE)
        store.set(IC_CHARGE, code, UNIT_CHARGE_ACTIVE, passive)
        return True
    if method == UPDATE_TOTAL_AMOUNT_REMAINING and (
        IC_CHARGE, code, TOTAL_AMOUNT_REMAINING) in store:  # fmt: skip
        _adjust(store, (IC_CHARGE, code, TOTAL_AMOUNT_REMAINING), value)
        return True
    return False


def _adjust(store: CosemStore, key: tuple[int, bytes, int], value: Any) -> None:
    """A held double-long plus a double-long `value`, kept within a double-long."""
    if getattr(value, "type", None) != "double-long":
        raise InstructionFailed(InstructionResult.TYPE_UNMATCHED)
    total = int(store.get(*key).value) + int(value.value)
    if total not in DOUBLE_LONG:
        raise InstructionFailed(InstructionResult.OTHER_REASON)
    store.set(*key, item("double-long", total))


def credit_method(store: CosemStore, code: bytes, method: int, value: Any) -> bool:
    """Run Credit method `method` of `code`; False when it is no method served here."""
    if method == UPDATE_AMOUNT and (IC_CREDIT, code, CURRENT_CREDIT_AMOUNT) in store:
        _adjust(store, (IC_CREDIT, code, CURRENT_CREDIT_AMOUNT), value)
        return True
    if method == SET_AMOUNT_TO_VALUE and (IC_CREDIT, code, CURRENT_CREDIT_AMOUNT) in store:
        if getattr(value, "type", None) != "double-long":  # ECS04b: the balance set to zero
            raise InstructionFailed(InstructionResult.TYPE_UNMATCHED)
        store.set(IC_CREDIT, code, CURRENT_CREDIT_AMOUNT, item("double-long", int(value.value)))
        return True
    if method != INVOKE_CREDIT or (IC_CREDIT, code, CREDIT_STATUS) not in store:
        return False
    if int(store.get(IC_CREDIT, code, CREDIT_STATUS).value) != SELECTABLE:
        raise InstructionFailed(InstructionResult.OTHER_REASON)
    preset = store.get(IC_CREDIT, code, PRESET_CREDIT_AMOUNT)
    store.set(IC_CREDIT, code, CURRENT_CREDIT_AMOUNT, item("double-long", int(preset.value)))
    store.set(IC_CREDIT, code, CREDIT_STATUS, item("enum", SELECTED))
    return True
