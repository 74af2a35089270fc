"""DUIS request → GBCS: pre-commands byte-identical to the RTDS PRECOMMAND for the same
template; non-critical commands' grouping header and payload equal to the RTDS COMMAND
without its MAC (and without the ACB's signature). Parametrised by template file name."""

from __future__ import annotations

import pytest
from backoffice_helpers import DUIS, RTDS
from lxml import etree

from emulator.backoffice import duis
from emulator.backoffice import transform as transform_module
from emulator.backoffice.transform import AcbContext, JoinPartner, TransformError, transform
from gbcs import decode
from gbcs.asn1 import DEVICE_TYPES
from gbcs.message import encode_apdu

# template → the use case named in its file name, where the target device decides it
DEVICE_DECIDES = {"CS04ACNonCritical": "CS04AC", "CS04B": "CS04B", "CS08": "CS08",
                  "ECS52": "ECS52"}  # fmt: skip

CRITICAL = [
    "ECS47Activate_7.5_SUCCESS_REQUEST_DUIS.XML",
    "ECS47Deactivate_7.6_SUCCESS_REQUEST_DUIS.XML",
    "ECS47Reset_7.8_SUCCESS_REQUEST_DUIS.XML",
    "CS04ACCritical_8.8.1_SUCCESS_REQUEST_DUIS.XML",
    # the auxiliary-controller services (6.14.x, 7.13, 7.16): every template of each
    *sorted(p.name for p in DUIS.glob("ECS46[acd]_6.14.*_REQUEST_DUIS.XML")),
    *sorted(p.name for p in DUIS.glob("ECS47[ae]_7.1[36]_*_REQUEST_DUIS.XML")),
]
NON_CRITICAL = [
    "ECS61a_7.7_ALL_OPTIONALS_SUCCESS_REQUEST_DUIS.XML",
    "ECS62Add_7.9_SUCCESS_REQUEST_DUIS.XML",
    "ECS62Remove_7.10_SUCCESS_REQUEST_DUIS.XML",
    "ECS61c_7.11_SUCCESS_REQUEST_DUIS.XML",
    "CS04ACNonCritical_8.8.2_SUCCESS_REQUEST_DUIS.XML",
    "CS04B_8.8.2_SUCCESS_REQUEST_DUIS.XML",
    "CCS01_8.11_SUCCESS_REQUEST_DUIS.XML",
    "CCS02_8.11_SUCCESS_REQUEST_DUIS.XML",
    "ECS52_11.2_SUCCESS_REQUEST_DUIS.XML",
    "ECS61d_7.14_SUCCESS_REQUEST_DUIS.XML",  # by the ACB, as RTDS's success case
    "ECS61e_7.15_SUCCESS_REQUEST_DUIS.XML",
]
CRITICAL_JOINS = [
    "CS03A1_8.7.1_SUCCESS_REQUEST_DUIS.XML",
    "CS03A2Critical_8.7.1_SUCCESS_REQUEST_DUIS.XML",
    "CS03CCritical_8.7.1_SUCCESS_REQUEST_DUIS.XML",
]
NON_CRITICAL_JOINS = [
    "CS03A2NonCritical_8.7.2_SUCCESS_REQUEST_DUIS.XML",
    "CS03B_8.7.2_SUCCESS_REQUEST_DUIS.XML",
    "CS03CNonCritical_8.7.2_SUCCESS_REQUEST_DUIS.XML",
]
# The RTDS device population as the DSP's inventory holds it (gbcs.asn1.DEVICE_TYPES).
INVENTORY = {"00DB12345678909A": "hcalcs", "00DB123456789093": "esme",
             "00DB12345678909C": "gpf", "00DB123456789098": "ppmid",
             "00DB123456789094": "gsme"}  # fmt: skip


def request_of(name: str) -> duis.Request:
    return duis.parse_request(duis.parse((DUIS / name).read_bytes()))


def rtds_file(name: str, kind: str):
    """The RTDS file of the same use case, SRV and variant (…_ALCS_ACTIVATE_SUCCESS_…) as the
    template; the folder's only SUCCESS file of that kind where the template names none."""
    use_case, srv = name.split("_")[:2]
    folder = RTDS / f"{srv}_{use_case}"
    same = folder / name.replace("_REQUEST_DUIS.XML", f"_{kind}_GBCS.HEX")
    found = [same] if same.exists() else sorted(folder.glob(f"*_SUCCESS_{kind}_GBCS.HEX"))
    assert len(found) == 1, f"{srv}_{use_case}: {found}"
    return bytes.fromhex(found[0].read_text().strip())


