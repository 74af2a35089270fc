"""The ESME's alert and event behaviours: 6.22 Configure Alert Behaviour (ECS25a/a1/a2/a3 from
the Supplier, ECS25b/b3 from the Network Operator) and 6.2.10 reading them back (ECS25r1,
ECS25r2). The DSP's command from each template is RTDS's (a mask of the codes named and their
new values, each code's bit its low byte from the end); RTDS's commands get RTDS's responses
byte for byte, its ERROR cases (a configuration object failing) too; a set changes only the
codes it names, as the next read shows; each party configures only its own. Parametrised by
template or RTDS file name."""

from __future__ import annotations

import pytest
from catalogue_helpers import CATALOGUE, RTDS, execute, read_hex, recounted

from emulator.backoffice import duis
from emulator.backoffice.transform import TransformError, transform
from gbcs import decode
from gbcs.message import encode_apdu
from gbcs.security import mac_apdu

SUPPLIER, NETWORK_OPERATOR = bytes.fromhex("90B3D51F30010000"), bytes.fromhex("90B3D51F30020000")
TEMPLATES = sorted(p.name for p in CATALOGUE.glob("ECS25*_REQUEST_DUIS.XML"))
SUCCESSES = sorted(p.name for p in RTDS.glob("*_ECS25*/ECS25*_SUCCESS_COMMAND_GBCS.HEX"))
#: RTDS's ERROR command -> the object whose fault it shows (hardware_fault, the rest
#: other_reason)
ERRORS = {
    **{f"ECS25{u}_6.22_ERROR_COMMAND_GBCS.HEX": obis
       for u, obis in (("a", "001E61620BFF"), ("a1", "001E61620CFF"), ("a2", "001E61620DFF"),
                       ("a3", "001E61620EFF"), ("b", "002161620BFF"), ("b3", "002161620EFF"))},
    "ECS25r1_6.2.10_ERROR_COMMAND_GBCS.HEX": "001E616211FF",
    "ECS25r2_6.2.10_ERROR_COMMAND_GBCS.HEX": "002161620FFF",
}  # fmt: skip
#: the RTDS command each template's is byte for byte (counter aside): its SUCCESS one, but
#: 6.22's ECS25a template is RTDS's ERROR command (RTDS's SUCCESS names other codes)
SAME_AS = {"ECS25a_6.22": "ERROR"}


def rtds_file(name: str) -> bytes:
    return read_hex(next(RTDS.glob(f"*/{name}")))


def _request(template: str, originator: bytes, counter: int, edit=None):
    root = duis.parse((CATALOGUE / template).read_bytes())
    if edit is not None:
        edit(root)
    duis.set_originator(root, originator, counter)
    return duis.parse_request(root)


def _content(message) -> bytes:
    end = len(message.apdu) - (0 if message.signature is None else 1 + len(message.signature))
    return bytes(message.apdu[message.content_offset - message.apdu_offset : end])


def _drop_polyphase(root):
    for node in list(root.iter(f"{{{duis.SR}}}NetworkOperatorESMEPolyPhase")):
        node.getparent().remove(node)


def test_every_use_case_has_a_template_and_rtds_cases():
    assert len(TEMPLATES) == 8
    assert {n.split("_")[0] for n in TEMPLATES} == {n.split("_")[0] for n in SUCCESSES}
    assert {n.split("_")[0] for n in ERRORS} == {n.split("_")[0] for n in SUCCESSES}


@pytest.mark.parametrize("template", TEMPLATES)
def test_the_command_from_the_template_is_rtds(template):
    stem = "_".join(template.split("_")[:2])
    rtds = decode(rtds_file(f"{stem}_{SAME_AS.get(stem, 'SUCCESS')}_COMMAND_GBCS.HEX"))
    # RTDS's ECS25b names no polyphase alert: the template's less its 8003 is RTDS's
    edit = _drop_polyphase if stem == "ECS25b_6.22" else None
    role = "ED" if bytes(rtds.originator) == NETWORK_OPERATOR else "IS"
    ours = transform(_request(template, bytes(rtds.originator), rtds.counter, edit), role=role)
    assert ours.use_case.name == stem.split("_")[0]
    assert ours.unsigned_command() == encode_apdu(rtds.header, _content(rtds), b"")


