"""GBZ payloads: every RTDS GBZ content decodes to structured ZCL and re-encodes byte for byte."""

import hashlib
import random
from functools import cache
from pathlib import Path

import pytest
from construct import Container
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.ciphers import Cipher
from cryptography.hazmat.primitives.ciphers.algorithms import AES
from cryptography.hazmat.primitives.ciphers.modes import GCM
from cryptography.x509 import load_pem_x509_certificate
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator import data
from gbcs import framing, gbz, zcl
from gbcs.errors import DecodeError, GbcsError

RTDS = data.rtds()
KEYSTORE = data.rtds_keystore()


@cache
def content_of(path: Path) -> tuple[bytes, int, int, bytes, bytes, int]:
    """(content, message code, CRA, originator, target, counter) without the main decoder."""
    data = bytes.fromhex(path.read_text().strip())
    apdu = data
    if data[0] == 0xDD:
        apdu = framing.GeneralCiphering.parse(data).ciphered_service.information[:-12]
    header = framing.GeneralSigning.parse(apdu)
    return (
        header.content,
        header.other_information.message_code,
        int(header.transaction_id.cra),
        header.originator,
        header.target,
        header.transaction_id.counter,
    )


def _gbz_files(alerts: bool) -> list[Path]:
    files = []
    for path in sorted(RTDS.glob("*/*.HEX")):
        content, _, cra, *_ = content_of(path)
        if content[:2] == b"\x01\x09" and (cra == 3) == alerts:
            files.append(path)
    return files


GBZ_FILES = _gbz_files(alerts=False)
GBZ_ALERT_FILES = _gbz_files(alerts=True)


def by_name(files):
    return pytest.mark.parametrize("path", files, ids=[f.name for f in files])


def rtds_file(name: str) -> Path:
    (path,) = RTDS.glob(f"*/{name}")
    return path


def test_rtds_has_the_gbz_vectors_the_primer_counts():
    # primer section 2 / 11: 272 GBZ commands and responses, 19 GBZ alerts
    assert len(GBZ_FILES) == 272
    assert len(GBZ_ALERT_FILES) == 19


@by_name(GBZ_FILES)
def test_gbz_round_trip(path):
    content = content_of(path)[0]
    assert gbz.encode(gbz.decode(content, 0)) == content


@by_name(GBZ_FILES)
def test_every_clear_component_is_structured(path):
    """No RTDS command falls back to `unparsed` bytes: each has a declared layout."""
    value = gbz.decode(content_of(path)[0], 0)
    assert value.component_count == len(value.components) > 0
    assert value.components[-1].control.last_component
    for component in value.components:
        frame = component.body.frame or component.body.encrypted_frame
        assert frame.command_id is not None
        if component.body.frame is not None:
            payload = component.body.frame.payload
            assert "unparsed" not in payload
            assert payload.command != "unknown"


@by_name(GBZ_FILES)
def test_fast_decoder_agrees_with_the_declarative_definition(path):
    """decode() reads headers by hand for speed; GbzPayload is the definition."""
    content = content_of(path)[0]
    assert gbz.decode(content, 0) == gbz.GbzPayload.parse(content)


@by_name(GBZ_ALERT_FILES)
def test_gbz_alert_round_trip(path):
    content, message_code, *_ = content_of(path)
    value = gbz.decode_alert(content, 0, message_code)
    assert gbz.encode_alert(value) == content
    # the alert code alone picks the same layout as the message code
    assert gbz.decode_alert(content, 0).layout == value.layout


def test_gcs33_read_attributes_response_worked_example():
    """Primer 8.4: battery life 0x0205 uint16 = 100, supply status 0x0014 enum8 = 2."""
    content = content_of(rtds_file("GCS33_7.4_SUCCESS_RESPONSE_GBCS.HEX"))[0]
    (component,) = gbz.decode(content, 0).components
    assert component.cluster_id == "metering"
    frame = component.body.frame
    assert frame.frame_control.direction == "server_to_client"
    assert frame.payload.command == "read_attributes_response"
    records = [(r.attribute_id, r.status, r.data_type, r.value) for r in frame.payload.records]
    assert records == [(0x0205, "success", "uint16", 100), (0x0014, "success", "enum8", 2)]


