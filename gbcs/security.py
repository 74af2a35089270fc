"""GBCS security: ECDSA P-256 signatures, the static-static ECDH KDF, AES-128-GCM MACs and
payload encryption (primer section 5).

- Signatures cover the DF APDU from the byte after its tag through the end of the content;
  on the wire they are raw r || s (64 bytes), which `cryptography` wants as DER.
- MAC and encryption keys come from one round of the concatenation KDF over the ECDH shared
  secret Z and a 33-byte OtherInfo built from the grouping header. Z only depends on the two
  keys, so it is computed once per key pair and cached; everything per message is hashing
  and one AES-GCM pass.
- `check_message` runs every check that applies to a decoded message and says, per check,
  verified / failed / unverifiable (a key is missing, named, or its certificate is outside
  its validity at the keystore's clock: `cause` says which) / not-applicable.
- Whose keys MAC a command comes from the keystore: the Access Control Broker is whichever
  EUI the keystore holds in that role (its certificate's OU, or `Keystore.add_anchor`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .digest import sha256
from .errors import DecodeError, EncodeError, GbcsError, KeyMissing, VerificationError
from .framing import general_signing_parser
from .keystore import KA, Keystore, Pairing, key_id
from .outcomes import (
    FAILED,
    FRAGMENT_HEADER,
    NO_KEY,
    NOT_APPLICABLE,
    UNVERIFIABLE,
    VERIFIED,
    CheckResult,
    SecurityInputs,
    SecurityReport,
)
from .primitives import encode_length, parse_layer
from .record import FrozenRecord
from .roles import Role

try:  # constant time, hmac.compare_digest's own fallback: hmac imports hashlib's OpenSSL
    from _operator import _compare_digest as compare_digest
except ImportError:  # an interpreter without it
    from hmac import compare_digest  # type: ignore[no-redef]  # the same signature

if TYPE_CHECKING:
    from .message import Message


SIGNATURE_LENGTH = 64
MAC_LENGTH = 12
KEY_LENGTH = 16
KDF_ALGORITHM_ID = bytes.fromhex("60857406080300")
MAC_AAD_PREFIX = bytes.fromhex("110000000000")  # primer 5.2: then the whole DF APDU
MAC_SECURITY_HEADER = bytes.fromhex("1100000000")  # DD ciphered service: control + counter
FRAGMENT_AAD = b"\x31"
ENCRYPTION_TYPE = 4  # KDF message-type byte for payload encryption (CRA flags are 1..3)


def _ecdsa_sha256() -> ec.ECDSA:
    """ec.ECDSA(SHA256()), the same object its constructor makes, without the constructor's
    import of cryptography's OpenSSL backend module, which it needs only to ask whether
    deterministic signing is supported (not asked for here) and which nothing else a check
    runs loads: ~6 ms of every `gbhan gbcs check`'s start-up. An instance is its two
    attributes; tests/gbcs/test_security.py holds them equal to a constructed one's."""
    algorithm = ec.ECDSA.__new__(ec.ECDSA)
    vars(algorithm).update(_algorithm=hashes.SHA256(), _deterministic_signing=False)
    return algorithm


_ECDSA = _ecdsa_sha256()
_ECDH = ec.ECDH()
_KDF_COUNTER = b"\x00\x00\x00\x01"
_Z_CACHE: dict[tuple[bytes, bytes], bytes] = {}
_Z_CACHE_LIMIT = 4096


def _text(eui: bytes) -> str:
    return eui.hex().upper()


# --- signatures ---------------------------------------------------------------------------
def sign_data(data: bytes, private_key: ec.EllipticCurvePrivateKey) -> bytes:
    """ECDSA-SHA256 over data, as the 64-byte r || s GBCS puts on the wire."""
    r, s = decode_dss_signature(private_key.sign(data, _ECDSA))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def verify_data(data: bytes, signature: bytes, public_key: ec.EllipticCurvePublicKey) -> None:
    """Check a raw r || s signature; VerificationError(layer="signature") if it does not hold."""
    if len(signature) != SIGNATURE_LENGTH:
        raise VerificationError(
            "signature", f"a signature is {SIGNATURE_LENGTH} bytes, not {len(signature)}"
        )
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    try:
        public_key.verify(der, data, _ECDSA)
    except InvalidSignature:
        raise VerificationError("signature", "signature does not verify") from None