def without_signature_and_mac(data: bytes) -> bytes:
    """The RTDS command's DF APDU rebuilt with no signature field and no DD/MAC around it."""
    message = decode(data)
    end = len(message.apdu) - (0 if message.signature is None else 1 + len(message.signature))
    content = message.apdu[message.content_offset - message.apdu_offset : end]
    return encode_apdu(message.header, content, None)


def acb_of(data: bytes) -> AcbContext:
    """The ACB identity and counter: DSP state, not in the template; taken from the vector."""
    message = decode(data)
    return AcbContext(message.originator, message.counter)


def test_every_template_is_classified():
    """Every DUIS template in the shared folder is transformed by one of the tests below."""
    names = {p.name for p in DUIS.glob("*_REQUEST_DUIS.XML")}
    classified = set(CRITICAL) | set(NON_CRITICAL) | set(CRITICAL_JOINS) | set(NON_CRITICAL_JOINS)
    classified |= {"CS08_11.2_SUCCESS_REQUEST_DUIS.XML"}
    assert names == classified
    assert len(CRITICAL) == 4 + 10 + 6


@pytest.mark.parametrize("name", CRITICAL)
def test_precommand_is_byte_identical_to_rtds(name):
    transformed = transform(request_of(name))
    assert transformed.critical and transformed.user_signs
    assert transformed.precommand() == rtds_file(name, "PRECOMMAND")


@pytest.mark.parametrize("name", CRITICAL)
def test_precommand_equals_the_signed_rtds_command_minus_signature_and_mac(name):
    assert transform(request_of(name)).precommand() == without_signature_and_mac(
        rtds_file(name, "COMMAND")
    )


@pytest.mark.parametrize("name", NON_CRITICAL)
def test_command_matches_rtds_header_and_payload(name):
    command = rtds_file(name, "COMMAND")
    use_case = DEVICE_DECIDES.get(name.split("_")[0])
    transformed = transform(request_of(name), use_case=use_case, acb=acb_of(command))
    assert transformed.precommand() == without_signature_and_mac(command)
    message = decode(command)
    assert transformed.acb_signs == (message.signature not in (None, b""))
    assert not transformed.user_signs


def test_cs08_matches_except_the_supplementary_remote_party():
    """The CS08 template names the ACB itself as requester, while the RTDS command names
    the Supplier as supplementary remote party: everything else must match."""
    name = "CS08_11.2_SUCCESS_REQUEST_DUIS.XML"
    command = rtds_file(name, "COMMAND")
    transformed = transform(request_of(name), use_case="CS08", acb=acb_of(command))
    expected = decode(command)
    ours = decode(transformed.unsigned_command())
    assert ours.header.other_information.message_code == expected.use_case.code
    assert (ours.originator, ours.target, ours.counter) == (
        expected.originator,
        expected.target,
        expected.counter,
    )
    assert ours.header.other_information.supplementary_remote_party_counter == (
        expected.header.other_information.supplementary_remote_party_counter
    )
    assert (
        transformed.content
        == expected.apdu[expected.content_offset - expected.apdu_offset : len(expected.apdu) - 1]
    )


def join_inputs(name: str, command: bytes) -> dict:
    """Use case (the device pair decides; here from the file name), the partner's type from
    the inventory, and for Method C the partner's certificate. That certificate is SMKI
    state and the RTDS keystore holds a different one, so it is taken from the vector."""
    use_case = name.split("_")[0].replace("NonCritical", "").replace("Critical", "")
    request = request_of(name)
    other = request.body.findtext(f"{{{duis.SR}}}OtherDeviceID").replace("-", "")
    device_type = {v: k for k, v in DEVICE_TYPES.items()}[INVENTORY[other]]
    certificate = None
    if use_case == "CS03C":
        certificate = bytes(decode(command).payload.fields.other_device_certificate)
    return dict(use_case=use_case, partner=JoinPartner(device_type, certificate))


@pytest.mark.parametrize("name", CRITICAL_JOINS)
def test_join_precommand_is_byte_identical_to_rtds(name):
    precommand = rtds_file(name, "PRECOMMAND")
    transformed = transform(request_of(name), **join_inputs(name, precommand))
    assert transformed.user_signs
    assert transformed.precommand() == precommand


@pytest.mark.parametrize("name", NON_CRITICAL_JOINS)
def test_join_command_matches_rtds_header_and_payload(name):
    command = rtds_file(name, "COMMAND")
    inputs = join_inputs(name, command)
    transformed = transform(request_of(name), acb=acb_of(command), **inputs)
    assert transformed.precommand() == without_signature_and_mac(command)
    assert transformed.acb_signs == (decode(command).signature not in (None, b""))


