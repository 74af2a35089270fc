"""The firmware's console test hooks (docs/firmware.md, "The console protocol") over a channel.

Replies are one line per command (`log` ends with `end`); with `watch on` the firmware also
prints unsolicited `output relay=.. level=.. source=.. t_us=..` lines, which are kept apart
with the host time at which each arrived.
"""

from __future__ import annotations

import collections
import threading
import time
from dataclasses import dataclass

from .channel import SerialChannel
from .errors import HilError


class ConsoleTimeout(HilError, TimeoutError):
    """The board did not answer on its console in time."""


@dataclass(frozen=True)
class OutputChange:
    """One `output` line: the new output, the firmware's t_us, the host ns it arrived."""

    relay: str
    level: int
    source: str
    t_us: int
    arrived_ns: int

    @classmethod
    def parse(cls, text: str, arrived_ns: int) -> OutputChange:
        fields = dict(part.split("=", 1) for part in text.split()[1:] if "=" in part)
        return cls(
            fields.get("relay", "?"),
            int(fields.get("level", -1)),
            fields.get("source", "?"),
            int(fields.get("t_us", -1)),
            arrived_ns,
        )


class Console:
    """Line protocol on a console channel."""

    def __init__(self, url: str, baud: int):
        self._buffer = b""
        self._replies: collections.deque[str] = collections.deque()
        self._outputs: collections.deque[OutputChange] = collections.deque()
        #: the firmware's unsolicited `radio: ...` lines (what its radio bring-up found and did)
        self.radio_lines: collections.deque[str] = collections.deque(maxlen=100)
        self._cond = threading.Condition()
        self.transcript: collections.deque[str] = collections.deque(maxlen=400)
        self.channel = SerialChannel("console", url, baud, self._on_data)

    def _on_data(self, chunk: bytes, stamp: int) -> None:
        with self._cond:
            self._buffer += chunk
            while b"\n" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\n", 1)
                text = raw.decode(errors="replace").strip()
                if not text:
                    continue
                self.transcript.append(f"< {text}")
                if text.startswith("output "):
                    self._outputs.append(OutputChange.parse(text, stamp))
                elif text.startswith("radio: "):  # the radio bring-up's report, unasked
                    self.radio_lines.append(text)
                else:
                    self._replies.append(text)
            self._cond.notify_all()

    def forget_partial_line(self) -> None:
        """Drop bytes of a line the board never finished (it lost power mid-line), so they do
        not prefix the first reply after it boots again."""
        with self._cond:
            self._buffer = b""

    # -- commands -------------------------------------------------------------------------
    def send(self, line: str) -> None:
        self.transcript.append(f"> {line}")
        self.channel.write(line.encode() + b"\n")

    def _next_reply(self, timeout: float) -> str:
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self._replies:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ConsoleTimeout(f"console: no reply within {timeout} s")
                self._cond.wait(left)
            return self._replies.popleft()

    def command(self, line: str, timeout: float = 5.0) -> str:
        with self._cond:
            self._replies.clear()  # a late reply to an earlier, timed-out command
        self.send(line)
        return self._next_reply(timeout)

    def ping(self, token: str, timeout: float = 0.5) -> bool:
        """True once the board answers this very ping (a fresh reply, not a late one)."""
        with self._cond:
            self._replies.clear()
        self.send(f"ping {token}")
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self._next_reply(max(0.0, deadline - time.monotonic())) == f"pong {token}":
                    return True
            except ConsoleTimeout:
                return False

    def log(self, count: int = 10, timeout: float = 5.0) -> list[str]:
        with self._cond:
            self._replies.clear()
        self.send(f"log {count}")
        lines: list[str] = []
        while True:
            text = self._next_reply(timeout)
            if text == "end":
                return lines
            lines.append(text)

    def fields(self, line: str) -> dict[str, str]:
        """`key=value` words of a reply (the first word, the reply's name, is skipped)."""
        reply = self.command(line)
        return dict(p.split("=", 1) for p in reply.split() if "=" in p)

    def state(self) -> dict[str, str]:
        reply = self.command("state")
        return dict(p.split("=", 1) for p in reply.split() if "=" in p)

    # -- unsolicited output lines -----------------------------------------------------------
    def clear_outputs(self) -> None:
        with self._cond:
            self._outputs.clear()

    def wait_output(self, predicate, timeout: float = 5.0) -> OutputChange:
        """The first output change (since the last clear) that satisfies `predicate`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                while self._outputs:
                    change = self._outputs.popleft()
                    if predicate(change):
                        return change
                left = deadline - time.monotonic()
                if left <= 0:
                    raise ConsoleTimeout(f"console: no matching output change in {timeout} s")
                self._cond.wait(left)

    def close(self) -> None:
        self.channel.close()
