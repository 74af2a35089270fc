"""DUIS request → GBCS pre-command (critical) or command (non-critical), built with the codec.

The grouping header follows the primer (10.3): a direct command carries the DUIS originator,
target and counter; a command the DCC sends as Access Control Broker on the user's behalf
carries the ACB with the ACB's own counter, and the DUIS originator and counter as the
supplementary remote party. The content is the use case's DLMS or ASN.1 payload built from the
body (primer section 9). Which use case a request becomes sometimes depends on the target
device (11.2: ECS52 for an ESME, CS08 for a PPMID/HCALCS; 8.8.2: CS04AC via the ACB to a PPMID,
CS04B to a GSME): the DSP's inventory knows that, so the caller names it.

Joins (8.7.x) carry the other device's type and, for Method C, its certificate: facts of the
DSP's inventory and of SMKI, not of the request, so the caller gives them as a `JoinPartner`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import functools
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from construct import Container, ListContainer
from cryptography import x509
from cryptography.x509.oid import NameOID
from lxml import etree

from emulator.errors import EmulatorError
from gbcs import asn1, decode, obis
from gbcs.build import INVOKE_PRIORITY, access_request, cosem_spec
from gbcs.errors import GbcsError
from gbcs.message import Message, encode_apdu
from gbcs.payload import encode as encode_payload
from gbcs.primitives import datetime_to_seconds2000
from gbcs.security import apdu_layout, verify_apdu
from gbcs.usecases import UseCase, by_name

from .duis import SR, BadRequest, Request, eui_from_text
from .response_codes import ResponseCode

COMMAND = 1  # CRA flag
#: critical though gbcs's use-case table leaves it open: RTDS's commands are signed by their
#: sender after a pre-command (6.15.1's CS02b and CS02g)
CRITICAL_IN_RTDS = frozenset({"CS02bSupplierBySupplier", "CS02bNOByNO",
                              "CS02gLoadControllerBySupplier", "CS02e",
                              "CS02bSupplierByTransCoS"})  # fmt: skip


class TransformError(BadRequest):
    """A request this transform cannot turn into GBCS (unsupported SRV, missing context)."""

    code = ResponseCode.SRV_NOT_FOR_DEVICE_TYPE


@dataclass(frozen=True)
class AcbContext:
    """The DSP's Access Control Broker identity and the counter for its next command (the
    ACB's counter is the DSP's own state, never part of a DUIS request)."""

    eui: bytes
    counter: int


@dataclass(frozen=True)
class JoinPartner:
    """What the DSP knows about the device being joined: its GBCS device type code
    (`gbcs.asn1.DEVICE_TYPES`: 0 GSME, 1 ESME, 2 CHF, 3 GPF, 4 HCALCS, 5 PPMID, 6 type 2) and,
    for Method C, its key-agreement certificate (DER) from SMKI."""

    device_type: int
    certificate: bytes | None = None


@dataclass(frozen=True)
class Transformed:
    """The GBCS command a request becomes, before any signature or MAC."""

    use_case: UseCase
    header: Container
    content: bytes
    via_acb: bool

    @property
    def critical(self) -> bool:
        return bool(self.use_case.critical) or self.use_case.name in CRITICAL_IN_RTDS

    @property
    def user_signs(self) -> bool:
        """A critical direct command: the user signs the pre-command (variants 4 → 5)."""
        return self.critical and not self.via_acb

    @property
    def acb_signs(self) -> bool:
        """A critical command sent on the user's behalf: the ACB signs it itself."""
        return self.critical and self.via_acb

    def precommand(self) -> bytes:
        """The DF APDU with no signature field: what the user signs (or the ACB does)."""
        return encode_apdu(self.header, self.content, None)

    def unsigned_command(self) -> bytes:
        """The DF APDU of a non-critical command: an empty signature field."""
        return encode_apdu(self.header, self.content, b"")


def _item(kind: str, value) -> Container:
    return Container(type=kind, value=value)


def _children(body: etree._Element, name: str) -> list[etree._Element]:
    return body.findall(f"{{{SR}}}{name}")


def _index(node: etree._Element) -> int:
    index = int(node.get("index", "0"))
    if not 1 <= index <= 5:
        raise TransformError(f"switch index {index} is not 1..5")
    return index


def _one(body: etree._Element, name: str) -> etree._Element:
    found = _children(body, name)
    if len(found) != 1:
        raise TransformError(f"expected one sr:{name}, found {len(found)}")
    return found[0]


def _required_text(parent: etree._Element, name: str) -> str:
    """The text of child sr:`name`, which the schema requires (empty if it has none)."""
    text = parent.findtext(f"{{{SR}}}{name}")
    if text is None:
        raise TransformError(f"missing sr:{name}")
    return text


def _attribute(node: etree._Element, name: str) -> str:
    value = node.get(name)
    if value is None:
        raise TransformError(f"sr:{etree.QName(node).localname} has no {name} attribute")
    return value


# --- content builders, one per use case; each takes (body, counter) -------------------------


def _ecs47_set_state(body: etree._Element, counter: int) -> bytes:
    """7.5 / 7.6: set the activation (.1) or deactivation (.2) duration of switch n at
    0-0:94.44.(116+n), then run the script: selector n << 8 | 0x11 activate / 0x12 deactivate
    (inferred from the RTDS/DUIS pairs, primer 9.2)."""
    activate = body.tag == f"{{{SR}}}ActivateAuxiliaryLoad"
    switch = _one(body, "ActivateALCSHCALCS" if activate else "DeactivateALCSHCALCS")
    n = _index(switch)
    duration = int(_required_text(switch, "Duration"))
    specs = [
        # .1 the activation, .2 the deactivation duration
        cosem_spec("set", 1, obis.controller_period(n, end=not activate), 2),
        cosem_spec("action", 9, obis.AUXILIARY_CONTROLLER_SCRIPTS, 1),
    ]
    selector = n << 8 | (0x11 if activate else 0x12)
    data = [_item("long-unsigned", duration), _item("long-unsigned", selector)]
    return access_request(counter, specs, data)


def _ecs47_reset(body: etree._Element, counter: int) -> bytes:
    """7.8: run the script that returns switch n to its calendar state (selector n << 8 | 0x20)."""
    n = _index(_one(body, "ResetALCSHCALCS"))
    specs = [cosem_spec("action", 9, obis.AUXILIARY_CONTROLLER_SCRIPTS, 1)]
    return access_request(counter, specs, [_item("long-unsigned", n << 8 | 0x20)])


def _ecs61a(body: etree._Element, counter: int) -> bytes:
    """7.7: get labels, type-and-identifiers, calendar special days and schedule, and the
    output state of the five disconnect controls (primer 9.4). Its content is the same for
    every request but the long-invoke-id, so it is encoded once and the id set per request
    (the DLMS encode was a fifth of the DSP's time per 7.7, bench/dsp_load.py)."""
    return _with_invoke_id(_ecs61a_template(), counter)


def _with_invoke_id(template: bytes, counter: int) -> bytes:
    """An access request encoded with invoke id 0, given `counter`'s long-invoke-id: the 4
    bytes after the 0xD9 tag (a fixed-length field, so nothing else moves)."""
    invoke = INVOKE_PRIORITY | (counter & 0xFFFFFF)
    return template[:1] + invoke.to_bytes(4, "big") + template[5:]


@functools.cache
def _ecs61a_template() -> bytes:
    template = _ecs61a_encode(0)
    if template[:1] != b"\xd9" or _with_invoke_id(template, 0xFFFFFF) != _ecs61a_encode(0xFFFFFF):
        raise TransformError("ECS61a's long-invoke-id is not the 4 bytes after its tag")
    return template


def _ecs61a_encode(counter: int) -> bytes:
    specs = [cosem_spec("get", 1, obis.switch_label(n), 2) for n in range(1, 6)]
    specs += [cosem_spec("get", 1, obis.switch_identifier(n), 2) for n in range(1, 6)]
    specs += [
        cosem_spec("get", 11, obis.CURRENT_SPECIAL_DAYS, 2),
        cosem_spec("get", 10, obis.CURRENT_SCHEDULE, 2),
    ]
    specs += [cosem_spec("get", 70, obis.disconnect_control(n), 2) for n in range(1, 6)]
    return access_request(counter, specs, [_item("null-data", None) for _ in specs])


def _ecs62(body: etree._Element, counter: int) -> bytes:
    """7.9 / 7.10: set 'boost controls switch n' (0-0:94.44.6.n) true to add, false to
    remove, for each switch the request names."""
    add = body.tag == f"{{{SR}}}AddAuxiliaryLoadToBoostButton"
    switches = _children(body, "AddToBoostButton" if add else "RemoveFromBoostButton")
    chosen = sorted(_index(s) for s in switches if (s.text or "").strip() in ("true", "1"))
    specs = [cosem_spec("set", 1, obis.boost_association(n), 2) for n in chosen]
    data = [_item("boolean", 0xFF if add else 0x00) for _ in chosen]
    return access_request(counter, specs, data)


def _seconds_since_2000(text: str) -> int:
    when = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.UTC)
    return datetime_to_seconds2000(when)


def _ecs61c(body: etree._Element, counter: int) -> bytes:
    """7.11: boost availability, the boost event log restricted to the DUIS ReadLogPeriod
    (range descriptor on 0-0:94.44.100.255, seconds since 2000), and the five associations."""
    period = _one(body, "ReadLogPeriod")
    start = _seconds_since_2000(_required_text(period, "StartDateTime"))
    end = _seconds_since_2000(_required_text(period, "EndDateTime"))
    restricting = _item(
        "structure",
        ListContainer(
            [
                _item("long-unsigned", 1),
                _item("octet-string", obis.BOOST_LOG_RESTRICTING_OBJECT),
                _item("integer", 2),
                _item("long-unsigned", 0),
            ]
        ),
    )
    range_descriptor = _item(
        "structure",
        ListContainer(
            [
                restricting,
                _item("double-long-unsigned", start),
                _item("double-long-unsigned", end),
                _item("array", ListContainer([])),
            ]
        ),
    )
    specs = [
        cosem_spec("get", 1, obis.BOOST_AVAILABILITY, 2),
        cosem_spec(
            "get_with_selection",
            7,
            obis.BOOST_LOG,
            2,
            Container(selector=1, parameters=range_descriptor),
        ),
    ]
    specs += [cosem_spec("get", 1, obis.boost_association(n), 2) for n in range(1, 6)]
    return access_request(counter, specs, [_item("null-data", None) for _ in specs])


def _ecs52(body: etree._Element, counter: int) -> bytes:
    """11.2 to an ESME / CHF: get the firmware version 0-0:0.2.1.255."""
    return access_request(counter, [cosem_spec("get", 1, obis.FIRMWARE_VERSION, 2)],
                           [_item("null-data", None)])  # fmt: skip


def _cs08(body: etree._Element, counter: int) -> bytes:
    """11.2 to a PPMID / HCALCS, 8.9 to a GSME (CS07): an ASN.1 NULL."""
    return asn1.encode_tree(asn1.null())


def _cs04(body: etree._Element, counter: int) -> bytes:
    """8.8.x: the other device's EUI as an OCTET STRING."""
    other = _required_text(body, "OtherDeviceID")
    return asn1.encode_tree(asn1.octet_string(eui_from_text(other.strip())))


JOIN_METHOD = {"CS03A1": 0, "CS03A2": 1, "CS03B": 2, "CS03C": 3}  # gbcs.asn1.JOIN_METHODS


def _cs03(body: etree._Element, use_case: str, partner: JoinPartner | None) -> bytes:
    """8.7.x: join method and role, the other device, its type, and (Method C) its
    certificate, as one DER SEQUENCE."""
    if partner is None:
        raise TransformError(f"{use_case} needs the other device's type (a JoinPartner)")
    method = JOIN_METHOD[use_case]
    if (method == 3) != (partner.certificate is not None):
        raise TransformError("a Method C join carries the other device's certificate, others not")
    other = _required_text(body, "OtherDeviceID")
    fields = [
        asn1.integer(method),
        asn1.octet_string(eui_from_text(other.strip())),
        asn1.integer(partner.device_type),
    ]
    if partner.certificate is not None:
        fields.append(asn1.decode_tree(partner.certificate))
    return asn1.encode_tree(asn1.sequence(*fields))


def _ccs01(body: etree._Element, counter: int, device_type: int = 0) -> bytes:
    """8.11 Add: register the device with its install code (without CRC, as DUIS carries it),
    set the join timeout, open joining. `device_type` is not in the DUIS request; RTDS has 0."""
    device = eui_from_text(_required_text(body, "DeviceID").strip())
    add = _one(body, "AddDeviceToCHFWhitelist")
    install_code = bytes.fromhex(_required_text(add, "InstallCode").strip())
    timeout = int(_required_text(add, "JoinTimePeriod"))
    specs = [
        cosem_spec("action", 104, obis.CHF_DEVICE_LOG, 1),  # IC 104 ZigBee network control
        cosem_spec("set", 104, obis.CHF_DEVICE_LOG, 3),
        cosem_spec("set", 104, obis.CHF_DEVICE_LOG, 2),
    ]
    registration = ListContainer(
        [
            _item("octet-string", device),
            _item("enum", 1),  # key type: install code
            _item("octet-string", install_code),
            _item("enum", device_type),
        ]
    )
    data = [
        _item("structure", registration),
        _item("long-unsigned", timeout),
        _item("boolean", 0xFF),
    ]
    return access_request(counter, specs, data)


def _ccs02(body: etree._Element, counter: int) -> bytes:
    """8.11 Remove: unregister the device from the CHF device log."""
    device = eui_from_text(_required_text(body, "DeviceID").strip())
    specs = [cosem_spec("action", 104, obis.CHF_DEVICE_LOG, 2)]
    return access_request(counter, specs, [_item("octet-string", device)])


# --- the auxiliary-controller use cases: 6.14.x, 7.13-7.16 (primer 9.3, 9.7) -----------------

NOT_SPECIFIED = 0xFF
# DLMS date-time deviation "not specified" and clock status as every RTDS date-time has them
DATE_TIME_TAIL = bytes.fromhex("8000FF")
IMMEDIATE = bytes(9) + DATE_TIME_TAIL  # all zero: activate the passive calendar now
CANCEL = b"\xff" * 9 + DATE_TIME_TAIL  # all FF: cancel a pending activation
CANCEL_DATE = _dt.datetime(3000, 12, 31, tzinfo=_dt.UTC)  # DUIS's "cancel" ExecutionDateTime
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _text(node: etree._Element, name: str) -> str | None:
    found = node.findtext(f"{{{SR}}}{name}")
    return None if found is None else found.strip()


def _utc(text: str) -> _dt.datetime:
    when = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return when.replace(tzinfo=_dt.UTC) if when.tzinfo is None else when.astimezone(_dt.UTC)


def _date_time(when: _dt.datetime) -> bytes:
    """DLMS date-time (12 bytes) of a UTC instant: weekday and hundredths not specified, as
    RTDS writes them."""
    return (
        when.year.to_bytes(2, "big")
        + bytes((when.month, when.day, NOT_SPECIFIED, when.hour, when.minute, when.second, 0))
        + DATE_TIME_TAIL
    )


def _execution(body: etree._Element) -> bytes:
    """When the passive calendar activates: absent = now (all 00), 3000-12-31 = cancel
    (all FF), else that date-time (primer 9.7)."""
    text = _text(body, "ExecutionDateTime")
    if text is None:
        return IMMEDIATE
    when = _utc(text)
    return CANCEL if when >= CANCEL_DATE else _date_time(when)


def _date(node: etree._Element | None) -> bytes:
    """DLMS date (5 bytes) from a DUIS date whose parts are each Specified… or NonSpecified…;
    an absent date or part is 'not specified' (FFFF / FF)."""

    def part(name: str) -> int | None:
        if node is None:
            return None
        holder = node.find(f"{{{SR}}}{name}")
        value = None if holder is None else holder.findtext(f"{{{SR}}}Specified{name}")
        return None if value is None else int(value)

    year, month, day, weekday = (part(n) for n in ("Year", "Month", "DayOfMonth", "DayOfWeek"))
    return (0xFFFF if year is None else year).to_bytes(2, "big") + bytes(
        NOT_SPECIFIED if v is None else v for v in (month, day, weekday)
    )


