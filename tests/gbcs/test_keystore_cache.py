"""The keystore cache (Keystore.open(..., cache=True)): a PEM folder read from what an
earlier load parsed gives the same keystore, follows every change to the folder, survives a
damaged entry, keeps no private key, and spares `gbhan gbcs check` cryptography's X.509
layer."""

import base64
import datetime as dt
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from emulator import data
from gbcs import keystore
from gbcs.keystore import Keystore

RTDS_KEYS = data.rtds_keystore()
REPO = Path(__file__).resolve().parents[2]
CLOCK = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(folder))
    return folder / "gbhan"


def state(store: Keystore) -> tuple:
    """Everything a load leaves in a keystore, keys and certificates as their values."""
    entries = [
        (
            e.eui,
            e.usage,
            e.role,
            e.key_id,
            e.not_before,
            e.not_after,
            e.source,
            e.serial,
            e.name,
            e.label,
            e.public_key.public_numbers(),
            None
            if e.certificate is None
            else e.certificate.fingerprint(e.certificate.signature_hash_algorithm),
        )
        for found in store._entries.values()
        for e in found
    ]
    private = [
        (identity, source, store._private_for(identity).private_numbers())
        for identity, source in store._private_source.items()
    ]
    unbound = [(source, key.public_numbers()) for source, key in store.unbound_public_keys]
    return entries, private, unbound, store.rejected, store.notes, store.euis()


def entries_in(cache: Path) -> list[Path]:
    return sorted(cache.glob("keystore-*.marshal")) if cache.exists() else []


def test_a_cached_load_is_the_load_it_replaces(cache):
    plain = Keystore.open(RTDS_KEYS, clock=CLOCK)
    first = Keystore.open(RTDS_KEYS, clock=CLOCK, cache=True)  # parses, writes the entry
    assert len(entries_in(cache)) == 1
    again = Keystore.open(RTDS_KEYS, clock=CLOCK, cache=True)  # from the entry
    assert state(plain) == state(first) == state(again)
    assert len(state(plain)[0]) > 400 and len(state(plain)[1]) > 10  # RTDS's keys were read


def test_merged_sources_keep_their_order_and_first_private_key(cache, tmp_path):
    """A folder read from the cache merges with other sources as its files would."""
    folder = tmp_path / "keys"
    shutil.copytree(RTDS_KEYS, folder)
    extra = ec.generate_private_key(ec.SECP256R1())
    (folder / "zz-extra.key").write_bytes(
        extra.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    json_store = data.dccboxed_keystore()
    plain = Keystore.open(folder, json_store, RTDS_KEYS, clock=CLOCK)
    Keystore.open(folder, json_store, RTDS_KEYS, clock=CLOCK, cache=True)
    cached = Keystore.open(folder, json_store, RTDS_KEYS, clock=CLOCK, cache=True)
    assert state(plain) == state(cached)
    assert cached.unbound_private_keys == plain.unbound_private_keys
    assert any("zz-extra.key" in source for source in cached.unbound_private_keys)


def test_a_changed_folder_is_read_again(cache, tmp_path):
    folder = tmp_path / "keys"
    shutil.copytree(RTDS_KEYS, folder)
    supplier = "90B3D51F30010000"
    assert Keystore.open(folder, clock=CLOCK, cache=True).ds_public_keys(supplier)
    (folder / "90b3d51f30010000-ds.pem").unlink()
    store = Keystore.open(folder, clock=CLOCK, cache=True)
    assert state(store) == state(Keystore.open(folder, clock=CLOCK))
    assert not store.entries(supplier, "DS")
    assert len(entries_in(cache)) == 2
    # one byte of one file changed: another entry, and the change is seen (a rejection)
    name = "00db1234567890a0-ds.pem"
    text = (folder / name).read_bytes()
    (folder / name).write_bytes(text.replace(b"MII", b"MIJ", 1))
    changed = Keystore.open(folder, clock=CLOCK, cache=True)
    assert state(changed) == state(Keystore.open(folder, clock=CLOCK))
    assert any(r.source == name for r in changed.rejected)
    assert len(entries_in(cache)) == 3


@pytest.mark.parametrize("damage", ["truncated", "flipped", "empty", "garbage"])
def test_a_damaged_entry_is_made_again(cache, damage):
    plain = state(Keystore.open(RTDS_KEYS, clock=CLOCK))
    Keystore.open(RTDS_KEYS, clock=CLOCK, cache=True)
    (entry,) = entries_in(cache)
    raw = bytearray(entry.read_bytes())
    if damage == "truncated":
        raw = raw[: len(raw) // 2]
    elif damage == "flipped":
        raw[len(raw) // 2] ^= 0x01
    elif damage == "empty":
        raw = bytearray()
    else:
        raw = bytearray(b"\x00" * 32 + b"not marshal")
    entry.write_bytes(bytes(raw))
    assert state(Keystore.open(RTDS_KEYS, clock=CLOCK, cache=True)) == plain
    assert entry.read_bytes() != bytes(raw)  # written afresh


def test_no_private_key_is_written_to_the_cache(cache):
    store = Keystore.open(RTDS_KEYS, clock=CLOCK, cache=True)
    (entry,) = entries_in(cache)
    kept = entry.read_bytes()
    secrets = [
        store._private_for(identity).private_numbers().private_value.to_bytes(32, "big")
        for identity in store._private_source
    ]
    assert secrets and not any(secret in kept for secret in secrets)
    assert b"PRIVATE KEY" not in kept


def test_an_unwritable_cache_still_loads(tmp_path, monkeypatch):
    blocked = tmp_path / "blocked"
    blocked.write_text("a file where the cache folder would be")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked))
    assert state(Keystore.open(RTDS_KEYS, clock=CLOCK, cache=True)) == state(
        Keystore.open(RTDS_KEYS, clock=CLOCK)
    )


def test_validity_is_judged_from_the_cached_dates(cache):
    """--at works the same from the cache: an organisation certificate outside its dates."""
    at = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)
    Keystore.open(RTDS_KEYS, clock=at, cache=True)
    cached = Keystore.open(RTDS_KEYS, clock=at, cache=True)
    plain = Keystore.open(RTDS_KEYS, clock=at)
    for eui in plain.euis():
        for usage in ("DS", "KA"):
            assert plain.validity_problem(eui, usage) == cached.validity_problem(eui, usage)
            assert [e.label for e in plain.entries(eui, usage)] == [
                e.label for e in cached.entries(eui, usage)
            ]
    assert any(plain.validity_problem(eui, "DS") for eui in plain.euis())


