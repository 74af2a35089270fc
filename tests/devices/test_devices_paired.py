"""The HAN's other GBCS targets (paired_device.py): RTDS's HCALCS ...A5 and PPMID ...A4 answer
their own joins, unjoins and firmware reads as RTDS answers them, through the hub's tunnel,
keep their device logs, and refuse what they must (logged, counted, no response)."""

from __future__ import annotations

import json

import pytest
from devices_helpers import RTDS, RTDS_TIME, VECTORS, command, expected_response

from emulator.clock import Clock
from emulator.devices import households
from emulator.devices.keys import NETWORK_OPERATOR, SUPPLIER
from emulator.devices.premises import Premises
from emulator.devices.reoriginate import reoriginate
from gbcs import asn1, decode
from gbcs.render import plain
from gbcs.roles import ACB_EUI

CASES = {
    k: v
    for k, v in json.loads((VECTORS / "rtds_paired.json").read_text()).items()
    if not k.startswith("_")
}
HCALCS = bytes.fromhex("00DB1234567890A5")
PPMID = bytes.fromhex("00DB1234567890A4")
ESME_93 = bytes.fromhex("00DB123456789093")
OTHER_ESME = bytes.fromhex("00DB123456789095")
JOIN_A2 = "8.7.1_CS03A2Critical/CS03A2Critical_8.7.1_SUCCESS_COMMAND_GBCS.HEX"
JOIN_C = "8.7.2_CS03CNonCritical/CS03CNonCritical_8.7.2_SUCCESS_COMMAND_GBCS.HEX"
UNJOIN = "8.8.1_CS04ACCritical/CS04ACCritical_8.8.1_SUCCESS_COMMAND_GBCS.HEX"
READ = "11.2_CS08/CS08_11.2_SUCCESS_COMMAND_GBCS.HEX"
ECS52 = "11.2_ECS52/ECS52_11.2_SUCCESS_COMMAND_GBCS.HEX"


def run(keys, commands, device_logs=None, firmware_fault=()):
    """Execute commands in order on a fresh RTDS household; returns (executions, switch
    states before, the premises)."""
    clock = Clock(start_utc=RTDS_TIME)

    async def main():
        premises = await Premises.start(
            clock, keys=keys, switch="model", **households.default().premises_kwargs()
        )
        premises.esme.set_time(RTDS_TIME)
        for eui, log in (device_logs or {}).items():
            premises.gbcs_devices[eui].device_log = {bytes.fromhex(e): k for e, k in log.items()}
        for eui in firmware_fault:
            premises.gbcs_devices[eui].firmware_fault = True
        before = await premises.switch_states()
        executions = [await premises.execute(c) for c in commands]
        await premises.close()
        return executions, before, premises

    return clock.run(main)


def code(execution) -> str:
    return str(decode(execution.response).payload.fields.response_code_name
               if decode(execution.response).message_code == 0x0129
               else decode(execution.response).payload.fields.name)  # fmt: skip


def join_a2(keys, device: bytes, other: bytes, counter: int, signer=True) -> bytes:
    """RTDS's CS03A2 (8.7.1, the Supplier's) to `device` for ESME `other`."""

    def edit(payload) -> None:
        payload.tree.children[1].value = other

    key = keys.signer(SUPPLIER) if signer is True else signer
    return reoriginate(command(JOIN_A2), SUPPLIER, key, keys.keystore, counter, target=device,
                       edit=edit)  # fmt: skip


def unjoin(keys, device: bytes, other: bytes, counter: int) -> bytes:
    """RTDS's CS04AC (8.8.1) to `device` for `other`."""

    def edit(payload) -> None:
        payload.tree.value = other

    return reoriginate(command(UNJOIN), SUPPLIER, keys.signer(SUPPLIER), keys.keystore, counter,
                       target=device, edit=edit)  # fmt: skip


def test_every_rtds_command_to_the_hcalcs_or_ppmid_has_a_case():
    found = set()
    for path in RTDS.glob("*/*_COMMAND_GBCS.HEX"):
        if path.parent.name.startswith(("8.7", "8.8", "11.2")):
            if bytes(decode(bytes.fromhex(path.read_text().strip())).target) in (HCALCS, PPMID):
                found.add(f"{path.parent.name}/{path.name}")
    assert found == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_rtds_command_answered_by_the_paired_device(keys, name):
    case = CASES[name]
    device = bytes.fromhex(case["device"])
    fault = (device,) if case.get("firmware_fault") else ()
    (execution,), before, premises = run(keys, [command(name)], {device: case["device_log"]},
                                         fault)  # fmt: skip
    assert execution.outcome == "executed", execution.outcome
    assert execution.response_verified is True
    expected = decode(expected_response(name))
    got = decode(execution.response)
    assert got.kind == expected.kind  # signed where RTDS signs, MAC'd where it MACs
    assert plain(got.header) == plain(expected.header)
    assert plain(got.payload) == plain(expected.payload)
    if got.kind == "mac":
        assert execution.response == expected_response(name)
    paired = premises.gbcs_devices[device]
    assert paired.stats["executed"] == 1 and premises.esme.stats["executed"] == 0
    log = paired.device_log
    if "other" in case:
        other = bytes.fromhex(case["other"])
        if case["after"] == "joined":
            assert log[other] == case["type"]
        elif case["after"] == "unjoined":
            assert other not in log
        else:
            assert log == {bytes.fromhex(e): k for e, k in case["device_log"].items()}
    assert execution.switch == before


