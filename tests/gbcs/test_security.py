"""Security layer against the RTDS vectors and the primer's check values (primer section 5).

The payload layers are not needed here: each RTDS file is taken apart at the framing level
(DD envelope, DF grouping header) into a small view with the attributes check_message reads,
and the encrypted fragments are found in the content by their `31 00 00 00 00` header.
"""

import collections
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from construct import Container
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st

from emulator import data
from gbcs import framing, security
from gbcs.errors import DecodeError, EncodeError, GbcsError, VerificationError
from gbcs.keystore import KA, Keystore
from gbcs.message import Message
from gbcs.primitives import parse_layer

RTDS = data.rtds()
RTDS_KEYS = data.rtds_keystore()
DCCBOXED = data.dccboxed_keystore()
TEST_CLOCK = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)  # RTDS organisation certs expired in 2025
VECTORS = sorted(RTDS.rglob("*.HEX"))
ESME = bytes.fromhex("00DB1234567890A0")
SUPPLIER = bytes.fromhex("90B3D51F30010000")
SIGNING_KEY = ec.generate_private_key(ec.SECP256R1())


@dataclass
class FramedMessage:
    """The attributes of gbcs.message.Message that the security checks read."""

    apdu: bytes
    header: Container
    content: bytes
    signature: bytes | None
    envelope: Container | None = None
    mac: bytes | None = None
    decrypted: list = field(default_factory=list)

    cra_flag = property(lambda self: int(self.header.transaction_id.cra))
    counter = property(lambda self: self.header.transaction_id.counter)
    originator = property(lambda self: self.header.originator)
    target = property(lambda self: self.header.target)
    other_information = property(lambda self: self.header.other_information)
    # what the checks read, taken from these as Message takes it
    security_inputs = Message.security_inputs
    encryption_parameters = Message.encryption_parameters


def frame(data: bytes) -> FramedMessage:
    envelope = mac = None
    apdu = data
    if data[0] == 0xDD:
        envelope = parse_layer(framing.GeneralCiphering, data, "general-ciphering")
        information = envelope.ciphered_service.information
        apdu, mac = information[:-12], information[-12:]
    header = parse_layer(framing.GeneralSigning, apdu, "general-signing")
    return FramedMessage(apdu, header, header.content, header.signature, envelope, mac)


def read_vector(path: Path) -> bytes:
    return bytes.fromhex(path.read_text().strip())


def name(path: Path) -> str:
    return path.name


FRAMED = {path: frame(read_vector(path)) for path in VECTORS}
SIGNED = [p for p, m in FRAMED.items() if m.signature]
MACED = [p for p, m in FRAMED.items() if m.mac is not None]
PRECOMMANDS = [p for p in VECTORS if "_PRECOMMAND_" in p.name]
SIGNED_COMMANDS = [p for p in SIGNED if FRAMED[p].cra_flag == 1]


@pytest.fixture(scope="module")
def keystore() -> Keystore:
    return Keystore(TEST_CLOCK).load(RTDS_KEYS)


def candidate_fragments(content: bytes) -> list[tuple[int, list[bytes]]]:
    """Places where a 31 00 00 00 00 header sits, each with the fragments the length before
    it allows (A-XDR octet-string length form, or GBZ's 2-byte big-endian length)."""
    found = []
    start = content.find(security.FRAGMENT_HEADER)
    while start != -1:
        lengths = set()
        if start >= 1 and content[start - 1] < 0x80:
            lengths.add(content[start - 1])
        if start >= 2:
            lengths.add(int.from_bytes(content[start - 2 : start], "big"))
            if content[start - 2] == 0x81:
                lengths.add(content[start - 1])
        if start >= 3 and content[start - 3] == 0x82:
            lengths.add(int.from_bytes(content[start - 2 : start], "big"))
        pieces = [
            content[start : start + n] for n in sorted(lengths) if 17 <= n <= len(content) - start
        ]
        found.append((start, pieces))
        start = content.find(security.FRAGMENT_HEADER, start + 1)
    return found


