"""The ESME's own credentials (emulator/devices/credentials.py OwnCredentials): 6.24.2 its
certificate (CS02e), 6.17 a new key pair and its certification request (CS02c), 6.15.2 the
certificate for that pair (CS02d). The DSP's pre-commands from the three templates are
RTDS's byte for byte; the meter answers with RTDS's header and its own certificate or
request (RTDS's layout, its own key); a certificate issued for the pair 6.17 made takes the
old one's place — the meter then signs with the new key — while one for a key it never made
is refused (no key pair, wrong public key; RTDS's ERROR: invalid key usage, byte for byte)."""

from __future__ import annotations

import pytest
from catalogue_helpers import CATALOGUE, RTDS, RTDS_TIME, execute, read_hex
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from emulator.backoffice import duis
from emulator.backoffice.transform import transform
from emulator.clock import Clock
from emulator.devices.keys import SUPPLIER
from emulator.devices.premises import Premises
from gbcs import decode
from gbcs.asn1 import encode_tree
from gbcs.errors import GbcsError
from gbcs.message import encode_apdu
from gbcs.render import plain
from gbcs.security import check_message, mac_apdu, sign, verify_apdu

ESME = bytes.fromhex("00DB1234567890A0")
TEMPLATES = {
    "CS02e_6.24.2_SUCCESS_REQUEST_DUIS.XML": "6.24.2_CS02e/CS02e_6.24.2_SUCCESS",
    "CS02c_6.17_SUCCESS_REQUEST_DUIS.XML": "6.17_CS02c/CS02c_6.17_SUCCESS",
    "CS02d_6.15.2_SUCCESS_REQUEST_DUIS.XML": "6.15.2_CS02d/CS02d_6.15.2_SUCCESS",
}


def _file(stem: str, kind: str) -> bytes:
    return read_hex(RTDS / f"{stem}_{kind}_GBCS.HEX")


@pytest.mark.parametrize("name", sorted(TEMPLATES))
def test_the_precommand_from_the_template_is_rtds(name):
    precommand = _file(TEMPLATES[name], "PRECOMMAND")
    rtds = decode(precommand)
    root = duis.parse((CATALOGUE / name).read_bytes())
    duis.set_originator(root, bytes(rtds.originator), rtds.counter)
    ours = transform(duis.parse_request(root))
    assert ours.critical and ours.user_signs
    assert ours.precommand() == precommand


def _point(key) -> bytes:
    return key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)


def test_the_meter_gives_its_own_certificate(keys):
    stem = TEMPLATES["CS02e_6.24.2_SUCCESS_REQUEST_DUIS.XML"]
    [execution], premises = execute(keys, [_file(stem, "COMMAND")])
    got, expected = decode(execution.response), decode(_file(stem, "RESPONSE"))
    assert plain(got.header) == plain(expected.header)
    certificate = x509.load_der_x509_certificate(encode_tree(got.payload.tree))
    # the key its responses are signed with, issued for this meter
    assert _point(certificate.public_key()) == _point(keys.device_signing_key(ESME).public_key())
    verify_apdu(got.apdu, certificate.public_key())
    assert (
        ESME.hex()
        in certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        .value.get_values_for_type(x509.OtherName)[0]
        .value.hex()
    )


def _request(execution) -> x509.CertificateSigningRequest:
    return x509.load_der_x509_csr(encode_tree(decode(execution.response).payload.tree))


def test_the_certification_request_is_rtds_with_the_meter_own_key(keys):
    stem = TEMPLATES["CS02c_6.17_SUCCESS_REQUEST_DUIS.XML"]
    [execution], premises = execute(keys, [_file(stem, "COMMAND")])
    got, expected = decode(execution.response), decode(_file(stem, "RESPONSE"))
    assert plain(got.header) == plain(expected.header)
    ours = _request(execution)
    assert ours.is_signature_valid
    generated = premises.esme.own_credentials.generated["DS"]
    assert _point(ours.public_key()) == _point(generated.public_key())
    # RTDS's request info with our key in it is ours, byte for byte
    theirs = x509.load_der_x509_csr(encode_tree(expected.payload.tree))
    rtds_info = theirs.tbs_certrequest_bytes.replace(
        _point(theirs.public_key()), _point(ours.public_key())
    )
    assert ours.tbs_certrequest_bytes == rtds_info