def test_join_without_partner_is_refused():
    with pytest.raises(TransformError, match="JoinPartner"):
        transform(request_of(CRITICAL_JOINS[0]), use_case="CS03A1")


def test_method_c_join_without_certificate_is_refused():
    with pytest.raises(TransformError, match="certificate"):
        transform(request_of(CRITICAL_JOINS[2]), use_case="CS03C", partner=JoinPartner(5))


def test_acb_form_without_acb_context_is_refused():
    with pytest.raises(TransformError, match="ACB"):
        transform(request_of("CCS01_8.11_SUCCESS_REQUEST_DUIS.XML"))


def test_duration_and_switch_come_from_the_body():
    request = request_of("ECS47Deactivate_7.6_SUCCESS_REQUEST_DUIS.XML")
    request.body[0].set("index", "2")
    request.body[0][0].text = "900"
    payload = decode(transform(request).precommand()).payload
    assert payload.specifications[0].instance_id == bytes([0, 0, 94, 44, 118, 2])
    assert [item.value for item in payload.data] == [900, 0x0212]


def test_bad_switch_index_is_refused():
    request = request_of("ECS47Reset_7.8_SUCCESS_REQUEST_DUIS.XML")
    request.body[0].set("index", "6")
    with pytest.raises(TransformError, match="index 6"):
        transform(request)


def test_controller_level_and_direction_come_from_the_body():
    request = request_of("ECS47a_7.13_ALCS_DEACTIVATE_SUCCESS_REQUEST_DUIS.XML")
    request.body.set("auxiliaryControllerN", "4")
    request.body.find(f"{{{duis.SR}}}CommandedStateLevel").text = "75"
    etree.SubElement(request.body, f"{{{duis.SR}}}InputFromControlledLoad")
    payload = decode(transform(request).precommand()).payload
    assert payload.specifications[0].instance_id == bytes([0, 0, 94, 44, 120, 1])
    assert payload.data[2].value == 0x244B  # input, controller 4, level 75


@pytest.mark.parametrize("attribute,value,match", [("auxiliaryControllerN", "6", "controller 6"),
                                                   (None, "101", "level 101")])  # fmt: skip
def test_bad_controller_or_level_is_refused(attribute, value, match):
    request = request_of("ECS47a_7.13_APC_OUTPUT_SUCCESS_REQUEST_DUIS.XML")
    if attribute:
        request.body.set(attribute, value)
    else:
        request.body.find(f"{{{duis.SR}}}CommandedStateLevel").text = value
    with pytest.raises(TransformError, match=match):
        transform(request)


def test_execution_date_time_comes_from_the_body():
    """Absent = now (all 00), 3000-12-31 = cancel (all FF), else that instant."""
    request = request_of("ECS46c_6.14.2_FUTURE_DATED_ALL_OPTIONALS_SUCCESS_REQUEST_DUIS.XML")
    node = request.body.find(f"{{{duis.SR}}}ExecutionDateTime")
    node.text = "2031-02-03T04:05:06.00Z"
    data = decode(transform(request).precommand()).payload.data
    assert bytes(data[-1].value) == bytes.fromhex("07EF0203FF04050600 8000FF".replace(" ", ""))
    node.text = "3000-12-31T00:00:00.00Z"
    assert bytes(decode(transform(request).precommand()).payload.data[-1].value)[:9] == b"\xff" * 9
    request.body.remove(node)
    assert bytes(decode(transform(request).precommand()).payload.data[-1].value)[:9] == bytes(9)


@pytest.mark.parametrize(
    "counter", [0, 1, 0x7F, 0xFFFF, 0xFFFFFF, 0x1000000, 17_650_000_000_000, (1 << 64) - 1]
)
def test_the_7_7_payload_from_its_template_equals_a_fresh_encode(counter):
    """ECS61a is encoded once and only its long-invoke-id set per request: byte for byte what
    encoding it afresh gives, at every counter width (the id keeps the low 24 bits)."""
    template = DUIS / "ECS61a_7.7_ALL_OPTIONALS_SUCCESS_REQUEST_DUIS.XML"
    request = duis.parse_request(duis.parse(template.read_bytes()))
    fresh = transform_module._ecs61a_encode(counter)
    assert transform_module._ecs61a(request.body, counter) == fresh
    assert int.from_bytes(fresh[1:5], "big") == 0x20000000 | (counter & 0xFFFFFF)