def fragments_of(message: FramedMessage, keystore: Keystore) -> list[bytes]:
    """The candidate pieces that decrypt (a wrong cut cannot pass the GCM tag)."""
    fragments = []
    for _, pieces in candidate_fragments(message.content):
        for piece in pieces:
            report = security.check_message(message, keystore, fragments=[piece])
            if report.decryption[0].status == security.VERIFIED:
                fragments.append(piece)
                break
    return fragments


# --- primer check values -------------------------------------------------------------------
# (case, ECDH party holding the private key, other party, originator, type, counter,
#  recipient, expected key); from primer 5.2 (RTDS worked examples and gbcs-parser's tests).
KDF_CASES = [
    ("7.6-command", "90B3D51F30000002", "00DB1234567890A0", "90B3D51F30010000", 1,
     "00000000000003E9", "00DB1234567890A0", "82ed5e3f1f6c761c0df6705b64e21088"),
    ("7.7-response", "90B3D51F30010000", "00DB1234567890A0", "00DB1234567890A0", 2,
     "00000000000003EA", "90B3D51F30010000", "462d40639abcb8a986424d91a712d8ba"),
    ("gbcs-parser-command", "90B3D51F30000002", "00DB1234567890A0", "90B3D51F30010000", 1,
     "0000000100000000", "00DB1234567890A0", "6A93E360717394015DF93E031218C9A6"),
    ("gbcs-parser-response", "90B3D51F30010000", "00DB1234567890A0", "00DB1234567890A0", 2,
     "0000000100000000", "90B3D51F30010000", "03FD30815577C49EB7E3834B63EF8302"),
    ("gbcs-parser-alert", "90B3D51F30010000", "00DB1234567890A0", "00DB1234567890A0", 3,
     "00000000000007D1", "90B3D51F30010000", "558FB1FA6660AF0D9E8365C47804B8FA"),
]  # fmt: skip


@pytest.mark.parametrize("case", KDF_CASES, ids=lambda c: c[0])
def test_kdf_check_values(case, keystore):
    _, holder, other, originator, kind, counter, recipient, expected = case
    key = security.derive_key(
        keystore.ka_private_key(holder),
        keystore.ka_public_keys(other)[0].public_key,
        bytes.fromhex(originator),
        kind,
        int(counter, 16),
        bytes.fromhex(recipient),
    )
    assert key.hex() == expected.lower()


# the RTDS Access Control Broker: the keystore knows it by its certificate's role (OU 04)
ACB = bytes.fromhex("90B3D51F30000002")


def test_worked_example_z_otherinfo_iv_and_tag(keystore):
    data = read_vector(
        RTDS / "7.6_ECS47Deactivate" / "ECS47Deactivate_7.6_SUCCESS_COMMAND_GBCS.HEX"
    )
    message = frame(data)
    z = security.shared_secret(
        keystore.ka_private_key(ACB), keystore.ka_public_keys(ESME)[0].public_key
    )
    assert z.hex() == "ed342441df01551a6beaff3b54adc981f4c6a7e71dff4c3e1cc80b3c9f4e5ac0"
    info = security.other_info(SUPPLIER, 1, 1001, ESME)
    assert info.hex() == ("6085740608030090b3d51f30010000090100000000000003e900db1234567890a0")
    key = security.kdf(z, info)
    assert key.hex() == "82ed5e3f1f6c761c0df6705b64e21088"
    tag = security.compute_mac(message.apdu, key, SUPPLIER)
    assert tag.hex() == "7d60324ae99abacf410b057c" == data[-12:].hex()


def test_ecdh_is_symmetric_and_cached():
    alice, bob = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    z = security.shared_secret(alice, bob.public_key())
    assert z == security.shared_secret(bob, alice.public_key())
    assert len(z) == 32
    assert security.shared_secret(alice, bob.public_key()) is z  # served from the cache


def test_ecs61a_response_mac(keystore):
    path = RTDS / "7.7_ECS61a" / "ECS61a_7.7_ALL_OPTIONALS_SUCCESS_RESPONSE_GBCS.HEX"
    data = read_vector(path)
    assert len(data) == 611 and data[7:10] == bytes.fromhex("820259")
    report = security.check_message(frame(data), keystore, fragments=[])
    assert report.mac.status == security.VERIFIED
    assert data[-12:].hex() == "dfc9fabaffad843fef7cefb8"


