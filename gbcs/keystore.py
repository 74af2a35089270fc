"""Keystore: which key belongs to whom, for what, and until when (primer sections 5.4 and 6).

Sources are PEM folders laid out like `rtds/keystore/` and the DCC Boxed JSON keystore
(`keystore/dccboxed-keystore.json`); one Keystore may merge several. File names and JSON
keys are only labels: a certificate is indexed by the identity inside it (organisation
certificates: x500UniqueIdentifier, OID 2.5.4.45, a BIT STRING holding the EUI, and the role
as two hex digits in OU; device certificates: SAN otherName hardwareModuleName whose
hwSerialNum is the EUI), its usage comes from its key usage (digitalSignature -> DS,
keyAgreement -> KA), and a private key joins the certificate whose public key it matches.
That is what files such as RTDS's WAN-provider `-ka` pair (which really hold Supplier 2's
keys) need, without a rule per file.

A certificate that cannot be used (unparsable, no identity, no usable key usage, not P-256)
is recorded in `rejected` with its reason and the load goes on.

A bare public key (PEM `PUBLIC KEY`, or a JSON entry's `publicKey`) has no identity inside
it, so it is bound by where it sits: a file named `<eui>[-pp]-ds.pem` / `-ka.pem` (the
naming RTDS and the DCC's own parser use) or its JSON entry's EUI and usage. Anchor
identities (the Access Control Broker that MACs remote parties' commands, ...) are the EUIs
whose certificates carry that role, or those added with `add_anchor` (a command-line flag).
"""

from __future__ import annotations

import base64
import binascii
import datetime as _dt
import os
import re
import warnings
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives.asymmetric import ec

from .asn1 import decode_tree
from .digest import Sha256, sha256
from .diskcache import ENTRY_FORMAT, cache_dir, load_entry, read_bytes, store_entry
from .errors import GbcsError, KeyMissing, KeystoreError
from .outcomes import EXPIRED, NO_KEY, NOT_YET_VALID
from .record import FrozenRecord
from .roles import Role

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
    from typing_extensions import TypeIs

LAYER = "keystore"
DS = "DS"
KA = "KA"
USAGES = (DS, KA)

# OID 1.3.6.1.5.5.7.8.4, the otherName form that carries a device's hardware serial number.
HARDWARE_MODULE_NAME = "1.3.6.1.5.5.7.8.4"
PEM_SUFFIXES = frozenset((".pem", ".key", ".crt", ".cer"))
_PEM_BLOCK = re.compile(rb"-----BEGIN ([A-Z0-9 ]+)-----.*?-----END \1-----", re.S)
# <eui>-ds.pem, <eui>-pp-ka.pem ...: the only identity a bare public key file has
_KEY_FILE_NAME = re.compile(r"^([0-9A-Fa-f]{16})(?:-pp)?-(ds|ka)\.[A-Za-z]+$")
_JSON_USAGES = {"digitalSignature": "DS", "keyAgreement": "KA", "DS": "DS", "KA": "KA"}


# DUIS XMLDSig certificates share EUIs with GBCS ones but never sign or MAC a GBCS message.
XML_SIGNING_ROLES = frozenset((Role.XML_SIGNING_USER, Role.XML_SIGNING_DCC))


def as_eui(value: bytes | str) -> bytes:
    """An EUI-64 from 8 bytes or 16 hex digits (any case, optional '-' or ':' separators)."""
    if type(value) is bytes and len(value) == 8:
        return value
    if isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
    elif isinstance(value, str):
        digits = value.replace("-", "").replace(":", "").replace(" ", "")
        try:
            raw = bytes.fromhex(digits)
        except ValueError:
            raise KeystoreError(LAYER, f"not an EUI-64: {value!r}") from None
    else:
        raise KeystoreError(LAYER, f"not an EUI-64: {value!r}")
    if len(raw) != 8:
        raise KeystoreError(LAYER, f"an EUI-64 is 8 bytes, not {len(raw)}: {value!r}")
    return raw


def _eui_text(eui: bytes) -> str:
    return eui.hex().upper()


def key_id(public_key: ec.EllipticCurvePublicKey) -> bytes:
    """A key's identity: its uncompressed point (65 bytes), the same for key and certificate."""
    from cryptography.hazmat.primitives import serialization  # 3 ms: not on a cached load

    return public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


