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

import datetime as _dt
from collections.abc import Callable
from dataclasses import dataclass

from construct import Container, ListContainer
from lxml import etree

from gbcs import asn1
from gbcs.errors import GbcsError
from gbcs.message import encode_apdu
from gbcs.payload import encode as encode_payload
from gbcs.primitives import datetime_to_seconds2000
from gbcs.security import apdu_layout, verify_apdu
from gbcs.usecases import UseCase, by_name

from .duis import SR, BadRequest, Request, eui_from_text
from .response_codes import ResponseCode

COMMAND = 1  # CRA flag
INVOKE_PRIORITY = 0x20000000  # the high bits of every RTDS long-invoke-id (priority high)
SCRIPT_TABLE = bytes.fromhex("00000A0067FF")  # 0-0:10.0.103.255, auxiliary controller commands


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
        return bool(self.use_case.critical)

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


def _spec(kind: str, class_id: int, obis: bytes, attribute: int, selection=None) -> Container:
    return Container(
        kind=kind,
        class_id=class_id,
        instance_id=obis,
        attribute_or_method=attribute,
        selection=selection,
    )


def _access_request(counter: int, specs: list, data: list) -> bytes:
    value = Container(
        tag=b"\xd9",
        long_invoke_id_and_priority=INVOKE_PRIORITY | (counter & 0xFFFFFF),
        date_time=None,
        specifications=ListContainer(specs),
        data=ListContainer(data),
    )
    return encode_payload("dlms-access-request", value)


def _obis(a: int, b: int, c: int, d: int, e: int, f: int) -> bytes:
    return bytes([a, b, c, d, e, f])


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


# --- content builders, one per use case; each takes (body, counter) -------------------------


def _ecs47_set_state(body: etree._Element, counter: int) -> bytes:
    """7.5 / 7.6: set the activation (.1) or deactivation (.2) duration of switch n at
    0-0:94.44.(116+n), then run the script: selector n << 8 | 0x11 activate / 0x12 deactivate
    (inferred from the RTDS/DUIS pairs, primer 9.2)."""
    activate = body.tag == f"{{{SR}}}ActivateAuxiliaryLoad"
    switch = _one(body, "ActivateALCSHCALCS" if activate else "DeactivateALCSHCALCS")
    n = _index(switch)
    duration = int(switch.findtext(f"{{{SR}}}Duration"))
    specs = [
        _spec("set", 1, _obis(0, 0, 94, 44, 116 + n, 1 if activate else 2), 2),
        _spec("action", 9, SCRIPT_TABLE, 1),
    ]
    selector = n << 8 | (0x11 if activate else 0x12)
    data = [_item("long-unsigned", duration), _item("long-unsigned", selector)]
    return _access_request(counter, specs, data)


def _ecs47_reset(body: etree._Element, counter: int) -> bytes:
    """7.8: run the script that returns switch n to its calendar state (selector n << 8 | 0x20)."""
    n = _index(_one(body, "ResetALCSHCALCS"))
    specs = [_spec("action", 9, SCRIPT_TABLE, 1)]
    return _access_request(counter, specs, [_item("long-unsigned", n << 8 | 0x20)])


def _ecs61a(body: etree._Element, counter: int) -> bytes:
    """7.7: get labels, type-and-identifiers, calendar special days and schedule, and the
    output state of the five disconnect controls (primer 9.4)."""
    specs = [_spec("get", 1, _obis(0, 0, 94, 44, 0, 10 + n), 2) for n in range(1, 6)]
    specs += [_spec("get", 1, _obis(0, 0, 94, 44, 0, 20 + n), 2) for n in range(1, 6)]
    specs += [
        _spec("get", 11, _obis(0, 0, 11, 0, 3, 255), 2),
        _spec("get", 10, _obis(0, 0, 12, 0, 2, 255), 2),
    ]
    specs += [_spec("get", 70, _obis(0, n, 96, 3, 10, 255), 2) for n in range(1, 6)]
    return _access_request(counter, specs, [_item("null-data", None) for _ in specs])


def _ecs62(body: etree._Element, counter: int) -> bytes:
    """7.9 / 7.10: set 'boost controls switch n' (0-0:94.44.6.n) true to add, false to
    remove, for each switch the request names."""
    add = body.tag == f"{{{SR}}}AddAuxiliaryLoadToBoostButton"
    switches = _children(body, "AddToBoostButton" if add else "RemoveFromBoostButton")
    chosen = sorted(_index(s) for s in switches if (s.text or "").strip() in ("true", "1"))
    specs = [_spec("set", 1, _obis(0, 0, 94, 44, 6, n), 2) for n in chosen]
    data = [_item("boolean", 0xFF if add else 0x00) for _ in chosen]
    return _access_request(counter, specs, data)


def _seconds_since_2000(text: str) -> int:
    when = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.UTC)
    return datetime_to_seconds2000(when)