def test_an_hcalcs_serves_one_meter_until_it_is_unjoined(keys):
    commands = [
        command(JOIN_A2),  # ESME ...93, counter 1000
        join_a2(keys, HCALCS, OTHER_ESME, 1001),
        join_a2(keys, HCALCS, ESME_93, 1002),  # the same meter again
        unjoin(keys, HCALCS, ESME_93, 1003),
        unjoin(keys, HCALCS, ESME_93, 1004),
        join_a2(keys, HCALCS, OTHER_ESME, 1005),
    ]
    executions, _, premises = run(keys, commands)
    assert [code(e) for e in executions] == [
        "success", "device_log_full", "success", "success", "not_in_device_log", "success"
    ]  # fmt: skip
    assert all(e.response_verified for e in executions)
    assert premises.gbcs_devices[HCALCS].device_log == {OTHER_ESME: "esme"}


def test_an_hcalcs_takes_no_method_c_join_and_a_ppmid_no_bad_certificate(keys):
    def bad_certificate(payload) -> None:  # DER, but no X.509 certificate
        payload.tree.children[3] = asn1.sequence(asn1.integer(1))

    acb = keys.signer(ACB_EUI)
    to_hcalcs = reoriginate(command(JOIN_C), ACB_EUI, acb, keys.keystore, target=HCALCS)
    broken = reoriginate(command(JOIN_C), ACB_EUI, acb, keys.keystore, 2000,
                         edit=bad_certificate)  # fmt: skip
    (hcalcs, ppmid), _, premises = run(keys, [to_hcalcs, broken])
    assert code(hcalcs) == "invalid_join_method_and_role"
    assert code(ppmid) == "invalid_or_missing_certificate"
    assert premises.gbcs_devices[HCALCS].device_log == {}
    assert bytes.fromhex("00DB123456789094") not in premises.gbcs_devices[PPMID].device_log


def _tampered(raw: bytes) -> bytes:
    return raw[:-1] + bytes((raw[-1] ^ 1,))


def _wrong_shape(keys) -> bytes:
    def edit(payload) -> None:
        del payload.tree.children[2]  # no device type

    return reoriginate(command(JOIN_A2), SUPPLIER, keys.signer(SUPPLIER), keys.keystore,
                       target=HCALCS, edit=edit)  # fmt: skip


@pytest.mark.parametrize(
    "make, reason",
    [
        (lambda k: reoriginate(command(READ), SUPPLIER, None, k.keystore, target=HCALCS),
         "role-not-permitted"),
        (lambda k: join_a2(k, HCALCS, ESME_93, 900, signer=None), "unsigned"),
        (lambda k: join_a2(k, HCALCS, ESME_93, 900, signer=k.signer(NETWORK_OPERATOR)),
         "bad-signature"),
        (lambda k: reoriginate(command(JOIN_A2), NETWORK_OPERATOR, k.signer(NETWORK_OPERATOR),
                               k.keystore, target=HCALCS), "role-not-permitted"),
        (lambda k: reoriginate(command(JOIN_A2), bytes.fromhex("90B3D51F30030000"),
                               k.signer("90B3D51F30030000"), k.keystore, target=HCALCS),
         "unknown-originator"),
        (lambda k: _tampered(command(JOIN_A2)), "bad-mac"),
        (lambda k: reoriginate(command(ECS52), SUPPLIER, None, k.keystore, target=HCALCS),
         "unsupported-use-case"),
        (_wrong_shape, "malformed"),
    ],
    ids=["supplier-cs08", "unsigned", "forged", "no-join", "stranger", "bad-mac", "ecs52",
         "malformed"],
)  # fmt: skip
def test_the_hcalcs_refuses(keys, make, reason):
    (execution,), before, premises = run(keys, [make(keys)])
    assert execution.outcome == f"rejected:{reason}"
    assert execution.response is None and execution.switch == before
    hcalcs = premises.gbcs_devices[HCALCS]
    assert hcalcs.stats[f"rejected:{reason}"] == 1 and hcalcs.stats["executed"] == 0
    assert hcalcs.device_log == {}


def test_a_replayed_join_is_refused(keys):
    (first, second), _, premises = run(keys, [command(JOIN_A2), command(JOIN_A2)])
    assert first.outcome == "executed"
    assert second.outcome == "rejected:replay" and second.response is None
    assert premises.gbcs_devices[HCALCS].stats["rejected:replay"] == 1


def test_the_paired_devices_are_on_the_han_and_in_the_hubs_device_log(keys):
    _, _, premises = run(keys, [])
    assert premises.device_ids["00DB1234567890A5"] == "HCALCS"
    assert premises.device_ids["00DB1234567890A4"] == "PPMID"
    assert premises.hub.stats["tunnel:to-device"] == 0