class KeyEntry(FrozenRecord):
    """One public key with its owner, usage, role and validity (from a certificate or added).

    `public_key` and `certificate` are made when first asked for, from `key_id` (the point)
    and `certificate_der`, unless given loaded: a keystore read from its cache parses only
    the keys a check uses, and never imports cryptography's X.509 layer. Two entries are
    the same only if they are one object (compared and hashed by identity)."""

    FIELDS = (
        "eui",
        "usage",
        "role",
        "key_id",
        "not_before",
        "not_after",
        "source",
        "serial",
        "name",
        "loaded_key",
        "loaded_certificate",
        "certificate_der",
    )
    HIDDEN = frozenset(("loaded_key", "loaded_certificate", "certificate_der"))
    eui: bytes
    usage: str
    role: int | None
    key_id: bytes
    not_before: _dt.datetime | None
    not_after: _dt.datetime | None
    source: str
    serial: int | None
    name: str | None
    loaded_key: ec.EllipticCurvePublicKey | None
    loaded_certificate: x509.Certificate | None
    certificate_der: bytes | None

    def __init__(
        self,
        eui: bytes,
        usage: str,
        role: int | None,
        key_id: bytes,
        not_before: _dt.datetime | None,
        not_after: _dt.datetime | None,
        source: str,
        serial: int | None = None,
        name: str | None = None,
        loaded_key: ec.EllipticCurvePublicKey | None = None,
        loaded_certificate: x509.Certificate | None = None,
        certificate_der: bytes | None = None,
    ) -> None:
        vars(self).update(
            eui=eui,
            usage=usage,
            role=role,
            key_id=key_id,
            not_before=not_before,
            not_after=not_after,
            source=source,
            serial=serial,
            name=name,
            loaded_key=loaded_key,
            loaded_certificate=loaded_certificate,
            certificate_der=certificate_der,
        )

    __eq__ = object.__eq__
    __hash__ = object.__hash__

    @cached_property
    def public_key(self) -> ec.EllipticCurvePublicKey:
        if self.loaded_key is not None:
            return self.loaded_key
        return ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), self.key_id)

    @cached_property
    def certificate(self) -> x509.Certificate | None:
        if self.loaded_certificate is not None:
            return self.loaded_certificate
        if self.certificate_der is None:
            return None
        from cryptography import x509

        with warnings.catch_warnings():  # said in the keystore's notes when it was first read
            warnings.simplefilter("ignore")
            return x509.load_der_x509_certificate(self.certificate_der)

    def valid_at(self, when: _dt.datetime) -> bool:
        if self.not_before is not None and when < self.not_before:
            return False
        return self.not_after is None or when <= self.not_after

    @cached_property
    def label(self) -> str:
        """Short text for reports: usage, owner, serial and where it came from."""
        serial = f" serial {self.serial}" if self.serial is not None else ""
        return f"{self.usage} {_eui_text(self.eui)}{serial} ({self.source})"


# an ECDH pairing: a private key held, its certificate entry, and the peer's entry
Pairing = tuple[ec.EllipticCurvePrivateKey, KeyEntry, KeyEntry]


class SkippedSource(FrozenRecord):
    """A keystore source item (file, JSON entry) that was skipped or loaded with a warning, and why."""

    FIELDS = ("source", "reason")
    source: str
    reason: str

    def __init__(self, source: str, reason: str) -> None:
        vars(self).update(source=source, reason=reason)


def _missing(message: str, eui: bytes, what: str, cause: str = NO_KEY) -> KeyMissing:
    error = KeyMissing(LAYER, message)
    error.eui = eui
    error.what = what
    error.cause = cause
    return error


