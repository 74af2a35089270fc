"""The ESME's maximum demand, meter balance and consumption reads and the maximum demand time
period: 4.12.1 (ECS18b) and 4.12.2 (ECS18a) the maximum demand registers, 6.18.1 (ECS37) the
configurable time period they are measured in, 4.18 (ECS82) the meter balance, 4.17 (ECS66)
the daily consumption log encrypted for the reader, 4.6.2 (ECS21c) the export daily read log.
The DSP's command from each template is RTDS's byte for byte (4.6.2's as the ACB sends it for
the Export Supplier); RTDS's commands get RTDS's responses byte for byte, its ERROR cases (an
object or one attribute failing) too; what ECS37 sets, 4.12.1 reads back. RTDS's files for
these use cases are in vectors/ (data/rtds does not hold them). Parametrised by
template or RTDS file name."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from catalogue_helpers import CATALOGUE, RTDS, execute, read_hex, recounted

from emulator.backoffice import duis
from emulator.backoffice.dsp import on_behalf
from emulator.backoffice.transform import AcbContext, TransformError, transform
from emulator.devices.premises import PROFILE
from gbcs import decode
from gbcs.dlms import decode_data
from gbcs.message import encode_apdu
from gbcs.roles import ACB_EUI
from gbcs.security import (
    ENCRYPTION_TYPE,
    decrypt_fragment,
    kdf,
    mac_apdu,
    other_info,
    shared_secret,
)

VECTORS = Path(__file__).parent / "vectors" / "RTDS-4.5.0"
USE_CASES = ("ECS18a", "ECS18b", "ECS37", "ECS82", "ECS66", "ECS21c")
TEMPLATES = sorted(p.name for p in CATALOGUE.glob("*_REQUEST_DUIS.XML")
                   if p.name.split("_")[0] in USE_CASES)  # fmt: skip
RTDS_DIRS = {**{u: next(VECTORS.glob(f"*_{u}")) for u in ("ECS18a", "ECS18b", "ECS82",
                                                          "ECS66", "ECS21c")},
             "ECS37": next(RTDS.glob("*_ECS37"))}  # fmt: skip
#: RTDS's ERROR command -> what fails in it: an object, or one attribute (OBIS + number)
FAULTS = {
    "ECS18b": bytes.fromhex("0100010601FF05"),  # the configurable-time capture time
    "ECS18a": bytes.fromhex("0100020600FF03"),  # the export register's scaler and unit
    "ECS37": bytes.fromhex("00000C0000FF"),
    "ECS82": bytes.fromhex("0000130A00FF"),
    "ECS66": bytes.fromhex("00002B0204FF"),  # the daily consumption log's protection
    "ECS21c": bytes.fromhex("000062010AFF"),
}


def rtds(use_case: str, kind: str, outcome: str = "SUCCESS") -> bytes:
    [path] = RTDS_DIRS[use_case].glob(f"*_{outcome}_{kind}_GBCS.HEX")
    return read_hex(path)


def _content(message) -> bytes:
    end = len(message.apdu) - (0 if message.signature is None else 1 + len(message.signature))
    return bytes(message.apdu[message.content_offset - message.apdu_offset : end])


def test_every_use_case_has_a_template_and_rtds_cases():
    assert {n.split("_")[0] for n in TEMPLATES} == set(USE_CASES)
    for use_case in USE_CASES:
        for outcome in ("SUCCESS", "ERROR"):
            assert decode(rtds(use_case, "COMMAND", outcome)).use_case.name == use_case


@pytest.mark.parametrize("template", TEMPLATES)
def test_the_command_from_the_template_is_rtds(template):
    use_case = template.split("_")[0]
    ours_rtds = decode(rtds(use_case, "COMMAND"))
    root = duis.parse((CATALOGUE / template).read_bytes())
    if ours_rtds.header.other_information.supplementary_remote_party is None:
        duis.set_originator(root, bytes(ours_rtds.originator), ours_rtds.counter)
        ours = transform(duis.parse_request(root), use_case=use_case)
    else:  # the ACB's, for a user the meter holds no anchor for (4.6.2's Export Supplier)
        other = ours_rtds.header.other_information
        duis.set_originator(root, bytes(other.supplementary_remote_party),
                            other.supplementary_remote_party_counter)  # fmt: skip
        request = duis.parse_request(root)
        acb = AcbContext(ACB_EUI, ours_rtds.counter)
        ours = on_behalf(request, transform(request, use_case=use_case), acb, use_case)
        assert ours.via_acb
    assert ours.use_case.name == use_case and not ours.critical
    assert ours.unsigned_command() == encode_apdu(ours_rtds.header, _content(ours_rtds), b"")


@pytest.mark.parametrize("use_case", USE_CASES)
def test_rtds_command_is_answered_with_rtds_response(keys, use_case):
    [execution], _ = execute(keys, [rtds(use_case, "COMMAND")], profile=_profile(use_case))
    assert execution.outcome == "executed", execution.outcome
    assert execution.response == rtds(use_case, "RESPONSE")


@pytest.mark.parametrize("use_case", USE_CASES)
def test_rtds_error_case_is_answered_as_rtds(keys, use_case):
    async def fault(premises):
        premises.esme.object_faults = {FAULTS[use_case]}

    command = rtds(use_case, "COMMAND", "ERROR")
    [execution], _ = execute(keys, [command], profile=_profile(use_case), before=fault)
    assert execution.response == rtds(use_case, "RESPONSE", "ERROR")


def _profile(use_case: str) -> dict:
    """RTDS's household, its meter balance RTDS's ECS82 figure (250000) for ECS82."""
    profile = json.loads(PROFILE.read_text())
    if use_case == "ECS82":
        profile.setdefault("cosem", {})["112/0000130A00FF/2"] = "050003D090"
    return profile


def _schedule_times(read: bytes) -> list[tuple[int, int, bytes]]:
    """(index, script selector, time) of each entry of an ECS18b read's schedule."""
    entries = decode(read).payload.data[8].value
    return [(int(e.value[0].value), int(e.value[3].value), bytes(e.value[4].value))
            for e in entries]  # fmt: skip


