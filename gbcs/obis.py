"""OBIS codes of the COSEM objects GBCS addresses on an ESME and a Comms Hub, by name.

An OBIS code (IEC 62056-6-1, the DLMS Blue Book) is six bytes, A-B:C.D.E.F in text. The
meter model (emulator.devices.esme) answers these objects and the back office's DUIS
transform (emulator.backoffice.transform) asks for them, so both take the codes from here
rather than spelling out the bytes twice. The table is the primer's 9.1 (the GBCS use-case
tables, confirmed by the RTDS bytes); n is the auxiliary load control switch or controller,
1..5.

    from gbcs import obis
    obis.switch_label(3)            # b"\\x00\\x00\\x5e\\x2c\\x00\\x0d"
    obis.obis_text(obis.BOOST_LOG)  # "0-0:99.98.20.255"
    obis.name(obis.BOOST_LOG)       # "boost function event log"
    obis.by_name("boost function event log") == obis.BOOST_LOG
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from .cosem_objects import OBJECTS

__all__ = [
    "APC_LIMIT_SCRIPTS",
    "AUXILIARY_CONTROLLER_SCRIPTS",
    "BOOST_AVAILABILITY",
    "BOOST_LOG",
    "BOOST_LOG_RESTRICTING_OBJECT",
    "CHF_DEVICE_LOG",
    "CURRENT_SCHEDULE",
    "CURRENT_SPECIAL_DAYS",
    "FIRMWARE_VERSION",
    "NAMES",
    "NEXT_CALENDAR_ACTIVATION",
    "NEXT_SCHEDULE",
    "NEXT_SPECIAL_DAYS",
    "NEXT_SPECIAL_DAYS_ACTIVATION",
    "OBIS_LENGTH",
    "SWITCHES",
    "apc_limit_period",
    "boost_association",
    "by_name",
    "controller_period",
    "controller_state",
    "disconnect_control",
    "name",
    "obis",
    "object_name",
    "obis_from_text",
    "obis_text",
    "switch_identifier",
    "switch_label",
]

OBIS_LENGTH: Final = 6
#: the auxiliary load control switches / controllers an ESME has
SWITCHES: Final = range(1, 6)


def obis(a: int, b: int, c: int, d: int, e: int, f: int) -> bytes:
    """The six bytes of A-B:C.D.E.F (each group 0..255)."""
    return bytes((a, b, c, d, e, f))


def obis_text(code: bytes) -> str:
    """A-B:C.D.E.F, the way the use-case tables print an OBIS code; ValueError if `code` is
    not six bytes."""
    if len(code) != OBIS_LENGTH:
        raise ValueError(f"an OBIS code is {OBIS_LENGTH} bytes, not {len(code)}")
    a, b, c, d, e, f = code
    return f"{a}-{b}:{c}.{d}.{e}.{f}"


def obis_from_text(text: str) -> bytes:
    """The bytes of an A-B:C.D.E.F text; ValueError if it is not one."""
    ab, sep, cdef = text.partition(":")
    parts = ab.split("-") + cdef.split(".")
    if not sep or len(parts) != OBIS_LENGTH:
        raise ValueError(f"{text!r} is not an OBIS code A-B:C.D.E.F")
    try:
        return bytes(int(part) for part in parts)
    except ValueError:
        raise ValueError(f"{text!r} is not an OBIS code A-B:C.D.E.F") from None


def _switch(n: int) -> int:
    if n not in SWITCHES:
        raise ValueError(f"switch / controller {n} is not 1..5")
    return n


# --- objects one of ---------------------------------------------------------------------------
#: IC 1 data, octet-string(4): read by ECS52 (11.2)
FIRMWARE_VERSION: Final = obis(0, 0, 0, 2, 1, 255)
#: IC 9 script table, method 1 with a long-unsigned selector: ECS47, ECS47a, calendar entries
AUXILIARY_CONTROLLER_SCRIPTS: Final = obis(0, 0, 10, 0, 103, 255)
#: IC 9 script table: ECS47e
APC_LIMIT_SCRIPTS: Final = obis(0, 0, 10, 0, 107, 255)
#: IC 11 special days table, active (ECS61a/d get) and passive (ECS46c/d set)
CURRENT_SPECIAL_DAYS: Final = obis(0, 0, 11, 0, 3, 255)
NEXT_SPECIAL_DAYS: Final = obis(0, 1, 11, 0, 3, 255)
#: IC 10 schedule, active and passive
CURRENT_SCHEDULE: Final = obis(0, 0, 12, 0, 2, 255)
NEXT_SCHEDULE: Final = obis(0, 1, 12, 0, 2, 255)
#: IC 104 ZigBee network control on the Comms Hub: CCS01, CCS02
CHF_DEVICE_LOG: Final = obis(0, 0, 30, 3, 0, 255)
#: IC 1 boolean: ECS61c get
BOOST_AVAILABILITY: Final = obis(0, 0, 94, 44, 7, 255)
#: IC 1: the restricting object of ECS61c's range descriptor over the boost event log
BOOST_LOG_RESTRICTING_OBJECT: Final = obis(0, 0, 94, 44, 100, 255)
#: IC 9000 (GBCS extended data) attribute 6, a date-time (all 00 now, all FF cancel)
NEXT_CALENDAR_ACTIVATION: Final = obis(0, 0, 94, 44, 128, 26)
NEXT_SPECIAL_DAYS_ACTIVATION: Final = obis(0, 0, 94, 44, 128, 35)
#: IC 7 profile generic: (boost start, boost end) entries, ECS61c get with range
BOOST_LOG: Final = obis(0, 0, 99, 98, 20, 255)


# --- objects one per switch / controller n ----------------------------------------------------
def switch_label(n: int) -> bytes:
    """0-0:94.44.0.(10+n), IC 1 visible-string: ECS46a set, ECS61a/d get."""
    return obis(0, 0, 94, 44, 0, 10 + _switch(n))


def switch_identifier(n: int) -> bytes:
    """0-0:94.44.0.(20+n), IC 1 octet-string (8 × 00 ALCS, the HCALCS's EUI): ECS46c set,
    ECS61a/e get."""
    return obis(0, 0, 94, 44, 0, 20 + _switch(n))


def controller_state(n: int) -> bytes:
    """0-0:94.44.0.(30+n), IC 1 utf8-string (JSON in RTDS): ECS61e get."""
    return obis(0, 0, 94, 44, 0, 30 + _switch(n))


def boost_association(n: int) -> bytes:
    """0-0:94.44.6.n, IC 1 boolean 'boost function controls switch n': ECS62 set, ECS61c get."""
    return obis(0, 0, 94, 44, 6, _switch(n))


def controller_period(n: int, end: bool) -> bytes:
    """0-0:94.44.(116+n).1 (start) / .2 (end), IC 1: ECS47a's date-times; ECS47 sets .1 to
    7.5's activation duration and .2 to 7.6's deactivation duration."""
    return obis(0, 0, 94, 44, 116 + _switch(n), 2 if end else 1)


def apc_limit_period(n: int, end: bool) -> bytes:
    """0-0:94.44.(116+n).3 (start) / .4 (end), IC 1 date-times: ECS47e."""
    return obis(0, 0, 94, 44, 116 + _switch(n), 4 if end else 3)


def disconnect_control(n: int) -> bytes:
    """0-n:96.3.10.255, IC 70 disconnect control of switch n (output_state): ECS61a get."""
    return obis(0, _switch(n), 96, 3, 10, 255)


def _names() -> dict[bytes, str]:
    table = {
        FIRMWARE_VERSION: "firmware version",
        AUXILIARY_CONTROLLER_SCRIPTS: "auxiliary controller commands",
        APC_LIMIT_SCRIPTS: "APC limit commands",
        CURRENT_SPECIAL_DAYS: "current calendar special days",
        NEXT_SPECIAL_DAYS: "next calendar special days",
        CURRENT_SCHEDULE: "current calendar schedule",
        NEXT_SCHEDULE: "next calendar schedule",
        CHF_DEVICE_LOG: "CHF device log",
        BOOST_AVAILABILITY: "boost function availability",
        BOOST_LOG_RESTRICTING_OBJECT: "boost function event log restricting object",
        NEXT_CALENDAR_ACTIVATION: "activation time of the next calendar",
        NEXT_SPECIAL_DAYS_ACTIVATION: "activation time of the next special days",
        BOOST_LOG: "boost function event log",
    }
    for n in SWITCHES:
        table[switch_label(n)] = f"description of switch {n}"
        table[switch_identifier(n)] = f"type and identifier of switch {n}"
        table[controller_state(n)] = f"state and associated information of controller {n}"
        table[boost_association(n)] = f"boost function controls switch {n}"
        table[controller_period(n, end=False)] = f"controller {n} setting period start"
        table[controller_period(n, end=True)] = f"controller {n} setting period end"
        table[apc_limit_period(n, end=False)] = f"APC {n} limit period start"
        table[apc_limit_period(n, end=True)] = f"APC {n} limit period end"
        table[disconnect_control(n)] = f"state of switch {n}"
    return table


#: OBIS code -> name, for every object above
NAMES: Final[Mapping[bytes, str]] = _names()
_CODES: Final[Mapping[str, bytes]] = {text: code for code, text in NAMES.items()}


def name(code: bytes) -> str | None:
    """The object's name in the table, None for a code it does not hold."""
    return NAMES.get(bytes(code))


def by_name(text: str) -> bytes:
    """The OBIS code of a named object; LookupError (KeyError) for a name not in the table."""
    try:
        return _CODES[text]
    except KeyError:
        raise KeyError(f"no OBIS object named {text!r}") from None


# general-purpose codes from IEC 62056-6-2 that GBCS uses without naming them in its tables
_BY_CODE: Final[dict[bytes, str]] = {obis(0, 0, 96, 1, 1, 255): "Device ID 2"}
for (_class_id, *_code), _name in OBJECTS.items():
    _BY_CODE.setdefault(bytes(_code), _name)


def object_name(code: bytes, class_id: int | None = None) -> str | None:
    """The name of the object at an OBIS code: the table above first (the auxiliary-load
    objects, primer 9.1), then the GBCS use-case tables for that class (or any class)."""
    code = bytes(code)
    known = NAMES.get(code)
    if known is not None:
        return known
    if class_id is not None and len(code) == OBIS_LENGTH:
        known = OBJECTS.get((class_id, *code))
        if known is not None:
            return known
    return _BY_CODE.get(code)
