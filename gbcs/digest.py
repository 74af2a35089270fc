"""SHA-256 for gbcs (the KDF, cache keys), through CPython's own `_sha256` (`_sha2` from 3.12).

Neither hashlib nor cryptography: hashlib loads OpenSSL's `_hashlib` (the system's
libcrypto, ~3 ms of `gbhan gbcs check`'s start), and cryptography's bindings are what a
check's decoding process must not load, so that the verifying process it forks first
loads them while it decodes (gbcs.verifier). The inputs hashed here are small (keys,
names, a KDF's 69 bytes) or in the verifying process; bulk checksums are CRC-32
(gbcs.diskcache). tests/gbcs/test_digest.py holds both to hashlib's answers.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any


def _sha256_constructor() -> Callable[..., Any]:
    for name in ("_sha256", "_sha2"):  # the latter from Python 3.12
        try:
            constructor: Callable[..., Any] = importlib.import_module(name).sha256
        except (ImportError, AttributeError):
            continue
        return constructor
    import hashlib  # a Python built without either

    return hashlib.sha256


_new = _sha256_constructor()


def sha256(data: bytes) -> bytes:
    """The SHA-256 digest of `data`."""
    digest: bytes = _new(data).digest()
    return digest


class Sha256:
    """A SHA-256 fed in parts, as hashlib's: update() any number of times, then digest()
    or hexdigest() (each of which leaves it open for more)."""

    __slots__ = ("_state",)

    def __init__(self, data: bytes = b"") -> None:
        self._state = _new(data)

    def update(self, data: bytes) -> None:
        self._state.update(data)

    def digest(self) -> bytes:
        digest: bytes = self._state.digest()
        return digest

    def hexdigest(self) -> str:
        return self.digest().hex()
