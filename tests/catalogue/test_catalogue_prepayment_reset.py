"""1.5's meter balance reset at the ESME (critical ECS04b, emulator/devices/esme/debt.py). No
RTDS case shows ECS04b, so the command is our reading of the DLMS Credit class (the accounting
credit's set_amount_to_value with 0), checked here for what it does rather than against
RTDS: the DSP builds it from the catalogue template, the meter (a balance adjusted first)
then holds 0, which the balance read (4.3 ECS19) shows, and answers signed; a body asking
for a credit mode adjustment has no ESME use case and is refused by the DSP."""

from __future__ import annotations

import pytest
from catalogue_helpers import CATALOGUE, execute, read_hex, recounted, rtds_success

from emulator.backoffice import duis
from emulator.backoffice.transform import METER_BALANCE, TransformError, transform
from gbcs import decode
from gbcs.dlms import decode_data
from gbcs.render import plain
from gbcs.security import check_message, mac_apdu, sign

SUPPLIER = bytes.fromhex("90B3D51F30010000")
TEMPLATE = CATALOGUE / "ECS04b_1.5_SUCCESS_REQUEST_DUIS.XML"


def _request(counter: int, edit=None):
    root = duis.parse(TEMPLATE.read_bytes())
    if edit is not None:
        edit(root)
    duis.set_originator(root, SUPPLIER, counter)
    return duis.parse_request(root)


def test_the_template_becomes_the_accounting_credits_set_to_zero():
    built = transform(_request(1002))
    assert built.use_case.name == "ECS04b" and built.critical and built.user_signs
    payload = plain(decode(built.precommand()).payload)
    [spec] = payload["specifications"]
    assert (spec["kind"], spec["class_id"], spec["attribute_or_method"]) == ("action", 112, 2)
    assert bytes.fromhex(spec["instance_id"]) == METER_BALANCE
    assert payload["data"] == [{"type": "double-long", "value": 0}]


def _balance(keys, execution) -> int:
    """The meter balance ECS19 reads, decrypted for the Supplier."""
    response = decode(execution.response)
    assert check_message(response, keys.keystore).outcome == "verified"
    [collection] = decode_data(response.decrypted[0]).value
    return int(collection.value[0].value)


def test_the_reset_zeroes_the_balance_the_read_shows(keys):
    adjust = read_hex(rtds_success("ECS04a"))  # +1200000 first
    precommand = transform(_request(9000)).precommand()
    reset = mac_apdu(sign(precommand, keys.signer(SUPPLIER)), keys.keystore)
    read = read_hex(rtds_success("ECS19"))
    commands = [adjust, recounted(keys, read, 8000), reset, recounted(keys, read, 9001)]
    executions, premises = execute(keys, commands)
    assert [e.outcome for e in executions] == ["executed"] * 4
    assert _balance(keys, executions[1]) == 250000 + 1200000
    answer = decode(executions[2].response)
    assert (
        answer.signature is not None and check_message(answer, keys.keystore).outcome == "verified"
    )
    assert plain(answer.payload)["results"][0]["result"] == "success"
    assert _balance(keys, executions[3]) == 0


def test_a_credit_mode_adjustment_has_no_esme_use_case():
    def adjust(root):
        mode = root.find(f".//{{{duis.SR}}}CreditMode")
        mode.remove(mode.find(f"{{{duis.SR}}}ResetMeterBalance"))
        mode.append(root.makeelement(f"{{{duis.SR}}}AdjustMeterBalance"))
        mode[-1].text = "1000"

    with pytest.raises(TransformError, match="ResetMeterBalance"):
        transform(_request(1003, adjust))