def test_a_cached_check_does_not_import_x509(cache):
    """What the cache is for: `gbhan gbcs check`'s start without cryptography.x509."""
    script = (
        "import sys; from gbcs.keystore import Keystore; "
        f"Keystore.open({str(RTDS_KEYS)!r}, cache=True); "
        "print('cryptography.x509' in sys.modules)"
    )
    env = {**os.environ, "XDG_CACHE_HOME": str(cache.parent)}
    runs = [
        subprocess.run(
            [sys.executable, "-c", script], cwd=REPO, env=env, capture_output=True, text=True
        ).stdout.strip()
        for _ in range(2)
    ]
    assert runs == ["True", "False"]  # the first run parsed the certificates; the second not


def test_pairings_are_kept_while_validity_is_not_judged_and_dropped_when_it_is():
    """The per-message ECDH pairing lookup is kept when nothing can change it (validity not
    judged, as in gbhan gbcs check without --at); judging validity again sees the dates."""
    store = Keystore.open(RTDS_KEYS, clock=None, check_validity=False)
    supplier, esme = "90B3D51F30010000", "00DB1234567890A0"
    pairings, missing = store.ka_pairings(supplier, esme)
    assert pairings and not missing
    assert store.ka_pairings(supplier, esme) is store.ka_pairings(supplier, esme)  # kept
    store.clock = dt.datetime(2100, 1, 1, tzinfo=dt.UTC)  # the supplier's certificates expired
    assert store.ka_pairings(supplier, esme)[0] == pairings  # validity still not judged
    store.check_validity = True
    pairings, missing = store.ka_pairings(supplier, esme)
    assert pairings == [] and any(supplier in text for text in missing)


PRIVATE_FORMS = {
    "pkcs8": serialization.PrivateFormat.PKCS8,
    "sec1": serialization.PrivateFormat.TraditionalOpenSSL,
}


def pem_of(key: ec.EllipticCurvePrivateKey, form: str, password: bytes | None = None) -> bytes:
    encryption = (
        serialization.NoEncryption()
        if password is None
        else serialization.BestAvailableEncryption(password)
    )
    return key.private_bytes(serialization.Encoding.PEM, PRIVATE_FORMS[form], encryption)


