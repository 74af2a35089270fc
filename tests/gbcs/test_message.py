"""The decoded tree: every layer visible, the use case named, encode() the inverse of decode()."""

from functools import cache

import pytest
from rtds_vectors import RTDS_KEYSTORE, RTDS_ROOT, params, read_vector, rtds_files

from gbcs import asn1, decode, dlms, encode
from gbcs.check import check_message_bytes
from gbcs.dlms import obis_text
from gbcs.errors import DecodeError, EncodeError, GbcsError
from gbcs.keystore import Keystore
from gbcs.message import wrap_for_mac
from gbcs.outcomes import FRAGMENT_HEADER
from gbcs.payload import Deferred

# The registry names the use case; RTDS names its folders <SRV>_<use case + variant>.
# Alerts carried under a generic or shared message code are named by that code instead, and
# so is the DBCH09 alert (0113) that a DBCH04 change raises, filed in the 6.28_DBCH04 folder.
SHARED_ALERT_CODES = {0x00CC, 0x00CD, 0x1000, 0x1001, 0x0113}
# RTDS quirk (primer 9.8): the CS04B error command (and so its response) carries CS04AC's
# message code 000F.
KNOWN_RTDS_QUIRKS = {"CS04B_8.8.2_ERROR_COMMAND_GBCS.HEX", "CS04B_8.8.2_ERROR_RESPONSE_GBCS.HEX"}


@pytest.mark.parametrize("path", params(rtds_files()))
def test_use_case_matches_the_folder(path):
    message = decode(read_vector(path))
    folder_use_case = path.parent.name.split("_", 1)[1]
    if message.message_code in SHARED_ALERT_CODES or path.name in KNOWN_RTDS_QUIRKS:
        return
    assert message.use_case is not None, f"0x{message.message_code:04X} not in the registry"
    assert folder_use_case.startswith(message.use_case.name.split("-")[0])


@pytest.mark.parametrize("path", params(rtds_files()))
def test_cra_flag_matches_the_file_kind(path):
    message = decode(read_vector(path))
    if "_ALERT" in path.name:
        assert message.cra == "alert"
    elif "RESPONSE" in path.name:
        assert message.cra == "response"
    else:
        assert message.cra == "command"


def test_worked_example_7_6_deactivate():
    """Primer 4.5 and 8.1: every field of the ECS47 deactivate command."""
    path = RTDS_ROOT / "7.6_ECS47Deactivate" / "ECS47Deactivate_7.6_SUCCESS_COMMAND_GBCS.HEX"
    message = decode(read_vector(path))
    assert message.use_case.name == "ECS47"
    assert message.counter == 1001
    assert message.originator.hex().upper() == "90B3D51F30010000"
    assert message.target.hex().upper() == "00DB1234567890A0"
    assert message.payload_kind == "dlms-access-request"
    specs = message.payload.specifications
    assert [str(s.kind) for s in specs] == ["set", "action"]
    assert [obis_text(s.instance_id) for s in specs] == ["0-0:94.44.119.2", "0-0:10.0.103.255"]
    assert [(d.type, d.value) for d in message.payload.data] == [
        ("long-unsigned", 60),
        ("long-unsigned", 0x0312),
    ]
    assert message.payload.long_invoke_id_and_priority & 0xFFFFFF == message.counter & 0xFFFFFF
    assert message.mac.hex() == "7d60324ae99abacf410b057c"


def test_precommand_is_the_signed_command_minus_signature():
    folder = RTDS_ROOT / "7.6_ECS47Deactivate"
    command = decode(read_vector(folder / "ECS47Deactivate_7.6_SUCCESS_COMMAND_GBCS.HEX"))
    pre = read_vector(folder / "ECS47Deactivate_7.6_SUCCESS_PRECOMMAND_GBCS.HEX")
    assert command.signed_data == pre[1:]


def test_edited_tree_encodes_the_edit():
    path = RTDS_ROOT / "7.6_ECS47Deactivate" / "ECS47Deactivate_7.6_SUCCESS_PRECOMMAND_GBCS.HEX"
    message = decode(read_vector(path))
    message.payload.data[0].value = 90
    again = decode(encode(message))
    assert again.payload.data[0].value == 90
    assert again.counter == message.counter


def test_wrap_for_mac_gives_a_mac_shaped_message():
    path = RTDS_ROOT / "7.6_ECS47Deactivate" / "ECS47Deactivate_7.6_SUCCESS_COMMAND_GBCS.HEX"
    data = read_vector(path)
    message = decode(data)
    assert wrap_for_mac(message.apdu, message.mac) == data