# --- signatures over RTDS -----------------------------------------------------------------
def test_rtds_signature_count():
    assert len(SIGNED) == 423


@pytest.mark.parametrize("path", SIGNED, ids=name)
def test_rtds_signature_verifies(path, keystore):
    report = security.check_message(FRAMED[path], keystore, fragments=[])
    assert report.signature.status == security.VERIFIED, report.signature.reason
    originator = FRAMED[path].originator.hex().upper()
    assert f"DS {originator}" in report.signature.key


def test_any_valid_certificate_of_several_may_verify():
    """ECS47e is signed with the RTDS Load Controller key; the DCC Boxed keystore holds a
    different Load Controller key, valid from 2023. With the DCC Boxed one tried first, the
    check still passes on the second certificate."""
    store = Keystore.open(DCCBOXED, RTDS_KEYS, clock=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    signer = bytes.fromhex("90B3D51F30010008")
    assert len(store.ds_public_keys(signer)) == 2
    assert "dccboxed" in store.ds_public_keys(signer)[0].source
    paths = [p for p in SIGNED if FRAMED[p].originator == signer]
    assert paths
    for path in paths:
        report = security.check_message(FRAMED[path], store, fragments=[])
        assert report.signature.status == security.VERIFIED
        assert "90b3d51f30010008-ds.pem" in report.signature.key


@pytest.mark.parametrize("path", SIGNED_COMMANDS, ids=name)
def test_flipped_bit_fails_signature(path, keystore):
    message = FRAMED[path]
    apdu = bytearray(message.apdu)
    apdu[-66] ^= 0x01  # the last content byte: signed, and no length depends on it
    broken = frame(bytes(apdu))
    report = security.check_message(broken, keystore, fragments=[])
    assert report.signature.status == security.FAILED
    assert report.failed and report.outcome == security.FAILED


def test_flipped_signature_bit_fails_verify_data(keystore):
    path = SIGNED_COMMANDS[0]
    message = FRAMED[path]
    public = keystore.ds_public_keys(message.originator)[0].public_key
    data = message.apdu[1 : len(message.apdu) - 65]
    security.verify_data(data, message.signature, public)
    bad = bytearray(message.signature)
    bad[-1] ^= 0x80
    with pytest.raises(VerificationError) as caught:
        security.verify_data(data, bytes(bad), public)
    assert caught.value.layer == "signature"


# --- MACs over RTDS -------------------------------------------------------------------------
def test_rtds_mac_counts(keystore):
    statuses = collections.Counter(
        security.check_message(FRAMED[p], keystore, fragments=[]).mac.status for p in MACED
    )
    assert statuses == {security.VERIFIED: 690, security.UNVERIFIABLE: 2}


@pytest.mark.parametrize("path", MACED, ids=name)
def test_rtds_mac(path, keystore):
    report = security.check_message(FRAMED[path], keystore, fragments=[])
    if path.parent.name == "NA_PCS02":  # PPMID <-> GSME: device private keys are not held
        assert report.mac.status == security.UNVERIFIABLE
        for eui in (FRAMED[path].originator, FRAMED[path].target):
            assert f"KA private key of {eui.hex().upper()}" in report.mac.reason
    else:
        assert report.mac.status == security.VERIFIED, report.mac.reason


@pytest.mark.parametrize("path", [p for p in MACED if p.parent.name != "NA_PCS02"], ids=name)
def test_rtds_remac_is_byte_identical(path, keystore):
    """GCM is deterministic: MACing the inner APDU again rebuilds the whole file."""
    data = read_vector(path)
    assert security.mac_apdu(FRAMED[path].apdu, keystore) == data


def test_flipped_bit_fails_mac(keystore):
    path = next(p for p in MACED if "7.6_ECS47Deactivate" in str(p) and "COMMAND" in p.name)
    data = bytearray(read_vector(path))
    data[-1] ^= 0x01
    report = security.check_message(frame(bytes(data)), keystore, fragments=[])
    assert report.mac.status == security.FAILED
    assert report.signature.status == security.VERIFIED  # the signed APDU is untouched


# --- pre-commands ---------------------------------------------------------------------------
def test_precommand_count():
    assert len(PRECOMMANDS) == 159


@pytest.mark.parametrize("path", PRECOMMANDS, ids=name)
@pytest.mark.parametrize("trailer", [b"", b"\x00"], ids=["no-field", "00-field"])
def test_precommand_signs_and_verifies(path, trailer, keystore):
    precommand = read_vector(path)
    originator = FRAMED[path].originator
    signed = security.sign(precommand + trailer, keystore.ds_private_key(originator))
    assert signed[: len(precommand)] == precommand
    assert signed[len(precommand)] == 0x40 and len(signed) == len(precommand) + 65
    report = security.check_message(frame(signed), keystore, fragments=[])
    assert report.signature.status == security.VERIFIED


@pytest.mark.parametrize("path", PRECOMMANDS, ids=name)
def test_precommand_is_the_command_without_its_signature_field(path):
    """What sign() must produce: the matching COMMAND's inner APDU, up to the signature."""
    command = FRAMED[path.with_name(path.name.replace("_PRECOMMAND_", "_COMMAND_"))]
    signature_field = 1 + len(command.signature)
    assert command.apdu[:-signature_field] == read_vector(path)


def test_sign_rejects_bad_input(keystore):
    private = keystore.ds_private_key(SUPPLIER)
    precommand = read_vector(PRECOMMANDS[0])
    with pytest.raises(DecodeError) as caught:
        security.sign(b"\xdd" + precommand[1:], private)
    assert caught.value.layer == "general-signing" and caught.value.offset == 0
    with pytest.raises(DecodeError) as caught:
        security.sign(precommand[:30], private)
    assert caught.value.offset is not None
    with pytest.raises(DecodeError):
        security.sign(precommand + b"\x05\x01", private)
    with pytest.raises(EncodeError):
        security.sign(security.sign(precommand, private), private)
    with pytest.raises(GbcsError):
        security.sign(b"", private)


def test_verify_apdu(keystore):
    response = next(p for p in SIGNED if FRAMED[p].cra_flag == 2 and FRAMED[p].mac is None)
    message = FRAMED[response]
    security.verify_apdu(message.apdu, keystore.ds_public_keys(message.originator)[0].public_key)
    with pytest.raises(VerificationError):
        security.verify_apdu(message.apdu, keystore.ds_public_keys(SUPPLIER)[0].public_key)
    with pytest.raises(VerificationError):
        security.verify_apdu(
            read_vector(PRECOMMANDS[0]), keystore.ds_public_keys(SUPPLIER)[0].public_key
        )


@settings(max_examples=300)
@given(data=st.data())
def test_mutated_precommands_sign_or_raise_gbcs_errors(data):
    """Crash freedom: a corrupted pre-command is signed or refused with a GbcsError."""
    precommand = bytearray(read_vector(data.draw(st.sampled_from(PRECOMMANDS))))
    for _ in range(data.draw(st.integers(1, 4))):
        index = data.draw(st.integers(0, len(precommand) - 1))
        precommand[index] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(precommand)))
    try:
        signed = security.sign(bytes(precommand[:cut]), SIGNING_KEY)
    except GbcsError as exc:
        assert exc.layer in ("general-signing", "signature")
    else:
        assert security.apdu_layout(signed).signature is not None