def test_the_time_period_ecs37_sets_is_what_4_12_1_reads(keys):
    root = duis.parse((CATALOGUE / "ECS37_6.18.1_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    root.find(f".//{{{duis.SR}}}StartTime").text = "16:30:00.00Z"
    duis.set_originator(root, bytes.fromhex("90B3D51F30020000"), 5001)
    setting = mac_apdu(
        transform(duis.parse_request(root), use_case="ECS37").unsigned_command(), keys.keystore
    )
    read = rtds("ECS18b", "COMMAND")
    executions, _ = execute(keys, [recounted(keys, read, 5000), setting,
                                   recounted(keys, read, 5002)])  # fmt: skip
    assert [e.outcome for e in executions] == ["executed"] * 3
    before, after = (_schedule_times(executions[n].response) for n in (0, 2))
    assert before == [(1, 1, bytes.fromhex("0C000000")), (2, 2, bytes.fromhex("09000000"))]
    assert after == [(0, 1, bytes.fromhex("101E0000")), (1, 2, bytes.fromhex("16000000"))]


def test_ecs37_is_the_network_operators_and_a_bad_time_is_refused(keys):
    """RTDS's ECS37 from the Supplier: role-not-permitted; a StartTime that is no time: E11."""
    message = decode(rtds("ECS37", "COMMAND"))
    header = message.header
    header.originator = bytes.fromhex("90B3D51F30010000")
    forged = mac_apdu(encode_apdu(header, _content(message), b""), keys.keystore)
    [refused], premises = execute(keys, [forged])
    assert refused.outcome == "rejected:role-not-permitted"
    root = duis.parse((CATALOGUE / "ECS37_6.18.1_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    root.find(f".//{{{duis.SR}}}EndTime").text = "25:00:00.00Z"
    with pytest.raises(TransformError, match="EndTime") as bad:
        transform(duis.parse_request(root), use_case="ECS37")
    assert bad.value.code == "E11"


def test_the_daily_consumption_log_read_gives_only_the_days_in_the_period(keys):
    """ECS66 over 2014-12-03 .. 12-04 (RTDS's asks 12-01 09:00 .. 12-05 11:05, four days)."""
    root = duis.parse((CATALOGUE / "ECS66_4.17_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    root.find(f".//{{{duis.SR}}}StartDateTime").text = "2014-12-03T00:00:00.00Z"
    root.find(f".//{{{duis.SR}}}EndDateTime").text = "2014-12-04T00:00:00.00Z"
    duis.set_originator(root, bytes.fromhex("90B3D51F30010000"), 5000)
    request = duis.parse_request(root)
    command = mac_apdu(transform(request, use_case="ECS66").unsigned_command(), keys.keystore)
    [execution], _ = execute(keys, [command])
    assert execution.outcome == "executed"
    days = [entry[0] for entry in _plaintext(keys, execution.response).value[0].value.entries]
    rtds_days = [e[0] for e in _plaintext(keys, rtds("ECS66", "RESPONSE")).value[0].value.entries]
    assert rtds_days == [470793600, 470880000, 470966400, 471052800]  # 2014-12-02 .. 05
    assert days == [470880000, 470966400]  # 2014-12-03, 04: the period's own


def _plaintext(keys, response: bytes):
    """The encrypted fragment of a get_protected_attributes response, decrypted by the
    reader (its KA private key, the meter's KA certificate)."""
    message = decode(response)
    meter, reader = bytes(message.originator), bytes(message.target)
    private, _own, peer = keys.keystore.ka_pairings(meter, reader)[0][0]
    key = kdf(shared_secret(private, peer.public_key),
              other_info(meter, ENCRYPTION_TYPE, message.counter, reader))  # fmt: skip
    fragment = bytes(message.payload.data[0].value[1].value)
    return decode_data(decrypt_fragment(fragment, key, meter))


def test_the_export_daily_read_log_is_the_export_suppliers():
    """4.6.2 from the Import Supplier would be sent as its own: the meter refuses it (the
    DSP's eligibility lets only the Export Supplier send it, through the ACB)."""
    root = duis.parse((CATALOGUE / "ECS21c_4.6.2_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    request = duis.parse_request(root)
    direct = transform(request, use_case="ECS21c")
    assert not direct.via_acb
    via = on_behalf(dataclasses.replace(request), direct, AcbContext(ACB_EUI, 7), "ECS21c")
    assert bytes(via.header.originator) == ACB_EUI
    assert via.header.other_information.supplementary_remote_party == bytes(
        request.request_id.originator
    )
