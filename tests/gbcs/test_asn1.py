"""ASN.1 DER payloads: every RTDS ASN.1 content round-trips and its use case is named."""

import base64
from functools import cache
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator import data
from gbcs import asn1, framing
from gbcs.errors import DecodeError, EncodeError, GbcsError

RTDS = data.rtds()
KEYSTORE = data.rtds_keystore()


@cache
def content_of(path: Path) -> tuple[bytes, int, int]:
    """(content, message code, CRA flag) without the main decoder."""
    data = bytes.fromhex(path.read_text().strip())
    apdu = data
    if data[0] == 0xDD:
        apdu = framing.GeneralCiphering.parse(data).ciphered_service.information[:-12]
    header = framing.GeneralSigning.parse(apdu)
    return header.content, header.other_information.message_code, int(header.transaction_id.cra)


ASN1_FILES = [
    path
    for path in sorted(RTDS.glob("*/*.HEX"))
    if content_of(path)[1] in asn1.USE_CASES and content_of(path)[0][:2] != b"\x01\x09"
]
CERTIFICATES = sorted(KEYSTORE.glob("*.pem"))


def by_name(files):
    return pytest.mark.parametrize("path", files, ids=[f.name for f in files])


def rtds_file(name: str) -> Path:
    (path,) = RTDS.glob(f"*/{name}")
    return path


def decoded(name: str):
    content, code, cra = content_of(rtds_file(name))
    return asn1.decode(content, 0, code, cra)


def test_rtds_has_the_asn1_vectors():
    # primer section 2 counts: 178 contents start 30/02/04/05 under an ASN.1 message code
    assert len(ASN1_FILES) == 178


@by_name(ASN1_FILES)
def test_asn1_round_trip(path):
    content, code, cra = content_of(path)
    assert asn1.encode(asn1.decode(content, 0, code, cra)) == content


@by_name(ASN1_FILES)
def test_every_rtds_asn1_payload_gets_named_fields(path):
    content, code, cra = content_of(path)
    value = asn1.decode(content, 0, code, cra)
    assert value.fields is not None, f"0x{code:04X} CRA {cra} did not match its schema"
    assert value.fields.use_case == asn1.USE_CASES[code][0]


def test_cs03a1_join_worked_example():
    """Primer 8.5: Method A initiator, other device 00DB12345678909A, type 4 (HCALCS)."""
    fields = decoded("CS03A1_8.7.1_SUCCESS_COMMAND_GBCS.HEX").fields
    assert fields.join_method_and_role_name == "method_a_initiator"
    assert fields.other_device_id == bytes.fromhex("00DB12345678909A")
    assert fields.other_device_type == 4 and fields.other_device_type_name == "hcalcs"
    assert fields.other_device_certificate is None
    assert decoded("CS03A1_8.7.1_SUCCESS_RESPONSE_GBCS.HEX").fields.name == "success"
    error = decoded("CS03A1_8.7.1_ERROR_RESPONSE_GBCS.HEX").fields
    assert error.name == "incompatible_with_existing_entry"


def test_cs03c_carries_the_other_devices_certificate():
    fields = decoded("CS03CCritical_8.7.1_SUCCESS_COMMAND_GBCS.HEX").fields
    certificate = fields.other_device_certificate
    assert certificate[:2] == b"\x30\x82"
    from cryptography.x509 import load_der_x509_certificate

    assert load_der_x509_certificate(certificate).public_key() is not None


def test_ccs08_firmware_transfer_alert():
    fields = decoded("CCS08_NA_NA_ALERT_GBCS.HEX").fields
    assert fields.alert_code == 0x8F8A
    assert fields.execution_date_time == "20150101000000Z"
    assert fields.entity_id == bytes.fromhex("00DB1234567890A4")
    assert fields.response_code_name == "success"


def test_gcs62_backup_lists_the_device_log():
    fields = decoded("GCS62_NA_8071_ALERT_GBCS.HEX").fields
    assert fields.alert_code == 0x8071
    assert all(len(entry.device_id) == 8 for entry in fields.device_log_entries)
    first = fields.device_log_entries[0]
    assert first.device_id == bytes.fromhex("0102030405060708")
    assert first.device_type_name == "type_2"


