"""Prepayment at the ESME: 1.5 Update Meter Balance in prepayment mode (critical ECS04a),
2.3 Update Debt (critical ECS07) and 2.5 Activate Emergency Credit (critical ECS09). The pre-commands from the catalogue templates are
byte-identical to RTDS's; RTDS's command is answered with RTDS's header
and payload (signed by the meter); the state moves as the command says: the two time-based
debts' recovery rates become active (the next 4.13 read shows them, and the payment-based
debt's recovery per payment), and each debt's total remaining is adjusted by the template's
signed amount, twice over for two updates. An adjustment past a double-long, or of another
type, is refused and changes nothing. The emergency credit, invoked, is selected with its
preset amount; invoked again it is refused (other_reason); the meter balance moves by each
adjustment. RTDS's ERROR cases (a hardware fault of the credit object) are answered as
RTDS's."""

from __future__ import annotations

import pytest
from catalogue_helpers import CATALOGUE, RTDS, execute, read_hex, recounted, rtds_success

from emulator.backoffice import duis
from emulator.backoffice.transform import DEBTS, EMERGENCY_CREDIT, METER_BALANCE, transform
from emulator.devices.esme.debt import charge_method
from emulator.devices.esme.instructions import InstructionFailed, InstructionResult, item
from emulator.devices.esme.store import CosemStore
from gbcs import decode
from gbcs.render import plain
from gbcs.security import check_message

TEMPLATES = {
    "ECS04a": "ECS04a_1.5_SUCCESS_REQUEST_DUIS.XML",
    "ECS07": "ECS07_2.3_SUCCESS_REQUEST_DUIS.XML",
    "ECS09": "ECS09_2.5_SUCCESS_REQUEST_DUIS.XML",
}
#: the template's adjustments: payment-based debt, time-based debts 1 and 2
ADJUSTMENTS = {DEBTS[2]: 50000, DEBTS[0]: 30000, DEBTS[1]: 15000}


@pytest.mark.parametrize("use_case", sorted(TEMPLATES))
def test_the_precommand_from_the_template_is_rtds(use_case):
    rtds = decode(read_hex(rtds_success(use_case, "PRECOMMAND")))
    root = duis.parse((CATALOGUE / TEMPLATES[use_case]).read_bytes())
    duis.set_originator(root, bytes(rtds.originator), rtds.counter)
    ours = transform(duis.parse_request(root))
    assert ours.critical and ours.user_signs
    assert ours.precommand() == read_hex(rtds_success(use_case, "PRECOMMAND"))


@pytest.mark.parametrize(
    ("use_case", "case"),
    [
        ("ECS04a", "SUCCESS"),
        ("ECS04a", "ERROR"),
        ("ECS07", "SUCCESS"),
        ("ECS09", "SUCCESS"),
        ("ECS09", "ERROR"),
    ],  # fmt: skip
)
def test_rtds_command_is_answered_as_rtds(keys, use_case, case):
    [name] = RTDS.glob(f"*_{use_case}/*_{case}_COMMAND_GBCS.HEX")

    async def fault(premises):
        if case == "ERROR":  # RTDS's error: the credit object's hardware fault
            premises.esme.object_faults = {EMERGENCY_CREDIT, METER_BALANCE}

    [execution], _ = execute(keys, [read_hex(name)], before=fault)
    assert execution.outcome == "executed", execution.outcome
    got = decode(execution.response)
    expected = decode(read_hex(name.with_name(name.name.replace("_COMMAND_", "_RESPONSE_"))))
    assert plain(got.header) == plain(expected.header)
    assert plain(got.payload) == plain(expected.payload)
    assert got.signature is not None and check_message(got, keys.keystore).outcome == "verified"


def _rate(data_item) -> tuple[int, int]:
    """(price scale, charge per unit) of a unit charge."""
    scaling, _reference, table = data_item.value
    return int(scaling.value[1].value), int(table.value[0].value[1].value)


def test_the_update_moves_rates_and_totals(keys):
    update = read_hex(rtds_success("ECS07"))
    read = read_hex(rtds_success("ECS26a"))
    commands = [recounted(keys, read, 5000), recounted(keys, update, 5001),
                recounted(keys, read, 5002),
                recounted(keys, update, 5003)]  # fmt: skip
    executions, premises = execute(keys, commands)
    assert [e.outcome for e in executions] == ["executed"] * 4
    before, after = (decode(executions[i].response).payload.data for i in (0, 2))
    assert [_rate(before[0]), _rate(before[4]), int(before[7].value)] == [
        (-5, 5000),
        (-5, 6000),
        5000,
    ]
    assert [_rate(after[0]), _rate(after[4]), int(after[7].value)] == [(-1, 3), (-1, 15), 1000]
    store = premises.esme.store
    totals = {code: int(store.get(113, code, 12).value) for code in DEBTS}
    start = {code: int(CosemStore(bytes(8), {}).get(113, code, 12).value) for code in DEBTS}
    assert totals == {code: start[code] + 2 * amount for code, amount in ADJUSTMENTS.items()}


@pytest.mark.parametrize(
    ("value", "result"),
    [
        (item("double-long", 2**31 - 1), InstructionResult.OTHER_REASON),
        (item("double-long-unsigned", 5), InstructionResult.TYPE_UNMATCHED),
    ],  # fmt: skip
)
def test_a_bad_adjustment_changes_nothing(value, result):
    store = CosemStore(bytes(8), {})
    start = int(store.get(113, DEBTS[0], 12).value)
    assert charge_method(store, DEBTS[0], 4, item("double-long", 1))
    with pytest.raises(InstructionFailed) as caught:
        charge_method(store, DEBTS[0], 4, value)
    assert caught.value.result == result
    assert int(store.get(113, DEBTS[0], 12).value) == start + 1


def test_a_method_not_served_is_left_to_the_caller():
    assert charge_method(CosemStore(bytes(8), {}), DEBTS[2], 2, item("integer", 0)) is False


def test_emergency_credit_is_invoked_once(keys):
    invoke = read_hex(rtds_success("ECS09"))
    executions, premises = execute(keys, [invoke, recounted(keys, invoke, 6000)])
    first, again = (plain(decode(e.response).payload)["results"] for e in executions)
    assert first == [{"kind": "action", "result": "success"}]
    assert again == [{"kind": "action", "result": "other_reason"}]
    store = premises.esme.store
    assert int(store.get(112, EMERGENCY_CREDIT, 8).value) == 2  # selected
    assert store.get(112, EMERGENCY_CREDIT, 2).value == store.get(112, EMERGENCY_CREDIT, 9).value


def test_the_meter_balance_moves_by_each_adjustment(keys):
    adjust = read_hex(rtds_success("ECS04a"))  # +1200000, as the template
    executions, premises = execute(keys, [adjust, recounted(keys, adjust, 7000)])
    assert [e.outcome for e in executions] == ["executed", "executed"]
    start = int(CosemStore(bytes(8), {}).get(112, METER_BALANCE, 2).value)  # RTDS's ECS19's
    assert int(premises.esme.store.get(112, METER_BALANCE, 2).value) == start + 2 * 1200000
