"""`gbhan smki ...`: the SMKI repository (MP147): serve it as DCC Boxed does, write the weekly
full and daily incremental extracts (national or per party), restore a local copy from them,
and grow it with generated devices."""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path

from emulator import data

DEFAULT_KEYSTORES = [data.rtds_keystore(), data.dccboxed_keystore()]
DEFAULT_DB = Path("smki.db")


def register(sub) -> None:
    smki = sub.add_parser("smki", help="SMKI repository: serve, extract, sync, populate")
    cmds = smki.add_subparsers(dest="smki_command", required=True)

    def common(p, db_required: bool = False) -> None:
        p.add_argument(
            "--db", type=Path, required=db_required, default=None if db_required else DEFAULT_DB,
            help=f"repository database (SQLite; default {DEFAULT_DB})",
        )  # fmt: skip

    def clocked(p) -> None:
        p.add_argument("--at", type=_when, help="the repository clock (ISO 8601; default now)")
        p.add_argument(
            "--keystore", action="append", type=Path,
            help="keystores lodged into a new repository (default: RTDS and DCC Boxed)",
        )  # fmt: skip

    p = cmds.add_parser("serve", help="the certificate search web service (DCC Boxed's)")
    common(p)
    clocked(p)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8083)
    p.set_defaults(func=cmd_serve)

    p = cmds.add_parser("extract", help="write a full or daily extract and its manifest")
    common(p)
    clocked(p)
    kind = p.add_mutually_exclusive_group(required=True)
    kind.add_argument("--full", action="store_true", help="every certificate in use")
    kind.add_argument("--daily", action="store_true", help="changes since the last extract")
    p.add_argument("--party", help="one party's extract (its EUI, e.g. 90-B3-D5-1F-30-01-00-00)")
    p.add_argument("--out", type=Path, required=True, help="directory of the extracts")
    p.set_defaults(func=cmd_extract)

    p = cmds.add_parser("sync", help="restore a local copy from full + daily extracts")
    p.add_argument("--from", dest="source", type=Path, required=True, help="extracts directory")
    common(p, db_required=True)
    p.add_argument("--party", help="follow this party's extract stream instead")
    p.set_defaults(func=cmd_sync)

    p = cmds.add_parser(
        "fetch", help="a device's (or organisation's) in-use certificates from an SMKI service, "
        "as a PEM folder `gbhan gbcs verify --keystore` reads",
    )  # fmt: skip
    p.add_argument("eui", help="e.g. 00-DB-12-34-56-78-90-A0")
    p.add_argument("--url", default="http://127.0.0.1:8083", help="the SMKI service")
    p.add_argument("--out", type=Path, required=True, help="folder for the PEM files")
    p.add_argument("--organisation", action="store_true", help="search by SubjectName")
    p.set_defaults(func=cmd_fetch)

    p = cmds.add_parser("populate", help="add N generated devices (DS + KA certificates each)")
    common(p)
    clocked(p)
    p.add_argument("--devices", type=int, required=True)
    p.set_defaults(func=cmd_populate)