def test_gcs32_change_supply_fields():
    content = content_of(rtds_file("GCS32_7.2_SUCCESS_PRECOMMAND_GBCS.HEX"))[0]
    (component,) = gbz.decode(content, 0).components
    payload = component.body.frame.payload
    assert payload.command == "change_supply"
    assert payload.issuer_event_id == 0x1C374A80  # 2015-01-01, little-endian on the wire
    assert payload.proposed_supply_status == 0  # close the valve (off)


def test_gcs16b_has_31_components_with_increasing_sequence_numbers():
    content = content_of(rtds_file("GCS16b_4.14_KRP_SUCCESS_RESPONSE_GBCS.HEX"))[0]
    components = gbz.decode(content, 0).components
    assert len(components) == 31
    sequences = [(c.body.frame or c.body.encrypted_frame).sequence for c in components]
    assert sequences == sorted(sequences)


def _ka_private(eui: str):
    raw = (KEYSTORE / f"{eui}-ka.key").read_bytes()
    return serialization.load_pem_private_key(raw, password=None)


def _ka_public(eui: str):
    return load_pem_x509_certificate((KEYSTORE / f"{eui}-ka.pem").read_bytes()).public_key()


def _decrypt(fragment: bytes, device: bytes, remote: bytes, counter: int) -> bytes:
    """Primer 5.3 with real cryptography: ECDH, one-round KDF (type 04), AES-128-GCM."""
    z = _ka_private(remote.hex()).exchange(ec.ECDH(), _ka_public(device.hex()))
    info = bytes.fromhex("60857406080300") + device + b"\x09\x04" + counter.to_bytes(8, "big")
    key = hashlib.sha256(b"\x00\x00\x00\x01" + z + info + remote).digest()[:16]
    ciphertext, tag = fragment[5:-12], fragment[-12:]
    decryptor = Cipher(AES(key), GCM(device + bytes(4), tag, min_tag_length=12)).decryptor()
    decryptor.authenticate_additional_data(b"\x31")
    return decryptor.update(ciphertext) + decryptor.finalize()


def _key_parameters(path: Path) -> tuple[bytes, bytes, int]:
    """(device, data recipient, counter) for a response's fragments (primer 5.3): a
    supplementary remote party replaces the recipient, a supplementary originator counter
    replaces the counter."""
    data = bytes.fromhex(path.read_text().strip())
    apdu = data
    if data[0] == 0xDD:
        apdu = framing.GeneralCiphering.parse(data).ciphered_service.information[:-12]
    header = framing.GeneralSigning.parse(apdu)
    info = header.other_information
    recipient = info.supplementary_remote_party or header.target
    counter = info.supplementary_originator_counter
    return (
        header.originator,
        recipient,
        header.transaction_id.counter if counter is None else counter,
    )


def test_gcs13a_encrypted_fragment_decrypts_to_the_primer_reading():
    """Primer 5.3: the GPF's reading is divisor 1000, multiplier 1, unit 1, summation 12345."""
    path = rtds_file("GCS13a_4.1.1_SUCCESS_RELIABLE_GSME_RESPONSE_GBCS.HEX")
    value = gbz.decode(content_of(path)[0], 0)
    fragments = gbz.encrypted_fragments(value)
    (component,) = [c for c in value.components if c.control.encrypted]
    plaintext = _decrypt(fragments[0], *_key_parameters(path))
    payload = gbz.decode_plaintext(component, plaintext)
    values = {r.attribute_id: r.value for r in payload.records}
    assert values == {0x0302: 1000, 0x0301: 1, 0x0300: 1, 0x0000: 12345}


ENCRYPTED_FILES = [p for p in GBZ_FILES if gbz.encrypted_fragments(gbz.decode(content_of(p)[0]))]


@by_name(ENCRYPTED_FILES)
def test_every_encrypted_component_decrypts_to_a_structured_command(path):
    """Real ECDH + KDF + AES-GCM on each fragment; the plaintext is a declared command."""
    value = gbz.decode(content_of(path)[0], 0)
    encrypted = [c for c in value.components if c.control.encrypted]
    for fragment, component in zip(gbz.encrypted_fragments(value), encrypted, strict=True):
        plaintext = _decrypt(fragment, *_key_parameters(path))
        payload = gbz.decode_plaintext(component, plaintext)
        assert "unparsed" not in payload
        assert "unparsed" not in (payload.get("snapshot_sub_payload") or {})
        frame = component.body.encrypted_frame
        assert payload.command == zcl.command_name(
            component.cluster_id,
            frame.frame_control.frame_type,
            frame.frame_control.direction,
            frame.command_id,
        )