def _ecs61c(body: etree._Element, counter: int) -> bytes:
    """7.11: boost availability, the boost event log restricted to the DUIS ReadLogPeriod
    (range descriptor on 0-0:94.44.100.255, seconds since 2000), and the five associations."""
    period = _one(body, "ReadLogPeriod")
    start = _seconds_since_2000(period.findtext(f"{{{SR}}}StartDateTime"))
    end = _seconds_since_2000(period.findtext(f"{{{SR}}}EndDateTime"))
    restricting = _item(
        "structure",
        ListContainer(
            [
                _item("long-unsigned", 1),
                _item("octet-string", _obis(0, 0, 94, 44, 100, 255)),
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
        _spec("get", 1, _obis(0, 0, 94, 44, 7, 255), 2),
        _spec(
            "get_with_selection",
            7,
            _obis(0, 0, 99, 98, 20, 255),
            2,
            Container(selector=1, parameters=range_descriptor),
        ),
    ]
    specs += [_spec("get", 1, _obis(0, 0, 94, 44, 6, n), 2) for n in range(1, 6)]
    return _access_request(counter, specs, [_item("null-data", None) for _ in specs])


def _ecs52(body: etree._Element, counter: int) -> bytes:
    """11.2 to an ESME / CHF: get the firmware version 0-0:0.2.1.255."""
    return _access_request(counter, [_spec("get", 1, _obis(0, 0, 0, 2, 1, 255), 2)],
                           [_item("null-data", None)])  # fmt: skip


def _cs08(body: etree._Element, counter: int) -> bytes:
    """11.2 to a PPMID / HCALCS: an ASN.1 NULL."""
    return asn1.encode_tree(asn1.null())


def _cs04(body: etree._Element, counter: int) -> bytes:
    """8.8.x: the other device's EUI as an OCTET STRING."""
    other = body.findtext(f"{{{SR}}}OtherDeviceID")
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
    other = body.findtext(f"{{{SR}}}OtherDeviceID")
    fields = [
        asn1.integer(method),
        asn1.octet_string(eui_from_text(other.strip())),
        asn1.integer(partner.device_type),
    ]
    if partner.certificate is not None:
        fields.append(asn1.decode_tree(partner.certificate))
    return asn1.encode_tree(asn1.sequence(*fields))


CHF_DEVICE_LOG = _obis(0, 0, 30, 3, 0, 255)  # IC 104 ZigBee network control


def _ccs01(body: etree._Element, counter: int, device_type: int = 0) -> bytes:
    """8.11 Add: register the device with its install code (without CRC, as DUIS carries it),
    set the join timeout, open joining. `device_type` is not in the DUIS request; RTDS has 0."""
    device = eui_from_text(body.findtext(f"{{{SR}}}DeviceID").strip())
    add = _one(body, "AddDeviceToCHFWhitelist")
    install_code = bytes.fromhex(add.findtext(f"{{{SR}}}InstallCode").strip())
    timeout = int(add.findtext(f"{{{SR}}}JoinTimePeriod"))
    specs = [
        _spec("action", 104, CHF_DEVICE_LOG, 1),
        _spec("set", 104, CHF_DEVICE_LOG, 3),
        _spec("set", 104, CHF_DEVICE_LOG, 2),
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
    return _access_request(counter, specs, data)


def _ccs02(body: etree._Element, counter: int) -> bytes:
    """8.11 Remove: unregister the device from the CHF device log."""
    device = eui_from_text(body.findtext(f"{{{SR}}}DeviceID").strip())
    specs = [_spec("action", 104, CHF_DEVICE_LOG, 2)]
    return _access_request(counter, specs, [_item("octet-string", device)])


@dataclass(frozen=True)
class _Form:
    use_case: str
    build: Callable[..., bytes]
    via_acb: bool = False


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
}


def _choose(request: Request, use_case: str | None) -> _Form:
    srv = request.service_reference_variant
    if srv == "8.11" and use_case is None:
        kind = (request.body.findtext(f"{{{SR}}}RequestType") or "").strip()
        use_case = {"Add": "CCS01", "Remove": "CCS02"}.get(kind)
    candidates = [form for (s, name), form in FORMS.items() if s == srv]
    if use_case is not None:
        candidates = [form for form in candidates if form.use_case == use_case]
    if not candidates:
        raise TransformError(f"SRV {srv} as {use_case or 'any use case'} is not transformed")
    return candidates[0]


def transform(
    request: Request,
    *,
    use_case: str | None = None,
    acb: AcbContext | None = None,
    partner: JoinPartner | None = None,
) -> Transformed:
    """The GBCS command for a request. `use_case` picks the form where the devices decide
    (8.7.x, 8.8.2, 11.2); `acb` is needed for the forms the DCC sends as ACB, `partner` for
    joins."""
    form = _choose(request, use_case)
    rid = request.request_id
    if form.via_acb:
        if acb is None:
            raise TransformError(f"{form.use_case} is sent by the ACB: give its EUI and counter")
        originator, counter = acb.eui, acb.counter
        srp, srp_counter = rid.originator, rid.counter
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
            certificate=b"",
        ),
    )
    if form.build is _cs03:
        content = _cs03(request.body, form.use_case, partner)
    else:
        content = form.build(request.body, counter)
    return Transformed(case, header, content, form.via_acb)


class SignedPreCommandRefused(ValueError):
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
