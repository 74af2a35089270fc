"""The ESME's logs and profiles read over a period (6.13: ECS35a event, b security, e power
event, f/g auxiliary controller event; 4.4.4/4.4.5 billing data logs ECS20a/d; 4.8.2/4.8.3
profiles ECS22c/a; 4.10 network data ECS23, its voltage profile so): the DSP's command from each catalogue template equals RTDS's (the
log by the template's LogToRead, the range from its ReadLogPeriod); RTDS's command gets RTDS's
response (byte for byte where the meter holds RTDS's log); the answer is the log's entries in
the range, and a log 3.3 cleared reads back empty. Parametrised by template or RTDS file name."""

from __future__ import annotations

import pytest
from catalogue_helpers import CATALOGUE, RTDS, execute, read_hex, recounted, rtds_success

from emulator.backoffice import duis
from emulator.backoffice.transform import LOGS as READ_OVER_A_PERIOD
from emulator.backoffice.transform import TransformError, transform
from gbcs import decode
from gbcs.message import encode_apdu
from gbcs.render import plain

#: the log reads, and 4.10 (ECS23), counters and the voltage profile over a period
LOGS = [*READ_OVER_A_PERIOD, "ECS23"]
#: the ESME's (ECS35c/d are the Comms Hub Function's)
TEMPLATES = sorted(p.name for p in CATALOGUE.glob("ECS*_REQUEST_DUIS.XML")
                   if p.name.split("_")[0] in LOGS)  # fmt: skip
RTDS_COMMANDS = [str(rtds_success(u).relative_to(RTDS)) for u in LOGS]
#: RTDS's ECS35f shows another meter's auxiliary controller log than its ECS35g, which the
#: meter starts with
OTHER_METER = {"ECS35f"}


def test_every_log_has_a_template():
    assert {n.split("_")[0] for n in TEMPLATES} == set(LOGS)


@pytest.mark.parametrize("name", TEMPLATES)
def test_the_command_from_the_template_is_rtds(name):
    use_case = name.split("_")[0]
    rtds = decode(read_hex(rtds_success(use_case)))
    root = duis.parse((CATALOGUE / name).read_bytes())
    duis.set_originator(root, bytes(rtds.originator), rtds.counter)
    request = duis.parse_request(root)
    ours = transform(request, use_case=use_case)
    end = len(rtds.apdu) - (0 if rtds.signature is None else 1 + len(rtds.signature))
    content = rtds.apdu[rtds.content_offset - rtds.apdu_offset : end]
    assert ours.precommand() == encode_apdu(rtds.header, content, None)
    # the DSP's own choice (6.13 by LogToRead): the template's use case, ECS35g for ALCS
    assert transform(request).use_case.name == ("ECS35g" if use_case == "ECS35f" else use_case)


@pytest.mark.parametrize("name", RTDS_COMMANDS)
def test_rtds_command_is_answered_with_rtds_response(keys, name):
    [execution], _ = execute(keys, [read_hex(RTDS / name)])
    assert execution.outcome == "executed", execution.outcome
    expected = read_hex(RTDS / name.replace("_COMMAND_", "_RESPONSE_"))
    got, want = decode(execution.response), decode(expected)
    assert plain(got.header) == plain(want.header)
    if name.split("/")[0].split("_")[1] in OTHER_METER:
        ours, theirs = got.payload.data[0].value, want.payload.data[0].value
        assert ours.description == theirs.description and ours.entries
        return
    assert execution.response == expected


def _entries(execution) -> list:
    return list(decode(execution.response).payload.data[0].value.entries)


def test_a_narrower_period_gives_the_entries_in_it_and_a_cleared_log_none(keys):
    """RTDS's ECS35c period (00:00-09:00) on the meter's event log: only its entries in
    those hours; after 3.3 (ECS15a) the whole day reads empty."""
    day = read_hex(rtds_success("ECS35a"))
    root = duis.parse((CATALOGUE / "ECS35a_6.13_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    root.find(f".//{{{duis.SR}}}EndDateTime").text = "2014-12-31T09:00:00.00Z"
    duis.set_originator(root, bytes.fromhex("90B3D51F30010000"), 8001)
    morning = transform(duis.parse_request(root)).unsigned_command()
    commands = [recounted(keys, day, 8000), recounted(keys, morning, 8001),
                recounted(keys, read_hex(rtds_success("ECS15a")), 8002),
                recounted(keys, day, 8003)]  # fmt: skip
    executions, _ = execute(keys, commands)
    assert [e.outcome for e in executions] == ["executed"] * 4
    whole, early, _cleared, after = (executions[i] for i in range(4))
    start = 473299200  # 2014-12-31T00:00:00Z in seconds since 2000
    expected = [e for e in _entries(whole) if start <= e[0] <= start + 9 * 3600]
    assert _entries(early) == expected and 0 < len(expected) < len(_entries(whole))
    assert _entries(after) == []


def test_an_unknown_log_or_a_backwards_period_is_refused():
    root = duis.parse((CATALOGUE / "ECS35a_6.13_SUCCESS_REQUEST_DUIS.XML").read_bytes())
    root.find(f".//{{{duis.SR}}}LogToRead").text = "Boost"
    with pytest.raises(TransformError, match="ECS35 for Boost log"):
        transform(duis.parse_request(root))
    root.find(f".//{{{duis.SR}}}LogToRead").text = "Event"
    root.find(f".//{{{duis.SR}}}EndDateTime").text = "2014-01-01T00:00:00.00Z"
    with pytest.raises(TransformError, match="ends before it starts"):
        transform(duis.parse_request(root))