def _resigned(keys, raw: bytes, counter: int) -> bytes:
    message = decode(raw)
    message.header.transaction_id.counter = counter
    end = len(message.apdu) - 1 - len(message.signature)
    content = bytes(message.apdu[message.content_offset - message.apdu_offset : end])
    apdu = sign(encode_apdu(message.header, content, None), keys.signer(SUPPLIER))
    return mac_apdu(apdu, keys.keystore)


def test_a_certificate_for_the_new_pair_takes_the_old_one_place(keys):
    """6.17 then the certificate the test PKI issues for its key (as SMKI would) in 6.15.2:
    success, and the meter's next signed response verifies with the new key, not the old."""
    request = _file(TEMPLATES["CS02c_6.17_SUCCESS_REQUEST_DUIS.XML"], "COMMAND")  # 1000
    update = decode(_file(TEMPLATES["CS02d_6.15.2_SUCCESS_REQUEST_DUIS.XML"], "COMMAND"))
    firmware = read_hex(RTDS / "11.3_CS06/CS06_11.3_IMMEDIATE_SUCCESS_COMMAND_GBCS.HEX")
    old_key = keys.device_signing_key(ESME).public_key()
    clock = Clock("simulated")

    async def main():
        premises = await Premises.start(clock, keys=keys)
        premises.esme.set_time(RTDS_TIME)
        try:
            issued = await premises.execute(request)
            new_public = _request(issued).public_key()
            _serial, der = keys.pki.issue_device(ESME, "DS", RTDS_TIME, public_key=new_public)
            update.header.transaction_id.counter = 1001
            apdu = sign(encode_apdu(update.header, der, None), keys.signer(SUPPLIER))
            installed = await premises.execute(mac_apdu(apdu, keys.keystore))
            activated = await premises.execute(_resigned(keys, firmware, 1002))
            return new_public, der, installed, activated, premises
        finally:
            await premises.close()

    new_public, der, installed, activated, premises = clock.run(main)
    assert bytes(decode(installed.response).payload.tree["value"]) == b"\x00"
    verify_apdu(decode(activated.response).apdu, new_public)
    with pytest.raises(GbcsError):
        verify_apdu(decode(activated.response).apdu, old_key)
    assert premises.esme.own_credentials.certificate("DS") == der


@pytest.mark.parametrize(("before", "code"), [(False, 4), (True, 5)])
def test_a_certificate_for_another_key_is_refused(keys, before, code):
    """RTDS's certificate (for RTDS's meter's key): with no pair made, no_corresponding_key_
    pair_generated (4); after a 6.17, wrong_public_key (5); nothing replaced either way."""
    commands = (
        [_file(TEMPLATES["CS02c_6.17_SUCCESS_REQUEST_DUIS.XML"], "COMMAND")] if before else []
    )
    commands.append(_resigned(keys, _file(TEMPLATES["CS02d_6.15.2_SUCCESS_REQUEST_DUIS.XML"],
                                          "COMMAND"), 1001))  # fmt: skip
    executions, premises = execute(keys, commands)
    assert bytes(decode(executions[-1].response).payload.tree["value"]) == bytes([code])
    assert premises.esme.own_credentials.installed == {}


def test_rtds_error_is_answered_as_rtds(keys):
    stem = "6.15.2_CS02d/CS02d_6.15.2_ERROR"
    [execution], _ = execute(keys, [_file(stem, "COMMAND")])
    got, expected = decode(execution.response), decode(_file(stem, "RESPONSE"))
    assert plain(got.header) == plain(expected.header)
    assert plain(got.payload) == plain(expected.payload)
    assert check_message(got, keys.keystore).outcome == "verified"