class ApduLayout(FrozenRecord):
    """Where the parts of a DF APDU sit: enough to sign, MAC and find the KDF inputs."""

    FIELDS = ("cra_flag", "counter", "originator", "target", "content_end", "signature")
    cra_flag: int
    counter: int
    originator: bytes
    target: bytes
    content_end: int  # index after the last content byte; the signature field follows
    signature: bytes | None  # None: no field; b"": 00; 64 bytes: r || s

    def __init__(
        self,
        cra_flag: int,
        counter: int,
        originator: bytes,
        target: bytes,
        content_end: int,
        signature: bytes | None,
    ) -> None:
        vars(self).update(
            cra_flag=cra_flag,
            counter=counter,
            originator=originator,
            target=target,
            content_end=content_end,
            signature=signature,
        )


def apdu_layout(apdu: bytes, base: int = 0) -> ApduLayout:
    """Where the parts of a DF APDU sit, from the framing layer's parser (primer 4.2),
    without decoding the payload.

    Raises DecodeError(layer="general-signing") with the offset (plus `base`) on bad input.
    """
    apdu = bytes(apdu)
    if not apdu or apdu[0] != 0xDF:
        raise DecodeError("general-signing", "a General-Signing APDU starts with DF", base)
    header = parse_layer(general_signing_parser(), apdu, "general-signing", base)
    signature = header["signature"]
    transaction = header["transaction_id"]
    return ApduLayout(
        int(transaction["cra"]),
        transaction["counter"],
        header["originator"],
        header["target"],
        len(apdu) - (0 if signature is None else 1 + len(signature)),
        signature,
    )


def sign(precommand: bytes, private_key: ec.EllipticCurvePrivateKey) -> bytes:
    """Sign a pre-command (a DF APDU with no signature field, or a trailing 00): the same
    APDU with 40 + r || s appended over the bytes after DF through the end of the content."""
    precommand = bytes(precommand)
    layout = apdu_layout(precommand)
    if layout.signature:
        raise EncodeError("signature", "the APDU is already signed")
    body = precommand[: layout.content_end]
    return body + bytes((SIGNATURE_LENGTH,)) + sign_data(body[1:], private_key)


def verify_apdu(apdu: bytes, public_key: ec.EllipticCurvePublicKey) -> None:
    """Verify the signature on a signed DF APDU; VerificationError if absent or wrong."""
    apdu = bytes(apdu)
    layout = apdu_layout(apdu)
    if not layout.signature:
        raise VerificationError("signature", "the APDU carries no signature")
    verify_data(apdu[1 : layout.content_end], layout.signature, public_key)


# --- key agreement and KDF ----------------------------------------------------------------
def shared_secret(
    private_key: ec.EllipticCurvePrivateKey, public_key: ec.EllipticCurvePublicKey
) -> bytes:
    """Z, the x-coordinate of the static-static ECDH point; cached per pair of keys."""
    return _shared_secret(private_key, key_id(private_key.public_key()), public_key, None)


def _shared_secret(
    private_key: ec.EllipticCurvePrivateKey,
    own_id: bytes,
    public_key: ec.EllipticCurvePublicKey,
    peer_id: bytes | None,
) -> bytes:
    if peer_id is None:
        peer_id = key_id(public_key)
    cache_key = (own_id, peer_id)
    z = _Z_CACHE.get(cache_key)
    if z is None:
        try:
            z = private_key.exchange(_ECDH, public_key)
        except ValueError as exc:
            raise VerificationError("key-agreement", f"ECDH failed: {exc}") from None
        if len(_Z_CACHE) >= _Z_CACHE_LIMIT:
            _Z_CACHE.clear()
        _Z_CACHE[cache_key] = z
    return z


def other_info(originator: bytes, message_type: int, counter: int, recipient: bytes) -> bytes:
    """The KDF's 33-byte OtherInfo: algorithm id, originator, 09 + type + counter, recipient."""
    if len(originator) != 8 or len(recipient) != 8:
        raise EncodeError("kdf", "originator and recipient system titles are 8 bytes")
    if not 0 <= counter < 1 << 64:
        raise EncodeError("kdf", f"counter {counter} does not fit 8 bytes")
    return (
        KDF_ALGORITHM_ID
        + bytes(originator)
        + bytes((9, message_type))
        + counter.to_bytes(8, "big")
        + bytes(recipient)
    )