def _when(text: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise SystemExit(f"gbhan: --at {text!r} is not an ISO 8601 time") from None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _party(text: str | None) -> bytes | None:
    from emulator.smki.records import parse_eui_text

    if text is None:
        return None
    if "-" not in text and len(text) == 16:
        text = "-".join(text[i : i + 2] for i in range(0, 16, 2))
    return parse_eui_text(text)


def _open(args):
    """The repository, lodged with the keystores and the test PKI on first use."""
    from emulator.smki.population import load_test_pki
    from emulator.smki.sources import load_keystores
    from emulator.smki.store import Repository

    now = args.at or dt.datetime.now(dt.UTC)
    repo = Repository(args.db)
    if repo.count() == 0:
        keystores = args.keystore or [path for path in DEFAULT_KEYSTORES if path.exists()]
        added = load_keystores(repo, keystores, now) if keystores else 0
        load_test_pki(repo, now)
        print(f"smki: new repository {args.db}: {added} keystore certificates", file=sys.stderr)
    return repo, now


class Progress:
    """One updating line on stderr: done/total, rate, time left."""

    def __init__(self, label: str, total: int | None = None):
        self.label, self.total, self.start = label, total, time.monotonic()

    def __call__(self, done: int, total: int | None = None) -> None:
        total = total or self.total
        elapsed = max(time.monotonic() - self.start, 1e-9)
        rate = done / elapsed
        text = f"\r{self.label}: {done:,}"
        if total:
            left = (total - done) / rate if rate else 0
            text += f"/{total:,} ({100 * done / total:.0f} %), {left:.0f} s left"
        print(f"{text}, {rate:,.0f}/s   ", end="", file=sys.stderr, flush=True)

    def end(self) -> None:
        print(file=sys.stderr)


def cmd_serve(args) -> int:
    from emulator.smki.service import SmkiService

    repo, _ = _open(args)
    pinned = args.at
    # statuses follow validity at the service's clock: --at pins it, else the wall clock
    service = SmkiService(
        repo, args.host, args.port, clock=(lambda: pinned) if pinned else _wall_clock
    )
    print(f"smki: {repo.count()} certificates, serving on {service.url}", file=sys.stderr)
    try:
        service.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        service.httpd.server_close()
        repo.close()
    return 0


def _wall_clock() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def cmd_extract(args) -> int:
    from emulator.smki.errors import SmkiError
    from emulator.smki.extracts import DELTA, FULL, write_extract

    try:
        party = _party(args.party)
        repo, now = _open(args)
        progress = Progress("extract")
        entry = write_extract(repo, args.out, FULL if args.full else DELTA, now, party, progress)
        progress.end()
    except SmkiError as exc:
        print(f"gbhan: smki extract: {exc}", file=sys.stderr)
        return 1
    print(f"{args.out / entry.file}: sequence {entry.sequence}, {entry.records} records, "
          f"{entry.bytes:,} bytes, sha256 {entry.sha256}")  # fmt: skip
    return 0


def cmd_sync(args) -> int:
    from emulator.smki.errors import SmkiError
    from emulator.smki.store import Repository
    from emulator.smki.sync import sync

    def show(name: str, count: int) -> None:
        print(f"\rsync: {name}: {count:,} records   ", end="", file=sys.stderr, flush=True)

    try:
        party = _party(args.party)
        with Repository(args.db) as repo:
            report = sync(repo, args.source, party, show)
            print(file=sys.stderr)
            held = repo.count()
    except SmkiError as exc:
        print(f"\ngbhan: smki sync refused: {exc}", file=sys.stderr)
        return 1
    how = "restored from the full extract" if report.restored_from_full else "brought up to date"
    print(f"{args.db}: {how}: {len(report.applied)} file(s), {report.records} records applied, "
          f"now at sequence {report.sequence}, {held} certificates held")  # fmt: skip
    return 0


def cmd_fetch(args) -> int:
    from emulator.smki import client
    from emulator.smki.errors import SmkiError

    try:
        eui = _party(args.eui)
        assert eui is not None
        found = client.in_use_certificates(args.url, eui, device=not args.organisation)
    except SmkiError as exc:
        print(f"gbhan: smki fetch: {exc}", file=sys.stderr)
        return 1
    if not found:
        print(f"gbhan: smki fetch: no in-use certificate of {args.eui}", file=sys.stderr)
        return 1
    for path in client.write_pem_folder(found, args.out, eui):
        print(path)
    return 0


def cmd_populate(args) -> int:
    from emulator.smki.errors import SmkiError
    from emulator.smki.population import populate

    if args.devices < 1:
        print("gbhan: smki populate: --devices must be at least 1", file=sys.stderr)
        return 2
    try:
        repo, now = _open(args)
        progress = Progress("populate (certificates)", args.devices * 2)
        added = populate(repo, args.devices, now, progress)
        progress.end()
    except SmkiError as exc:
        print(f"gbhan: smki populate: {exc}", file=sys.stderr)
        return 1
    print(f"{args.db}: {added} device certificates added, {repo.count()} held")
    repo.close()
    return 0