def _time(text: str) -> bytes:
    """DLMS time (4 bytes) of a DUIS time such as 09:30:00.00Z: hundredths as RTDS has them."""
    clock = _dt.time.fromisoformat(text.replace("Z", "").split("+")[0])
    return bytes((clock.hour, clock.minute, clock.second, clock.microsecond // 10_000))


def _bits(count: int, set_bits: list[int]) -> Container:
    """A DLMS bit-string of `count` bits, bit 0 first (the most significant of the octet)."""
    octets = bytearray((count + 7) // 8)
    for bit in set_bits:
        if not 0 <= bit < count:
            raise TransformError(f"bit {bit + 1} is outside 1..{count}")
        octets[bit // 8] |= 0x80 >> (bit % 8)
    return _item("bit-string", Container(bits=count, octets=bytes(octets)))


def _weekdays(schedule: etree._Element) -> Container:
    names = [(n.text or "").strip() for n in schedule.iter(f"{{{SR}}}DayOfWeekID")]
    unknown = set(names) - set(WEEKDAYS)
    if unknown:
        raise TransformError(f"unknown day of week {sorted(unknown)}")
    return _bits(7, [WEEKDAYS.index(n) for n in names])


def _special_days(days: list[etree._Element], attribute: str) -> Container:
    """The passive special days table: (index, date, day id = index) per defined day."""
    entries = []
    for node in days:
        number = int(_attribute(node, attribute))
        entries.append(_item("structure", ListContainer([
            _item("long-unsigned", number), _item("octet-string", _date(node)),
            _item("unsigned", number)])))  # fmt: skip
    return _item("array", ListContainer(entries))


def _schedule_entry(index: int, selector: int, schedule, period_name: str, days_defined: int,
                    attribute: str) -> Container:  # fmt: skip
    """One passive schedule entry: enabled, runs the auxiliary controller script with
    `selector` at the switch time on the given weekdays and special days, between the dates."""
    period = _one(schedule, period_name)
    applies = [
        int(_attribute(n, attribute)) - 1 for n in _children(schedule, "SpecialDaysApplicability")
    ]
    return _item("structure", ListContainer([
        _item("long-unsigned", index),
        _item("boolean", 0xFF),
        _item("octet-string", obis.AUXILIARY_CONTROLLER_SCRIPTS),
        _item("long-unsigned", selector),
        _item("octet-string", _time(_text(period, "SwitchTime") or "")),
        _item("long-unsigned", 0xFFFF),
        _weekdays(schedule),
        _bits(days_defined, applies),
        _item("octet-string", _date(period.find(f"{{{SR}}}StartDate"))),
        _item("octet-string", _date(period.find(f"{{{SR}}}EndDate"))),
    ]))  # fmt: skip


PASSIVE_CALENDAR = [
    cosem_spec("set", 11, obis.NEXT_SPECIAL_DAYS, 2),
    cosem_spec("set", 10, obis.NEXT_SCHEDULE, 2),
    cosem_spec("set", 9000, obis.NEXT_CALENDAR_ACTIVATION, 6),
    cosem_spec("set", 9000, obis.NEXT_SPECIAL_DAYS_ACTIVATION, 6),
]


def _ecs46a(body: etree._Element, counter: int) -> bytes:
    """6.14.1: set the description (label) of each switch the request names."""
    named = sorted((_index(n), _text(n, "SwitchDescription") or "")
                   for n in _children(body, "ALCSHCALCSDescription"))  # fmt: skip
    specs = [cosem_spec("set", 1, obis.switch_label(n), 2) for n, _ in named]
    return access_request(counter, specs, [_item("visible-string", t) for _, t in named])


def _ecs46c(body: etree._Element, counter: int) -> bytes:
    """6.14.2: type-and-identifier of each switch named (8 × 00 ALCS, the HCALCS's EUI), the
    passive special days and schedule (selector switch << 8 | 01 activate / 02 deactivate),
    and when they take effect."""
    specs, data = [], []
    for node in sorted(_children(body, "SwitchTypeAndId"), key=_index):
        hcalcs = _text(node, "HCALCS")
        specs.append(cosem_spec("set", 1, obis.switch_identifier(_index(node)), 2))
        identifier = bytes(8) if hcalcs is None else eui_from_text(hcalcs)
        data.append(_item("octet-string", identifier))
    holder = body.find(f"{{{SR}}}ALCSHCALCSSpecialDays")
    days = [] if holder is None else _children(holder, "ALCSHCALCSSpecialDay")
    special = _special_days(days, "index")
    entries = []
    for number, schedule in enumerate(_children(body, "ALCSHCALCSConnectionSchedule"), 1):
        switch = _one(schedule, "ActivateDeactivateSwitch")
        activate = switch.find(f"{{{SR}}}ActivateSwitch") is not None
        selector = _index(switch) << 8 | (0x01 if activate else 0x02)
        entries.append(_schedule_entry(number, selector, schedule, "ALCSScheduleDatesAndTime",
                                       len(days), "index"))  # fmt: skip
    when = _item("octet-string", _execution(body))
    specs += PASSIVE_CALENDAR
    data += [special, _item("array", ListContainer(entries)), when, when]
    return access_request(counter, specs, data)


def _controller(node: etree._Element, attribute: str = "auxiliaryControllerN") -> int:
    number = int(node.get(attribute, "0"))
    if not 1 <= number <= 5:
        raise TransformError(f"auxiliary controller {number} is not 1..5")
    return number


def _level_selector(node: etree._Element, n: int) -> int:
    """Direction nibble (1 output, 2 input: InputFromControlledLoad), controller n, level
    0..100 (primer 9.3)."""
    level = int(_text(node, "CommandedStateLevel") or "-1")
    if not 0 <= level <= 100:
        raise TransformError(f"commanded level {level} is not 0..100")
    direction = 2 if node.find(f"{{{SR}}}InputFromControlledLoad") is not None else 1
    return direction << 12 | n << 8 | level


def _ecs46d(body: etree._Element, counter: int) -> bytes:
    """6.14.3: the passive special days and schedule of the auxiliary controllers (selector as
    ECS47a's with 0x80 in the level byte, as RTDS has it) and when they take effect."""
    holder = body.find(f"{{{SR}}}AuxiliaryControllerSpecialDayDefinitions")
    days = [] if holder is None else _children(holder, "AuxiliaryControllerSpecialDayDefinition")
    special = _special_days(days, "identifier")
    entries = []
    for number, schedule in enumerate(_children(body, "AuxiliaryControllerSchedule"), 1):
        action = _one(schedule, "AuxiliaryControllerAction")
        selector = _level_selector(action, _controller(action)) | 0x80
        entries.append(_schedule_entry(number, selector, schedule,
                                       "AuxiliaryControllerSchedulePeriodAndTime", len(days),
                                       "identifier"))  # fmt: skip
    when = _item("octet-string", _execution(body))
    data = [special, _item("array", ListContainer(entries)), when, when]
    return access_request(counter, list(PASSIVE_CALENDAR), data)


def _scheduled_level(
    body: etree._Element, counter: int, period: Callable[[int, bool], bytes], script: bytes
) -> bytes:
    """ECS47a / ECS47e: set the start and end date-times of controller n's period (objects
    `period(n, end)`: 0-0:94.44.(116+n).1 and .2, or .3 and .4 for an APC), then run `script`
    with the level selector."""
    node = body  # SetAuxiliaryControllerState / LimitAPCLevel, carrying auxiliaryControllerN
    n = _controller(node)
    start = _utc(_text(node, "StartDateTime") or "")
    end = _utc(_text(node, "EndDateTime") or "")
    specs = [
        cosem_spec("set", 1, period(n, False), 2),
        cosem_spec("set", 1, period(n, True), 2),
        cosem_spec("action", 9, script, 1),
    ]
    data = [_item("octet-string", _date_time(start)), _item("octet-string", _date_time(end)),
            _item("long-unsigned", _level_selector(node, n))]  # fmt: skip
    return access_request(counter, specs, data)


def _ecs47a(body: etree._Element, counter: int) -> bytes:
    """7.13: set auxiliary controller n's state for a period."""
    return _scheduled_level(body, counter, obis.controller_period,
                            obis.AUXILIARY_CONTROLLER_SCRIPTS)  # fmt: skip


def _ecs47e(body: etree._Element, counter: int) -> bytes:
    """7.16: limit APC n's level for a period."""
    return _scheduled_level(body, counter, obis.apc_limit_period, obis.APC_LIMIT_SCRIPTS)


def _ecs61d(body: etree._Element, counter: int) -> bytes:
    """7.14: get the five descriptions and the current calendar (special days, schedule)."""
    specs = [cosem_spec("get", 1, obis.switch_label(n), 2) for n in range(1, 6)]
    specs += [cosem_spec("get", 11, obis.CURRENT_SPECIAL_DAYS, 2),
              cosem_spec("get", 10, obis.CURRENT_SCHEDULE, 2)]  # fmt: skip
    return access_request(counter, specs, [_item("null-data", None) for _ in specs])


def _ecs61e(body: etree._Element, counter: int) -> bytes:
    """7.15: get the five types-and-identifiers and the five state-and-information objects."""
    specs = [cosem_spec("get", 1, obis.switch_identifier(n), 2) for n in range(1, 6)]
    specs += [cosem_spec("get", 1, obis.controller_state(n), 2) for n in range(1, 6)]
    return access_request(counter, specs, [_item("null-data", None) for _ in specs])


# --- reads that are one fixed list of gets (esme/store.py answers them) ---------------------

#: use case -> its gets, (interface class, OBIS, attribute) in the order RTDS sends them
FIXED_READS: dict[str, tuple[tuple[int, str, int], ...]] = {
    "ECS24b": ((113, "0000131405FF", 5), (3, "00005E2C0108", 2), (3, "00005E2C0108", 3),
               (11, "00000B0001FF", 2), (20, "00000D0001FF", 3), (20, "00000D0001FF", 4),
               (20, "00000D0001FF", 5)),
    "ECS26a": ((113, "0000131401FF", 5), (11, "00000B0002FF", 2), (113, "0000131401FF", 8),
               (113, "0000131401FF", 5), (113, "0000131402FF", 5), (113, "0000131402FF", 8),
               (113, "0000131402FF", 5), (113, "0000131403FF", 13), (9000, "00005E2C020A", 2),
               (21, "0000100001FF", 2), (9000, "00005E2C0214", 2), (111, "0000130000FF", 16),
               (111, "0000130000FF", 18), (111, "0000130000FF", 19), (112, "0000130A01FF", 9),
               (112, "0000130A01FF", 10), (10, "00000C0001FF", 2), (111, "0000130000FF", 11)),
    "ECS27": ((9000, "00005E2C0003", 2), (3, "00005E2C2AFF", 2), (3, "00005E2C2AFF", 3),
              (71, "0000110000FF", 4), (71, "0000110000FF", 6), (71, "0000110000FF", 7)),
    "ECS26b": ((71, "0000110001FF", 4), (71, "0000110001FF", 6), (71, "0000110002FF", 4),
               (71, "0000110002FF", 6), (71, "0000110003FF", 4), (71, "0000110003FF", 6),
               (71, "0000110004FF", 4), (71, "0000110004FF", 6), (1, "010020230004", 2),
               (1, "0100201F0004", 2)),
    "ECS26c": ((1, "00005E2C0000", 2), (1, "00005E2C0002", 2), (1, "00005E2C0001", 2)),
    "ECS26d": ((22, "00000F0000FF", 4),),
    "ECS26l": ((22, "00000F0000FF", 4),),
    "ECS26m": ((1, "0000600102FF", 2), (1, "0000600104FF", 2), (1, "0000600106FF", 2),
               (1, "00005E2C0004", 2)),
    "ECS26e": ((1, "0000600101FF", 2), (1, "0000600102FF", 2), (1, "0000600104FF", 2),
               (1, "0000600106FF", 2), (1, "00005E2C0004", 2)),
    "ECS26f": ((21, "0000100000FF", 2),),
    "ECS40": ((1, "00005E2C220B", 2), (1, "0100000002FF", 2)),
    "ECS26j": ((111, "0000130000FF", 2),),
    "ECS45": ((70, "000060030AFF", 3),),
    # the Comms Hub Function's device log (8.9): its active devices
    "CCS06": ((104, "00001E0300FF", 4),),
    "CCS05CCS04": ((104, "00001E0300FF", 4),),
    # the Comms Hub Function's identity and type (6.2.4)
    "ECS26n": ((1, "0000600104FF", 2), (1, "0000600106FF", 2)),
    "ECS26i": ((1, "0000600101FF", 2), (1, "0000600104FF", 2), (1, "0000600106FF", 2)),
}  # fmt: skip


@functools.cache
def _fixed_read_template(use_case: str) -> bytes:
    specs = [cosem_spec("get", ic, bytes.fromhex(code), attribute)
             for ic, code, attribute in FIXED_READS[use_case]]  # fmt: skip
    return access_request(0, specs, [_item("null-data", None) for _ in specs])


def _fixed_read(use_case: str) -> Callable[[etree._Element, int], bytes]:
    """The builder of a read whose content is the same for every request but the
    long-invoke-id (the DUIS body is an empty element)."""

    def build(body: etree._Element, counter: int) -> bytes:
        _not_dsp_future_dated(body, use_case)
        return _with_invoke_id(_fixed_read_template(use_case), counter)

    build.__doc__ = f"{use_case}: {len(FIXED_READS[use_case])} gets, fixed"
    return build


# --- reads the meter encrypts for the reader (esme/protected.py) ------------------------------

#: use case -> (its data protection object, what it reads: IC, OBIS, attr); a profile
#: (IC 7) is read over the request's ReadLogPeriod
PROTECTED_READS: dict[str, tuple[str, tuple[tuple[int, str, int], ...]]] = {
    "ECS17b": ("00002B0208FF", ((1, "00005E2C220A", 2),)),  # import registers
    "ECS17e": ("00002B020AFF", ((1, "00005E2C2202", 2),)),  # TOU with blocks matrices
    "ECS19": ("00002B0201FF", ((1, "00005E2C221E", 2),)),  # prepayment values
    "ECS20b": ("00002B0203FF", ((7, "0000620102FF", 2),)),  # billing log, CoM / tariff
    "ECS20c": ("00002B0202FF", ((7, "0000620100FF", 2), (7, "0000620101FF", 2))),  # calendar
    "ECS21a": ("00002B0205FF", ((7, "0000620109FF", 2),)),  # daily read log
    "ECS21b": ("00002B0206FF", ((7, "0000620108FF", 2),)),  # prepayment daily read log
    "ECS22b": ("00002B0207FF", ((7, "0000630100FF", 2),)),  # active import profile
}
PROTECTED_TRANSACTION = 0x04  # the transaction id's first byte; the counter follows
ENCRYPTION_BY_AGREED_KEY = (2, b"\x02")  # protection type 2 with agreed key parameters 02


def _protected_read(use_case: str) -> Callable[..., bytes]:
    """The builder of a get_protected_attributes: what the use case reads (a register
    collection with no selective access, a profile over the request's ReadLogPeriod), and
    encryption for the sender (transaction id 04 + counter, the sender as originator, the
    target as recipient, no date-time, an agreed key)."""
    protection, wanted = PROTECTED_READS[use_case]

    def access(body: etree._Element, ic: int) -> Container:
        if ic != 7:
            return _item("structure", ListContainer([_item("enum", 0), _item("null-data", None)]))
        period = body.find(f".//{{{SR}}}ReadLogPeriod")
        if period is None:
            raise TransformError(f"{use_case} needs sr:ReadLogPeriod")
        start = _utc(_required_text(period, "StartDateTime"))
        end = _utc(_required_text(period, "EndDateTime"))
        if end < start:
            raise TransformError("the log period ends before it starts")
        bounds = _item("structure", ListContainer(
            [_item("octet-string", _date_time(start)), _item("octet-string", _date_time(end))]))  # fmt: skip
        return _item("structure", ListContainer([_item("enum", 1), bounds]))

    def build(request: Request, counter: int) -> bytes:
        rid = request.request_id
        _not_dsp_future_dated(request.body, use_case)
        # an unknown remote party (4.14's URP): the response is encrypted for it
        remote = _remote_party(request.body) if getattr(build, "remote_party", False) else None
        unknown = request.body.find(f".//{{{SR}}}KAPublicSecurityCredentials") is not None
        if remote is None and unknown:
            raise TransformError(f"{use_case} for an unknown remote party: not served yet")
        reader = bytes(rid.originator) if remote is None else remote[0]
        descriptors = [_item("structure", ListContainer([
            _item("long-unsigned", ic), _item("octet-string", bytes.fromhex(code)),
            _item("integer", attribute), _item("long-unsigned", 0), access(request.body, ic),
        ])) for ic, code, attribute in wanted]  # fmt: skip
        kind, key_parameters = ENCRYPTION_BY_AGREED_KEY
        parameters = _item("structure", ListContainer([
            _item("enum", kind),
            _item("structure", ListContainer([
                _item("octet-string", bytes([PROTECTED_TRANSACTION]) + counter.to_bytes(8, "big")),
                _item("octet-string", reader),
                _item("octet-string", bytes(rid.target)),
                _item("octet-string", b""),
                _item("structure", ListContainer([
                    _item("enum", 2),
                    _item("structure", ListContainer([
                        _item("octet-string", key_parameters), _item("octet-string", b"")])),
                ])),
            ])),
        ]))  # fmt: skip
        data = _item("structure", ListContainer([
            _item("array", ListContainer(descriptors)),
            _item("array", ListContainer([parameters])),
        ]))  # fmt: skip
        specs = [cosem_spec("action", 30, bytes.fromhex(protection), 1)]
        return access_request(counter, specs, [data])

    build.wants_request = True  # type: ignore[attr-defined]
    return build


# --- configuration writes of one attribute (esme/store.py keeps them) -------------------------


def _not_dsp_future_dated(body: etree._Element, use_case: str) -> None:
    """A request for later that the DSP would hold (DUIS's DSP future-dating) is refused
    rather than sent now: the DSP does not schedule yet."""
    if body.find(f".//{{{SR}}}ExecutionDateTime") is not None:
        raise TransformError(f"{use_case}: DSP future-dated requests are not served yet")


def _mpans(body: etree._Element) -> Container:
    """6.20.1: the import MPAN and a twin meter's secondary one, one after the other as ASCII
    (or a gas meter's MPRN)."""
    names = ("ImportMPAN", "SecondaryImportMPAN", "ImportMPRN")
    mpans = [(n.text or "").strip() for name in names for n in body.iter(f"{{{SR}}}{name}")]
    if not mpans or not all(m.isdigit() for m in mpans):
        raise TransformError("6.20.1 needs a numeric sr:ImportMPAN (and secondary) or MPRN")
    return _item("octet-string", "".join(mpans).encode("ascii"))


def _thresholds(body: etree._Element) -> Container:
    """6.12: the low/medium and medium/high instantaneous power thresholds (W)."""
    values = [int(_required_text(body, n)) for n in ("LowMediumPowerThreshold",
                                                      "MediumHighPowerThreshold")]  # fmt: skip
    return _item("array", ListContainer(_item("double-long-unsigned", v) for v in values))


def _restriction(body: etree._Element) -> Container:
    """3.2: the change-of-tenancy date-time before which data is restricted."""
    return _item("octet-string", _date_time(_utc(_required_text(body, "RestrictionDateTime"))))


def _tamper_state(body: etree._Element) -> Container:
    """6.25: the supply tamper state, Locked (true) or Unlocked (false)."""
    state = _required_text(body, "SupplyTamperState").strip()
    if state not in ("Locked", "Unlocked"):
        raise TransformError(f"supply tamper state {state!r} is not Locked or Unlocked")
    return _item("boolean", 0xFF if state == "Locked" else 0x00)


def _daily_block_reset(body: etree._Element) -> Container:
    """6.26: reset the tariff block counter matrix every day at midnight (an execution time
    of 00:00:00.00 on every date). Turning it off has no RTDS example: refused."""
    if _required_text(body, "DailyTariffBlockCounterMatrixReset").strip() not in ("true", "1"):
        raise TransformError("6.26 turning the daily reset off is not served yet")
    every_day = _item("structure", ListContainer(
        [_item("octet-string", bytes(4)), _item("octet-string", b"\xff" * 5)]))  # fmt: skip
    return _item("array", ListContainer([every_day]))


def _billing_dates(calendar: etree._Element) -> list[bytes]:
    """The DLMS dates (year FFFF, month, day, day of week) a DUIS ElectricityBillingCalendar
    bills on: every day, a day of the week, a day of every month, or a day of the month
    every 3, 6 or 12 months from the start month (RTDS's quarterly: months 1, 4, 7, 10)."""
    if calendar.find(f"{{{SR}}}Daily") is not None:
        return [b"\xff\xff\xff\xff\xff"]
    weekly = _text(calendar, "Weekly")
    if weekly is not None:
        return [b"\xff\xff\xff\xff" + bytes((int(weekly),))]
    monthly = _text(calendar, "Monthly")
    if monthly is not None:
        return [b"\xff\xff\xff" + bytes((int(monthly), 0xFF))]
    for name, step in (("Quarterly", 3), ("SixMonthly", 6), ("Yearly", 12)):
        node = calendar.find(f"{{{SR}}}{name}")
        if node is not None:
            day = int(_required_text(node, "DayOfMonth"))
            first = int(_required_text(node, "BillingPeriodStartMonth"))
            months = sorted((first - 1 + k) % 12 + 1 for k in range(0, 12, step))
            return [b"\xff\xff" + bytes((m, day, 0xFF)) for m in months]
    raise TransformError("the billing calendar names no periodicity")


def _electricity_billing_calendar(body: etree._Element) -> Container:
    """6.8: the billing single action schedule's execution times: (BillingTime, date) for
    each date of the periodicity."""
    calendar = _one(body, "ElectricityBillingCalendar")
    time = _time(_required_text(calendar, "BillingTime"))
    return _item("array", ListContainer(
        _item("structure", ListContainer([_item("octet-string", time),
                                          _item("octet-string", date)]))
        for date in _billing_dates(calendar)))  # fmt: skip


#: use case -> (IC, OBIS, attribute) it sets, and the value from the DUIS body
SINGLE_WRITES: dict[str, tuple[tuple[int, str, int], Callable[[etree._Element], Container]]] = {
    "ECS39a": ((1, "00005E2C220B", 2), _mpans),  # 6.20.1 import MPxN
    "ECS34": ((21, "0000100000FF", 2), _thresholds),  # 6.12 power thresholds
    "ECS12": ((1, "00005E2C0302", 2), _restriction),  # 3.2 change of tenancy
    "ECS14": ((1, "00005E2C0301", 2), lambda body: _item("octet-string", b"")),  # 3.5 PIN
    "ECS81": ((1, "00005E2C0004", 2), _tamper_state),  # 6.25 (critical)
    "ECS48": ((22, "00000F0100FF", 4), _daily_block_reset),  # 6.26 (critical)
    # 6.8 the billing calendar (critical; 6.2.3's ECS26d/l read it)
    "ECS30a": ((22, "00000F0000FF", 4), _electricity_billing_calendar),
    "ECS30": ((22, "00000F0000FF", 4), _electricity_billing_calendar),
    "ECS38": (
        (1, "00005E2C0001", 2),
        lambda body: _item(  # 7.12 (critical)
            "long-unsigned", int(_required_text(body, "RandomisedOffsetLimit"))
        ),
    ),
    "ECS10": (
        (1, "0002600D01FF", 2),
        lambda body: _item(  # 3.1 supplier message
            "octet-string", _required_text(body, "SupplierMessage").encode()
        ),
    ),
}


def _single_write(use_case: str) -> Callable[[etree._Element, int], bytes]:
    (ic, code, attribute), value = SINGLE_WRITES[use_case]

    def build(body: etree._Element, counter: int) -> bytes:
        _not_dsp_future_dated(body, use_case)
        specs = [cosem_spec("set", ic, bytes.fromhex(code), attribute)]
        return access_request(counter, specs, [value(body)])

    build.__doc__ = f"{use_case}: set {ic}/{code}/{attribute} from the body"
    return build


# --- ECS70 set clock (6.11 Synchronise Clock, 8.1.1 Commission Device) ----------------------

CLOCK = bytes.fromhex("0000010000FF")  # 0-0:1.0.0.255, interface class 8
IC_CLOCK = 8
#: the clock_base ECS70 sets, as RTDS's pre-command has it
ECS70_CLOCK_BASE = 5
NEVER = b"\xff" * 9 + DATE_TIME_TAIL  # preset_time not specified: the device keeps its time


def _ecs70(body: etree._Element, counter: int) -> bytes:
    """ECS70: set the clock base, preset the adjusting time with a validity interval from the
    body's CurrentDateTime to TolerancePeriod seconds later, adjust to it, read time and
    status back; RTDS's layout, instruction for instruction."""
    start = _utc(_required_text(body, "CurrentDateTime"))
    try:
        tolerance = int(_required_text(body, "TolerancePeriod"))
    except ValueError:
        raise TransformError("ECS70's TolerancePeriod is not a whole number of seconds") from None
    if tolerance < 0:
        raise TransformError(f"ECS70's TolerancePeriod {tolerance} is negative")
    end = start + _dt.timedelta(seconds=tolerance)
    specs = [
        cosem_spec("set", IC_CLOCK, CLOCK, 9),  # clock_base
        cosem_spec("action", IC_CLOCK, CLOCK, 5),  # preset_adjusting_time
        cosem_spec("action", IC_CLOCK, CLOCK, 4),  # adjust_to_preset_time
        cosem_spec("get", IC_CLOCK, CLOCK, 2),  # time
        cosem_spec("get", IC_CLOCK, CLOCK, 4),  # status
    ]
    window = _item("structure", ListContainer([_item("octet-string", NEVER),
                   _item("octet-string", _date_time(start)),
                   _item("octet-string", _date_time(end))]))  # fmt: skip
    data = [_item("enum", ECS70_CLOCK_BASE), window, _item("integer", 0),
            _item("null-data", None), _item("null-data", None)]  # fmt: skip
    return access_request(counter, specs, data)


@dataclass(frozen=True)
class _Form:
    use_case: str
    build: Callable[..., bytes]
    via_acb: bool = False
    originator: bytes | None = None  # a DCC party other than the ACB sends it (6.23)
    acb_own: bool = False  # the ACB's own: no user named as its supplementary remote party


# (SRV variant, use case name) → how to build it; the first per SRV is the default.
FORMS: dict[tuple[str, str], _Form] = {
    ("7.5", "ECS47"): _Form("ECS47", _ecs47_set_state),
    ("7.6", "ECS47"): _Form("ECS47", _ecs47_set_state),
    ("7.7", "ECS61a"): _Form("ECS61a", _ecs61a),
    ("7.8", "ECS47"): _Form("ECS47", _ecs47_reset),
    ("7.9", "ECS62"): _Form("ECS62", _ecs62),
    ("7.10", "ECS62"): _Form("ECS62", _ecs62),
    ("7.11", "ECS61c"): _Form("ECS61c", _ecs61c),
    ("8.7.1", "CS03A1"): _Form("CS03A1", _cs03),
    ("8.7.1", "CS03A2"): _Form("CS03A2", _cs03),
    ("8.7.1", "CS03C"): _Form("CS03C", _cs03),
    ("8.7.2", "CS03A2"): _Form("CS03A2", _cs03, via_acb=True),
    ("8.7.2", "CS03B"): _Form("CS03B", _cs03),
    ("8.7.2", "CS03C"): _Form("CS03C", _cs03, via_acb=True),
    ("8.8.1", "CS04AC"): _Form("CS04AC", _cs04),
    ("8.8.2", "CS04AC"): _Form("CS04AC", _cs04, via_acb=True),
    ("8.8.2", "CS04B"): _Form("CS04B", _cs04),
    ("11.2", "ECS52"): _Form("ECS52", _ecs52),
    ("11.2", "CS08"): _Form("CS08", _cs08, via_acb=True),
    ("8.11", "CCS01"): _Form("CCS01", _ccs01, via_acb=True),
    ("8.11", "CCS02"): _Form("CCS02", _ccs02, via_acb=True),
    ("6.14.1", "ECS46a"): _Form("ECS46a", _ecs46a),
    ("6.14.2", "ECS46c"): _Form("ECS46c", _ecs46c),
    ("6.14.3", "ECS46d"): _Form("ECS46d", _ecs46d),
    ("7.13", "ECS47a"): _Form("ECS47a", _ecs47a),
    # RTDS's successful ECS61d is the ACB's, on the Supplier's behalf (its error case is
    # the Supplier's own): the ACB form serves every eligible role, OU included
    ("7.14", "ECS61d"): _Form("ECS61d", _ecs61d, via_acb=True),
    ("7.15", "ECS61e"): _Form("ECS61e", _ecs61e),
    ("7.16", "ECS47e"): _Form("ECS47e", _ecs47e),
    # the ESME's fixed reads; where an SRV has several use cases for an ESME the newest
    # GBCS one comes first (6.2.3 all periodicities, 6.2.4 with the supply tamper state)
    ("4.11.2", "ECS24b"): _Form("ECS24b", _fixed_read("ECS24b")),
    ("4.13", "ECS26a"): _Form("ECS26a", _fixed_read("ECS26a")),
    ("4.15", "ECS27"): _Form("ECS27", _fixed_read("ECS27")),
    ("6.2.1", "ECS26b"): _Form("ECS26b", _fixed_read("ECS26b")),
    ("6.2.2", "ECS26c"): _Form("ECS26c", _fixed_read("ECS26c")),
    ("6.2.3", "ECS26l"): _Form("ECS26l", _fixed_read("ECS26l")),
    ("6.2.3", "ECS26d"): _Form("ECS26d", _fixed_read("ECS26d")),
    ("6.2.4", "ECS26m"): _Form("ECS26m", _fixed_read("ECS26m")),
    ("6.2.4", "ECS26e"): _Form("ECS26e", _fixed_read("ECS26e")),
    ("6.2.5", "ECS26f"): _Form("ECS26f", _fixed_read("ECS26f")),
    ("6.2.7", "ECS40"): _Form("ECS40", _fixed_read("ECS40")),
    ("6.2.9", "ECS26j"): _Form("ECS26j", _fixed_read("ECS26j")),
    ("7.4", "ECS45"): _Form("ECS45", _fixed_read("ECS45")),
    ("4.1.1", "ECS17b"): _Form("ECS17b", _protected_read("ECS17b")),
    ("4.1.3", "ECS17e"): _Form("ECS17e", _protected_read("ECS17e")),
    ("4.3", "ECS19"): _Form("ECS19", _protected_read("ECS19")),
    ("4.4.2", "ECS20b"): _Form("ECS20b", _protected_read("ECS20b")),
    ("4.4.3", "ECS20c"): _Form("ECS20c", _protected_read("ECS20c")),
    ("4.6.1", "ECS21a"): _Form("ECS21a", _protected_read("ECS21a")),
    ("4.14", "ECS21b"): _Form("ECS21b", _protected_read("ECS21b")),
    ("4.8.1", "ECS22b"): _Form("ECS22b", _protected_read("ECS22b")),
    # 8.9 to the Comms Hub Function, sent by the ACB (the newer CCS06 first)
    ("8.9", "CCS06"): _Form("CCS06", _fixed_read("CCS06"), via_acb=True),
    ("8.9", "CCS05CCS04"): _Form("CCS05CCS04", _fixed_read("CCS05CCS04"), via_acb=True),
    ("6.2.4", "ECS26n"): _Form("ECS26n", _fixed_read("ECS26n"), via_acb=True),  # the hub's
    ("6.2.4", "ECS26i"): _Form("ECS26i", _fixed_read("ECS26i"), via_acb=True),
    ("6.20.1", "ECS39a"): _Form("ECS39a", _single_write("ECS39a")),
    ("6.12", "ECS34"): _Form("ECS34", _single_write("ECS34")),
    ("3.2", "ECS12"): _Form("ECS12", _single_write("ECS12")),
    ("3.5", "ECS14"): _Form("ECS14", _single_write("ECS14")),
    ("6.25", "ECS81"): _Form("ECS81", _single_write("ECS81")),
    ("6.26", "ECS48"): _Form("ECS48", _single_write("ECS48")),
    ("8.1.1", "ECS70"): _Form("ECS70", _ecs70),
    ("6.11", "ECS70"): _Form("ECS70", _ecs70),
}


#: the logs 6.13 reads on the Comms Hub Function and a ZigBee device, by DUIS LogToRead, keyed
#: by each of their use cases (the one the DSP names for the device)
_CHF_LOGS = {"Event": "ECS35c", "Security": "ECS35d"}
_ZIGBEE_LOGS = {"Event": "CS10a", "Security": "CS10b"}
_DEVICE_LOGS = {"ECS35c": _CHF_LOGS, "ECS35d": _CHF_LOGS, "CS10a": _ZIGBEE_LOGS,
                "CS10b": _ZIGBEE_LOGS}  # fmt: skip


def _balance_use_case(body: etree._Element, gas: bool) -> str:
    """1.5's use case by what the body asks: a prepayment or credit mode balance, adjusted or
    reset (GCS40a-d for a gas meter; ECS04a, prepayment adjust, for an ESME)."""
    prepayment = body.find(f"{{{SR}}}PrepaymentMode") is not None
    reset = body.find(f".//{{{SR}}}ResetMeterBalance") is not None
    if gas:
        return "GCS40" + {(True, False): "a", (True, True): "b", (False, False): "c",
                          (False, True): "d"}[(prepayment, reset)]  # fmt: skip
    return "ECS04a" if prepayment and not reset else "ECS04b"


def _choose(request: Request, use_case: str | None, role: str | None = None) -> _Form:
    srv = request.service_reference_variant
    if srv in ("6.22", "6.2.10") and (use_case is None or use_case.startswith("ECS25")):
        use_case = _alert_behaviour_use_case(request, role, use_case)  # the party's own
    if srv == "8.11" and use_case is None:
        kind = (request.body.findtext(f"{{{SR}}}RequestType") or "").strip()
        use_case = {"Add": "CCS01", "Remove": "CCS02"}.get(kind)
    if srv == "6.13" and (use_case is None or use_case in _DEVICE_LOGS):  # which log
        kind = (request.body.findtext(f".//{{{SR}}}LogToRead") or "").strip()
        logs = _DEVICE_LOGS.get(use_case or "", LOG_USE_CASES)
        use_case = logs.get(kind, f"{use_case or 'ECS35'} for {kind or 'no'} log")
    if srv == "3.3" and (use_case is None or use_case.startswith("ECS15")):  # the ESME's log
        # or the ALCS's
        kind = (request.body.findtext(f".//{{{SR}}}ESMEEventLogType") or "").strip()
        use_case = {"ESME": "ECS15a", "ALCS": "ECS15c"}.get(kind, f"ECS15 for {kind or 'no'} log")
    if (
        srv == "8.9"
        and use_case in (None, "CCS06", "CCS05CCS04")  # the hub's, where the DSP names one
        and request.body.find(f".//{{{SR}}}ReadSecurityDetails") is not None
    ):
        use_case = "CCS07"  # the hub's security details (backup PAN): not built yet
    if srv == "6.5" and use_case in (None, "ECS29a", "ECS29b", "ECS29c", "ECS29d"):
        use_case = _voltage_use_case(request.body)
    if srv == "1.6" and (use_case is None or use_case[3:5] in ("02", "03")):
        use_case = _payment_mode_use_case(request.body, use_case)  # credit or prepayment
    if srv == "1.5" and (use_case is None or use_case.startswith(("GCS40", "ECS04"))):
        use_case = _balance_use_case(request.body, gas=(use_case or "").startswith("GCS"))
    if srv in ("6.15.1", "6.21") and use_case is None:  # whose credentials: the body's role
        use_case = _credentials_mode(request.body)[0]
    if srv == "6.24.1" and use_case is None:  # a Load Controller's among them: CS02f
        use_case = _details_use_case(request.body)
    candidates = [form for (s, name), form in FORMS.items() if s == srv]
    if use_case is not None:
        candidates = [form for form in candidates if form.use_case == use_case]
    if not candidates:
        raise TransformError(f"SRV {srv} as {use_case or 'any use case'} is not transformed")
    return candidates[0]


# --- several attributes at once, and resets ---------------------------------------------------


def _ecs16(body: etree._Element, counter: int) -> bytes:
    """3.4: the supplier's telephone number and name (the contact details' active values)."""
    _not_dsp_future_dated(body, "ECS16")
    specs = [cosem_spec("set", 9000, bytes.fromhex(code), 2)
             for code in ("0000600D00FF", "0000600D01FF")]  # fmt: skip
    data = [_item("octet-string", _required_text(body, n).encode())
            for n in ("SupplierTelephoneNumber", "SupplierName")]  # fmt: skip
    return access_request(counter, specs, data)


#: use case -> the registers or logs it resets (IC, OBIS), and for ECS57 the DUIS element
#: that names each (absent: not reset)
RESETS: dict[str, tuple[tuple[int, str, str | None], ...]] = {
    "ECS57": ((4, "0100010600FF", "MaxDemandActivePowerImportValue"),
              (4, "0100010601FF", "MaxDemandConfigTimeActivePowerImportValue"),
              (4, "0100020600FF", "MaxDemandActivePowerExportValue")),
    "ECS29e": ((3, "010020200004", None), (3, "010020240004", None)),
    "ECS28b": ((3, "00005E2C2AFF", None),),
    "ECS15a": ((7, "0000636200FF", None),),
    "ECS15c": ((7, "0011636202FF", None),),
}  # fmt: skip


def _reset(use_case: str) -> Callable[[etree._Element, int], bytes]:
    def build(body: etree._Element, counter: int) -> bytes:
        _not_dsp_future_dated(body, use_case)
        chosen = [(ic, code) for ic, code, element in RESETS[use_case]
                  if element is None or body.find(f".//{{{SR}}}{element}") is not None]  # fmt: skip
        if not chosen:
            raise TransformError(f"{use_case} names nothing to reset")
        specs = [cosem_spec("action", ic, bytes.fromhex(code), 1) for ic, code in chosen]
        return access_request(counter, specs, [_item("integer", 0) for _ in chosen])

    build.__doc__ = f"{use_case}: the reset method of what it names"
    return build


FORMS[("3.4", "ECS16")] = _Form("ECS16", _ecs16)
FORMS[("6.8", "ECS30a")] = _Form("ECS30a", _single_write("ECS30a"))
FORMS[("6.8", "ECS30")] = _Form("ECS30", _single_write("ECS30"))
FORMS[("7.12", "ECS38")] = _Form("ECS38", _single_write("ECS38"))
FORMS[("3.1", "ECS10")] = _Form("ECS10", _single_write("ECS10"))
FORMS[("3.3", "ECS15a")] = _Form("ECS15a", _reset("ECS15a"))
FORMS[("3.3", "ECS15c")] = _Form("ECS15c", _reset("ECS15c"))
FORMS[("6.18.2", "ECS57")] = _Form("ECS57", _reset("ECS57"))
FORMS[("6.27", "ECS29e")] = _Form("ECS29e", _reset("ECS29e"))
FORMS[("6.4.2", "ECS28b")] = _Form("ECS28b", _reset("ECS28b"))


# --- the logs (6.13) and profiles (4.4.4/5, 4.8.2/3): a profile's buffer by a range of time -----------------------------------

RESTRICTING_OBJECT = bytes.fromhex("00005E2C64FF")  # 0-0:94.44.100.255, seconds since 2000
#: use case -> the log it reads (IC 7, OBIS)
LOGS = {
    "ECS35a": "0000636200FF",
    "ECS35b": "0000636201FF",
    "ECS35e": "0000636204FF",
    "ECS35f": "0011636202FF",
    "ECS35g": "0011636202FF",
    # the billing data logs and profiles, read the same way
    "ECS20a": "0000620104FF",
    "ECS20d": "0000620105FF",  # 4.4.4 debt, 4.4.5 credits
    "ECS22c": "0000630102FF",
    "ECS22a": "0000630101FF",
}  # 4.8.2 reactive, 4.8.3 export
#: the Comms Hub Function's event and security logs (read as the ESME's, by the ACB)
CHF_LOGS = {"ECS35c": "0000636200FF", "ECS35d": "0000636201FF"}
#: the SRV of each log read (6.13 unless named)
LOG_SRVS = {"ECS20a": "4.4.4", "ECS20d": "4.4.5", "ECS22c": "4.8.2", "ECS22a": "4.8.3"}
#: DUIS LogToRead -> the use case an ESME reads it with (the newer ECS35g for the ALCS log)
LOG_USE_CASES = {"Event": "ECS35a", "Security": "ECS35b", "PowerEvent": "ECS35e",
                 "ALCSEvent": "ECS35g"}  # fmt: skip


def _time_range(start: int, end: int) -> Container:
    """A range descriptor on the log's time column (restricted by 0-0:94.44.100.255's value,
    seconds since 2000), every column."""
    restricting = _item("structure", ListContainer([
        _item("long-unsigned", 1), _item("octet-string", RESTRICTING_OBJECT),
        _item("integer", 2), _item("long-unsigned", 0)]))  # fmt: skip
    return _item("structure", ListContainer([
        restricting, _item("double-long-unsigned", start), _item("double-long-unsigned", end),
        _item("array", ListContainer([]))]))  # fmt: skip


def _log_read(use_case: str) -> Callable[[etree._Element, int], bytes]:
    log = LOGS.get(use_case) or CHF_LOGS[use_case]

    def build(body: etree._Element, counter: int) -> bytes:
        period = body.find(f".//{{{SR}}}ReadLogPeriod")
        if period is None:
            raise TransformError(f"{use_case} needs sr:ReadLogPeriod")
        start = _seconds_since_2000(_required_text(period, "StartDateTime"))
        end = _seconds_since_2000(_required_text(period, "EndDateTime"))
        if end < start:
            raise TransformError("the log period ends before it starts")
        selection = Container(selector=1, parameters=_time_range(start, end))
        specs = [cosem_spec("get_with_selection", 7, bytes.fromhex(log), 2,
                            selection)]  # fmt: skip
        return access_request(counter, specs, [_item("null-data", None)])

    build.__doc__ = f"{use_case}: read the log {log} over the request's period"
    return build


VOLTAGE_PROFILE = bytes.fromhex("0100201800FF")  # 1-0:32.24.0.255 average RMS voltage


def _ecs23(body: etree._Element, counter: int) -> bytes:
    """4.10 read network data: the RMS under- and over-voltage counters with their units, the
    average RMS voltage profile over the request's period, and its capture period."""
    _not_dsp_future_dated(body, "ECS23")
    period = body.find(f".//{{{SR}}}ReadLogPeriod")
    if period is None:
        raise TransformError("ECS23 needs sr:ReadLogPeriod")
    start = _seconds_since_2000(_required_text(period, "StartDateTime"))
    end = _seconds_since_2000(_required_text(period, "EndDateTime"))
    if end < start:
        raise TransformError("the log period ends before it starts")
    specs = [cosem_spec("get", 3, bytes.fromhex(code), attribute)
             for code in ("010020200004", "010020240004") for attribute in (2, 3)]  # fmt: skip
    specs.append(cosem_spec("get_with_selection", 7, VOLTAGE_PROFILE, 2,
                            Container(selector=1, parameters=_time_range(start, end))))  # fmt: skip
    specs.append(cosem_spec("get", 7, VOLTAGE_PROFILE, 4))
    return access_request(counter, specs, [_item("null-data", None) for _ in specs])


FORMS[("4.10", "ECS23")] = _Form("ECS23", _ecs23)

for _use_case in LOGS:
    FORMS[(LOG_SRVS.get(_use_case, "6.13"), _use_case)] = _Form(_use_case, _log_read(_use_case))
# the Comms Hub Function's event and security logs, read the same way by the ACB on the
# user's behalf (as RTDS's ECS35c/d)
for _use_case in CHF_LOGS:
    FORMS[("6.13", _use_case)] = _Form(_use_case, _log_read(_use_case), via_acb=True)


# --- the ESME's load switch (esme/supply.py) -------------------------------------------------

SUPPLY_SCRIPTS = bytes.fromhex("00000A006AFF")  # 0-0:10.0.106.255
#: use case -> the supply-state script it runs
SUPPLY_SELECTORS = {"ECS42": 51, "ECS43": 52, "ECS44": 54}  # enable, disable, arm


def _supply(use_case: str) -> Callable[[etree._Element, int], bytes]:
    selector = SUPPLY_SELECTORS[use_case]

    def build(body: etree._Element, counter: int) -> bytes:
        specs = [cosem_spec("action", 9, SUPPLY_SCRIPTS, 1)]
        return access_request(counter, specs, [_item("long-unsigned", selector)])

    build.__doc__ = f"{use_case}: execute supply-state script {selector}"
    return build


FORMS[("7.1", "ECS42")] = _Form("ECS42", _supply("ECS42"))
FORMS[("7.2", "ECS43")] = _Form("ECS43", _supply("ECS43"))
FORMS[("7.3", "ECS44")] = _Form("ECS44", _supply("ECS44"))


# --- the gas meter's clear reads: GBZ read-attributes (devices/gsme/) ----------------------

#: use case -> its components: (ZCL cluster, the attribute ids it reads), in RTDS's order
GBZ_READS: dict[str, tuple[tuple[int, tuple[int, ...]], ...]] = {
    "GCS38": ((0x0702, (0x0206,)),),  # 11.2 firmware version
    "GCS60": ((0x0702, (0x0A00,)), (0x0705, (0x0001,))),  # 4.18 meter balance
    "GCS60a": ((0x0702, (0x0A00,)), (0x0705, (0x0001,))),  # the same, reliable via the GPF
    "GCS21a": ((0x0700, (0x0306, 0x0305, 0x0304, 0x0303, 0x0302)),
               (0x0702, (0x0B13, 0x0B12, 0x0B11, 0x0B10, 0x0B14, 0x0B15))),  # 6.2.8
    "GCS21e": ((0x0000, (0x0004, 0x0005, 0x0003)), (0x0702, (0x0608, 0x0607))),  # 6.2.4
    "GCS21m": ((0x0000, (0x0004, 0x0005)), (0x0702, (0x0608, 0x0607))),  # 6.2.4, newer
    "GCS46": ((0x0702, (0x0307,)),),  # 6.2.7 MPRN
    "GCS21j": ((0x0705, (0x0000,)),),  # 6.2.9 payment mode
    "GCS33": ((0x0702, (0x0205, 0x0014)),),  # 7.4 valve status
    "GCS13a": ((0x0702, (0x0302, 0x0301, 0x0300, 0x0000)),),  # 4.1.1 registers (encrypted)
}  # fmt: skip
PROFILE_SMART_ENERGY = 0x0109


def _gbz_read(use_case: str) -> Callable[[etree._Element, int], bytes]:
    """A GBZ payload of clear ZCL read-attributes commands, one component per cluster
    (sequence numbers 0, 1, ... as RTDS's)."""
    reads = GBZ_READS[use_case]

    def build(body: etree._Element, counter: int) -> bytes:
        _not_dsp_future_dated(body, use_case)
        components = ListContainer(
            Container(
                control=Container(last_component=n == len(reads) - 1, encrypted=False,
                                  from_date_time=False, reserved=0),
                cluster_id=cluster,
                body=Container(from_date_time=None, encrypted_frame=None, frame=Container(
                    frame_control=Container(frame_type="profile_wide",
                                            manufacturer_specific=False,
                                            direction="client_to_server",
                                            disable_default_response=False, reserved=0),
                    manufacturer_code=None, sequence=n, command_id=0,
                    payload=Container(command="read_attributes",
                                      attribute_ids=ListContainer(attributes)))),
            )
            for n, (cluster, attributes) in enumerate(reads)
        )  # fmt: skip
        payload = Container(profile=PROFILE_SMART_ENERGY, component_count=len(reads),
                            components=components)  # fmt: skip
        return encode_payload("gbz", payload)

    build.__doc__ = f"{use_case}: GBZ read-attributes"
    return build


for _use_case, _srv in (("GCS38", "11.2"), ("GCS60", "4.18"), ("GCS60a", "4.18"),
                        ("GCS21a", "6.2.8"), ("GCS21m", "6.2.4"), ("GCS21e", "6.2.4"),
                        ("GCS46", "6.2.7"), ("GCS21j", "6.2.9"), ("GCS33", "7.4"),
                        ("GCS13a", "4.1.1")):  # fmt: skip
    FORMS[(_srv, _use_case)] = _Form(_use_case, _gbz_read(_use_case))


#: the device types each form is for, where an SRV's forms differ by the target's type: by
#: use-case name, ECS… an ESME's, GCS… a GSME's or GPF's, CCS… the hub's; and these
DEVICES_OF = {"ECS26n": ("chf",), "ECS26i": ("chf",), "ECS52": ("esme", "chf"),
              "CS08": ("ppmid", "hcalcs"),
              "GCS60a": ("gpf", "gsme"), "GCS13a": ("gpf", "gsme"), "GCS60": ("gsme",), "GCS38": ("gsme",),
              "GCS21a": ("gsme",), "GCS21e": ("gsme",), "GCS21m": ("gsme",),
              "GCS46": ("gsme",), "GCS21j": ("gsme",), "GCS33": ("gsme",)}  # fmt: skip
_BY_PREFIX = (("CCS", ("chf",)), ("ECS", ("esme",)), ("GCS", ("gsme", "gpf")))


def devices_of(use_case: str) -> tuple[str, ...] | None:
    """The device types a use case is for (None: any, e.g. the CS… common ones)."""
    if use_case in DEVICES_OF:
        return DEVICES_OF[use_case]
    return next((kinds for prefix, kinds in _BY_PREFIX if use_case.startswith(prefix)), None)


def use_case_for(srv: str, device_type: str) -> str | None:
    """The use case the DSP sends SRV `srv` as to a device of `device_type` (gbcs.asn1
    names): the first form of the SRV for that type. None when the SRV has no form for it,
    or none at all (the caller refuses such a request rather than send another device's
    use case)."""
    for (s, _name), form in FORMS.items():
        kinds = devices_of(form.use_case)
        if s == srv and (kinds is None or device_type in kinds):
            return form.use_case
    return None


#: SRVs whose body picks among an ESME's several forms (6.13 the log, 3.3 the log cleared),
#: though other devices have forms of their own
_ESME_BODY_DECIDES = ("6.13", "3.3")


def device_use_case(srv: str, device_type: str) -> str | None:
    """What the DSP passes `transform` as the use case for SRV `srv` to a device of
    `device_type` once the device pair has not decided: None where every form of the SRV
    serves that type (the request's body then decides, as 6.13's log or 8.11's Add/Remove),
    the type's own use case where the SRV's forms differ by device type (a gas 6.2.4 a
    GSME's, 6.2.4 to the hub the hub's), and a name no form has where none serves the type
    (refused E11, never another device's command)."""
    forms = [form for (s, _name), form in FORMS.items() if s == srv]
    ours = [f for f in forms if (k := devices_of(f.use_case)) is None or device_type in k]
    if len(ours) == len(forms) or (device_type == "esme" and srv in _ESME_BODY_DECIDES):
        return None
    return ours[0].use_case if ours else f"none for a {device_type}"


def transform(
    request: Request,
    *,
    use_case: str | None = None,
    acb: AcbContext | None = None,
    partner: JoinPartner | None = None,
    now: _dt.datetime | None = None,
    role: str | None = None,
    restore: HubBackup | GpfBackup | None = None,
) -> Transformed:
    """The GBCS command for a request. `use_case` picks the form where the devices decide
    (8.7.x, 8.8.2, 11.2); `acb` is needed for the forms the DCC sends as ACB, `partner` for
    joins; `now` is the DSP's time for commands that carry it (the gas commands' issuer
    event ids; default the wall clock); `role` the sender's DUIS role where it picks the use
    case (6.2.10: whose alert behaviours are read); `restore` the replaced hub's or GPF's
    device log backup (8.12.1, 8.12.2)."""
    form = _choose(request, use_case, role)
    rid = request.request_id
    # an unknown remote party's read: the ACB sends it, naming that party and its certificate
    remote = _remote_party(request.body) if getattr(form.build, "remote_party", False) else None
    via_acb = form.via_acb or remote is not None
    srp: bytes | None
    srp_counter: int | None
    if via_acb:
        if acb is None:
            raise TransformError(f"{form.use_case} is sent by the ACB: give its EUI and counter")
        originator, counter = form.originator or acb.eui, acb.counter
        srp, srp_counter = rid.originator if remote is None else remote[0], rid.counter
        if form.acb_own:  # 6.21: the ACB authorises it as the role's party (RTDS's header)
            srp, srp_counter = None, None
    else:
        originator, counter, srp, srp_counter = rid.originator, rid.counter, None, None
    case = by_name(form.use_case)
    header = Container(
        tag=b"\xdf",
        transaction_id=Container(cra=COMMAND, counter=counter),
        originator=originator,
        target=rid.target,
        date_time=None,
        other_information=Container(
            message_code=case.code,
            supplementary_remote_party=srp,
            supplementary_remote_party_counter=srp_counter,
            supplementary_originator_counter=None,
            certificate=b"" if remote is None else remote[1],
        ),
    )
    if form.build is _cs03:
        content = _cs03(request.body, form.use_case, partner)
    elif form.build is _ccs03:  # 8.12.1: `restore`, the replaced hub's device log
        content = _ccs03(request.body, counter, restore)
    elif form.build is _gcs59:  # 8.12.2: `restore`, the replaced GPF's device log
        content = _gcs59(request.body, counter, restore)
    elif getattr(form.build, "wants_now", False):
        content = form.build(request.body, counter, now or _dt.datetime.now(_dt.UTC))
    elif getattr(form.build, "wants_request", False):  # the request's ids are in the content
        content = form.build(request, counter)
    else:
        content = form.build(request.body, counter)
    return Transformed(case, header, content, via_acb)


class SignedPreCommandRefused(EmulatorError, ValueError):
    """A variant 5 `SignedPreCommand` that is not the pre-command the DSP issued, signed by
    the user: changed bytes, no signature, or a signature no key of the user verifies."""

    code = ResponseCode.XML_SIGNATURE_FAILED


def check_signed_precommand(issued: bytes, signed: bytes, public_keys) -> None:
    """The user may add a signature to the pre-command the DSP returned, nothing else:
    the signed APDU's bytes up to its signature must equal `issued`, and one of the user's
    GBCS signing keys (`public_keys`, e.g. Keystore.ds_public_keys entries) must verify it."""
    try:
        layout = apdu_layout(signed)
    except GbcsError as exc:
        raise SignedPreCommandRefused(f"not a GBCS APDU: {exc}") from None
    if not layout.signature:
        raise SignedPreCommandRefused("the pre-command carries no signature")
    if signed[: layout.content_end] != issued[: apdu_layout(issued).content_end]:
        raise SignedPreCommandRefused("the signed pre-command differs from the one issued")
    for key in public_keys:
        try:
            verify_apdu(signed, getattr(key, "public_key", key))
            return
        except GbcsError:
            continue
    raise SignedPreCommandRefused("no signing key of the user verifies the pre-command")


# --- prepayment: 2.3 Update Debt (ECS07) -------------------------------------------------------

DEBTS = tuple(bytes.fromhex(f"00001314{n:02X}FF") for n in (1, 2, 3))  # 0-0:19.20.n.255
DEBT_PERIODS = {"DAILY": 86400, "HOURLY": 3600}


def _unit_charge(recovery: etree._Element) -> Container:
    """A time-based debt's passive unit charge: scaling (commodity 0, the rate's price scale),
    no commodity reference, one charge-table entry of the rate."""
    scale = int(_required_text(recovery, "DebtRecoveryRatePriceScale"))
    rate = int(_required_text(recovery, "DebtRecoveryRate"))
    return _item("structure", ListContainer([
        _item("structure", ListContainer([_item("integer", 0), _item("integer", scale)])),
        _item("structure", ListContainer([_item("long-unsigned", 0),
                                          _item("octet-string", bytes(6)),
                                          _item("integer", 0)])),
        _item("array", ListContainer([_item("structure", ListContainer([
            _item("octet-string", b""), _item("long", rate)]))])),
    ]))  # fmt: skip


def _ecs07(body: etree._Element, counter: int) -> bytes:
    """2.3: the two time-based debts' recovery rates (passive, then activated) and periods,
    the payment-based debt's recovery per payment, and an adjustment of each debt's total."""
    update = body  # sr:UpdateDebt
    recoveries = [_one(update, f"ElecDebtRecovery{n}") for n in (1, 2)]
    periods = []
    for recovery in recoveries:
        text = _required_text(recovery, "DebtRecoveryRatePeriod").strip()
        if text not in DEBT_PERIODS:
            raise TransformError(f"DebtRecoveryRatePeriod {text!r} is not DAILY or HOURLY")
        periods.append(DEBT_PERIODS[text])
    time1, time2, payment = DEBTS
    specs = [cosem_spec("set", 113, time1, 6), cosem_spec("set", 113, time2, 6),
             cosem_spec("set", 113, payment, 13), cosem_spec("set", 113, time1, 8),
             cosem_spec("set", 113, time2, 8), cosem_spec("action", 113, time1, 2),
             cosem_spec("action", 113, time2, 2), cosem_spec("action", 113, payment, 4),
             cosem_spec("action", 113, time1, 4), cosem_spec("action", 113, time2, 4)]  # fmt: skip
    data = [
        *(_unit_charge(r) for r in recoveries),
        _item("long-unsigned", int(_required_text(update, "DebtRecoveryPerPayment"))),
        *(_item("double-long-unsigned", p) for p in periods),
        _item("integer", 0), _item("integer", 0),
        *(_item("double-long", int(_required_text(update, name)))
          for name in ("PaymentDebtRegister", "TimeDebtRegister1", "TimeDebtRegister2")),
    ]  # fmt: skip
    return access_request(counter, specs, data)


FORMS[("2.3", "ECS07")] = _Form("ECS07", _ecs07)


EMERGENCY_CREDIT = bytes.fromhex("0000130A01FF")  # 0-0:19.10.1.255


def _ecs09(body: etree._Element, counter: int) -> bytes:
    """2.5: invoke the emergency credit (Credit method 3, data 0)."""
    specs = [cosem_spec("action", 112, EMERGENCY_CREDIT, 3)]
    return access_request(counter, specs, [_item("integer", 0)])


FORMS[("2.5", "ECS09")] = _Form("ECS09", _ecs09)


METER_BALANCE = bytes.fromhex("0000130A00FF")  # 0-0:19.10.0.255 the accounting credit


def _ecs04a(body: etree._Element, counter: int) -> bytes:
    """1.5 in prepayment mode: adjust the meter balance (Credit method 1 update_amount)."""
    mode = _one(body, "PrepaymentMode")
    amount = int(_required_text(mode, "AdjustMeterBalance"))
    specs = [cosem_spec("action", 112, METER_BALANCE, 1)]
    return access_request(counter, specs, [_item("double-long", amount)])


FORMS[("1.5", "ECS04a")] = _Form("ECS04a", _ecs04a)


# --- the gas meter's commands: ZCL cluster commands inside GBZ (devices/gsme/) ---------------

#: ZCL clusters (SE 1.4: 0x0702, 0x0703, 0x0705, 0x0708) the gas commands go to, by the
#: names the codec's cluster command tables have
METERING, MESSAGING, PREPAYMENT = "metering", "messaging", "prepayment"
DEVICE_MANAGEMENT = "device_management"
#: who serves each cluster on the meter: the meter serves metering and prepayment (the
#: Supplier's commands go client to server), the Supplier serves messaging, device
#: management and price (its commands go server to client; its reads, get_…, client to
#: server), as RTDS's commands have it
_TO_SERVER = {METERING, PREPAYMENT, "events"}
#: the constant fields RTDS's gas commands carry (GBCS's values for the ZCL fields DUIS does
#: not set): a change of tenancy "restrict access" control, a change of supplier control, the
#: password a 3.5 resets (the consumer's PIN)
TENANCY_CHANGE_CONTROL = 0x0200
SUPPLIER_CHANGE_CONTROL = 0x1800
PIN_PASSWORD = 2
NO_END = 0xFFFF  # a display message's duration: until replaced
#: change_supply's proposed supply status (ZCL SupplyStatus): off, armed, on
SUPPLY_OFF, SUPPLY_ARMED = 0, 1
#: credit_adjustment's type: prepayment mode incremental / absolute, credit mode absolute /
#: incremental (GCS40a/b and GCS40d/c in RTDS)
PREPAY_ADJUST, PREPAY_RESET, CREDIT_RESET, CREDIT_ADJUST = 0, 1, 2, 3
#: change_debt: recovery method (time / payment based), amount type (debt n incremental),
#: frequency of a DUIS DebtRecoveryRatePeriod
TIME_BASED, PAYMENT_BASED = 0, 1
DEBT_INCREMENTAL = {1: 1, 2: 3, 3: 5}
RECOVERY_FREQUENCY = {"HOURLY": 0, "DAILY": 1}

GasCommand = tuple[str, int, Container]  # cluster, command id, payload


def _gas_display_message(body: etree._Element, event: int) -> list[GasCommand]:
    """3.1: the supplier's message, shown from now until replaced; its id is the event id."""
    text = _required_text(body, "SupplierMessage").encode()
    return [(MESSAGING, 0x00, Container(command="display_message", message_id=event,
                                        message_control=0, start_time=0,
                                        duration_in_minutes=NO_END, message=text,
                                        extended_message_control=None))]  # fmt: skip


def _gas_tenancy(body: etree._Element, event: int) -> list[GasCommand]:
    """3.2: restrict access to data before the change of tenancy date-time."""
    when = _seconds_since_2000(_required_text(body, "RestrictionDateTime"))
    return [(DEVICE_MANAGEMENT, 0x00, Container(
        command="publish_change_of_tenancy", provider_id=0, issuer_event_id=event,
        tariff_type=0, implementation_date_time=when,
        proposed_tenancy_change_control=TENANCY_CHANGE_CONTROL))]  # fmt: skip


def _gas_supplier(body: etree._Element, event: int) -> list[GasCommand]:
    """3.4: the supplier's name and telephone number, from now."""
    return [(DEVICE_MANAGEMENT, 0x01, Container(
        command="publish_change_of_supplier", current_provider_id=0, issuer_event_id=event,
        tariff_type=0, proposed_provider_id=0, provider_change_implementation_time=0,
        provider_change_control=SUPPLIER_CHANGE_CONTROL,
        proposed_provider_name=_required_text(body, "SupplierName").encode(),
        proposed_provider_contact_details=_required_text(
            body, "SupplierTelephoneNumber").encode()))]  # fmt: skip


def _gas_pin(body: etree._Element, event: int) -> list[GasCommand]:
    """3.5: disable the privacy PIN (a new-password response for the PIN, now)."""
    return [(DEVICE_MANAGEMENT, 0x02, Container(
        command="request_new_password_response", issuer_event_id=event,
        implementation_date_time=0, duration_in_minutes=0, password_type=PIN_PASSWORD,
        password=b""))]  # fmt: skip


def _gas_mprn(body: etree._Element, event: int) -> list[GasCommand]:
    """6.20.1: the meter's MPRN (its site id), from now."""
    mprn = _required_text(body, "ImportMPRN").strip()
    if not mprn.isdigit():
        raise TransformError(f"6.20.1 MPRN {mprn!r} is not numeric")
    return [(DEVICE_MANAGEMENT, 0x03, Container(
        command="update_site_id", issuer_event_id=event, site_id_time=0, provider_id=0,
        site_id=mprn.encode("ascii")))]  # fmt: skip


def _gas_supply(status: int) -> Callable[[etree._Element, int], list[GasCommand]]:
    def build(body: etree._Element, event: int) -> list[GasCommand]:
        return [(METERING, 0x0B, Container(
            command="change_supply", provider_id=0, issuer_event_id=event,
            request_date_time=0, implementation_date_time=0, proposed_supply_status=status,
            supply_control_bits=1))]  # fmt: skip

    build.__doc__ = f"7.2 / 7.3: change the valve to supply status {status}, now"
    return build


def _gas_emergency_credit(body: etree._Element, event: int) -> list[GasCommand]:
    """2.5: select the emergency credit available (on the Supplier's behalf)."""
    return [(PREPAYMENT, 0x00, Container(command="select_available_emergency_credit",
                                         command_issue_date_time=0, originating_device=0))]  # fmt: skip


def _gas_debt(body: etree._Element, event: int) -> list[GasCommand]:
    """2.3: add to the two time-based debts (recovered at a rate per hour or day) and the
    payment-based debt (recovered as a share of each payment), each a change_debt."""
    commands = []
    for n in (1, 2):
        recovery = _one(body, f"GasDebtRecovery{n}")
        period = _required_text(recovery, "DebtRecoveryRatePeriod").strip()
        if period not in RECOVERY_FREQUENCY:
            raise TransformError(f"DebtRecoveryRatePeriod {period!r} is not DAILY or HOURLY")
        commands.append((n, TIME_BASED, int(_required_text(body, f"TimeDebtRegister{n}")),
                         RECOVERY_FREQUENCY[period],
                         int(_required_text(recovery, "DebtRecoveryRate")), 0))  # fmt: skip
    commands.append((3, PAYMENT_BASED, int(_required_text(body, "PaymentDebtRegister")),
                     RECOVERY_FREQUENCY["DAILY"], 0,
                     int(_required_text(body, "DebtRecoveryPerPayment"))))  # fmt: skip
    return [(PREPAYMENT, 0x02, Container(
        command="change_debt", issuer_event_id=event, debt_label=b"", debt_amount=amount,
        debt_recovery_method=method, debt_amount_type=DEBT_INCREMENTAL[n],
        debt_recovery_start_time=0, debt_recovery_collection_time=0,
        debt_recovery_frequency=frequency, debt_recovery_amount=rate,
        debt_recovery_balance_percentage=share))
        for n, method, amount, frequency, rate, share in commands]  # fmt: skip


def _gas_balance(body: etree._Element, event: int) -> list[GasCommand]:
    """1.5: adjust (by AdjustMeterBalance) or reset the prepayment or credit mode balance."""
    mode = body.find(f"{{{SR}}}PrepaymentMode")
    prepayment = mode is not None
    if mode is None:
        mode = _one(body, "CreditMode")
    adjust = _text(mode, "AdjustMeterBalance")
    if adjust is None:
        _one(mode, "ResetMeterBalance")
        kind, value = (PREPAY_RESET if prepayment else CREDIT_RESET), 0
    else:
        kind, value = (PREPAY_ADJUST if prepayment else CREDIT_ADJUST), int(adjust)
    return [(PREPAYMENT, 0x05, Container(command="credit_adjustment", issuer_event_id=event,
                                         start_time=0, credit_adjustment_type=kind,
                                         credit_adjustment_value=value))]  # fmt: skip


def _gas_command(
    use_case: str,
    commands: Callable[[etree._Element, int], list[GasCommand]],
    device_dated: bool = False,
) -> Callable[..., bytes]:
    """The builder of a GBZ payload of clear ZCL cluster commands, one component each
    (sequence numbers 0, 1, ... as RTDS's). Their issuer event id is the DSP's time in
    seconds since 2000 when it builds the command, `now` (RTDS's: 2015-01-01, its test
    time). `device_dated`: the body's ExecutionDateTime is the meter's start time (1.2.1),
    not a request for the DSP to hold."""

    def build(body: etree._Element, counter: int, now: _dt.datetime) -> bytes:
        if not device_dated:
            _not_dsp_future_dated(body, use_case)
        event = datetime_to_seconds2000(now)
        built = commands(body, event)
        components = ListContainer(
            Container(
                control=Container(last_component=n == len(built) - 1, encrypted=False,
                                  from_date_time=False, reserved=0),
                cluster_id=cluster,
                body=Container(from_date_time=None, encrypted_frame=None, frame=Container(
                    frame_control=Container(
                        frame_type="cluster_specific", manufacturer_specific=False,
                        direction="client_to_server"
                        if cluster in _TO_SERVER
                        or (payload.command.startswith("get_") and cluster != DEVICE_MANAGEMENT)
                        else "server_to_client",
                        disable_default_response=False, reserved=0),
                    manufacturer_code=None, sequence=n, command_id=command_id,
                    payload=payload)),
            )
            for n, (cluster, command_id, payload) in enumerate(built)
        )  # fmt: skip
        return encode_payload("gbz", Container(profile=PROFILE_SMART_ENERGY,
                                               component_count=len(built),
                                               components=components))  # fmt: skip

    build.__doc__ = f"{use_case}: {commands.__doc__}"
    build.wants_now = True  # type: ignore[attr-defined]
    return build


GENERAL_EVENT_LOG, SECURITY_EVENT_LOG = 3, 4  # ZCL log ids: GBCS's Event and Security Logs


def _event_log(log_id: int) -> Callable[[etree._Element, int], list[GasCommand]]:
    def build(body: etree._Element, event: int) -> list[GasCommand]:
        period = body.find(f".//{{{SR}}}ReadLogPeriod")
        if period is None:
            raise TransformError("a log read needs sr:ReadLogPeriod")
        start = _seconds_since_2000(_required_text(period, "StartDateTime"))
        end = _seconds_since_2000(_required_text(period, "EndDateTime"))
        if end < start:
            raise TransformError("the log period ends before it starts")
        return [("events", 0x00, Container(
            command="get_event_log", event_control_log_id=log_id, event_id=0, start_time=start,
            end_time=end, number_of_events=0, event_offset=0))]  # fmt: skip

    build.__doc__ = f"6.13: every event of ZCL log {log_id} in the request's period"
    return build


def _clear_event_log(body: etree._Element, event: int) -> list[GasCommand]:
    """3.3: clear the event log (the security log is never cleared remotely)."""
    return [("events", 0x01, Container(command="clear_event_log_request",
                                       log_id=GENERAL_EVENT_LOG))]  # fmt: skip


#: DUIS Periodicity -> (billing period duration, its ZCL duration type: 0x2_ timebase not
#: specified, 0x_1 days, 0x_2 weeks, 0x_3 months; RTDS's Monthly and SixMonthly are months)
BILLING_PERIODS = {"Daily": (1, 0x21), "Weekly": (1, 0x22), "Monthly": (1, 0x23),
                   "Quarterly": (3, 0x23), "SixMonthly": (6, 0x23), "Yearly": (12, 0x23)}  # fmt: skip
BLOCK_PERIOD_CONTROL = 2  # RTDS's: the block period repeats
PUBLISH_BILLING_PERIOD, PUBLISH_BLOCK_PERIOD, GET_BILLING_PERIOD = 0x09, 0x01, 0x0B


def _gas_billing_calendar(body: etree._Element, event: int) -> list[GasCommand]:
    """6.8: the billing period from BillingPeriodStart with the Periodicity, and the block
    period with it."""
    calendar = _one(body, "GasBillingCalendar")
    start = _seconds_since_2000(_required_text(calendar, "BillingPeriodStart"))
    periodicity = _required_text(calendar, "Periodicity").strip()
    if periodicity not in BILLING_PERIODS:
        raise TransformError(f"billing periodicity {periodicity!r} is not one of DUIS's")
    duration, kind = BILLING_PERIODS[periodicity]
    return [
        ("price", PUBLISH_BILLING_PERIOD, Container(
            command="publish_billing_period", provider_id=0, issuer_event_id=event,
            billing_period_start_time=start, billing_period_duration=duration,
            billing_period_duration_type=kind, tariff_type=0)),
        ("price", PUBLISH_BLOCK_PERIOD, Container(
            command="publish_block_period", provider_id=0, issuer_event_id=event,
            block_period_start_time=start, block_period_duration=duration,
            block_period_control=BLOCK_PERIOD_CONTROL, block_period_duration_type=kind,
            tariff_type=0, tariff_resolution_period=1)),
    ]  # fmt: skip


def _gas_read_billing_calendar(body: etree._Element, event: int) -> list[GasCommand]:
    """6.2.3: the current billing period (the latest one, whatever its issuer event id)."""
    return [("price", GET_BILLING_PERIOD, Container(
        command="get_billing_period", earliest_start_time=0,
        minimum_issuer_event_id=0xFFFFFFFF, number_of_commands=1, tariff_type=0))]  # fmt: skip


def _decimal(text: str) -> tuple[int, int]:
    """A DUIS decimal as ZCL carries it: the digits as an integer, and the trailing digit
    byte (the digits right of the point in its high nibble), as RTDS's 1.02264 -> 102264, 0x50."""
    text = text.strip()
    whole, _, fraction = text.partition(".")
    if not (whole + fraction).isdigit() or len(fraction) > 15:
        raise TransformError(f"{text!r} is not a decimal number")
    return int(whole + fraction), len(fraction) << 4


def _gas_conversion(body: etree._Element, event: int) -> list[GasCommand]:
    """6.6: the conversion factor and the calorific value (MJ/m3: unit 1), from now."""
    factor, factor_digits = _decimal(_required_text(body, "ConversionFactor"))
    value, value_digits = _decimal(_required_text(body, "CalorificValue"))
    return [
        ("price", 0x02, Container(command="publish_conversion_factor", issuer_event_id=event,
                                  start_time=0, conversion_factor=factor,
                                  conversion_factor_trailing_digit=factor_digits)),
        ("price", 0x03, Container(command="publish_calorific_value", issuer_event_id=event,
                                  start_time=0, calorific_value=value, calorific_value_unit=1,
                                  calorific_value_trailing_digit=value_digits)),
    ]  # fmt: skip


#: DUIS SupplyTamperState / SupplyDepletionState -> ZCL set_supply_status (SE 1.4: 0 supply
#: off, 3 unchanged; DUIS's Locked: the supply is turned off and locked on the event)
SUPPLY_STATE = {"Unchanged": 3, "Locked": 0}
FLOW_DIVISOR = 10000  # UncontrolledGasFlowRateDecimal has four decimals (RTDS: 6.1680)


def _gas_flow(body: etree._Element, event: int) -> list[GasCommand]:
    """6.7: the uncontrolled gas flow threshold (m3/h: unit 1) with its stabilisation and
    measurement periods, and the supply tamper and depletion states."""
    decimal = _text(body, "UncontrolledGasFlowRateDecimal")
    if decimal is not None:
        whole, _, fraction = decimal.partition(".")
        threshold, divisor = (
            int(whole) * FLOW_DIVISOR + int(fraction.ljust(4, "0")[:4]),
            FLOW_DIVISOR,
        )
    else:
        threshold, divisor = int(_required_text(body, "UncontrolledGasFlowRate")), 1
    if not 0 <= threshold <= 0xFFFF:
        raise TransformError(f"uncontrolled gas flow rate {threshold} is out of range")
    states = [_required_text(body, n).strip() for n in ("SupplyTamperState",
                                                         "SupplyDepletionState")]  # fmt: skip
    if any(state not in SUPPLY_STATE for state in states):
        raise TransformError(f"supply states {states} are not Unchanged or Locked")
    tamper, depletion = (SUPPLY_STATE[state] for state in states)
    return [
        ("metering", 0x0E, Container(
            command="set_uncontrolled_flow_threshold", provider_id=0, issuer_event_id=event,
            uncontrolled_flow_threshold=threshold, unit_of_measure=1, multiplier=1,
            divisor=divisor, stabilisation_period=int(_required_text(body, "StabilisationPeriod")),
            measurement_period=int(_required_text(body, "MeasurementPeriod")))),
        ("metering", 0x0D, Container(
            command="set_supply_status", issuer_event_id=event, supply_tamper_state=tamper,
            supply_depletion_state=depletion, supply_uncontrolled_flow_state=0,
            load_limit_supply_state=3)),
    ]  # fmt: skip


#: use case -> (SRV, what its commands are); every one the GSME's but 3.2's, the GPF's
GAS_COMMANDS: dict[str, tuple[str, Callable[[etree._Element, int], list[GasCommand]]]] = {
    "GCS07": ("3.1", _gas_display_message),
    "GCS09": ("3.2", _gas_tenancy),
    "GCS44": ("3.4", _gas_supplier),
    "GCS11": ("3.5", _gas_pin),
    "GCS41": ("6.20.1", _gas_mprn),
    "GCS32": ("7.2", _gas_supply(SUPPLY_OFF)),
    "GCS39": ("7.3", _gas_supply(SUPPLY_ARMED)),
    "GCS06": ("2.5", _gas_emergency_credit),
    "GCS04": ("2.3", _gas_debt),
    "GCS40a": ("1.5", _gas_balance),
    "GCS40b": ("1.5", _gas_balance),
    "GCS40c": ("1.5", _gas_balance),
    "GCS40d": ("1.5", _gas_balance),
    # the ZigBee device's logs (CS10a/b: DUIS LogToRead picks; CS11 clears)
    "CS10a": ("6.13", _event_log(GENERAL_EVENT_LOG)),
    "CS10b": ("6.13", _event_log(SECURITY_EVENT_LOG)),
    "CS11": ("3.3", _clear_event_log),
    # the billing calendar (the newer "all periodicities" use cases first)
    "GCS25a": ("6.8", _gas_billing_calendar),
    "GCS25": ("6.8", _gas_billing_calendar),
    "GCS21k": ("6.2.3", _gas_read_billing_calendar),
    "GCS21d": ("6.2.3", _gas_read_billing_calendar),
    # the gas configuration (6.2.8's GCS21a reads it)
    "GCS23": ("6.6", _gas_conversion),
    "GCS24a": ("6.7", _gas_flow),
}


for _use_case, (_srv, _commands) in GAS_COMMANDS.items():
    FORMS[(_srv, _use_case)] = _Form(_use_case, _gas_command(_use_case, _commands))
    DEVICES_OF[_use_case] = ("gpf",) if _use_case == "GCS09" else ("gsme",)
DEVICES_OF.update({"ECS35c": ("chf",), "ECS35d": ("chf",)})


# --- GCS28 set the gas meter's clock (6.11, 8.1.1): ASN.1 -------------------------------------


def _generalized(when: _dt.datetime) -> str:
    return when.astimezone(_dt.UTC).strftime("%Y%m%d%H%M%SZ")


def _gcs28(body: etree._Element, counter: int) -> bytes:
    """GCS28: the validity interval, the body's CurrentDateTime to TolerancePeriod seconds
    later, as two GeneralizedTimes in a SEQUENCE (RTDS's layout)."""
    start = _utc(_required_text(body, "CurrentDateTime"))
    try:
        tolerance = int(_required_text(body, "TolerancePeriod"))
    except ValueError:
        raise TransformError("GCS28's TolerancePeriod is not a whole number of seconds") from None
    if tolerance < 0:
        raise TransformError(f"GCS28's TolerancePeriod {tolerance} is negative")
    end = start + _dt.timedelta(seconds=tolerance)
    return asn1.encode_tree(asn1.sequence(asn1.generalized_time(_generalized(start)),
                                          asn1.generalized_time(_generalized(end))))  # fmt: skip


FORMS[("6.11", "GCS28")] = _Form("GCS28", _gcs28)
FORMS[("8.1.1", "GCS28")] = _Form("GCS28", _gcs28)
DEVICES_OF["GCS28"] = ("gsme",)


# --- the gas meter's sampled data (4.8.1 GCS17, 4.10 GCS18): Metering get_sampled_data ------

#: use case -> (SRV, ZCL sample id, seconds between samples, whether the DSP asks for the
#: most recent samples: GCS18's earliest sample time 0x00000001, as RTDS's)
GAS_SAMPLED: dict[str, tuple[str, int, int, bool]] = {
    "GCS17": ("4.8.1", 0, 1800, False),  # the half-hour consumption profile
    "GCS18": ("4.10", 2, 360, True),  # the gas network data log, every 6 minutes
}
MOST_RECENT_SAMPLES = 1


def _gas_sampled(use_case: str) -> Callable[[etree._Element, int], list[GasCommand]]:
    _srv, sample_id, step, most_recent = GAS_SAMPLED[use_case]

    def build(body: etree._Element, event: int) -> list[GasCommand]:
        period = body.find(f".//{{{SR}}}ReadLogPeriod")
        if period is None:
            raise TransformError(f"{use_case} needs sr:ReadLogPeriod")
        start = _seconds_since_2000(_required_text(period, "StartDateTime"))
        end = _seconds_since_2000(_required_text(period, "EndDateTime"))
        if end < start:
            raise TransformError("the log period ends before it starts")
        count = (end - start) // step + 1  # both ends' samples, as RTDS's 97 over two days
        if count > 0xFFFF:
            raise TransformError(f"{use_case}: {count} samples are more than one read asks")
        return [(METERING, 0x08, Container(
            command="get_sampled_data", sample_id=sample_id,
            earliest_sample_time=MOST_RECENT_SAMPLES if most_recent else start, sample_type=0,
            number_of_samples=count))]  # fmt: skip

    build.__doc__ = f"{use_case}: the samples of log {sample_id} over the request's period"
    return build


for _use_case, (_srv, *_rest) in GAS_SAMPLED.items():
    FORMS[(_srv, _use_case)] = _Form(_use_case, _gas_command(_use_case, _gas_sampled(_use_case)))
    DEVICES_OF[_use_case] = ("gsme",)


# --- the gas meter's event and alert behaviours: 6.2.10 (GCS20r) reads, 6.22 (GCS20) sets ----

GAS_EVENT_GROUP = 0x81FF  # get_event_configuration: every event of group 0x81, as RTDS's
#: a DUIS alert setting's flags -> the ZCL event configuration's bits (EventLog: the event log)
ALERT_FLAGS = {"EventLog": 0x03, "WANAlert": 0x08, "HANAlert": 0x10, "Alarm": 0x40}


def _gas_read_alert_behaviours(body: etree._Element, event: int) -> list[GasCommand]:
    """6.2.10: the configuration of every event the Supplier configures."""
    return [(DEVICE_MANAGEMENT, 0x05, Container(command="get_event_configuration",
                                                event_id=GAS_EVENT_GROUP))]  # fmt: skip


def _gas_alert_behaviours(body: etree._Element, event: int) -> list[GasCommand]:
    """6.22: one set_event_configuration per configuration the settings name, its events in
    ascending order; the configurations in RTDS's order (fitted to RTDS's one example): WAN
    alerts first, then HAN alerts, then by value."""
    settings = _one(body, "GasSupplierAlertEventSettings")
    groups: dict[int, list[int]] = {}
    for node in settings:
        if not isinstance(node.tag, str):  # a comment
            continue
        name = etree.QName(node).localname
        try:
            event_id = int(name.removeprefix("x"), 16)
        except ValueError:
            raise TransformError(f"sr:{name} names no event") from None
        configuration = 0
        for flag, bits in ALERT_FLAGS.items():
            value = _required_text(node, flag).strip()
            if value not in ("Enable", "Disable"):
                raise TransformError(f"sr:{name}'s {flag} {value!r} is not Enable or Disable")
            configuration |= bits if value == "Enable" else 0
        groups.setdefault(configuration, []).append(event_id)
    if not groups:
        raise TransformError("6.22 names no event")
    order = sorted(groups, key=lambda c: (not c & 0x08, not c & 0x10, c))
    return [(DEVICE_MANAGEMENT, 0x04, Container(
        command="set_event_configuration", issuer_event_id=event, start_date_time=0,
        event_configuration=configuration, configuration_control=0,
        configuration=Container(event_ids=sorted(groups[configuration]))))
        for configuration in order]  # fmt: skip


FORMS[("6.2.10", "GCS20r")] = _Form("GCS20r", _gas_command("GCS20r", _gas_read_alert_behaviours))
FORMS[("6.22", "GCS20")] = _Form("GCS20", _gas_command("GCS20", _gas_alert_behaviours))
DEVICES_OF.update({"GCS20r": ("gsme",), "GCS20": ("gsme",)})


# --- the gas meter's prepayment configuration and tariff: 4.13 (GCS21b: the friendly credit
# calendar) and 4.11.1 (GCS21f: the tariff's calendar and current price) ---------------------

#: GCS21b's reads: the Prepayment attributes (debt recovery, caps, thresholds) and the price's
#: trailing digit, in RTDS's order
GCS21B_READS = ((0x0705, (0x0239, 0x0006, 0x0216, 0x0226, 0x0040, 0x0010, 0x0011, 0x0031,
                          0x0021, 0x0022, 0x0217, 0x0227)),
                (0x0700, (0x0617,)))  # fmt: skip
#: GCS21f's: the Price attributes (threshold divisor and multiplier, block thresholds, the
#: block and tier prices, currency, trailing digit, standing charge), in RTDS's order
GCS21F_READS = ((0x0700, (0x0203, 0x0202, 0x0100, 0x0101, 0x0102, 0x0615, 0x0400, 0x0401,
                          0x0402, 0x0403, 0x0410, 0x0420, 0x0430, 0x0440, 0x0616, 0x0617,
                          0x0301)),)  # fmt: skip
#: use case -> (its reads, the issuer calendar id and special days' calendar type it gets the
#: calendar by: RTDS's, the friendly credit one 0xFFFFFFFE / 3, the tariff's 0xFFFFFFFF / 0,
#: whether it gets the current price)
GAS_TARIFF_READS = {"GCS21b": (GCS21B_READS, 0xFFFFFFFE, 3, False),
                    "GCS21f": (GCS21F_READS, 0xFFFFFFFF, 0, True)}  # fmt: skip


def _gas_tariff_read(use_case: str) -> Callable[[etree._Element, int], bytes]:
    reads, calendar, kind, price = GAS_TARIFF_READS[use_case]

    def build(body: etree._Element, counter: int) -> bytes:
        _not_dsp_future_dated(body, use_case)
        gets = [
            (1, Container(command="get_day_profiles", provider_id=0, issuer_calendar_id=calendar,
                          start_day_id=1, number_of_days=0)),
            (2, Container(command="get_week_profiles", provider_id=0, issuer_calendar_id=calendar,
                          start_week_id=1, number_of_weeks=0)),
            (3, Container(command="get_seasons", provider_id=0, issuer_calendar_id=calendar)),
            (4, Container(command="get_special_days", start_time=0, number_of_events=0,
                          calendar_type=kind, provider_id=0, issuer_calendar_id=calendar)),
        ]  # fmt: skip
        frames: list[tuple[str, int | str, int, Container]] = [
            ("profile_wide", cluster, 0x00, Container(command="read_attributes",
                                                      attribute_ids=ListContainer(ids)))
            for cluster, ids in reads]  # fmt: skip
        frames += [("cluster_specific", "calendar", command_id, get) for command_id, get in gets]
        if price:
            frames.append(("cluster_specific", "price", 0x00,
                           Container(command="get_current_price", command_options=0)))  # fmt: skip
        components = ListContainer(
            Container(
                control=Container(last_component=n == len(frames) - 1, encrypted=False,
                                  from_date_time=False, reserved=0),
                cluster_id=cluster,
                body=Container(from_date_time=None, encrypted_frame=None, frame=Container(
                    frame_control=Container(frame_type=frame_type, manufacturer_specific=False,
                                            direction="client_to_server",
                                            disable_default_response=False, reserved=0),
                    manufacturer_code=None, sequence=n, command_id=command_id, payload=payload)),
            )
            for n, (frame_type, cluster, command_id, payload) in enumerate(frames)
        )  # fmt: skip
        return encode_payload("gbz", Container(profile=PROFILE_SMART_ENERGY,
                                               component_count=len(frames), components=components))  # fmt: skip

    build.__doc__ = f"{use_case}: the attributes, then the calendar's parts (and the price)"
    return build


FORMS[("4.13", "GCS21b")] = _Form("GCS21b", _gas_tariff_read("GCS21b"))
FORMS[("4.11.1", "GCS21f")] = _Form("GCS21f", _gas_tariff_read("GCS21f"))
DEVICES_OF.update({"GCS21b": ("gsme",), "GCS21f": ("gsme",)})


# --- 14.1 Record Network Data (Gas, GCS31): the GSME's network data log, every 6 minutes for
# 41 samples (the four hours 4.10's GCS18 reads), sent by the ACB as RTDS's ------------------

NETWORK_DATA_INTERVAL, NETWORK_DATA_SAMPLES = 360, 41


def _gas_network_data(body: etree._Element, event: int) -> list[GasCommand]:
    """14.1: start sampling gas network data now."""
    return [(METERING, 0x07, Container(
        command="start_sampling", issuer_event_id=event, start_sampling_time=0, sample_type=0,
        sample_request_interval=NETWORK_DATA_INTERVAL,
        max_number_of_samples=NETWORK_DATA_SAMPLES))]  # fmt: skip


FORMS[("14.1", "GCS31")] = _Form("GCS31", _gas_command("GCS31", _gas_network_data), via_acb=True)
DEVICES_OF["GCS31"] = ("gsme",)


# --- 9.1 Request Customer Identification Number at the GSME (GCS36): update_cin with a CIN the
# DCC makes (new_cin, as the ESME's ECS50); the ACB sends it on the Other User's behalf --------


def _gas_cin(
    body: etree._Element, event: int, cin: Callable[[], str] | None = None
) -> list[GasCommand]:
    """9.1: the meter's Customer Identification Number, from now."""
    number = (cin or new_cin)()
    if len(number) != CIN_DIGITS or not number.isdigit():
        raise TransformError(f"a CIN is {CIN_DIGITS} digits, not {number!r}")
    return [(DEVICE_MANAGEMENT, 0x06, Container(
        command="update_cin", issuer_event_id=event, implementation_time=0, provider_id=0,
        customer_id_number=number.encode("ascii")))]  # fmt: skip


FORMS[("9.1", "GCS36")] = _Form("GCS36", _gas_command("GCS36", _gas_cin))
DEVICES_OF["GCS36"] = ("gsme",)


# --- the gas meter's snapshots (4.6.1 GCS16a, 4.14 GCS16b, 4.4.3 GCS15c) and debt log (4.4.4
# GCS15d): one get per offset over the request's period, as RTDS's --------------------------

DAILY, BILLING = 1, 2  # ZCL snapshot causes: the daily read log, the billing calendar
#: use case -> (SRV, [(cluster, get command id, its name, how many offsets)], snapshot cause)
GAS_SNAPSHOTS: dict[str, tuple[str, tuple[tuple[str, int, str, int], ...], int]] = {
    "GCS16a": ("4.6.1", ((METERING, 0x06, "get_snapshot", 31),), DAILY),
    "GCS16b": ("4.14", ((PREPAYMENT, 0x07, "get_prepay_snapshot", 31),), DAILY),
    "GCS15c": ("4.4.3", ((METERING, 0x06, "get_snapshot", 12),
                         (PREPAYMENT, 0x07, "get_prepay_snapshot", 12)), BILLING),
    # the change of mode or tariff snapshots (RTDS's cause mask 0x6008), prepayment first
    "GCS15b": ("4.4.2", ((PREPAYMENT, 0x07, "get_prepay_snapshot", 12),
                         (METERING, 0x06, "get_snapshot", 12)), 0x6008),
}  # fmt: skip
DEBT_LOG_ENTRIES, PAYMENT_BASED_DEBT = 10, 2  # GCS15d: ten collections of debt type 2, as RTDS's


def _log_period(body: etree._Element, use_case: str) -> tuple[int, int]:
    period = body.find(f".//{{{SR}}}ReadLogPeriod")
    if period is None:
        raise TransformError(f"{use_case} needs sr:ReadLogPeriod")
    start = _seconds_since_2000(_required_text(period, "StartDateTime"))
    end = _seconds_since_2000(_required_text(period, "EndDateTime"))
    if end < start:
        raise TransformError("the log period ends before it starts")
    return start, end


def _gas_snapshots(use_case: str) -> Callable[[etree._Element, int], list[GasCommand]]:
    _srv, gets, cause = GAS_SNAPSHOTS[use_case]

    def build(body: etree._Element, event: int) -> list[GasCommand]:
        start, end = _log_period(body, use_case)
        return [(cluster, command_id, Container(
            command=name, earliest_start_time=start, latest_end_time=end, snapshot_offset=n,
            snapshot_cause=cause)) for cluster, command_id, name, count in gets
            for n in range(count)]  # fmt: skip

    build.__doc__ = f"{use_case}: the snapshots of cause {cause} in the request's period"
    return build


def _gcs15d(body: etree._Element, counter: int) -> bytes:
    """4.4.4: the payment-based debt's collections from the period's start (the component's
    from-date-time) to its end."""
    _not_dsp_future_dated(body, "GCS15d")
    start, end = _log_period(body, "GCS15d")
    return _prepayment_log_get(start, 0x0A, Container(
        command="get_debt_repayment_log", latest_end_time=end,
        number_of_debts=DEBT_LOG_ENTRIES, debt_type=PAYMENT_BASED_DEBT))  # fmt: skip


def _prepayment_log_get(start: int, command_id: int, payload: Container) -> bytes:
    """One Prepayment cluster log get (GCS15d, GCS15e) whose period starts at the component's
    from-date-time `start`, as RTDS's: one unencrypted component."""
    component = Container(
        control=Container(last_component=True, encrypted=False, from_date_time=True, reserved=0),
        cluster_id=PREPAYMENT,
        body=Container(from_date_time=start, encrypted_frame=None, frame=Container(
            frame_control=Container(frame_type="cluster_specific", manufacturer_specific=False,
                                    direction="client_to_server", disable_default_response=False,
                                    reserved=0),
            manufacturer_code=None, sequence=0, command_id=command_id, payload=payload)),
    )  # fmt: skip
    return encode_payload("gbz", Container(profile=PROFILE_SMART_ENERGY, component_count=1,
                                           components=ListContainer([component])))  # fmt: skip


for _use_case, (_srv, *_gets) in GAS_SNAPSHOTS.items():
    FORMS[(_srv, _use_case)] = _Form(_use_case, _gas_command(_use_case, _gas_snapshots(_use_case)))
    DEVICES_OF[_use_case] = ("gsme",)
# RTDS's 4.4.4 is the ACB's on the Supplier's behalf (its ERROR and NOT_FOUND the Supplier's)
FORMS[("4.4.4", "GCS15d")] = _Form("GCS15d", _gcs15d, via_acb=True)
DEVICES_OF["GCS15d"] = ("gsme",)

TOP_UP_RECORDS = 5  # GCS15e: the five most recent top-ups, as RTDS's
LATEST = 0xFFFFFFFE  # a UTC time's largest value: DUIS's end 3000-12-31, "no end"


def _gcs15e(body: etree._Element, counter: int) -> bytes:
    """4.4.5: the top-ups from the period's start (the component's from-date-time) to its end
    (one past a UTC time's range: no end)."""
    _not_dsp_future_dated(body, "GCS15e")
    start, end = _log_period(body, "GCS15e")
    return _prepayment_log_get(start, 0x08, Container(
        command="get_top_up_log", latest_end_time=min(end, LATEST),
        number_of_records=TOP_UP_RECORDS))  # fmt: skip


FORMS[("4.4.5", "GCS15e")] = _Form("GCS15e", _gcs15e)
DEVICES_OF["GCS15e"] = ("gsme",)


# --- reads for an unknown remote party (URP: the body's KAPublicSecurityCredentials): the ACB
# sends them naming the party (its certificate's EUI) and carrying the certificate, for which
# the device encrypts its answer; 4.17 (GCS61) and 4.14 (GCS16b) at the GPF, from its mirror --


def _remote_party(body: etree._Element) -> tuple[bytes, bytes] | None:
    """The unknown remote party's EUI and KA certificate (DER), or None for a known one."""
    node = body.find(f".//{{{SR}}}KAPublicSecurityCredentials")
    if node is None:
        return None
    text = (node.text or "").strip()
    try:
        der = base64.b64decode(text, validate=True)
        certificate = x509.load_der_x509_certificate(der)
    except (ValueError, binascii.Error):
        raise TransformError("KAPublicSecurityCredentials is no X.509 certificate") from None
    unique = certificate.subject.get_attributes_for_oid(NameOID.X500_UNIQUE_IDENTIFIER)
    raw = unique[0].value if unique else b""
    raw = raw if isinstance(raw, bytes) else raw.encode()
    eui = raw[1:] if len(raw) == 9 and raw[0] == 0 else raw  # a BIT STRING: 00 then the EUI
    if len(eui) != 8:
        raise TransformError("the remote party's certificate names no EUI-64")
    return eui, der


DAILY_CONSUMPTION, DAY_SECONDS = 1, 86400  # GCS61: ZCL sample id 1, a sample a day


def _gas_daily_consumption(body: etree._Element, event: int) -> list[GasCommand]:
    """4.17: the daily consumption log's samples over the request's period (both ends)."""
    start, end = _log_period(body, "GCS61")
    return [(METERING, 0x08, Container(
        command="get_sampled_data", sample_id=DAILY_CONSUMPTION, earliest_sample_time=start,
        sample_type=0, number_of_samples=(end - start) // DAY_SECONDS + 1))]  # fmt: skip


FORMS[("4.17", "GCS61")] = _Form("GCS61", _gas_command("GCS61", _gas_daily_consumption))
DEVICES_OF.update({"GCS61": ("gpf",), "GCS16b": ("gsme", "gpf")})
for _key in (("4.17", "GCS61"), ("4.14", "GCS16b")):
    FORMS[_key].build.remote_party = True  # type: ignore[attr-defined]


# --- the gas registers and prepayment values (GBZ reads, encrypted for the reader): 4.1.4 block
# counters (GCS13b), 4.1.2 TOU registers (GCS13c), 4.3 prepayment values (GCS14), to the GSME or
# its GPF, as 4.1.1's GCS13a -------------------------------------------------------------------

GBZ_READS.update({
    "GCS13b": ((0x0702, (0x0700, 0x0701, 0x0702, 0x0703, 0x0302, 0x0301, 0x0300)),),
    "GCS13c": ((0x0702, (0x0302, 0x0301, 0x0300, 0x0100, 0x0102, 0x0104, 0x0106)),),
    "GCS14": ((0x0700, (0x0617, 0x0616)),
              (0x0705, (0x0005, 0x0002, 0x0001, 0x0231, 0x0211, 0x0221))),
})  # fmt: skip
for _use_case, _srv in (("GCS13b", "4.1.4"), ("GCS13c", "4.1.2"), ("GCS14", "4.3")):
    FORMS[(_srv, _use_case)] = _Form(_use_case, _gbz_read(_use_case))
    DEVICES_OF[_use_case] = ("gpf", "gsme")

# 8.9 to a ZigBee device (the GSME): read its device log, an ASN.1 NULL as CS08's
FORMS[("8.9", "CS07")] = _Form("CS07", _cs08)
DEVICES_OF["CS07"] = ("gsme",)


# --- 6.5 the ESME's voltage configuration (ECS29a / ECS29c; 6.2.1's ECS26b reads it) --------

AVERAGE_VOLTAGE_PROFILE = "0100201800FF"  # its capture period: the average's measurement period
#: DUIS RMS setting -> its voltage monitor (IC 71: attribute 4 threshold, 6 time delay)
RMS_MONITORS = (("RMSExtremeOverVoltage", "0000110001FF"),
                ("RMSExtremeUnderVoltage", "0000110002FF"),
                ("RMSVoltageSag", "0000110003FF"), ("RMSVoltageSwell", "0000110004FF"))  # fmt: skip
AVERAGE_THRESHOLDS = (("AverageRMSOverVoltageThreshold", "010020230004"),
                      ("AverageRMSUnderVoltageThreshold", "0100201F0004"))  # fmt: skip
VOLTAGE_COUNTERS = ("010020200004", "010020240004")  # RMS under / over voltage counts


def _voltage_use_case(body: etree._Element) -> str:
    """ECS29a resets the RMS voltage counters, ECS29c (RMSVoltageCountersNotReset) not; for
    a polyphase meter (PolyPhaseVoltageSettings) ECS29b and ECS29d."""
    keep = body.find(f"{{{SR}}}RMSVoltageCountersNotReset") is not None
    if body.find(f"{{{SR}}}PolyPhaseVoltageSettings") is not None:
        return "ECS29d" if keep else "ECS29b"
    return "ECS29c" if keep else "ECS29a"


def _ecs29(body: etree._Element, counter: int) -> bytes:
    """6.5 on a single-phase ESME: the average voltage's measurement period, the four RMS
    monitors' thresholds and periods, the average over/under thresholds, then (ECS29a) the
    RMS voltage counters reset; RTDS's order. A polyphase body is ECS29b / ECS29d's."""
    if body.find(f"{{{SR}}}PolyPhaseVoltageSettings") is not None:
        return _ecs29_polyphase(body, counter)
    rms = _one(body, "RMSVoltageSettings")
    single = _one(body, "SinglePhaseVoltageSettings")

    def number(parent: etree._Element, name: str) -> Container:
        return _item("double-long-unsigned", int(_required_text(parent, name)))

    specs = [cosem_spec("set", 7, bytes.fromhex(AVERAGE_VOLTAGE_PROFILE), 4)]
    data = [number(single, "AverageRMSVoltageMeasurementPeriod")]
    for name, monitor in RMS_MONITORS:
        specs += [cosem_spec("set", 71, bytes.fromhex(monitor), 4),
                  cosem_spec("set", 71, bytes.fromhex(monitor), 6)]  # fmt: skip
        data += [number(rms, f"{name}Threshold"), number(rms, f"{name}MeasurementPeriod")]
    for name, register in AVERAGE_THRESHOLDS:
        specs.append(cosem_spec("set", 1, bytes.fromhex(register), 2))
        data.append(number(single, name))
    if _voltage_use_case(body) == "ECS29a":
        specs += [cosem_spec("action", 3, bytes.fromhex(c), 1) for c in VOLTAGE_COUNTERS]
        data += [_item("integer", 0) for _ in VOLTAGE_COUNTERS]
    return access_request(counter, specs, data)


FORMS[("6.5", "ECS29a")] = _Form("ECS29a", _ecs29)
FORMS[("6.5", "ECS29c")] = _Form("ECS29c", _ecs29)


# --- 11.3 activate firmware (CS06, ASN.1; esme/firmware.py) --------------------------------

FIRMWARE_CANCEL = "99991231235959Z"  # CS06's "cancel the pending activation"


def _cs06(body: etree._Element, counter: int) -> bytes:
    """11.3: the image's manufacturer hash, the request's counter, and the execution
    date-time when the body has one (3000-12-31 or later: cancel), as RTDS's CS06."""
    image_hash = bytes.fromhex(_required_text(body, "FirmwareHash").strip())
    if len(image_hash) != 32:
        raise TransformError("a firmware hash is 32 octets (SHA-256)")
    fields = [asn1.octet_string(image_hash), asn1.integer(counter)]
    text = _text(body, "ExecutionDateTime")
    if text is not None:
        when = _utc(text)
        fields.append(asn1.generalized_time(
            FIRMWARE_CANCEL if when >= CANCEL_DATE else _generalized(when)))  # fmt: skip
    return asn1.encode_tree(asn1.sequence(*fields))


FORMS[("11.3", "CS06")] = _Form("CS06", _cs06)
DEVICES_OF["CS06"] = ("esme",)


# --- 6.4.1 load limit general settings (ECS28a; esme/extended.py) --------------------------

#: the passive objects ECS28a sets, in RTDS's order, with the DUIS element giving each value
LOAD_LIMIT_SETTINGS = (("00005E2C0003", "LoadLimitSupplyState"),
                       ("00005E2C8007", "LoadLimitPowerThreshold"),
                       ("00005E2C8006", "LoadLimitPeriod"),
                       ("00005E2C8008", "LoadLimitRestorationPeriod"))  # fmt: skip


def _ecs28a(body: etree._Element, counter: int) -> bytes:
    """6.4.1: the four passive values (the supply state a boolean: Disable the supply when the
    limit trips, or Unchanged), then the activation time of each (now, the body's
    ExecutionDateTime, or 3000-12-31: cancel), as RTDS's."""
    state = _required_text(body, "LoadLimitSupplyState").strip()
    if state not in ("Disable", "Unchanged"):
        raise TransformError(f"LoadLimitSupplyState {state!r} is not Disable or Unchanged")
    values = [_item("boolean", 0xFF if state == "Disable" else 0x00)]
    values += [_item("double-long-unsigned", int(_required_text(body, name)))
               for _code, name in LOAD_LIMIT_SETTINGS[1:]]  # fmt: skip
    when = _item("octet-string", _execution(body))
    specs = [cosem_spec("set", 9000, bytes.fromhex(code), 4) for code, _ in LOAD_LIMIT_SETTINGS]
    specs += [cosem_spec("set", 9000, bytes.fromhex(code), 6) for code, _ in LOAD_LIMIT_SETTINGS]
    return access_request(counter, specs, values + [when] * len(LOAD_LIMIT_SETTINGS))


FORMS[("6.4.1", "ECS28a")] = _Form("ECS28a", _ecs28a)


# --- 1.2.1 the ESME's primary element prices (ECS01b; esme/extended.py) ----------------------

STANDING_CHARGE, PRICE_MATRIX = "0000131404FF", "0000131400FF"
#: the price matrix's charge table indexes: the 48 TOU rates 01..30, then the block prices
#: A1..D8 (block A..D for the BlockPrice index, the block's TOU rate 1..8 for BlockPrices')
PRICE_INDEXES = [bytes((n,)) for n in range(1, 49)] + [
    bytes((0xA0 + 16 * block + rate,)) for block in range(4) for rate in range(1, 9)
]


def _price_charge(commodity_scale: int, price_scale: int, commodity: tuple[int, bytes, int],
                 table: list[tuple[bytes, int]]) -> Container:  # fmt: skip
    """An IC 113 unit charge: its scaling, the commodity it prices, its charge table."""
    return _item("structure", ListContainer([
        _item("structure", ListContainer([_item("integer", commodity_scale),
                                          _item("integer", price_scale)])),
        _item("structure", ListContainer([_item("long-unsigned", commodity[0]),
                                          _item("octet-string", commodity[1]),
                                          _item("integer", commodity[2])])),
        _item("array", ListContainer(
            _item("structure", ListContainer([_item("octet-string", index), _item("long", p)]))
            for index, p in table)),
    ]))  # fmt: skip


def _prices(element: etree._Element) -> dict[bytes, int]:
    """The price matrix's non-zero entries from a TOUTariff, BlockTariff or HybridTariff."""
    prices: dict[bytes, int] = {}
    for node in element.iter(f"{{{SR}}}TOUPrice"):
        index = int(_attribute(node, "index"))
        if not 1 <= index <= 48:
            raise TransformError(f"TOUPrice index {index} is not 1..48")
        prices[bytes((index,))] = int(node.text or "")
    for rates in element.iter(f"{{{SR}}}BlockPrices"):
        rate = int(_attribute(rates, "index"))
        for node in rates.findall(f"{{{SR}}}BlockPrice"):
            block = int(_attribute(node, "index"))
            if not (1 <= rate <= 8 and 1 <= block <= 4):
                raise TransformError(f"BlockPrices {rate} BlockPrice {block} is not 1..8, 1..4")
            prices[bytes((0xA0 + 16 * (block - 1) + rate,))] = int(node.text or "")
    return prices


def _ecs01b(body: etree._Element, counter: int) -> bytes:
    """1.2.1 at an ESME: the standing charge's and the price matrix's passive unit charges
    (every TOU and block index, 0 where the template has no price), then both activation
    times (now, ExecutionDateTime, or 3000-12-31: cancel), as RTDS's."""
    element = _one(_one(body, "PriceElements"), "ElectricityPriceElements")
    try:
        standing = int(_required_text(element, "StandingCharge"))
        standing_scale = int(_required_text(element, "StandingChargeScale"))
        price_scale = int(_required_text(element, "PriceScale"))
        prices = _prices(element)
    except ValueError as error:
        raise TransformError(f"1.2.1 price elements: {error}") from None
    values = [
        _price_charge(0, standing_scale, (0, bytes(6), 0), [(b"", standing)]),
        _price_charge(3, price_scale, (3, bytes.fromhex("0100010800FF"), 2),
                     [(index, prices.get(index, 0)) for index in PRICE_INDEXES]),
    ]  # fmt: skip
    codes = (bytes.fromhex(STANDING_CHARGE), bytes.fromhex(PRICE_MATRIX))
    specs = [cosem_spec("set", 113, code, 6) for code in codes]
    specs += [cosem_spec("set", 113, code, 7) for code in codes]
    when = _item("octet-string", _execution(body))
    return access_request(counter, specs, values + [when, when])


FORMS[("1.2.1", "ECS01b")] = _Form("ECS01b", _ecs01b)
DEVICES_OF["ECS01b"] = ("esme",)


# --- 1.2.1 the GSME's prices (GCS01b: the Price cluster's tariff information and matrix) -----

CURRENCIES = {"GBP": 826, "ECB": 978}  # DUIS CurrencyUnits -> ISO 4217 numeric
GAS_PRICE_TRAILING_DIGIT = 0x50  # five decimals, as RTDS's (DUIS gives gas no PriceScale)
TOU_SCHEME, BLOCK_SCHEME = 0x00, 0x10  # ZCL tariff type / charging scheme
GAS_NEVER, GAS_NEVER_MATRIX = 0xFFFFFFFF, 0xFFFFFFFE  # RTDS's cancellation start times


def _gas_starts(body: etree._Element) -> tuple[int, int]:
    """When a gas tariff takes effect: (the tariff information's start, the other commands'):
    now (0), the body's ExecutionDateTime, or never for a cancellation (RTDS's: all FF for
    the tariff information, one second short for the rest)."""
    text = _text(body, "ExecutionDateTime")
    if text is None:
        return 0, 0
    when = _utc(text)
    if when >= CANCEL_DATE:
        return GAS_NEVER, GAS_NEVER_MATRIX
    start = datetime_to_seconds2000(when)
    return start, start


def _gas_price_commands(body: etree._Element, event: int,
                        thresholds: list[int] | None = None) -> list[GasCommand]:  # fmt: skip
    """publish_tariff_information (scheme, standing charge, currency), for a block tariff
    with `thresholds` publish_block_thresholds, and publish_price_matrix (TOU tiers 1.. or
    block prices 0..). Without `thresholds` the number in use is the body's
    NumberOfThresholds (1.2.1); with them, how many there are (1.1.1)."""
    element = _one(_one(body, "PriceElements"), "GasPriceElements")
    currency = _required_text(element, "CurrencyUnits").strip()
    if currency not in CURRENCIES:
        raise TransformError(f"CurrencyUnits {currency!r} is not GBP or ECB")
    tou, block = element.find(f"{{{SR}}}TOUTariff"), element.find(f"{{{SR}}}BlockTariff")
    try:
        standing = int(_required_text(element, "StandingCharge"))
        if tou is not None:
            nodes, scheme, in_use = tou.findall(f"{{{SR}}}TOUPrice"), TOU_SCHEME, 0
            prices = [(int(_attribute(n, "index")), int(n.text or "")) for n in nodes]
            tiers, sub_payload = max((i for i, _ in prices), default=0), 1
        elif block is not None:
            nodes, scheme = block.findall(f"{{{SR}}}BlockPrice"), BLOCK_SCHEME
            in_use = (int(_required_text(block, "NumberOfThresholds")) if thresholds is None
                      else len(thresholds))  # fmt: skip
            prices = [(int(_attribute(n, "index")) - 1, int(n.text or "")) for n in nodes]
            tiers, sub_payload = 0, 0
        else:
            raise TransformError("GasPriceElements has neither a TOUTariff nor a BlockTariff")
    except ValueError as error:
        raise TransformError(f"gas price elements: {error}") from None
    if any(not 0 <= i <= 48 for i, _ in prices):
        raise TransformError("a gas TOUPrice or BlockPrice index is out of range")
    start, matrix_start = _gas_starts(body)
    commands: list[GasCommand] = [
        ("price", 0x04, Container(
            command="publish_tariff_information", provider_id=0, issuer_event_id=event,
            issuer_tariff_id=1, start_time=start, tariff_type_charging_scheme=scheme,
            tariff_label=b"",
            number_of_price_tiers_in_use=tiers, number_of_block_thresholds_in_use=in_use,
            unit_of_measure=0, currency=CURRENCIES[currency],
            price_trailing_digit=GAS_PRICE_TRAILING_DIGIT, standing_charge=standing,
            tier_block_mode=0xFF, block_threshold_multiplier=1, block_threshold_divisor=1000)),
    ]  # fmt: skip
    if block is not None and thresholds is not None:
        commands.append(("price", 0x06, Container(
            command="publish_block_thresholds", provider_id=0, issuer_event_id=event,
            start_time=matrix_start, issuer_tariff_id=1, command_index=0,
            total_number_of_commands=1, sub_payload_control=1,
            tiers=ListContainer([Container(tier_and_count=len(thresholds),
                                           block_thresholds=ListContainer(thresholds))]))))  # fmt: skip
    commands.append(("price", 0x05, Container(
        command="publish_price_matrix", provider_id=0, issuer_event_id=event,
        start_time=matrix_start, issuer_tariff_id=1, command_index=0,
        total_number_of_commands=1, sub_payload_control=sub_payload,
        prices=ListContainer(Container(tier_block_id=i, price=p) for i, p in prices))))  # fmt: skip
    return commands


def _gas_prices(body: etree._Element, event: int) -> list[GasCommand]:
    """1.2.1 at a GSME: the tariff information and the price matrix, as RTDS's."""
    return _gas_price_commands(body, event)


FORMS[("1.2.1", "GCS01b")] = _Form("GCS01b", _gas_command("GCS01b", _gas_prices, device_dated=True))
DEVICES_OF["GCS01b"] = ("gsme",)


# --- 1.1.1 the GSME's import tariff (GCS01a: the Calendar cluster's switching table and
# special days, then the prices as 1.2.1's, with the block thresholds) ------------------------


def _gas_date(node: etree._Element) -> Container:
    """A ZCL date from DUIS's Gas...WithWildcards parts (255 where NonSpecified...)."""

    def part(holder: str, name: str) -> int:
        found = node.find(f"{{{SR}}}{holder}")
        text = None if found is None else found.findtext(f"{{{SR}}}Specified{name}")
        return 255 if text is None else int(text)

    year = part("GasYearWithWildcards", "Year")
    return Container(year_since_1900=year if year == 255 else year - 1900,
                     month=part("GasMonthWithWildcards", "Month"),
                     day=part("GasDayOfMonthWithWildcards", "DayOfMonth"),
                     day_of_week=part("GasDayOfWeekWithWildcards", "DayOfWeek"))  # fmt: skip


def _gas_calendar_parts(
    table: etree._Element, special_days: etree._Element
) -> tuple[list[tuple[int, list[int]]], list[tuple[Container, int]], list[tuple[Container, int]]]:
    """A gas calendar's week profiles (name, its seven day names in index order), seasons
    (start, week name) and special days (date, day name), as the tariff's switching table
    and the prepayment configuration's non-disablement calendar both write them; ValueError
    or KeyError where a field is missing or not a number."""
    weeks = [(int(_required_text(w, "WeekName")),
              [int(r.text or "") for r in sorted(
                  w.findall(f"{{{SR}}}ReferencedDayName"),
                  key=lambda r: int(_attribute(r, "index")))])
             for w in table.iter(f"{{{SR}}}WeekProfile")]  # fmt: skip
    seasons = [(_gas_date(_one(s, "SeasonStartDate")),
                int(_required_text(s, "ReferencedWeekName")))
               for s in table.iter(f"{{{SR}}}Season")]  # fmt: skip
    specials = [(_gas_date(_one(d, "Date")), int(_required_text(d, "ReferencedDayName")))
                for d in special_days.iter(f"{{{SR}}}SpecialDay")]  # fmt: skip
    return weeks, seasons, specials


def _gas_tariff(body: etree._Element, event: int) -> list[GasCommand]:
    """1.1.1 at a GSME: publish_calendar, a publish_day_profile per day (its TOU tier from
    midnight; 0 for a block day), a publish_week_profile per week, publish_seasons,
    publish_special_days, then the prices (with the ThresholdMatrix for a block tariff),
    all taking effect together, as RTDS's."""
    elements = _one(body, "GasTariffElements")
    table = _one(elements, "SwitchingTable")
    try:
        days = [(int(_required_text(d, "DayName")),
                 int(d.findtext(f"{{{SR}}}TOUTariffAction") or 0))
                for d in table.iter(f"{{{SR}}}DayProfile")]  # fmt: skip
        weeks, seasons, specials = _gas_calendar_parts(table, elements)
        thresholds = [int(t.text or "") for t in elements.iter(f"{{{SR}}}BlockThreshold")]
    except ValueError as error:
        raise TransformError(f"gas tariff elements: {error}") from None
    if any(len(refs) != 7 for _, refs in weeks):
        raise TransformError("a WeekProfile does not name a day for each of the 7 days")
    _start, start = _gas_starts(body)
    ids = Container(provider_id=0, issuer_event_id=event, issuer_calendar_id=event)
    calendar: list[GasCommand] = [
        ("calendar", 0x00, Container(
            command="publish_calendar", **ids, start_time=start, calendar_type=0,
            calendar_time_reference=0, calendar_name=b"", number_of_seasons=len(seasons),
            number_of_week_profiles=len(weeks), number_of_day_profiles=len(days))),
        *(("calendar", 0x01, Container(
            command="publish_day_profile", **ids, day_id=day,
            total_number_of_schedule_entries=1, command_index=0, total_number_of_commands=1,
            calendar_type=0,
            schedule_entries=ListContainer([Container(start_time=0, value=tier)])))
          for day, tier in days),
        *(("calendar", 0x02, Container(
            command="publish_week_profile", **ids, week_id=week,
            day_id_refs_monday_to_sunday=ListContainer(refs)))
          for week, refs in weeks),
        ("calendar", 0x03, Container(
            command="publish_seasons", **ids, command_index=0, total_number_of_commands=1,
            seasons=ListContainer(Container(season_start_date=date, week_id_ref=week)
                                  for date, week in seasons))),
        ("calendar", 0x04, Container(
            command="publish_special_days", **ids, start_time=start, calendar_type=0,
            total_number_of_special_days=len(specials), command_index=0,
            total_number_of_commands=1,
            special_days=ListContainer(Container(date=date, day_id_ref=day)
                                       for date, day in specials))),
    ]  # fmt: skip
    return calendar + _gas_price_commands(body, event, thresholds)


FORMS[("1.1.1", "GCS01a")] = _Form("GCS01a", _gas_command("GCS01a", _gas_tariff, device_dated=True))
DEVICES_OF["GCS01a"] = ("gsme",)

# --- 6.22 / 6.2.10 the ESME's alert and event behaviours (esme/alert_behaviour.py) ---------

#: DUIS settings element -> (its use case, the configuration object it sets, the alert
#: codes' high byte: the Supplier's 0x81.., the Network Operator's 0x80..)
ALERT_BEHAVIOURS = {
    "ElectricitySupplierAlerts": ("ECS25a", "001E61620BFF", 0x81),
    "ElectricitySupplierHANAlertSettings": ("ECS25a1", "001E61620CFF", 0x81),
    "ElectricitySupplierAlarmSettings": ("ECS25a2", "001E61620DFF", 0x81),
    "ElectricitySupplierLoggingSettings": ("ECS25a3", "001E61620EFF", 0x81),
    "ElectricityNetworkOperatorAlerts": ("ECS25b", "002161620BFF", 0x80),
    "ElectricityNetworkOperatorLoggingSettings": ("ECS25b3", "002161620EFF", 0x80),
}
#: the use cases the Network Operator (DUIS's Electricity Distributor) sends
NETWORK_OPERATOR_USE_CASES = ("ECS25b", "ECS25b3", "ECS25r2")
ELECTRICITY_DISTRIBUTOR = "ED"
BEHAVIOUR_BITS = 256
FIXED_READS["ECS25r1"] = tuple((1, f"001E6162{n:02X}FF", 2) for n in (15, 16, 17, 18))
FIXED_READS["ECS25r2"] = tuple((1, f"00216162{n:02X}FF", 2) for n in (15, 18))


def _alert_settings(body: etree._Element) -> etree._Element:
    """The one settings group of a sr:ConfigureAlertBehaviour."""
    found = [child for child in body if etree.QName(child).localname in ALERT_BEHAVIOURS]
    if len(found) != 1:
        raise TransformError(f"6.22 names {len(found)} alert settings groups, not one")
    return found[0]


def _alert_behaviour_use_case(request: Request, role: str | None, named: str | None) -> str:
    """6.22 by the settings group the body names, 6.2.10 by the sender (the Supplier's
    ECS25r1, the Electricity Distributor's ECS25r2; without a role the one `named`, else
    the Supplier's); a group of the other party's refused."""
    network_operator = None if role is None else role == ELECTRICITY_DISTRIBUTOR
    if request.service_reference_variant == "6.2.10":
        if network_operator is None:
            return named or "ECS25r1"
        return "ECS25r2" if network_operator else "ECS25r1"
    settings = _alert_settings(request.body)
    use_case = ALERT_BEHAVIOURS[etree.QName(settings).localname][0]
    if network_operator is not None and network_operator != (
        use_case in NETWORK_OPERATOR_USE_CASES
    ):
        raise TransformError(f"{etree.QName(settings).localname} is not the sender's to set")
    return use_case


def _ecs25(body: etree._Element, counter: int) -> bytes:
    """6.22: set the party's configuration object to a mask of the alert codes the body names
    and their new values (Enable 1, Disable 0), each code's bit its low byte counted from the
    end of each 256-bit half, as RTDS's."""
    settings = _alert_settings(body)
    _not_dsp_future_dated(body, "6.22")
    _use_case, code, high = ALERT_BEHAVIOURS[etree.QName(settings).localname]
    mask, enabled = [], []
    for node in settings.iter():
        name = etree.QName(node).localname
        if not (len(name) == 5 and name[0] == "x"):
            continue
        try:
            alert = int(name[1:], 16)
        except ValueError:
            raise TransformError(f"sr:{name} is not an alert code") from None
        if alert >> 8 != high:
            group = etree.QName(settings).localname
            raise TransformError(f"alert {alert:04X} is not configured in {group}")
        state = (node.text or "").strip()
        if state not in ("Enable", "Disable"):
            raise TransformError(f"alert {alert:04X}: {state!r} is not Enable or Disable")
        bit = BEHAVIOUR_BITS - 1 - (alert & 0xFF)
        mask.append(bit)
        if state == "Enable":
            enabled.append(BEHAVIOUR_BITS + bit)
    if not mask:
        raise TransformError("6.22 names no alert to configure")
    specs = [cosem_spec("set", 1, bytes.fromhex(code), 2)]
    return access_request(counter, specs, [_bits(2 * BEHAVIOUR_BITS, mask + enabled)])


for _use_case, _code, _high in ALERT_BEHAVIOURS.values():
    FORMS[("6.22", _use_case)] = _Form(_use_case, _ecs25)
FORMS[("6.2.10", "ECS25r1")] = _Form("ECS25r1", _fixed_read("ECS25r1"))
FORMS[("6.2.10", "ECS25r2")] = _Form("ECS25r2", _fixed_read("ECS25r2"))


# --- the ESME's tariff and register reads: 4.11.1 (ECS24), 4.2 (ECS17a), 4.16 (ECS17c) and
# 4.1.2 (ECS17d, encrypted), in RTDS's order; esme/store.py answers them ----------------------

FIXED_READS["ECS24"] = (
    (3, "00005E2C0107", 2), (3, "00005E2C0107", 3),  # the active tariff price
    (20, "00000D0000FF", 3), (20, "00000D0000FF", 4), (20, "00000D0000FF", 5),  # switching
    (11, "00000B0000FF", 2),  # its special days
    *((21, f"00001000{n:02X}FF", 2) for n in range(0x0B, 0x13)),  # block thresholds, TOU 1..8
    (9000, "00005E2C0200", 2),  # the currency unit
    (113, "0000131404FF", 5), (113, "0000131400FF", 5),  # standing charge, price matrix
)  # fmt: skip
FIXED_READS["ECS17a"] = ((3, "0100020800FF", 2), (3, "0100020800FF", 3),  # active export
                         (3, "0100040800FF", 2), (3, "0100040800FF", 3))  # fmt: skip
FIXED_READS["ECS17c"] = ((1, "00005E2C2214", 2),)  # the power import collection
PROTECTED_READS["ECS17d"] = ("00002B0209FF", ((1, "00005E2C2201", 2),))  # TOU registers
FORMS[("4.11.1", "ECS24")] = _Form("ECS24", _fixed_read("ECS24"))
FORMS[("4.2", "ECS17a")] = _Form("ECS17a", _fixed_read("ECS17a"))
FORMS[("4.16", "ECS17c")] = _Form("ECS17c", _fixed_read("ECS17c"))
FORMS[("4.1.2", "ECS17d")] = _Form("ECS17d", _protected_read("ECS17d"))


# --- 6.15.1 Update Security Credentials (CS02b, CS02g; devices/credentials.py) -------------

#: DUIS RemotePartyRole -> (use case, replacement mode, authorising role, replaced role)
CREDENTIALS_MODES = {
    "Supplier": ("CS02bSupplierBySupplier", 2, 2, 2),
    "NetworkOperator": ("CS02bNOByNO", 3, 3, 3),
    "LoadController": ("CS02gLoadControllerBySupplier", 11, 2, 8),
}
#: DUIS certificate element -> (key usage bits, cell usage), in the order GBCS lists them
_CREDENTIAL_CELLS = (("DigitalSigningCertificate", bytes.fromhex("0780"), 0),
                     ("KeyAgreementCertificate", bytes.fromhex("0308"), 0),
                     ("KeyAgreementTopUpCertificate", bytes.fromhex("0308"), 1))  # fmt: skip


def _der(tag: int, content: bytes) -> bytes:
    """One DER TLV, its length in minimal form."""
    n = len(content)
    size = b"" if n < 0x80 else n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag]) + (bytes([n]) if not size else bytes([0x80 | len(size)]) + size) + content


def _der_integer(value: int, tag: int = 0x02) -> bytes:
    return _der(tag, value.to_bytes(max(1, (value.bit_length() + 8) // 8), "big", signed=True))


def _certificate(node: etree._Element) -> bytes:
    try:
        der = base64.b64decode("".join((node.text or "").split()), validate=True)
    except (binascii.Error, ValueError):
        raise TransformError(f"{etree.QName(node).localname} is not base64") from None
    if not der.startswith(b"\x30"):
        raise TransformError(f"{etree.QName(node).localname} is not a DER certificate")
    return der


def _credentials_mode(body: etree._Element) -> tuple[str, int, int, int]:
    role = (body.findtext(f".//{{{SR}}}RemotePartyRole") or "").strip()
    if role not in CREDENTIALS_MODES:
        raise TransformError(f"6.15.1 for RemotePartyRole {role or 'none'} is not transformed")
    return CREDENTIALS_MODES[role]


def _cs02b(body: etree._Element, counter: int) -> bytes:
    """6.15.1: the authorising remote party control (mode, time-based CPV checks disapplied
    when the request says false, the authoriser's DS cell, the counter, the new floor(s)), the
    certificates and their cells, the certification path, and the execution date-time when
    the body has one (3000-12-31 or later: cancel), as RTDS's CS02b / CS02g."""
    node = body
    _use_case, mode, authoriser, replaced = _credentials_mode(node)
    floor = int(_required_text(node, "RemotePartyFloorSeqNumber"))
    control = _der_integer(mode)
    if (_text(node, "ApplyTimeBasedCPVChecks") or "").strip() == "false":
        control += _der(0x81, b"\x01")  # disapply
    control += _der(0xA2, _der_integer(authoriser) + _der(0x03, _CREDENTIAL_CELLS[0][1]))
    control += _der_integer(counter, 0x83)
    if replaced == authoriser:
        control += _der_integer(floor, 0x84)
        top_up = _text(node, "RemotePartyPrepaymentTopUpFloorSeqNumber")
        if top_up is not None:
            control += _der(0xA5, _der(0x30, _der_integer(0) + _der_integer(int(top_up))))
    else:  # another party's counters: the other-remote-party changes
        control += _der(0xA6, _der(0x30, _der_integer(replaced) + _der_integer(floor)))
    certificates = _one(node, "ReplacementCertificates")
    items = b""
    for name, usage, cell_usage in _CREDENTIAL_CELLS:
        found = certificates.find(f".//{{{SR}}}{name}")
        if found is None:
            continue
        cell = _der_integer(replaced) + _der(0x03, usage)
        cell += _der_integer(cell_usage) if cell_usage else b""
        items += _der(0x30, _certificate(found) + _der(0x30, cell))
    if not items:
        raise TransformError("6.15.1 names no replacement certificate")
    path = b"".join(_certificate(c) for c in
                    _one(node, "CertificationPathCertificates").findall(f"{{{SR}}}Certificate"))  # fmt: skip
    content = _der(0x30, control) + _der(0x30, items) + _der(0x30, path)
    text = _text(node, "ExecutionDateTime")
    if text is not None:
        when = _utc(text)
        stamp = FIRMWARE_CANCEL if when >= CANCEL_DATE else when.strftime("%Y%m%d%H%M%SZ")
        content += _der(0x18, stamp.encode())
    return _der(0x30, content)


for _use_case, *_rest in CREDENTIALS_MODES.values():
    FORMS[("6.15.1", _use_case)] = _Form(_use_case, _cs02b)
    DEVICES_OF[_use_case] = ("esme",)

# 6.21 Request Handover of DCC Controlled Device: the same CS02b, sent and signed by the ACB,
# whose certificates the role's cells hold on a device the DCC controls for that role (RTDS's
# GPF's), with the ACB's counter as the authorising party's (RTDS's, byte for byte); the DSP
# checks the DCC controls the role (handover.py) and future-dates it itself
for _role in ("Supplier", "NetworkOperator"):
    _use_case = CREDENTIALS_MODES[_role][0]
    FORMS[("6.21", _use_case)] = _Form(_use_case, _cs02b, via_acb=True, acb_own=True)
    DEVICES_OF[_use_case] = ("esme", "gpf")


# --- 2.2 Top Up Device -------------------------------------------------------------------

TOKEN_GATEWAY = bytes.fromhex("0000132800FF")  # 0-0:19.40.0.255, interface class 115


def _cs01a(body: etree._Element, counter: int) -> bytes:
    """2.2 to an ESME: the token gateway's enter (method 1) with the UTRN's ASCII digits; the
    meter checks the UTRN itself (esme/topup.py), the DSP only its DUIS form."""
    utrn = _required_text(body, "UTRN").strip()
    if len(utrn) != 20 or not utrn.isdigit():
        raise TransformError(f"UTRN {utrn!r} is not 20 digits")
    specs = [cosem_spec("action", 115, TOKEN_GATEWAY, 1)]
    return access_request(counter, specs, [_item("octet-string", utrn.encode())])


FORMS[("2.2", "CS01a")] = _Form("CS01a", _cs01a)
DEVICES_OF["CS01a"] = ("esme",)


# --- the dual-band Comms Hub's sub GHz radio (6.28-6.32, DBCH01-05) and its security details
# (8.9 ReadSecurityDetails, CCS07), all sent by the ACB on the user's behalf as RTDS's are
# (emulator/devices/hub_function.py answers them) ----------------------------------------------

SUB_GHZ_CONFIGURATION = "00005E2C0A00"  # 0-0:94.44.10.0 the sub GHz configuration settings
SUB_GHZ_SCAN = "00005E2C0A01"  # 0-0:94.44.10.1 a channel scan, requested by setting it
FIXED_READS["DBCH01"] = ((1, "00005E2C0A02", 2),)  # the operating sub GHz channel
FIXED_READS["DBCH03"] = ((1, SUB_GHZ_CONFIGURATION, 2),)
CHF_LOGS["DBCH02"] = "00005E2C0A03"  # the sub GHz channel log, read over ReadLogPeriod
#: DUIS's channel groups, each a 32-bit channel mask: its ZigBee channel page in the top five
#: bits, then a bit per channel from the group's first (RTDS: Channel1 and Channel2 -> 06)
CHANNEL_PAGES = (("LowerBandSubGHzChannels0To26", 28, 0, 26),
                 ("LowerBandSubGHzChannels27To34", 29, 27, 34),
                 ("LowerBandSubGHzChannels35To61", 30, 35, 61),
                 ("UpperBandSubGHzChannels0To26", 31, 0, 26))  # fmt: skip
#: the settings after the masks, in the structure's order: (element, A-XDR type, scale: the
#: duty cycles and percentages are carried in hundredths, as RTDS's 1.3 -> 130, 60.00 -> 6000)
SUB_GHZ_SETTINGS = (
    ("NormalLimitedDutyCycleThreshold", "long-unsigned", 100),
    ("LimitedCriticalDutyCycleThreshold", "long-unsigned", 100),
    ("MaximumSubGHzChannelChangesPerWeek", "unsigned", 1),
    ("GSMECurfew", "long-unsigned", 1),
    ("ChannelQuieterThreshold", "unsigned", 1),
    ("ChannelNoisierThreshold", "unsigned", 1),
    ("NonGSMEPoorCommsPercentageThreshold", "long-unsigned", 100),
    ("NonGSMEPoorCommsMeasurementPeriods", "unsigned", 1),
    ("LocalCHNoiseMeasurementPeriod", "long-unsigned", 1),
    ("LocalCHFailurePercentage", "long-unsigned", 100),
    ("LocalCHRetryPercentage", "long-unsigned", 100),
)
CHF_DEVICE_LOGS = ("00001E0300FF", "00001E0301FF")  # the CHF device log and its historic log
BACKUP_PAN = 4  # their method that returns the log with its link keys


def _channel_mask(group: etree._Element, page: int, first: int, last: int) -> Container:
    mask = page << 27
    for channel in group:
        name = etree.QName(channel).localname
        number = int(name.removeprefix("Channel")) if name[7:].isdigit() else -1
        if not first <= number <= last:
            raise TransformError(f"{name} is not one of channels {first} to {last}")
        mask |= 1 << (number - first)
    return Container(bits=32, octets=mask.to_bytes(4, "big"))


def _scaled(text: str, scale: int) -> int:
    whole, _, fraction = text.strip().partition(".")
    digits = len(str(scale)) - 1
    if len(fraction.rstrip("0")) > digits or not (whole + fraction).isdigit():
        raise TransformError(f"{text!r} is not a number in 1/{scale}")
    return int(whole) * scale + int((fraction + "0" * digits)[:digits] or 0)


def _dbch04(body: etree._Element, counter: int) -> bytes:
    """6.28: the hub's sub GHz configuration settings, one structure set at once."""
    values = [_item("bit-string", _channel_mask(_one(body, name), *band))
              for name, *band in CHANNEL_PAGES]  # fmt: skip
    values += [_item(kind, _scaled(_required_text(body, name), scale))
               for name, kind, scale in SUB_GHZ_SETTINGS]  # fmt: skip
    specs = [cosem_spec("set", 1, bytes.fromhex(SUB_GHZ_CONFIGURATION), 2)]
    return access_request(counter, specs, [_item("structure", ListContainer(values))])


def _dbch05(body: etree._Element, counter: int) -> bytes:
    """6.29: a channel scan, requested by setting the scan object (RTDS: unsigned 0)."""
    specs = [cosem_spec("set", 1, bytes.fromhex(SUB_GHZ_SCAN), 2)]
    return access_request(counter, specs, [_item("unsigned", 0)])


def _ccs07(body: etree._Element, counter: int) -> bytes:
    """8.9 ReadSecurityDetails: backup_pan of the CHF device log and of its historic log."""
    specs = [cosem_spec("action", 104, bytes.fromhex(log), BACKUP_PAN) for log in CHF_DEVICE_LOGS]
    return access_request(counter, specs, [_item("null-data", None) for _ in specs])


for _srv, _use_case, _build in (("6.31", "DBCH01", _fixed_read("DBCH01")),
                                ("6.32", "DBCH02", _log_read("DBCH02")),
                                ("6.30", "DBCH03", _fixed_read("DBCH03")),
                                ("6.28", "DBCH04", _dbch04), ("6.29", "DBCH05", _dbch05),
                                ("8.9", "CCS07", _ccs07)):  # fmt: skip
    FORMS[(_srv, _use_case)] = _Form(_use_case, _build, via_acb=True)
    DEVICES_OF[_use_case] = ("chf",)


# --- 1.1.1 (ECS01a), 1.1.2 (ECS01c), 1.2.2 (ECS01d): the ESME's tariffs (esme/tariff.py) ----
# What the commands hold, as RTDS's ECS01a/c/d show it (tests/catalogue/vectors/): the element's
# switching table (IC 20: seasons, week and day profiles, passive, attributes 7-9), its passive
# special days (IC 11, 0-1:11.0.x.255), the primary element's block thresholds per TOU rate
# (IC 21, 0-0:16.1.11..18.255), currency unit (IC 9000 0-0:94.44.2.0, GBP true) and its
# standing charge and price matrix as 1.2.1's, the secondary's four-rate TOU price matrix
# (0-0:19.20.5.255), then each object's activation time (now, ExecutionDateTime or never).
# A day profile's entry runs script 0-0:10.0.100.255 with selector n (a primary TOU rate),
# 100 + n (a block tariff's) or 200 + n (a secondary TOU rate). Our reading where RTDS shows
# no case: the selectors of rates RTDS does not use follow its pattern; ECB (the euro) is
# false (RTDS's GBP true); a secondary day profile takes TOU actions only (the schema's 1..4).

SCRIPTS = bytes.fromhex("00000A0064FF")  # the tariff block counter matrix's script table
#: element -> (its switching table, passive special days, special days' activation object)
ELEMENTS = {
    "primary": ("00000D0000FF", "00010B0000FF", "00005E2C801D"),
    "secondary": ("00000D0001FF", "00010B0001FF", "00005E2C801E"),
}
THRESHOLDS = [f"00001001{n:02X}FF" for n in range(0x0B, 0x13)]  # passive, TOU rate 1..8
CURRENCY, THRESHOLD_MATRIX, SECONDARY_MATRIX = "00005E2C0200", "00003F0101FF", "0000131405FF"
CURRENCY_FLAGS = {"GBP": 0xFF, "ECB": 0x00}  # DUIS's units; our reading: RTDS's GBP is true
ACTION_BASE = {"TOUTariffAction": 0, "BlockTariffAction": 100}


def _octet(value: str) -> Container:
    return _item("octet-string", bytes((int(value),)))


def _switching_table(table: etree._Element, secondary: bool) -> list[Container]:
    """The season, week and day profile tables of a DUIS SwitchingTable, in RTDS's layout."""
    seasons = [_item("structure", ListContainer([
        _item("octet-string", _required_text(s, "SeasonName").strip().encode("ascii")),
        _item("octet-string", _date(_one(s, "SeasonStartDate")) + bytes(4) + DATE_TIME_TAIL),
        _octet(_required_text(s, "ReferencedWeekName")),
    ])) for s in table.iter(f"{{{SR}}}Season")]  # fmt: skip
    weeks = []
    for week in table.iter(f"{{{SR}}}WeekProfile"):
        days = {int(_attribute(d, "index")): int(d.text or "")
                for d in week.findall(f"{{{SR}}}ReferencedDayName")}  # fmt: skip
        if sorted(days) != list(range(1, 8)):
            raise TransformError("a WeekProfile does not name a day for each of the 7 days")
        weeks.append(_item("structure", ListContainer(
            [_octet(_required_text(week, "WeekName"))]
            + [_item("unsigned", days[n]) for n in range(1, 8)])))  # fmt: skip
    profiles = []
    for day in table.iter(f"{{{SR}}}DayProfile"):
        actions = []
        for entry in day.findall(f"{{{SR}}}ProfileSchedule"):
            kind, base = next(((k, b) for k, b in ACTION_BASE.items()
                               if entry.find(f"{{{SR}}}{k}") is not None), (None, 0))  # fmt: skip
            if kind is None:
                raise TransformError("a ProfileSchedule names no tariff action")
            rate = int(_required_text(entry, kind))
            if secondary:
                if kind != "TOUTariffAction" or not 1 <= rate <= 4:
                    raise TransformError(f"a secondary element's action {kind} {rate}: not 1..4")
                base = 200
            elif not 1 <= rate <= (48 if kind == "TOUTariffAction" else 8):  # the schema's
                raise TransformError(f"{kind} {rate} is out of range")
            actions.append(_item("structure", ListContainer([
                _item("octet-string", _time(_required_text(entry, "StartTime"))),
                _item("octet-string", SCRIPTS), _item("long-unsigned", base + rate)])))  # fmt: skip
        profiles.append(_item("structure", ListContainer([
            _item("unsigned", int(_required_text(day, "DayName"))),
            _item("array", ListContainer(actions))])))  # fmt: skip
    return [_item("array", ListContainer(seasons)), _item("array", ListContainer(weeks)),
            _item("array", ListContainer(profiles))]  # fmt: skip


def _tariff_special_days(parent: etree._Element) -> Container:
    """The passive special days: (index 1.., the DUIS date, the day profile it uses)."""
    days = [_item("structure", ListContainer([
        _item("long-unsigned", n), _item("octet-string", _date(_one(d, "Date"))),
        _item("unsigned", int(_required_text(d, "ReferencedDayName")))]))
        for n, d in enumerate(parent.iter(f"{{{SR}}}SpecialDay"), start=1)]  # fmt: skip
    return _item("array", ListContainer(days))


def _block_thresholds(element: etree._Element) -> list[Container]:
    """Each TOU rate's block thresholds (1..8, as the template lists them)."""
    matrix = {int(_attribute(t, "index")): [int(b.text or "") for b in
                                            t.findall(f"{{{SR}}}BlockThreshold")]
              for t in _one(element, "ThresholdMatrix").findall(f"{{{SR}}}Thresholds")}  # fmt: skip
    if sorted(matrix) != list(range(1, 9)) or any(not 1 <= len(v) <= 3 for v in matrix.values()):
        raise TransformError("the ThresholdMatrix needs 1..3 BlockThresholds for each of 8 rates")
    return [_item("array", ListContainer(_item("double-long-unsigned", v) for v in matrix[n]))
            for n in range(1, 9)]  # fmt: skip


def _primary_charges(body: etree._Element) -> list[Container]:
    """1.2.1's standing charge and price matrix from the request's PriceElements."""
    element = _one(_one(body, "PriceElements"), "ElectricityPriceElements")
    standing = int(_required_text(element, "StandingCharge"))
    standing_scale = int(_required_text(element, "StandingChargeScale"))
    price_scale = int(_required_text(element, "PriceScale"))
    prices = _prices(element)
    return [
        _price_charge(0, standing_scale, (0, bytes(6), 0), [(b"", standing)]),
        _price_charge(3, price_scale, (3, bytes.fromhex("0100010800FF"), 2),
                     [(index, prices.get(index, 0)) for index in PRICE_INDEXES]),
    ]  # fmt: skip


def _ecs01a(body: etree._Element, counter: int) -> bytes:
    """1.1.1 at an ESME: the primary element's switching table, special days, block
    thresholds, currency unit, standing charge and price matrix, then six activation times."""
    tariff = _one(body, "ElecTariffElements")
    table, special_days, special_activation = ELEMENTS["primary"]
    currency = _required_text(tariff, "CurrencyUnits").strip()
    if currency not in CURRENCY_FLAGS:
        raise TransformError(f"currency {currency!r} is not GBP or ECB")
    try:
        values = [*_switching_table(_one(tariff, "SwitchingTable"), secondary=False),
                  _tariff_special_days(tariff), *_block_thresholds(tariff),
                  _item("boolean", CURRENCY_FLAGS[currency]), *_primary_charges(body)]  # fmt: skip
    except ValueError as error:
        raise TransformError(f"1.1.1 tariff: {error}") from None
    code = bytes.fromhex
    specs = [cosem_spec("set", 20, code(table), a) for a in (7, 8, 9)]
    specs += [cosem_spec("set", 11, code(special_days), 2)]
    specs += [cosem_spec("set", 21, code(t), 2) for t in THRESHOLDS]
    specs += [cosem_spec("set", 9000, code(CURRENCY), 4)]
    specs += [cosem_spec("set", 113, code(c), 6) for c in (STANDING_CHARGE, PRICE_MATRIX)]
    specs += [cosem_spec("set", 20, code(table), 10),
              cosem_spec("set", 9000, code(special_activation), 6),
              cosem_spec("set", 9000, code(CURRENCY), 6),
              *(cosem_spec("set", 113, code(c), 7) for c in (STANDING_CHARGE, PRICE_MATRIX)),
              cosem_spec("set", 9000, code(THRESHOLD_MATRIX), 6)]  # fmt: skip
    when = _item("octet-string", _execution(body))
    return access_request(counter, specs, values + [when] * 6)


def _secondary_prices(body: etree._Element) -> Container:
    """The secondary element's TOU price matrix: its four rates' prices."""
    element = _one(body, "PriceElements")
    prices = {int(_attribute(p, "index")): int(p.text or "")
              for p in element.findall(f"{{{SR}}}ElectricityPriceElement")}  # fmt: skip
    if sorted(prices) != [1, 2, 3, 4]:
        raise TransformError("a secondary element has four ElectricityPriceElements, 1..4")
    return _price_charge(3, int(_required_text(element, "PriceScale")),
                         (3, bytes.fromhex("0114010800FF"), 2),
                         [(bytes((n,)), prices[n]) for n in range(1, 5)])  # fmt: skip


def _ecs01c(body: etree._Element, counter: int) -> bytes:
    """1.1.2 at a twin-element ESME: the secondary element's price matrix, switching table and
    special days, then three activation times."""
    table, special_days, special_activation = ELEMENTS["secondary"]
    try:
        values = [_secondary_prices(body),
                  *_switching_table(_one(body, "SwitchingTable"), secondary=True),
                  _tariff_special_days(_one(body, "SpecialDays"))]  # fmt: skip
    except ValueError as error:
        raise TransformError(f"1.1.2 tariff: {error}") from None
    code = bytes.fromhex
    specs = [cosem_spec("set", 113, code(SECONDARY_MATRIX), 6)]
    specs += [cosem_spec("set", 20, code(table), a) for a in (7, 8, 9)]
    specs += [cosem_spec("set", 11, code(special_days), 2),
              cosem_spec("set", 20, code(table), 10),
              cosem_spec("set", 113, code(SECONDARY_MATRIX), 7),
              cosem_spec("set", 9000, code(special_activation), 6)]  # fmt: skip
    when = _item("octet-string", _execution(body))
    return access_request(counter, specs, values + [when] * 3)


def _ecs01d(body: etree._Element, counter: int) -> bytes:
    """1.2.2 at a twin-element ESME: the secondary element's price matrix and its activation."""
    try:
        matrix = _secondary_prices(body)
    except ValueError as error:
        raise TransformError(f"1.2.2 prices: {error}") from None
    code = bytes.fromhex(SECONDARY_MATRIX)
    specs = [cosem_spec("set", 113, code, 6), cosem_spec("set", 113, code, 7)]
    return access_request(counter, specs, [matrix, _item("octet-string", _execution(body))])


FORMS[("1.1.1", "ECS01a")] = _Form("ECS01a", _ecs01a)
FORMS[("1.1.2", "ECS01c")] = _Form("ECS01c", _ecs01c)
FORMS[("1.2.2", "ECS01d")] = _Form("ECS01d", _ecs01d)


# --- 6.24.1 Retrieve Device Security Credentials (CS02a, CS02f; devices/credentials.py) ----

#: DUIS RemotePartyRole -> GBCS remote party role (gbcs.asn1.REMOTE_PARTY_ROLES)
REMOTE_PARTY_ROLES = {"Root": 0, "Recovery": 1, "Supplier": 2, "NetworkOperator": 3, "ACB": 4,
                      "TransCoS": 5, "LoadController": 8}  # fmt: skip


def _cs02a(body: etree._Element, counter: int) -> bytes:
    """6.24.1: the ACB (its key-agreement cell: it MACs the command) asks for the device's
    cells of each role the request names, in its order, as RTDS's CS02a / CS02f."""
    names = [(n.text or "").strip() for n in _children(body, "RemotePartyRole")]
    unknown = [n for n in names if n not in REMOTE_PARTY_ROLES]
    if not names or unknown:
        raise TransformError(f"6.24.1 RemotePartyRole {unknown or 'none'} is not a role")
    roles = b"".join(_der_integer(REMOTE_PARTY_ROLES[n]) for n in names)
    acb_cell = _der(0x30, _der_integer(4) + _der(0x03, bytes.fromhex("0308")))
    return _der(0x30, acb_cell + _der(0x30, roles))


def _details_use_case(body: etree._Element) -> str:
    """CS02f where a Load Controller's cells are asked for (the newer use case), else CS02a."""
    names = {(n.text or "").strip() for n in _children(body, "RemotePartyRole")}
    return "CS02f" if "LoadController" in names else "CS02a"


FORMS[("6.24.1", "CS02a")] = _Form("CS02a", _cs02a, via_acb=True)
FORMS[("6.24.1", "CS02f")] = _Form("CS02f", _cs02a, via_acb=True)


# --- 1.6 Update Payment Mode at the ESME ---------------------------------------------------

PASSIVE_ACCOUNT = bytes.fromhex("0001130000FF")  # 0-1:19.0.0.255: the mode to take effect
DISABLEMENT_THRESHOLD = bytes.fromhex("00005E2C8016")  # 0-0:94.44.128.22, interface class 9000
CREDITS = {name: bytes.fromhex(code) for name, code in (
    ("meter balance", "0000130A00FF"), ("emergency credit", "0000130A01FF"),
    ("accumulated debt", "0000130A02FF"))}  # fmt: skip
CHARGES = {name: bytes.fromhex(code) for name, code in (
    ("TOU", "0000131400FF"), ("standing charge", "0000131404FF"), ("debt 1", "0000131401FF"),
    ("debt 2", "0000131402FF"), ("debt 3", "0000131403FF"),
    ("secondary TOU", "0000131405FF"))}  # fmt: skip
ALWAYS, NOT_IN_FRIENDLY_CREDIT = b"\xe0", b"\xc0"  # collection_configuration, 3 bits


def _charge_configuration(rows: list[tuple[str, str, bytes]]) -> Container:
    return _item("array", ListContainer(
        _item("structure", ListContainer([_item("octet-string", CREDITS[credit]),
                                          _item("octet-string", CHARGES[charge]),
                                          _item("bit-string", Container(bits=3, octets=bits))]))
        for credit, charge, bits in rows))  # fmt: skip


def payment_mode(body: etree._Element, counter: int, twin: bool = False) -> bytes:
    """1.6: ECS02 (credit) or ECS03 (prepayment) for an ESME of one element (`twin`: two),
    the passive account's mode, its credit charge configuration (which credit pays which
    charge, and when) and, for prepayment, the disablement threshold, all taking effect at
    ExecutionDateTime (absent now, 3000-12-31 cancel). The configuration is RTDS's: the
    meter balance pays every charge (the time-based debts' collection outside friendly
    credit periods stopped where SuspendDebtDisabled), the emergency credit likewise, the
    accumulated debt register the standing charge and time-based debts where
    SuspendDebtEmergency, a twin's secondary TOU prices last."""
    when = _execution(body)
    secondary = [("meter balance", "secondary TOU", ALWAYS)]
    prepayment = body.find(f"{{{SR}}}Prepayment")
    if prepayment is None:
        _one(body, "Credit")
        rows = [("meter balance", "TOU", ALWAYS), ("meter balance", "standing charge", ALWAYS)]
        rows += secondary if twin else []
        specs = [cosem_spec("set", 111, PASSIVE_ACCOUNT, a) for a in (2, 11, 13)]
        mode = _item("structure", ListContainer([_item("enum", 1), _item("enum", 1)]))
        return access_request(counter, specs, [mode, _charge_configuration(rows),
                                               _item("octet-string", when)])  # fmt: skip

    def flag(name: str) -> bool:
        return _required_text(prepayment, name).lower() in ("true", "1")

    time_based = NOT_IN_FRIENDLY_CREDIT if flag("SuspendDebtDisabled") else ALWAYS
    rows = []
    for credit in ("meter balance", "emergency credit"):
        charges = [("TOU", ALWAYS), ("standing charge", ALWAYS), ("debt 1", time_based),
                   ("debt 2", time_based)]  # fmt: skip
        if credit == "meter balance":
            charges.append(("debt 3", ALWAYS))
        else:
            charges.insert(0, ("debt 3", ALWAYS))
        rows += [(credit, charge, bits) for charge, bits in charges]
    if flag("SuspendDebtEmergency"):
        rows += [("accumulated debt", c, ALWAYS) for c in ("standing charge", "debt 1", "debt 2")]
    if twin:
        rows += secondary + [("emergency credit", "secondary TOU", ALWAYS)]
    threshold = int(_required_text(prepayment, "DisablementThreshold"))
    specs = [cosem_spec("set", 111, PASSIVE_ACCOUNT, 2),
             cosem_spec("set", 9000, DISABLEMENT_THRESHOLD, 4),
             cosem_spec("set", 111, PASSIVE_ACCOUNT, 11),
             cosem_spec("set", 9000, DISABLEMENT_THRESHOLD, 6),
             cosem_spec("set", 111, PASSIVE_ACCOUNT, 13)]  # fmt: skip
    mode = _item("structure", ListContainer([_item("enum", 2), _item("enum", 1)]))
    data = [mode, _item("double-long", threshold), _charge_configuration(rows),
            _item("octet-string", when), _item("octet-string", when)]  # fmt: skip
    return access_request(counter, specs, data)


def _payment_mode_use_case(body: etree._Element, use_case: str | None) -> str:
    """1.6's use case by the mode the body asks for: credit ECS02 / GCS02, prepayment ECS03 /
    GCS03 (the device type names the prefix)."""
    prefix = "GCS" if (use_case or "").startswith("GCS") else "ECS"
    return prefix + ("03" if body.find(f"{{{SR}}}Prepayment") is not None else "02")


FORMS[("1.6", "ECS02")] = _Form("ECS02", payment_mode)
FORMS[("1.6", "ECS03")] = _Form("ECS03", payment_mode)


# --- 6.24.2 Retrieve Device Security Credentials (Device, CS02e) and 6.17 Issue Security
# --- Credentials (CS02c): the device's own certificate or a new key pair, by key usage ------

CREDENTIAL_TYPES = {"Digital Signature": bytes.fromhex("0780"),
                    "Key Agreement": bytes.fromhex("0308")}  # fmt: skip


def _key_usage_request(body: etree._Element, counter: int) -> bytes:
    """SEQUENCE { keyUsage BIT STRING } for the CredentialType asked for (RTDS's CS02e,
    CS02c)."""
    kind = _required_text(body, "CredentialType").strip()
    if kind not in CREDENTIAL_TYPES:
        raise TransformError(f"CredentialType {kind!r} is not a key usage")
    return _der(0x30, _der(0x03, CREDENTIAL_TYPES[kind]))


FORMS[("6.24.2", "CS02e")] = _Form("CS02e", _key_usage_request)
FORMS[("6.17", "CS02c")] = _Form("CS02c", _key_usage_request)


def _cs02d(body: etree._Element, counter: int) -> bytes:
    """6.15.2: the device's new certificate, as it is (RTDS's CS02d)."""
    return _certificate(_one(body, "DeviceCertificate"))


FORMS[("6.15.2", "CS02d")] = _Form("CS02d", _cs02d)
for _use_case in ("CS02c", "CS02d", "CS02e"):
    DEVICES_OF[_use_case] = ("esme",)


# --- 6.23 Update Security Credentials (CoS): the Supplier's cells by the DCC's Transitional
# --- Change of Supplier party (CS02bSupplierByTransCoS), which signs it ----------------------

TRANSITIONAL_COS = bytes.fromhex("90B3D51F30000004")  # RTDS's and DCC Boxed's TransCoS party


def _cs02b_cos(body: etree._Element, counter: int) -> bytes:
    """6.23: mode 7 authorised by the TransCoS party's DS cell with its own counter, the
    Supplier's new floors as another party's change (none for a cancellation), the incoming
    Supplier's certificates, the path and the execution date-time, as RTDS's
    CS02bSupplierByTransCoS."""
    control = _der_integer(7)
    if (_text(body, "ApplyTimeBasedCPVChecks") or "").strip() == "false":
        control += _der(0x81, b"\x01")
    control += _der(0xA2, _der_integer(5) + _der(0x03, _CREDENTIAL_CELLS[0][1]))
    control += _der_integer(counter, 0x83)
    text = _text(body, "ExecutionDateTime")
    cancel = text is not None and _utc(text) >= CANCEL_DATE
    if not cancel:  # a cancellation sets no floor (RTDS's)
        floor = int(_required_text(body, "SupplierFloorSeqNumber"))
        change = _der_integer(2) + _der_integer(floor)
        top_up = _text(body, "SupplierPrepaymentTopUpFloorSeqNumber")
        if top_up is not None:
            change += _der(0x30, _der(0x30, _der_integer(0) + _der_integer(int(top_up))))
        control += _der(0xA6, _der(0x30, change))
    certificates = _one(body, "SupplierReplacementCertificates")
    items = b""
    for name, usage, cell_usage in _CREDENTIAL_CELLS:
        found = certificates.find(f"{{{SR}}}{name}")
        if found is None:
            continue
        cell = _der_integer(2) + _der(0x03, usage) + (_der_integer(1) if cell_usage else b"")
        items += _der(0x30, _certificate(found) + _der(0x30, cell))
    path = b"".join(_certificate(c) for c in
                    _one(body, "CertificationPathCertificates").findall(f"{{{SR}}}Certificate"))  # fmt: skip
    content = _der(0x30, control) + _der(0x30, items) + _der(0x30, path)
    if text is not None:
        stamp = FIRMWARE_CANCEL if cancel else _utc(text).strftime("%Y%m%d%H%M%SZ")
        content += _der(0x18, stamp.encode())
    return _der(0x30, content)


FORMS[("6.23", "CS02bSupplierByTransCoS")] = _Form(
    "CS02bSupplierByTransCoS", _cs02b_cos, via_acb=True, originator=TRANSITIONAL_COS
)
DEVICES_OF["CS02bSupplierByTransCoS"] = ("esme",)


# --- 1.6 and 2.2 at the GSME ---------------------------------------------------------------

GAS_CREDIT_MODE = 0x0C94  # RTDS's payment control configuration for credit mode
GAS_PREPAYMENT_MODE = 0x0094 | 0x0003  # prepayment: its low bits set
GAS_DEBT_DISABLED, GAS_DEBT_IN_EMERGENCY = 0x0400, 0x0800


def _gas_payment_mode(body: etree._Element, event: int) -> list[GasCommand]:
    """1.6: change_payment_mode at ExecutionDateTime (absent now, 3000-12-31 never): credit
    mode's configuration with no cut-off (-1), or prepayment's with the disablement threshold
    as the cut-off value, its bits as RTDS's three show them (SuspendDebtDisabled 0x0400;
    debt collected in emergency credit, 0x0800, unless SuspendDebtEmergency)."""
    text = _text(body, "ExecutionDateTime")
    when = 0 if text is None else datetime_to_seconds2000(_utc(text))
    if text is not None and _utc(text) >= CANCEL_DATE:
        when = GAS_NEVER
    prepayment = body.find(f"{{{SR}}}Prepayment")
    if prepayment is None:
        _one(body, "Credit")
        configuration, cut_off = GAS_CREDIT_MODE, -1
    else:

        def flag(name: str) -> bool:
            return _required_text(prepayment, name).lower() in ("true", "1")

        configuration = GAS_PREPAYMENT_MODE
        configuration |= GAS_DEBT_DISABLED if flag("SuspendDebtDisabled") else 0
        configuration |= 0 if flag("SuspendDebtEmergency") else GAS_DEBT_IN_EMERGENCY
        cut_off = int(_required_text(prepayment, "DisablementThreshold"))
    return [(PREPAYMENT, 0x06, Container(
        command="change_payment_mode", provider_id=0, issuer_event_id=event,
        implementation_date_time=when, proposed_payment_control_configuration=configuration,
        cut_off_value=cut_off))]  # fmt: skip


def _gas_top_up(body: etree._Element, event: int) -> list[GasCommand]:
    """2.2: consumer_top_up with the UTRN's digits (from the head end: originating device 0);
    the meter checks the UTRN itself."""
    utrn = _required_text(body, "UTRN").strip()
    if len(utrn) != 20 or not utrn.isdigit():
        raise TransformError(f"UTRN {utrn!r} is not 20 digits")
    return [(PREPAYMENT, 0x04, Container(command="consumer_top_up", originating_device=0,
                                         top_up_code=utrn.encode()))]  # fmt: skip


for _use_case in ("GCS02", "GCS03"):
    _build = _gas_command(_use_case, _gas_payment_mode, device_dated=True)
    FORMS[("1.6", _use_case)] = _Form(_use_case, _build)
FORMS[("2.2", "CS01b")] = _Form("CS01b", _gas_command("CS01b", _gas_top_up))
DEVICES_OF["CS01b"] = ("gsme",)
DEVICES_OF["GCS02"] = DEVICES_OF["GCS03"] = ("gsme",)


# --- the ESME's maximum demand (4.12.1 ECS18b, 4.12.2 ECS18a, 6.18.1 ECS37), meter balance
# (4.18 ECS82), daily consumption log (4.17 ECS66, encrypted) and export daily read log
# (4.6.2 ECS21c), in RTDS's order; esme/store.py answers them ------------------------------

FIXED_READS["ECS18b"] = (
    (1, "00005E2C0500", 2), (1, "00005E2C0501", 2),  # when each was last reset
    (4, "0100010600FF", 2), (4, "0100010600FF", 3), (4, "0100010600FF", 5),
    (4, "0100010601FF", 2), (4, "0100010601FF", 3), (4, "0100010601FF", 5),
    (10, "00000C0000FF", 2),  # the configurable time period ECS37 sets
)  # fmt: skip
FIXED_READS["ECS18a"] = ((1, "00005E2C0502", 2), (4, "0100020600FF", 2),
                         (4, "0100020600FF", 3), (4, "0100020600FF", 5))  # fmt: skip
FIXED_READS["ECS82"] = ((112, "0000130A00FF", 2),)  # the meter balance
PROTECTED_READS["ECS66"] = ("00002B0204FF", ((7, "0000630103FF", 2),))
EXPORT_DAILY_READ_LOG = bytes.fromhex("000062010AFF")  # 0-0:98.1.10.255
MAXIMUM_DEMAND_SCHEDULE = bytes.fromhex("00000C0000FF")  # 0-0:12.0.0.255, interface class 10
MAXIMUM_DEMAND_SCRIPTS = bytes.fromhex("00000A8064FF")  # the script table its entries run
#: RTDS's constant fields of each entry: every weekday, no special days, valid from its
#: start date (year 0, January) for ever
EVERY_WEEKDAY = _bits(7, list(range(7)))
FROM_THE_START, FOR_EVER = bytes.fromhex("000001FFFF"), b"\xff" * 5


def _ecs37(body: etree._Element, counter: int) -> bytes:
    """6.18.1: the maximum demand configurable time period as two schedule entries, script 1
    at StartTime and script 2 at EndTime, every day, as RTDS's."""
    _not_dsp_future_dated(body, "ECS37")
    schedule = _one(body, "MaximumDemandTimePeriodSchedule")
    entries = []
    for index, (name, selector) in enumerate((("StartTime", 1), ("EndTime", 2))):
        try:
            time = _time(_required_text(schedule, name))
        except ValueError:
            raise TransformError(f"6.18.1 {name} is not a time of day") from None
        entries.append(_item("structure", ListContainer([
            _item("long-unsigned", index), _item("boolean", 0xFF),
            _item("octet-string", MAXIMUM_DEMAND_SCRIPTS), _item("long-unsigned", selector),
            _item("octet-string", time), _item("long-unsigned", 0xFFFF), EVERY_WEEKDAY,
            _bits(0, []), _item("octet-string", FROM_THE_START),
            _item("octet-string", FOR_EVER),
        ])))  # fmt: skip
    specs = [cosem_spec("set", 10, MAXIMUM_DEMAND_SCHEDULE, 2)]
    return access_request(counter, specs, [_item("array", ListContainer(entries))])


FORMS[("4.12.1", "ECS18b")] = _Form("ECS18b", _fixed_read("ECS18b"))
FORMS[("4.12.2", "ECS18a")] = _Form("ECS18a", _fixed_read("ECS18a"))
FORMS[("6.18.1", "ECS37")] = _Form("ECS37", _ecs37)
FORMS[("4.18", "ECS82")] = _Form("ECS82", _fixed_read("ECS82"))
FORMS[("4.17", "ECS66")] = _Form("ECS66", _protected_read("ECS66"))


def _ecs21c(body: etree._Element, counter: int) -> bytes:
    """4.6.2: the export daily read log over the request's period, read as the logs are."""
    _not_dsp_future_dated(body, "ECS21c")
    period = _one(body, "ReadLogPeriod")
    start = _seconds_since_2000(_required_text(period, "StartDateTime"))
    end = _seconds_since_2000(_required_text(period, "EndDateTime"))
    if end < start:
        raise TransformError("the log period ends before it starts")
    selection = Container(selector=1, parameters=_time_range(start, end))
    specs = [cosem_spec("get_with_selection", 7, EXPORT_DAILY_READ_LOG, 2, selection)]
    return access_request(counter, specs, [_item("null-data", None)])


FORMS[("4.6.2", "ECS21c")] = _Form("ECS21c", _ecs21c)


# --- 6.5 on a polyphase ESME (ECS29b resetting each phase's counters, ECS29d not) ----------

#: phase -> its OBIS value group C offset: phase 1 the single phase's 32, 2 52, 3 72
PHASE_GROUP = {1: 32, 2: 52, 3: 72}


def _phase_obis(phase: int, d: int, e: int, f: int) -> bytes:
    return bytes((1, 0, PHASE_GROUP[phase], d, e, f))


def _ecs29_polyphase(body: etree._Element, counter: int) -> bytes:
    """6.5 with each phase's settings (ECS29b, ECS29d): each phase's average voltage
    measurement period and average over / under thresholds, the four RMS monitors, then
    (ECS29b) each phase's counters reset, in RTDS's order for each (ECS29d's thresholds
    first). The meter answers for the phases it has (a single-phase one object_undefined for
    phases 2 and 3)."""
    rms = _one(body, "RMSVoltageSettings")
    phases: dict[int, etree._Element] = {}
    for node in _children(body, "PolyPhaseVoltageSettings"):
        try:
            phase = int(_required_text(node, "Phase"))
        except ValueError:
            raise TransformError("a 6.5 Phase is not a number") from None
        if phase not in PHASE_GROUP or phase in phases:
            raise TransformError(f"6.5 Phase {phase} is not one of 1, 2, 3 once each")
        phases[phase] = _one(node, "PhaseVoltageSettings")
    if sorted(phases) != [1, 2, 3]:
        raise TransformError(f"6.5 names phases {sorted(phases)}, not 1, 2 and 3")

    def number(parent: etree._Element, name: str) -> Container:
        try:
            return _item("double-long-unsigned", int(_required_text(parent, name)))
        except ValueError:
            raise TransformError(f"6.5 {name} is not a whole number") from None

    def setting(ic: int, code: bytes, attribute: int, parent: etree._Element, name: str):
        return cosem_spec("set", ic, code, attribute), number(parent, name)

    periods = [setting(7, _phase_obis(n, 24, 0, 255), 4, phases[n],
                       "AverageRMSVoltageMeasurementPeriod") for n in (1, 2, 3)]  # fmt: skip
    monitors = [setting(71, bytes.fromhex(monitor), attribute, rms, f"{name}{suffix}")
                for name, monitor in RMS_MONITORS
                for attribute, suffix in ((4, "Threshold"), (6, "MeasurementPeriod"))]  # fmt: skip
    over = {n: setting(1, _phase_obis(n, 35, 0, 4), 2, phases[n], "AverageRMSOverVoltageThreshold")
            for n in (1, 2, 3)}  # fmt: skip
    under = {n: setting(1, _phase_obis(n, 31, 0, 4), 2, phases[n],
                        "AverageRMSUnderVoltageThreshold") for n in (1, 2, 3)}  # fmt: skip
    if _voltage_use_case(body) == "ECS29d":
        thresholds = [t for n in (1, 2, 3) for t in (under[n], over[n])]
        pairs = thresholds + periods + monitors
    else:
        thresholds = [over[1], under[1], under[2], over[2], under[3], over[3]]
        resets = [(cosem_spec("action", 3, _phase_obis(n, d, 0, 4), 1), _item("integer", 0))
                  for n in (1, 2, 3) for d in (32, 36)]  # fmt: skip
        pairs = periods + monitors + thresholds + resets
    return access_request(counter, [s for s, _ in pairs], [d for _, d in pairs])


FORMS[("6.5", "ECS29b")] = _Form("ECS29b", _ecs29_polyphase)
FORMS[("6.5", "ECS29d")] = _Form("ECS29d", _ecs29_polyphase)


# --- 2.1 Update Prepay Configuration at the ESME -------------------------------------------

NON_DISABLEMENT_SPECIAL_DAYS = bytes.fromhex("00010B0002FF")  # 0-1:11.0.2.255, passive
NON_DISABLEMENT_SCHEDULE = bytes.fromhex("00010C0001FF")  # 0-1:12.0.1.255, passive
NON_DISABLEMENT_SCRIPTS = {"START": 32, "STOP": 33}  # the supply state script's selectors
DEBT_CAP_PERIOD = 604800  # the debt recovery rate cap's period: a week, as RTDS's (not in DUIS)
_X = bytes.fromhex
#: (the value's DUIS element, its IC 9000 object, its type); in RTDS's order below
PREPAY_VALUES = {
    "MaxMeterBalance": (_X("00005E2C0214"), "double-long"),
    "MaxCreditThreshold": (_X("00005E2C020A"), "double-long"),
    "DebtRecoveryRateCap": (_X("00005E2C800C"), "long-unsigned"),
    "DebtRecoveryRateCapPeriod": (_X("00005E2C800D"), "double-long"),
    "LowCreditThreshold": (_X("00005E2C8009"), "double-long"),
    "EmergencyCreditLimit": (_X("00005E2C8002"), "double-long"),
    "EmergencyCreditThreshold": (_X("00005E2C8003"), "double-long"),
}
SPECIAL_DAYS_ACTIVATION, CALENDAR_ACTIVATION = _X("00005E2C801F"), _X("00005E2C801C")


def _xs_date(text: str) -> bytes:
    """DLMS date of an xs:date such as 2014-10-27Z (year 65535: any year), weekday any."""
    year, month, day = (int(part) for part in text.strip().rstrip("Z").split("-"))
    return year.to_bytes(2, "big") + bytes((month, day, NOT_SPECIFIED))


def _non_disablement_entry(index: int, schedule: etree._Element, days_defined: int) -> Container:
    """One passive non-disablement schedule entry: the supply state script's START or STOP at
    the switch time on the weekdays and special days given, between the dates."""
    script = _required_text(schedule, "NonDisablementScript")
    if script not in NON_DISABLEMENT_SCRIPTS:
        raise TransformError(f"NonDisablementScript {script!r} is neither START nor STOP")
    when = _one(schedule, "ScheduleDatesAndTime")
    applies = [int(n.text or "") - 1 for n in schedule.iter(f"{{{SR}}}SpecialDayID")]
    return _item("structure", ListContainer([
        _item("long-unsigned", index), _item("boolean", 0xFF),
        _item("octet-string", SUPPLY_SCRIPTS),
        _item("long-unsigned", NON_DISABLEMENT_SCRIPTS[script]),
        _item("octet-string", _time(_required_text(when, "SwitchTime"))),
        _item("long-unsigned", 0xFFFF), _weekdays(schedule), _bits(days_defined, applies),
        _item("octet-string", _xs_date(_required_text(when, "StartDate"))),
        _item("octet-string", _xs_date(_required_text(when, "EndDate")))]))  # fmt: skip


def _prepay_configuration(use_case: str) -> Callable[[etree._Element, int], bytes]:
    """2.1 to an ESME: the non-disablement calendar's special days and schedule, the maximum
    meter balance and credit threshold, the debt recovery rate cap (per week), the low
    credit threshold and the emergency credit limit and threshold, each a passive value
    activated at ExecutionDateTime (absent now, 3000-12-31 cancel), in RTDS's order. ECS08
    (GBCS's older form) sets the maximum meter balance's value_active, ECS08a its passive
    value."""

    def build(body: etree._Element, counter: int) -> bytes:
        when = _item("octet-string", _execution(body))
        settings = _one(body, "UpdatePrepayConfigElectricity")
        calendar = _one(settings, "ElectricityNonDisablementCalendar")
        try:
            days = sorted((int(_attribute(d, "index")), d)
                          for d in calendar.iter(f"{{{SR}}}SpecialDay"))  # fmt: skip
            numbers = {"DebtRecoveryRateCapPeriod": DEBT_CAP_PERIOD} | {
                name: int(_required_text(settings, name))
                for name in PREPAY_VALUES if name != "DebtRecoveryRateCapPeriod"}  # fmt: skip
            special_days = _item("array", ListContainer(
                _item("structure", ListContainer([
                    _item("long-unsigned", n), _item("octet-string", _date(_one(d, "Date"))),
                    _item("unsigned", n)]))
                for n, d in days))  # fmt: skip
            schedules = _children(calendar, "ElectricityNonDisablementSchedule")
            entries = _item("array", ListContainer(
                _non_disablement_entry(i, s, len(days))
                for i, s in enumerate(schedules, 1)))  # fmt: skip
        except ValueError as error:
            raise TransformError(f"prepay configuration: {error}") from None

        def value(name: str) -> tuple[Container, Container]:
            code, kind = PREPAY_VALUES[name]
            attribute = 2 if (use_case, name) == ("ECS08", "MaxMeterBalance") else 4
            return cosem_spec("set", 9000, code, attribute), _item(kind, numbers[name])

        def activation(code: bytes) -> tuple[Container, Container]:
            return cosem_spec("set", 9000, code, 6), when

        pairs = [(cosem_spec("set", 11, NON_DISABLEMENT_SPECIAL_DAYS, 2), special_days),
                 value("MaxMeterBalance"), value("MaxCreditThreshold"),
                 (cosem_spec("set", 10, NON_DISABLEMENT_SCHEDULE, 2), entries),
                 value("DebtRecoveryRateCap"), value("DebtRecoveryRateCapPeriod"),
                 value("LowCreditThreshold"), value("EmergencyCreditLimit"),
                 activation(SPECIAL_DAYS_ACTIVATION), value("EmergencyCreditThreshold"),
                 *(activation(PREPAY_VALUES[n][0]) for n in PREPAY_VALUES),
                 activation(CALENDAR_ACTIVATION)]  # fmt: skip
        return access_request(counter, [s for s, _ in pairs], [d for _, d in pairs])

    build.__doc__ = f"{use_case}: {_prepay_configuration.__doc__}"
    return build


FORMS[("2.1", "ECS08a")] = _Form("ECS08a", _prepay_configuration("ECS08a"))
FORMS[("2.1", "ECS08")] = _Form("ECS08", _prepay_configuration("ECS08"))


# --- 2.1 Update Prepay Configuration at the GSME -------------------------------------------

FRIENDLY_CREDIT_CALENDAR = 3  # ZCL calendar type: the non-disablement (friendly credit) one
NON_DISABLEMENT_ACTIONS = {"START": 1, "STOP": 0}


def _minutes(text: str) -> int:
    clock = _dt.time.fromisoformat(text.replace("Z", "").split("+")[0])
    return clock.hour * 60 + clock.minute


DatedCommand = tuple[GasCommand, int | None]  # a GBZ command with its from-date-time


def _gas_prepay_configuration(body: etree._Element, event: int) -> list[DatedCommand]:
    """2.1 at a GSME: the emergency credit limit and threshold, the overall debt cap (DUIS's
    DebtRecoveryRateCap), the low credit warning level (dated by its GBZ from-date-time), the
    maximum credit and credit per top-up (DUIS's MaxMeterBalance and MaxCreditThreshold),
    then the non-disablement calendar (ZCL's friendly credit calendar: day profiles of START
    1 / STOP 0 from their minute, week profiles, seasons, special days), all from
    ExecutionDateTime (now 0, a cancellation never: RTDS's FFFFFFFF, the calendar's one
    short), as RTDS's. Each with its from-date-time, or None."""
    settings = _one(body, "UpdatePrepayConfigGas")
    calendar = _one(settings, "GasNonDisablementCalendar")
    start, calendar_start = _gas_starts(body)
    try:
        numbers = {name: int(_required_text(settings, name)) for name in (
            "DebtRecoveryRateCap", "EmergencyCreditLimit", "EmergencyCreditThreshold",
            "LowCreditThreshold", "MaxMeterBalance", "MaxCreditThreshold")}  # fmt: skip
        days = [(int(_required_text(d, "GasDayName")),
                 [(_minutes(_required_text(a, "StartTime")),
                   NON_DISABLEMENT_ACTIONS[_required_text(a, "NonDisablementAction")])
                  for a in d.iter(f"{{{SR}}}TimeStartAction")])
                for d in calendar.iter(f"{{{SR}}}GasNonDisablementDayProfile")]  # fmt: skip
        weeks, seasons, specials = _gas_calendar_parts(calendar, calendar)
    except (ValueError, KeyError) as error:
        raise TransformError(f"gas prepay configuration: {error}") from None
    ids = Container(provider_id=0, issuer_event_id=event, issuer_calendar_id=event)
    dated = [
        ((PREPAYMENT, 0x03, Container(
            command="emergency_credit_setup", issuer_event_id=event, start_time=start,
            emergency_credit_limit=numbers["EmergencyCreditLimit"],
            emergency_credit_threshold=numbers["EmergencyCreditThreshold"])), None),
        ((PREPAYMENT, 0x0C, Container(
            command="set_overall_debt_cap", provider_id=0, issuer_event_id=event,
            implementation_date_time=start,
            overall_debt_cap=numbers["DebtRecoveryRateCap"])), None),
        ((PREPAYMENT, 0x09, Container(
            command="set_low_credit_warning_level",
            low_credit_warning_level=numbers["LowCreditThreshold"])), start),
        ((PREPAYMENT, 0x0B, Container(
            command="set_maximum_credit_limit", provider_id=0, issuer_event_id=event,
            implementation_date_time=start, maximum_credit_level=numbers["MaxMeterBalance"],
            maximum_credit_per_top_up=numbers["MaxCreditThreshold"])), None),
        (("calendar", 0x00, Container(
            command="publish_calendar", **ids, start_time=calendar_start,
            calendar_type=FRIENDLY_CREDIT_CALENDAR, calendar_time_reference=0,
            calendar_name=b"", number_of_seasons=len(seasons),
            number_of_week_profiles=len(weeks), number_of_day_profiles=len(days))), None),
        *((("calendar", 0x01, Container(
            command="publish_day_profile", **ids, day_id=day,
            total_number_of_schedule_entries=len(entries), command_index=0,
            total_number_of_commands=1, calendar_type=FRIENDLY_CREDIT_CALENDAR,
            schedule_entries=ListContainer(Container(start_time=minute, value=action)
                                           for minute, action in entries))), None)
          for day, entries in days),
        *((("calendar", 0x02, Container(
            command="publish_week_profile", **ids, week_id=week,
            day_id_refs_monday_to_sunday=ListContainer(refs))), None)
          for week, refs in weeks),
        (("calendar", 0x03, Container(
            command="publish_seasons", **ids, command_index=0, total_number_of_commands=1,
            seasons=ListContainer(Container(season_start_date=date, week_id_ref=week)
                                  for date, week in seasons))), None),
        (("calendar", 0x04, Container(
            command="publish_special_days", **ids, start_time=calendar_start,
            calendar_type=FRIENDLY_CREDIT_CALENDAR, total_number_of_special_days=len(specials),
            command_index=0, total_number_of_commands=1,
            special_days=ListContainer(Container(date=date, day_id_ref=day)
                                       for date, day in specials))), None),
    ]  # fmt: skip
    if any(len(refs) != 7 for _, refs in weeks):
        raise TransformError("a WeekProfile does not name a day for each of the 7 days")
    return dated


def _gcs05(body: etree._Element, counter: int, now: _dt.datetime) -> bytes:
    """GCS05: the GBZ of _gas_prepay_configuration's commands, one component each (sequence
    0, 1, ... as RTDS's), the low credit warning level's with its from-date-time."""
    built = _gas_prepay_configuration(body, datetime_to_seconds2000(now))
    components = ListContainer(
        Container(
            control=Container(last_component=n == len(built) - 1, encrypted=False,
                              from_date_time=dated is not None, reserved=0),
            cluster_id=cluster,
            body=Container(from_date_time=dated, encrypted_frame=None, frame=Container(
                frame_control=Container(
                    frame_type="cluster_specific", manufacturer_specific=False,
                    direction="client_to_server" if cluster in _TO_SERVER
                    else "server_to_client",
                    disable_default_response=False, reserved=0),
                manufacturer_code=None, sequence=n, command_id=command_id, payload=payload)),
        )
        for n, ((cluster, command_id, payload), dated) in enumerate(built)
    )  # fmt: skip
    return encode_payload("gbz", Container(profile=PROFILE_SMART_ENERGY,
                                           component_count=len(built), components=components))  # fmt: skip


_gcs05.wants_now = True  # type: ignore[attr-defined]
FORMS[("2.1", "GCS05")] = _Form("GCS05", _gcs05)
DEVICES_OF["GCS05"] = ("gsme",)


# --- 8.5 Service Opt-out: the ACB's key agreement cell replaced by the ACB itself
# --- (CS02bACBByACB; MAC'd by the ACB, not signed) --------------------------------------------


def _cs02b_acb(body: etree._Element, counter: int) -> bytes:
    """8.5: mode 4 (authorised by the ACB's MAC, so no cell named), the ACB's own counter and
    new floor, its new key agreement certificate, the path; no execution date-time: 8.5 is
    DSP future-dated (future.py holds it until then), as RTDS's carries none."""
    control = _der_integer(4)
    if (_text(body, "ApplyTimeBasedCPVChecks") or "").strip() == "false":
        control += _der(0x81, b"\x01")
    control += _der_integer(counter, 0x83)
    control += _der_integer(int(_required_text(body, "ACBFloorSeqNumber")), 0x84)
    found = _one(body, "ReplacementCertificates").find(f"{{{SR}}}KeyAgreementCertificate")
    if found is None:
        raise TransformError("8.5 names no KeyAgreementCertificate")
    cell = _der(0x30, _der_integer(4) + _der(0x03, _CREDENTIAL_CELLS[1][1]))
    items = _der(0x30, _certificate(found) + cell)
    path = b"".join(_certificate(c) for c in
                    _one(body, "CertificationPathCertificates").findall(f"{{{SR}}}Certificate"))  # fmt: skip
    return _der(0x30, _der(0x30, control) + _der(0x30, items) + _der(0x30, path))


FORMS[("8.5", "CS02bACBByACB")] = _Form("CS02bACBByACB", _cs02b_acb, via_acb=True)
DEVICES_OF["CS02bACBByACB"] = ("esme",)


# --- 6.20.2 the Export Supplier's export MPAN (ECS39b) and 9.1 an Other User's Customer
# Identification Number (ECS50): both from users the meter holds no anchor for, so the ACB
# sends them on their behalf (dsp.on_behalf), as RTDS's --------------------------------------

EXPORT_MPAN = bytes.fromhex("0100000002FF")  # 1-0:0.0.2.255, which 6.2.7 (ECS40) reads
CUSTOMER_IDENTIFICATION_NUMBER = bytes.fromhex("0003600D01FF")  # 0-3:96.13.1.255
CIN_DIGITS = 4  # RTDS's CIN: four ASCII digits


def _ecs39b(body: etree._Element, counter: int) -> bytes:
    """6.20.2: set the export MPAN, ASCII digits."""
    _not_dsp_future_dated(body, "ECS39b")
    mpan = _required_text(body, "ExportMPAN").strip()
    if not mpan.isdigit():
        raise TransformError(f"6.20.2 ExportMPAN {mpan!r} is not numeric")
    specs = [cosem_spec("set", 1, EXPORT_MPAN, 2)]
    return access_request(counter, specs, [_item("octet-string", mpan.encode("ascii"))])


def new_cin() -> str:
    """A Customer Identification Number the DCC makes for 9.1: random decimal digits."""
    return "".join(str(secrets.randbelow(10)) for _ in range(CIN_DIGITS))


def _ecs50(body: etree._Element, counter: int, cin: Callable[[], str] = new_cin) -> bytes:
    """9.1: set the meter's Customer Identification Number to one the DCC makes (the meter
    shows it to the consumer, who gives it to the Other User)."""
    number = cin()
    if len(number) != CIN_DIGITS or not number.isdigit():
        raise TransformError(f"a CIN is {CIN_DIGITS} digits, not {number!r}")
    specs = [cosem_spec("set", 1, CUSTOMER_IDENTIFICATION_NUMBER, 2)]
    return access_request(counter, specs, [_item("octet-string", number.encode("ascii"))])


FORMS[("6.20.2", "ECS39b")] = _Form("ECS39b", _ecs39b)
FORMS[("9.1", "ECS50")] = _Form("ECS50", _ecs50)


# --- 1.5 in credit mode at the ESME: the meter balance reset --------------------------------


def _ecs04b(body: etree._Element, counter: int) -> bytes:
    """1.5's reset (ECS04b, "set the meter balance to zero"): the accounting credit's
    set_amount_to_value (Credit method 2) with 0. No RTDS case shows ECS04b: the form is our
    reading of the DLMS Credit class. A credit mode adjustment has no ESME use case."""
    mode = body.find(f"{{{SR}}}CreditMode")
    if mode is None:
        mode = _one(body, "PrepaymentMode")
    _one(mode, "ResetMeterBalance")
    specs = [cosem_spec("action", 112, METER_BALANCE, 2)]
    return access_request(counter, specs, [_item("double-long", 0)])


FORMS[("1.5", "ECS04b")] = _Form("ECS04b", _ecs04b)


# --- 8.12.1 Restore HAN Device Log (CCS03), sent by the ACB on the user's behalf: the replaced
# hub's device log, as its CCS07 backup gave it to the DSP, restored at the new hub ----------


@dataclass(frozen=True)
class HubBackup:
    """A Comms Hub Function's device log as its CCS07 backup_pan reported it: the network's
    extended PAN ID and each device with its link key."""

    extended_pan: bytes
    entries: tuple[tuple[bytes, bytes], ...]


RESTORE_PAN = 5  # the CHF device log's method restore_pan (CCS03)


def hub_backup(response: bytes) -> HubBackup | None:
    """The device log backup in a CHF's CCS07 response (its first data item), None when the
    response is not a successful one."""
    try:
        payload = decode(response).payload
        if str(payload.results[0].result) != "success":
            return None
        when, pan, entries = (v.value for v in payload.data[0].value)
        return HubBackup(bytes(pan), tuple((bytes(e.value[0].value), bytes(e.value[1].value))
                                           for e in entries))  # fmt: skip
    except (GbcsError, AttributeError, IndexError, TypeError, ValueError):
        return None


def _ccs03(body: etree._Element, counter: int, backup: HubBackup | GpfBackup | None) -> bytes:
    """8.12.1: restore_pan of the new hub's device log with the old hub's backup."""
    if not isinstance(backup, HubBackup):
        raise TransformError("CCS03 needs the replaced hub's device log backup")
    entries = [_item("structure", ListContainer([_item("octet-string", eui),
                                                 _item("octet-string", key)]))
               for eui, key in backup.entries]  # fmt: skip
    value = _item("structure", ListContainer([_item("octet-string", backup.extended_pan),
                                              _item("array", ListContainer(entries))]))  # fmt: skip
    specs = [cosem_spec("action", 104, bytes.fromhex(CHF_DEVICE_LOGS[0]), RESTORE_PAN)]
    return access_request(counter, specs, [value])


FORMS[("8.12.1", "CCS03")] = _Form("CCS03", _ccs03, via_acb=True)
DEVICES_OF["CCS03"] = ("chf",)


# --- 8.12.2 Restore GPF Device Log (GCS59), sent by the ACB on the user's behalf: the replaced
# GPF's device log, as its last GCS62 backup alert gave it to the DSP, restored at the new GPF


@dataclass(frozen=True)
class GpfBackup:
    """A GPF's device log as its GCS62 backup alert reported it: (EUI, GBCS device type code)
    per device."""

    entries: tuple[tuple[bytes, int], ...]


GPF_BACKUP_ALERT = 0x00B2  # GCS62's message code


def gpf_backup(alert: Message) -> GpfBackup | None:
    """The device log in a GPF's GCS62 alert, None for any other message."""
    if alert.message_code != GPF_BACKUP_ALERT or alert.cra != "alert":
        return None
    try:
        entries = alert.payload.fields.device_log_entries
        return GpfBackup(tuple((bytes(e.device_id), int(e.device_type)) for e in entries))
    except (AttributeError, TypeError, ValueError):
        return None


def _gcs59(body: etree._Element, counter: int, backup: HubBackup | GpfBackup | None) -> bytes:
    """8.12.2: the replaced GPF's backup, to be joined at the new GPF (RTDS's layout)."""
    if not isinstance(backup, GpfBackup):
        raise TransformError("GCS59 needs the replaced GPF's device log backup")
    entries = [asn1.sequence(asn1.octet_string(eui), asn1.integer(kind))
               for eui, kind in backup.entries]  # fmt: skip
    return asn1.encode_tree(asn1.sequence(asn1.sequence(*entries)))


FORMS[("8.12.2", "GCS59")] = _Form("GCS59", _gcs59, via_acb=True)
DEVICES_OF["GCS59"] = ("gpf",)


# 4.14 for an unknown remote party (URP): the ACB sends the ESME's read naming the party and
# its KA certificate, the meter encrypts for that certificate (esme/protected.py)
FORMS[("4.14", "ECS21b")].build.remote_party = True  # type: ignore[attr-defined]


# --- 1.7 Reset Tariff Block Counter Matrix at the ESME (ECS05, esme/blocks.py) ---------------

RESET_BLOCK_COUNTERS = 99  # the tariff block counter matrix script table's reset selector


def _ecs05(body: etree._Element, counter: int) -> bytes:
    """1.7 (ECS05): execute the tariff block counter matrix's script table (0-0:10.0.100.255)
    with selector 99, as RTDS's; the request names nothing else and is never future-dated."""
    specs = [cosem_spec("action", 9, SCRIPTS, 1)]
    return access_request(counter, specs, [_item("long-unsigned", RESET_BLOCK_COUNTERS)])


FORMS[("1.7", "ECS05")] = _Form("ECS05", _ecs05)
