"""The test PKI: device certificates made from a template are real X.509 certificates that
chain to the test DCA and root, carry the device identity the codec's keystore reads, and
pair with the device key derived from the PKI's seed."""

from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from smki_helpers import START

from emulator.smki.errors import SmkiError
from emulator.smki.population import load_test_pki
from emulator.smki.store import Repository
from emulator.smki.testpki import TestPki, device_eui
from gbcs.keystore import DS, KA, Keystore


@pytest.fixture(scope="module")
def pki() -> TestPki:
    return TestPki.create(START)


def test_device_certificates_verify_and_carry_the_device_identity(pki):
    keystore = Keystore(clock=START + dt.timedelta(days=1))
    issued = []
    for number in range(25):
        eui = device_eui(number)
        for usage in (DS, KA):
            serial, der = pki.issue_device(eui, usage, START)
            certificate = x509.load_der_x509_certificate(der)
            certificate.verify_directly_issued_by(pki.dca_cert)
            assert certificate.serial_number == serial
            assert certificate.not_valid_before_utc == START
            keystore.add_certificate(certificate, f"{eui.hex()}-{usage}")
            issued.append((eui, usage, serial))
    pki.dca_cert.verify_directly_issued_by(pki.root_cert)
    pki.root_cert.verify_directly_issued_by(pki.root_cert)
    assert keystore.rejected == []
    for eui, usage, serial in issued:
        (entry,) = keystore.entries(eui, usage)
        assert entry.serial == serial and entry.role is None
    assert len({serial for _, _, serial in issued}) == len(issued)


def test_derived_device_key_signs_what_the_certificate_verifies(pki):
    eui = device_eui(123456)
    _, der = pki.issue_device(eui, DS, START)
    public_key = x509.load_der_x509_certificate(der).public_key()
    message = b"SRV 7.6 response"
    signature = pki.device_key(eui, DS).sign(message, ec.ECDSA(hashes.SHA256()))
    public_key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    other = pki.device_key(device_eui(123457), DS).sign(message, ec.ECDSA(hashes.SHA256()))
    with pytest.raises(InvalidSignature):
        public_key.verify(other, message, ec.ECDSA(hashes.SHA256()))


def test_a_certificate_from_another_ca_does_not_verify(pki):
    stranger = TestPki.create(START)
    _, der = stranger.issue_device(device_eui(1), DS, START)
    with pytest.raises(InvalidSignature):
        x509.load_der_x509_certificate(der).verify_directly_issued_by(pki.dca_cert)


def test_tampered_certificate_fails_verification(pki):
    _, der = pki.issue_device(device_eui(2), KA, START)
    eui_at = der.find(device_eui(2))
    tampered = bytearray(der)
    tampered[eui_at + 7] ^= 0x01  # another device's identity under the same signature
    certificate = x509.load_der_x509_certificate(bytes(tampered))
    with pytest.raises(InvalidSignature):
        certificate.verify_directly_issued_by(pki.dca_cert)


def test_bad_input_is_refused(pki):
    with pytest.raises(SmkiError, match="8 bytes"):
        pki.issue_device(b"short", DS, START)
    with pytest.raises(SmkiError, match="DS or KA"):
        pki.issue_device(device_eui(1), "XX", START)
    with pytest.raises(SmkiError, match="out of range"):
        device_eui(-1)


def test_pki_persists_in_the_repository(tmp_path):
    with Repository(tmp_path / "r.db") as repo:
        first = load_test_pki(repo, START)
    with Repository(tmp_path / "r.db") as repo:
        again = load_test_pki(repo, START + dt.timedelta(days=3))
        assert repo.count() == 2  # root and DCA lodged once
    assert again.dca_cert == first.dca_cert
    assert again.device_key(device_eui(5), DS).private_numbers() == (
        first.device_key(device_eui(5), DS).private_numbers()
    )
