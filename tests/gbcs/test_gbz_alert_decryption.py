"""Encrypted components of GBZ alerts (GCS53, "push billing data log as an alert") are
decrypted and decoded when the keys are there, so an alert is not reported verified with
its encrypted parts unchecked.

RTDS has no GCS53 vector. The one here is built from RTDS's GCS15c response (the same
billing data log, read on request): its first component, encrypted by the GSME for the
Supplier, carried in a GCS53 alert from the same GSME with the same originator counter, so
the payload key (primer 5.3: KDF type 04 over originator, counter and recipient) is the
one RTDS used, and the ciphertext is RTDS's own.
"""

import pytest
from rtds_vectors import RTDS_ROOT, read_vector, rtds_keystore

from gbcs import decode, render, verify
from gbcs.keystore import Keystore
from gbcs.primitives import encode_length

GCS15C = RTDS_ROOT / "4.4.3_GCS15c" / "GCS15c_4.4.3_SUCCESS_RESPONSE_GBCS.HEX"
BILLING_DATA_LOG_UPDATED = b"\x8f\x0a"
TIME_STAMP = bytes.fromhex("1C374A80")  # 2015-01-01 00:00:00 UTC, seconds since 2000


def gcs53_alert(component_edit=None) -> bytes:
    response = decode(read_vector(GCS15C))
    content = response.apdu[response.content_offset - response.apdu_offset :]
    # the first component: control, cluster, 2-byte length, body
    length = int.from_bytes(content[6:8], "big")
    component = bytearray(content[3 : 8 + length])
    assert component[0] & 0x02, "RTDS's first GCS15c component is encrypted"
    component[0] |= 0x01  # the alert's only, so last, component
    if component_edit is not None:
        component_edit(component)
    payload = b"\x01\x09\x01" + BILLING_DATA_LOG_UPDATED + TIME_STAMP + bytes(component)
    header = (
        b"\xdf\x09\x03"
        + response.counter.to_bytes(8, "big")
        + b"\x08"
        + response.originator  # the GSME
        + b"\x08"
        + response.target  # the Supplier
        + b"\x00"  # no date-time
        + b"\x02\x00\x8b"  # message code 008B GCS53
    )
    return header + encode_length(len(payload)) + payload + b"\x00"  # unsigned


@pytest.fixture(scope="module")
def keystore():
    return rtds_keystore()


def test_a_gcs53_alert_decodes_with_its_encrypted_component():
    message = decode(gcs53_alert())
    assert message.use_case.name == "GCS53"
    assert message.payload_kind == "gbz-alert"
    assert message.payload.alert_code == 0x8F0A
    (component,) = message.payload.components
    assert component.body.encrypted_frame is not None


def test_its_encrypted_component_is_decrypted_and_decoded(keystore):
    message = decode(gcs53_alert())
    report = verify(message, keystore)
    (decryption,) = report.decryption
    assert decryption.status == "verified"
    (plaintext,) = message.decrypted
    assert plaintext
    tree = render.message_dict(message, report)
    (decrypted,) = tree["decrypted"]
    assert decrypted["decoded"]["command"]  # a named ZCL command, not raw bytes
    assert tree["payload"]["alert_code"] == {"code": 0x8F0A, "name": "billing data log updated"}
    assert tree["payload"]["components"][0]["cluster_id"]["name"] == "metering"


def test_a_flipped_ciphertext_bit_fails_decryption(keystore):
    def flip(component: bytearray) -> None:
        component[-13] ^= 0x01  # the last ciphertext byte, before the 12-byte tag

    message = decode(gcs53_alert(flip))
    (decryption,) = verify(message, keystore).decryption
    assert decryption.status == "failed"
    assert message.decrypted == [None]


def test_without_the_keys_it_is_unverifiable_not_verified(tmp_path):
    empty = Keystore.open(tmp_path)
    message = decode(gcs53_alert())
    report = verify(message, empty)
    (decryption,) = report.decryption
    assert decryption.status == "unverifiable"
    assert report.outcome != "verified"
