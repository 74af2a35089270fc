"""The SMKI web-service client over real HTTP: what it finds is what the service lists, the
bodies it retrieves are the lodged certificates, and every failure is an SmkiError."""

from __future__ import annotations

import socket

import pytest
from cryptography import x509

from emulator.smki import SmkiError, client
from emulator.smki.records import IN_USE
from gbcs.keystore import Keystore

RTDS_ESME = bytes.fromhex("00DB1234567890A0")
SUPPLIER = bytes.fromhex("90B3D51F30010000")


def test_a_device_is_found_and_its_certificates_retrieved(service, repo):
    found = client.in_use_certificates(service.url, RTDS_ESME)
    lodged = {r.serial: r.body for r in repo.search(RTDS_ESME, device=True) if r.status == IN_USE}
    assert {int(f.serial, 16): der for f, der in found} == lodged
    assert {f.usage for f, _der in found} == {"DS", "KA"}


def test_the_pem_folder_reads_as_a_keystore(service, tmp_path):
    found = client.in_use_certificates(service.url, RTDS_ESME)
    paths = client.write_pem_folder(found, tmp_path / "keys", RTDS_ESME)
    assert len(paths) == len(found)
    keys = Keystore.open(tmp_path / "keys", check_validity=False)
    assert {e.serial for e in keys.ds_public_keys(RTDS_ESME)} == {
        x509.load_der_x509_certificate(der).serial_number for f, der in found if f.usage == "DS"
    }


def test_an_organisation_search_gives_roles(service):
    found = client.search(service.url, SUPPLIER, device=False)
    assert found and all(f.role is not None for f in found)


def test_nothing_found_is_an_empty_list(service):
    assert client.search(service.url, bytes.fromhex("0102030405060708"), device=True) == []


def test_an_unknown_serial_is_an_smki_error(service):
    with pytest.raises(SmkiError, match="HTTP 402"):
        client.retrieve(service.url, "4000000000000000000000000000ABCD")


def test_no_service_is_an_smki_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: the connection is refused
        with pytest.raises(SmkiError, match="SMKI service"):
            client.search(f"http://127.0.0.1:{port}", RTDS_ESME, device=True, timeout=2)