@by_name(GBZ_FILES)
def test_encrypted_fragments_are_the_wire_bytes(path):
    content = content_of(path)[0]
    value = gbz.decode(content, 0)
    fragments = gbz.encrypted_fragments(value)
    encrypted = [c for c in value.components if c.control.encrypted]
    assert len(fragments) == len(encrypted)
    for fragment, component in zip(fragments, encrypted, strict=True):
        assert fragment in content
        assert len(fragment) == component.body.encrypted_frame.ciphered_length


# hand-made ZCL general commands: (name, cluster, ZCL frame hex, expected payload fields)
ZCL_CASES = [
    ("write_attributes", "basic", "00 07 02 10 00 42 03 41 42 43", {"command": "write_attributes"}),
    ("write_attributes_response_all_ok", "metering", "08 07 04 00", {}),
    ("write_attributes_response_failure", "metering", "08 07 04 88 10 00", {}),
    (
        "default_response",
        "price",
        "18 2A 0B 04 C0",
        {"command_id": 4, "status": "hardware_failure"},
    ),
    ("discover_attributes", "basic", "00 01 0C 00 00 10", {"maximum_attribute_ids": 16}),
    ("configure_reporting", "metering", "00 02 06 00 00 00 25 0A 00 3C 00 01 00 00 00 00 00", {}),
    ("report_attributes_array", "basic", "18 03 0A 00 40 48 20 02 00 05 06", {}),
    ("report_attributes_structure", "basic", "18 04 0A 00 40 4C 02 00 21 34 12 10 01", {}),
    (
        "manufacturer_specific_command",
        "metering",
        "05 34 12 09 F0 AA BB",
        {"unparsed": b"\xaa\xbb"},
    ),
    ("unknown_cluster_command", "messaging", "09 00 7F 01 02", {"unparsed": b"\x01\x02"}),
]


@pytest.mark.parametrize(
    ("name", "cluster", "frame", "fields"), ZCL_CASES, ids=[c[0] for c in ZCL_CASES]
)
def test_zcl_general_commands_round_trip(name, cluster, frame, fields):
    raw = bytes.fromhex(frame)
    cluster_id = gbz.ClusterId.build(cluster)
    content = b"\x01\x09\x01\x01" + cluster_id + len(raw).to_bytes(2, "big") + raw
    value = gbz.decode(content, 0)
    payload = value.components[0].body.frame.payload
    for key, expected in fields.items():
        assert payload[key] == expected
    assert gbz.encode(value) == content


def test_typed_composite_values_decode():
    content = bytes.fromhex("0109 01 01 0000 000B 18 03 0A 0040 48 20 0200 05 06")
    (record,) = gbz.decode(content, 0).components[0].body.frame.payload.records
    assert record.data_type == "array"
    assert record.value.element_type == "uint8"
    assert list(record.value.elements) == [5, 6]


def test_built_component_gets_its_length_and_count():
    """A hand-built command (as the emulator makes them) needs no lengths or counts."""
    frame = Container(
        frame_control=Container(
            frame_type="profile_wide",
            manufacturer_specific=False,
            direction="client_to_server",
            disable_default_response=False,
        ),
        manufacturer_code=None,
        sequence=0,
        command_id=0x00,
        payload=Container(attribute_ids=[0x0205, 0x0014]),
    )
    component = Container(
        control=Container(last_component=True, encrypted=False, from_date_time=False),
        cluster_id="metering",
        body=Container(from_date_time=None, frame=frame, encrypted_frame=None),
    )
    built = gbz.encode(Container(components=[component]))
    assert built == content_of(rtds_file("GCS33_7.4_SUCCESS_COMMAND_GBCS.HEX"))[0]


# --- bad input: typed errors with the layer and the absolute byte offset ----------------


def test_truncated_content_names_layer_and_absolute_offset():
    content = content_of(rtds_file("GCS33_7.4_SUCCESS_RESPONSE_GBCS.HEX"))[0]
    with pytest.raises(DecodeError) as info:
        gbz.decode(content[:-1], base=0x30)
    assert info.value.layer == "gbz"
    assert 0x30 <= info.value.offset <= 0x30 + len(content)


