"""The plumbing of a check's forked processes (gbcs.check's workers, gbcs.verifier's
verifying process): a fork with a pipe each way, marshal'd frames, and the end of a
process, killed or waited for.

os.fork and pipes, not multiprocessing, whose import alone is a twentieth of a small check.
No codec and no cryptography here: gbcs.verifier forks before either is loaded.
"""

from __future__ import annotations

import marshal
import os
import signal
from collections.abc import Callable
from typing import Any


def fork(child: Callable[[int, int], None]) -> tuple[int, int, int]:
    """Fork a process that runs `child(inbox, out)` on its ends of two pipes and ends
    (status 0, or 1 if `child` raised), never returning into the caller's stack: here,
    (its pid, the end to write to it, the end to read from it)."""
    inbox, to_child = os.pipe()
    from_child, out = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            # Ctrl-C reaches the whole process group: the checking process, interrupted,
            # ends its children (end); one that ended by itself first would be seen as one
            # that died
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            os.close(to_child)
            os.close(from_child)
            child(inbox, out)
            status = 0
        finally:
            os._exit(status)
    os.close(inbox)
    os.close(out)
    return pid, to_child, from_child


def frame(value: Any) -> bytes:
    """`value` marshal'd (built-in values only), its length first. marshal, not pickle:
    both processes are this one, so the format is theirs alike, and no module is loaded
    for it (pickle, ~1 ms of the start, is left to its first use: tools.cli.DEFERRED)."""
    data = marshal.dumps(value)
    return len(data).to_bytes(4, "big") + data


def take_frames(pending: bytearray) -> list[Any]:
    """The values of the whole frames at the start of `pending`, which loses them."""
    values = []
    while len(pending) >= 4:
        size = int.from_bytes(pending[:4], "big")
        if len(pending) < 4 + size:
            break
        values.append(marshal.loads(pending[4 : 4 + size]))
        del pending[: 4 + size]
    return values


def read_ready(fd: int, pending: bytearray) -> bool:
    """Add to `pending` what a non-blocking `fd` holds, without waiting: whether its other
    end has closed (the process that wrote to it has ended)."""
    while True:
        try:
            data = os.read(fd, 1 << 16)
        except BlockingIOError:
            return False
        if not data:
            return True
        pending += data


def write_all(fd: int, data: bytes) -> None:
    while data:
        data = data[os.write(fd, data) :]


def send_frame(fd: int, value: Any) -> None:
    """`value` as one frame, written whole to `fd` (a child's way back to its parent)."""
    write_all(fd, frame(value))


def end(pid: int, *, dead: bool = False) -> int | None:
    """Reap process `pid`, ended by SIGTERM if still running, or waited for if `dead` (its
    end seen: it is exiting): its wait status."""
    done, status = os.waitpid(pid, os.WNOHANG)
    if done == 0 and not dead:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    if done == 0:
        _, status = os.waitpid(pid, 0)
    return status


def exit_text(status: int | None) -> str:
    if status is None:
        return "already reaped"
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit status {os.waitstatus_to_exitcode(status)}"
