"""The repository's storage: plain SQL over the standard library's sqlite3 (WAL mode).

Nothing here needs SQLite beyond its SQL: the same schema and queries run on a server
database for a national-size repository (serials as text, EUIs and bodies as blobs, times
as Unix seconds). Every status change is also written to `certificate_event`, which keeps
the date of each change and lets a daily increment be produced for any past window.

Queries that feed extracts return cursors, never lists, so a million rows stream through.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from .errors import SmkiError
from .records import DEVICE, KINDS, ORGANISATION, STATUSES, USAGES, Record, iso, serial_text

SCHEMA = """
CREATE TABLE IF NOT EXISTS certificate (
    id            INTEGER PRIMARY KEY,
    serial        TEXT    NOT NULL UNIQUE,  -- upper-case hex, as the web service shows it
    kind          TEXT    NOT NULL,         -- device, organisation, root, oca, dca
    eui           BLOB    NOT NULL,         -- 8 bytes: SubjectAltName or SubjectName EUI
    role          INTEGER,                  -- remote-party role; NULL for devices
    usage         TEXT    NOT NULL,         -- DS or KA
    status        TEXT    NOT NULL,         -- P, I, N, E or R
    manufacturing INTEGER NOT NULL DEFAULT 0,
    party         BLOB,                     -- owning party (a device's Supplier)
    network_party BLOB,                     -- a device's Network Operator
    body          BLOB    NOT NULL,         -- the certificate, DER
    issued_at     INTEGER NOT NULL,
    changed_at    INTEGER NOT NULL,
    source        TEXT
);
CREATE INDEX IF NOT EXISTS certificate_by_eui ON certificate (eui);
CREATE TABLE IF NOT EXISTS certificate_event (
    seq            INTEGER PRIMARY KEY,
    certificate_id INTEGER NOT NULL REFERENCES certificate (id),
    at             INTEGER NOT NULL,
    status         TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS certificate_event_by_time ON certificate_event (at);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value BLOB
);
"""

# The columns every client sees, in the order extract writers and comparisons expect.
VIEW_COLUMNS = "c.serial, c.kind, c.eui, c.role, c.usage, c.status, c.manufacturing, c.body"
_PARTY_FILTER = " AND (c.kind != 'device' OR c.party = :party OR c.network_party = :party)"
_RECORD_COLUMNS = (
    "serial, kind, eui, role, usage, status, manufacturing, body, party, network_party,"
    " issued_at, changed_at"
)
BATCH = 5000


def _record(row) -> Record:
    return Record(
        int(row[0], 16),
        row[1],
        bytes(row[2]),
        row[3],
        row[4],
        row[5],
        bool(row[6]),
        bytes(row[7]),
        bytes(row[8]) if row[8] is not None else None,
        bytes(row[9]) if row[9] is not None else None,
        row[10],
        row[11],
    )


class Repository:
    """An SMKI repository (or a party's synchronised copy of one) in a SQLite file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        try:
            self._db = sqlite3.connect(str(self.path), check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise SmkiError(f"{self.path}: not a usable repository database: {exc}") from None
        self._lock = threading.RLock()  # one connection, shared by the web service threads

    @classmethod
    def open(cls, path: str | Path) -> Repository:
        return cls(path)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Repository:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- meta --------------------------------------------------------------------------
    def get_meta(self, key: str, default=None):
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value, *, commit: bool = True) -> None:
        """Store a setting; commit=False inside `transaction()`."""
        with self._lock:
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )
            if commit:
                self._db.commit()

    # --- changes -----------------------------------------------------------------------
    def last_change_at(self) -> int | None:
        with self._lock:
            row = self._db.execute("SELECT MAX(at) FROM certificate_event").fetchone()
        return row[0]

    def _check_clock(self, at: int) -> None:
        last = self.last_change_at()
        if last is not None and at < last:
            raise SmkiError(
                f"change dated {iso(at)} is before the latest change ({iso(last)}): "
                "the repository's history only moves forward"
            )

    def add(self, record: Record, at: int, source: str | None = None) -> bool:
        """Lodge one certificate; False when that exact certificate is already held."""
        return self.add_many([record], at, source) == 1

    def add_many(
        self,
        records: Iterable[Record],
        at: int,
        source: str | None = None,
        progress: Callable[[int], None] | None = None,
    ) -> int:
        """Lodge certificates in batches (one transaction each); returns how many were new.

        A serial already held with the same body is skipped; with a different body it is
        refused, since serials name certificates in every query.
        """
        self._check_clock(at)
        added = 0
        batch: list[Record] = []
        for record in records:
            batch.append(record)
            if len(batch) >= BATCH:
                added += self._insert(batch, at, source)
                batch = []
                if progress:
                    progress(added)
        if batch:
            added += self._insert(batch, at, source)
            if progress:
                progress(added)
        return added

    def _insert(self, batch: list[Record], at: int, source: str | None) -> int:
        rows = []
        for r in batch:
            _validate(r)
            rows.append(
                (
                    serial_text(r.serial),
                    r.kind,
                    r.eui,
                    r.role,
                    r.usage,
                    r.status,
                    int(r.manufacturing),
                    r.body,
                    r.party,
                    r.network_party,
                    r.issued_at or at,
                    at,
                    source,
                )
            )
        with self._lock, self._db:
            cursor = self._db.cursor()
            last_id = cursor.execute("SELECT COALESCE(MAX(id), 0) FROM certificate").fetchone()[0]
            before = self._db.total_changes
            cursor.executemany(
                "INSERT INTO certificate (serial, kind, eui, role, usage, status, manufacturing,"
                " body, party, network_party, issued_at, changed_at, source)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (serial) DO NOTHING",
                rows,
            )
            added = self._db.total_changes - before
            if added != len(rows):
                self._check_duplicates(cursor, rows)
            cursor.execute(
                "INSERT INTO certificate_event (certificate_id, at, status)"
                " SELECT id, changed_at, status FROM certificate WHERE id > ? ORDER BY id",
                (last_id,),
            )
        return added

    def _check_duplicates(self, cursor, rows) -> None:
        for row in rows:
            held = cursor.execute(
                "SELECT body FROM certificate WHERE serial = ?", (row[0],)
            ).fetchone()
            if held is not None and bytes(held[0]) != row[7]:
                raise SmkiError(f"serial {row[0]} is already held for a different certificate")

    def set_status(self, serial: int | str, status: str, at: int) -> None:
        """Change a certificate's status (and date the change)."""
        self.set_statuses([serial], status, at)

    def set_statuses(self, serials: Iterable[int | str], status: str, at: int) -> int:
        """Change several certificates' status in one transaction; returns how many changed."""
        if status not in STATUSES:
            raise SmkiError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")
        self._check_clock(at)
        changed = 0
        with self._lock, self._db:
            for serial in serials:
                text = serial.upper() if isinstance(serial, str) else serial_text(serial)
                row = self._db.execute(
                    "SELECT id, status FROM certificate WHERE serial = ?", (text,)
                ).fetchone()
                if row is None:
                    raise SmkiError(f"no certificate with serial {text}")
                if row[1] == status:
                    continue
                self._db.execute(
                    "UPDATE certificate SET status = ?, changed_at = ? WHERE id = ?",
                    (status, at, row[0]),
                )
                self._db.execute(
                    "INSERT INTO certificate_event (certificate_id, at, status) VALUES (?, ?, ?)",
                    (row[0], at, status),
                )
                changed += 1
        return changed

    # --- lookups -----------------------------------------------------------------------
    def get(self, serial: int | str) -> Record | None:
        text = serial if isinstance(serial, str) else serial_text(serial)
        with self._lock:
            row = self._db.execute(
                f"SELECT {_RECORD_COLUMNS} FROM certificate WHERE serial = ?", (text.upper(),)
            ).fetchone()
        return _record(row) if row else None

    def search(self, eui: bytes, *, device: bool) -> list[Record]:
        """Certificates named by this EUI: SubjectAltName (device) or SubjectName (others)."""
        test = "kind = 'device'" if device else "kind != 'device'"
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_RECORD_COLUMNS} FROM certificate WHERE eui = ? AND {test} ORDER BY id",
                (eui,),
            ).fetchall()
        return [_record(row) for row in rows]

    def count(self, status: str | None = None) -> int:
        with self._lock:
            if status is None:
                return self._db.execute("SELECT COUNT(*) FROM certificate").fetchone()[0]
            return self._db.execute(
                "SELECT COUNT(*) FROM certificate WHERE status = ?", (status,)
            ).fetchone()[0]

    def records(self) -> Iterator[Record]:
        """Every record, in lodging order (streamed)."""
        cursor = self._db.cursor()
        cursor.execute(f"SELECT {_RECORD_COLUMNS} FROM certificate ORDER BY id")
        for row in cursor:
            yield _record(row)

    def serials(self, *, kind: str | None = None, status: str | None = None) -> list[str]:
        """Serials (text) of a kind and/or status, in lodging order."""
        clauses, params = [], []
        if kind is not None:
            clauses.append("kind = ?")
            params.append(kind)
        if status is not None:
            clauses.append("status = ?")
            params.append(status)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._lock:
            rows = self._db.execute(
                f"SELECT serial FROM certificate{where} ORDER BY id", params
            ).fetchall()
        return [row[0] for row in rows]

    # --- extract feeds (cursors of VIEW_COLUMNS rows) ------------------------------------
    def in_use_rows(self, party: bytes | None = None):
        """Every certificate in use now (a full extract), optionally one party's view."""
        sql = f"SELECT {VIEW_COLUMNS} FROM certificate c WHERE c.status = 'I'"
        params: dict = {}
        if party is not None:
            sql += _PARTY_FILTER
            params["party"] = party
        cursor = self._db.cursor()
        return cursor.execute(sql + " ORDER BY c.id", params)

    def changed_rows(self, start: int, end: int, party: bytes | None = None):
        """Certificates lodged or changed in (start, end], each with its status at `end`."""
        sql = (
            "SELECT c.serial, c.kind, c.eui, c.role, c.usage, e.status, c.manufacturing,"
            " c.body FROM (SELECT certificate_id, MAX(seq) AS seq FROM certificate_event"
            " WHERE at > :start AND at <= :end GROUP BY certificate_id) w"
            " JOIN certificate_event e ON e.seq = w.seq"
            " JOIN certificate c ON c.id = w.certificate_id WHERE 1 = 1"
        )
        params: dict = {"start": start, "end": end}
        if party is not None:
            sql += _PARTY_FILTER
            params["party"] = party
        cursor = self._db.cursor()
        return cursor.execute(sql + " ORDER BY c.id", params)

    def view_rows(self, *, in_use_only: bool = False):
        """What a client can see of every record, in serial order (for comparisons):
        (serial, device?, EUI, role, usage, status, manufacturing, body). CA and
        organisation certificates are alike there (both named by SubjectName)."""
        where = " WHERE c.status = 'I'" if in_use_only else ""
        cursor = self._db.cursor()
        return cursor.execute(
            "SELECT c.serial, c.kind = 'device', c.eui, c.role, c.usage, c.status,"
            f" c.manufacturing, c.body FROM certificate c{where} ORDER BY c.serial"
        )

    # --- synchronised copies ------------------------------------------------------------
    def replace_views(self, rows: Iterable[tuple], at: int) -> int:
        """Insert or overwrite records from extract rows (VIEW_COLUMNS order); no commit.

        Used inside `transaction()` by the sync client, so a refused file leaves the copy
        as it was. (Writing batches on a second thread was measured: no gain, the GIL is
        held while rows are bound.)
        """
        sql = (
            "INSERT INTO certificate (serial, kind, eui, role, usage, status, manufacturing,"
            " body, issued_at, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (serial) DO UPDATE SET kind = excluded.kind, eui = excluded.eui,"
            " role = excluded.role, usage = excluded.usage, status = excluded.status,"
            " manufacturing = excluded.manufacturing, body = excluded.body,"
            " changed_at = excluded.changed_at"
        )
        count = 0
        batch: list[tuple] = []
        for row in rows:
            batch.append((*row, at, at))
            if len(batch) >= BATCH:
                self._db.executemany(sql, batch)
                count += len(batch)
                batch = []
        if batch:
            self._db.executemany(sql, batch)
            count += len(batch)
        return count

    def clear(self) -> None:
        """Forget every certificate and change (no commit; for a restore from a full)."""
        self._db.execute("DELETE FROM certificate_event")
        self._db.execute("DELETE FROM certificate")

    def transaction(self):
        """`with repo.transaction():` commits on success, rolls back on any error."""
        return _Transaction(self)


class _Transaction:
    def __init__(self, repo: Repository):
        self.repo = repo

    def __enter__(self):
        self.repo._lock.acquire()
        self.repo._db.execute("BEGIN")
        return self.repo

    def __exit__(self, kind, value, tb):
        try:
            if kind is None:
                self.repo._db.execute("COMMIT")
            else:
                self.repo._db.execute("ROLLBACK")
        finally:
            self.repo._lock.release()
        return False


def _validate(record: Record) -> None:
    if record.kind not in KINDS:
        raise SmkiError(f"kind must be one of {', '.join(KINDS)}, not {record.kind!r}")
    if record.usage not in USAGES:
        raise SmkiError(f"usage must be DS or KA, not {record.usage!r}")
    if record.status not in STATUSES:
        raise SmkiError(f"status must be one of {', '.join(STATUSES)}, not {record.status!r}")
    if len(record.eui) != 8:
        raise SmkiError(f"an EUI-64 is 8 bytes, not {len(record.eui)}")
    if record.kind == DEVICE and record.role is not None:
        raise SmkiError("device certificates carry no remote-party role")
    if record.kind == ORGANISATION and record.role is None:
        raise SmkiError("an organisation certificate needs its role")