@pytest.mark.parametrize("form", sorted(PRIVATE_FORMS))
def test_a_cached_private_key_is_the_key_its_file_holds(cache, tmp_path, form):
    """From the cache a private key is made from its scalar (no serialization import): the
    key cryptography's loader reads from the file, PKCS #8 or SEC 1."""
    key = ec.generate_private_key(ec.SECP256R1())
    folder = tmp_path / "keys"
    folder.mkdir()
    (folder / "own.key").write_bytes(pem_of(key, form))
    Keystore.open(folder, cache=True)
    cached = Keystore.open(folder, cache=True)
    [identity] = cached._private_pending
    assert cached._private_for(identity).private_numbers() == key.private_numbers()


@pytest.mark.parametrize("form", sorted(PRIVATE_FORMS))
def test_the_scalar_reader_declines_what_is_not_a_plain_p256_key(form):
    """Anything but an unencrypted P-256 key is left to cryptography's loader."""
    p256 = ec.generate_private_key(ec.SECP256R1())
    scalar = p256.private_numbers().private_value
    assert keystore._p256_private_scalar(pem_of(p256, form)) == scalar
    p384 = pem_of(ec.generate_private_key(ec.SECP384R1()), form)
    assert keystore._p256_private_scalar(p384) is None
    assert keystore._p256_private_scalar(pem_of(p256, form, b"secret")) is None
    good = pem_of(p256, form)
    lines = good.splitlines()
    for damaged in (
        b"\n".join([lines[0], b"!!" + lines[1][2:], *lines[2:]]),  # not base64
        b"\n".join([lines[0], lines[1][:-4], *lines[2:]]),  # DER cut short
        good.replace(b"PRIVATE KEY", b"PUBLIC KEY"),
    ):
        assert keystore._p256_private_scalar(damaged) is None


def test_a_private_key_that_is_not_the_cached_identity_is_read_by_the_loader():
    """The scalar's key must have the public point the cache recorded; if not, the file is
    read by cryptography's loader, as before the scalar reader."""
    key = ec.generate_private_key(ec.SECP256R1())
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    place = keystore._PrivateKeyAt(pem_of(key, "pkcs8"), 0, "own.key", keystore.key_id(other))
    assert place().private_numbers() == key.private_numbers()
    right = keystore._PrivateKeyAt(
        pem_of(key, "sec1"), 0, "own.key", keystore.key_id(key.public_key())
    )
    assert right().private_numbers() == key.private_numbers()


def test_a_scalar_out_of_range_is_left_to_the_loader_which_refuses_it():
    """A key whose scalar is not below the curve order cannot be derived: the loader reads
    the file and refuses it as it always has (a ValueError), never a wrong key."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = pem_of(key, "pkcs8")
    lines = pem.splitlines()
    der = base64.b64decode(b"".join(lines[1:-1]))
    scalar = key.private_numbers().private_value.to_bytes(32, "big")
    order = bytes.fromhex("FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551")
    assert der.count(scalar) == 1
    body = base64.encodebytes(der.replace(scalar, order)).strip()
    damaged = b"\n".join([lines[0], body, lines[-1]]) + b"\n"
    assert keystore._p256_private_scalar(damaged) == int.from_bytes(order, "big")
    place = keystore._PrivateKeyAt(damaged, 0, "own.key", keystore.key_id(key.public_key()))
    with pytest.raises(ValueError) as loaded:
        serialization.load_pem_private_key(damaged, None)
    with pytest.raises(ValueError) as ours:
        place()
    assert str(ours.value) == str(loaded.value)


def test_a_finalisers_warning_during_a_load_is_not_noted_against_a_key_file(monkeypatch):
    """An unclosed file elsewhere, collected while a PEM is read, warns ResourceWarning in the
    middle of the load: it goes on to the caller's warnings, not into the keystore's notes as
    that key file's fault (a cached load then differed from a plain one)."""
    add = Keystore._add_pem

    def add_while_something_is_collected(self, *args):
        warnings.warn("unclosed file <_io.TextIOWrapper name=26>", ResourceWarning, stacklevel=1)
        return add(self, *args)

    monkeypatch.setattr(Keystore, "_add_pem", add_while_something_is_collected)
    with pytest.warns(ResourceWarning, match="unclosed file"):
        store = Keystore.open(RTDS_KEYS, clock=CLOCK)
    assert not any("ResourceWarning" in note.reason for note in store.notes)
    assert len(state(store)[0]) > 400  # every key file still read
