"""The ESME's tariff block counter matrix (emulator/devices/esme/blocks.py) on a real store:
import fills TOU rate 1's blocks in turn at its thresholds (split where it crosses one, the
last block open-ended, no thresholds one block); the register beside each counter takes the
same and rolls over as a double-long-unsigned; ECS05's script (selector 99) zeroes the 32
counters and leaves the registers; another selector is object_unavailable and a selector that
is no number other_reason, nothing changed either way."""

from __future__ import annotations

import pytest
from construct import ListContainer

from emulator.devices.esme import blocks
from emulator.devices.esme.instructions import InstructionFailed, InstructionResult, item
from emulator.devices.esme.store import CosemStore
from gbcs.dlms import encode_data

ESME = bytes.fromhex("00DB1234567890A0")
TOU_1_THRESHOLDS = "21/000010000BFF/2"


def _thresholds(*values: int) -> str:
    array = item("array", ListContainer(item("double-long-unsigned", v) for v in values))
    return encode_data(array).hex()


def _store(*thresholds: int, values: list[int] | None = None) -> CosemStore:
    """A meter store with TOU rate 1's thresholds and (given) the 64 collection values."""
    cosem = {TOU_1_THRESHOLDS: _thresholds(*thresholds)}
    if values is not None:
        array = item("array", ListContainer(item("double-long-unsigned", v) for v in values))
        cosem["1/00005E2C2202/2"] = encode_data(item("structure", ListContainer([array]))).hex()
    return CosemStore(ESME, {"cosem": cosem})


def test_import_fills_the_blocks_in_turn():
    store = _store(1000, 3000, 6000, values=[0] * 64)
    blocks.record(store, 400)
    assert blocks.counters(store, 1) == [400, 0, 0, 0]
    blocks.record(store, 2000)  # crosses 1000: 600 in block 1, 1400 in block 2
    assert blocks.counters(store, 1) == [1000, 1400, 0, 0]
    blocks.record(store, 10000)  # 600 to 3000, 3000 to 6000, the rest open-ended
    assert blocks.counters(store, 1) == [1000, 2000, 3000, 6400]
    assert blocks.registers(store, 1) == [1000, 2000, 3000, 6400]
    assert blocks.counters(store, 2) == [0, 0, 0, 0]  # other TOU rates untouched


def test_unset_thresholds_leave_one_block():
    store = _store(0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, values=[0] * 64)
    blocks.record(store, 123456)
    assert blocks.counters(store, 1) == [123456, 0, 0, 0]


def test_the_reset_zeroes_the_counters_and_keeps_the_registers():
    store = _store(1000, 0xFFFFFFFF, 0xFFFFFFFF, values=list(range(1, 65)))
    blocks.record(store, 5000)
    registers = [blocks.registers(store, n) for n in range(1, 9)]
    blocks.run_script(store, item("long-unsigned", blocks.RESET))
    assert all(blocks.counters(store, n) == [0, 0, 0, 0] for n in range(1, 9))
    assert [blocks.registers(store, n) for n in range(1, 9)] == registers
    blocks.record(store, 300)  # charged in the first block again
    assert blocks.counters(store, 1) == [300, 0, 0, 0]


def test_a_register_rolls_over():
    values = [0] * 64
    values[blocks.register_index(1, 1)] = 0xFFFFFFFF
    store = _store(0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF, values=values)
    blocks.record(store, 2)
    assert blocks.registers(store, 1)[0] == 1


@pytest.mark.parametrize(
    ("selector", "result"),
    [
        (item("long-unsigned", 101), InstructionResult.OBJECT_UNAVAILABLE),  # a tariff action
        (item("long-unsigned", 1), InstructionResult.OBJECT_UNAVAILABLE),
        (item("octet-string", b"\x63"), InstructionResult.OTHER_REASON),
    ],
)
def test_another_selector_changes_nothing(selector, result):
    store = _store(1000, 0xFFFFFFFF, 0xFFFFFFFF, values=list(range(64)))
    before = [blocks.counters(store, n) for n in range(1, 9)]
    with pytest.raises(InstructionFailed) as failed:
        blocks.run_script(store, selector)
    assert failed.value.result == result
    assert [blocks.counters(store, n) for n in range(1, 9)] == before
