"""The primary element's tariff block counter matrix and TOU-with-blocks registers: what 4.1.3
(ECS17e) reads, what the meter's import feeds and 1.7 (ECS05) resets.

4.1.3 reads the TariffBlockTOURegisterCollection (0-0:94.44.34.2, interface class 1,
attribute 2): one array of 64 double-long-unsigned. DUIS gives it back (MMC's TariffBlockTOUType)
per block 1..4 as the eight TOU rates' register values, then their eight counter values; we
hold the array in that order, so block b's register for TOU rate n is entry 16(b-1) + n-1 and
its counter 16(b-1) + 8 + n-1 (our reading: no source we have states GBCS's order and
RTDS's values are filler; block-major is how the price matrix holds its block prices, as
SmartDCCInnovation's gbcs-parser reads them).

The registers accumulate for good; the counters hold the block period's consumption, from
which the block in force is found: import under TOU rate n goes to the first block whose
threshold (TOU rate n's register monitor 0-0:16.0.(10+n).255, three thresholds, FFFFFFFF for
none) the sum of n's counters has not reached, split where it crosses one.

1.7 (ECS05) executes the script table 0-0:10.0.100.255 with selector 99: every counter goes to
zero and the registers are left, so consumption is charged at the first block again (GBCS's
ECS05). Ours where our sources are silent: import counts under TOU rate 1, the rate
consumption.py charges (the meter does not yet follow its calendar for the rate in force);
the script table's other selectors (the day profiles' tariff actions, run by the calendar)
are not run by a remote command: object_unavailable.
"""

from __future__ import annotations

from typing import Any

from construct import ListContainer  # type: ignore[import-untyped]

from .instructions import InstructionFailed, InstructionResult, item
from .store import CosemStore

COLLECTION = (1, bytes.fromhex("00005E2C2202"), 2)  # 0-0:94.44.34.2, what 4.1.3 reads
SCRIPTS = bytes.fromhex("00000A0064FF")  # 0-0:10.0.100.255
EXECUTE, RESET = 1, 99  # the script table's execute method; ECS05's selector
TOU_RATES, BLOCKS = 8, 4
NO_THRESHOLD = 0xFFFFFFFF
WRAP = 1 << 32  # a double-long-unsigned register rolls over


def _values(store: CosemStore) -> list[int]:
    [array] = store.get(*COLLECTION).value
    return [int(v.value) for v in array.value]


def _write(store: CosemStore, values: list[int]) -> None:
    array = item("array", ListContainer(item("double-long-unsigned", v % WRAP) for v in values))
    store.set(*COLLECTION, item("structure", ListContainer([array])))


def register_index(rate: int, block: int) -> int:
    return 16 * (block - 1) + rate - 1


def counter_index(rate: int, block: int) -> int:
    return 16 * (block - 1) + 8 + rate - 1


def counters(store: CosemStore, rate: int) -> list[int]:
    """TOU rate `rate`'s counters, blocks 1..4."""
    values = _values(store)
    return [values[counter_index(rate, b)] for b in range(1, BLOCKS + 1)]


def registers(store: CosemStore, rate: int) -> list[int]:
    """TOU rate `rate`'s registers, blocks 1..4."""
    values = _values(store)
    return [values[register_index(rate, b)] for b in range(1, BLOCKS + 1)]


def _bounds(store: CosemStore, rate: int) -> list[int]:
    """The block boundaries of TOU rate `rate`: its active thresholds, up to the first unset."""
    monitor = (21, bytes.fromhex(f"00001000{10 + rate:02X}FF"), 2)
    bounds = []
    for threshold in store.get(*monitor).value[: BLOCKS - 1]:
        if int(threshold.value) == NO_THRESHOLD:
            break
        bounds.append(int(threshold.value))
    return bounds


def record(store: CosemStore, wh: int, rate: int = 1) -> None:
    """`wh` imported under TOU rate `rate`: into the block in force, its register and counter,
    the rest into the next block where it crosses a threshold."""
    values, bounds, left = _values(store), _bounds(store, rate), wh
    while left > 0:
        used = sum(values[counter_index(rate, b)] for b in range(1, BLOCKS + 1))
        block = next((k for k, bound in enumerate(bounds) if used < bound), len(bounds))
        taken = left if block == len(bounds) else min(left, bounds[block] - used)
        values[counter_index(rate, block + 1)] += taken
        values[register_index(rate, block + 1)] += taken
        left -= taken
    _write(store, values)


def run_script(store: CosemStore, selector: Any) -> None:
    """ECS05: selector 99 resets every counter (the registers stay); InstructionFailed for
    anything else."""
    try:
        chosen = int(selector.value)
    except (AttributeError, TypeError, ValueError):
        raise InstructionFailed(InstructionResult.OTHER_REASON) from None
    if chosen != RESET:
        raise InstructionFailed(InstructionResult.OBJECT_UNAVAILABLE)
    values = _values(store)
    for rate in range(1, TOU_RATES + 1):
        for block in range(1, BLOCKS + 1):
            values[counter_index(rate, block)] = 0
    _write(store, values)