def kdf(z: bytes, info: bytes) -> bytes:
    """One-round concatenation KDF (SHA-256): the first 16 bytes of H(00000001 || Z || info)."""
    return sha256(_KDF_COUNTER + z + info)[:KEY_LENGTH]


def derive_key(
    private_key: ec.EllipticCurvePrivateKey,
    public_key: ec.EllipticCurvePublicKey,
    originator: bytes,
    message_type: int,
    counter: int,
    recipient: bytes,
) -> bytes:
    """The AES-128 key for one message (type 1-3: MAC with that CRA flag, 4: encryption)."""
    z = shared_secret(private_key, public_key)
    return kdf(z, other_info(originator, message_type, counter, recipient))


# --- MAC ----------------------------------------------------------------------------------
def compute_mac(apdu: bytes, key: bytes, originator: bytes) -> bytes:
    """The 12-byte GCM tag over an empty plaintext with AAD 11 00 00 00 00 00 || DF APDU."""
    iv = bytes(originator) + b"\x00\x00\x00\x00"
    return AESGCM(key).encrypt(iv, b"", MAC_AAD_PREFIX + bytes(apdu))[:MAC_LENGTH]


def verify_mac(apdu: bytes, mac: bytes, key: bytes, originator: bytes) -> None:
    """VerificationError(layer="mac") unless `mac` is the MAC of the APDU under `key`."""
    if not compare_digest(compute_mac(apdu, key, originator), bytes(mac)):
        raise VerificationError("mac", "MAC does not match")


def wrap_with_mac(apdu: bytes, mac: bytes) -> bytes:
    """A DD General-Ciphering message (empty header fields) around a DF APDU and its MAC."""
    service = MAC_SECURITY_HEADER + bytes(apdu) + bytes(mac)
    return b"\xdd" + bytes(6) + encode_length(len(service)) + service


def mac_parties(
    cra_flag: int, originator: bytes, target: bytes, keystore: Keystore | None = None
) -> tuple[bytes, bytes]:
    """The two EUIs whose KA keys MAC a message: the ACB and the target for a remote party's
    command, else the business originator and target (responses, alerts, and commands one
    device sends another, such as PCS02, which a keystore shows by the originator's device
    certificate). The ACB is the keystore's (the first, if it names several); KeyMissing
    when a remote party's command needs one and the keystore names none."""
    candidates = mac_party_candidates(cra_flag, originator, target, keystore)
    if not candidates:
        raise _no_acb()
    return candidates[0]


def mac_party_candidates(
    cra_flag: int, originator: bytes, target: bytes, keystore: Keystore | None = None
) -> list[tuple[bytes, bytes]]:
    """Every pair of EUIs that may MAC a message (one per ACB the keystore names for a
    remote party's command); empty when it needs an ACB and the keystore names none."""
    if cra_flag == 1 and not (keystore is not None and _is_device(keystore, originator)):
        if keystore is None:
            return []
        return [(acb, bytes(target)) for acb in keystore.anchors(Role.ACCESS_CONTROL_BROKER)]
    return [(bytes(originator), bytes(target))]


def _no_acb() -> KeyMissing:
    error = KeyMissing(
        "keystore",
        "no Access Control Broker identity: load its certificate or name it (--acb EUI)",
    )
    error.what = "ACB identity"
    error.cause = NO_KEY
    return error


def _is_device(keystore: Keystore, eui: bytes) -> bool:
    try:
        return keystore.role(eui) is None
    except KeyMissing:
        return False


def mac_apdu(apdu: bytes, keystore: Keystore) -> bytes:
    """MAC a DF APDU with the keys the keystore holds and return the DD-wrapped message."""
    apdu = bytes(apdu)
    layout = apdu_layout(apdu)
    if layout.signature is None:
        raise EncodeError("mac", "a MAC'd APDU needs a signature field (00 or 40 + r || s)")
    first, second = mac_parties(layout.cra_flag, layout.originator, layout.target, keystore)
    candidates, missing = keystore.ka_pairings(first, second)
    if not candidates:
        raise _key_missing(missing)
    private, own, peer = candidates[0]
    z = _shared_secret(private, own.key_id, peer.public_key, peer.key_id)
    info = other_info(layout.originator, layout.cra_flag, layout.counter, layout.target)
    return wrap_with_mac(apdu, compute_mac(apdu, kdf(z, info), layout.originator))


