"""Shared fixtures: the compiled DUIS schema, the DCC Boxed keystore, trust and signers."""

from __future__ import annotations

import pytest
from backoffice_helpers import DCCBOXED, DSP, NETWORK_OPERATOR, SCHEMA, SUPPLIER

from emulator.backoffice import duis, xmlsig
from gbcs.keystore import Keystore


@pytest.fixture(scope="session")
def schema() -> duis.DuisSchema:
    return duis.load_schema(str(SCHEMA))


@pytest.fixture(scope="session")
def keystore() -> Keystore:
    return Keystore.open(DCCBOXED)


@pytest.fixture(scope="session")
def trusted(keystore) -> xmlsig.TrustedCertificates:
    return xmlsig.TrustedCertificates.from_keystore(keystore)


@pytest.fixture(scope="session")
def supplier(keystore) -> xmlsig.Signer:
    return xmlsig.signer_from_keystore(keystore, SUPPLIER)


@pytest.fixture(scope="session")
def dno(keystore) -> xmlsig.Signer:
    return xmlsig.signer_from_keystore(keystore, NETWORK_OPERATOR)


@pytest.fixture(scope="session")
def dsp(keystore) -> xmlsig.Signer:
    return xmlsig.signer_from_keystore(keystore, DSP)