def test_sign_data_matches_raw_cryptography():
    private = ec.generate_private_key(ec.SECP256R1())
    data = b"gbhan" * 20
    raw = security.sign_data(data, private)
    assert len(raw) == 64
    security.verify_data(data, raw, private.public_key())
    r, s = decode_dss_signature(private.sign(data, ec.ECDSA(hashes.SHA256())))
    security.verify_data(data, r.to_bytes(32, "big") + s.to_bytes(32, "big"), private.public_key())
    with pytest.raises(VerificationError):
        security.verify_data(data + b"!", raw, private.public_key())
    with pytest.raises(VerificationError):
        security.verify_data(data, raw[:63], private.public_key())


def test_the_ecdsa_algorithm_is_what_its_constructor_makes():
    """security._ECDSA skips ECDSA's constructor (whose backend import is a slice of every
    check's start-up): it must be the object the constructor would make, attribute for
    attribute, or a cryptography upgrade has changed what an ECDSA is."""
    made = ec.ECDSA(hashes.SHA256())
    ours = security._ECDSA
    assert type(ours) is ec.ECDSA
    assert vars(ours).keys() == vars(made).keys()
    for name, value in vars(made).items():
        assert (
            type(vars(ours)[name]) is type(value)
            and vars(ours)[name] == value
            or (isinstance(value, hashes.HashAlgorithm) and vars(ours)[name].name == value.name)
        ), name
    assert ours.algorithm.name == "sha256" and ours.deterministic_signing is False
    private = ec.generate_private_key(ec.SECP256R1())
    data = b"either way"
    private.public_key().verify(private.sign(data, ours), data, made)
    private.public_key().verify(private.sign(data, made), data, ours)


