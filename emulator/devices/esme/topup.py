"""2.2 Top Up Device at the ESME (CS01a): the token gateway (interface class 115,
0-0:19.40.0.255) method 1 `enter` takes a UTRN and, once it is valid (devices/utrn.py: GBCS
section 14's check digit, PTUT, MAC from the Supplier's prepayment key and counter), adds its
credit to the meter balance (the accounting credit 0-0:19.10.0.255, attribute 2), which the
balance read (4.3 ECS19) then shows.

The meter refuses (logged, counted by GBCS event code, nothing credited) a UTRN whose check
digit or form is wrong, whose MAC does not verify for this meter and the command's Supplier
(8F63 not authentic), whose counter it has accepted before (8F51 duplicate), whose value is
above the maximum credit threshold (8F5B) or would take the meter balance above the maximum
meter balance (8F47); the action then fails `other_reason`.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any, NoReturn

from gbcs.keystore import Keystore
from gbcs.message import Message

from ..utrn import EXCEEDS_MAX_BALANCE, EXCEEDS_MAX_CREDIT, UtrnCounters, UtrnRefused, check
from .instructions import InstructionFailed, InstructionResult, item
from .store import CosemStore

LOGGER = logging.getLogger(__name__)

IC_TOKEN_GATEWAY = 115
TOKEN_GATEWAY = bytes.fromhex("0000132800FF")  # 0-0:19.40.0.255
ENTER = 1
METER_BALANCE = (112, bytes.fromhex("0000130A00FF"), 2)
MAX_CREDIT_THRESHOLD = (9000, bytes.fromhex("00005E2C020A"), 2)  # 0-0:94.44.2.10
MAX_METER_BALANCE = (9000, bytes.fromhex("00005E2C0214"), 2)  # 0-0:94.44.2.20


class TopUps:
    """The meter's token gateway: UTRNs checked and credited (see the module docstring)."""

    def __init__(self, eui: bytes, store: CosemStore, keystore: Keystore, stats: Counter) -> None:
        self.eui, self.store, self.keystore, self.stats = bytes(eui), store, keystore, stats
        self.counters = UtrnCounters()

    def enter(self, message: Message, value: Any) -> None:
        """Method 1 enter: credit a valid UTRN; InstructionFailed(other_reason) otherwise."""
        if getattr(value, "type", None) != "octet-string":
            raise InstructionFailed(InstructionResult.TYPE_UNMATCHED)
        text = bytes(value.value).decode("ascii", "replace")
        try:
            credit, counter = check(text, self.keystore, bytes(message.originator), self.eui,
                                    self.counters)  # fmt: skip
            if credit > int(self.store.get(*MAX_CREDIT_THRESHOLD).value):
                raise UtrnRefused(EXCEEDS_MAX_CREDIT, f"UTRN {text}: {credit} over the maximum")
            balance = int(self.store.get(*METER_BALANCE).value) + credit
            if balance > int(self.store.get(*MAX_METER_BALANCE).value):
                raise UtrnRefused(EXCEEDS_MAX_BALANCE, f"UTRN {text}: balance {balance} too high")
        except UtrnRefused as exc:
            self._refuse(exc)
        self.store.set(*METER_BALANCE, item("double-long", balance))
        self.counters.keep(counter)
        self.stats["utrn:accepted"] += 1
        LOGGER.info("ESME %s: UTRN %s credited %d", self.eui.hex(), text, credit)

    def _refuse(self, exc: UtrnRefused) -> NoReturn:
        self.stats[exc.counted] += 1
        LOGGER.info("ESME %s: %s", self.eui.hex(), exc)
        raise InstructionFailed(InstructionResult.OTHER_REASON)
