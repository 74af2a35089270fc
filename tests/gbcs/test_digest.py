"""gbcs.digest hashes through CPython's own SHA-256 what hashlib would: every cache key and
KDF output is the same as before, so cache names and derived keys stay as they were.
hashlib is the reference, over the files gbcs hashes (the keystore's PEM files, which a
cached keystore's key hashes) and RTDS messages, whole and fed in parts."""

import hashlib

import pytest
from rtds_vectors import RTDS_KEYSTORE, params, read_vector, rtds_files

from gbcs.digest import Sha256, sha256
from gbcs.security import kdf

KEYSTORE_FILES = sorted(RTDS_KEYSTORE.glob("*.pem"))


@pytest.mark.parametrize("path", params(KEYSTORE_FILES))
def test_a_keystore_file_hashes_as_hashlib_hashes_it(path):
    data = path.read_bytes()
    assert sha256(data) == hashlib.sha256(data).digest()


@pytest.mark.parametrize("path", params(rtds_files("*_COMMAND_GBCS")[:60]))
def test_a_message_fed_in_parts_hashes_as_hashlib_hashes_it(path):
    data = read_vector(path)
    reference = hashlib.sha256()
    ours = Sha256(data[:1])
    reference.update(data[:1])
    for start in range(1, len(data), 7):  # parts of 7 bytes, the last shorter
        ours.update(data[start : start + 7])
        reference.update(data[start : start + 7])
        assert ours.digest() == reference.digest()  # digest() leaves it open
    assert ours.hexdigest() == reference.hexdigest()
    assert Sha256().digest() == hashlib.sha256().digest()


@pytest.mark.parametrize("path", params(rtds_files("*_COMMAND_GBCS")[:20]))
def test_the_kdf_is_the_first_16_bytes_of_the_concatenation_hash(path):
    data = read_vector(path)
    z, info = data[:32].ljust(32, b"\0"), data[-33:].rjust(33, b"\0")
    expected = hashlib.sha256(b"\x00\x00\x00\x01" + z + info).digest()[:16]
    assert kdf(z, info) == expected