class Keystore:
    """Certificates and private keys from one or more sources, looked up by EUI and usage.

    `clock` (an aware datetime, or None for "now") decides which certificates are valid;
    `check_validity=False` uses every certificate whatever its dates (a conformance check of
    stored vectors, whose organisation certificates may have expired since).
    """

    def __init__(self, clock: _dt.datetime | None = None, *, check_validity: bool = True):
        self._check_validity = check_validity
        self._clock: _dt.datetime | None = None
        # valid entries, pairings and roles by ("entries" / "pairings" / "role", EUI, ...), each
        # its own kind of value (read into annotated names); emptied on any change
        self._lookup_cache: dict[tuple[str | bytes, ...], Any] = {}
        self.clock = clock
        self._entries: dict[tuple[bytes, str], list[KeyEntry]] = {}
        self._seen: set[tuple[bytes, str, bytes, int | None]] = set()
        self._private: dict[bytes, ec.EllipticCurvePrivateKey] = {}
        # private keys a cached load knows by identity and place, parsed when first used
        self._private_pending: dict[bytes, Callable[[], ec.EllipticCurvePrivateKey]] = {}
        self._private_source: dict[bytes, str] = {}
        self.unbound_public_keys: list[tuple[str, ec.EllipticCurvePublicKey]] = []
        self.rejected: list[SkippedSource] = []
        self.notes: list[SkippedSource] = []  # loaded, but with a warning worth knowing
        self.sources: list[str] = []
        self._anchors: dict[int, list[bytes]] = {}

    # --- clock ------------------------------------------------------------------------
    @property
    def check_validity(self) -> bool:
        """Whether certificates count only within their dates at the clock."""
        return self._check_validity

    @check_validity.setter
    def check_validity(self, value: bool) -> None:
        self._check_validity = value
        self._lookup_cache = {}

    @property
    def clock(self) -> _dt.datetime | None:
        return self._clock

    @clock.setter
    def clock(self, value: _dt.datetime | None) -> None:
        if value is not None and (not isinstance(value, _dt.datetime) or value.utcoffset() is None):
            raise KeystoreError(LAYER, f"clock must be an aware datetime or None, not {value!r}")
        self._clock = value
        self._lookup_cache = {}

    def now(self) -> _dt.datetime:
        return self._clock if self._clock is not None else _dt.datetime.now(_dt.UTC)

    # --- loading ------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        *paths: str | Path,
        clock: _dt.datetime | None = None,
        check_validity: bool = True,
        cache: bool = False,
    ) -> Keystore:
        """A keystore merged from several sources: `Keystore.open(rtds_dir, json_file)`;
        `cache`: PEM folders read through the on-disk cache (see `load`)."""
        store = cls(clock, check_validity=check_validity)
        for path in paths:
            store.load(path, cache=cache)
        return store

    def load(self, path: str | Path, *, cache: bool = False) -> Keystore:
        """Merge a PEM folder, a single PEM file, or a DCC Boxed JSON keystore; returns self.

        `cache`: a PEM folder is read from what an earlier load parsed out of the same
        files (gbcs.diskcache, keyed by a hash of every file's name and bytes, so any change
        to the folder is a new entry): the same entries, notes and rejections in the same
        order, each key and certificate parsed only when first used, and no private key
        written anywhere (the cache says which file's which PEM block holds it)."""
        path = Path(path)
        if path.is_dir():
            if cache:
                self._load_folder_cached(path)
            else:
                for item in sorted(path.iterdir()):
                    if item.suffix.lower() in PEM_SUFFIXES and item.is_file():
                        self._load_pem_file(item)
        elif path.is_file() and path.suffix.lower() == ".json":
            self._load_json(path)
        elif path.is_file() and path.suffix.lower() in PEM_SUFFIXES:
            self._load_pem_file(path)
        elif not path.exists():
            raise KeystoreError(LAYER, f"no such keystore: {path}")
        else:
            raise KeystoreError(LAYER, f"not a PEM folder, PEM file or JSON keystore: {path}")
        self.sources.append(str(path))
        return self

    def _load_pem_file(self, path: Path) -> None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            self.rejected.append(SkippedSource(path.name, f"unreadable: {exc}"))
            return
        self._load_pem_bytes(path.name, data)

    def _load_pem_bytes(self, name: str, data: bytes) -> None:
        blocks = list(_PEM_BLOCK.finditer(data))
        if not blocks:
            self.rejected.append(SkippedSource(name, "no PEM block"))
        for number, block in enumerate(blocks):
            label = name if len(blocks) == 1 else f"{name}[{number}]"
            self.add_pem(block.group(0), label, bind=_bound_by_name(name))

    # --- the cached load of a PEM folder ------------------------------------------------
    def _load_folder_cached(self, path: Path) -> None:
        files: dict[str, bytes | None] = {}  # name -> bytes (None: unreadable), sorted
        digest = Sha256(_CACHE_VERSION)
        folder = os.fspath(path)
        try:
            with os.scandir(path) as listing:
                names = sorted(
                    entry.name
                    for entry in listing
                    if os.path.splitext(entry.name)[1].lower() in PEM_SUFFIXES and entry.is_file()
                )
        except OSError as exc:
            raise KeystoreError(LAYER, f"cannot list {path}: {exc.strerror or exc}") from None
        for name in names:
            try:
                data: bytes | None = read_bytes(os.path.join(folder, name))
            except OSError:
                data = None
            files[name] = data
            digest.update(b"%d\0%s\0" % (len(data) if data is not None else -1, name.encode()))
            digest.update(data or b"")
        entry = cache_dir() / f"keystore-{digest.hexdigest()[:32]}.marshal"
        state = load_entry(entry)
        if not _replayable(state):
            if any(data is None for data in files.values()):  # unreadable now: not kept
                for name in names:
                    self._load_pem_file(path / name)
                return
            state = _parsed_state(files)
            store_entry(entry, state)
        assert isinstance(state, tuple)
        self._replay(state, files)

    def _replay(self, state: tuple[Any, ...], files: dict[str, bytes | None]) -> None:
        """Merge a folder's parsed state, as loading its files one by one would have."""
        entries, private, unbound, rejected, notes = state
        for eui, usage, role, identity, before, after, source, serial, name, der in entries:
            self._add(
                KeyEntry(
                    eui,
                    usage,
                    role,
                    identity,
                    None if before is None else _dt.datetime.fromtimestamp(before, _dt.UTC),
                    None if after is None else _dt.datetime.fromtimestamp(after, _dt.UTC),
                    source,
                    serial,
                    name,
                    certificate_der=der,
                )
            )
        for identity, source, file_name, number in private:
            if identity not in self._private and identity not in self._private_pending:
                data = files[file_name]
                assert data is not None
                self._private_pending[identity] = _PrivateKeyAt(data, number, source, identity)
            self._private_source.setdefault(identity, source)
        for source, point in unbound:
            key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), point)
            self.unbound_public_keys.append((source, key))
        self.rejected.extend(SkippedSource(source, reason) for source, reason in rejected)
        self.notes.extend(SkippedSource(source, reason) for source, reason in notes)
        self._lookup_cache = {}

    def _load_json(self, path: Path) -> None:
        import json  # here: a DCC Boxed keystore only, not every check's start-up

        try:
            document = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise KeystoreError(LAYER, f"{path.name}: not a JSON keystore: {exc}") from None
        if not isinstance(document, dict):
            raise KeystoreError(LAYER, f"{path.name}: a JSON keystore is an object keyed by EUI")
        for eui, usages in document.items():
            if not isinstance(usages, dict):
                self.rejected.append(SkippedSource(f"{path.name}:{eui}", "not an object"))
                continue
            for usage_name, serials in usages.items():
                if not isinstance(serials, dict):
                    self.rejected.append(
                        SkippedSource(f"{path.name}:{eui}/{usage_name}", "not an object")
                    )
                    continue
                for serial, item in serials.items():
                    where = f"{path.name}:{eui}/{usage_name}/{serial}"
                    if not isinstance(item, dict):
                        self.rejected.append(SkippedSource(where, "not an object"))
                        continue
                    name = item.get("name")
                    label = f"{path.name}:{name}" if name else where
                    role = item.get("role") if isinstance(item.get("role"), int) else None
                    if isinstance(item.get("certificate"), str):
                        self.add_pem(item["certificate"].encode(), label, declared_role=role)
                    if isinstance(item.get("privateKey"), str):
                        self.add_pem(item["privateKey"].encode(), label)
                    usage = _JSON_USAGES.get(usage_name)
                    if isinstance(item.get("publicKey"), str) and usage is not None:
                        try:
                            bind = (as_eui(eui), usage)
                        except KeystoreError as exc:
                            self.rejected.append(SkippedSource(where, exc.detail))
                            continue
                        self.add_pem(item["publicKey"].encode(), label, role, bind)

    def add_pem(
        self,
        block: bytes,
        source: str,
        declared_role: int | None = None,
        bind: tuple[bytes, str] | None = None,
    ) -> None:
        """Add one PEM block (certificate, private key or bare public key); `bind` gives a
        bare public key its (EUI, usage), which nothing inside it says.

        Warnings `cryptography` raises about odd encodings (such as the MDR certificates'
        signature-algorithm parameters, which older versions accept with a deprecation
        warning and newer ones refuse) are recorded in `notes`, never raised.
        """
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            self._add_pem(block, source, declared_role, bind)
        for warning in caught:
            if issubclass(warning.category, ResourceWarning):
                # a finaliser's (an unclosed file somewhere else, collected meanwhile): never
                # about this block, so passed on as it was raised, not noted against `source`
                warnings.warn_explicit(
                    warning.message, warning.category, warning.filename, warning.lineno
                )
                continue
            self.notes.append(
                SkippedSource(source, f"{warning.category.__name__}: {warning.message}")
            )

    def _add_pem(
        self,
        block: bytes,
        source: str,
        declared_role: int | None,
        bind: tuple[bytes, str] | None,
    ) -> None:
        from cryptography import x509  # a tenth of a check's start: only when parsing PEM
        from cryptography.hazmat.primitives import serialization

        match = _PEM_BLOCK.search(block)
        kind = match.group(1).decode() if match else ""
        try:
            if kind == "CERTIFICATE":
                certificate = x509.load_pem_x509_certificate(block)
            elif kind.endswith("PRIVATE KEY"):
                self.add_private_key(serialization.load_pem_private_key(block, None), source)
                return
            elif kind == "PUBLIC KEY":
                public_key = serialization.load_pem_public_key(block)
                if not isinstance(public_key, ec.EllipticCurvePublicKey) or not _p256(public_key):
                    self.rejected.append(SkippedSource(source, "public key is not on P-256"))
                elif bind is not None:
                    self.add_public_key(bind[0], bind[1], public_key, declared_role, source)
                else:
                    self.unbound_public_keys.append((source, public_key))
                return
            else:
                self.rejected.append(SkippedSource(source, f"unsupported PEM block {kind!r}"))
                return
        except (ValueError, TypeError, KeystoreError) as exc:
            self.rejected.append(SkippedSource(source, f"cannot parse {kind or 'PEM'}: {exc}"))
            return
        self.add_certificate(certificate, source, declared_role)

    def add_private_key(self, private_key: PrivateKeyTypes, source: str) -> None:
        """Keep a private key; it serves whichever certificate has its public key."""
        if not isinstance(private_key, ec.EllipticCurvePrivateKey) or not _p256(private_key):
            raise KeystoreError(LAYER, f"{source}: private key is not a P-256 EC key")
        identity = key_id(private_key.public_key())
        if identity not in self._private_pending:  # the first key of an identity serves it
            self._private.setdefault(identity, private_key)
        self._private_source.setdefault(identity, source)
        self._lookup_cache = {}

    def _private_for(self, identity: bytes) -> ec.EllipticCurvePrivateKey | None:
        """The private key of a key identity, parsed now if the cache only said where it is."""
        private = self._private.get(identity)
        if private is None and identity in self._private_pending:
            private = self._private_pending.pop(identity)()
            self._private[identity] = private
        return private

    def add_certificate(
        self, certificate: x509.Certificate, source: str, declared_role: int | None = None
    ) -> None:
        """Index a certificate by the EUI, usage and role written inside it."""
        from cryptography import x509

        try:
            public_key = certificate.public_key()
            if not _p256(public_key):
                raise _Reject("public key is not on P-256")
            eui, role, is_device = _identity(certificate)
            if role is None and not is_device:
                role = declared_role
            usages = _usages(certificate)
            serial = certificate.serial_number
            not_before = certificate.not_valid_before_utc
            not_after = certificate.not_valid_after_utc
            name = _common_name(certificate)
        except _Reject as exc:
            self.rejected.append(SkippedSource(source, str(exc)))
            return
        except (ValueError, TypeError, x509.ExtensionNotFound) as exc:
            self.rejected.append(SkippedSource(source, f"unusable certificate: {exc}"))
            return
        identity = key_id(public_key)
        for usage in usages:
            self._add(
                KeyEntry(
                    eui,
                    usage,
                    role,
                    identity,
                    not_before,
                    not_after,
                    source,
                    serial,
                    name,
                    public_key,
                    certificate,
                )
            )

    def add_key_pair(
        self,
        eui: bytes | str,
        usage: str,
        private_key: ec.EllipticCurvePrivateKey,
        role: int | None = None,
        name: str | None = None,
    ) -> KeyEntry:
        """Register a key pair with no certificate (emulated devices, tests); always valid."""
        self.add_private_key(private_key, name or "added")
        return self.add_public_key(eui, usage, private_key.public_key(), role, name)

    def add_public_key(
        self,
        eui: bytes | str,
        usage: str,
        public_key: ec.EllipticCurvePublicKey,
        role: int | None = None,
        name: str | None = None,
    ) -> KeyEntry:
        """Register a bare public key for an EUI (no certificate, so no validity limits)."""
        if usage not in USAGES:
            raise KeystoreError(LAYER, f"usage must be DS or KA, not {usage!r}")
        if not isinstance(public_key, ec.EllipticCurvePublicKey) or not _p256(public_key):
            raise KeystoreError(LAYER, "public key is not a P-256 EC key")
        entry = KeyEntry(
            as_eui(eui),
            usage,
            role,
            key_id(public_key),
            None,
            None,
            name or "added",
            None,
            name,
            public_key,
        )
        self._add(entry)
        return entry

    def _add(self, entry: KeyEntry) -> None:
        marker = (entry.eui, entry.usage, entry.key_id, entry.serial)
        if marker in self._seen:
            return
        self._seen.add(marker)
        self._entries.setdefault((entry.eui, entry.usage), []).append(entry)
        self._lookup_cache = {}

    # --- lookups ------------------------------------------------------------------------
    def euis(self) -> list[bytes]:
        return sorted({eui for eui, _ in self._entries})

    def __len__(self) -> int:
        return sum(len(entries) for entries in self._entries.values())

    def entries(self, eui: bytes | str, usage: str, *, valid_only: bool = True) -> list[KeyEntry]:
        """Every GBCS key of a kind for an EUI (XML-signing ones left out); may be empty."""
        eui = as_eui(eui)
        found = self._entries.get((eui, usage), ())
        if not valid_only or not self.check_validity:
            return [e for e in found if e.role not in XML_SIGNING_ROLES]
        cache_key = ("entries", eui, usage)
        cached: list[KeyEntry] | None = (
            self._lookup_cache.get(cache_key) if self._clock is not None else None
        )
        if cached is None:
            when = self.now()
            cached = [e for e in found if e.role not in XML_SIGNING_ROLES and e.valid_at(when)]
            if self._clock is not None:  # with a pinned clock validity cannot change
                self._lookup_cache[cache_key] = cached
        return list(cached)

    def all_entries(self) -> list[KeyEntry]:
        """Every certificate entry held, XML-signing ones included, whatever its validity
        (for a repository that lists them all, such as the SMKI emulator)."""
        return [entry for entries in self._entries.values() for entry in entries]

    def xml_signing_entries(self, eui: bytes | str) -> list[KeyEntry]:
        """DUIS XMLDSig certificates (roles 135/137), valid at the clock."""
        when = self.now()
        found = self._entries.get((as_eui(eui), DS), ())
        return [
            e
            for e in found
            if e.role in XML_SIGNING_ROLES and (not self.check_validity or e.valid_at(when))
        ]

    def public_keys(self, eui: bytes | str, usage: str) -> list[KeyEntry]:
        """The valid keys of a kind for an EUI; KeyMissing when there is none."""
        eui = as_eui(eui)
        found = self.entries(eui, usage)
        if found:
            return found
        problem = self.validity_problem(eui, usage)
        if problem is not None:
            raise _missing(problem[1], eui, f"{usage} public key", problem[0])
        raise _missing(f"no {usage} certificate for {_eui_text(eui)}", eui, f"{usage} public key")

    def ds_public_keys(self, eui: bytes | str) -> list[KeyEntry]:
        """Digital-signature keys of an EUI valid at the clock (several are possible)."""
        return self.public_keys(eui, DS)

    def ka_public_keys(self, eui: bytes | str) -> list[KeyEntry]:
        """Key-agreement keys of an EUI valid at the clock (e.g. a Supplier's KA and PP-KA)."""
        return self.public_keys(eui, KA)

    def private_key_of(self, entry: KeyEntry) -> ec.EllipticCurvePrivateKey | None:
        return self._private_for(entry.key_id)

    def key_pairs(
        self, eui: bytes | str, usage: str
    ) -> list[tuple[KeyEntry, ec.EllipticCurvePrivateKey]]:
        """Valid entries of a kind whose private key is held, each with that key."""
        pairs: list[tuple[KeyEntry, ec.EllipticCurvePrivateKey]] = []
        for entry in self.entries(eui, usage):
            private = self._private_for(entry.key_id)
            if private is not None:
                pairs.append((entry, private))
        return pairs

    def ka_pairings(
        self, first: bytes | str, second: bytes | str
    ) -> tuple[list[Pairing], list[str]]:
        """Every usable ECDH pairing of two EUIs' KA keys, either way round (ECDH is
        symmetric, so whichever side's private key is held will do): a list of
        (private key, its entry, the peer's entry), and what is missing when it is empty."""
        first, second = as_eui(first), as_eui(second)
        cache_key = ("pairings", first, second)
        # kept while nothing can change them: a pinned clock, or validity not judged
        static = self._clock is not None or not self.check_validity
        cached: tuple[list[Pairing], list[str]] | None = (
            self._lookup_cache.get(cache_key) if static else None
        )
        if cached is not None:
            return cached
        pairings: list[Pairing] = []
        missing: list[str] = []
        for own, peer in ((first, second), (second, first)):
            pairs = self.key_pairs(own, KA)
            peers = self.entries(peer, KA)
            if not pairs:
                missing.append(f"KA private key of {_eui_text(own)}")
            if not peers:
                missing.append(f"KA certificate of {_eui_text(peer)}")
            for entry, private in pairs:
                for peer_entry in peers:
                    pairings.append((private, entry, peer_entry))
        result = (pairings, [] if pairings else missing)
        if static:
            self._lookup_cache[cache_key] = result
        return result

    def private_key(self, eui: bytes | str, usage: str) -> ec.EllipticCurvePrivateKey:
        """The private key of the first valid certificate of a kind; KeyMissing if not held."""
        eui = as_eui(eui)
        pairs = self.key_pairs(eui, usage)
        if pairs:
            return pairs[0][1]
        self.public_keys(eui, usage)  # raises when the certificate itself is missing or expired
        raise _missing(
            f"no {usage} private key held for {_eui_text(eui)}", eui, f"{usage} private key"
        )

    def ds_private_key(self, eui: bytes | str) -> ec.EllipticCurvePrivateKey:
        return self.private_key(eui, DS)

    def ka_private_key(self, eui: bytes | str) -> ec.EllipticCurvePrivateKey:
        return self.private_key(eui, KA)

    def role(self, eui: bytes | str) -> int | None:
        """The remote-party role of an EUI (a Role when known), None for a device.

        XML-signing roles count only when the EUI has no other certificate.
        """
        eui = as_eui(eui)
        cache_key = ("role", eui)
        if cache_key in self._lookup_cache:
            cached: int | None = self._lookup_cache[cache_key]
            return cached
        found = [e for usage in USAGES for e in self._entries.get((eui, usage), ())]
        if not found:
            raise _missing(f"no certificate for {_eui_text(eui)}", eui, "role")
        roles = [e.role for e in found if e.role not in XML_SIGNING_ROLES] or [
            e.role for e in found
        ]
        role = roles[0]
        if role is not None and role in Role._value2member_map_:
            role = Role(role)
        self._lookup_cache[cache_key] = role
        return role

    # --- anchors and validity ------------------------------------------------------------
    def add_anchor(self, role: int, eui: bytes | str) -> None:
        """Name an anchor identity (e.g. the Access Control Broker) whatever the certificates
        say; anchors added this way come before those found by role."""
        eui = as_eui(eui)
        found = self._anchors.setdefault(int(role), [])
        if eui not in found:
            found.append(eui)
        self._lookup_cache = {}

    def anchors(self, role: int) -> list[bytes]:
        """The EUIs holding a role: those added with add_anchor, else every EUI with a GBCS
        certificate (or declared role) of that role, in EUI order."""
        added = self._anchors.get(int(role))
        if added:
            return list(added)
        cache_key = ("anchors", str(int(role)))
        cached: list[bytes] | None = self._lookup_cache.get(cache_key)
        if cached is None:  # a walk over every entry: once per change, not once per message
            cached = sorted(
                {
                    eui
                    for (eui, _), entries in self._entries.items()
                    if any(e.role == role for e in entries)
                }
            )
            self._lookup_cache[cache_key] = cached
        return list(cached)

    def validity_problem(self, eui: bytes | str, usage: str) -> tuple[str, str] | None:
        """(cause, text) when an EUI holds keys of a kind but none valid at the clock:
        EXPIRED or NOT_YET_VALID, said with the dates; None when a valid key exists or none
        is held at all."""
        eui = as_eui(eui)
        if not self.check_validity or self.entries(eui, usage):
            return None
        every = self.entries(eui, usage, valid_only=False)
        if not every:
            return None
        when = self.now()
        early = [e for e in every if e.not_before is not None and when < e.not_before]
        what = f"{len(every)} {usage} certificate(s) of {_eui_text(eui)}, none valid at "
        what += when.isoformat()
        if len(early) == len(every):
            first = min(e.not_before for e in early if e.not_before is not None)
            return NOT_YET_VALID, f"{what}: not valid before {first.isoformat()}"
        last = max(e.not_after for e in every if e.not_after is not None)
        return EXPIRED, f"{what}: expired {last.isoformat()}"

    @property
    def unbound_private_keys(self) -> list[str]:
        """Sources of private keys that match no certificate or added public key."""
        bound = {e.key_id for entries in self._entries.values() for e in entries}
        return sorted(src for kid, src in self._private_source.items() if kid not in bound)


