"""Every DUIS template re-signed with its user's key validates and verifies; tampering, a
missing signature, the wrong certificate and hostile XML are refused with a typed error."""

from __future__ import annotations

from pathlib import Path

import pytest
from backoffice_helpers import NETWORK_OPERATOR, TEMPLATES
from lxml import etree

from emulator.backoffice import document, duis, xmlsig
from emulator.backoffice.response_codes import ResponseCode

TEMPLATE_NAMES = [p.name for p in TEMPLATES]
BY_NAME = {p.name: p for p in TEMPLATES}
SR = duis.SR


def resigned(name: str, signer: xmlsig.Signer) -> bytes:
    return duis.to_bytes(xmlsig.sign(duis.parse(BY_NAME[name].read_bytes()), signer))


def test_all_38_templates_are_there():
    assert len(TEMPLATES) == 38


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_template_placeholder_signature_does_not_verify(name, schema, trusted):
    with pytest.raises(document.Refused) as refused:
        document.check(BY_NAME[name].read_bytes(), schema, trusted)
    assert refused.value.reason == "unknown certificate"  # CN=U1 serial 1234567890


@pytest.mark.parametrize("name", TEMPLATE_NAMES)
def test_resigned_template_validates_and_verifies(name, schema, trusted, supplier):
    checked = document.check(resigned(name, supplier), schema, trusted)
    assert checked.certificate == supplier.certificate
    request = duis.parse_request(checked.root)
    assert request.service_reference_variant in name


@pytest.mark.parametrize("name", TEMPLATE_NAMES[::6])
def test_tampered_body_is_refused(name, schema, trusted, supplier):
    root = duis.parse(resigned(name, supplier))
    request_id = root.find(f"{{{SR}}}Header/{{{SR}}}RequestID")
    request_id.text = request_id.text.rsplit(":", 1)[0] + ":999999"  # still schema-valid
    with pytest.raises(document.Refused) as refused:
        document.check(duis.to_bytes(root), schema, trusted)
    assert refused.value.reason == "signature"
    assert refused.value.code is ResponseCode.XML_SIGNATURE_FAILED


def test_removed_signature_is_refused_on_a_request(schema, trusted, supplier):
    unsigned = xmlsig.remove_signature(duis.parse(resigned(TEMPLATE_NAMES[0], supplier)))
    with pytest.raises(document.Refused) as refused:
        document.check(duis.to_bytes(unsigned), schema, trusted)
    assert refused.value.reason == "no signature"


def test_signature_by_another_key_naming_the_suppliers_certificate_is_refused(
    schema, trusted, supplier, dno
):
    forged = xmlsig.Signer(dno.private_key, supplier.certificate)
    with pytest.raises(document.Refused) as refused:
        document.check(resigned("ECS47Deactivate_7.6_SUCCESS_REQUEST_DUIS.XML", forged), schema,
                       trusted)  # fmt: skip
    assert refused.value.reason == "signature"


def test_certificate_not_trusted_is_an_unknown_certificate(schema, supplier, dno):
    only_dno = xmlsig.TrustedCertificates([dno.certificate])
    with pytest.raises(document.Refused) as refused:
        document.check(resigned(TEMPLATE_NAMES[0], supplier), schema, only_dno)
    assert refused.value.reason == "unknown certificate"


def test_dno_signature_names_the_dno(schema, trusted, dno, keystore):
    checked = document.check(resigned(TEMPLATE_NAMES[0], dno), schema, trusted)
    assert [e.certificate for e in keystore.xml_signing_entries(NETWORK_OPERATOR)] == [
        checked.certificate
    ]


def test_content_smuggled_into_the_signature_element_is_refused(schema, trusted, supplier):
    """The enveloped transform leaves ds:Signature out of the digest: anything slipped into
    it must still be refused (the schema allows nothing there)."""
    root = duis.parse(resigned(TEMPLATE_NAMES[0], supplier))
    signature = root.find(f"{{{xmlsig.DS}}}Signature")
    etree.SubElement(signature, f"{{{SR}}}Header").text = "x"
    with pytest.raises(document.Refused) as refused:
        document.check(duis.to_bytes(root), schema, trusted)
    assert refused.value.reason == "schema"


