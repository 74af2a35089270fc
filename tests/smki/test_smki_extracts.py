"""Extracts and the sync client: a week of changes gives one full and seven increments,
restoring from them equals the live repository, and a missing, reordered, tampered or cut
increment is refused by name with the local copy left as it was."""

from __future__ import annotations

import datetime as dt
import gzip
import json
import random
import shutil
from dataclasses import replace

import pytest
from lxml import etree
from smki_helpers import DCCBOXED, RTDS_KEYS, START

from emulator.smki.errors import ExtractError, SyncError
from emulator.smki.extracts import DELTA, FULL, SCHEMA_FILE, read_manifest, write_extract
from emulator.smki.population import (
    NETWORK_OPERATORS,
    SUPPLIERS,
    churn_day,
    device_records,
    load_test_pki,
    populate,
)
from emulator.smki.records import DEVICE, IN_USE, PENDING, REVOKED, epoch, serial_text
from emulator.smki.sources import load_keystores
from emulator.smki.store import Repository
from emulator.smki.sync import sync

DAY = dt.timedelta(days=1)
PARTY = SUPPLIERS[3]


class Week:
    """A repository, its extracts directory, and what changed on each day."""

    def __init__(self, root):
        self.root = root
        self.repo = Repository(root / "repository.db")
        self.out = root / "extracts"
        load_keystores(self.repo, [RTDS_KEYS, DCCBOXED], START)
        populate(self.repo, 60, START)
        self.full_count = self.repo.count(IN_USE)
        self.full = write_extract(self.repo, self.out, FULL, START)
        self.party_full = write_extract(self.repo, self.out, FULL, START, party=PARTY)
        self.changed: list[set[str]] = []
        rng = random.Random(147)
        for day in range(1, 8):
            before = dict((row[0], row[5]) for row in self.repo.view_rows())
            churn_day(self.repo, rng, START + day * DAY - dt.timedelta(hours=5), 3, 2, 1)
            if day == 2:  # a device certificate lodged as pending ...
                pki = load_test_pki(self.repo, START)
                pending = next(device_records(pki, 10**6, 1, START + day * DAY))
                self.pending = pending.serial
                self.repo.add(replace(pending, status=PENDING), epoch(START + day * DAY))
            if day == 3:  # ... comes into use the next day
                self.repo.set_status(self.pending, IN_USE, epoch(START + day * DAY))
            if day == 4:  # an organisation certificate is revoked too
                organisation = self.repo.serials(kind="organisation", status=IN_USE)[0]
                self.repo.set_status(organisation, REVOKED, epoch(START + day * DAY))
            after = dict((row[0], row[5]) for row in self.repo.view_rows())
            self.changed.append({s for s in after if before.get(s) != after[s]})
            write_extract(self.repo, self.out, DELTA, START + day * DAY)
            write_extract(self.repo, self.out, DELTA, START + day * DAY, party=PARTY)
        self.entries = read_manifest(self.out, None)


@pytest.fixture(scope="module")
def week(tmp_path_factory) -> Week:
    built = Week(tmp_path_factory.mktemp("week"))
    yield built
    built.repo.close()


@pytest.fixture
def copy(week, tmp_path):
    """A private copy of the week's extracts, free to damage."""
    target = tmp_path / "extracts"
    shutil.copytree(week.out, target)
    return target


def views(repo: Repository, in_use_only: bool = False) -> list[tuple]:
    return [tuple(row) for row in repo.view_rows(in_use_only=in_use_only)]


def assert_copy_equals_live(local: Repository, live: Repository) -> None:
    assert views(local, True) == views(live, True)
    everything = {row[0]: row for row in views(live)}
    held = views(local)
    assert held and all(everything[row[0]] == row for row in held)


def test_a_week_gives_one_full_and_seven_increments(week):
    kinds = [(e.type, e.sequence) for e in week.entries]
    assert kinds == [(FULL, 1)] + [(DELTA, n) for n in range(2, 9)]
    names = [e.file for e in week.entries]
    assert names[0] == "SMKIKR_FULL_2026-11-23.xml.gz"
    assert names[1:] == [f"SMKIKR_DELT_2026-11-{day:02d}.xml.gz" for day in range(24, 31)]
    assert all((week.out / name).is_file() for name in names)
    assert week.entries[0].records == week.full_count > 100
    for entry, changed in zip(week.entries[1:], week.changed, strict=True):
        assert entry.records == len(changed) >= 9  # 3 joins x 2 certificates + 3 changes


def test_each_increment_holds_exactly_that_days_changes(week):
    for entry, changed in zip(week.entries[1:], week.changed, strict=True):
        with gzip.open(week.out / entry.file) as stream:
            root = etree.parse(stream).getroot()
        serials = {r.findtext("CertificateSerial") for r in root.iter("CertificateResponse")}
        assert serials == changed
        assert root.get("PeriodStart") < root.get("PeriodEnd")
        assert root.findtext("RecordCount") == str(len(changed))


