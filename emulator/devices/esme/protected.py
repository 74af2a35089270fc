"""Reads GBCS has the meter encrypt for the reader (ECS17b 4.1.1, ECS17e 4.1.3, ECS19 4.3, and
the logs and profiles ECS20b/c 4.4.2/3, ECS21a 4.6.1, ECS21b 4.14, ECS22b 4.8.1): the
get_protected_attributes method of a data protection object (interface class 30).

The command names the attributes (class, OBIS, attribute, and no selective access or a range
of date-times on a log's buffer) and the
protection it wants: encryption for the remote party (its transaction id, originator and
recipient). The meter answers a structure: the protection parameters with originator and
recipient swapped, and one encrypted fragment (GBCS: AES-GCM, key from static ECDH between
the meter and the reader and the KDF with message type 4, the response's counter) whose
plaintext is a structure of the attributes' values, read from store.py (a log's entries in
the range).

Like every other key here, the ECDH is computed from the reader's KA private key and the
meter's KA certificate (RTDS holds no device private key): the same key either side gets. The
reader's key is the one the meter's trust anchor cell holds for it (a 6.15.1 replacement's
once that has been carried out); a reader whose private key for it no keystore here holds
gets the read refused (the meter could not encrypt it for anyone else).

An unknown remote party's read (URP: the ACB sends it, the party's KA certificate in the
command's header) is encrypted with that certificate's key and the meter's own originator
counter, which the response carries as its supplementary originator counter (written on the
command's header, where the response header takes it from); the echoed recipient is the ACB,
as RTDS's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from construct import Container, ListContainer  # type: ignore[import-untyped]
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from gbcs.dlms import encode_data
from gbcs.keystore import KA, Keystore
from gbcs.message import Message
from gbcs.security import ENCRYPTION_TYPE, encrypt_fragment, kdf, other_info, shared_secret

from .instructions import NULL, InstructionFailed, InstructionResult, item
from .store import CosemStore

IC_DATA_PROTECTION = 30
GET_PROTECTED_ATTRIBUTES = 1
#: the protection the command asks for: 2, encryption (DLMS protection type)
ENCRYPTION = 2

_UNDEFINED = InstructionResult.OBJECT_UNDEFINED
_UNAVAILABLE = InstructionResult.OBJECT_UNAVAILABLE
_OTHER = InstructionResult.OTHER_REASON


def reader_of(message: Message) -> bytes:
    """Who the response (and so the encryption) is for: the remote party a command sent on
    its behalf names, else the command's originator (gbcs.security.encryption_parameters)."""
    other = message.header.other_information
    return bytes(other.supplementary_remote_party or message.originator)


