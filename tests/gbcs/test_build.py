"""gbcs.build: commands from named fields, byte-identical to RTDS's PRECOMMAND files, and
signed into commands the keystore verifies."""

import datetime as dt

import pytest

import gbcs
from emulator import data
from gbcs.errors import EncodeError
from gbcs.keystore import Keystore

RTDS = data.rtds()
KEYSTORE = Keystore.open(data.rtds_keystore(), check_validity=False)  # RTDS's have expired
SUPPLIER = "90B3D51F30010000"
ESME = "00DB1234567890A0"
# the DUIS fields of each RTDS request (primer 9.2), the counter its header carries
PRECOMMANDS = {
    "7.5_ECS47Activate/ECS47Activate_7.5_SUCCESS": dict(
        counter=1000, action="activate", switch=1, duration=30
    ),
    "7.5_ECS47Activate/ECS47Activate_7.5_ERROR": dict(
        counter=1003, action="activate", switch=1, duration=30
    ),
    "7.6_ECS47Deactivate/ECS47Deactivate_7.6_SUCCESS": dict(
        counter=1001, action="deactivate", switch=3, duration=60
    ),
    "7.6_ECS47Deactivate/ECS47Deactivate_7.6_ERROR": dict(
        counter=1004, action="deactivate", switch=3, duration=60
    ),
    "7.8_ECS47Reset/ECS47Reset_7.8_SUCCESS": dict(counter=1002, action="reset", switch=5),
    "7.8_ECS47Reset/ECS47Reset_7.8_ERROR": dict(counter=1005, action="reset", switch=5),
}
names = pytest.mark.parametrize("name", sorted(PRECOMMANDS), ids=lambda n: n.split("/")[1])
LOAD_CONTROLLER = "90B3D51F30010008"
# 7.13 / 7.16: 2015-01-03 00:00 to 01:00 UTC in every RTDS request (primer 9.3)
PERIOD = dict(start=dt.datetime(2015, 1, 3, tzinfo=dt.UTC), end=dt.datetime(2015, 1, 3, 1))
OUT_5_FULL = dict(controller=5, level=100, direction="output")
IN_3_HALF = dict(controller=3, level=50, direction="input")
SCHEDULED = {
    "7.13_ECS47a/ECS47a_7.13_ALCS_ACTIVATE_SUCCESS": ("ECS47a", SUPPLIER, 1004, OUT_5_FULL),
    "7.13_ECS47a/ECS47a_7.13_ALCS_DEACTIVATE_ERROR": (
        "ECS47a",
        SUPPLIER,
        1008,
        dict(controller=1, level=0, direction="output"),
    ),
    "7.13_ECS47a/ECS47a_7.13_ALCS_DEACTIVATE_SUCCESS": (
        "ECS47a",
        SUPPLIER,
        1003,
        dict(controller=1, level=0, direction="output"),
    ),
    "7.13_ECS47a/ECS47a_7.13_APC_INPUT_ERROR": ("ECS47a", SUPPLIER, 1006, IN_3_HALF),
    "7.13_ECS47a/ECS47a_7.13_APC_INPUT_SUCCESS": ("ECS47a", SUPPLIER, 1001, IN_3_HALF),
    "7.13_ECS47a/ECS47a_7.13_APC_OUTPUT_SUCCESS": ("ECS47a", SUPPLIER, 1002, OUT_5_FULL),
    "7.16_ECS47e/ECS47e_7.16_APC_INPUT_ERROR": ("ECS47e", LOAD_CONTROLLER, 9004, IN_3_HALF),
    "7.16_ECS47e/ECS47e_7.16_APC_INPUT_SUCCESS": ("ECS47e", LOAD_CONTROLLER, 9001, IN_3_HALF),
    "7.16_ECS47e/ECS47e_7.16_APC_OUTPUT_SUCCESS": ("ECS47e", LOAD_CONTROLLER, 9002, OUT_5_FULL),
}


def rtds(name: str, kind: str) -> bytes:
    return bytes.fromhex((RTDS / f"{name}_{kind}_GBCS.HEX").read_text().strip())


def test_every_ecs47_precommand_in_rtds_is_covered():
    found = sorted(
        str(p.relative_to(RTDS)).removesuffix("_PRECOMMAND_GBCS.HEX")
        for p in RTDS.glob("7.*_ECS47*/*_PRECOMMAND_GBCS.HEX")
    )
    assert found == sorted([*PRECOMMANDS, *SCHEDULED])


@pytest.mark.parametrize("name", sorted(SCHEDULED), ids=lambda n: n.split("/")[1])
def test_scheduled_level_build_is_byte_identical_to_rtds(name):
    use_case, originator, counter, fields = SCHEDULED[name]
    built = gbcs.build(
        use_case, originator=originator, target=ESME, counter=counter, **PERIOD, **fields
    )
    assert built == rtds(name, "PRECOMMAND")


def test_scheduled_level_bad_fields():
    good = dict(PERIOD, **OUT_5_FULL)
    for change, says in [
        (dict(direction="sideways"), "direction 'sideways' is not output or input"),
        (dict(level=101), "level 101 is not an integer 0-100"),
        (dict(controller=0), "controller 0 is not an integer 1-5"),
        (dict(start="2015-01-03"), "start '2015-01-03' is not a datetime"),
    ]:
        with pytest.raises(EncodeError, match=says):
            gbcs.build("ECS47e", originator=LOAD_CONTROLLER, target=ESME, counter=1,
                       **{**good, **change})  # fmt: skip


@names
def test_build_is_byte_identical_to_rtds(name):
    built = gbcs.build("ECS47", originator=SUPPLIER, target=ESME, **PRECOMMANDS[name])
    assert built == rtds(name, "PRECOMMAND")


