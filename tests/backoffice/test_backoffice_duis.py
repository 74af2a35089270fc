"""DUIS documents gbhan builds (responses, signed pre-command requests) are schema-valid and
verify; response codes are the schema's; request ids parse and reverse."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from backoffice_helpers import SCHEMA, TEMPLATES
from lxml import etree

from emulator.backoffice import document, duis, xmlsig
from emulator.backoffice.response_codes import GBHAN_CHOSEN, MEANINGS, ResponseCode, meaning

WHEN = dt.datetime(2026, 11, 23, 12, 0, 0, 123000, tzinfo=dt.UTC)
DEACTIVATE = next(p for p in TEMPLATES if p.name.startswith("ECS47Deactivate_7.6"))


def schema_response_codes() -> set[str]:
    tree = etree.parse(str(SCHEMA / duis.SCHEMA_FILE))
    xs = "{http://www.w3.org/2001/XMLSchema}"
    node = tree.find(f"{xs}simpleType[@name='ResponseCode']")
    return {e.get("value") for e in node.iter(f"{xs}enumeration")}


def test_every_code_gbhan_uses_is_in_the_schema():
    allowed = schema_response_codes()
    assert {code.value for code in ResponseCode} <= allowed
    assert set(MEANINGS) <= allowed and GBHAN_CHOSEN <= set(MEANINGS)
    assert "schema" in meaning("E1000")  # defined there, meaning not in our sources


def test_request_id_round_trip_and_response_id():
    text = "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1001"
    request_id = duis.RequestId.parse(text)
    assert str(request_id) == text
    assert request_id.response_id() == "00-DB-12-34-56-78-90-A0:90-B3-D5-1F-30-01-00-00:1001"
    for bad in ["90-B3:00-DB:1", "90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:x"]:
        with pytest.raises(duis.BadRequest):
            duis.RequestId.parse(bad)


def test_parse_request_reads_the_header():
    request = duis.parse_request(duis.parse(DEACTIVATE.read_bytes()))
    assert (request.command_variant, request.service_reference_variant) == (4, "7.6")
    assert request.critical and request.request_id.counter == 1001
    assert request.body.tag == f"{{{duis.SR}}}DeactivateAuxiliaryLoad"


@pytest.mark.parametrize(
    "kwargs",
    [
        {"code": ResponseCode.ACCEPTED},
        {"code": ResponseCode.SUCCESS, "precommand": bytes.fromhex("DF0901")},
        {"code": ResponseCode.SUCCESS, "gbcs_payload": bytes.fromhex("DD00")},
        {"code": ResponseCode.ROLE_NOT_ELIGIBLE},
    ],
    ids=["I99", "precommand", "payload", "E2"],
)
def test_dsp_response_is_schema_valid_and_verifies(kwargs, schema, trusted, dsp):
    request_id = duis.parse_request(duis.parse(DEACTIVATE.read_bytes())).request_id
    root = duis.build_response(
        request_id=request_id,
        service_reference="7.6",
        service_reference_variant="7.6",
        when=WHEN,
        **kwargs,
    )
    data = duis.to_bytes(xmlsig.sign(root, dsp))
    checked = document.check(data, schema, trusted)
    assert checked.certificate == dsp.certificate
    assert duis.response_code_of(checked.root) == ResponseCode(kwargs["code"]).value
    assert b"2026-11-23T12:00:00.123Z" in data
    has_response_id = checked.root.find(f".//{{{duis.SR}}}ResponseID") is not None
    assert has_response_id is not kwargs["code"].value.startswith("E")


def test_signed_precommand_request_is_schema_valid(schema, trusted, supplier):
    request = duis.parse_request(duis.parse(DEACTIVATE.read_bytes()))
    root = duis.build_signed_precommand_request(request, bytes.fromhex("DF0901AA"))
    checked = document.check(duis.to_bytes(xmlsig.sign(root, supplier)), schema, trusted)
    again = duis.parse_request(checked.root)
    assert again.command_variant == 5 and again.signed_precommand == bytes.fromhex("DF0901AA")


def test_set_originator_rewrites_only_the_originator():
    root = duis.parse(DEACTIVATE.read_bytes())
    duis.set_originator(root, bytes.fromhex("90B3D51F30020000"))
    request_id = duis.parse_request(root).request_id
    assert duis.eui_text(request_id.originator) == "90-B3-D5-1F-30-02-00-00"
    assert re.fullmatch(r"00-DB-12-34-56-78-90-A0", duis.eui_text(request_id.target))
    assert request_id.counter == 1001


def test_hcalcs_change_alert_is_schema_valid_signed_by_the_dsp(schema, trusted, dsp):
    cause = duis.RequestId.parse("90-B3-D5-1F-30-01-00-00:00-DB-12-34-56-78-90-A0:1001")
    root = duis.build_dcc_alert(
        alert_code=duis.ALCS_CONFIGURATION_CHANGE_ALERT,
        body=duis.alcs_configuration_change(cause.target),
        when=WHEN,
        request_id=cause,
    )
    checked = document.check(duis.to_bytes(xmlsig.sign(root, dsp)), schema, trusted)
    esme = checked.root.findtext(f".//{{{duis.SR}}}ESMEDeviceID")
    assert esme == "00-DB-12-34-56-78-90-A0"
    code = checked.root.findtext(f".//{{{duis.SR}}}DCCAlertCode")
    assert code == duis.ALCS_CONFIGURATION_CHANGE_ALERT


def test_unsigned_alert_is_refused(schema, trusted):
    root = duis.build_dcc_alert(
        alert_code="N65", body=duis.alcs_configuration_change(bytes(8)), when=WHEN,
        request_id=None,
    )  # fmt: skip
    with pytest.raises(document.Refused) as refused:
        document.check(duis.to_bytes(root), schema, trusted)
    assert refused.value.reason == "no signature"


def test_unknown_alert_code_is_schema_invalid(schema, trusted, dsp):
    root = duis.build_dcc_alert(
        alert_code="N9999", body=duis.alcs_configuration_change(bytes(8)), when=WHEN,
        request_id=None,
    )  # fmt: skip
    with pytest.raises(document.Refused) as refused:
        document.check(duis.to_bytes(xmlsig.sign(root, dsp)), schema, trusted)
    assert refused.value.reason == "schema"
