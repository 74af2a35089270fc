"""Joins and unjoins at the meter (CS03A1, CS04AC): RTDS's commands to the ESME answered as
RTDS answers them, the device log kept, an unjoined switch no longer commanded, and the
commands it must refuse."""

from __future__ import annotations

import json

import pytest
from devices_helpers import RTDS_TIME, VECTORS, command, expected_response

from emulator.clock import Clock
from emulator.devices.esme import DEVICE_LOG_CAPACITY
from emulator.devices.keys import NETWORK_OPERATOR, SUPPLIER
from emulator.devices.premises import ESME_EUI, Premises
from emulator.devices.reoriginate import reoriginate
from gbcs import decode
from gbcs.render import plain
from gbcs.roles import ACB_EUI

JOINS = {
    k: v
    for k, v in json.loads((VECTORS / "rtds_joins.json").read_text()).items()
    if not k.startswith("_")
}
AT_ESME = sorted(k for k, v in JOINS.items() if v.get("at_esme"))
JOIN = "8.7.1_CS03A1/CS03A1_8.7.1_SUCCESS_COMMAND_GBCS.HEX"
UNJOIN = "8.8.1_CS04ACCritical/CS04ACCritical_8.8.1_SUCCESS_COMMAND_GBCS.HEX"
ACB_UNJOIN = "8.8.2_CS04ACNonCritical/CS04ACNonCritical_8.8.2_SUCCESS_COMMAND_GBCS.HEX"
DEACTIVATE = "7.6_ECS47Deactivate/ECS47Deactivate_7.6_SUCCESS_COMMAND_GBCS.HEX"  # slot 3, 1001
DEACTIVATE_LATER = "7.6_ECS47Deactivate/ECS47Deactivate_7.6_ERROR_COMMAND_GBCS.HEX"  # slot 3, 1004
SLOT3 = ESME_EUI[:6] + bytes((0xF0, 3))  # the switch the premises puts in slot 3


def run(keys, commands, device_log=None, **options):
    """Execute commands in order on one fresh premises (model switches); returns
    (executions, switch states before, the premises)."""
    clock = Clock(start_utc=RTDS_TIME)

    async def main():
        premises = await Premises.start(clock, keys=keys, switch="model", **options)
        premises.esme.set_time(RTDS_TIME)
        for eui, kind in (device_log or {}).items():
            premises.esme.device_log[bytes.fromhex(eui)] = kind
        before = await premises.switch_states()
        executions = [await premises.execute(c) for c in commands]
        return executions, before, premises

    return clock.run(main)


def join(keys, other: bytes, counter: int, device_type: int = 4, originator=SUPPLIER,
         signer=None) -> bytes:  # fmt: skip
    """RTDS's CS03A1 for another device (type 4 HCALCS, 5 PPMID ...)."""

    def edit(payload) -> None:
        payload.tree.children[1].value = other
        payload.tree.children[2].value = bytes((device_type,))

    signer = keys.signer(originator) if signer is None else signer
    return reoriginate(command(JOIN), originator, signer, keys.keystore, counter, edit=edit)


def unjoin(keys, other: bytes, counter: int, originator=SUPPLIER, signer=None) -> bytes:
    """RTDS's CS04AC (8.8.1) for another device."""

    def edit(payload) -> None:
        payload.tree.value = other

    return reoriginate(command(UNJOIN), originator, signer, keys.keystore, counter, edit=edit)


def results(execution) -> list[str]:
    return [str(r.result) for r in decode(execution.response).payload.results]


def response_code(execution) -> str:
    return str(decode(execution.response).payload.fields.name)


@pytest.mark.parametrize("name", AT_ESME)
def test_rtds_join_or_unjoin_at_the_meter(keys, name):
    case = JOINS[name]
    (execution,), before, premises = run(keys, [command(name)], case["device_log"])
    assert execution.outcome == "executed", execution.outcome
    assert execution.response_verified is True
    expected = decode(expected_response(name))
    got = decode(execution.response)
    assert got.kind == expected.kind == "signed"  # only the device's signature differs
    assert plain(got.header) == plain(expected.header)
    assert plain(got.payload) == plain(expected.payload)
    other = bytes.fromhex(case["other"])
    log = premises.esme.device_log
    if case["after"] == "joined":
        assert log[other] == "hcalcs"
    elif case["after"] == "unjoined":
        assert other not in log
    else:
        assert log.get(other) == case["device_log"].get(case["other"])
    assert execution.switch == before


def test_every_rtds_join_has_its_device():
    """The ESME's here, the HCALCS's / PPMID's (test_devices_paired.py) and the GSME's
    (tests/catalogue/test_catalogue_gas_commands.py): none left that no device answers."""
    assert all({"at_esme", "paired_device", "at_gsme"} & set(case) for case in JOINS.values())