class _Reject(Exception):
    pass


# what the keystore cache's entries are made of: a change to this module makes new ones
_CACHE_VERSION = sha256(f"keystore 1\0{ENTRY_FORMAT}\0".encode() + Path(__file__).read_bytes())


def _parsed_state(files: dict[str, bytes | None]) -> tuple[Any, ...]:
    """A folder's files parsed as `load` parses them, as built-in values for the cache:
    (entries, private keys by place, unbound public keys, rejections, notes)."""
    from cryptography.hazmat.primitives import serialization

    fresh = Keystore(check_validity=False)
    for name, data in files.items():
        assert data is not None
        fresh._load_pem_bytes(name, data)
    entries = []
    for found in fresh._entries.values():
        for e in found:
            certificate = e.certificate
            der = None
            if certificate is not None:
                der = certificate.public_bytes(serialization.Encoding.DER)
            entries.append(
                (
                    e.eui,
                    e.usage,
                    None if e.role is None else int(e.role),
                    e.key_id,
                    None if e.not_before is None else e.not_before.timestamp(),
                    None if e.not_after is None else e.not_after.timestamp(),
                    e.source,
                    e.serial,
                    e.name,
                    der,
                )
            )
    private = []
    for identity, source in fresh._private_source.items():
        file_name, number = _block_place(source)
        private.append((identity, source, file_name, number))
    unbound = [(source, key_id(key)) for source, key in fresh.unbound_public_keys]
    rejected = [(r.source, r.reason) for r in fresh.rejected]
    notes = [(n.source, n.reason) for n in fresh.notes]
    return (entries, private, unbound, rejected, notes)