def test_verified_root_is_the_signed_content(schema, trusted, supplier):
    checked = document.check(resigned(TEMPLATE_NAMES[0], supplier), schema, trusted)
    assert checked.root.find(f"{{{xmlsig.DS}}}Signature") is None  # signxml's signed view
    assert duis.parse_request(checked.root).request_id.counter > 0


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway">&xxe;</sr:Request>"""
LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY a "lol"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;"><!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">]>
<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway">&d;</sr:Request>"""
EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE r SYSTEM "http://127.0.0.1:9/evil.dtd">
<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway"/>"""
PARAMETER_ENTITY = b"""<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY % p SYSTEM "file:///etc/hostname"> %p;]>
<sr:Request xmlns:sr="http://www.dccinterface.co.uk/ServiceUserGateway"/>"""


@pytest.mark.parametrize(
    "payload",
    [XXE, LAUGHS, EXTERNAL_DTD, PARAMETER_ENTITY],
    ids=["xxe", "billion-laughs", "external-dtd", "parameter-entity"],
)
def test_hostile_xml_is_refused_unexpanded(payload, schema, trusted):
    with pytest.raises(document.Refused) as refused:
        document.check(payload, schema, trusted)
    assert refused.value.reason == "xml"
    assert refused.value.code is ResponseCode.XML_REFUSED
    assert "root:" not in str(refused.value) and "lollol" not in str(refused.value)
    with pytest.raises(duis.HostileXml):
        duis.parse(payload)


def test_oversized_document_is_refused_before_parsing():
    with pytest.raises(duis.HostileXml, match="over the limit"):
        duis.parse(b"<a>" + b" " * 2048 + b"</a>", max_bytes=1024)


def test_schema_invalid_request_is_refused(schema, trusted, supplier):
    root = duis.parse(BY_NAME["ECS47Deactivate_7.6_SUCCESS_REQUEST_DUIS.XML"].read_bytes())
    root.find(f".//{{{SR}}}Duration").text = "not-a-number"
    with pytest.raises(document.Refused) as refused:
        document.check(duis.to_bytes(xmlsig.sign(root, supplier)), schema, trusted)
    assert refused.value.reason == "schema"
    assert "Duration" in refused.value.detail


VECTORS = sorted((Path(__file__).parent / "vectors").glob("dccboxed-signing-tool-*.xml"))


@pytest.mark.parametrize("vector", VECTORS, ids=[v.name for v in VECTORS])
def test_request_signed_by_the_dcc_signing_tool_verifies(vector, schema, trusted, supplier):
    checked = document.check(vector.read_bytes(), schema, trusted)
    assert checked.certificate == supplier.certificate
    template = vector.name.removeprefix("dccboxed-signing-tool-")
    assert duis.parse_request(checked.root).service_reference_variant in template


@pytest.mark.parametrize("vector", VECTORS, ids=[v.name for v in VECTORS])
def test_dcc_signed_request_tampered_is_refused(vector, schema, trusted):
    data = vector.read_bytes().replace(b"</sr:RequestID>", b"1</sr:RequestID>", 1)
    with pytest.raises(document.Refused) as refused:
        document.check(data, schema, trusted)
    assert refused.value.reason == "signature"


def test_indentation_between_elements_does_not_matter(schema, trusted, supplier):
    """DCC Boxed ignores element-content whitespace when it checks digests; so does gbhan."""
    root = duis.parse(resigned(TEMPLATE_NAMES[0], supplier))
    etree.indent(root)
    assert b"\n  <sr:Header>" in duis.to_bytes(root)
    document.check(duis.to_bytes(root), schema, trusted)


def test_text_inside_a_value_still_matters(schema, trusted, supplier):
    root = duis.parse(resigned("ECS47Deactivate_7.6_SUCCESS_REQUEST_DUIS.XML", supplier))
    root.find(f".//{{{SR}}}Duration").text = " 60 "  # same number, different signed text
    with pytest.raises(document.Refused) as refused:
        document.check(duis.to_bytes(root), schema, trusted)
    assert refused.value.reason == "signature"