def test_component_length_beyond_the_content_is_an_error():
    content = bytearray(content_of(rtds_file("GCS33_7.4_SUCCESS_RESPONSE_GBCS.HEX"))[0])
    content[6] += 1  # length low byte: one more than there is
    with pytest.raises(DecodeError) as info:
        gbz.decode(bytes(content), base=100)
    assert info.value.layer == "gbz" and info.value.offset >= 100


def test_trailing_byte_is_an_error_at_its_offset():
    content = content_of(rtds_file("GCS33_7.4_SUCCESS_RESPONSE_GBCS.HEX"))[0]
    with pytest.raises(DecodeError) as info:
        gbz.decode(content + b"\x00", base=10)
    assert info.value.offset == 10 + len(content)


def test_wrong_profile_is_an_error():
    with pytest.raises(DecodeError) as info:
        gbz.decode(b"\x01\x04\x00", 0)
    assert info.value.offset == 0 or info.value.offset == 2


MUTATION_FILES = [
    "GCS33_7.4_SUCCESS_RESPONSE_GBCS.HEX",
    "GCS16b_4.14_KRP_SUCCESS_RESPONSE_GBCS.HEX",
    "GCS21b_4.13_SUCCESS_RESPONSE_GBCS.HEX",
    "GCS01a_1.1.1_CANCELLATION_BLOCK_SUCCESS_COMMAND_GBCS.HEX",
    "GCS13a_4.1.1_SUCCESS_RELIABLE_GSME_RESPONSE_GBCS.HEX",
]


@st.composite
def mutated(draw, name_list):
    name = draw(st.sampled_from(name_list))
    content = bytearray(content_of(rtds_file(name))[0])
    kind = draw(st.sampled_from(["flip", "truncate", "extend", "splice"]))
    if kind == "flip":
        for _ in range(draw(st.integers(1, 4))):
            content[draw(st.integers(0, len(content) - 1))] ^= 1 << draw(st.integers(0, 7))
    elif kind == "truncate":
        del content[draw(st.integers(0, len(content) - 1)) :]
    elif kind == "extend":
        content += draw(st.binary(min_size=1, max_size=8))
    else:
        at = draw(st.integers(0, len(content)))
        content[at:at] = draw(st.binary(min_size=1, max_size=4))
    return bytes(content)


@pytest.mark.slow
@settings(max_examples=300)
@given(mutated(MUTATION_FILES), st.integers(0, 1000))
def test_mutated_gbz_raises_only_gbcs_errors(content, base):
    try:
        value = gbz.decode(content, base)
    except GbcsError as exc:
        assert exc.layer == "gbz"
        assert base <= exc.offset <= base + len(content)
    else:
        assert gbz.encode(value) == content
        assert value == gbz.GbzPayload.parse(content)


ALERT_MUTATION_FILES = [p.name for p in GBZ_ALERT_FILES]


@pytest.mark.slow
@settings(max_examples=300)
@given(mutated(ALERT_MUTATION_FILES), st.integers(0, 1000))
def test_mutated_gbz_alert_raises_only_gbcs_errors(content, base):
    try:
        value = gbz.decode_alert(content, base)
    except GbcsError as exc:
        assert exc.layer == "gbz"
        assert base <= exc.offset <= base + len(content)
    else:
        assert gbz.encode_alert(value) == content


@settings(max_examples=200)
@given(st.binary(max_size=64), st.integers(0, 100))
def test_random_bytes_raise_only_gbcs_errors(content, base):
    for decoder in (gbz.decode, gbz.decode_alert):
        try:
            decoder(b"\x01\x09" + content, base)
        except GbcsError as exc:
            assert exc.layer == "gbz"


def test_components_alert_layout_gcs53_style():
    """An alert that appends an ordinary component (GCS53; no RTDS vector): built by hand."""
    component = content_of(rtds_file("GCS33_7.4_SUCCESS_RESPONSE_GBCS.HEX"))[0][3:]
    content = bytes.fromhex("0109 01 8F0A 1C374A80") + component
    value = gbz.decode_alert(content, 0, 0x008B)
    assert value.layout == "components"
    assert value.alert_code == 0x8F0A
    assert value.components[0].body.frame.payload.command == "read_attributes_response"
    assert gbz.encode_alert(value) == content
    assert gbz.decode_alert(content, 0).layout == "components"  # count > 0 and bytes follow