def _block_place(label: str) -> tuple[str, int]:
    """(file name, PEM block number) from a PEM file's label: `name` or `name[N]`."""
    found = re.fullmatch(r"(.*)\[(\d+)\]", label)
    return (found[1], int(found[2])) if found else (label, 0)


def _replayable(state: object) -> bool:
    """A cache entry's outline is what `_replay` reads (its digest already held)."""
    return (
        isinstance(state, tuple)
        and len(state) == 5
        and all(isinstance(part, list) for part in state)
    )


class _PrivateKeyAt(FrozenRecord):
    """A private key known by the file bytes and PEM block that hold it, parsed on call."""

    FIELDS = ("data", "number", "source", "identity")
    data: bytes
    number: int
    source: str
    identity: bytes  # the key's public point, as the cache recorded it

    def __init__(self, data: bytes, number: int, source: str, identity: bytes) -> None:
        vars(self).update(data=data, number=number, source=source, identity=identity)

    def __call__(self) -> ec.EllipticCurvePrivateKey:
        blocks = list(_PEM_BLOCK.finditer(self.data))
        block = blocks[self.number].group(0)
        scalar = _p256_private_scalar(block)
        if scalar is not None:
            # from the scalar, without cryptography's serialization module (~5 ms of
            # imports in every checking process), and only if it is the key the cache saw
            try:
                derived = ec.derive_private_key(scalar, ec.SECP256R1())
            except ValueError:  # out of range: the loader says why
                pass
            else:
                if _point(derived.public_key()) == self.identity:
                    return derived
        from cryptography.hazmat.primitives import serialization

        key = serialization.load_pem_private_key(block, None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or not _p256(key):
            raise KeystoreError(LAYER, f"{self.source}: private key is not a P-256 EC key")
        return key


# the DER values of id-ecPublicKey (1.2.840.10045.2.1) and prime256v1 (1.2.840.10045.3.1.7)
_EC_PUBLIC_KEY_OID = bytes.fromhex("2a8648ce3d0201")
_P256_OID = bytes.fromhex("2a8648ce3d030107")


def _p256_private_scalar(block: bytes) -> int | None:
    """The private scalar of an unencrypted P-256 key in a PEM block (PKCS #8 `PRIVATE KEY`
    or SEC 1 `EC PRIVATE KEY`, RFC 5915), or None for anything else, which
    cryptography's loader then reads (and refuses) as it always has."""
    lines = block.splitlines()
    label = lines[0].strip()
    try:
        tree = decode_tree(base64.b64decode(b"".join(lines[1:-1]), validate=True))
        if label == b"-----BEGIN PRIVATE KEY-----":
            version, algorithm, wrapped = tree["children"][:3]
            if version["value"] != b"\x00" or [
                child["value"] for child in algorithm["children"]
            ] != [_EC_PUBLIC_KEY_OID, _P256_OID]:
                return None
            tree = decode_tree(wrapped["value"])
        elif label != b"-----BEGIN EC PRIVATE KEY-----":
            return None
        version, secret, *rest = tree["children"]
        for field in rest:  # [0] parameters: the curve, when given, must be P-256
            if field["tag_class"] == "context" and field["tag_number"] == 0:
                if [child["value"] for child in field["children"]] != [_P256_OID]:
                    return None
        if version["value"] != b"\x01" or len(secret["value"]) != 32:
            return None
        return int.from_bytes(secret["value"], "big")
    except (GbcsError, binascii.Error, KeyError, TypeError, ValueError):
        return None


def _point(key: ec.EllipticCurvePublicKey) -> bytes:
    """key_id's uncompressed point, from the key's numbers (no serialization import)."""
    numbers = key.public_numbers()
    return b"\x04" + numbers.x.to_bytes(32, "big") + numbers.y.to_bytes(32, "big")


def _p256(key: object) -> TypeIs[ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey]:
    return isinstance(key, ec.EllipticCurvePublicKey | ec.EllipticCurvePrivateKey) and (
        key.curve.name == "secp256r1"
    )


def _identity(certificate: x509.Certificate) -> tuple[bytes, int | None, bool]:
    """(EUI, role, is a device) from inside a certificate: organisation subject, else SAN."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    unique = certificate.subject.get_attributes_for_oid(NameOID.X500_UNIQUE_IDENTIFIER)
    if unique:
        value = unique[0].value
        raw = value if isinstance(value, bytes) else value.encode()
        # BIT STRING content: an unused-bits byte (00) and then the EUI
        eui = raw[1:] if len(raw) == 9 and raw[0] == 0 else raw
        if len(eui) != 8:
            raise _Reject(f"x500UniqueIdentifier holds {len(raw)} bytes, not an EUI-64")
        return eui, _role_from_ou(certificate), False
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        raise _Reject("no identity: neither x500UniqueIdentifier nor a SAN") from None
    for name in san.value.get_values_for_type(x509.OtherName):
        if name.type_id.dotted_string == HARDWARE_MODULE_NAME:
            serial = _hardware_serial(name.value)
            if serial is not None:
                return serial, None, True
    raise _Reject("no identity: SAN has no hardwareModuleName with an 8-byte hwSerialNum")


def _role_from_ou(certificate: x509.Certificate) -> int | None:
    from cryptography.x509.oid import NameOID

    units = certificate.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)
    if not units:
        return None
    text = str(units[0].value)
    if len(text) != 2:
        raise _Reject(f"OU {text!r} is not a role as two hex digits")
    try:
        return int(text, 16)
    except ValueError:
        raise _Reject(f"OU {text!r} is not a role as two hex digits") from None


def _der_item(data: bytes, pos: int) -> tuple[int, int, int]:
    """(tag, start of value, end of value) of the DER item at pos; ValueError if cut short."""
    tag = data[pos]
    first = data[pos + 1]
    pos += 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 2:
            raise ValueError("unsupported DER length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > len(data):
        raise ValueError("DER item runs past its container")
    return tag, pos, pos + length


def _hardware_serial(value: bytes) -> bytes | None:
    """hwSerialNum from HardwareModuleName ::= SEQUENCE { hwType OID, hwSerialNum OCTET STRING }."""
    try:
        tag, start, end = _der_item(value, 0)
        if tag != 0x30:
            return None
        tag, _, after_oid = _der_item(value, start)
        if tag != 0x06:
            return None
        tag, serial_start, serial_end = _der_item(value, after_oid)
    except (ValueError, IndexError):
        return None
    serial = value[serial_start:serial_end]
    return serial if tag == 0x04 and len(serial) == 8 else None


def _usages(certificate: x509.Certificate) -> list[str]:
    from cryptography import x509

    try:
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage).value
    except x509.ExtensionNotFound:
        raise _Reject("no key usage extension") from None
    found = []
    if usage.digital_signature:
        found.append(DS)
    if usage.key_agreement:
        found.append(KA)
    if not found:
        raise _Reject("key usage has neither digitalSignature nor keyAgreement")
    return found


def _common_name(certificate: x509.Certificate) -> str | None:
    from cryptography.x509.oid import NameOID

    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else None


def _bound_by_name(name: str) -> tuple[bytes, str] | None:
    """(EUI, usage) that a key file's name gives it, if it follows <eui>[-pp]-ds|ka.pem."""
    match = _KEY_FILE_NAME.match(name)
    if match is None:
        return None
    return bytes.fromhex(match.group(1)), match.group(2).upper()


def load(*paths: str | Path, clock: _dt.datetime | None = None) -> Keystore:
    """Shorthand for Keystore.open."""
    return Keystore.open(*paths, clock=clock)


__all__ = [
    "DS",
    "EXPIRED",
    "KA",
    "NOT_YET_VALID",
    "NO_KEY",
    "KeyEntry",
    "Keystore",
    "SkippedSource",
    "Role",
    "as_eui",
    "key_id",
    "load",
]