class ProtectedReads:
    """Answers get_protected_attributes for the meter `eui` from its store."""

    def __init__(
        self,
        eui: bytes,
        store: CosemStore,
        keystore: Keystore,
        next_counter: Callable[[], int] | None = None,
        cell_ka: Callable[[bytes], bytes | None] | None = None,
        remote_parties: Keystore | None = None,
    ) -> None:
        self.eui, self.store, self.keystore = bytes(eui), store, keystore
        #: the meter's own originator counter (its alerts' too): an unknown party's reads
        self.next_counter = next_counter
        #: the KA key (uncompressed point) the meter's trust anchor cell holds for a reader:
        #: the one it encrypts for, a 6.15.1 replacement's from then on
        self.cell_ka = cell_ka
        #: every remote party key pair we have (PremisesKeys.remote_parties), to find the one
        #: a replaced cell names
        self.remote_parties = remote_parties

    def answer(self, message: Message, value: Any) -> Any:
        """The action's return data; InstructionFailed for what the meter cannot give."""
        try:
            descriptors, parameters = value.value
            wanted = [list(d.value) for d in descriptors.value]
            protections = list(parameters.value)
        except (TypeError, ValueError, AttributeError):
            raise InstructionFailed(_OTHER) from None
        if len(protections) != 1:
            raise InstructionFailed(_OTHER)
        kind, fields = protections[0].value
        transaction, originator, recipient, when, key_info = fields.value
        reader = reader_of(message)
        if (int(kind.value) != ENCRYPTION or bytes(recipient.value) != self.eui
                or bytes(originator.value) != reader):  # fmt: skip
            raise InstructionFailed(_OTHER)
        values = [self._value(d) for d in wanted]
        plaintext = encode_data(item("structure", ListContainer(values)))
        other = message.header.other_information
        certificate = bytes(other.certificate or b"")
        if certificate:  # an unknown remote party: its certificate's key, our own counter
            if self.next_counter is None:
                raise InstructionFailed(_OTHER)
            counter = self.next_counter()
            key = self._key(reader, counter, _ka_public(certificate))
            other.supplementary_originator_counter = counter
            echoed_recipient = bytes(message.originator)
        else:
            held = None if self.cell_ka is None else self.cell_ka(reader)
            if held is not None and self.remote_parties is not None:
                key = self._cell_key(reader, message.counter, held)
            else:
                key = self._key(reader, message.counter)
            echoed_recipient = reader
        fragment = encrypt_fragment(plaintext, key, self.eui)
        echoed = item("structure", ListContainer([
            kind, item("structure", ListContainer([
                transaction, item("octet-string", self.eui),
                item("octet-string", echoed_recipient), when, key_info])),
        ]))  # fmt: skip
        return item("structure", ListContainer([
            item("array", ListContainer([echoed])), item("octet-string", fragment)]))  # fmt: skip

    def _value(self, descriptor: list[Any]) -> Any:
        try:
            ic, code, attribute, _index, access = (d.value for d in descriptor)
            selector = int(access[0].value)
        except (TypeError, ValueError, AttributeError, IndexError):
            raise InstructionFailed(_OTHER) from None
        key = (int(ic), bytes(code), int(attribute))
        if key not in self.store:
            raise InstructionFailed(_UNDEFINED)
        if selector == 0:
            return self.store.get(*key)
        if selector != 1:
            raise InstructionFailed(_UNAVAILABLE)
        try:  # a log or profile by a range of date-times: structure (from, to)
            start, end = access[1].value
            bounds = item("structure", ListContainer([NULL, start, end]))
            return self.store.select(*key, Container(selector=1, parameters=bounds))
        except (ValueError, TypeError, AttributeError, IndexError):
            raise InstructionFailed(_UNAVAILABLE) from None

    def _key(self, reader: bytes, counter: int, public: bytes | None = None) -> bytes:
        """The KDF key for `reader` (with `public`, the key pair of that KA public key)."""
        pairings, _missing = self.keystore.ka_pairings(self.eui, reader)
        if public is not None:
            pairings = [p for p in pairings if _point(p[1].public_key) == public]
        if not pairings:
            raise InstructionFailed(_OTHER)  # no key agreed with this reader
        private, _own, peer = pairings[0]
        z = shared_secret(private, peer.public_key)
        return kdf(z, other_info(self.eui, ENCRYPTION_TYPE, counter, reader))

    def _cell_key(self, reader: bytes, counter: int, key_id: bytes) -> bytes:
        """The KDF key for `reader`'s KA key `key_id` (its cell's), as party_mac agrees its
        MAC keys: that key's private half, the meter's KA certificate."""
        assert self.remote_parties is not None
        for entry, private in self.remote_parties.key_pairs(reader, KA):
            if entry.key_id != key_id:
                continue
            for peer in self.keystore.entries(self.eui, KA, valid_only=False):
                z = shared_secret(private, peer.public_key)
                return kdf(z, other_info(self.eui, ENCRYPTION_TYPE, counter, reader))
        raise InstructionFailed(_OTHER)  # no key agreed with this reader


def _point(key: Any) -> bytes:
    return bytes(key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint))


def _ka_public(certificate: bytes) -> bytes:
    """The public key (uncompressed point) of a remote party's KA certificate (DER)."""
    try:
        return _point(x509.load_der_x509_certificate(certificate).public_key())
    except (ValueError, TypeError):
        raise InstructionFailed(_OTHER) from None