# --- payload encryption -------------------------------------------------------------------
def decrypt_fragment(fragment: bytes, key: bytes, originator: bytes) -> bytes:
    """Plaintext of `31 00 00 00 00` + ciphertext + 12-byte tag (AES-128-GCM, AAD `31`)."""
    fragment = bytes(fragment)
    if fragment[:5] != FRAGMENT_HEADER:
        raise DecodeError("encryption", "an encrypted fragment starts 31 00 00 00 00", 0)
    if len(fragment) < len(FRAGMENT_HEADER) + MAC_LENGTH:
        raise DecodeError("encryption", "fragment too short for a 12-byte tag", len(fragment))
    ciphertext, tag = fragment[5:-MAC_LENGTH], fragment[-MAC_LENGTH:]
    iv = bytes(originator) + b"\x00\x00\x00\x00"
    decryptor = Cipher(
        algorithms.AES(key), modes.GCM(iv, tag, min_tag_length=MAC_LENGTH)
    ).decryptor()
    decryptor.authenticate_additional_data(FRAGMENT_AAD)
    try:
        return decryptor.update(ciphertext) + decryptor.finalize()
    except InvalidTag:
        raise VerificationError("encryption", "fragment tag does not verify") from None


def encrypt_fragment(plaintext: bytes, key: bytes, originator: bytes) -> bytes:
    """The inverse of decrypt_fragment, for devices that send encrypted reads."""
    iv = bytes(originator) + b"\x00\x00\x00\x00"
    sealed = AESGCM(key).encrypt(iv, bytes(plaintext), FRAGMENT_AAD)
    return FRAGMENT_HEADER + sealed[:-16] + sealed[-16:][:MAC_LENGTH]


def encryption_parameters(message: Message) -> tuple[bytes, int, bytes]:
    """(originator, counter, recipient) for a message's encrypted fragments (primer 5.3):
    Message.encryption_parameters."""
    return message.encryption_parameters()


# --- message checks -----------------------------------------------------------------------
def check_message(
    message: Message, keystore: Keystore, fragments: Sequence[bytes] | None = None
) -> SecurityReport:
    """Run the signature, MAC and decryption checks that apply to a decoded Message.

    `fragments` defaults to gbcs.payload.encrypted_fragments of the message's payload.
    Decrypted plaintexts go to `message.decrypted`, one per fragment (None if not decrypted).
    """
    report, message.decrypted = check_inputs(message.security_inputs(fragments), keystore)
    return report


def check_inputs(
    inputs: SecurityInputs, keystore: Keystore
) -> tuple[SecurityReport, list[bytes | None]]:
    """check_message on what it reads of a message (Message.security_inputs): the report,
    and each fragment's plaintext (None if not decrypted)."""
    signature = _check_signature(inputs, keystore)
    mac = _check_mac(inputs, keystore)
    decryption, plaintexts = _check_fragments(inputs, keystore)
    return SecurityReport(signature, mac, decryption), plaintexts


def _check_signature(inputs: SecurityInputs, keystore: Keystore) -> CheckResult:
    sig = inputs.signature
    if not sig:
        return CheckResult("signature", NOT_APPLICABLE)
    originator = inputs.originator
    try:
        entries = keystore.ds_public_keys(originator)
    except KeyMissing as exc:
        return CheckResult(
            "signature",
            UNVERIFIABLE,
            exc.detail,
            f"DS certificate of {_text(originator)}",
            getattr(exc, "cause", NO_KEY),
        )
    apdu = inputs.apdu
    data = apdu[1 : len(apdu) - 1 - len(sig)]  # after DF, through the content
    for entry in entries:
        try:
            verify_data(data, sig, entry.public_key)
        except VerificationError:
            continue
        return CheckResult("signature", VERIFIED, key=entry.label)
    return CheckResult(
        "signature",
        FAILED,
        f"does not verify with the {len(entries)} DS key(s) of {_text(originator)}",
    )


def _key_missing(missing: Iterable[str]) -> KeyMissing:
    return KeyMissing("keystore", "no usable key pair: missing " + " / ".join(missing))