# --- encrypted fragments ----------------------------------------------------------------------
ENCRYPTED_FOLDERS = {
    "4.1.1_ECS17b", "4.1.3_ECS17e", "4.14_ECS21b", "4.3_ECS19", "4.4.2_ECS20b", "4.4.3_ECS20c",
    "4.6.1_ECS21a", "4.8.1_ECS22b", "NA_ECS68", "4.1.1_GCS13a", "4.10_GCS18", "4.14_GCS16b",
    "4.17_GCS61", "4.4.3_GCS15c", "4.4.4_GCS15d", "4.6.1_GCS16a", "4.8.1_GCS17",
}  # fmt: skip
WITH_HEADER = [p for p, m in FRAMED.items() if security.FRAGMENT_HEADER in m.content]


def test_rtds_fragment_count_and_folders(keystore):
    counts = collections.Counter()
    for path in WITH_HEADER:
        counts[path.parent.name] += len(fragments_of(FRAMED[path], keystore))
    assert sum(counts.values()) == 41
    assert {folder for folder, n in counts.items() if n} == ENCRYPTED_FOLDERS


@pytest.mark.parametrize("path", WITH_HEADER, ids=name)
def test_rtds_fragments_decrypt_and_reencrypt(path, keystore):
    message = FRAMED[path]
    fragments = fragments_of(message, keystore)
    header_count = len(candidate_fragments(message.content))
    assert path.parent.name in ENCRYPTED_FOLDERS
    assert len(fragments) == header_count
    report = security.check_message(message, keystore, fragments=fragments)
    assert [c.status for c in report.decryption] == [security.VERIFIED] * len(fragments)
    assert all(isinstance(p, bytes) for p in message.decrypted)
    key = fragment_key(message, keystore, fragments[0])
    for fragment, plaintext in zip(fragments, message.decrypted, strict=True):
        assert len(plaintext) == len(fragment) - 17
        # GCM is deterministic for a given key and IV: encrypting again rebuilds the bytes
        assert security.encrypt_fragment(plaintext, key, message.originator) == fragment


def fragment_key(message: FramedMessage, keystore: Keystore, fragment: bytes) -> bytes:
    """The key that opens a fragment, derived from the remote party's KA private key."""
    originator, counter, recipient = security.encryption_parameters(message)
    for private_entry, private in keystore.key_pairs(recipient, KA):
        for device in keystore.ka_public_keys(originator):
            key = security.derive_key(
                private, device.public_key, originator, security.ENCRYPTION_TYPE, counter, recipient
            )
            try:
                security.decrypt_fragment(fragment, key, originator)
            except VerificationError:
                continue
            assert private_entry.eui == recipient
            return key
    raise AssertionError("no key opens the fragment")


