"""A DUT channel (radio UART or console) over pyserial, read by a thread that stamps arrivals.

The reader thread takes bytes as they arrive and stamps them with `time.monotonic_ns()`, so
timings are measured where the bytes land, not when a test gets round to polling. A physical
board with native USB disappears while unpowered: the channel reopens its port after errors.
Writes can be gated off (the board is unpowered: what the rig sends is lost, as on a UART).
"""

from __future__ import annotations

import collections
import logging
import threading
import time
from collections.abc import Callable

import serial

from .errors import HilError

LOGGER = logging.getLogger(__name__)
_READ_TIMEOUT_S = 0.02
_REOPEN_PAUSE_S = 0.2


class ChannelError(HilError, RuntimeError):
    """A channel could not be opened or used."""


class SerialChannel:
    """One pyserial port; `on_data(chunk, ns)` is called from the reader thread."""

    def __init__(self, name: str, url: str, baud: int, on_data: Callable[[bytes, int], None]):
        self.name, self.url, self.baud = name, url, baud
        self.on_data = on_data
        self.stats: collections.Counter = collections.Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._paused = threading.Event()
        self._idle = threading.Event()
        self._gate_open = True
        self.port = self._open()
        self._thread = threading.Thread(target=self._run, name=f"hil-{name}", daemon=True)
        self._thread.start()

    def _open(self):
        try:
            port = serial.serial_for_url(self.url, baudrate=self.baud, timeout=_READ_TIMEOUT_S)
        except (serial.SerialException, ValueError, OSError) as exc:
            raise ChannelError(f"{self.name}: cannot open {self.url}: {exc}") from exc
        port.reset_input_buffer()  # a byte of the last frame before a power cut (primer 2.1)
        return port

    # -- writing ------------------------------------------------------------------------
    def write(self, data: bytes) -> int | None:
        """Write now; returns the host ns taken just before the write, or None if gated off."""
        if not self._gate_open:
            self.stats["writes_lost_unpowered"] += 1
            return None
        with self._lock:
            stamp = time.monotonic_ns()
            try:
                self.port.write(data)
                self.port.flush()
            except (serial.SerialException, OSError) as exc:
                self.stats["write_errors"] += 1
                LOGGER.info("%s: write failed: %s", self.name, exc)
                return None
        self.stats["bytes_out"] += len(data)
        return stamp

    def gate(self, open_: bool) -> None:
        """Open or close the write gate (closed while the board is unpowered)."""
        self._gate_open = open_

    # -- reading ------------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            if self._paused.is_set():
                self._idle.set()
                time.sleep(0.002)
                continue
            self._idle.clear()
            try:
                port = self.port
                chunk = port.read(max(1, port.in_waiting))
            except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
                if self._stop.is_set():
                    return
                # Another reader took the bytes (a pty), or the USB device went away.
                self.stats["read_errors"] += 1
                LOGGER.debug("%s: read failed: %s", self.name, exc)
                time.sleep(_REOPEN_PAUSE_S)
                self._reopen()
                continue
            if chunk:
                stamp = time.monotonic_ns()
                self.stats["bytes_in"] += len(chunk)
                self.on_data(chunk, stamp)

    def _reopen(self) -> None:
        try:
            if self.port.is_open and self.url.startswith("/dev/pts/"):
                return  # a pty does not go away: the error was a lost race, not a lost device
            with self._lock:
                try:
                    self.port.close()
                except (serial.SerialException, OSError):
                    pass
                self.port = self._open()
            self.stats["reopened"] += 1
        except ChannelError as exc:
            LOGGER.debug("%s", exc)

    class _Paused:
        def __init__(self, channel: SerialChannel):
            self.channel = channel

        def __enter__(self):
            self.channel._paused.set()
            self.channel._idle.wait(1.0)
            return self

        def __exit__(self, *exc):
            self.channel._paused.clear()

    def paused(self) -> SerialChannel._Paused:
        """Stop reading for a while (someone else reads the same tty, e.g. a boot handshake)."""
        return self._Paused(self)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)
        try:
            self.port.close()
        except (serial.SerialException, OSError):
            pass
