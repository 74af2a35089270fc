"""The repository's storage rules: serials name one certificate, history only moves forward,
bad records are refused with a clear error, and a failed transaction changes nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from smki_helpers import START

from emulator.smki.errors import SmkiError
from emulator.smki.population import device_records, load_test_pki
from emulator.smki.records import (
    IN_USE,
    NOT_IN_USE,
    REVOKED,
    Record,
    epoch,
    parse_eui_text,
    parse_serial_text,
)
from emulator.smki.store import Repository

AT = epoch(START)


@pytest.fixture
def repo(tmp_path):
    with Repository(tmp_path / "r.db") as repository:
        yield repository


def some_device(repo: Repository, number: int = 0) -> Record:
    return next(device_records(load_test_pki(repo, START), number, 1, START))


def test_same_certificate_twice_is_lodged_once(repo):
    record = some_device(repo)
    assert repo.add(record, AT) is True
    assert repo.add(record, AT) is False
    assert repo.get(record.serial).body == record.body


def test_a_serial_is_never_reused_for_another_certificate(repo):
    record = some_device(repo)
    repo.add(record, AT)
    impostor = Record(**{**record.__dict__, "body": record.body[:-1] + b"\x00"})
    with pytest.raises(SmkiError, match="already held for a different certificate"):
        repo.add(impostor, AT)


def test_history_only_moves_forward(repo):
    record = some_device(repo)
    repo.add(record, AT + 100)
    repo.set_status(record.serial, REVOKED, AT + 200)
    with pytest.raises(SmkiError, match="before the latest change"):
        repo.set_status(record.serial, NOT_IN_USE, AT + 150)
    assert repo.get(record.serial).status == REVOKED


def test_changes_are_dated_and_windowed(repo):
    record = some_device(repo)
    repo.add(record, AT)
    repo.set_status(record.serial, NOT_IN_USE, AT + 3600)
    repo.set_status(record.serial, IN_USE, AT + 7200)
    day_one = list(repo.changed_rows(AT + 1, AT + 3600))
    assert [row[5] for row in day_one] == [NOT_IN_USE]  # its status at the window's end
    assert [row[5] for row in repo.changed_rows(AT + 1, AT + 7200)] == [IN_USE]
    assert list(repo.changed_rows(AT + 7200, AT + 9000)) == []
    assert repo.get(record.serial).changed_at == AT + 7200


@pytest.mark.parametrize(
    "change, message",
    [
        ({"usage": "XX"}, "usage must be DS or KA"),
        ({"status": "Z"}, "status must be one of"),
        ({"eui": b"\x00" * 7}, "8 bytes"),
        ({"role": 2}, "no remote-party role"),
        ({"kind": "meter"}, "kind must be one of"),
    ],
)
def test_bad_records_are_refused(repo, change, message):
    record = some_device(repo)
    with pytest.raises(SmkiError, match=message):
        repo.add(Record(**{**record.__dict__, **change}), AT)


def test_unknown_serial_and_status_are_refused(repo):
    with pytest.raises(SmkiError, match="no certificate with serial"):
        repo.set_status(0x1234, REVOKED, AT)
    with pytest.raises(SmkiError, match="status must be one of"):
        repo.set_status(0x1234, "X", AT)


def test_a_failed_transaction_leaves_the_copy_unchanged(repo):
    record = some_device(repo)
    repo.add(record, AT)
    before = repo.count()
    with pytest.raises(RuntimeError):
        with repo.transaction():
            repo.clear()
            assert repo.count() == 0
            raise RuntimeError("refused half-way")
    assert repo.count() == before


def test_text_forms_are_checked():
    assert parse_eui_text("00-db-12-34-56-78-90-a0") == bytes.fromhex("00DB1234567890A0")
    for bad in ("00DB1234567890A0", "00-DB-12-34-56-78-90", "ZZ-DB-12-34-56-78-90-A0", ""):
        with pytest.raises(SmkiError, match="not an EUI-64"):
            parse_eui_text(bad)
    assert parse_serial_text("0a") == 10
    with pytest.raises(SmkiError, match="hexadecimal"):
        parse_serial_text("12G")


def test_not_a_database_is_a_clear_error(tmp_path):
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(SmkiError, match="not a usable repository database"):
        Repository(path)


def test_times_must_be_aware():
    with pytest.raises(SmkiError, match="timezone-aware"):
        epoch(dt.datetime(2026, 1, 1))
