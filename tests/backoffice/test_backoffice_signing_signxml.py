"""`xmlsig.sign` builds its Signature itself (lxml's exclusive c14n, cryptography's ECDSA)
for speed; held here to signxml's, the reference it replaced: on every DUIS template and
every catalogue request the signed document is byte for byte signxml's but for the ECDSA
value (random by nature), and it verifies with `xmlsig.verify` against the signer's
certificate."""

from __future__ import annotations

import re

import pytest
from backoffice_helpers import SUPPLIER

from emulator import data
from emulator.backoffice import duis, xmlsig

FILES = {f"{p.parent.name}/{p.name}": p for folder in (data.duis(), data.duis_catalogue())
         for p in sorted(folder.glob("*.XML"))}  # fmt: skip
VALUE = re.compile(rb"<ds:SignatureValue>[^<]*</ds:SignatureValue>")


@pytest.fixture(scope="module")
def signer(keystore) -> xmlsig.Signer:
    return xmlsig.signer_from_keystore(keystore, SUPPLIER)


@pytest.mark.parametrize("name", sorted(FILES))
def test_the_same_signature_as_signxml(name, signer, trusted):
    root = duis.parse(FILES[name].read_bytes())
    ours = duis.to_bytes(xmlsig.sign(root, signer))
    reference = duis.to_bytes(xmlsig.sign_with_signxml(root, signer))
    assert VALUE.sub(b"", ours) == VALUE.sub(b"", reference)
    assert len(VALUE.findall(ours)) == 1
    verified = xmlsig.verify(duis.parse(ours), trusted)
    assert verified.certificate.serial_number == signer.certificate.serial_number


def test_a_changed_byte_no_longer_verifies(signer, trusted):
    root = duis.parse(FILES[sorted(FILES)[0]].read_bytes())
    signed = duis.to_bytes(xmlsig.sign(root, signer))
    tampered = signed.replace(b"</sr:RequestID>", b"1</sr:RequestID>", 1)
    assert tampered != signed
    with pytest.raises(xmlsig.XmlSignatureError):
        xmlsig.verify(duis.parse(tampered), trusted)
