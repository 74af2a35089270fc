"""Generated devices: the test PKI kept in the repository, premises populated in bulk, and
day-by-day churn (joins, status changes, revocations) for extracts to report."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from cryptography.hazmat.primitives import serialization

from .records import DCA, DEVICE, IN_USE, NOT_IN_USE, REVOKED, ROOT, Record, epoch
from .store import Repository
from .testpki import DCA_EUI, ROOT_EUI, TestPki, device_eui

# Parties whose premises generated devices are spread over: ten Suppliers, six DNOs
# (made-up EUIs under the test prefix, plus the RTDS Supplier and Network Operator).
SUPPLIERS = [bytes.fromhex("90B3D51F30010000")] + [
    bytes.fromhex(f"90B3D51F3001{n:02X}00") for n in range(1, 10)
]
NETWORK_OPERATORS = [bytes.fromhex("90B3D51F30020000")] + [
    bytes.fromhex(f"90B3D51F3002{n:02X}00") for n in range(1, 6)
]
_PKI_KEYS = ("root_key", "root_cert", "dca_key", "dca_cert", "seed")


def load_test_pki(repo: Repository, now: dt.datetime) -> TestPki:
    """The repository's test PKI, created (and its CA certificates lodged) on first use."""
    blobs = {key: repo.get_meta(f"pki.{key}") for key in _PKI_KEYS}
    if all(value is not None for value in blobs.values()):
        return TestPki.from_blobs(blobs)
    pki = TestPki.create(now)
    for key, value in pki.to_blobs().items():
        repo.set_meta(f"pki.{key}", value)
    at = max(epoch(now), repo.last_change_at() or 0)
    for kind, eui, role, cert in (
        (ROOT, ROOT_EUI, 0, pki.root_cert),
        (DCA, DCA_EUI, 7, pki.dca_cert),
    ):
        repo.add(
            Record(
                serial=cert.serial_number,
                kind=kind,
                eui=eui,
                role=role,
                usage="DS",
                status=IN_USE,
                manufacturing=False,
                body=cert.public_bytes(serialization.Encoding.DER),
                party=eui,
            ),
            at,
            source="test-pki",
        )
    return pki


@dataclass
class GeneratedPremises:
    """Where a generated device is: its Supplier and its Network Operator."""

    supplier: bytes
    network_operator: bytes


def premises_of(number: int) -> GeneratedPremises:
    """Deterministic spread of device number -> parties (two devices per premises)."""
    home = number // 2
    return GeneratedPremises(
        SUPPLIERS[home % len(SUPPLIERS)], NETWORK_OPERATORS[(home // 7) % len(NETWORK_OPERATORS)]
    )


def device_records(pki: TestPki, first: int, count: int, when: dt.datetime) -> Iterator[Record]:
    """DS and KA certificates of `count` generated devices numbered from `first`."""
    issued = epoch(when)
    for number in range(first, first + count):
        eui = device_eui(number)
        where = premises_of(number)
        for usage in ("DS", "KA"):
            serial, body = pki.issue_device(eui, usage, when)
            yield Record(
                serial=serial,
                kind=DEVICE,
                eui=eui,
                role=None,
                usage=usage,
                status=IN_USE,
                manufacturing=False,
                body=body,
                party=where.supplier,
                network_party=where.network_operator,
                issued_at=issued,
            )


def next_device_number(repo: Repository) -> int:
    return int(repo.get_meta("generated_devices", 0) or 0)


def populate(
    repo: Repository,
    devices: int,
    now: dt.datetime,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Grow the repository by `devices` generated devices (2 certificates each)."""
    pki = load_test_pki(repo, now)
    first = next_device_number(repo)
    at = max(epoch(now), repo.last_change_at() or 0)
    total = devices * 2
    added = repo.add_many(
        device_records(pki, first, devices, now),
        at,
        source="generated",
        progress=(lambda done: progress(done, total)) if progress else None,
    )
    repo.set_meta("generated_devices", first + devices)
    return added


@dataclass
class DayOfChanges:
    joined: int
    left: int
    revoked: int


def churn_day(
    repo: Repository,
    rng: random.Random,
    now: dt.datetime,
    joins: int,
    leaves: int,
    revocations: int,
) -> DayOfChanges:
    """One simulated day: `joins` new devices get certificates, `leaves` devices' in-use
    certificates become not in use, `revocations` in-use device certificates are revoked."""
    at = epoch(now)
    if joins:
        pki = load_test_pki(repo, now)
        first = next_device_number(repo)
        repo.add_many(device_records(pki, first, joins, now), at, source="generated")
        repo.set_meta("generated_devices", first + joins)
    candidates = repo.serials(kind=DEVICE, status=IN_USE)
    picked = rng.sample(candidates, min(len(candidates), leaves + revocations))
    repo.set_statuses(picked[:leaves], NOT_IN_USE, at)
    repo.set_statuses(picked[leaves:], REVOKED, at)
    return DayOfChanges(joins, len(picked[:leaves]), len(picked[leaves:]))
