"""Keystore loading and lookups against the RTDS keystore folder and the DCC Boxed JSON
keystore (primer sections 5.4, 6.2-6.5)."""

import base64
import datetime as dt
import json
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from emulator import data
from gbcs.errors import KeyMissing, KeystoreError
from gbcs.keystore import DS, KA, Keystore, Role, as_eui, key_id

RTDS_KEYS = data.rtds_keystore()
DCCBOXED = data.dccboxed_keystore()
TEST_CLOCK = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
DEVICE_EUIS = [bytes.fromhex(f"00DB1234567890{n:02X}") for n in range(0xA0, 0xC9)] + [
    bytes.fromhex(f"00DB12345678{n:04X}") for n in range(0x9001, 0x90A0)
]

# Remote parties of the RTDS keystore and the role inside their certificates (primer 5.4).
REMOTE_PARTIES = [
    ("90B3D51F30010000", Role.SUPPLIER),
    ("90B3D51F30030000", Role.SUPPLIER),
    ("90B3D51F30020000", Role.NETWORK_OPERATOR),
    ("90B3D51F30000002", Role.ACCESS_CONTROL_BROKER),
    ("90B3D51F30000004", Role.TRANSITIONAL_COS),
    ("90B3D51F30000007", Role.WAN_PROVIDER),
    ("90B3D51F30000001", Role.RECOVERY),
    ("90B3D51F30010008", Role.LOAD_CONTROLLER),
]


@pytest.fixture(scope="module")
def rtds() -> Keystore:
    return Keystore(TEST_CLOCK).load(RTDS_KEYS)


@pytest.fixture(scope="module")
def merged() -> Keystore:
    return Keystore.open(RTDS_KEYS, DCCBOXED, clock=TEST_CLOCK)


def pem_files(suffix: str) -> list[Path]:
    return sorted(RTDS_KEYS.glob(f"*{suffix}"))


@pytest.mark.parametrize("eui", DEVICE_EUIS, ids=lambda e: e.hex())
def test_device_certificates(eui, rtds):
    assert rtds.role(eui) is None
    for usage in (DS, KA):
        (entry,) = rtds.public_keys(eui, usage)
        assert entry.eui == eui and entry.usage == usage
        assert entry.not_after.year == 9999
        with pytest.raises(KeyMissing) as caught:
            rtds.private_key(eui, usage)
        assert caught.value.layer == "keystore"


@pytest.mark.parametrize("eui, role", REMOTE_PARTIES, ids=lambda v: str(v))
def test_remote_party_roles_and_ds_pairs(eui, role, rtds):
    assert rtds.role(eui) == role
    (entry,) = rtds.ds_public_keys(eui)
    assert key_id(rtds.ds_private_key(eui).public_key()) == entry.key_id


@pytest.mark.parametrize("path", pem_files(".key"), ids=lambda p: p.name)
def test_every_private_key_file_is_matched_by_public_key(path, rtds):
    """A .key serves the certificate holding its public key, whatever the file is called."""
    private = serialization.load_pem_private_key(path.read_bytes(), None)
    identity = key_id(private.public_key())
    owners = [
        entry
        for eui in rtds.euis()
        for usage in (DS, KA)
        for entry in rtds.entries(eui, usage)
        if entry.key_id == identity
    ]
    if path.name in rtds.unbound_private_keys:
        assert owners == []
    else:
        assert owners and all(rtds.private_key_of(e) is not None for e in owners)


def test_stray_keys_stay_unbound(rtds):
    # the two keys no certificate matches; the bare public key is bound by its file name
    assert rtds.unbound_private_keys == ["123456789abcdef0-ka.key", "abababababababab-ka.key"]
    assert rtds.unbound_public_keys == []
    (entry,) = rtds.ka_public_keys("FFFFFFFFFFFFFFFE")
    assert entry.certificate is None and entry.source == "fffffffffffffffe-ka.pem"
    assert rtds.rejected == []


