"""The mechanics the ESME's passive values share: a set of an activation time and what follows.

Tariff tables (tariff.py), GBCS extended data objects and prices (extended.py), the payment
mode (payment_mode.py) and the prepayment configuration (prepay_config.py) all hold a passive
value until an activation time (a 12-byte COSEM date-time) says when it takes effect: the
first nine bytes 00 = now (a storage fault of what it writes fails hardware_fault, nothing to
take effect other_reason), all FF = cancel the pending one, else that date-time, a timer on
the emulator's clock; a malformed one fails other_reason. When a timer fires the values take
effect and the meter alerts 8F66 (00CC, signed) to the command's originator naming the
command (message code, counter) and the activation attribute (IC, OBIS, attribute), 8F67 when
they cannot. One place for this so the four cannot drift apart; each subclass says only what
differs: which passive values an activation writes where, what storage fault stops it, the
attribute its alert names, its stats prefix and its log line.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections import Counter
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from emulator.clock import Clock
from gbcs.message import Message

from .instructions import NULL, InstructionFailed, InstructionResult, item, read_datetime
from .store import CosemStore

DONE, NOT_DONE = 0x8F66, 0x8F67
RaiseAlert = Callable[[bytes, int, dt.datetime, list[Any]], bytes]
K = TypeVar("K", bound=Hashable)  # what names one activation
P = TypeVar("P", bound=Hashable)  # what names one passive value


class Activations(Generic[K, P]):
    """Passive values held until their activation time (module docstring); a subclass sets
    `prefix` (its stats' `<prefix>:activated` / `<prefix>:cancelled`) and the hooks."""

    prefix = ""

    def __init__(self, store: CosemStore, clock: Clock, now: Callable[[], dt.datetime],
                 faulty: Callable[[bytes], bool], stats: Counter,
                 alert: RaiseAlert) -> None:  # fmt: skip
        self.store, self.clock, self.now, self.faulty = store, clock, now, faulty
        self.stats, self.alert = stats, alert
        self.passive: dict[P, Any] = {}
        #: activation -> (due, the command that set it, its timer)
        self.pending: dict[K, tuple[dt.datetime, Message, asyncio.TimerHandle]] = {}

    # --- what each kind of passive value says for itself
    def _storage_fails(self, key: K) -> bool:
        """A storage fault that fails an activation now hardware_fault."""
        raise NotImplementedError

    def _apply(self, key: K) -> bool:
        """The passive values of `key` written where the reads find them; False (nothing
        changed) when none is held or a storage fails."""
        raise NotImplementedError

    def _named(self, key: K) -> tuple[int, bytes, int]:
        """The activation attribute (IC, OBIS, attribute) the alert names."""
        raise NotImplementedError

    def _log(self, key: K, at: dt.datetime, done: bool) -> None:
        """The subclass's own log line (its logger) when a timed activation fires."""
        raise NotImplementedError

    # --- the shared mechanics
    def hold(self, passive: P, active: tuple[int, bytes, int], value: Any) -> Any:
        """Keeps a passive value that has the active one's A-XDR type (else type_unmatched),
        so taking effect never changes what a read of the active one decodes as."""
        if getattr(value, "type", None) != self.store.get(*active).type:
            raise InstructionFailed(InstructionResult.TYPE_UNMATCHED)
        self.passive[passive] = value
        return NULL

    def activation(self, message: Message, key: K, when: bytes) -> Any:
        """A set of `key`'s activation time `when`; a new one replaces a pending one."""
        pending = self.pending.pop(key, None)
        if pending is not None:
            pending[2].cancel()
        if len(when) == 12 and not any(when[:9]):
            if self._storage_fails(key):
                raise InstructionFailed(InstructionResult.HARDWARE_FAULT)
            if not self._activate(key):
                raise InstructionFailed(InstructionResult.OTHER_REASON)
        elif len(when) == 12 and all(b == 0xFF for b in when[:9]):
            self.stats[f"{self.prefix}:cancelled"] += 1
        else:
            at = read_datetime(when)
            if at is None:
                raise InstructionFailed(InstructionResult.OTHER_REASON)
            timer = self.clock.call_later(max(0.0, (at - self.now()).total_seconds()),
                                          self._due, key)  # fmt: skip
            self.pending[key] = (at, message, timer)
        return NULL

    def _activate(self, key: K) -> bool:
        if not self._apply(key):
            return False
        self.stats[f"{self.prefix}:activated"] += 1
        return True

    def _due(self, key: K) -> None:
        """A timed activation fires: take effect, then alert the command's originator."""
        pending = self.pending.pop(key, None)
        if pending is None:
            return
        at, message, _timer = pending
        done = self._activate(key)
        self._log(key, at, done)
        ic, code, attribute = self._named(key)
        executed = (message.message_code.to_bytes(2, "big") + int(message.counter).to_bytes(8, "big")
                    + ic.to_bytes(2, "big") + code + bytes((attribute,)))  # fmt: skip
        self.alert(bytes(message.originator), DONE if done else NOT_DONE, at,
                   [item("octet-string", executed)])  # fmt: skip

    def cancel(self) -> None:
        """Drops every pending activation (the meter stops)."""
        for _at, _message, timer in self.pending.values():
            timer.cancel()
        self.pending.clear()
