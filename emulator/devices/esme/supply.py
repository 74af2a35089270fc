"""The meter's load switch: 7.1 enable (ECS42), 7.2 disable (ECS43) and 7.3 arm (ECS44) run
the supply-state script table (0-0:10.0.106.255, execute with selector 51, 52 or 54), and 7.4
(ECS45) reads the result, the disconnect control's control_state (0-0:96.3.10.255 attribute 3:
0 disconnected, 1 connected, 2 ready for reconnection), which store.py holds.

Transitions (ours: our sources show only each script succeeding from RTDS's state and a
hardware fault): enable connects from any state; disable disconnects; arm makes a
disconnected supply ready for reconnection and leaves a connected or armed one as it is.
While the supply is interlocked for lack of credit (consumption.py: prepayment credit at the
disablement threshold) enable and arm fail other_reason, nothing changed.

A tamper (`on_tamper`: the world's event, as a power cut is) disconnects the supply where the
supply tamper state 6.25 (ECS81) sets is Locked (0-0:94.44.0.4, a boolean: RTDS's meter
starts Locked) and leaves it as it is where Unlocked; the meter alerts its Supplier (meter.py:
8F3F tamper detected, then 81BE supply disabled then locked). Ours, where our sources give no
rule: the supply locked by a tamper is a disconnected one, which 7.3 arms and 7.1 enables as
any other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .instructions import InstructionFailed, InstructionResult, item
from .store import CosemStore

IC_SCRIPT_TABLE = 9
SUPPLY_SCRIPTS = bytes.fromhex("00000A006AFF")  # 0-0:10.0.106.255
CONTROL_STATE = (70, bytes.fromhex("000060030AFF"), 3)  # 0-0:96.3.10.255 attribute 3
DISCONNECTED, CONNECTED, READY = 0, 1, 2
ENABLE, DISABLE, ARM = 51, 52, 54
SUPPLY_TAMPER_STATE = (1, bytes.fromhex("00005E2C0004"), 2)  # 0-0:94.44.0.4, set by 6.25
#: GBCS alert codes: unauthorised physical access (tamper detect); supply disabled then
#: locked, the supply tamper state the cause
TAMPER_DETECTED, LOCKED_ON_TAMPER = 0x8F3F, 0x81BE


def on_tamper(store: CosemStore) -> bool:
    """A tamper detected: the supply disconnected where the supply tamper state is Locked;
    whether it was."""
    if not store.get(*SUPPLY_TAMPER_STATE).value:
        return False
    store.set(*CONTROL_STATE, item("enum", DISCONNECTED))
    return True


def run_script(store: CosemStore, selector: Any,
               interlocked: Callable[[], bool] | None = None) -> None:  # fmt: skip
    """Execute the supply-state script `selector` names; InstructionFailed for another, and
    for enable or arm while `interlocked()`."""
    try:
        chosen = int(selector.value)
    except (AttributeError, TypeError, ValueError):
        raise InstructionFailed(InstructionResult.OTHER_REASON) from None
    if chosen in (ENABLE, ARM) and interlocked is not None and interlocked():
        raise InstructionFailed(InstructionResult.OTHER_REASON)
    state = int(store.get(*CONTROL_STATE).value)
    if chosen == ENABLE:
        state = CONNECTED
    elif chosen == DISABLE:
        state = DISCONNECTED
    elif chosen == ARM:
        state = READY if state == DISCONNECTED else state
    else:
        raise InstructionFailed(InstructionResult.OBJECT_UNAVAILABLE)
    store.set(*CONTROL_STATE, item("enum", state))
