"""Repository extracts as amended SEC Appendix O 2.3.3 (MP147) sets them, plus a manifest.

- `SMKIKR_FULL_YYYY-MM-DD.xml.gz`: weekly, every certificate with status In use.
- `SMKIKR_DELT_YYYY-MM-DD.xml.gz`: daily, every certificate lodged or whose status changed
  since the previous extract of the same stream (normally the preceding 24 hours), with
  its status at the end of that period; kept 7 days, then removed.
- Per party (the working group's option): the same two kinds holding only the devices on
  that party's premises plus every non-device certificate, named
  `SMKIKR_FULL_<PARTY EUI>_YYYY-MM-DD.xml.gz`, in a stream of their own.

Each file is the gzip of one XML document of the same name without `.gz`: a
`<SMKIRepositoryExtract>` wrapper (attributes Type, Sequence, PeriodStart, PeriodEnd,
Party) holding `<CertificateResponse>` records exactly as the web service returns them,
then `<RecordCount>`. `smki-extract.xsd` beside this module is its schema.

`SMKIKR_MANIFEST.json` (or `SMKIKR_MANIFEST_<PARTY EUI>.json`) lists every file of a stream
with its sequence number, period, record count and SHA-256, so a reader detects a gap,
a reordering or a corrupt file. Files are written under a temporary name and renamed,
the manifest last, so a reader never sees half a file listed.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from lxml import etree

from .errors import ExtractError
from .gzstream import GzipSink
from .records import epoch, from_epoch, iso
from .store import Repository
from .xmlrecords import ResponseWriter

FULL, DELTA = "FULL", "DELT"
ROOT_TAG = "SMKIRepositoryExtract"
RECORD_TAG = "CertificateResponse"
COUNT_TAG = "RecordCount"
MANIFEST_FORMAT = "gbhan-smki-manifest/1"
KEEP_FOR = dt.timedelta(days=7)
SCHEMA_FILE = Path(__file__).with_name("smki-extract.xsd")


@dataclass(frozen=True)
class ManifestEntry:
    file: str
    type: str
    sequence: int
    period_start: str | None
    period_end: str
    records: int
    sha256: str
    bytes: int
    party: str | None = None


def stream_key(party: bytes | None) -> str:
    return party.hex().upper() if party else "national"


def file_name(kind: str, at: int, party: bytes | None) -> str:
    day = from_epoch(at).strftime("%Y-%m-%d")
    middle = f"{party.hex().upper()}_" if party else ""
    return f"SMKIKR_{kind}_{middle}{day}.xml.gz"


def manifest_name(party: bytes | None) -> str:
    return f"SMKIKR_MANIFEST_{party.hex().upper()}.json" if party else "SMKIKR_MANIFEST.json"


def read_manifest(directory: Path, party: bytes | None, *, error=ExtractError):
    """The manifest's entries (sorted by sequence); [] when there is none yet."""
    path = Path(directory) / manifest_name(party)
    if not path.exists():
        return []
    try:
        document = json.loads(path.read_text())
        if document.get("format") != MANIFEST_FORMAT:
            raise ValueError(f"format is {document.get('format')!r}, not {MANIFEST_FORMAT}")
        entries = [ManifestEntry(**item) for item in document["extracts"]]
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise error(f"unreadable manifest: {exc}", path.name) from None
    return sorted(entries, key=lambda entry: entry.sequence)


def _write_manifest(directory: Path, party: bytes | None, entries: list[ManifestEntry]) -> None:
    path = directory / manifest_name(party)
    document = {
        "format": MANIFEST_FORMAT,
        "stream": stream_key(party),
        "extracts": [asdict(entry) for entry in sorted(entries, key=lambda e: e.sequence)],
    }
    temporary = path.with_name(path.name + ".part")
    temporary.write_text(json.dumps(document, indent=1) + "\n")
    os.replace(temporary, path)