@names
def test_built_and_signed_is_rtds_command_but_for_the_random_signature(name):
    built = gbcs.build(
        "ECS47", originator=bytes.fromhex(SUPPLIER), target=bytes.fromhex(ESME), **PRECOMMANDS[name]
    )
    signed = gbcs.sign(built, KEYSTORE.ds_private_key(bytes.fromhex(SUPPLIER)))
    report = gbcs.verify(signed, KEYSTORE)
    assert {c.check: c.status for c in report.checks}["signature"] == "verified"
    tampered = bytearray(signed)
    tampered[-1] ^= 0x01  # the signature's last byte
    report = gbcs.verify(bytes(tampered), KEYSTORE)
    assert {c.check: c.status for c in report.checks}["signature"] == "failed"
    command = gbcs.decode(rtds(name, "COMMAND"))
    ours = gbcs.decode(signed)
    assert ours.header == command.header
    assert ours.payload == command.payload
    assert len(ours.signature) == len(command.signature) == 64


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        (dict(action="activate", switch=1), r"missing field\(s\) duration"),
        (dict(action="reset", switch=5, duration=3), r"unknown field\(s\) duration"),
        (dict(action="toggle", switch=1, duration=3), "action 'toggle' is not one of"),
        (dict(action="activate", switch=6, duration=3), "switch 6 is not an integer 1-5"),
        (dict(action="activate", switch=1, duration=65536), "duration 65536 is not an integer"),
        (dict(action="activate", switch=True, duration=3), "switch True is not an integer"),
    ],
    ids=[
        "no-duration",
        "reset-with-duration",
        "bad-action",
        "switch-6",
        "duration-17-bit",
        "bool-switch",
    ],  # fmt: skip
)
def test_bad_fields_are_encode_errors_naming_them(fields, says):
    with pytest.raises(EncodeError, match=says) as raised:
        gbcs.build("ECS47", originator=SUPPLIER, target=ESME, counter=1, **fields)
    assert raised.value.layer == "build"


def test_unknown_use_case_eui_and_counter_are_encode_errors():
    fields = dict(action="reset", switch=1)
    with pytest.raises(
        EncodeError, match=r"no builder for 'ECS99' \(supported: ECS47, ECS47a, ECS47e, ECS62\)"
    ):
        gbcs.build("ECS99", originator=SUPPLIER, target=ESME, counter=1, **fields)
    with pytest.raises(EncodeError, match="originator / target"):
        gbcs.build("ECS47", originator="90B3", target=ESME, counter=1, **fields)
    with pytest.raises(EncodeError, match="counter -1 is not"):
        gbcs.build("ECS47", originator=SUPPLIER, target=ESME, counter=-1, **fields)


# --- ECS62 (7.9 / 7.10), MAC'd by the DCC ------------------------------------------------
ALL_FIVE = {1: True, 2: True, 3: True, 4: True, 5: True}
NONE_OF_FIVE = dict.fromkeys(ALL_FIVE, False)
MACCED = {
    "7.9_ECS62Add/ECS62Add_7.9_SUCCESS": (1000, ALL_FIVE),
    "7.9_ECS62Add/ECS62Add_7.9_ERROR": (1003, ALL_FIVE),
    "7.10_ECS62Remove/ECS62Remove_7.10_SUCCESS": (1002, NONE_OF_FIVE),
    "7.10_ECS62Remove/ECS62Remove_7.10_ERROR": (1004, NONE_OF_FIVE),
}


@pytest.mark.parametrize("name", sorted(MACCED), ids=lambda n: n.split("/")[1])
def test_ecs62_built_and_macced_is_rtds_command(name):
    counter, boost = MACCED[name]
    expected = bytes.fromhex((RTDS / f"{name}_COMMAND_GBCS.HEX").read_text().strip())
    pre = gbcs.build("ECS62", originator=SUPPLIER, target=ESME, counter=counter, boost=boost)
    assert gbcs.mac(pre, KEYSTORE) == expected
    report = gbcs.verify(expected, KEYSTORE)
    assert report.mac.status == "verified"


def test_mac_keeps_a_signed_commands_signature():
    expected = bytes.fromhex(
        (RTDS / "7.6_ECS47Deactivate/ECS47Deactivate_7.6_SUCCESS_COMMAND_GBCS.HEX").read_text()
    )
    apdu = gbcs.decode(expected).apdu  # signed by the Supplier
    assert gbcs.mac(apdu, KEYSTORE) == expected


def test_ecs62_takes_some_switches_in_switch_order():
    pre = gbcs.build(
        "ECS62", originator=SUPPLIER, target=ESME, counter=7, boost={3: False, 1: True}
    )
    payload = gbcs.decode(pre).payload
    assert [bytes(s.instance_id)[-1] for s in payload.specifications] == [1, 3]
    assert [d.value for d in payload.data] == [0xFF, 0]


@pytest.mark.parametrize(
    ("boost", "words"),
    [
        ({}, "is not a mapping"),
        ({6: True}, "boost switch 6"),
        ({1: 1}, "boost[1] 1 is not True or False"),
        ([1, 2], "is not a mapping"),
    ],
)
def test_ecs62_bad_fields_are_named(boost, words):
    with pytest.raises(EncodeError) as error:
        gbcs.build("ECS62", originator=SUPPLIER, target=ESME, counter=1, boost=boost)
    assert error.value.layer == "build" and words in error.value.detail


def test_mac_without_the_keys_is_key_missing():
    pre = gbcs.build("ECS62", originator=SUPPLIER, target=ESME, counter=1, boost=ALL_FIVE)
    with pytest.raises(gbcs.KeyMissing):
        gbcs.mac(pre, Keystore(check_validity=False))