def test_pending_then_in_use_shows_in_both_increments(week):
    statuses = []
    for entry in week.entries[2:4]:
        with gzip.open(week.out / entry.file) as stream:
            root = etree.parse(stream).getroot()
        for record in root.iter("CertificateResponse"):
            if record.findtext("CertificateSerial") == serial_text(week.pending):
                statuses.append(record.findtext("CertificateStatus"))
    assert statuses == [PENDING, IN_USE]


def test_extracts_validate_against_the_schema(week):
    schema = etree.XMLSchema(etree.parse(str(SCHEMA_FILE)))
    for entry in read_manifest(week.out, None) + read_manifest(week.out, PARTY):
        with gzip.open(week.out / entry.file) as stream:
            document = etree.parse(stream)
        assert schema.validate(document), (entry.file, schema.error_log)
    broken = etree.fromstring(b'<SMKIRepositoryExtract Type="X" Sequence="1" PeriodEnd="x"/>')
    assert not schema.validate(broken)


def test_restore_from_full_and_increments_equals_the_live_repository(week, copy, tmp_path):
    with Repository(tmp_path / "copy.db") as local:
        report = sync(local, copy)
        assert report.restored_from_full
        assert report.applied == [e.file for e in week.entries]
        assert_copy_equals_live(local, week.repo)
        statuses = {row[5] for row in views(local)}
        assert {"I", "N", "R"} <= statuses  # changes after the full are kept as such
        assert local.get(serial_text(week.pending)).status == IN_USE


def test_sync_again_applies_only_new_increments(week, copy, tmp_path):
    manifest = copy / "SMKIKR_MANIFEST.json"
    document = json.loads(manifest.read_text())
    whole = dict(document)
    document["extracts"] = document["extracts"][:4]  # the full and three increments
    manifest.write_text(json.dumps(document))
    with Repository(tmp_path / "copy.db") as local:
        first = sync(local, copy)
        assert first.restored_from_full and len(first.applied) == 4
        manifest.write_text(json.dumps(whole))
        second = sync(local, copy)
        assert not second.restored_from_full
        assert second.applied == [e.file for e in week.entries[4:]]
        assert_copy_equals_live(local, week.repo)
        third = sync(local, copy)
        assert third.applied == [] and third.sequence == 8


