"""The ESME's clear-log and counter-reset use cases (3.3 ECS15a/c, 6.4.2 ECS28b, 6.18.2
ECS57, 6.27 ECS29e) and 3.4 supplier name (ECS16): the DSP's command from each catalogue
template equals RTDS's (MAC aside); RTDS's command gets RTDS's response byte for byte; a reset
zeroes the register the next read shows (6.4.2 then 4.15), and 3.3 picks its log by the
template's log type (an unknown one refused). Parametrised by template or RTDS file name."""

from __future__ import annotations

import pytest
from catalogue_helpers import CATALOGUE, RTDS, execute, read_hex, recounted, rtds_success

from emulator.backoffice import duis
from emulator.backoffice.transform import RESETS, TransformError, transform
from gbcs import decode
from gbcs.message import encode_apdu
from gbcs.render import plain

USE_CASES = (*RESETS, "ECS16")
TEMPLATES = sorted(p.name for p in CATALOGUE.glob("ECS*_REQUEST_DUIS.XML")
                   if p.name.split("_")[0] in USE_CASES)  # fmt: skip
RTDS_COMMANDS = [str(rtds_success(u).relative_to(RTDS)) for u in USE_CASES]


def test_every_use_case_has_templates():
    assert {n.split("_")[0] for n in TEMPLATES} == set(USE_CASES)


@pytest.mark.parametrize("name", TEMPLATES)
def test_the_command_from_the_template_is_rtds(name):
    use_case = name.split("_")[0]
    rtds = decode(read_hex(rtds_success(use_case)))
    root = duis.parse((CATALOGUE / name).read_bytes())
    duis.set_originator(root, bytes(rtds.originator), rtds.counter)
    ours = transform(duis.parse_request(root))
    assert ours.use_case.name == use_case  # 3.3 by the log type the template names
    end = len(rtds.apdu) - (0 if rtds.signature is None else 1 + len(rtds.signature))
    content = rtds.apdu[rtds.content_offset - rtds.apdu_offset : end]
    if "SOME_OPTIONALS" in name:  # ECS57 naming one register: RTDS's resets all three
        specs = decode(ours.precommand()).payload.specifications
        assert [bytes(s.instance_id) for s in specs] == [bytes.fromhex("0100010601FF")]
        return
    assert ours.precommand() == encode_apdu(rtds.header, content, None)


@pytest.mark.parametrize("name", RTDS_COMMANDS)
def test_rtds_command_is_answered_with_rtds_response(keys, name):
    [execution], _ = execute(keys, [read_hex(RTDS / name)])
    assert execution.outcome == "executed", execution.outcome
    expected = read_hex(RTDS / name.replace("_COMMAND_", "_RESPONSE_"))
    assert plain(decode(execution.response).payload) == plain(decode(expected).payload)
    assert execution.response == expected


def test_a_reset_zeroes_what_the_next_read_shows(keys):
    read = read_hex(rtds_success("ECS27"))  # 4.15: item 1 is the load limit counter
    commands = [recounted(keys, read, 7000), recounted(keys, read_hex(rtds_success("ECS28b")),
                7001), recounted(keys, read, 7002)]  # fmt: skip
    executions, _ = execute(keys, commands)
    assert [e.outcome for e in executions] == ["executed"] * 3
    counters = [int(decode(executions[i].response).payload.data[1].value) for i in (0, 2)]
    assert counters == [30, 0]


def test_an_unknown_log_type_is_refused():
    root = duis.parse((CATALOGUE / "ECS15a_3.3_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    root.find(f".//{{{duis.SR}}}ESMEEventLogType").text = "Security"
    with pytest.raises(TransformError, match="ECS15 for Security log"):
        transform(duis.parse_request(root))
