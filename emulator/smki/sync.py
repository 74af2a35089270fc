"""The sync client: a party's local copy of the repository, kept from full + increments.

It restores from the latest full extract plus every later increment, in sequence, and
refuses (changing nothing) when the chain is broken: a file listed but missing, a gap in
the sequence, an increment whose period does not start where the previous one ended, a
file whose header disagrees with the manifest (renamed or reordered), or whose SHA-256,
gzip stream, XML or record count is wrong (tampered or cut). Every refusal names the file.

A copy already synchronised within the current chain only applies the increments it has
not seen; anything else (a new full, another stream) restores from scratch. Either way the
work happens in one transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..xml_safety import XmlRejected, iter_elements
from .errors import ExtractError, SmkiError, SyncError
from .extracts import (
    COUNT_TAG,
    DELTA,
    FULL,
    RECORD_TAG,
    ROOT_TAG,
    ManifestEntry,
    manifest_name,
    read_manifest,
    stream_key,
)
from .gzstream import GzipSource
from .records import epoch
from .store import Repository
from .xmlrecords import parse_response_element


@dataclass
class SyncReport:
    restored_from_full: bool
    applied: list[str] = field(default_factory=list)
    records: int = 0
    sequence: int = 0


def plan(directory: Path, party: bytes | None = None) -> list[ManifestEntry]:
    """The latest full extract and its later increments, checked as a chain."""
    directory = Path(directory)
    entries = read_manifest(directory, party, error=SyncError)
    if not entries:
        raise SyncError(f"no manifest ({manifest_name(party)}) or an empty one in {directory}")
    fulls = [e for e in entries if e.type == FULL]
    if not fulls:
        raise SyncError("the manifest lists no full extract to restore from", manifest_name(party))
    full = max(fulls, key=lambda e: e.sequence)
    chain = [full]
    for entry in entries:
        if entry.sequence <= full.sequence:
            continue
        previous = chain[-1]
        if entry.type != DELTA:
            raise SyncError(f"expected an increment after sequence {previous.sequence}", entry.file)
        if entry.sequence != previous.sequence + 1:
            raise SyncError(
                f"sequence {entry.sequence} follows {previous.sequence} ({previous.file}): "
                f"increment(s) {previous.sequence + 1}..{entry.sequence - 1} are missing",
                entry.file,
            )
        if entry.period_start != previous.period_end:
            raise SyncError(
                f"starts at {entry.period_start} but {previous.file} ends at "
                f"{previous.period_end}: increments missing or out of order",
                entry.file,
            )
        chain.append(entry)
    for entry in chain:
        if not (directory / entry.file).is_file():
            raise SyncError("listed in the manifest but missing from the directory", entry.file)
    return chain


def read_extract(path: Path, entry: ManifestEntry) -> Iterator[tuple]:
    """Rows of one extract file, checked against its manifest entry as they stream."""
    source = GzipSource(path)
    count = 0
    try:
        declared = None
        for event, element in iter_elements(source, (RECORD_TAG, COUNT_TAG), what=entry.file):
            if event == "start":
                _check_header(element, entry)
            elif element.tag == RECORD_TAG:
                try:
                    row = parse_response_element(element)
                except SmkiError as exc:
                    raise SyncError(f"record {count + 1}: {exc}", entry.file) from None
                count += 1
                yield row
            else:
                declared = element.text
        if source.sha256 is None:
            source.read()  # reach the end of the gzip stream so its hash is known
        if source.sha256 != entry.sha256:
            raise SyncError("SHA-256 differs from the manifest's: the file was altered", entry.file)
        if declared is None or not declared.strip().isdigit() or int(declared) != count:
            raise SyncError(f"holds {count} records but says {declared!r}", entry.file)
        if count != entry.records:
            raise SyncError(f"holds {count} records, the manifest says {entry.records}", entry.file)
    except XmlRejected as exc:
        raise SyncError(str(exc), entry.file) from None
    except ExtractError as exc:
        if isinstance(exc, SyncError):
            raise
        raise SyncError(exc.reason, exc.file or entry.file) from None
    finally:
        source.close()


def _check_header(root, entry: ManifestEntry) -> None:
    if root.tag != ROOT_TAG:
        raise SyncError(f"root element is {root.tag!r}, not {ROOT_TAG}", entry.file)
    found = {
        "Type": root.get("Type"),
        "Sequence": root.get("Sequence"),
        "PeriodStart": root.get("PeriodStart"),
        "PeriodEnd": root.get("PeriodEnd"),
        "Party": root.get("Party"),
    }
    expected = {
        "Type": entry.type,
        "Sequence": str(entry.sequence),
        "PeriodStart": entry.period_start,
        "PeriodEnd": entry.period_end,
        "Party": entry.party,
    }
    for key, value in expected.items():
        if found[key] != value:
            raise SyncError(
                f"its {key} is {found[key]!r} but the manifest lists {value!r} for it "
                "(renamed, reordered or altered)",
                entry.file,
            )


def sync(
    repo: Repository,
    directory: Path,
    party: bytes | None = None,
    progress: Callable[[str, int], None] | None = None,
) -> SyncReport:
    """Bring the local copy `repo` up to date from the extracts in `directory`."""
    directory = Path(directory)
    chain = plan(directory, party)
    stream = stream_key(party)
    full = chain[0]
    held_stream = repo.get_meta("sync.stream")
    held_full = repo.get_meta("sync.full_sequence")
    held_sequence = int(repo.get_meta("sync.sequence", 0) or 0)
    incremental = (
        held_stream == stream
        and held_full is not None
        and int(held_full) == full.sequence
        and full.sequence <= held_sequence <= chain[-1].sequence
    )
    report = SyncReport(restored_from_full=not incremental)
    todo = [e for e in chain if e.sequence > held_sequence] if incremental else chain
    with repo.transaction():
        if not incremental:
            repo.clear()
        for entry in todo:
            at = epoch(dt.datetime.fromisoformat(entry.period_end.replace("Z", "+00:00")))
            rows = read_extract(directory / entry.file, entry)
            written = repo.replace_views(_counting(rows, entry.file, progress), at)
            report.applied.append(entry.file)
            report.records += written
        report.sequence = chain[-1].sequence
        for key, value in (
            ("sync.stream", stream),
            ("sync.full_sequence", full.sequence),
            ("sync.sequence", chain[-1].sequence),
            ("sync.end", chain[-1].period_end),
        ):
            repo.set_meta(key, value, commit=False)
    return report


def _counting(rows, name: str, progress):
    count = 0
    for row in rows:
        count += 1
        if progress and count % 50000 == 0:
            progress(name, count)
        yield row
    if progress:
        progress(name, count)
