"""The stop path after a Ctrl-C (firmware/lib/heap.py): a Ctrl-C that lands while the collector
runs a finaliser leaves the heap locked, and the app's first allocation then failed ("heap is
locked": CI's `exit 1` of the Ctrl-C test). `unlock_heap` undoes the locks left, however many,
and never unlocks an unlocked heap (its lock depth would wrap round to locked). On the unix
port, from the .mpy build."""

from __future__ import annotations

import pytest
from fw_constants import run_on_port


@pytest.mark.parametrize("locks", [0, 1, 3])
def test_the_heap_is_usable_after_unlocking_whatever_was_left(mpy_tree, locks):
    script = (
        "import micropython\n"
        "from firmware.lib.heap import unlock_heap\n"
        f"for _ in range({locks}):\n"
        "    micropython.heap_lock()\n"
        "unlock_heap()\n"
        "unlock_heap()  # again, on an unlocked heap: nothing to undo\n"
        "b = bytearray(64)\n"
        "print('allocated', len(b))\n"
    )
    result = run_on_port(mpy_tree, script)
    assert "allocated 64" in result.stdout, result.stdout + result.stderr


def test_a_locked_heap_refuses_without_it(mpy_tree):
    """The failure it mends: with the lock left, the first allocation fails."""
    script = (
        "import micropython\n"
        "micropython.heap_lock()\n"
        "try:\n"
        "    bytearray(64)\n"
        "except MemoryError as exc:\n"
        "    micropython.heap_unlock()\n"
        "    print('refused', exc)\n"
    )
    result = run_on_port(mpy_tree, script)
    assert "refused memory allocation failed, heap is locked" in result.stdout, result.stdout