def test_an_unjoined_switch_is_not_commanded_until_it_joins_again(keys):
    commands = [
        unjoin(keys, SLOT3, 900, signer=keys.signer(SUPPLIER)),
        command(DEACTIVATE),
        join(keys, SLOT3, 1002),
        command(DEACTIVATE_LATER),
    ]
    (gone, refused, back, curtailed), before, premises = run(keys, commands)
    assert gone.outcome == "executed" and response_code(gone) == "success"
    assert before[3]["relay"] == "closed"
    # the meter answers (signed) that the object is unavailable, and leaves the switch alone
    assert refused.outcome == "executed" and refused.response_verified is True
    assert results(refused) == ["object_unavailable", "other_reason"]
    assert refused.switch[3] == before[3]
    assert premises.esme.stats["unjoined-slot"] == 1
    assert back.outcome == "executed" and response_code(back) == "success"
    assert results(curtailed) == ["success", "success"]
    assert curtailed.switch[3] == {"relay": "open", "level": 0}


def test_acb_unjoin_on_a_users_behalf_names_the_remote_party_again(keys):
    def edit(payload) -> None:
        payload.tree.value = SLOT3

    acb = reoriginate(command(ACB_UNJOIN), ACB_EUI, keys.signer(ACB_EUI), keys.keystore,
                      target=ESME_EUI, edit=edit)  # fmt: skip
    (execution,), _, premises = run(keys, [acb])
    assert execution.outcome == "executed" and execution.response_verified is True
    expected = decode(expected_response(ACB_UNJOIN))
    got = decode(execution.response)
    assert plain(got.header.other_information) == plain(expected.header.other_information)
    assert bytes(got.header.target) == ACB_EUI and response_code(execution) == "success"
    assert SLOT3 not in premises.esme.device_log and premises.esme.joined(3) is None


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda k: unjoin(k, SLOT3, 900, NETWORK_OPERATOR, k.signer(NETWORK_OPERATOR)),
         "role-not-permitted"),
        (lambda k: unjoin(k, SLOT3, 900, SUPPLIER, k.signer(NETWORK_OPERATOR)), "bad-signature"),
        (lambda k: unjoin(k, SLOT3, 900, SUPPLIER, None), "unsigned"),
        (lambda k: join(k, SLOT3, 900, originator=ACB_EUI), "role-not-permitted"),
        (lambda k: join(k, SLOT3, 900, originator=NETWORK_OPERATOR), "role-not-permitted"),
    ],
    ids=["no-unjoin", "forged-signature", "unsigned", "acb-join", "no-join"],
)  # fmt: skip
def test_unauthorised_joins_and_unjoins_are_refused(keys, make, reason):
    (execution,), before, premises = run(keys, [make(keys)])
    assert execution.outcome == f"rejected:{reason}"
    assert execution.response is None and execution.switch == before
    assert premises.esme.joined(3) is not None
    assert premises.esme.stats[f"rejected:{reason}"] == 1


def test_a_replayed_unjoin_is_refused(keys):
    once = unjoin(keys, SLOT3, 900, signer=keys.signer(SUPPLIER))
    (first, second), _, premises = run(keys, [once, once])
    assert first.outcome == "executed"
    assert second.outcome == "rejected:replay" and second.response is None


def test_a_join_payload_of_the_wrong_shape_is_malformed(keys):
    def edit(payload) -> None:
        del payload.tree.children[2]  # no device type

    bad = reoriginate(command(JOIN), SUPPLIER, keys.signer(SUPPLIER), keys.keystore, edit=edit)
    (execution,), before, premises = run(keys, [bad])
    assert execution.outcome == "rejected:malformed" and execution.response is None
    assert bytes.fromhex("00DB12345678909A") not in premises.esme.device_log


def test_join_answers_for_a_wrong_type_and_a_full_device_log(keys):
    extra = [bytes.fromhex(f"00DB5B00000000{n:02X}") for n in range(DEVICE_LOG_CAPACITY)]
    commands = [join(keys, bytes.fromhex("00DB123456789094"), 900, device_type=0)]  # a GSME
    commands += [join(keys, eui, 901 + n) for n, eui in enumerate(extra)]
    executions, _, premises = run(keys, commands)
    assert [response_code(e) for e in executions[:1]] == ["invalid_join_method_and_role"]
    codes = [response_code(e) for e in executions[1:]]
    room = DEVICE_LOG_CAPACITY - 6  # five slot switches and RTDS's 99 are in the log
    assert codes == ["success"] * room + ["device_log_full"] * (len(extra) - room)
    assert len(premises.esme.device_log) == DEVICE_LOG_CAPACITY