def test_wan_provider_ka_files_hold_supplier_2(rtds):
    """The WAN provider's -ka files carry Supplier 2's subject: they land under Supplier 2."""
    with pytest.raises(KeyMissing):
        rtds.ka_public_keys("90B3D51F30000007")
    supplier2 = rtds.ka_public_keys("90B3D51F30030000")
    wan_file = x509.load_pem_x509_certificate((RTDS_KEYS / "90b3d51f30000007-ka.pem").read_bytes())
    assert key_id(wan_file.public_key()) in {e.key_id for e in supplier2}
    private = serialization.load_pem_private_key(
        (RTDS_KEYS / "90b3d51f30000007-ka.key").read_bytes(), None
    )
    assert key_id(private.public_key()) in {
        e.key_id for e, _ in rtds.key_pairs("90B3D51F30030000", KA)
    }


def test_supplier_has_several_ka_certificates(rtds):
    """KA and prepayment KA: same EUI, same usage, both kept."""
    entries = rtds.ka_public_keys("90B3D51F30010000")
    assert len(entries) == 2
    assert len({e.key_id for e in entries}) == 2
    assert all(rtds.private_key_of(e) is not None for e in entries)


def test_clock_decides_validity():
    store = Keystore(dt.datetime(2026, 1, 1, tzinfo=dt.UTC)).load(RTDS_KEYS)
    with pytest.raises(KeyMissing) as caught:
        store.ds_public_keys("90B3D51F30010000")
    assert "none valid" in caught.value.detail
    assert store.ds_public_keys("00DB1234567890A0")  # device certificates run to 9999
    store.clock = TEST_CLOCK
    assert store.ds_public_keys("90B3D51F30010000")
    with pytest.raises(KeystoreError):
        store.clock = dt.datetime(2020, 1, 1)  # naive
    store.clock = None  # "now"
    assert store.now().tzinfo is not None


def test_missing_keys_raise_key_missing(rtds):
    with pytest.raises(KeyMissing) as caught:
        rtds.ds_public_keys("0102030405060708")
    assert caught.value.layer == "keystore"
    assert caught.value.eui == bytes.fromhex("0102030405060708")
    with pytest.raises(KeyMissing):
        rtds.role("0102030405060708")
    with pytest.raises(KeyMissing) as caught:
        rtds.ka_private_key("90B3D51F30000004")  # Transitional CoS has DS only
    assert "KA" in caught.value.detail


