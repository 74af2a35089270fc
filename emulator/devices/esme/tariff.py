"""The ESME's tariff switching: what 1.1.1 (ECS01a) and 1.1.2 (ECS01c) set besides prices.

Each element (primary, and the twin meter's secondary) has a switching table (IC 20 activity
calendar 0-0:13.0.0.255 / 0-0:13.0.1.255: seasons, week profiles, day profiles) and special
days (IC 11, the passive table 0-1:11.0.x.255 beside the active 0-0:11.0.x.255); the primary
element has block thresholds per TOU rate (IC 21 register monitors, passive 0-0:16.1.11..18.255
beside the active 0-0:16.0.11..18.255). A command sets the passive tables, then an activation
time: the calendar's own activate_passive_calendar_time (attribute 10), or a GBCS extended
data object's activate_passive_value_time (attribute 6: 0-0:94.44.128.29 / .30 the special
days, 0-0:63.1.1.255 the threshold matrix). All 00 activates now, all FF cancels a pending
activation, else the passive tables take effect at that time, when the meter alerts 8F66
(00CC, signed) to the command's originator naming the command (message code, counter) and
the activation attribute (IC, OBIS, attribute), 8F67 if they cannot (a storage fault).
RTDS's future-dated ECS01a / ECS01c alert so, one alert per activation object; the currency,
standing charge and price matrices are extended.py's passive values, alerting likewise.

Our reading where RTDS is silent: a passive table must keep the active one's A-XDR type
(else type_unmatched); an activation with no passive table set fails other_reason; a get of
a passive table answers what was set (object_unavailable before), of an activation time
object_undefined.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from gbcs.message import Message

from .activation import Activations
from .instructions import IC_EXTENDED, IC_SPECIAL_DAYS, InstructionFailed, InstructionResult

LOGGER = logging.getLogger(__name__)

IC_CALENDAR, IC_REGISTER_MONITOR = 20, 21
Key = tuple[int, bytes, int]  # (IC, OBIS, attribute)


def _key(ic: int, code: str, attribute: int) -> Key:
    return ic, bytes.fromhex(code), attribute


def _calendar(code: str) -> tuple[Key, tuple[tuple[Key, Key], ...]]:
    """An activity calendar's activation: seasons, week and day profiles, passive -> active."""
    return _key(IC_CALENDAR, code, 10), tuple(
        (_key(IC_CALENDAR, code, passive), _key(IC_CALENDAR, code, passive - 4))
        for passive in (7, 8, 9)
    )


#: activation attribute -> the (passive attribute, active attribute) pairs it makes take effect
GROUPS: dict[Key, tuple[tuple[Key, Key], ...]] = dict(
    [
        _calendar("00000D0000FF"),  # the primary element's switching table
        _calendar("00000D0001FF"),  # the secondary element's
        (_key(IC_EXTENDED, "00005E2C801D", 6),  # the primary element's special days
         ((_key(IC_SPECIAL_DAYS, "00010B0000FF", 2), _key(IC_SPECIAL_DAYS, "00000B0000FF", 2)),)),
        (_key(IC_EXTENDED, "00005E2C801E", 6),  # the secondary element's
         ((_key(IC_SPECIAL_DAYS, "00010B0001FF", 2), _key(IC_SPECIAL_DAYS, "00000B0001FF", 2)),)),
        (_key(IC_EXTENDED, "00003F0101FF", 6),  # the block threshold matrix, TOU rates 1..8
         tuple((_key(IC_REGISTER_MONITOR, f"00001001{n:02X}FF", 2),
                _key(IC_REGISTER_MONITOR, f"00001000{n:02X}FF", 2)) for n in range(0x0B, 0x13))),
    ]
)  # fmt: skip
#: passive attribute -> the active attribute it becomes
ACTIVE: dict[Key, Key] = {passive: active for pairs in GROUPS.values() for passive, active in pairs}


class TariffTables(Activations[Key, Key]):
    """The passive switching tables, special days and thresholds, and their pending
    activations (module docstring)."""

    prefix = "tariff"

    @staticmethod
    def handles(key: Key) -> bool:
        return key in ACTIVE or key in GROUPS

    def instruction(self, message: Message, kind: str, key: Key, value: Any) -> Any:
        """One get / set of a passive table or an activation time; InstructionFailed."""
        if key in ACTIVE:
            if kind == "get":
                if key not in self.passive:
                    raise InstructionFailed(InstructionResult.OBJECT_UNAVAILABLE)
                return self.passive[key]
            if kind != "set":
                raise InstructionFailed(InstructionResult.OBJECT_UNDEFINED)
            return self.hold(key, ACTIVE[key], value)
        if kind != "set":
            raise InstructionFailed(InstructionResult.OBJECT_UNDEFINED)
        return self.activation(message, key, bytes(getattr(value, "value", b"")))

    def _storage_fails(self, key: Key) -> bool:
        return any(self.faulty(active[1]) for _passive, active in GROUPS[key])

    def _apply(self, key: Key) -> bool:
        """The group's passive tables become active; False (nothing changed) when none is
        set or an active table's storage fails."""
        pairs = [(p, a) for p, a in GROUPS[key] if p in self.passive]
        if not pairs or self._storage_fails(key):
            return False
        for passive, active in pairs:
            self.store.set(*active, self.passive[passive])
        return True

    def _named(self, key: Key) -> Key:
        return key

    def _log(self, key: Key, at: dt.datetime, done: bool) -> None:
        ic, code, _attribute = key
        LOGGER.info("tariff tables of %d/%s activated at %s: %s", ic, code.hex(), at, done)
