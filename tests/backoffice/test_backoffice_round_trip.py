"""The DUIS side of a DNO's critical request, with real keys and no HAN: the DNO sends a 7.6
template as itself, gets the pre-command, signs it with its GBCS key, sends it back as
variant 5, and the DSP checks that it is the pre-command it issued, signed by the DNO."""

from __future__ import annotations

import datetime as dt

import pytest
from backoffice_helpers import DCCBOXED, DUIS, NETWORK_OPERATOR, SUPPLIER

from emulator.backoffice import document, duis, xmlsig
from emulator.backoffice.eligibility import DuisRole, Eligibility, NotEligible
from emulator.backoffice.transform import (
    SignedPreCommandRefused,
    check_signed_precommand,
    transform,
)
from gbcs import decode
from gbcs.keystore import Keystore
from gbcs.security import sign

TEMPLATE = DUIS / "ECS47Deactivate_7.6_SUCCESS_REQUEST_DUIS.XML"
# The DCC Boxed keystore's GBCS organisation certificates expired in January 2026 (its
# XML-signing ones run to 2118): GBCS signatures are checked at a date they were valid.
GBCS_CLOCK = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def gbcs_keys() -> Keystore:
    return Keystore.open(DCCBOXED, clock=GBCS_CLOCK)


def as_user(template, eui: str, signer) -> bytes:
    root = duis.parse(template.read_bytes())
    duis.set_originator(root, bytes.fromhex(eui))
    return duis.to_bytes(xmlsig.sign(root, signer))


@pytest.fixture(scope="module")
def issued(schema, trusted, dno):
    checked = document.check(as_user(TEMPLATE, NETWORK_OPERATOR, dno), schema, trusted)
    request = duis.parse_request(checked.root)
    Eligibility().check(request.service_reference_variant, DuisRole.ELECTRICITY_DISTRIBUTOR)
    return request, transform(request).precommand()


def test_precommand_names_the_dno_as_originator(issued):
    request, precommand = issued
    message = decode(precommand)
    assert message.originator == bytes.fromhex(NETWORK_OPERATOR)
    assert message.counter == request.request_id.counter and message.signature is None


def test_dno_signed_precommand_round_trip(issued, schema, trusted, dno, gbcs_keys):
    request, precommand = issued
    signed = sign(precommand, gbcs_keys.ds_private_key(NETWORK_OPERATOR))
    variant5 = duis.build_signed_precommand_request(request, signed)
    checked = document.check(duis.to_bytes(xmlsig.sign(variant5, dno)), schema, trusted)
    returned = duis.parse_request(checked.root)
    assert returned.command_variant == 5
    check_signed_precommand(
        precommand, returned.signed_precommand, gbcs_keys.ds_public_keys(NETWORK_OPERATOR)
    )


def test_precommand_signed_by_someone_else_is_refused(issued, gbcs_keys):
    _, precommand = issued
    signed = sign(precommand, gbcs_keys.ds_private_key(SUPPLIER))
    with pytest.raises(SignedPreCommandRefused, match="no signing key"):
        check_signed_precommand(precommand, signed, gbcs_keys.ds_public_keys(NETWORK_OPERATOR))


def test_altered_precommand_is_refused_even_if_validly_signed(issued, gbcs_keys):
    _, precommand = issued
    altered = precommand[:-1] + bytes([precommand[-1] ^ 0x01])  # another script selector
    signed = sign(altered, gbcs_keys.ds_private_key(NETWORK_OPERATOR))
    with pytest.raises(SignedPreCommandRefused, match="differs"):
        check_signed_precommand(precommand, signed, gbcs_keys.ds_public_keys(NETWORK_OPERATOR))


def test_unsigned_precommand_is_refused(issued, gbcs_keys):
    _, precommand = issued
    with pytest.raises(SignedPreCommandRefused, match="no signature"):
        check_signed_precommand(precommand, precommand, gbcs_keys.ds_public_keys(NETWORK_OPERATOR))


def test_dno_supplier_only_srv_is_refused_after_its_signature_checks(schema, trusted, dno):
    template = DUIS / "ECS47Activate_7.5_SUCCESS_REQUEST_DUIS.XML"
    checked = document.check(as_user(template, NETWORK_OPERATOR, dno), schema, trusted)
    request = duis.parse_request(checked.root)
    with pytest.raises(NotEligible) as refused:
        Eligibility().check(request.service_reference_variant, DuisRole.ELECTRICITY_DISTRIBUTOR)
    assert refused.value.code.value == "E2"
