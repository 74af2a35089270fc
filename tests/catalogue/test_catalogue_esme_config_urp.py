"""4.14 for an unknown remote party (URP, ECS21b): the ACB sends the read with the party's KA
certificate in the command's header; the ESME encrypts the prepayment daily read log with
that certificate's key and its own originator counter (the one its alerts use), which the
response names as its supplementary originator counter. RTDS's URP command is answered with
RTDS's response byte for byte by a meter whose counter stands where RTDS's did (2002); each
further answer takes the next count; a certificate with no key agreed is other_reason. The
DSP's command from the template is RTDS's byte for byte (RTDS's certificate in it). Parametrised
by RTDS file name."""

from __future__ import annotations

import base64
import json

import pytest
from catalogue_helpers import CATALOGUE, RTDS, execute, read_hex, recounted
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from emulator import data
from emulator.backoffice import duis
from emulator.backoffice.transform import AcbContext, TransformError, transform
from emulator.devices.premises import PROFILE
from gbcs import decode
from gbcs.dlms import decode_data
from gbcs.message import encode_apdu
from gbcs.render import plain
from gbcs.security import (
    ENCRYPTION_TYPE,
    decrypt_fragment,
    kdf,
    mac_apdu,
    other_info,
    shared_secret,
)

FOLDER = RTDS / "4.14_ECS21b"
SUPPLIER = bytes.fromhex("90B3D51F30010000")
ACB = bytes.fromhex("90B3D51F30000002")


def rtds(name: str) -> bytes:
    return read_hex(FOLDER / f"ECS21b_4.14_{name}_GBCS.HEX")


def at_rtds_counter() -> dict:
    profile = json.loads(PROFILE.read_text())
    profile["alert_counter"] = 2002  # the meter's counter when RTDS's answered
    return profile


@pytest.mark.parametrize("case", ["URP_SUCCESS", "KRP_SUCCESS"])
def test_rtds_command_is_answered_with_rtds_response(keys, case):
    [execution], _ = execute(keys, [rtds(f"{case}_COMMAND")], profile=at_rtds_counter())
    assert execution.outcome == "executed", execution.outcome
    assert execution.response == rtds(f"{case}_RESPONSE")


def _log(keys, response: bytes):
    """The URP response's fragment opened as the remote party does: its certificate's key
    pair (the Supplier's, in RTDS), the meter's counter the header names."""
    message = decode(response)
    meter = bytes(message.originator)
    counter = message.header.other_information.supplementary_originator_counter
    private, _own, peer = keys.keystore.ka_pairings(meter, SUPPLIER)[0][0]
    key = kdf(shared_secret(private, peer.public_key),
              other_info(meter, ENCRYPTION_TYPE, counter, SUPPLIER))  # fmt: skip
    fragment = bytes(message.payload.data[0].value[1].value)
    return counter, decode_data(decrypt_fragment(fragment, key, meter))


def test_each_answer_takes_the_meters_next_counter_shared_with_its_alerts(keys):
    command = rtds("URP_SUCCESS_COMMAND")
    executions, premises = execute(keys, [command, recounted(keys, command, 1400)])
    counters = [_log(keys, e.response)[0] for e in executions]
    assert counters[1] == counters[0] + 1
    logs = [_log(keys, e.response)[1] for e in executions]
    assert logs[0] == logs[1] and len(logs[0].value[0].value.entries) > 0
    # the next alert the meter raises takes the count after them
    alert = premises.esme.raise_alert(SUPPLIER, 0x8F66, premises.esme.utc_now(), [])
    assert decode(alert).counter == counters[1] + 1


def test_a_certificate_with_no_key_agreement_is_other_reason(keys):
    """The Supplier's signing (DS) certificate where its KA one belongs: no key is agreed."""
    message = decode(rtds("URP_SUCCESS_COMMAND"))
    header = message.header
    pem = (data.rtds_keystore() / "90b3d51f30010000-ds.pem").read_bytes()
    header.other_information.certificate = x509.load_pem_x509_certificate(pem).public_bytes(
        Encoding.DER
    )
    end = len(message.apdu) - (0 if message.signature is None else 1 + len(message.signature))
    content = bytes(message.apdu[message.content_offset - message.apdu_offset : end])
    forged = mac_apdu(encode_apdu(header, content, b""), keys.keystore)
    [execution], _ = execute(keys, [forged])
    results = plain(decode(execution.response).payload)["results"]
    assert [r["result"] for r in results] == ["other_reason"]
    assert (
        decode(execution.response).header.other_information.supplementary_originator_counter is None
    )
    assert bytes(decode(execution.response).target) == ACB


def test_the_command_from_the_template_is_rtds():
    """The ACB's command for the party the template's certificate names: RTDS's byte for byte
    with RTDS's certificate in the template (the catalogue's is DCC Boxed's, another one)."""
    message = decode(rtds("URP_SUCCESS_COMMAND"))
    other = message.header.other_information
    root = duis.parse((CATALOGUE / "ECS21b_4.14_URP_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    credentials = root.find(f".//{{{duis.SR}}}KAPublicSecurityCredentials")
    credentials.text = base64.b64encode(bytes(other.certificate)).decode()
    duis.set_originator(root, SUPPLIER, other.supplementary_remote_party_counter)
    ours = transform(duis.parse_request(root), use_case="ECS21b",
                     acb=AcbContext(ACB, message.counter))  # fmt: skip
    assert ours.via_acb and not ours.critical
    end = len(message.apdu) - (0 if message.signature is None else 1 + len(message.signature))
    content = message.apdu[message.content_offset - message.apdu_offset : end]
    assert ours.unsigned_command() == encode_apdu(message.header, content, b"")


def test_a_known_partys_read_names_no_certificate():
    root = duis.parse((CATALOGUE / "ECS21b_4.14_KRP_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    ours = transform(duis.parse_request(root), use_case="ECS21b")
    assert not ours.via_acb and ours.header.other_information.certificate == b""


def test_credentials_that_are_no_certificate_are_refused():
    root = duis.parse((CATALOGUE / "ECS21b_4.14_URP_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    root.find(f".//{{{duis.SR}}}KAPublicSecurityCredentials").text = "bm90IGEgY2VydA=="
    with pytest.raises(TransformError, match="no X.509") as refused:
        transform(duis.parse_request(root), use_case="ECS21b", acb=AcbContext(ACB, 1))
    assert refused.value.code == "E11"