def _agreed_key(
    keystore: Keystore,
    parties: Sequence[tuple[bytes, bytes]],
    info: bytes,
    verify: Callable[[bytes], None],
) -> tuple[str, str, str, str]:
    """Try every KA pairing of each pair of EUIs until `verify(key)` passes:
    (status, reason, keys, cause of an unverifiable result).

    Several pairings exist when an EUI has several KA certificates (a Supplier's KA and
    prepayment KA, two generations) or the keystore names several ACBs; only a key that
    opens the MAC or tag counts."""
    if not parties:
        return UNVERIFIABLE, _no_acb().detail, "ACB identity", NO_KEY
    candidates: list[Pairing] = []
    missing: list[str] = []
    for first, second in parties:
        found, lacking = keystore.ka_pairings(first, second)
        candidates.extend(found)
        missing.extend(lacking)
    if not candidates:
        for first, second in parties:
            for eui in (first, second):
                problem = keystore.validity_problem(eui, KA)
                if problem is not None:
                    return UNVERIFIABLE, problem[1], " or ".join(missing), problem[0]
        return UNVERIFIABLE, "missing " + " or ".join(missing), " or ".join(missing), NO_KEY
    error = "no key pair"
    for private, own, peer in candidates:
        key = kdf(_shared_secret(private, own.key_id, peer.public_key, peer.key_id), info)
        try:
            verify(key)
        except VerificationError as exc:
            error = exc.detail
            continue
        except GbcsError as exc:
            return FAILED, str(exc), "", ""
        return VERIFIED, "", f"{own.label} with {peer.label}", ""
    return FAILED, f"{error} (tried {len(candidates)} key pair(s))", "", ""


def _check_mac(inputs: SecurityInputs, keystore: Keystore) -> CheckResult:
    mac, header = inputs.mac, inputs.mac_header
    if header is None or mac is None:
        return CheckResult("mac", NOT_APPLICABLE)
    control, invocation_counter = header
    if control != 0x11 or invocation_counter != 0:
        # GBCS MAC'd messages always carry 11 00 00 00 00: authenticated only, suite 1,
        # invocation counter unused (primer 4.1); the MAC's AAD assumes exactly these bytes.
        return CheckResult(
            "mac",
            FAILED,
            f"security header {control:02X} {invocation_counter:08X}"
            " is not 11 00000000 (authenticated, suite 1)",
        )
    originator, target = inputs.originator, inputs.target
    parties = mac_party_candidates(inputs.cra_flag, originator, target, keystore)
    info = other_info(originator, inputs.cra_flag, inputs.counter, target)
    apdu = inputs.apdu

    def verify(key: bytes) -> None:
        verify_mac(apdu, mac, key, originator)

    status, reason, key, cause = _agreed_key(keystore, parties, info, verify)
    return CheckResult("mac", status, reason, key, cause)


def _check_fragments(
    inputs: SecurityInputs, keystore: Keystore
) -> tuple[list[CheckResult], list[bytes | None]]:
    fragments, parameters = inputs.fragments, inputs.encryption
    if not fragments or parameters is None:
        return [], []
    originator, counter, recipient = parameters
    info = other_info(originator, ENCRYPTION_TYPE, counter, recipient)
    results, plaintexts = [], []
    for number, fragment in enumerate(fragments):
        found: list[bytes] = []

        def verify(key: bytes, fragment: bytes = fragment, found: list[bytes] = found) -> None:
            found.append(decrypt_fragment(fragment, key, originator))

        parties = [(originator, recipient)]
        status, reason, key, cause = _agreed_key(keystore, parties, info, verify)
        results.append(CheckResult(f"decryption[{number}]", status, reason, key, cause))
        plaintexts.append(found[0] if found else None)
    return results, plaintexts


# --- the receiving device's MAC check -------------------------------------------------------
def verify_message_mac(message: Message, keystore: Keystore) -> str:
    """The MAC check a device makes of a command it receives: `check_message`'s MAC check on
    its own (the 11 00000000 security header, then the MAC under some KA key pairing of the
    two parties `mac_parties` names). Returns the pairing that verified it ("own with peer");
    raises VerificationError(layer="mac") when the message carries no MAC or it does not
    verify, KeyMissing when the keystore holds no key pairing to check it with."""
    result = _check_mac(message.security_inputs(()), keystore)
    if result.status == VERIFIED:
        return result.key
    if result.status == UNVERIFIABLE:
        raise KeyMissing("keystore", f"no usable key pair: {result.reason}")
    if result.status == NOT_APPLICABLE:
        raise VerificationError("mac", "the message carries no MAC")
    raise VerificationError("mac", result.reason)
