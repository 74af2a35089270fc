"""The ESME's load switch: 7.1 enable, 7.2 disable, 7.3 arm (critical ECS42/43/44) and the
7.4 read of its state. Pre-commands byte-identical to RTDS's; RTDS's commands answered with
RTDS's header and payload (signed by the meter); RTDS's ERROR cases (a hardware fault of the
script table) answered as RTDS's; and the state moves as the scripts say: disable -> 0
disconnected, arm -> 2 ready, enable -> 1 connected, arm of a connected supply changes
nothing, each shown by the next 7.4 read."""

from __future__ import annotations

import pytest
from catalogue_helpers import CATALOGUE, RTDS, execute, read_hex, recounted, rtds_success

from emulator.backoffice import duis
from emulator.backoffice.transform import SUPPLY_SELECTORS, transform
from gbcs import decode
from gbcs.render import plain
from gbcs.security import check_message

USE_CASES = sorted(SUPPLY_SELECTORS)
SCRIPT_TABLE = bytes.fromhex("00000A006AFF")


@pytest.mark.parametrize("use_case", USE_CASES)
def test_the_precommand_from_the_template_is_rtds(use_case):
    [template] = CATALOGUE.glob(f"{use_case}_*_REQUEST_DUIS.XML")
    rtds = decode(read_hex(rtds_success(use_case, "PRECOMMAND")))
    root = duis.parse(template.read_bytes())
    duis.set_originator(root, bytes(rtds.originator), rtds.counter)
    ours = transform(duis.parse_request(root))
    assert ours.critical and ours.user_signs
    assert ours.precommand() == read_hex(rtds_success(use_case, "PRECOMMAND"))


@pytest.mark.parametrize("case", ["SUCCESS", "ERROR"])
@pytest.mark.parametrize("use_case", USE_CASES)
def test_rtds_command_is_answered_as_rtds(keys, use_case, case):
    [name] = RTDS.glob(f"*_{use_case}/*_{case}_COMMAND_GBCS.HEX")
    command = read_hex(name)

    async def fault(premises):
        if case == "ERROR":  # RTDS's error: the script table's hardware fault
            premises.esme.object_faults = {SCRIPT_TABLE}

    [execution], premises = execute(keys, [command], before=fault)
    assert execution.outcome == "executed", execution.outcome
    expected = decode(read_hex(name.with_name(name.name.replace("_COMMAND_", "_RESPONSE_"))))
    got = decode(execution.response)
    assert plain(got.header) == plain(expected.header)
    assert plain(got.payload) == plain(expected.payload)
    assert got.signature is not None and check_message(got, keys.keystore).outcome == "verified"


def _state(execution) -> int:
    return int(decode(execution.response).payload.data[0].value)


def test_the_scripts_move_the_supply_state(keys):
    read = read_hex(rtds_success("ECS45"))
    script = {u: read_hex(rtds_success(u)) for u in USE_CASES}
    sequence = ["ECS43", "ECS45", "ECS44", "ECS45", "ECS42", "ECS45", "ECS44", "ECS45"]
    commands = [recounted(keys, read if u == "ECS45" else script[u], 4000 + i)
                for i, u in enumerate(sequence)]  # fmt: skip
    executions, _ = execute(keys, commands)
    assert [e.outcome for e in executions] == ["executed"] * len(sequence)
    states = [_state(e) for u, e in zip(sequence, executions, strict=True) if u == "ECS45"]
    assert states == [0, 2, 1, 1]  # disconnected, armed, connected, still connected