def write_extract(
    repo: Repository,
    out: Path,
    kind: str,
    now: dt.datetime,
    party: bytes | None = None,
    progress: Callable[[int], None] | None = None,
) -> ManifestEntry:
    """Write one full or daily extract into `out`, update the manifest, prune old files."""
    if kind not in (FULL, DELTA):
        raise ExtractError(f"extract type must be FULL or DELT, not {kind!r}")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    at = epoch(now)
    last_change = repo.last_change_at()
    if last_change is not None and last_change > at:
        raise ExtractError(
            f"the repository has changes after {iso(at)} (latest {iso(last_change)}): an "
            "extract shows the repository as it is, so it cannot be dated in the past"
        )
    stream = stream_key(party)
    sequence = int(repo.get_meta(f"extract.{stream}.sequence", 0) or 0) + 1
    previous_end = repo.get_meta(f"extract.{stream}.end")
    name = file_name(kind, at, party)
    if (out / name).exists():
        raise ExtractError("already exists: one extract of each type a day", name)
    if kind == DELTA:
        if previous_end is None:
            raise ExtractError(
                f"no earlier extract in the {stream} stream: write a full extract first, "
                "an increment only makes sense after one"
            )
        start = int(previous_end)
        if at <= start:
            raise ExtractError(f"the previous extract already covers up to {iso(start)}", name)
        rows = repo.changed_rows(start, at, party)
    else:
        start = None
        rows = repo.in_use_rows(party)

    temporary = out / (name + ".part")
    sink = GzipSink(temporary)
    count = 0
    # The compressor thread needs the GIL back after each chunk; a shorter switch interval
    # lets it have it sooner while this thread builds XML (measured: ~15 % faster).
    switch_interval = sys.getswitchinterval()
    sys.setswitchinterval(min(switch_interval, 0.0005))
    try:
        with etree.xmlfile(sink, encoding="utf-8") as xf:
            xf.write_declaration()
            attributes = {"Type": kind, "Sequence": str(sequence), "PeriodEnd": iso(at)}
            if start is not None:
                attributes["PeriodStart"] = iso(start)
            if party is not None:
                attributes["Party"] = party.hex("-").upper()
            with xf.element(ROOT_TAG, attributes):
                writer = ResponseWriter(xf)
                for row in rows:
                    writer.write(row)
                    count += 1
                    if progress and count % 50000 == 0:
                        progress(count)
                counter = etree.Element(COUNT_TAG)
                counter.text = str(count)
                xf.write(counter)
    finally:
        sys.setswitchinterval(switch_interval)
        rows.close()
        digest = sink.close()
    os.replace(temporary, out / name)
    if progress:
        progress(count)
    entry = ManifestEntry(
        file=name,
        type=kind,
        sequence=sequence,
        period_start=iso(start) if start is not None else None,
        period_end=iso(at),
        records=count,
        sha256=digest,
        bytes=(out / name).stat().st_size,
        party=party.hex("-").upper() if party else None,
    )
    entries = [e for e in read_manifest(out, party) if e.file != name] + [entry]
    entries = _prune(out, entries, at)
    _write_manifest(out, party, entries)
    repo.set_meta(f"extract.{stream}.sequence", sequence)
    repo.set_meta(f"extract.{stream}.end", at)
    return entry


def _prune(out: Path, entries: list[ManifestEntry], at: int) -> list[ManifestEntry]:
    """Drop files published more than 7 days ago, except the latest full extract."""
    cutoff = at - int(KEEP_FOR.total_seconds())
    fulls = [e for e in entries if e.type == FULL]
    latest_full = max(fulls, key=lambda e: e.sequence) if fulls else None
    kept = []
    for entry in entries:
        if entry is not latest_full and epoch_of(entry.period_end) < cutoff:
            (out / entry.file).unlink(missing_ok=True)
            continue
        kept.append(entry)
    return kept


def epoch_of(text: str) -> int:
    return epoch(dt.datetime.fromisoformat(text.replace("Z", "+00:00")))