def test_the_polyphase_alert_of_the_template_is_its_own_bit():
    """ECS25b's template enables 8003 (phase 1's average over-voltage) besides RTDS's two."""
    with_it = transform(_request("ECS25b_6.22_SUCCESS_REQUEST_DUIS.XML", NETWORK_OPERATOR, 1))
    without = transform(
        _request("ECS25b_6.22_SUCCESS_REQUEST_DUIS.XML", NETWORK_OPERATOR, 1, _drop_polyphase)
    )
    a, b = (bytes(decode(t.unsigned_command()).payload.data[0].value.octets)
            for t in (with_it, without))  # fmt: skip
    # bit 3 from the end of the mask (octet 31) and of the values (octet 63)
    assert [i for i in range(64) if a[i] != b[i]] == [31, 63]
    assert a[31] ^ b[31] == a[63] ^ b[63] == 0x08


@pytest.mark.parametrize("name", SUCCESSES)
def test_rtds_command_is_answered_with_rtds_response(keys, name):
    [execution], _ = execute(keys, [rtds_file(name)])
    assert execution.outcome == "executed", execution.outcome
    assert execution.response == rtds_file(name.replace("_COMMAND_", "_RESPONSE_"))


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_rtds_error_case_is_answered_as_rtds(keys, name):
    async def fault(premises):
        premises.esme.object_faults = {bytes.fromhex(ERRORS[name])}

    [execution], premises = execute(keys, [rtds_file(name)], before=fault)
    assert execution.response == rtds_file(name.replace("_COMMAND_", "_RESPONSE_"))
    assert premises.esme.stats["executed"] == 1