def test_json_keystore(merged):
    document = json.loads(DCCBOXED.read_text())
    for eui in document:
        if eui != "90b3d51f30010009":  # MDR: both certificates rejected, see below
            merged.role(eui)
    assert merged.role("00db123456780004") == Role.OTHER
    assert merged.role("90b3d51f30010000") == Role.SUPPLIER  # not its XML-signing role 135
    # Z1 entries are the RTDS keys (merged, not duplicated); Z1b a second generation
    assert len(merged.ds_public_keys("90B3D51F30010000")) == 2
    # The JSON Load Controller is a different key pair from the RTDS one: both are kept, and
    # the JSON one (issued 2023-11-16) is valid only once the clock passes its start.
    assert len(merged.entries("90B3D51F30010008", DS, valid_only=False)) == 2
    assert len(merged.ds_public_keys("90B3D51F30010008")) == 1
    later = Keystore.open(RTDS_KEYS, DCCBOXED, clock=dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    assert len(later.ds_public_keys("90B3D51F30010008")) == 2
    xml = merged.xml_signing_entries("90B3D51F30010000")
    assert [e.role for e in xml] == [Role.XML_SIGNING_USER]
    assert all(e.role != Role.XML_SIGNING_USER for e in merged.ds_public_keys("90B3D51F30010000"))


def test_json_mdr_certificates_are_rejected_with_a_reason(merged):
    sources = sorted(r.source for r in merged.rejected)
    assert sources == ["dccboxed-keystore.json:mdr-ds", "dccboxed-keystore.json:mdr-ka"]
    assert all("signature_alg" in r.reason for r in merged.rejected)
    with pytest.raises(KeyMissing):
        merged.ds_public_keys("90B3D51F30010009")


def test_json_private_keys_bind(merged):
    document = json.loads(DCCBOXED.read_text())
    for eui, usages in document.items():
        if eui == "90b3d51f30010009":
            continue
        for usage_name, serials in usages.items():
            usage = DS if usage_name == "digitalSignature" else KA
            for serial, item in serials.items():
                if item.get("role") in (135, 137):
                    found = merged.xml_signing_entries(eui)
                else:
                    found = merged.entries(eui, usage, valid_only=False)
                (entry,) = [e for e in found if e.serial == int(serial)]
                assert merged.private_key_of(entry) is not None


# --- hand-made certificates: the general rules, not the RTDS files ------------------------
ISSUER_KEY = ec.generate_private_key(ec.SECP256R1())


def make_certificate(subject, key, *, usage="ds", san=None, days=365):
    start = dt.datetime(2019, 1, 1, tzinfo=dt.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(subject))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test issuer")]))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + dt.timedelta(days=days))
    )
    if usage is not None:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=usage == "ds", content_commitment=False,
                key_encipherment=False, data_encipherment=False, key_agreement=usage == "ka",
                key_cert_sign=usage == "ca", crl_sign=False, encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )  # fmt: skip
    if san is not None:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=True)
    return builder.sign(ISSUER_KEY, hashes.SHA256())


def org_subject(eui: str, ou: str = "03"):
    return [
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou),
        x509.NameAttribute(
            NameOID.X500_UNIQUE_IDENTIFIER,
            b"\x00" + bytes.fromhex(eui),
            x509.name._ASN1Type.BitString,
        ),
    ]


def device_san(eui: str):
    serial = bytes.fromhex(eui)
    hw_type = bytes.fromhex("060d2a863a0001848fb90f01020201")  # OID 1.2.826.0.1.8641679.1.2.2.1
    inner = hw_type + b"\x04\x08" + serial
    return [
        x509.OtherName(
            x509.ObjectIdentifier("1.3.6.1.5.5.7.8.4"), b"\x30" + bytes((len(inner),)) + inner
        )
    ]


def pem(obj) -> bytes:
    if isinstance(obj, x509.Certificate):
        return obj.public_bytes(serialization.Encoding.PEM)
    return obj.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def test_identity_comes_from_inside_not_the_file_name(tmp_path):
    org_key, device_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    (tmp_path / "misleading-name.pem").write_bytes(
        pem(make_certificate(org_subject("1122334455667788"), org_key))
        + pem(make_certificate([], device_key, usage="ka", san=device_san("00DB000000000001")))
    )
    (tmp_path / "another-name.key").write_bytes(pem(org_key))
    store = Keystore(TEST_CLOCK).load(tmp_path)
    assert store.role("1122334455667788") == Role.NETWORK_OPERATOR
    assert key_id(store.ds_private_key("1122334455667788").public_key()) == key_id(
        org_key.public_key()
    )
    assert store.role("00DB000000000001") is None
    assert store.ka_public_keys("00DB000000000001")[0].source == "misleading-name.pem[1]"


@pytest.mark.parametrize(
    "case",
    [
        ("no identity", [x509.NameAttribute(NameOID.COMMON_NAME, "nobody")], "ds", "no identity"),
        ("ou not a role", org_subject("1122334455667788", ou="sales"), "ds", "OU"),
        ("no usable usage", org_subject("1122334455667788"), "ca", "key usage"),
        ("no key usage", org_subject("1122334455667788"), None, "no key usage"),
    ],
    ids=lambda c: c[0],
)
def test_unusable_certificates_are_rejected_with_a_reason(case, tmp_path):
    _, subject, usage, reason = case
    key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "bad.pem").write_bytes(pem(make_certificate(subject, key, usage=usage)))
    (tmp_path / "good.pem").write_bytes(
        pem(make_certificate(org_subject("8877665544332211"), key, usage="ka"))
    )
    store = Keystore(TEST_CLOCK).load(tmp_path)
    (rejected,) = store.rejected
    assert rejected.source == "bad.pem" and reason in rejected.reason
    assert store.ka_public_keys("8877665544332211")  # the load went on


