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

from .build import build, mac
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
from .security import SecurityReport, check_message, sign, verify_message_mac
from .usecases import USE_CASES, UseCase


def verify(message: Message | bytes, keystore: Keystore) -> SecurityReport:
    """Every security check that applies to a message (decoded first if given bytes)."""
    if not isinstance(message, Message):
        message = decode(message)
    return check_message(message, keystore)


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