def _bits(read_response: bytes, index: int) -> set[int]:
    """The alert codes' low bytes a behaviours string of the read has set."""
    octets = bytes(decode(read_response).payload.data[index].value.octets)
    return {255 - i for i in range(256) if octets[i // 8] & (0x80 >> (i % 8))}


def test_a_set_changes_only_the_codes_it_names_as_the_read_shows(keys):
    """ECS25a1 (810D on, 8119 and 8168 off for HAN devices) and ECS25b3 (8014 logged, 8015
    not), then both parties' reads: RTDS's behaviours but those codes."""
    supplier_read = rtds_file("ECS25r1_6.2.10_SUCCESS_COMMAND_GBCS.HEX")
    operator_read = rtds_file("ECS25r2_6.2.10_SUCCESS_COMMAND_GBCS.HEX")
    han = transform(_request("ECS25a1_6.22_SUCCESS_REQUEST_DUIS.XML", SUPPLIER, 5002), role="IS")
    logged = transform(
        _request("ECS25b3_6.22_SUCCESS_REQUEST_DUIS.XML", NETWORK_OPERATOR, 5002), role="ED"
    )
    commands = [recounted(keys, supplier_read, 5000), recounted(keys, operator_read, 5001),
                mac_apdu(han.unsigned_command(), keys.keystore),
                mac_apdu(logged.unsigned_command(), keys.keystore),
                recounted(keys, supplier_read, 5003), recounted(keys, operator_read, 5004)]  # fmt: skip
    executions, _ = execute(keys, commands)
    assert [e.outcome for e in executions] == ["executed"] * 6
    before_s, before_o, _, _, after_s, after_o = (e.response for e in executions)
    assert _bits(before_s, 1) == {0x0D, 0x19, 0x68, 0xAA, 0xAB, 0xC4}
    assert _bits(after_s, 1) == {0x0D, 0xAA, 0xAB, 0xC4}
    assert [_bits(after_s, n) for n in (0, 2, 3)] == [_bits(before_s, n) for n in (0, 2, 3)]
    assert _bits(before_o, 1) == {0x14, 0x15} and _bits(after_o, 1) == {0x14}
    assert _bits(after_o, 0) == _bits(before_o, 0) == {0x14, 0x15}


def test_a_party_may_not_set_the_others_behaviours(keys):
    """RTDS's Network Operator's ECS25b sent by the Supplier: refused, nothing changed."""
    rtds = decode(rtds_file("ECS25b_6.22_SUCCESS_COMMAND_GBCS.HEX"))
    header = rtds.header
    header.originator = SUPPLIER
    forged = mac_apdu(encode_apdu(header, _content(rtds), b""), keys.keystore)
    read = recounted(keys, rtds_file("ECS25r2_6.2.10_SUCCESS_COMMAND_GBCS.HEX"), 5000)
    [refused, execution], premises = execute(keys, [forged, read])
    assert refused.outcome == "rejected:role-not-permitted"
    assert premises.esme.stats["rejected:role-not-permitted"] == 1
    assert execution.response is not None
    assert _bits(execution.response, 0) == {0x14, 0x15}


def test_the_dsp_picks_the_read_by_the_sender_and_refuses_the_others_settings():
    read = _request("ECS25r1_6.2.10_SUCCESS_REQUEST_DUIS.XML", NETWORK_OPERATOR, 1)
    assert transform(read, role="ED").use_case.name == "ECS25r2"
    assert transform(read, role="IS").use_case.name == "ECS25r1"
    with pytest.raises(TransformError, match="not the sender's") as refused:
        transform(_request("ECS25a_6.22_SUCCESS_REQUEST_DUIS.XML", SUPPLIER, 1), role="ED")
    assert refused.value.code == "E11"


@pytest.mark.parametrize(
    ("element", "text", "match"),
    [("x810D", "Maybe", "not Enable or Disable"), ("x8014", "Enable", "not configured in")],
)
def test_a_bad_setting_is_refused(element, text, match):
    def edit(root):
        common = root.find(f".//{{{duis.SR}}}SupplierESMECommon")
        for child in list(common):
            common.remove(child)
        node = common.makeelement(f"{{{duis.SR}}}{element}")
        node.text = text
        common.append(node)

    request = _request("ECS25a1_6.22_SUCCESS_REQUEST_DUIS.XML", SUPPLIER, 1, edit)
    with pytest.raises(TransformError, match=match):
        transform(request, role="IS")


def test_an_alert_turned_off_is_not_sent(keys):
    """810D (Supplier) and 8015 (Network Operator) are sent as RTDS's meter starts; after
    ECS25a turns 810D off and ECS25b 8015, neither is, each counted; a critical 8F66 always."""

    def operator_edit(root):
        root.find(f".//{{{duis.SR}}}x8015").text = "Disable"

    operator_off = transform(
        _request("ECS25b_6.22_SUCCESS_REQUEST_DUIS.XML", NETWORK_OPERATOR, 5000, operator_edit),
        role="ED",
    )

    def supplier_edit(root):
        root.find(f".//{{{duis.SR}}}x810D").text = "Disable"

    supplier_off = transform(
        _request("ECS25a_6.22_SUCCESS_REQUEST_DUIS.XML", SUPPLIER, 5000, supplier_edit),
        role="IS",
    )
    sent: list[bytes] = []

    async def before(premises):
        esme = premises.esme
        esme.alert_sink = sent.append
        now = esme.utc_now()
        assert esme.raise_alert(SUPPLIER, 0x810D, now, [])
        assert esme.raise_alert(NETWORK_OPERATOR, 0x8015, now, [])

    commands = [mac_apdu(t.unsigned_command(), keys.keystore) for t in (supplier_off, operator_off)]
    executions, premises = execute(keys, commands, before=before)
    assert [e.outcome for e in executions] == ["executed"] * 2
    esme = premises.esme
    now = esme.utc_now()
    assert esme.raise_alert(SUPPLIER, 0x810D, now, []) == b""
    assert esme.raise_alert(NETWORK_OPERATOR, 0x8015, now, []) == b""
    assert esme.raise_alert(NETWORK_OPERATOR, 0x8014, now, [])  # still on
    assert esme.raise_alert(SUPPLIER, 0x8F66, now, [])  # critical: not configurable
    assert [decode(a).payload.notification.value[0].value for a in sent] == [
        0x810D, 0x8015, 0x8014, 0x8F66]  # fmt: skip
    assert esme.stats["alert-off:810D"] == 1 and esme.stats["alert-off:8015"] == 1
