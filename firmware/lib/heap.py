"""The heap after a Ctrl-C: one that lands while the collector runs a finaliser leaves the heap
locked (seen on the unix port: the stop path's first allocation failed "memory allocation
failed, heap is locked", and the app exited 1 with the relay's report unwritten).
`unlock_heap` undoes that lock as often as it was taken and no more: unlocking a heap that is
not locked wraps its lock depth round to locked."""

import micropython


def unlock_heap():
    """Unlock the heap if a lock is left; allocates nothing but its probe."""
    for _ in range(8):
        try:
            bytearray(1)
            return
        except MemoryError as exc:
            if "locked" not in exc.args[0]:
                return  # out of memory, not locked: nothing to undo
            micropython.heap_unlock()
