"""Fill a repository from the keystores the emulator knows (RTDS PEM folder, DCC Boxed JSON).

The codec's `Keystore` reads the certificates and finds who each belongs to. A certificate
`cryptography` cannot parse (DCC Boxed's two MDR certificates have a signature-algorithm
encoding it refuses) is still a certificate the real repository would serve, so for the
JSON keystore those are lodged from the JSON's own labels (EUI key, usage, serial, role)
with their bytes untouched.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from gbcs.errors import GbcsError
from gbcs.keystore import KeyEntry, Keystore

from .errors import SmkiError
from .records import DEVICE, EXPIRED, IN_USE, ORGANISATION, PENDING, Record, epoch
from .store import Repository

# RTDS and DCC Boxed devices sit on the premises of the test Supplier and Network Operator.
TEST_SUPPLIER = bytes.fromhex("90B3D51F30010000")
TEST_NETWORK_OPERATOR = bytes.fromhex("90B3D51F30020000")
_PEM_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", re.S)
_USAGE_KEYS = {"digitalSignature": "DS", "keyAgreement": "KA"}


def _every_entry(keystore: Keystore) -> Iterator[KeyEntry]:
    """Every certificate entry, XML-signing ones included, whatever their validity."""
    yield from keystore.all_entries()


def _status(entry: KeyEntry, now: dt.datetime) -> str:
    if entry.not_after is not None and entry.not_after < now:
        return EXPIRED
    if entry.not_before is not None and entry.not_before > now:
        return PENDING
    return IN_USE


def keystore_records(keystore: Keystore, now: dt.datetime) -> Iterator[Record]:
    for entry in _every_entry(keystore):
        if entry.certificate is None or entry.serial is None:  # a certificate has a serial
            continue
        device = entry.role is None
        body = entry.certificate.public_bytes(serialization.Encoding.DER)
        yield Record(
            serial=entry.serial,
            kind=DEVICE if device else ORGANISATION,
            eui=entry.eui,
            role=None if entry.role is None else int(entry.role),
            usage=entry.usage,
            status=_status(entry, now),
            manufacturing=False,
            body=body,
            party=TEST_SUPPLIER if device else entry.eui,
            network_party=TEST_NETWORK_OPERATOR if device else None,
            issued_at=epoch(entry.not_before) if entry.not_before else 0,
        )


def unparsable_json_records(path: Path, held: set[int]) -> Iterator[Record]:
    """JSON-keystore certificates the Keystore could not read, lodged from their labels."""
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise SmkiError(f"{path}: not a JSON keystore: {exc}") from None
    for eui_hex, usages in document.items():
        for usage_key, serials in (usages or {}).items():
            usage = _USAGE_KEYS.get(usage_key)
            if usage is None or not isinstance(serials, dict):
                continue
            for serial_decimal, item in serials.items():
                try:
                    serial = int(serial_decimal)
                    eui = bytes.fromhex(eui_hex)
                except ValueError:
                    continue
                pem = item.get("certificate") if isinstance(item, dict) else None
                role = item.get("role") if isinstance(item, dict) else None
                if serial in held or not isinstance(pem, str) or not isinstance(role, int):
                    continue
                match = _PEM_CERTIFICATE.search(pem)
                if match is None or len(eui) != 8:
                    continue
                yield Record(
                    serial=serial,
                    kind=ORGANISATION,
                    eui=eui,
                    role=role,
                    usage=usage,
                    status=IN_USE,
                    manufacturing=False,
                    body=base64.b64decode("".join(match.group(1).split())),
                    party=eui,
                )


def load_keystores(repo: Repository, paths: list[Path], now: dt.datetime) -> int:
    """Lodge every certificate of these keystores; returns how many were new."""
    try:
        keystore = Keystore.open(*paths, clock=now)
    except GbcsError as exc:
        raise SmkiError(f"keystore: {exc}") from None
    at = epoch(now)
    added = repo.add_many(keystore_records(keystore, now), at, source="keystore")
    held = {entry.serial for entry in _every_entry(keystore) if entry.serial is not None}
    for path in paths:
        if Path(path).suffix.lower() == ".json":
            added += repo.add_many(unparsable_json_records(Path(path), held), at, source="json")
    return added