def test_other_curves_and_garbage_are_rejected(tmp_path):
    p384 = ec.generate_private_key(ec.SECP384R1())
    (tmp_path / "p384.pem").write_bytes(
        pem(make_certificate(org_subject("0000000000000001"), p384))
    )
    (tmp_path / "garbage.pem").write_bytes(b"not a pem file")
    (tmp_path / "broken.pem").write_bytes(
        b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    )
    store = Keystore(TEST_CLOCK).load(tmp_path)
    reasons = {r.source: r.reason for r in store.rejected}
    assert set(reasons) == {"p384.pem", "garbage.pem", "broken.pem"}
    assert "P-256" in reasons["p384.pem"] and "no PEM" in reasons["garbage.pem"]
    assert len(store) == 0


def test_bad_sources_raise(tmp_path):
    with pytest.raises(KeystoreError):
        Keystore().load(tmp_path / "absent")
    (tmp_path / "keys.txt").write_text("hello")
    with pytest.raises(KeystoreError):
        Keystore().load(tmp_path / "keys.txt")
    (tmp_path / "bad.json").write_text("[1, 2]")
    with pytest.raises(KeystoreError):
        Keystore().load(tmp_path / "bad.json")
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(KeystoreError):
        Keystore().load(tmp_path / "broken.json")


def test_add_key_pair_for_emulated_devices():
    store = Keystore(TEST_CLOCK)
    key = ec.generate_private_key(ec.SECP256R1())
    entry = store.add_key_pair("00-DB-12-34-56-78-90-A5", KA, key)
    assert store.ka_private_key(bytes.fromhex("00DB1234567890A5")) is key
    assert store.ka_public_keys("00db1234567890a5") == [entry]
    with pytest.raises(KeystoreError):
        store.add_key_pair("00DB1234567890A5", "XX", key)
    with pytest.raises(KeystoreError):
        store.add_key_pair("00DB1234567890A5", KA, ec.generate_private_key(ec.SECP384R1()))


@pytest.mark.parametrize("bad", ["00DB", "zz" * 8, b"\x00" * 7, 1234], ids=repr)
def test_as_eui_rejects(bad):
    with pytest.raises(KeystoreError):
        as_eui(bad)


def test_warnings_while_loading_are_recorded_not_raised(tmp_path):
    """What `cryptography` only warns about (here a negative serial number, as it once only
    warned about the MDR certificates' encoding) is loaded and noted per source."""
    original = (RTDS_KEYS / "90b3d51f30010000-ds.pem").read_bytes()
    der = bytearray(
        x509.load_pem_x509_certificate(original).public_bytes(serialization.Encoding.DER)
    )
    serial = der.find(bytes.fromhex("0210"))  # INTEGER, 16 bytes: the serial number
    der[serial + 2] |= 0x80  # now negative
    body = base64.encodebytes(bytes(der))
    (tmp_path / "negative-serial.pem").write_bytes(
        b"-----BEGIN CERTIFICATE-----\n" + body + b"-----END CERTIFICATE-----\n"
    )
    store = Keystore(TEST_CLOCK).load(tmp_path)
    (entry,) = store.ds_public_keys("90B3D51F30010000")
    assert entry.serial < 0 and store.rejected == []
    assert store.notes and {n.source for n in store.notes} == {"negative-serial.pem"}
    assert "serial number" in store.notes[0].reason
