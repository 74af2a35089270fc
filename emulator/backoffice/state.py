"""The state directory of `gbhan dsp serve`: what a restarted DSP needs to carry on.

    DIR/smki.db   the SMKI repository the SMKI service serves: every certificate, the test
                  PKI (CA keys and the seed the device keys derive from), device identities
    DIR/dsp.db    users added by configuration (userconfig.py), users' response endpoints,
                  devices added by configuration or the DUIS lifecycle (inventory.declare),
                  the ACB counter, and the request journal: every request id accepted
                  (replays stay refused) and how far each got

A request is written to the journal (and committed) before its acknowledgement is returned,
marked `dispatched` before its command leaves for the premises, and `responding`, with its
signed final answer, before that answer is POSTed. So after a SIGKILL the next run answers
every acknowledged request, and never two different ways: one still `queued` is routed
then, one `dispatched` is answered E21 (no device response: its outcome is unknown) rather
than sent a second time, and one `responding` gets the very document it had been answered
with (the user may then see the same answer twice, never a contradicting one). SQLite in WAL mode: a commit survives the process being killed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

from emulator.errors import EmulatorError
from emulator.smki.identities import DeviceIdentities
from emulator.smki.sources import load_keystores
from emulator.smki.store import Repository

from .eligibility import DuisRole
from .inventory import Device, DeviceFacts
from .replay import Issued, NotIssued, Replayed, RequestLedger, Unfinished
from .userconfig import UserConfig

SCHEMA = """
CREATE TABLE IF NOT EXISTS request (
    id      TEXT PRIMARY KEY,   -- originator:target:counter
    state   TEXT NOT NULL,      -- issued, queued, dispatched, answered
    body    BLOB,               -- the request as received (to rebuild its job)
    command BLOB,               -- issued: the pre-command; queued/dispatched: the command
    at      REAL NOT NULL,
    response BLOB               -- responding: the signed final answer being delivered
);
CREATE TABLE IF NOT EXISTS endpoint (
    user TEXT PRIMARY KEY,      -- EUI, hex
    url  TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS user (
    eui      TEXT PRIMARY KEY,  -- hex
    role     TEXT NOT NULL,     -- DUIS role code
    name     TEXT NOT NULL,
    endpoint TEXT,
    xml      BLOB NOT NULL,     -- PEM blocks, may be empty (the DCC Boxed keystore's)
    gbcs     BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS device (
    eui      TEXT PRIMARY KEY,  -- hex
    type     TEXT NOT NULL,     -- GBCS device type name (inventory.DEVICE_TYPE_CODES)
    premises TEXT NOT NULL,
    source   TEXT NOT NULL,     -- configured, preset:<name>, or the SRV that declared it
    facts    TEXT,              -- JSON of the DeviceFacts the lifecycle recorded (12.2), or NULL
    supplier TEXT               -- hex EUI of its premises' Supplier when the lifecycle named one
);
CREATE TABLE IF NOT EXISTS backup (
    device TEXT PRIMARY KEY,    -- hex EUI of the Comms Hub Function or GPF backed up
    kind   TEXT NOT NULL,       -- chf: its CCS07 response; gpf: its GCS62 alert
    raw    BLOB NOT NULL        -- the device's message, kept as it came (checked again on load)
);
CREATE TABLE IF NOT EXISTS meta (
    key   TEXT PRIMARY KEY,
    value
);
"""
ISSUED, QUEUED, DISPATCHED, RESPONDING, ANSWERED = (
    "issued",
    "queued",
    "dispatched",
    "responding",
    "answered",
)


class StateError(EmulatorError):
    """The state directory cannot be used."""


class DspState:
    """One state directory, open: the SMKI repository, device identities and the DSP's db."""

    def __init__(self, folder: Path, repo: Repository, identities: DeviceIdentities) -> None:
        self.folder = folder
        self.repo = repo
        self.identities = identities
        try:
            self.db = sqlite3.connect(str(folder / "dsp.db"), check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)
            columns = {row[1] for row in self.db.execute("PRAGMA table_info(request)")}
            if "response" not in columns:  # a state directory from before `responding`
                self.db.execute("ALTER TABLE request ADD COLUMN response BLOB")
            held = {row[1] for row in self.db.execute("PRAGMA table_info(device)")}
            for column in ("facts", "supplier"):  # a state directory from before 12.2's facts
                if column not in held:
                    self.db.execute(f"ALTER TABLE device ADD COLUMN {column} TEXT")
        except sqlite3.DatabaseError as exc:
            raise StateError(f"{folder / 'dsp.db'}: not a usable state database: {exc}") from None
        self.lock = threading.RLock()

    @classmethod
    def open(cls, folder: str | Path, keystores: Iterable[Path], now: dt.datetime) -> DspState:
        """Open (or create) the state in `folder`; a new SMKI repository is lodged with the
        keystores' certificates, their status judged at `now`."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        repo = Repository(folder / "smki.db")
        if repo.count() == 0:
            load_keystores(repo, [Path(p) for p in keystores], now)
        return cls(folder, repo, DeviceIdentities(repo, now))

    def close(self) -> None:
        self.db.close()
        self.repo.close()

    # --- endpoints ----------------------------------------------------------------------
    def endpoints(self) -> dict[bytes, str]:
        with self.lock:
            rows = self.db.execute("SELECT user, url FROM endpoint").fetchall()
        return {bytes.fromhex(user): url for user, url in rows}

    def set_endpoint(self, user: bytes, url: str | None) -> None:
        with self.lock, self.db:
            if url is None:
                self.db.execute("DELETE FROM endpoint WHERE user = ?", (user.hex().upper(),))
            else:
                self.db.execute(
                    "INSERT INTO endpoint (user, url) VALUES (?, ?)"
                    " ON CONFLICT (user) DO UPDATE SET url = excluded.url",
                    (user.hex().upper(), url),
                )

    # --- users added by configuration ----------------------------------------------------
    def users(self) -> list[UserConfig]:
        with self.lock:
            rows = self.db.execute(
                "SELECT eui, role, name, endpoint, xml, gbcs FROM user ORDER BY eui"
            ).fetchall()
        users = []
        for eui, role, name, endpoint, xml, gbcs in rows:
            main, *also = (DuisRole(code) for code in role.split(","))  # "IS,ES,OU": roles
            users.append(UserConfig(bytes.fromhex(eui), main, name, endpoint, _blocks(xml),
                                    _blocks(gbcs), tuple(also)))  # fmt: skip
        return users

    def add_user(self, user: UserConfig) -> bool:
        """Register or replace a user; True when it is new."""
        with self.lock, self.db:
            new = (
                self.db.execute(
                    "SELECT 1 FROM user WHERE eui = ?", (user.eui.hex().upper(),)
                ).fetchone()
                is None
            )
            self.db.execute(
                "INSERT INTO user (eui, role, name, endpoint, xml, gbcs) VALUES (?, ?, ?, ?, ?, ?)"
                " ON CONFLICT (eui) DO UPDATE SET role = excluded.role, name = excluded.name,"
                " endpoint = excluded.endpoint, xml = excluded.xml, gbcs = excluded.gbcs",
                (
                    user.eui.hex().upper(),
                    ",".join(role.value for role in user.roles),
                    user.name,
                    user.endpoint,
                    b"\n".join(user.xml_certificates),
                    b"\n".join(user.gbcs_certificates),
                ),
            )
        if user.endpoint is not None:
            self.set_endpoint(user.eui, user.endpoint)
        return new

    def remove_user(self, eui: bytes) -> bool:
        """Forget a configured user; False when there was none."""
        with self.lock, self.db:
            gone = self.db.execute("DELETE FROM user WHERE eui = ?", (eui.hex().upper(),))
            self.db.execute("DELETE FROM endpoint WHERE user = ?", (eui.hex().upper(),))
        return gone.rowcount > 0

    # --- devices added by configuration or the DUIS lifecycle -----------------------------
    def devices(self) -> list[tuple[Device, str]]:
        """(device, source) of every stored device, by EUI."""
        with self.lock:
            rows = self.db.execute(
                "SELECT eui, type, premises, source FROM device ORDER BY eui"
            ).fetchall()
        return [(Device(bytes.fromhex(eui), kind, premises), source)
                for eui, kind, premises, source in rows]  # fmt: skip

    def device_records(self) -> dict[bytes, tuple[DeviceFacts | None, bytes | None]]:
        """EUI -> (the facts the lifecycle recorded, its premises' Supplier), each None when
        not stored (a device added by configuration, or a state from before they were kept)."""
        with self.lock:
            rows = self.db.execute("SELECT eui, facts, supplier FROM device").fetchall()
        return {
            bytes.fromhex(eui): (
                None if facts is None else DeviceFacts(**json.loads(facts)),
                None if supplier is None else bytes.fromhex(supplier),
            )
            for eui, facts, supplier in rows
        }

    def record_facts(self, eui: bytes, facts: DeviceFacts) -> bool:
        """Keep what the lifecycle said of a stored device (Inventory.record), as JSON;
        False when the device is not stored (nothing written)."""
        with self.lock, self.db:
            done = self.db.execute(
                "UPDATE device SET facts = ? WHERE eui = ?",
                (json.dumps(dataclasses.asdict(facts)), bytes(eui).hex().upper()),
            )
        return done.rowcount > 0

    def add_device(self, device: Device, source: str, supplier: bytes | None = None) -> bool:
        """Store (or replace) a device, with its premises' Supplier when the lifecycle named
        one (12.2's own premises); True when it is new."""
        with self.lock, self.db:
            new = (
                self.db.execute(
                    "SELECT 1 FROM device WHERE eui = ?", (device.eui.hex().upper(),)
                ).fetchone()
                is None
            )
            self.db.execute(
                "INSERT INTO device (eui, type, premises, source, supplier) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (eui) DO UPDATE SET type = excluded.type,"
                " premises = excluded.premises, source = excluded.source,"
                " supplier = excluded.supplier",
                (
                    device.eui.hex().upper(),
                    device.device_type,
                    device.premises,
                    source,
                    None if supplier is None else supplier.hex().upper(),
                ),  # fmt: skip
            )
        return new

    def remove_device(self, eui: bytes) -> bool:
        """Forget a stored device; False when there was none."""
        with self.lock, self.db:
            gone = self.db.execute("DELETE FROM device WHERE eui = ?", (eui.hex().upper(),))
        return gone.rowcount > 0

    # --- counters -----------------------------------------------------------------------
    # --- device log backups (8.12.1, 8.12.2) ------------------------------------------------
    def keep_backup(self, eui: bytes, kind: str, raw: bytes) -> None:
        """A hub's or GPF's latest device log backup, as the device sent it."""
        with self.lock, self.db:
            self.db.execute("INSERT OR REPLACE INTO backup VALUES (?, ?, ?)",
                            (eui.hex().upper(), kind, bytes(raw)))  # fmt: skip

    def backups(self) -> list[tuple[bytes, str, bytes]]:
        """(EUI, kind, message) of every backup kept."""
        with self.lock:
            rows = self.db.execute("SELECT device, kind, raw FROM backup ORDER BY device")
            return [(bytes.fromhex(e), k, bytes(r)) for e, k, r in rows]

    # --- the DSP's clock (gbhan dsp serve --start resume) ------------------------------------
    def save_clock(self, when: dt.datetime) -> None:
        """Where the DSP's clock is, for a restart to carry on from."""
        with self.lock, self.db:
            self.db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('clock', ?)",
                            (when.astimezone(dt.UTC).isoformat(),))  # fmt: skip

    def saved_clock(self) -> dt.datetime | None:
        """The DSP's clock as last saved, None if never."""
        with self.lock:
            row = self.db.execute("SELECT value FROM meta WHERE key = 'clock'").fetchone()
        return None if row is None else dt.datetime.fromisoformat(row[0])

    def acb_counter(self) -> int | None:
        with self.lock:
            row = self.db.execute("SELECT value FROM meta WHERE key = 'acb_counter'").fetchone()
        return int(row[0]) if row else None

    def ledger(self) -> PersistentLedger:
        return PersistentLedger(self)


class PersistentLedger(RequestLedger):
    """The request ledger written through to the state database."""

    def __init__(self, state: DspState) -> None:
        super().__init__()
        self._state = state
        self._db = state.db
        with state.lock:
            self._seen.update(row[0] for row in self._db.execute("SELECT id FROM request"))

    def accept(self, request_id: str) -> None:
        """Seen from now on in this run; journalled by the write that follows it in the same
        request (queued, issued or answered), so a kill between the two leaves no row that
        nothing would ever answer: that request was never acknowledged, and its resend is
        accepted afresh."""
        super().accept(request_id)

    def issue(
        self, request_id: str, precommand: bytes, context: object, body: bytes | None = None
    ) -> None:
        super().issue(request_id, precommand, context, body)
        self._write(request_id, ISSUED, body, precommand)

    def redeem(self, request_id: str) -> Issued:
        try:
            return super().redeem(request_id)
        except (Replayed, NotIssued):
            with self._state.lock:
                row = self._db.execute(
                    "SELECT state, body, command FROM request WHERE id = ?", (request_id,)
                ).fetchone()
            if row is None or row[0] != ISSUED:
                raise
            return Issued(bytes(row[2]), None, bytes(row[1]) if row[1] is not None else None)

    def queued(self, request_id: str, body: bytes | None, command: bytes) -> None:
        self._write(request_id, QUEUED, body, command)

    def dispatched(self, request_id: str) -> None:
        self._write(request_id, DISPATCHED, None, None)

    def responding(self, request_id: str, response: bytes) -> None:
        with self._state.lock, self._db:
            self._db.execute(
                "UPDATE request SET state = ?, response = ? WHERE id = ?",
                (RESPONDING, response, request_id),
            )

    def answered(self, request_id: str) -> None:
        """Answered (a serviceD request is journalled here first): the answer is dropped."""
        with self._state.lock, self._db:
            self._db.execute(
                "INSERT INTO request (id, state, at) VALUES (?, ?, julianday('now'))"
                " ON CONFLICT (id) DO UPDATE SET state = excluded.state, response = NULL",
                (request_id, ANSWERED),
            )

    def acb_counter(self, value: int) -> None:
        with self._state.lock:
            self._db.execute(
                "INSERT INTO meta (key, value) VALUES ('acb_counter', ?)"
                " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (value,),
            )  # committed with the request that used it

    def unfinished(self) -> list[Unfinished]:
        with self._state.lock:
            rows = self._db.execute(
                "SELECT id, state, body, command, response FROM request"
                " WHERE state IN (?, ?, ?) ORDER BY at",
                (QUEUED, DISPATCHED, RESPONDING),
            ).fetchall()
        return [
            Unfinished(r[0], r[1], bytes(r[2]), bytes(r[3]), None if r[4] is None else bytes(r[4]))
            for r in rows
        ]

    def _write(
        self, request_id: str, state: str, body: bytes | None, command: bytes | None
    ) -> None:
        """Insert or move the row on (body and command kept unless given); committed."""
        with self._state.lock, self._db:
            self._db.execute(
                "INSERT INTO request (id, state, body, command, at)"
                " VALUES (?, ?, ?, ?, julianday('now'))"
                " ON CONFLICT (id) DO UPDATE SET state = excluded.state,"
                " body = COALESCE(excluded.body, request.body),"
                " command = COALESCE(excluded.command, request.command)",
                (request_id, state, body, command),
            )


def _blocks(data: bytes) -> tuple[bytes, ...]:
    return tuple(
        (b"-----BEGIN CERTIFICATE-----" + part).rstrip()
        for part in bytes(data).split(b"-----BEGIN CERTIFICATE-----")[1:]
    )