def refused(copy, tmp_path, match: str) -> SyncError:
    """Sync into a copy that already holds the full; it must refuse and stay unchanged."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    with Repository(tmp_path / "copy.db") as local:
        with pytest.raises(SyncError, match=match) as caught:
            sync(local, copy)
        assert local.count() == 0 and local.get_meta("sync.sequence") is None
    return caught.value


def test_missing_increment_is_refused_by_name(copy, tmp_path):
    (copy / "SMKIKR_DELT_2026-11-26.xml.gz").unlink()
    error = refused(copy, tmp_path, "SMKIKR_DELT_2026-11-26.xml.gz")
    assert "missing" in str(error) and error.file == "SMKIKR_DELT_2026-11-26.xml.gz"


def test_gap_in_the_manifest_is_refused(copy, tmp_path):
    manifest = copy / "SMKIKR_MANIFEST.json"
    document = json.loads(manifest.read_text())
    del document["extracts"][3]  # sequence 4, 2026-11-26
    manifest.write_text(json.dumps(document))
    (copy / "SMKIKR_DELT_2026-11-26.xml.gz").unlink()
    error = refused(copy, tmp_path, r"increment\(s\) 4..4 are missing")
    assert error.file == "SMKIKR_DELT_2026-11-27.xml.gz"


def test_reordered_increments_are_refused(copy, tmp_path):
    first, second = copy / "SMKIKR_DELT_2026-11-25.xml.gz", copy / "SMKIKR_DELT_2026-11-26.xml.gz"
    swap = copy / "swap"
    first.rename(swap)
    second.rename(first)
    swap.rename(second)
    error = refused(copy, tmp_path, "SMKIKR_DELT_2026-11-25.xml.gz")
    assert "renamed, reordered or altered" in str(error) or "altered" in str(error)


def test_reordered_manifest_is_refused(copy, tmp_path):
    manifest = copy / "SMKIKR_MANIFEST.json"
    document = json.loads(manifest.read_text())
    a, b = document["extracts"][2], document["extracts"][3]
    a["sequence"], b["sequence"] = b["sequence"], a["sequence"]
    manifest.write_text(json.dumps(document))
    error = refused(copy, tmp_path, "out of order")
    assert error.file == "SMKIKR_DELT_2026-11-26.xml.gz"


def test_tampered_increment_is_refused_by_name(copy, tmp_path):
    target = copy / "SMKIKR_DELT_2026-11-28.xml.gz"
    xml = gzip.decompress(target.read_bytes())
    altered = xml.replace(b"<CertificateStatus>R</CertificateStatus>", b"<CertificateStatus>I"
                          b"</CertificateStatus>", 1)  # fmt: skip
    assert altered != xml
    target.write_bytes(gzip.compress(altered))
    error = refused(copy, tmp_path, "SMKIKR_DELT_2026-11-28.xml.gz")
    assert "SHA-256" in str(error)


def test_corrupt_or_cut_increment_is_refused_by_name(copy, tmp_path):
    target = copy / "SMKIKR_DELT_2026-11-27.xml.gz"
    original = target.read_bytes()
    flipped = bytearray(original)
    flipped[len(flipped) // 2] ^= 0xFF
    target.write_bytes(bytes(flipped))
    error = refused(copy, tmp_path / "flipped", "SMKIKR_DELT_2026-11-27.xml.gz")
    assert error.file == target.name
    target.write_bytes(original[:-40])
    error = refused(copy, tmp_path / "cut", "SMKIKR_DELT_2026-11-27.xml.gz")
    assert "truncated" in str(error) or "not well-formed" in str(error)
    assert error.file == target.name


def test_hostile_xml_in_an_extract_is_refused(copy, tmp_path):
    target = copy / "SMKIKR_DELT_2026-11-30.xml.gz"
    target.write_bytes(
        gzip.compress(b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]><r>&x;</r>')
    )
    error = refused(copy, tmp_path, "SMKIKR_DELT_2026-11-30.xml.gz")
    assert "DOCTYPE" in str(error) or "SHA-256" in str(error)


def test_missing_manifest_is_refused(copy, tmp_path):
    (copy / "SMKIKR_MANIFEST.json").unlink()
    refused(copy, tmp_path, "SMKIKR_MANIFEST.json")


def test_party_extract_holds_its_devices_and_every_organisation(week, tmp_path):
    entries = read_manifest(week.out, PARTY)
    assert [e.type for e in entries] == [FULL] + [DELTA] * 7
    assert entries[0].file == f"SMKIKR_FULL_{PARTY.hex().upper()}_2026-11-23.xml.gz"
    parties = {}
    cursor = week.repo._db.execute(
        "SELECT serial, kind, party, network_party, status FROM certificate"
    )
    for serial, kind, party, network_party, status in cursor:
        parties[serial] = (kind, party, network_party, status)
    with Repository(tmp_path / "party.db") as local:
        sync(local, week.out, PARTY)
        held = views(local, True)
        assert held
        for row in held:
            kind, party, network_party, _ = parties[row[0]]
            assert kind != DEVICE or PARTY in (party, network_party)
        expected = [
            row for row in views(week.repo, True)
            if parties[row[0]][0] != DEVICE or PARTY in parties[row[0]][1:3]
        ]  # fmt: skip
        assert held == expected
        assert len(held) < len(views(week.repo, True))


def test_a_network_operators_extract_follows_its_region(week, tmp_path):
    operator = NETWORK_OPERATORS[1]
    out = tmp_path / "dno"
    at = START + 7 * DAY
    entry = write_extract(week.repo, out, FULL, at, party=operator)
    with gzip.open(out / entry.file) as stream:
        root = etree.parse(stream).getroot()
    devices = [
        r
        for r in root.iter("CertificateResponse")
        if r.find("CertificateSubjectAltName") is not None
    ]
    assert devices
    for record in devices:
        row = week.repo.get(record.findtext("CertificateSerial"))
        assert row.network_party == operator and row.status == IN_USE


def test_increments_older_than_seven_days_are_removed(tmp_path):
    with Repository(tmp_path / "r.db") as repo:
        populate(repo, 5, START)
        out = tmp_path / "out"
        write_extract(repo, out, FULL, START)
        rng = random.Random(1)
        for day in range(1, 10):
            churn_day(repo, rng, START + day * DAY - dt.timedelta(hours=1), 1, 0, 0)
            write_extract(repo, out, DELTA, START + day * DAY)
        names = [e.file for e in read_manifest(out, None)]
        assert "SMKIKR_FULL_2026-11-23.xml.gz" in names  # the latest full stays
        assert "SMKIKR_DELT_2026-11-24.xml.gz" not in names
        assert not (out / "SMKIKR_DELT_2026-11-24.xml.gz").exists()
        assert "SMKIKR_DELT_2026-11-25.xml.gz" in names  # published exactly 7 days ago
        # without a new weekly full the chain from the old one is broken: refused
        with Repository(tmp_path / "copy.db") as local:
            with pytest.raises(SyncError, match=r"increment\(s\) 2..2 are missing"):
                sync(local, out)
            write_extract(repo, out, FULL, START + 9 * DAY + dt.timedelta(hours=1))
            sync(local, out)
            assert_copy_equals_live(local, repo)


def test_extract_misuse_is_refused(tmp_path):
    with Repository(tmp_path / "r.db") as repo:
        populate(repo, 2, START)
        out = tmp_path / "out"
        with pytest.raises(ExtractError, match="write a full extract first"):
            write_extract(repo, out, DELTA, START + DAY)
        with pytest.raises(ExtractError, match="cannot be dated in the past"):
            write_extract(repo, out, FULL, START - DAY)
        write_extract(repo, out, FULL, START)
        with pytest.raises(ExtractError, match="already exists"):
            write_extract(repo, out, FULL, START)
        with pytest.raises(ExtractError, match="FULL or DELT"):
            write_extract(repo, out, "WEEK", START + DAY)
