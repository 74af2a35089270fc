"""The certificate search web service over real HTTP on 127.0.0.1: every certificate of both
keystores is found and fetched byte-identical; DCC Boxed's status codes for misses and
invalid requests; hardened request parsing."""

from __future__ import annotations

import base64
import json
import re

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from lxml import etree
from smki_helpers import DCCBOXED, RTDS_KEYS, START, post

from gbcs.keystore import Keystore

SEARCH = "/services/certificatesearch"
RETRIEVE = "/services/retrievecertificate"
_PEM = re.compile(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", re.S)


def dashed(eui: bytes) -> str:
    return "-".join(f"{b:02X}" for b in eui)


def search_body(eui: bytes, device: bool) -> bytes:
    tag = "CertificateSubjectAltName" if device else "CertificateSubjectName"
    return (
        f'<?xml version="1.0" encoding="utf-8"?><CertificateSearchRequest><{tag}>{dashed(eui)}'
        f"</{tag}></CertificateSearchRequest>"
    ).encode()


def retrieve_body(serial: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="utf-8"?><CertificateDataRequest>'
        f"<CertificateSerial>{serial}</CertificateSerial></CertificateDataRequest>"
    ).encode()


def source_certificates() -> list[tuple[str, bytes]]:
    """(label, DER) of every certificate in both keystores, read here from the files."""
    found = []
    for path in sorted(RTDS_KEYS.glob("*.pem")):
        for block in _PEM.findall(path.read_text()):
            found.append((path.name, base64.b64decode("".join(block.split()))))
    for eui, usages in json.loads(DCCBOXED.read_text()).items():
        for usage, serials in usages.items():
            for serial, item in serials.items():
                block = _PEM.search(item["certificate"]).group(1)
                found.append((f"{eui}/{usage}/{serial}", base64.b64decode("".join(block.split()))))
    return found


def serial_of(der: bytes) -> str:
    """The serial from the DER itself (TBSCertificate's INTEGER after [0] version)."""
    # certificates the `cryptography` parser refuses (DCC Boxed's MDR pair) still have one
    tbs_at = 4 if der[1] == 0x82 else 3 if der[1] == 0x81 else 2
    tbs_at += 2 if der[tbs_at + 1] == 0x82 else 1 if der[tbs_at + 1] == 0x81 else 0
    at = tbs_at + 2
    assert der[at] == 0xA0
    at += 2 + der[at + 1]
    assert der[at] == 0x02
    length = der[at + 1]
    return format(int.from_bytes(der[at + 2 : at + 2 + length], "big"), "X")


def test_every_keystore_certificate_is_fetched_byte_identical(service):
    sources = source_certificates()
    assert len(sources) > 400
    for label, der in sources:
        status, kind, body = post(service.url + RETRIEVE, retrieve_body(serial_of(der)))
        assert status == 200, label
        assert kind.startswith("application/xml")
        root = etree.fromstring(body)
        assert root.tag == "CertificateDataResponse"
        assert root.findtext("ResponseCode") == "200"
        assert root.findtext("ResponseMessage") == "Success"
        assert re.fullmatch(r"\d+-[0-9a-f]+", root.findtext("AuditReference"))
        response = root.find("CertificateResponse")
        assert base64.b64decode(response.findtext("CertificateBody")) == der, label
        assert response.findtext("CertificateSerial") == serial_of(der)


def test_every_device_and_organisation_is_found_by_search(service):
    keystore = Keystore.open(RTDS_KEYS, DCCBOXED, clock=START)
    expected: dict[tuple[bytes, bool], set[str]] = {}
    for entries in keystore._entries.values():
        for entry in entries:
            if (
                entry.serial is None
            ):  # a bare public key (RTDS's FFFFFFFFFFFFFFFE KA): no certificate
                continue
            key = (entry.eui, entry.role is None)
            expected.setdefault(key, set()).add(format(entry.serial, "X"))
    # the MDR pair the keystore cannot parse is still in the repository
    expected.setdefault((bytes.fromhex("90B3D51F30010009"), False), set())
    devices = sum(1 for _, device in expected if device)
    organisations = len(expected) - devices
    assert devices >= 200 and organisations >= 10
    for (eui, device), serials in expected.items():
        status, kind, body = post(service.url + SEARCH, search_body(eui, device))
        assert status == 200, dashed(eui)
        assert kind.startswith("application/xml")
        root = etree.fromstring(body)
        assert root.tag == "CertificateSearchResponse"
        assert root.findtext("ResponseCode") == "200"
        results = root.findall("Result")
        found = {result.findtext("CertificateSerial") for result in results}
        assert serials <= found, dashed(eui)
        name_tag = "CertificateSubjectAltName" if device else "CertificateSubjectName"
        for result in results:
            assert result.findtext(name_tag) == dashed(eui)
            assert re.fullmatch(r"[0-9A-F]+", result.findtext("CertificateSerial"))
            assert result.findtext("CertificateUsage") in ("DS", "KA")
            assert result.findtext("CertificateStatus") in ("I", "E")
            assert result.findtext("ManufacturingFlag") == "false"
            role = result.findtext("CertificateRole")
            assert (role is None) == device


def test_search_reports_roles_and_statuses_of_an_organisation(service):
    status, _, body = post(
        service.url + SEARCH, search_body(bytes.fromhex("90B3D51F30020000"), False)
    )
    assert status == 200
    results = etree.fromstring(body).findall("Result")
    roles = sorted(r.findtext("CertificateRole") for r in results)
    assert roles.count("3") >= 2 and "135" in roles  # GBCS certificates and the XML-signing one
    # the RTDS organisation certificates ended in 2025, so at the clock they are expired
    expired = [r for r in results if r.findtext("CertificateStatus") == "E"]
    assert expired and all(r.findtext("CertificateRole") == "3" for r in expired)


def test_generated_device_certificate_from_the_service_verifies_against_the_test_dca(service, repo):
    from emulator.smki.population import load_test_pki
    from emulator.smki.testpki import device_eui

    pki = load_test_pki(repo, START)
    eui = device_eui(7)
    status, _, body = post(service.url + SEARCH, search_body(eui, True))
    assert status == 200
    serials = [r.findtext("CertificateSerial") for r in etree.fromstring(body).findall("Result")]
    assert len(serials) == 2
    for serial in serials:
        _, _, body = post(service.url + RETRIEVE, retrieve_body(serial))
        der = base64.b64decode(
            etree.fromstring(body).findtext("CertificateResponse/CertificateBody")
        )
        certificate = x509.load_der_x509_certificate(der)
        certificate.verify_directly_issued_by(pki.dca_cert)
        pki.dca_cert.verify_directly_issued_by(pki.root_cert)
        assert format(certificate.serial_number, "X") == serial


def test_root_and_dca_are_served_by_subject_name(service, repo):
    from emulator.smki.testpki import DCA_EUI, ROOT_EUI

    for eui, role in ((ROOT_EUI, "0"), (DCA_EUI, "7")):
        status, _, body = post(service.url + SEARCH, search_body(eui, False))
        assert status == 200
        (result,) = etree.fromstring(body).findall("Result")
        assert result.findtext("CertificateRole") == role


def test_unknown_device_or_serial_is_402(service):
    status, kind, body = post(service.url + SEARCH, search_body(bytes(8), True))
    assert status == 402 and kind.startswith("application/xml")
    assert etree.fromstring(body).findtext("ResponseCode") == "402"
    status, _, _ = post(service.url + RETRIEVE, retrieve_body("1234ABCD"))
    assert status == 402
    # an organisation's EUI asked for as a device is not a device certificate
    status, _, _ = post(service.url + SEARCH, search_body(bytes.fromhex("90B3D51F30010000"), True))
    assert status == 402


@pytest.mark.parametrize(
    "path, body",
    [
        (SEARCH, b"<CertificateSearchRequest><CertificateSubjectAltName>00DB123456789001"
                 b"</CertificateSubjectAltName></CertificateSearchRequest>"),
        (SEARCH, b"<CertificateSearchRequest/>"),
        (SEARCH, b"<CertificateSearchRequest><CertificateSubjectName>90-B3-D5-1F-30-01-00-00"
                 b"</CertificateSubjectName><CertificateSubjectAltName>00-DB-12-34-56-78-90-01"
                 b"</CertificateSubjectAltName></CertificateSearchRequest>"),
        (SEARCH, b"<Other/>"),
        (SEARCH, b"<CertificateSearchRequest>"),
        (SEARCH, b""),
        (RETRIEVE, b"<CertificateDataRequest><CertificateSerial>XYZ</CertificateSerial>"
                   b"</CertificateDataRequest>"),
        (RETRIEVE, b"<CertificateDataRequest/>"),
        (RETRIEVE, b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
                   b"<CertificateDataRequest><CertificateSerial>&x;</CertificateSerial>"
                   b"</CertificateDataRequest>"),
        (SEARCH, b'<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
                 b"<CertificateSearchRequest><CertificateSubjectName>&b;</CertificateSubjectName>"
                 b"</CertificateSearchRequest>"),
    ],
)  # fmt: skip
def test_invalid_requests_are_401(service, path, body):
    status, kind, payload = post(service.url + path, body)
    assert status == 401
    assert kind.startswith("application/xml")
    root = etree.fromstring(payload)
    assert root.findtext("ResponseCode") == "401"
    assert root.findtext("ResponseMessage").startswith("Invalid request")
    assert b"root:" not in payload  # nothing of /etc/passwd leaks back


def test_non_xml_content_type_is_401(service):
    body = search_body(bytes.fromhex("00DB123456789001"), True)
    status, _, _ = post(service.url + SEARCH, body, content_type="application/json")
    assert status == 401
    status, _, _ = post(service.url + SEARCH, body, content_type="text/xml")
    assert status == 200


def test_oversized_request_is_refused(service):
    body = b"<CertificateSearchRequest>" + b" " * (70 * 1024) + b"</CertificateSearchRequest>"
    status, _, _ = post(service.url + SEARCH, body)
    assert status == 413


def test_unknown_path_is_404_and_query_string_is_ignored(service):
    status, _, _ = post(service.url + "/services/other", b"<x/>")
    assert status == 404
    body = search_body(bytes.fromhex("00DB123456789001"), True)
    status, _, _ = post(service.url + SEARCH + "?apikey=u3bg9gt38htd0j2", body)
    assert status == 200


def test_repository_body_matches_cryptography_encoding(repo):
    """What the repository stores for a parsable certificate is its DER, unchanged."""
    pem = (RTDS_KEYS / "00db1234567890a0-ds.pem").read_bytes()
    der = x509.load_pem_x509_certificate(pem).public_bytes(serialization.Encoding.DER)
    record = repo.get(x509.load_der_x509_certificate(der).serial_number)
    assert record is not None and record.body == der and record.kind == "device"
