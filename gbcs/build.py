"""Commands from named fields: `build(use_case, **fields)` returns the pre-command (the DF
APDU with no signature field) a user signs with `gbcs.sign`.

Each builder is written from the use case's layout in the primer (section 9) and held to
RTDS's PRECOMMAND files byte for byte (tests/gbcs/test_build.py). Supported so far: ECS47
(SRV 7.5 activate, 7.6 deactivate, 7.8 reset an auxiliary load switch to its calendar),
ECS47a (7.13, an auxiliary controller's state for a period), ECS47e (7.16, an APC's
limit for a period) and ECS62 (7.9 / 7.10, add switches to or remove them from the Boost
Button). A non-critical command such as ECS62 is not signed but MAC'd by the DCC: `mac`
adds the empty signature field and the DD envelope with its MAC, byte-identical to RTDS's
commands.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping

from construct import Container, ListContainer

from . import obis
from .errors import EncodeError, GbcsError
from .keystore import Keystore, as_eui
from .message import encode_apdu
from .payload import encode as encode_payload
from .security import apdu_layout, mac_apdu
from .usecases import by_name

LAYER = "build"
CRA_COMMAND = 1
# The high bits of the long-invoke-id-and-priority every RTDS command carries (priority
# high); the low 24 bits are the originator counter's.
INVOKE_PRIORITY = 0x20000000
# ECS47's script selector, low byte (primer 9.2, inferred from RTDS's three pairs): the
# switch number is the high byte.
ECS47_ACTIONS = {"activate": 0x11, "deactivate": 0x12, "reset": 0x20}
# ECS47a/e's selector, high nibble (primer 9.3): output (1) or input from the controlled
# load (2); then the controller number, then the level 0-100 in the low byte.
DIRECTIONS = {"output": 1, "input": 2}
NOT_SPECIFIED = 0xFF
# a COSEM date-time's deviation "not specified" (0x8000) and clock status FF, as RTDS has them
DATE_TIME_TAIL = b"\x80\x00\xff"
# A-XDR boolean TRUE as RTDS's ECS62 commands carry it (any non-zero octet is true)
AXDR_TRUE = 0xFF


def build(
    use_case: str,
    *,
    originator: bytes | str,
    target: bytes | str,
    counter: int,
    **fields: object,
) -> bytes:
    """The pre-command of `use_case` (a name such as "ECS47") from the grouping header's
    originator and target EUIs, the originator counter and the use case's own fields.

    ECS47: action ("activate" 7.5, "deactivate" 7.6, "reset" 7.8), switch (1-5) and, but
    for reset, duration (0-65535, the DUIS Duration carried unchanged). ECS47a / ECS47e:
    controller (1-5), start and end (datetime, naive read as UTC), level (0-100), direction
    ("output" or "input"); the device, not the builder, holds end within 24 h after start,
    so a command breaking that rule can be built to test it. ECS62: boost, a mapping of
    switch (1-5) to True (7.9 add) or False (7.10 remove). An unknown use case,
    a missing, unknown or out-of-range field is an EncodeError(layer="build") naming it.
    """
    builder = BUILDERS.get(use_case)
    if builder is None:
        supported = ", ".join(sorted(BUILDERS))
        raise EncodeError(LAYER, f"no builder for {use_case!r} (supported: {supported})")
    try:
        originator_eui, target_eui = as_eui(originator), as_eui(target)
    except GbcsError as exc:
        raise EncodeError(LAYER, f"originator / target: {exc.detail}") from None
    if not isinstance(counter, int) or not 0 <= counter < 1 << 64:
        raise EncodeError(LAYER, f"counter {counter!r} is not an 8-byte unsigned integer")
    content = builder(counter, fields)
    header = Container(
        tag=b"\xdf",
        transaction_id=Container(cra=CRA_COMMAND, counter=counter),
        originator=originator_eui,
        target=target_eui,
        date_time=None,
        other_information=Container(
            message_code=by_name(use_case).code,
            supplementary_remote_party=None,
            supplementary_remote_party_counter=None,
            supplementary_originator_counter=None,
            certificate=b"",
        ),
    )
    return encode_apdu(header, content, None)


def _take(fields: Mapping[str, object], allowed: tuple[str, ...]) -> dict[str, object]:
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise EncodeError(LAYER, f"unknown field(s) {', '.join(unknown)}; expected {allowed}")
    missing = [name for name in allowed if name not in fields]
    if missing:
        raise EncodeError(LAYER, f"missing field(s) {', '.join(missing)}")
    return dict(fields)


def _integer(name: str, value: object, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise EncodeError(LAYER, f"{name} {value!r} is not an integer {low}-{high}")
    return value


def cosem_spec(
    kind: str,
    class_id: int,
    instance: bytes,
    attribute_or_method: int,
    selection: Container | None = None,
) -> Container:
    """One COSEM attribute or method reference of an access request (get, set or action)."""
    return Container(
        kind=kind,
        class_id=class_id,
        instance_id=instance,
        attribute_or_method=attribute_or_method,
        selection=selection,
    )


def access_request(counter: int, specs: list[Container], data: list[Container]) -> bytes:
    """The DLMS access request a pre-command carries, its invoke id taken from `counter`."""
    value = Container(
        tag=b"\xd9",
        long_invoke_id_and_priority=INVOKE_PRIORITY | (counter & 0xFFFFFF),
        date_time=None,
        specifications=ListContainer(specs),
        data=ListContainer(data),
    )
    return encode_payload("dlms-access-request", value)


def _long_unsigned(value: int) -> Container:
    return Container(type="long-unsigned", value=value)


def _ecs47(counter: int, fields: Mapping[str, object]) -> bytes:
    """7.5 / 7.6: set switch n's activation (.1) or deactivation (.2) duration at
    0-0:94.44.(116+n), then run the auxiliary controller script; 7.8: the script only."""
    action = fields.get("action")
    if action not in ECS47_ACTIONS:
        raise EncodeError(LAYER, f"action {action!r} is not one of {', '.join(ECS47_ACTIONS)}")
    assert isinstance(action, str)
    names = ("action", "switch") if action == "reset" else ("action", "switch", "duration")
    given = _take(fields, names)
    switch = _integer("switch", given["switch"], 1, 5)
    selector = _long_unsigned(switch << 8 | ECS47_ACTIONS[action])
    script = cosem_spec("action", 9, obis.AUXILIARY_CONTROLLER_SCRIPTS, 1)
    if action == "reset":
        return access_request(counter, [script], [selector])
    duration = _integer("duration", given["duration"], 0, 0xFFFF)
    period = obis.controller_period(switch, end=action == "deactivate")
    specs = [cosem_spec("set", 1, period, 2), script]
    return access_request(counter, specs, [_long_unsigned(duration), selector])


def _date_time(name: str, value: object) -> Container:
    """A COSEM date-time octet-string of a UTC instant: weekday and hundredths not
    specified, deviation not specified, clock status FF (as every RTDS ECS47a/e has it)."""
    if not isinstance(value, dt.datetime):
        raise EncodeError(LAYER, f"{name} {value!r} is not a datetime")
    when = value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    if not 0 <= when.year <= 0xFFFE:
        raise EncodeError(LAYER, f"{name} year {when.year} does not fit a COSEM date-time")
    octets = when.year.to_bytes(2, "big") + bytes(
        (when.month, when.day, NOT_SPECIFIED, when.hour, when.minute, when.second, 0)
    )
    return Container(type="octet-string", value=octets + DATE_TIME_TAIL)


def _scheduled(period: Callable[[int, bool], bytes], script: bytes) -> Callable[..., bytes]:
    """ECS47a / ECS47e: set controller n's period start and end, then run `script` with the
    selector (direction, n, level)."""

    def builder(counter: int, fields: Mapping[str, object]) -> bytes:
        given = _take(fields, ("controller", "start", "end", "level", "direction"))
        n = _integer("controller", given["controller"], 1, 5)
        level = _integer("level", given["level"], 0, 100)
        direction = given["direction"]
        if direction not in DIRECTIONS:
            raise EncodeError(LAYER, f"direction {direction!r} is not output or input")
        assert isinstance(direction, str)
        specs = [
            cosem_spec("set", 1, period(n, False), 2),
            cosem_spec("set", 1, period(n, True), 2),
            cosem_spec("action", 9, script, 1),
        ]
        selector = _long_unsigned(DIRECTIONS[direction] << 12 | n << 8 | level)
        data = [_date_time("start", given["start"]), _date_time("end", given["end"]), selector]
        return access_request(counter, specs, data)

    return builder


def _ecs62(counter: int, fields: Mapping[str, object]) -> bytes:
    """7.9 / 7.10: set "boost function controls switch n" (0-0:94.44.6.n) for each switch
    given, in switch order: `boost` maps switch (1-5) to True (add to the Boost Button) or
    False (remove). RTDS's requests give all five, all True (7.9) or all False (7.10)."""
    boost = _take(fields, ("boost",))["boost"]
    if not isinstance(boost, Mapping) or not boost:
        raise EncodeError(LAYER, f"boost {boost!r} is not a mapping of switch (1-5) to bool")
    specs, data = [], []
    for switch in sorted(boost):
        n = _integer("boost switch", switch, 1, 5)
        value = boost[switch]
        if not isinstance(value, bool):
            raise EncodeError(LAYER, f"boost[{n}] {value!r} is not True or False")
        specs.append(cosem_spec("set", 1, obis.boost_association(n), 2))
        data.append(Container(type="boolean", value=AXDR_TRUE if value else 0))
    return access_request(counter, specs, data)


def mac(apdu: bytes, keystore: Keystore) -> bytes:
    """A command as the DCC sends it over the WAN: the DF APDU (a pre-command gets the empty
    signature field 00 a MAC'd APDU carries) in a DD envelope with the MAC of the ACB's and
    the target's KA keys (gbcs.security.mac_apdu). A signed command keeps its signature.
    KeyMissing when the keystore lacks a key the MAC needs."""
    apdu = bytes(apdu)
    if apdu_layout(apdu).signature is None:
        apdu += b"\x00"
    return mac_apdu(apdu, keystore)


BUILDERS: dict[str, Callable[[int, Mapping[str, object]], bytes]] = {
    "ECS47": _ecs47,
    "ECS47a": _scheduled(obis.controller_period, obis.AUXILIARY_CONTROLLER_SCRIPTS),
    "ECS47e": _scheduled(obis.apc_limit_period, obis.APC_LIMIT_SCRIPTS),
    "ECS62": _ecs62,
}
