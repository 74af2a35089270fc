"""Fixtures for the SMKI repository tests: a repository lodged with both keystores, the test
PKI and a few generated devices, and the web service over it on 127.0.0.1."""

from __future__ import annotations

import pytest
from smki_helpers import DCCBOXED, GENERATED_DEVICES, RTDS_KEYS, START

from emulator.smki.population import load_test_pki, populate
from emulator.smki.service import SmkiService
from emulator.smki.sources import load_keystores
from emulator.smki.store import Repository


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Repository:
    path = tmp_path_factory.mktemp("smki") / "repository.db"
    repository = Repository(path)
    load_keystores(repository, [RTDS_KEYS, DCCBOXED], START)
    load_test_pki(repository, START)
    populate(repository, GENERATED_DEVICES, START)
    yield repository
    repository.close()


@pytest.fixture(scope="module")
def service(repo):
    running = SmkiService(repo, "127.0.0.1", 0).start()
    yield running
    running.stop()
