"""gbcs.verify_message_mac, the MAC check a receiving device makes, on RTDS MAC'd messages:
it agrees with check_message's MAC check on every one, and a changed byte, a missing MAC,
a wrong security header or a keystore without the keys all fail it."""

import pytest
from rtds_vectors import RTDS_CLOCK, params, read_vector, rtds_files, rtds_keystore

from gbcs import KeyMissing, Keystore, VerificationError, decode, verify_message_mac
from gbcs.errors import DecodeError
from gbcs.security import FAILED, UNVERIFIABLE, VERIFIED, check_message

ECS47_DEACTIVATE = rtds_files("ECS47Deactivate_7.6_SUCCESS_COMMAND_GBCS")[0]
ECS61A_RESPONSE = rtds_files("ECS61a_7.7_ALL_OPTIONALS_SUCCESS_RESPONSE_GBCS")[0]
SIGNED_ONLY_RESPONSE = rtds_files("ECS47Deactivate_7.6_SUCCESS_RESPONSE_GBCS")[0]


def _maced() -> list:
    found = []
    for path in rtds_files("*_GBCS"):
        try:
            message = decode(read_vector(path))
        except DecodeError:
            continue
        if message.mac is not None:
            found.append(path)
    return found


MACED = _maced()


def test_the_rtds_maced_messages_are_there():
    assert len(MACED) > 100
    assert ECS47_DEACTIVATE in MACED and ECS61A_RESPONSE in MACED


@pytest.mark.parametrize("path", params(MACED))
def test_agrees_with_check_message(path):
    message = decode(read_vector(path))
    report = check_message(message, rtds_keystore(), fragments=[])
    if report.mac.status == VERIFIED:
        assert verify_message_mac(message, rtds_keystore()) == report.mac.key
    elif report.mac.status == UNVERIFIABLE:
        with pytest.raises(KeyMissing, match="no usable key pair: missing"):
            verify_message_mac(message, rtds_keystore())
    else:
        assert report.mac.status == FAILED
        with pytest.raises(VerificationError):
            verify_message_mac(message, rtds_keystore())


@pytest.mark.parametrize("path", [ECS47_DEACTIVATE, ECS61A_RESPONSE], ids=lambda p: p.name)
def test_command_and_response_verify(path):
    """A command to the ESME (the ACB's and the ESME's KA keys) and the ESME's response to
    the Supplier (the ESME's and the Supplier's)."""
    assert verify_message_mac(decode(read_vector(path)), rtds_keystore())


@pytest.mark.parametrize("where", ["signature byte", "mac byte"])
def test_a_changed_byte_fails(where):
    data = bytearray(read_vector(ECS47_DEACTIVATE))
    data[-13 if where == "signature byte" else -1] ^= 0x01  # the APDU's last byte / the MAC's
    message = decode(bytes(data))
    with pytest.raises(VerificationError) as failed:
        verify_message_mac(message, rtds_keystore())
    assert failed.value.layer == "mac"
    assert "MAC does not match" in str(failed.value)


def test_a_wrong_security_header_fails():
    data = read_vector(ECS47_DEACTIVATE)
    at = data.index(bytes.fromhex("1100000000DF"))
    message = decode(data[:at] + b"\x10" + data[at + 1 :])
    with pytest.raises(VerificationError, match="security header 10"):
        verify_message_mac(message, rtds_keystore())


def test_no_mac_fails():
    message = decode(read_vector(SIGNED_ONLY_RESPONSE))
    assert message.mac is None
    with pytest.raises(VerificationError, match="no MAC"):
        verify_message_mac(message, rtds_keystore())


def test_no_keys_is_key_missing():
    message = decode(read_vector(ECS47_DEACTIVATE))
    with pytest.raises(KeyMissing, match="Access Control Broker"):
        verify_message_mac(message, Keystore(RTDS_CLOCK))
