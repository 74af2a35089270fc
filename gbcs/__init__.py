"""gbcs: the GB Companion Specification message codec.

    from gbcs import decode, encode, sign, verify, Keystore

decode(bytes) -> Message, a typed tree with every layer visible; encode(Message) -> bytes,
byte-identical for every RTDS vector; sign(precommand, key) -> a signed APDU;
verify(message, keystore) -> SecurityReport (signature, MAC, decryption, each verified,
failed, or unverifiable for want of a key); match(command, response, keystore) ->
MatchResult, whether a response answers its command (gbcs.check holds each message to the
strict rules); build(use_case, **fields) -> the pre-command of a supported command
(ECS47, ECS47a, ECS47e, ECS62 so far), ready for sign; mac(apdu, keystore) -> the DD
message the DCC sends, MAC'd. Errors are GbcsError subclasses naming the layer and byte
offset.
"""

from __future__ import annotations

import importlib
import sys
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .build import build, mac
    from .check import verify
    from .errors import (
        DecodeError,
        EncodeError,
        GbcsError,
        InputError,
        KeyMissing,
        KeystoreError,
        VerificationError,
    )
    from .keystore import Keystore
    from .match import MatchResult, match
    from .message import Message, decode, encode
    from .outcomes import SecurityReport
    from .security import sign, verify_message_mac
    from .usecases import USE_CASES, UseCase

# each public name -> the module that holds it, imported when the name is first read (PEP
# 562): `import gbcs.check` (any submodule) runs this file first, and a check's decoding
# process must not load cryptography, which gbcs.keystore and gbcs.security import, so
# that the verifying process it forks loads it meanwhile (gbcs.verifier)
_HOMES = {
    **dict.fromkeys(("build", "mac"), "build"),
    **dict.fromkeys(
        (
            "DecodeError",
            "EncodeError",
            "GbcsError",
            "InputError",
            "KeyMissing",
            "KeystoreError",
            "VerificationError",
        ),
        "errors",
    ),
    "Keystore": "keystore",
    "SecurityReport": "outcomes",
    "verify": "check",
    **dict.fromkeys(("MatchResult", "match"), "match"),
    **dict.fromkeys(("Message", "decode", "encode"), "message"),
    **dict.fromkeys(("check_message", "sign", "verify_message_mac"), "security"),
    **dict.fromkeys(("USE_CASES", "UseCase"), "usecases"),
}


# public functions named as the modules that hold them: gbcs.build is the function
_NAMED_AS_MODULE = frozenset(("build", "match"))


class _Package(ModuleType):
    """The package, whose build and match stay the functions when their modules load: the
    import system names a loaded submodule on its package (gbcs.build = the module), which
    an eager `from .build import build` here used to follow at once by the function."""

    def __setattr__(self, name: str, value: object) -> None:
        if name in _NAMED_AS_MODULE and isinstance(value, ModuleType):
            value = getattr(value, name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str) -> object:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'gbcs' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{home}", __name__), name)
    globals()[name] = value  # read once: later reads find it here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOMES})


__all__ = [
    "USE_CASES",
    "DecodeError",
    "EncodeError",
    "GbcsError",
    "InputError",
    "KeyMissing",
    "Keystore",
    "KeystoreError",
    "MatchResult",
    "Message",
    "SecurityReport",
    "UseCase",
    "VerificationError",
    "build",
    "decode",
    "encode",
    "mac",
    "match",
    "sign",
    "verify",
    "verify_message_mac",
]