def test_without_message_code_the_generic_tree_still_decodes():
    content, _, _ = content_of(rtds_file("CS03A1_8.7.1_SUCCESS_COMMAND_GBCS.HEX"))
    value = asn1.decode(content, 0)
    assert value.fields is None
    assert [child.name for child in value.tree.children] == ["integer", "octet_string", "integer"]


def test_padded_lengths_round_trip():
    """RTDS's CS02b responses use 82 00 83 (not DER minimal); the tree keeps the form."""
    content, code, cra = content_of(rtds_file("CS02bNOByNO_6.15.1_SUCCESS_RESPONSE_GBCS.HEX"))
    assert content[:4] == bytes.fromhex("30820083")
    value = asn1.decode(content, 0, code, cra)
    assert value.tree.padded_length_bytes == 2
    assert asn1.encode(value) == content


def _pem_der(path: Path) -> bytes:
    lines = path.read_text().splitlines()
    body = "".join(line for line in lines if line and not line.startswith("-----"))
    return base64.b64decode(body)


@by_name(CERTIFICATES)
def test_any_der_round_trips_keystore_certificates(path):
    der = _pem_der(path)
    tree = asn1.decode_tree(der)
    assert tree.name == "sequence" and tree.constructed
    assert asn1.encode_tree(tree) == der


@pytest.mark.parametrize(
    ("node", "der"),
    [
        (asn1.integer(0x8F8A), "0203008F8A"),
        (asn1.integer(0), "020100"),
        (asn1.integer(-1), "0201FF"),
        (asn1.integer(128), "02020080"),
        (asn1.null(), "0500"),
        (asn1.octet_string(bytes.fromhex("00DB12345678909A")), "040800DB12345678909A"),
        (asn1.generalized_time("20150101000000Z"), "180F32303135303130313030303030305A"),
        (asn1.sequence(asn1.integer(0), asn1.null()), "3005020100" + "0500"),
    ],
    ids=["alert-8F8A", "zero", "minus-one", "128", "null", "octet-string", "time", "sequence"],
)
def test_builders_make_minimal_der(node, der):
    assert asn1.encode_tree(node).hex().upper() == der


def test_built_unjoin_matches_rtds():
    content, code, cra = content_of(rtds_file("CS04B_8.8.2_SUCCESS_COMMAND_GBCS.HEX"))
    tree = asn1.octet_string(bytes.fromhex("0102030405060708"))
    assert asn1.encode({"tree": tree}) == content


def test_high_tag_numbers_round_trip():
    der = bytes.fromhex("BF8F7F03020101")  # [context 2047] constructed holding INTEGER 1
    tree = asn1.decode_tree(der)
    assert tree.tag_class == "context" and tree.tag_number == 2047
    assert asn1.encode_tree(tree) == der


@pytest.mark.parametrize(
    ("der", "offset"),
    [
        ("3003020201", 4),  # the child INTEGER overruns its SEQUENCE
        ("30800201000000", 1),  # indefinite length (BER, not DER)
        ("020100FF", 3),  # a trailing byte
        ("3005020100", 2),  # container claims more than there is
        ("04", 1),  # no length
        ("1F", 1),  # high tag number cut off
        ("0285", 1),  # a 5-byte length form
    ],
    ids=["child-overrun", "indefinite", "trailing", "overrun", "no-length", "cut-tag", "long-form"],
)
def test_bad_der_names_layer_and_offset(der, offset):
    data = bytes.fromhex(der)
    with pytest.raises(DecodeError) as info:
        asn1.decode(data, base=1000)
    assert info.value.layer == "asn1"
    assert info.value.offset == 1000 + offset


def test_deep_nesting_is_a_typed_error_not_a_recursion_crash():
    data = b""
    for _ in range(200):
        data = b"\x30" + asn1._der_length(len(data)) + data
    with pytest.raises(DecodeError):
        asn1.decode(data, 0)


def test_encode_without_a_tree_is_an_encode_error():
    with pytest.raises(EncodeError):
        asn1.encode({"fields": {}})


