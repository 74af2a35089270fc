"""The ESME configuration users the meter holds no anchor for send, through the ACB: 6.20.2
the Export Supplier's export MPAN (ECS39b) and 9.1 an Other User's Customer Identification
Number (ECS50, a CIN the DCC makes). The DSP's command from each template, sent by the ACB on
the user's behalf, is RTDS's byte for byte (ECS50's with RTDS's CIN in it); RTDS's commands
get RTDS's responses byte for byte, its ERROR cases too; the export MPAN set is what 6.2.7
reads back, the CIN what the meter holds; DUIS lets only the Export Supplier and an Other
User send them (the Import Supplier gets E2; the catalogue's run sends them from the
Supplier's user ID as its Export Supplier and Other User roles: test_catalogue_roles.py).
Parametrised by use case."""

from __future__ import annotations

import pytest
from catalogue_helpers import CATALOGUE, RTDS, execute, read_hex, recounted

from emulator.backoffice import duis
from emulator.backoffice.dsp import on_behalf
from emulator.backoffice.eligibility import ES, IS, OU, Eligibility, NotEligible
from emulator.backoffice.transform import (
    CUSTOMER_IDENTIFICATION_NUMBER,
    AcbContext,
    TransformError,
    new_cin,
    transform,
)
from gbcs import decode
from gbcs.message import encode_apdu
from gbcs.roles import ACB_EUI
from gbcs.security import mac_apdu

CASES = {"ECS39b": "6.20.2", "ECS50": "9.1"}
FAULTS = {"ECS39b": bytes.fromhex("0100000002FF"), "ECS50": CUSTOMER_IDENTIFICATION_NUMBER}


def rtds(use_case: str, kind: str, outcome: str = "SUCCESS") -> bytes:
    [path] = RTDS.glob(f"{CASES[use_case]}_{use_case}/*_{outcome}_{kind}_GBCS.HEX")
    return read_hex(path)


def _content(message) -> bytes:
    end = len(message.apdu) - (0 if message.signature is None else 1 + len(message.signature))
    return bytes(message.apdu[message.content_offset - message.apdu_offset : end])


def _via_acb(use_case: str, counter: int, user_counter: int, edit=None):
    name = f"{use_case}_{CASES[use_case]}_SUCCESS_REQUEST_DUIS.XML"
    root = duis.parse((CATALOGUE / name).read_bytes())
    if edit is not None:
        edit(root)
    duis.set_originator(root, bytes.fromhex("90B3D51F30010000"), user_counter)
    request = duis.parse_request(root)
    return on_behalf(
        request, transform(request, use_case=use_case), AcbContext(ACB_EUI, counter), use_case
    )


@pytest.mark.parametrize("use_case", sorted(CASES))
def test_the_command_from_the_template_is_rtds(use_case):
    message = decode(rtds(use_case, "COMMAND"))
    other = message.header.other_information
    ours = decode(_via_acb(use_case, message.counter,
                           other.supplementary_remote_party_counter).unsigned_command())  # fmt: skip
    assert bytes(ours.originator) == ACB_EUI
    if use_case == "ECS50":  # the CIN is the DCC's to make: RTDS's in ours
        value = ours.payload.data[0].value
        assert len(value) == 4 and bytes(value).isdigit()
        ours.payload.data[0].value = bytes(message.payload.data[0].value)
        assert bytes(message.payload.data[0].value) == b"1234"
    assert plain_header(ours) == plain_header(message)
    assert ours.payload == message.payload


def plain_header(message):
    return (bytes(message.originator), bytes(message.target), message.counter,
            dict(message.header.other_information))  # fmt: skip


def test_each_cin_is_four_fresh_digits():
    made = {new_cin() for _ in range(50)}
    assert all(len(c) == 4 and c.isdigit() for c in made)
    assert len(made) > 10


@pytest.mark.parametrize("use_case", sorted(CASES))
def test_rtds_command_is_answered_with_rtds_response(keys, use_case):
    [execution], premises = execute(keys, [rtds(use_case, "COMMAND")])
    assert execution.outcome == "executed", execution.outcome
    assert execution.response == rtds(use_case, "RESPONSE")
    if use_case == "ECS50":
        assert bytes(premises.esme.store.get(1, CUSTOMER_IDENTIFICATION_NUMBER, 2).value) == b"1234"


@pytest.mark.parametrize("use_case", sorted(CASES))
def test_rtds_error_case_is_answered_as_rtds(keys, use_case):
    async def fault(premises):
        premises.esme.object_faults = {FAULTS[use_case]}

    [execution], _ = execute(keys, [rtds(use_case, "COMMAND", "ERROR")], before=fault)
    assert execution.response == rtds(use_case, "RESPONSE", "ERROR")


def test_the_export_mpan_set_is_what_6_2_7_reads(keys):
    def edit(root):
        root.find(f".//{{{duis.SR}}}ExportMPAN").text = "1900000000027"

    setting = _via_acb("ECS39b", 1400, 1100, edit)
    read = read_hex(next(RTDS.glob("6.2.7_ECS40/*_SUCCESS_COMMAND_GBCS.HEX")))
    executions, _ = execute(keys, [recounted(keys, read, 5000),
                                   mac_apdu(setting.unsigned_command(), keys.keystore),
                                   recounted(keys, read, 5001)])  # fmt: skip
    assert [e.outcome for e in executions] == ["executed"] * 3
    before, after = (bytes(decode(executions[n].response).payload.data[1].value) for n in (0, 2))
    assert before == b"1312345678333" and after == b"1900000000027"


def test_the_meter_takes_them_from_the_acb_only(keys):
    """RTDS's ECS39b as the Supplier's own command: role-not-permitted, nothing changed."""
    message = decode(rtds("ECS39b", "COMMAND"))
    header = message.header
    header.originator = bytes.fromhex("90B3D51F30010000")
    header.other_information.supplementary_remote_party = None
    header.other_information.supplementary_remote_party_counter = None
    forged = mac_apdu(encode_apdu(header, _content(message), b""), keys.keystore)
    [refused], premises = execute(keys, [forged])
    assert refused.outcome == "rejected:role-not-permitted"
    assert bytes(premises.esme.store.get(1, bytes.fromhex("0100000002FF"), 2).value) == (
        b"1312345678333"
    )


@pytest.mark.parametrize(("srv", "role"), [("6.20.2", ES), ("9.1", OU)])
def test_only_the_duis_role_may_send_them(srv, role):
    eligibility = Eligibility()
    eligibility.check(srv, role)
    with pytest.raises(NotEligible) as refused:
        eligibility.check(srv, IS)
    assert refused.value.code == "E2"


def test_an_export_mpan_that_is_no_number_is_refused():
    def edit(root):
        root.find(f".//{{{duis.SR}}}ExportMPAN").text = "13123A5678333"

    with pytest.raises(TransformError, match="not numeric") as refused:
        _via_acb("ECS39b", 1, 1, edit)
    assert refused.value.code == "E11"
