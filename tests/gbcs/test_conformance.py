"""The codec against the DCC's Reference Test Data Set, one test per file: decode, re-encode
byte for byte, and every signature, MAC and decryption the RTDS keystore can check."""

import pytest
from rtds_vectors import params, read_vector, rtds_files, rtds_keystore

from gbcs.check import check_message_bytes
from gbcs.security import FAILED, NOT_APPLICABLE, UNVERIFIABLE, VERIFIED

ALL = rtds_files()
# Device-to-device: the MAC needs the PPMID's or GSME's private key, which no keystore holds.
DEVICE_TO_DEVICE = {"PCS02_NA_SUCCESS_COMMAND_GBCS.HEX", "PCS02_NA_SUCCESS_RESPONSE_GBCS.HEX"}


def test_the_whole_set_is_there():
    assert len(ALL) == 1103


@pytest.mark.parametrize("path", params(ALL))
def test_rtds_message(path):
    data = read_vector(path)
    result = check_message_bytes(path.name, data, rtds_keystore(), allow_unverifiable=True)
    assert result.failures == []
    assert result.decoded and result.reencoded
    report = result.security
    statuses = {c.check: c.status for c in report.checks}
    assert FAILED not in statuses.values()

    message = result.message
    if message.signature:
        assert report.signature.status == VERIFIED, report.signature
    else:
        assert report.signature.status == NOT_APPLICABLE
    if message.envelope is not None:
        expected = UNVERIFIABLE if path.name in DEVICE_TO_DEVICE else VERIFIED
        assert report.mac.status == expected, report.mac
    else:
        assert report.mac.status == NOT_APPLICABLE
    for check in report.decryption:
        assert check.status == VERIFIED, check


@pytest.mark.parametrize("path", params(rtds_files("*_COMMAND_GBCS")))
def test_every_command_is_protected(path):
    """Commands reaching a device are MAC'd, signed, or both (primer section 2)."""
    result = check_message_bytes(path.name, read_vector(path), rtds_keystore())
    message = result.message
    assert message.cra == "command"
    assert message.envelope is not None or message.signature


@pytest.mark.parametrize("path", params(rtds_files("*_PRECOMMAND_GBCS")))
def test_precommands_have_no_signature_field(path):
    result = check_message_bytes(path.name, read_vector(path), None)
    assert result.message.kind == "precommand"
    assert result.message.cra == "command"
