"""gbcs.match: every RTDS response answers its command; a response that answers another
command, or was edited to, fails the rule that says how, at the byte where."""

import pytest
from rtds_vectors import RTDS_ROOT, params, read_vector, rtds_files, rtds_keystore

from gbcs import decode, match
from gbcs.judge import _message_code_offset
from gbcs.security import mac_apdu

COMMANDS = rtds_files("*_COMMAND_GBCS")
DEVICE_TO_DEVICE = "PCS02_NA_SUCCESS_COMMAND_GBCS.HEX"
FOLDER = RTDS_ROOT / "7.7_ECS61a"
COMMAND = FOLDER / "ECS61a_7.7_ALL_OPTIONALS_SUCCESS_COMMAND_GBCS.HEX"
RESPONSE = FOLDER / "ECS61a_7.7_ALL_OPTIONALS_SUCCESS_RESPONSE_GBCS.HEX"
OTHER_COMMAND = RTDS_ROOT / "7.6_ECS47Deactivate" / "ECS47Deactivate_7.6_SUCCESS_COMMAND_GBCS.HEX"


def response_of(command):
    return command.with_name(command.name.replace("_COMMAND_GBCS", "_RESPONSE_GBCS"))


def test_every_command_has_its_response():
    assert len(COMMANDS) == 431
    assert all(response_of(p).exists() for p in COMMANDS)


@pytest.mark.parametrize("path", params(COMMANDS))
def test_rtds_response_answers_its_command(path):
    result = match(
        read_vector(path),
        read_vector(response_of(path)),
        rtds_keystore(),
        allow_unverifiable=path.name == DEVICE_TO_DEVICE,  # no device's KA private key
    )
    assert not result.failed, result.failures()


def edited_response(edit) -> bytes:
    """The ECS61a response with its APDU edited and MAC'd again (the Supplier's KA private
    key is in the RTDS keystore), so only the pairing can catch the edit."""
    message = decode(read_vector(RESPONSE))
    apdu = bytearray(message.apdu)
    edit(apdu, message)
    return mac_apdu(bytes(apdu), rtds_keystore())


def only_pairing(result, rule):
    assert result.command.verdicts == [] and result.response.verdicts == [], result.failures()
    assert [v.rule for v in result.pairing] == [rule], result.failures()
    return result.pairing[0]


def test_a_response_to_another_command_fails_on_everything_that_differs():
    result = match(read_vector(OTHER_COMMAND), read_vector(RESPONSE), rtds_keystore())
    assert {v.rule for v in result.pairing} == {"use-case", "counter", "invoke-id"}
    assert result.failed


def test_command_and_response_swapped_fail_the_pairing():
    result = match(read_vector(RESPONSE), read_vector(COMMAND), rtds_keystore())
    assert "pairing" in [v.rule for v in result.pairing]


def test_counter_not_echoed():
    def edit(apdu, message):
        # above the counter's low 24 bits, which the response's own DLMS invoke id repeats
        # (the strict check holds it to them): only the pairing can see this one
        apdu[7] ^= 0x01

    data = edited_response(edit)
    verdict = only_pairing(match(read_vector(COMMAND), data, rtds_keystore()), "counter")
    assert verdict.offset == decode(data).apdu_offset + 3


def test_parties_not_swapped():
    def edit(apdu, message):
        apdu[21:29] = bytes.fromhex("90B3D51F30020000")  # the Network Operator, not the Supplier

    command = decode(read_vector(COMMAND))
    data = edited_response(edit)
    verdict = only_pairing(match(read_vector(COMMAND), data, rtds_keystore()), "parties")
    assert verdict.offset == decode(data).apdu_offset + 21
    assert bytes(command.originator).hex().upper() in verdict.detail


def test_dlms_invoke_id_not_answered():
    def edit(apdu, message):
        at = message.content_offset - message.apdu_offset + 1  # after the DA tag
        apdu[at] ^= 0x01  # the priority byte: the low 24 bits still hold the counter's

    data = edited_response(edit)
    verdict = only_pairing(match(read_vector(COMMAND), data, rtds_keystore()), "invoke-id")
    assert verdict.offset == decode(data).content_offset + 1


def test_message_code_not_the_commands():
    def edit(apdu, message):
        at = _message_code_offset(message) - message.apdu_offset
        apdu[at : at + 2] = (0x00BC).to_bytes(2, "big")  # ECS61c, also a DLMS command

    result = match(read_vector(COMMAND), edited_response(edit), rtds_keystore())
    assert "use-case" in [v.rule for v in result.pairing]


def test_without_keys_the_protection_is_unverifiable_unless_allowed():
    strict = match(read_vector(COMMAND), read_vector(RESPONSE))
    assert strict.failed and strict.pairing == []
    assert {v.rule for v in strict.response.verdicts} == {"mac-unverifiable"}
    assert not match(read_vector(COMMAND), read_vector(RESPONSE), allow_unverifiable=True).failed