def test_future_dated_alert_fields_and_hand_built_encoding():
    path = rtds_file(
        "GCS01a_1.1.1_8F66_FUTURE_DATED_BLOCK_SUCCESS_ALERT_PUBLISH_BLOCK_THRESHOLDS_GBCS.HEX"
    )
    content = content_of(path)[0]
    value = gbz.decode_alert(content, 0, 0x00CD)
    assert value.alert_code == 0x8F66
    executed = value.executed_command
    assert (executed.message_code, executed.originator_counter) == (0x006B, 1005)
    assert (executed.cluster_id, executed.command_id) == ("price", 0x06)
    rebuilt = Container(
        layout="future_dated",
        component_count=1,
        alert_code=0x8F66,
        time_stamp=value.time_stamp,
        executed_command=Container(executed),
    )
    assert gbz.encode_alert(rebuilt) == content


def test_plain_alert_needs_its_whole_header():
    with pytest.raises(DecodeError) as info:
        gbz.decode_alert(bytes.fromhex("0109008F30"), base=7)
    assert info.value.layer == "gbz" and info.value.offset == 7 + 5


@by_name(GBZ_FILES)
def test_every_attribute_rtds_reads_has_a_name(path):
    for component in gbz.decode(content_of(path)[0], 0).components:
        payload = (component.body.frame or Container(payload=Container())).payload
        ids = list(payload.get("attribute_ids") or [])
        records = payload.get("records") or []
        ids += [r.attribute_id for r in records if r.get("attribute_id") is not None]
        for attribute_id in ids:
            name = zcl.attribute_name(component.cluster_id, attribute_id)
            assert not name.startswith("attribute_0x"), (component.cluster_id, attribute_id)


# --- the hand writer gbz.encode uses agrees with GbzPayload's build ---------------------------
def struct_built(value):
    try:
        return gbz.GbzPayload.build(value)
    except Exception as exc:  # construct's errors and the plain ones its fields raise
        return type(exc).__name__


def hand_written(value):
    try:
        return gbz._write_payload(value)
    except Exception as exc:  # declined: gbz.encode then builds with GbzPayload
        return ("declined", type(exc).__name__)


def assert_writer_agrees(value) -> bytes | None:
    written = hand_written(value)
    if isinstance(written, bytes):
        assert written == struct_built(value)
        assert gbz.encode(value) == written
        return written
    return None


def gbz_mutations(content: bytes, rng, count: int):
    for _ in range(count):
        at = rng.randrange(len(content))
        edited = bytearray(content)
        what = rng.randrange(3)
        if what == 0:
            edited[at] ^= 1 << rng.randrange(8)
        elif what == 1:
            edited[at] = rng.choice((0x00, 0x01, 0x04, 0x08, 0x10, 0x12, 0x7F, 0xFF))
        else:
            edited[at : at + 1] = b""
        yield bytes(edited)


@by_name(GBZ_FILES)
def test_writer_writes_what_gbzpayload_builds_on_rtds_and_mutations(path):
    content = content_of(path)[0]
    assert assert_writer_agrees(gbz.decode(content, 0)) == content  # decode's shapes: written
    rng = random.Random(path.name)
    written = 0
    for mutated in gbz_mutations(content, rng, 30):
        try:
            value = gbz.decode(mutated, 0)
        except DecodeError:
            continue
        written += assert_writer_agrees(value) is not None
    assert written or len(content) < 40  # most decodable mutations are written by hand


