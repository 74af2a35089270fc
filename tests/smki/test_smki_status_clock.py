"""Certificate status follows validity at the service's clock: DCC Boxed's organisation
certificates, lodged on 2026-11-23 after they expired (E), are found in use by a service
whose clock is pinned inside their validity, and expired again by one whose clock is not;
a status set on purpose (revoked) is never overridden by the clock."""

from __future__ import annotations

import datetime as dt

import pytest
from smki_helpers import DCCBOXED, START, post
from test_smki_service import search_body

from emulator.smki.records import EXPIRED, IN_USE, REVOKED
from emulator.smki.service import SmkiService
from emulator.smki.sources import load_keystores
from emulator.smki.store import Repository

SUPPLIER = bytes.fromhex("90B3D51F30010000")
NETWORK_OPERATOR = bytes.fromhex("90B3D51F30020000")
INSIDE = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
AFTER = dt.datetime(2026, 12, 6, tzinfo=dt.UTC)


def statuses(service: SmkiService, eui: bytes) -> list[str]:
    status, _kind, body = post(service.url + "/services/certificatesearch", search_body(eui, False))
    assert status == 200
    return [s.split("<")[0] for s in body.decode().split("<CertificateStatus>")[1:]]


@pytest.fixture(scope="module")
def pinned(repo):
    """A second service over the same repository, its clock pinned to 2025-06-01."""
    running = SmkiService(repo, "127.0.0.1", 0, clock=lambda: INSIDE).start()
    yield running
    running.stop()


@pytest.mark.parametrize("eui", [SUPPLIER, NETWORK_OPERATOR], ids=["supplier", "dno"])
def test_organisation_certificates_in_use_at_a_pinned_clock(eui, repo, service, pinned):
    lodged = statuses(service, eui)  # no clock: as lodged on 2026-11-23
    assert IN_USE in statuses(pinned, eui)
    assert statuses(pinned, eui).count(IN_USE) > lodged.count(IN_USE)


def test_the_same_certificates_expired_at_todays_clock(repo):
    later = SmkiService(repo, "127.0.0.1", 0, clock=lambda: AFTER).start()
    try:
        found = statuses(later, SUPPLIER)
    finally:
        later.stop()
    assert EXPIRED in found


def test_a_revoked_certificate_stays_revoked_whatever_the_clock(tmp_path):
    with Repository(tmp_path / "r.db") as repo:
        load_keystores(repo, [DCCBOXED], INSIDE)
        serial = next(r.serial for r in repo.search(SUPPLIER, device=False) if r.status == IN_USE)
        repo.set_status(serial, REVOKED, int(START.timestamp()))
        running = SmkiService(repo, "127.0.0.1", 0, clock=lambda: INSIDE).start()
        try:
            found = statuses(running, SUPPLIER)
        finally:
            running.stop()
    assert REVOKED in found