def test_gcs13a_plaintext(keystore):
    path = RTDS / "4.1.1_GCS13a" / "GCS13a_4.1.1_SUCCESS_RELIABLE_GSME_RESPONSE_GBCS.HEX"
    message = frame(read_vector(path))
    security.check_message(message, keystore, fragments=fragments_of(message, keystore))
    plaintext = message.decrypted[0]
    # ZCL Read Attributes Response records: id (LE), status 00, type, value (LE)
    assert bytes.fromhex("02030022e80300") in plaintext  # divisor uint24 1000
    assert bytes.fromhex("01030022010000") in plaintext  # multiplier uint24 1
    assert bytes.fromhex("0003003001") in plaintext  # unit of measure enum8 1
    assert bytes.fromhex("00000025393000000000") in plaintext  # uint48 12345


def test_fragment_tamper_and_missing_key(keystore):
    path = RTDS / "4.1.1_GCS13a" / "GCS13a_4.1.1_SUCCESS_RELIABLE_GSME_RESPONSE_GBCS.HEX"
    message = frame(read_vector(path))
    fragment = fragments_of(message, keystore)[0]
    bad = bytearray(fragment)
    bad[8] ^= 0x01
    report = security.check_message(message, keystore, fragments=[bytes(bad)])
    assert report.decryption[0].status == security.FAILED
    assert message.decrypted == [None]
    with pytest.raises(DecodeError):
        security.decrypt_fragment(b"\x30" + fragment[1:], bytes(16), message.originator)
    empty = Keystore(TEST_CLOCK)
    report = security.check_message(message, empty, fragments=[fragment])
    assert report.decryption[0].status == security.UNVERIFIABLE
    assert report.signature.status == security.NOT_APPLICABLE


def test_encrypt_fragment_round_trip():
    key, originator = bytes(range(16)), ESME
    fragment = security.encrypt_fragment(b"reading 12345", key, originator)
    assert fragment[:5] == security.FRAGMENT_HEADER and len(fragment) == 5 + 13 + 12
    assert security.decrypt_fragment(fragment, key, originator) == b"reading 12345"


# --- keys missing or expired ----------------------------------------------------------------
def test_expired_certificates_make_checks_unverifiable_not_failed():
    late = Keystore(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)).load(RTDS_KEYS)
    path = RTDS / "7.6_ECS47Deactivate" / "ECS47Deactivate_7.6_SUCCESS_COMMAND_GBCS.HEX"
    report = security.check_message(frame(read_vector(path)), late, fragments=[])
    assert report.signature.status == security.UNVERIFIABLE
    assert "none valid" in report.signature.reason
    assert report.mac.status == security.UNVERIFIABLE
    assert report.outcome == security.UNVERIFIABLE


def test_device_to_device_mac_parties(keystore):
    pcs02 = next(p for p in MACED if p.parent.name == "NA_PCS02" and "COMMAND" in p.name)
    message = FRAMED[pcs02]
    assert security.mac_parties(1, message.originator, message.target, keystore) == (
        message.originator,
        message.target,
    )
    # the ACB is the keystore's (its certificate's OU 04), not a constant in the code
    assert security.mac_parties(1, SUPPLIER, ESME, keystore) == (ACB, ESME)


def test_mac_apdu_needs_keys():
    path = RTDS / "7.6_ECS47Deactivate" / "ECS47Deactivate_7.6_SUCCESS_COMMAND_GBCS.HEX"
    with pytest.raises(GbcsError) as caught:
        security.mac_apdu(frame(read_vector(path)).apdu, Keystore(TEST_CLOCK))
    assert caught.value.layer == "keystore"


# --- with the real decoder -------------------------------------------------------------------
THROUGH_PAYLOAD = [pytest.param(p, id=p.name) for p in WITH_HEADER]


@pytest.mark.parametrize("path", THROUGH_PAYLOAD)
def test_check_message_finds_fragments_through_the_payload_layers(path, keystore):
    """check_message on a decoded Message asks gbcs.payload for the fragments itself."""
    from gbcs.message import decode

    message = decode(read_vector(path))
    report = security.check_message(message, keystore)
    expected = fragments_of(FRAMED[path], keystore)
    assert [c.status for c in report.decryption] == [security.VERIFIED] * len(expected)
    assert len(message.decrypted) == len(expected)
    assert report.outcome == security.VERIFIED