MUTATION_FILES = [
    "CS03A1_8.7.1_SUCCESS_COMMAND_GBCS.HEX",
    "CS03CCritical_8.7.1_SUCCESS_COMMAND_GBCS.HEX",
    "CCS08_NA_NA_ALERT_GBCS.HEX",
    "GCS59_8.12.2_SUCCESS_RESPONSE_GBCS.HEX",
    "CS02bNOByNO_6.15.1_SUCCESS_RESPONSE_GBCS.HEX",
]


@st.composite
def mutated(draw):
    path = rtds_file(draw(st.sampled_from(MUTATION_FILES)))
    content, code, cra = content_of(path)
    data = bytearray(content)
    kind = draw(st.sampled_from(["flip", "truncate", "extend"]))
    if kind == "flip":
        for _ in range(draw(st.integers(1, 4))):
            data[draw(st.integers(0, len(data) - 1))] ^= 1 << draw(st.integers(0, 7))
    elif kind == "truncate":
        del data[draw(st.integers(0, len(data) - 1)) :]
    else:
        data += draw(st.binary(min_size=1, max_size=8))
    return bytes(data), code, cra


@pytest.mark.slow
@settings(max_examples=300)
@given(mutated(), st.integers(0, 1000))
def test_mutated_asn1_raises_only_gbcs_errors(case, base):
    content, code, cra = case
    try:
        value = asn1.decode(content, base, code, cra)
    except GbcsError as exc:
        assert exc.layer == "asn1"
        assert base <= exc.offset <= base + len(content)
    else:
        assert asn1.encode(value) == content


# the distinct ASN.1 contents of RTDS (178 messages hold 104), shortest first
DISTINCT_CONTENTS = sorted({content_of(path)[0]: path.name for path in ASN1_FILES}.items())
_SUBSTITUTES = (0x00, 0xFF, 0x80, 0x81, 0x82, 0x1F, None)  # None: the byte with bit 7 flipped


def _verdict(read, content: bytes) -> tuple[str, str, int] | None:
    try:
        read(content, 7)
    except DecodeError as exc:
        return exc.layer, str(exc), exc.offset
    return None


@pytest.mark.parametrize(
    "content", [c for c, _ in DISTINCT_CONTENTS], ids=[n for _, n in DISTINCT_CONTENTS]
)
def test_check_tree_gives_decode_trees_verdict_on_every_edit(content):
    """check_tree (a check's proof of a DER payload, no tree built) fails exactly where and
    as decode_tree does: on the payload, cut at every length, and with each byte replaced
    (by turns 00, FF, 80, 81, 82, 1F or itself with bit 7 flipped, which hit the tag
    forms, the length forms and the constructed bit). All seven and a deletion at every
    byte of every payload, and every cut (394,209 edits), agreed when this was written;
    this keeps the cuts and one replacement a byte."""
    assert _verdict(asn1.check_tree, content) is None
    edits = [content[:cut] for cut in range(len(content))]
    for at, byte in enumerate(content):
        value = _SUBSTITUTES[at % len(_SUBSTITUTES)]
        replaced = byte ^ 0x80 if value is None else value
        edits.append(content[:at] + bytes((replaced,)) + content[at + 1 :])
    failed = 0
    for edit in edits:
        expected = _verdict(asn1.decode_tree, edit)
        assert _verdict(asn1.check_tree, edit) == expected, edit.hex()
        failed += expected is not None
    assert failed > len(content)  # the edits reach the failures, not only what decodes


@pytest.mark.parametrize("levels", range(asn1.MAX_DEPTH - 1, asn1.MAX_DEPTH + 3))
def test_check_tree_stops_at_decode_trees_depth(levels):
    """Around the nesting limit (an INTEGER inside `levels` SEQUENCEs), the same verdict."""
    der = b"\x02\x01\x00"
    for _ in range(levels):
        der = b"\x30" + asn1._der_length(len(der)) + der
    expected = _verdict(asn1.decode_tree, der)
    assert (expected is None) == (levels <= asn1.MAX_DEPTH)
    assert _verdict(asn1.check_tree, der) == expected
