"""6.21 Request Handover of DCC Controlled Device at the DSP (transform.py, handover.py, dsp.py):
the command from each catalogue template is RTDS's byte for byte (RTDS's certificates swapped
in), the ACB's and signed by it; the DSP hands over only a role the DCC controls on the
device (RTDS's GPF's Network Operator and Supplier cells), refusing any other E062101 before
anything is sent, and forgets the role once the device has replaced every certificate: a
second handover of it is refused. Through an in-process DSP over HTTP as the catalogue runs
it."""

from __future__ import annotations

import json

import pytest
from catalogue_helpers import CATALOGUE, RTDS, read_hex, with_rtds_certificates

from emulator.backoffice import catalogue, duis
from emulator.backoffice.eligibility import BASE_ELIGIBILITY, GS, IS
from emulator.backoffice.handover import (
    HOUSEHOLD_ROLES,
    RTDS_DCC_CONTROLLED,
    DccControl,
    NotDccControlled,
    replaced_all,
)
from emulator.backoffice.response_codes import ResponseCode
from emulator.backoffice.transform import AcbContext, transform
from emulator.clock import Clock
from emulator.devices.premises import PROFILE
from gbcs import decode
from gbcs.asn1 import encode_tree
from gbcs.roles import ACB_EUI

GPF = bytes.fromhex("00DB1234567890A3")
#: template stem -> RTDS's folder
HANDOVERS = {
    "CS02bNOByNOHandover_6.21_SUCCESS": "6.21_CS02bNOByNOHandover",
    "CS02bSupplierBySupplierHandover_6.21_SUCCESS": "6.21_CS02bSupplierBySupplierHandover",
}


def _rtds_command(stem: str):
    return decode(read_hex(RTDS / HANDOVERS[stem] / f"{stem}_COMMAND_GBCS.HEX"))


def _request(stem: str, rtds) -> duis.Request:
    """The catalogue template with RTDS's replacement and path certificates in it."""
    template = (CATALOGUE / f"{stem}_REQUEST_DUIS.XML").read_bytes()
    return duis.parse_request(duis.parse(with_rtds_certificates(template, rtds.payload.fields)))


@pytest.mark.parametrize("stem", sorted(HANDOVERS))
def test_the_command_from_the_template_is_rtds(stem):
    rtds = _rtds_command(stem)
    ours = transform(_request(stem, rtds), acb=AcbContext(ACB_EUI, rtds.counter))
    assert ours.use_case.name == rtds.use_case.name
    assert ours.via_acb and ours.acb_signs  # the ACB sends it and signs it, as RTDS's
    assert ours.content == encode_tree(rtds.payload.tree)
    assert ours.precommand()[1:] == rtds.signed_data  # RTDS's header too


def test_the_dsp_record_is_the_household_s():
    """What the DSP says the DCC controls is what the household's GPF holds."""
    gas = json.loads(PROFILE.read_text())["gas"]
    held = {HOUSEHOLD_ROLES[name] for name in gas["dcc_controlled"]}
    assert RTDS_DCC_CONTROLLED == {bytes.fromhex(gas["gpf"]): frozenset(held)}


def test_the_suppliers_may_send_it():
    assert BASE_ELIGIBILITY["6.21"] == frozenset({IS, GS})  # duis-parser's matrix


@pytest.mark.parametrize("stem", sorted(HANDOVERS))
def test_only_a_role_the_dcc_controls_is_handed_over(stem):
    control = DccControl()
    request = _request(stem, _rtds_command(stem))
    role = (request.body.findtext(f".//{{{duis.SR}}}RemotePartyRole") or "").strip()
    if role in RTDS_DCC_CONTROLLED[GPF]:
        assert control.check(request, GPF) == role
        control.handed_over(GPF, role)
    with pytest.raises(NotDccControlled):
        control.check(request, GPF)
    with pytest.raises(NotDccControlled):
        DccControl().check(request, bytes.fromhex("00DB1234567890A0"))  # the ESME: a user's


@pytest.mark.parametrize(
    ("path", "replaced"),
    [
        ("6.21_CS02bNOByNOHandover/CS02bNOByNOHandover_6.21_SUCCESS_RESPONSE_GBCS.HEX", True),
        ("6.15.1_CS02bSupplierBySupplier/"
         "CS02bSupplierBySupplier_6.15.1_IMMEDIATE_ERROR_RESPONSE_GBCS.HEX", False),
        ("6.15.1_CS02bSupplierBySupplier/"
         "CS02bSupplierBySupplier_6.15.1_FUTURE_DATED_SUCCESS_RESPONSE_GBCS.HEX", False),
    ],
)  # fmt: skip
def test_a_role_is_handed_over_only_when_every_certificate_took_its_place(path, replaced):
    """RTDS's SUCCESS; a certificate refused (status 10); a command only accepted (future
    dated: nothing replaced yet)."""
    assert replaced_all(read_hex(RTDS / path)) is replaced


@pytest.mark.parametrize("stem", sorted(HANDOVERS))
def test_each_role_is_handed_over_once(tmp_path, stem):
    """Through the DSP over HTTP: the handover carried out by the GPF (signed, verified) and
    then refused E062101, the role no longer the DCC's, nothing sent."""
    template = next(t for t in catalogue.load_catalogue() if t.name.startswith(stem))
    clock = Clock("wall")
    results = clock.run(lambda: catalogue.run_catalogue([template, template], state_dir=tmp_path,
                                                        clock=clock, timeout_s=10))  # fmt: skip
    first, second = results
    assert first.outcome == catalogue.ANSWERED and first.codes[-1] == "I0", first.codes
    assert first.verified is True and first.device == "success"
    assert second.outcome == catalogue.REFUSED
    assert second.codes == (ResponseCode.NOT_DCC_CONTROLLED.value,), second.codes