def test_writer_declines_shapes_decode_never_gives():
    value = next(
        v
        for v in (gbz.decode(content_of(path)[0], 0) for path in GBZ_FILES)
        if len(v.components) > 1 and v.components[0].body.frame is not None
    )
    first = value.components[0]
    edits = [
        ("control", Container(first.control, encrypted=1)),
        ("cluster_id", "no_such_cluster"),
        ("body", Container(first.body, frame=None)),
        ("body", Container({k: v for k, v in first.body.items() if k != "from_date_time"})),
    ]
    for key, replacement in edits:
        edited = Container(value)
        edited.components = [Container(first, **{key: replacement}), *value.components[1:]]
        assert not isinstance(hand_written(edited), bytes), key
        assert_writer_agrees(edited)
    # a direction by number: ZclFrame's Switch would write no payload, so the writer declines
    frame = first.body.frame
    control = Container(frame.frame_control, direction=1)
    edited = Container(value)
    body = Container(first.body, frame=Container(frame, frame_control=control))
    edited.components = [Container(first, body=body), *value.components[1:]]
    assert not isinstance(hand_written(edited), bytes)
    # a cluster by number (an EnumInteger from decode, or a plain int): written as the
    # Struct writes it, its payload then unparsed by the Switch
    numbered = Container(value)
    numbered.components = [Container(c, cluster_id=0x0700) for c in value.components]
    assert_writer_agrees(numbered)


# --- flat ZCL payloads written by struct.pack agree with their Structs ------------------------
def _rtds_payloads():
    """(payload Struct, decoded payload value) of every clear RTDS GBZ component."""
    found = []
    for path in GBZ_FILES:
        for component in gbz.decode(content_of(path)[0], 0).components:
            frame = component.body.frame
            if frame is None:
                continue
            control = frame.frame_control
            struct_ = zcl.GENERAL_COMMANDS.get(frame.command_id, zcl.Unparsed)
            if control.frame_type == "cluster_specific" and not control.manufacturer_specific:
                client, server = zcl.CLUSTER_COMMANDS.get(component.cluster_id, ({}, {}))
                table = client if control.direction == "client_to_server" else server
                struct_ = table.get(frame.command_id, zcl.Unparsed)
            found.append((struct_, frame.payload))
    return found


RTDS_PAYLOADS = _rtds_payloads()
# values a field may be given: in range, at the edges, past them, of other types
EDGE_VALUES = (0, 1, 0x7F, 0xFF, 0x100, 0xFFFF, 0x10000, 2**32 - 1, 2**32, 2**63, -1, -(2**31))
EDGE_VALUES += (True, None, "", "no_such_name", 1.5, b"\x01", [1])


def struct_or_error(struct_, value):
    try:
        return struct_.build(value)
    except Exception as exc:  # construct's errors and the plain ones its fields raise
        return type(exc).__name__


def test_nearly_every_rtds_payload_is_written_directly():
    written = [s for s, _ in RTDS_PAYLOADS if gbz._payload_writer(s) is not None]
    assert len(written) * 10 >= len(RTDS_PAYLOADS) * 9  # nine in ten, at least
    assert gbz._payload_writer(zcl.Unparsed) is None


def edits_of(value):
    """The payload value with each field (and each field of its first list item, and of a
    nested Struct) set to every edge value, left out, and each list emptied, cut by one or
    given one more item."""
    for name, field in value.items():
        if name == "command":
            continue
        for edge in EDGE_VALUES:
            yield Container(value, **{name: edge})
        yield Container({k: v for k, v in value.items() if k != name})
        if isinstance(field, dict):
            for inner in edits_of(field):
                yield Container(value, **{name: inner})
        if isinstance(field, list):
            yield Container(value, **{name: []})
            yield Container(value, **{name: field[:-1]})
            yield Container(value, **{name: [*field, field[-1] if field else 0]})
            yield Container(value, **{name: tuple(field)})
            if field and isinstance(field[0], dict):
                for inner in edits_of(field[0]):
                    yield Container(value, **{name: [inner, *field[1:]]})
            elif field:
                for edge in EDGE_VALUES:
                    yield Container(value, **{name: [edge, *field[1:]]})


def test_payload_writer_writes_what_each_struct_builds_or_declines():
    """Every RTDS payload the writer takes, and every edit of it (edits_of): the writer's
    bytes are the Struct's wherever it writes; where it declines, the Struct decides."""
    checked = written = 0
    for struct_, value in RTDS_PAYLOADS:
        writer = gbz._payload_writer(struct_)
        if writer is None:
            continue
        assert gbz._write_with(writer, value) == struct_.build(value)
        for edited in edits_of(value):
            fast = gbz._write_with(writer, edited)
            checked += 1
            if fast is not None:
                written += 1
                assert fast == struct_or_error(struct_, edited), edited
        assert gbz._write_with(writer, None) is None  # the Struct's own refusal, not ours
    assert checked > 10_000 and written > 1_000