@pytest.mark.parametrize(
    "data, layer",
    [
        (b"", "framing"),
        (b"\x42", "framing"),
        (b"\xdf\x09\x01", "general-signing"),
        (b"\xdd\x00\x00", "general-ciphering"),
    ],
    ids=["empty", "unknown-tag", "short-signing", "short-ciphering"],
)
def test_bad_input_names_layer_and_offset(data, layer):
    with pytest.raises(DecodeError) as caught:
        decode(data)
    assert caught.value.layer == layer
    assert caught.value.offset is not None and 0 <= caught.value.offset <= len(data)


@pytest.mark.parametrize("path", params(rtds_files("ECS61a*RESPONSE*")))
def test_truncation_anywhere_raises_gbcs_error_with_offset(path):
    data = read_vector(path)
    for cut in range(len(data)):
        with pytest.raises(GbcsError) as caught:
            decode(data[:cut])
        assert caught.value.offset is None or caught.value.offset <= len(data)


def test_encode_rejects_a_broken_tree():
    path = RTDS_ROOT / "7.6_ECS47Deactivate" / "ECS47Deactivate_7.6_SUCCESS_COMMAND_GBCS.HEX"
    message = decode(read_vector(path))
    message.payload.data[0].value = "not a number"
    with pytest.raises(EncodeError):
        encode(message)


@pytest.mark.parametrize(
    "hex_item, offset",
    [("130010", 1), ("1301ffff020000", 1), ("1302020000ff0100", 3)],
    ids=["null-values", "array-of-empty-structures", "structure-of-nulls"],
)
def test_compact_array_of_no_size_is_refused_not_looped(hex_item, offset):
    """Found by the property tests: a description whose values take no bytes would repeat
    forever; it is refused where it starts."""
    from gbcs.dlms import decode_data

    with pytest.raises(DecodeError) as caught:
        decode_data(bytes.fromhex(hex_item))
    assert caught.value.offset == offset


DEFERRED_KINDS = ("asn1", "dlms-access-request", "dlms-access-response")
DEFERRED_VECTORS = [
    path for path in rtds_files() if decode(read_vector(path)).payload_kind in DEFERRED_KINDS
]


@pytest.mark.parametrize("path", params(DEFERRED_VECTORS))
def test_a_deferred_payload_is_built_when_first_read_and_a_check_reads_few(path):
    """decode(defer=True) proves an ASN.1 payload, or a DLMS access request's or response's,
    and leaves its tree until it is read (gbcs.payload.Deferred). A check reads none but those
    holding an encrypted fragment's header (whose fragments it decrypts); read, a payload is
    the tree an eager decode gives, and its invoke id is the same built or not."""
    data = read_vector(path)
    result = check_message_bytes(path.name, data, rtds_keystore_for_checks())
    assert result.decoded and result.reencoded
    built_by_the_check = FRAGMENT_HEADER in result.message.apdu
    assert (type(result.message._payload) is Deferred) is not built_by_the_check
    if not built_by_the_check:  # an ASN.1 one stays unbuilt with a header there by chance
        probe = decode(data, defer=True)
        probe.apdu += FRAGMENT_HEADER
        assert probe.security_inputs().fragments == ()
        assert (type(probe._payload) is Deferred) is (probe.payload_kind == "asn1")
    assert type(decode(data)._payload) is not Deferred  # decode builds it unless asked
    message = decode(data, defer=True)
    deferred = message._payload
    invoke_id = message.invoke_id
    if deferred.kind == "asn1":
        built = asn1.decode(deferred.content, deferred.base, message.message_code, message.cra_flag)
        assert built.fields is not None and invoke_id is None
    else:
        built = dlms.decode(deferred.kind, deferred.content, deferred.base)
        assert invoke_id == built.long_invoke_id_and_priority
    assert _plain(message.payload) == _plain(built)
    assert type(message._payload) is not Deferred  # built once, then kept
    assert message.payload is message.payload and message.invoke_id == invoke_id
    assert encode(message) == data


def _plain(value):
    """A decoded tree as dicts and lists (construct's Container compares a certificate's
    tree with another in ~0.15 s)."""
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


@cache
def rtds_keystore_for_checks():
    """RTDS's keys as `gbhan gbcs check` loads them (cached, validity not judged)."""
    return Keystore(check_validity=False).load(RTDS_KEYSTORE, cache=True)
