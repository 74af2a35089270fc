"""SHA-256 for gbcs (the KDF, cache keys, cache entries' checksums), through cryptography.

Not hashlib: hashlib loads a second OpenSSL (`_hashlib`, the system's libcrypto, ~3 ms of
`gbhan gbcs check`'s start) that nothing else a check does needs, while cryptography's own
is loaded for ECDSA and AES anyway and hashes as fast (SHA-NI where the processor has it).
tests/gbcs/test_digest.py holds both to hashlib's answers.
"""

from __future__ import annotations

from cryptography.hazmat.primitives import hashes

_SHA256 = hashes.SHA256()


def sha256(data: bytes) -> bytes:
    """The SHA-256 digest of `data`."""
    state = hashes.Hash(_SHA256)
    state.update(data)
    return state.finalize()


class Sha256:
    """A SHA-256 fed in parts, as hashlib's: update() any number of times, then digest()
    or hexdigest() (each of which leaves it open for more)."""

    __slots__ = ("_state",)

    def __init__(self, data: bytes = b"") -> None:
        self._state = hashes.Hash(_SHA256)
        if data:
            self._state.update(data)

    def update(self, data: bytes) -> None:
        self._state.update(data)

    def digest(self) -> bytes:
        return self._state.copy().finalize()

    def hexdigest(self) -> str:
        return self.digest().hex()
